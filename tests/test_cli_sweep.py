"""scripts/sweep.py as a user runs it: real subprocesses."""

import csv
import math
import os
import re

import numpy as np
import pytest

from cli_util import (
    Server,
    assert_usage_error,
    gradient_methods_run,
    python_mean_loss,
    python_sgd,
    run_script,
)
from lec4_jax import model
from lec4_jax.tool import limits, plots, stability
from lec4_jax.tool import sweep as sweep_lib


def sweep(*args):
    return run_script("sweep.py", *args)


def test_lecture_sweep_prints_the_stable_rates_and_writes_csv_and_plot(tmp_path):
    out, plot = tmp_path / "s.csv", tmp_path / "s.png"
    proc = sweep("--num_lr=40", "--w_init_values=1,-3", f"--output={out}", f"--plot={plot}")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("80 models x 20 epochs on 1 cpu device(s)")
    assert lines[1] == ("stable learning rates (analytic, plain SGD): (0, 0.204018) or "
                        "(0.476538, 0.519014)")
    assert lines[2].startswith("measured: ")
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 80 and set(rows[0]) == {"lr", "w_init", "final_w", "final_loss",
                                                "diverged"}
    assert {r["diverged"] for r in rows} == {"true", "false"}
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_small_grids_print_every_config():
    proc = sweep("--num_lr=3", "--lr_max=0.1", "--dataset=synthetic", "--num_samples=50")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[3] == "lr,w_init,final_w,final_loss,diverged"
    assert len(proc.stdout.splitlines()) == 7


def test_every_model_sweeps_with_a_column_per_parameter(tmp_path):
    out = tmp_path / "s.csv"
    proc = sweep("--model=affine", "--w_init_values=1,2", "--b_init_values=0,-1,3", "--num_lr=5",
                 "--lr_max=0.5", f"--output={out}")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("30 models x 20 epochs") and "least squares: w = 2, b = " in lines[0]
    assert lines[1] == ("stable learning rates (numerical, plain SGD): (0, 0.1875) "
                        "(higher rates not searched)")
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == ["lr", "w_init", "b_init", "final_w", "final_b", "final_loss",
                             "diverged"]
    assert [(r["w_init"], r["b_init"]) for r in rows[:6]] == [
        ("1.0", "0.0"), ("1.0", "-1.0"), ("1.0", "3.0"), ("2.0", "0.0"), ("2.0", "-1.0"),
        ("2.0", "3.0")]
    # Measured and numerical agree: every rate below the edge is stable, those above are not.
    for r in rows:
        assert (r["diverged"] == "true") == (float(r["lr"]) > 0.1875 and r["w_init"] + r[
            "b_init"] != "2.00.0"), r
    proc = sweep("--model=quadratic", "--num_lr=3", "--w2_init_values=0.5")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[3] == ("lr,w2_init,w1_init,b_init,final_w2,final_w1,final_b,"
                                           "final_loss,diverged")


@pytest.mark.parametrize("args, message", [
    (["--model=quadratic", "--w_init_values=1"],
     "--w_init_values: does not apply to model quadratic (its parameters: w2, w1, b)"),
    (["--model=affine", "--b_init_values=0,1e39"],
     "--b_init_values: value 2 (1e+39) is not finite in float32"),
    (["--lr_min=0"], "--lr_min"),
    (["--lr_min=0.5", "--lr_max=0.1"], "--lr_max must be >= --lr_min"),
    (["--num_lr=0"], "--num_lr"),
    (["--w_init_values=1,x"], "--w_init_values: 'x' is not a number"),
    (["--epochs=0"], "--epochs"),
    (["--dataset=synthetic", "--x_data=1"], "--dataset=synthetic excludes --x_data"),
    (["--noise=0.5"], "--noise needs --dataset=synthetic"),
    (["--output=/nonexistent/s.csv"], "--output: /nonexistent/s.csv: cannot write"),
    (["--num_lr=600000000", "--w_init_values=1,2"], "models is more than 1,000,000,000"),
])
def test_bad_input_is_one_line(args, message):
    line = assert_usage_error(sweep(*args), message)
    assert line.startswith("sweep.py: error: ")


@pytest.fixture(scope="module")
def server():
    s = Server("sweep.py")
    yield s
    s.close()


def sweep_png(model_name, lrs, epochs, x=(1.0, 2.0, 3.0), y=(2.0, 4.0, 6.0)):
    """The --plot of a sweep from the model's default point, drawn in-process as documented:
    the grid, and the extra rates that trace each stable window and its edges."""
    x, y = np.float32(x), np.float32(y)
    grid = sweep_lib.train_grid(lrs, {}, x, y, epochs=epochs, model=model_name)
    rates = stability.for_model(model_name, x, float(lrs.max()), sweep_lib.best_fit(grid))
    extra_lrs = sweep_lib.refined_rates(rates.intervals, lrs.min(), lrs.max())
    extra = (sweep_lib.train_grid(extra_lrs, {}, x, y, epochs=epochs, model=model_name)
             if len(extra_lrs) else None)
    target = model.least_squares(model_name, x, y)
    best = ("no least-squares fit" if target is None else
            ", ".join(f"{p}* = {v:.6g}" for p, v in target.items()))
    title = f"{model_name}, {len(x)} samples, {epochs} epochs, sgd, {best}"
    return plots.sweep_png(grid, target, rates, title, extra)


