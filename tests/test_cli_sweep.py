"""scripts/sweep.py as a user runs it: real subprocesses."""

import csv

import pytest

from cli_util import assert_usage_error, run_script


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


@pytest.mark.parametrize("args, message", [
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