@pytest.mark.parametrize("flag, name", [("--output", "s.csv"), ("--plot", "s.png")])
@pytest.mark.parametrize("model_name", list(model.MODELS))
def test_every_model_writes_every_output_alone(server, tmp_path, model_name, flag, name):
    # Every model x every output flag, one flag at a time (the quadratic model's CSV once
    # exited 70 on a column named for the lecture's w): exit 0, that file and nothing else.
    work = tmp_path / "work"
    work.mkdir()
    code, out, err = server.run([f"--model={model_name}", "--num_lr=3", "--lr_max=0.01",
                                 "--epochs=2", f"{flag}={name}"], work)
    assert (code, err) == (0, "")
    assert os.listdir(work) == [name]
    data = (work / name).read_bytes()
    if flag == "--plot":  # byte for byte the figure test_plots checks, for this very sweep
        assert data == sweep_png(model_name, sweep_lib.learning_rates(1e-3, 0.01, 3), epochs=2)
        return
    params = model.get(model_name).params
    lines = data.decode().splitlines()
    assert lines[0].split(",") == ["lr", *(f"{p}_init" for p in params),
                                   *(f"final_{p}" for p in params), "final_loss", "diverged"]
    assert lines == out.splitlines()[3:]  # the file holds the very rows printed, all three


def test_the_memory_estimate_counts_float64_with_x64(server, tmp_path):
    # 1e9 quadratic models (each: 7 floats of state and results) are refused before any work,
    # in float32 and in float64; with --x64 the estimate grows by more than half.
    if limits.available_memory() > 30 * limits.GIB:
        pytest.skip("this machine could run the float32 grid: it must be refused here")
    (tmp_path / "work").mkdir()
    gib = []
    for x64 in ("--nox64", "--x64"):
        code, _, err = server.run(["--model=quadratic", "--num_lr=1000000000", x64],
                                  tmp_path / "work")
        assert code == 2, err
        gib.append(float(re.search(r"1,000,000,000 models needs about ([\d.]+) GiB", err)[1]))
    assert gib[1] > 1.5 * gib[0]


def test_synthetic_data_without_noise_is_fit_exactly(server, tmp_path):
    # --noise=0 is allowed (the lower bound is inclusive): y = 2x exactly, so w* = 2.
    (tmp_path / "work").mkdir()
    code, out, err = server.run(["--dataset=synthetic", "--noise=0", "--num_samples=16",
                                 "--num_lr=2", "--lr_max=0.1"], tmp_path / "work")
    assert (code, err) == (0, "") and out.splitlines()[0].endswith("; w* = 2")


@pytest.mark.parametrize("model_name", list(model.MODELS))
def test_a_float64_sweep_from_a_point_float32_cannot_hold_is_its_float64_oracle(
        server, tmp_path, model_name):
    # The first parameter starts at 1 + 2^-40 (1.0 in float32) or -3. With --x64 every row
    # (3 rates x 2 points, in chunks of 2 rates: the last one padded) is the plain-Python
    # float64 run from that very point: the initial values to the bit, the rest to rtol 1e-13
    # (XLA may fuse a multiply-add; a float32 run, or a start at 1.0, is off by 1e-12 or more),
    # diverged where the final mean loss is not finite or above the first.
    params = model.get(model_name).params
    first = params[0]
    (tmp_path / "work").mkdir()
    code, _, err = server.run(["--x64", f"--model={model_name}",
                               f"--{first}_init_values={1 + 2**-40!r},-3", "--num_lr=3",
                               "--lr_min=0.001", "--lr_max=0.7", "--epochs=2", "--chunk_size=4",
                               "--output=s.csv"], tmp_path / "work")
    assert (code, err) == (0, "")
    rows = list(csv.DictReader((tmp_path / "work" / "s.csv").open()))
    configs = [(lr, dict(model.get(model_name).defaults, **{first: v}))
               for lr in np.geomspace(0.001, 0.7, 3) for v in (1 + 2**-40, -3.0)]
    assert [[float(r["lr"])] + [float(r[f"{p}_init"]) for p in params] for r in rows] == [
        [lr, *init.values()] for lr, init in configs]
    for r, (lr, init) in zip(rows, configs):
        _, final = python_sgd(model_name, init, lr, epochs=2)
        loss = python_mean_loss(model_name, final)
        np.testing.assert_allclose([float(r[f"final_{p}"]) for p in final] + [
            float(r["final_loss"])], [*final.values(), loss], rtol=1e-13)
        diverged = not math.isfinite(loss) or loss > python_mean_loss(model_name, init)
        assert r["diverged"] == ("true" if diverged else "false")
    assert {r["diverged"] for r in rows} == {"true", "false"}


@pytest.mark.parametrize("method", ["chain_rule", "closed_form"])
def test_the_grad_flag_runs_that_methods_code(tmp_path, method):
    # The methods give the same numbers: spies on each method's own code tell which ran.
    assert gradient_methods_run(tmp_path, "sweep.py", f"--grad={method}", "--epochs=1",
                                "--num_lr=2", "--model=affine") == (0, {method})


def test_a_process_id_past_the_last_is_one_line_naming_it(server, tmp_path):
    # Ids run from 0 to --num_processes - 1: 2 of 2 is refused before joining, exit 2.
    (tmp_path / "work").mkdir()
    code, out, err = server.run(["--distributed", "--coordinator_address=127.0.0.1:1",
                                 "--num_processes=2", "--process_id=2", "--num_lr=2"],
                                tmp_path / "work")
    assert (code, out, err) == (2, "", "sweep.py: error: --process_id: must be below the number "
                                       "of processes (2), got 2\n")
