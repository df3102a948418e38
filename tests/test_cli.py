"""scripts/train.py as a user runs it: real subprocesses, real output."""

import json
import os
import platform
import shutil
import subprocess
import sys

import numpy as np
import pytest

import torch_lecture
from cli_util import (
    BASE_ENV,
    PNG,
    SCRIPTS,
    Server,
    assert_usage_error,
    embedded,
    gradient_methods_run,
    python_sgd,
    run_script,
)
from lec4_jax import model
from lec4_jax.tool import plots, report, runs, stepthrough, training
from lec4_jax.tool.settings import Settings


def train(*args, env=None):
    return run_script("train.py", *args, env=env)


def lecture_lines(w, loss, grad, final_w, xs=(1.0, 2.0, 3.0), ys=(2.0, 4.0, 6.0), epochs=20):
    """The lecture's output, formatted from a run's numbers."""
    f = lambda v: report.fmt(v, "float32")  # noqa: E731
    lines = [f"predict (BT) 4.0 {f(np.float32(4) * np.float32(w[0]))}"]
    for e in range(epochs):
        for i, (x, y) in enumerate(zip(xs, ys)):
            lines.append(f"\tgrad:  {f(x)} {f(y)} {f(grad[e * len(xs) + i])}")
        lines.append(f"progress: {e} {f(loss[(e + 1) * len(xs) - 1])}")
    lines.append(f"predict (AT) 4.0 {f(np.float32(4) * np.float32(final_w))}")
    return lines


def test_default_output_is_the_lectures_as_computed_by_jax():
    proc = train()
    assert proc.returncode == 0, proc.stderr
    h = training.train({"w": 1.0}, np.float32([1, 2, 3]), np.float32([2, 4, 6]), 0.01, epochs=20)
    want = lecture_lines(h.params["w"], h.loss, h.grads["w"], h.final_params["w"])
    assert proc.stdout.splitlines() == want
    assert proc.stderr == ""


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="an x86 ISA flag")
def test_output_is_pytorchs_to_the_last_digit_without_fma():
    # Bit-exact parity of the whole printed output with the real PyTorch loop: without FMA
    # (XLA_FLAGS=--xla_cpu_max_isa=AVX) the jitted run rounds exactly as torch does.
    proc = train(env={"XLA_FLAGS": "--xla_cpu_max_isa=AVX", "JAX_PLATFORMS": "cpu"})
    t = torch_lecture.train([1.0, 2.0, 3.0], [2.0, 4.0, 6.0])
    assert proc.stdout.splitlines() == lecture_lines(t["w"], t["loss"], t["grad"], t["final_w"])


def test_python_loop_and_other_gradients_print_the_same(tmp_path):
    want = train("--trace=false").stdout
    assert train("--trace=false", "--loop=python").stdout == want
    assert train("--trace=false", "--grad=chain_rule").stdout == want
    assert train("--trace=false", "--grad=closed_form").stdout == want
    assert len(want.splitlines()) == 22  # BT, 20 progress lines, AT


def test_output_json(tmp_path):
    out = tmp_path / "run.json"
    csv = tmp_path / "d.csv"
    csv.write_text("x,y\n1,2.5\n2,4\n")
    proc = train("--epochs=3", "--data_csv", str(csv), "--output", str(out), "--x64")
    assert proc.returncode == 0, proc.stderr
    record = json.loads(out.read_text())
    assert set(record) == {"config", "settings", "platform", "dtype", "steps", "final_w",
                           "predict_x", "predict_before", "predict_after", "diverged_at_step"}
    assert record["settings"]["epochs"] == 3 and record["settings"]["init"] == {"w": 1.0}
    assert record["config"]["epochs"] == 3 and record["config"]["data_csv"] == str(csv)
    assert set(record["config"]) >= {"learning_rate", "w_init", "grad", "optimizer", "loop",
                                     "platform", "x64", "trace", "output", "predict_x"}
    assert record["dtype"] == "float64" and record["diverged_at_step"] is None
    assert len(record["steps"]) == 6 and record["steps"][1]["x"] == 2.0
    assert record["steps"][0] == {"epoch": 0, "x": 1.0, "y": 2.5, "w": 1.0, "loss": 2.25,
                                  "grad": -3.0}
    assert record["predict_after"] == 4.0 * record["final_w"]  # exact in float64 (times 4)
    assert sorted(os.listdir(tmp_path)) == ["d.csv", "run.json"]  # no temporary file left


def test_divergence_exits_non_zero_and_still_writes_the_json(tmp_path):
    out = tmp_path / "run.json"
    proc = train("--learning_rate=1.0", "--output", str(out))
    assert proc.returncode == 1
    (line,) = proc.stderr.strip().splitlines()
    assert "training diverged at epoch 9, step 29 (sample 3 of 3): loss is inf" in line
    assert "stable for learning rates in (0, 0.204018) or (0.476538, 0.519014)" in line
    record = json.loads(out.read_text())
    assert record["diverged_at_step"] == 29 and len(record["steps"]) == 30
    assert record["steps"][-1]["loss"] == "Infinity"


def test_unstable_learning_rate_is_reported_on_stderr():
    proc = train("--learning_rate=0.25", "--trace=false")
    assert proc.returncode == 0
    assert "the learning rate is unstable" in proc.stderr
    assert "(0, 0.204018)" in proc.stderr


@pytest.fixture
def bad_csv(tmp_path):
    files = {"empty.csv": "", "header.csv": "x,y\n", "cell.csv": "x,y\n1,2\n2,abc\n",
             "columns.csv": "1,2\n1,2,3\n"}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


BAD = [
    (["--learning_rate=abc"], "--learning_rate"),
    (["--learning_rate=0"], "--learning_rate"),
    (["--learning_rate=-0.1"], "--learning_rate"),
    (["--learning_rate=nan"], "--learning_rate"),
    (["--learning_rate=inf"], "--learning_rate"),
    (["--epochs=0"], "--epochs"),
    (["--epochs=two"], "--epochs"),
    (["--w_init=inf"], "--w_init"),
    (["--predict_x=nan"], "--predict_x"),
    (["--x_data=1,2"], "x has 2 values but y has 3"),
    (["--x_data=", "--y_data="], "--x_data: empty"),
    (["--x_data=1,two,3"], "--x_data: 'two' is not a number"),
    (["--y_data=1,nan,3"], "--y_data: 'nan' is not finite"),
    (["--data_csv={d}/cell.csv", "--x_data=1,2,3"], "--data_csv excludes --x_data/--y_data"),
    (["--data_csv={d}/missing.csv"], "--data_csv: {d}/missing.csv: no such file"),
    (["--data_csv={d}/empty.csv"], "--data_csv: {d}/empty.csv: no data rows"),
    (["--data_csv={d}/header.csv"], "no data rows"),
    (["--data_csv={d}/cell.csv"], "--data_csv: {d}/cell.csv:3: 'abc' is not a number"),
    (["--data_csv={d}/columns.csv"], "columns.csv:2: expected 2 columns (x,y), got 3"),
    (["--grad=numeric"], "--grad"),
    (["--optimizer=sgdd"], "--optimizer"),
    (["--loop=while"], "--loop"),
    (["--platform=tpu"], "--platform"),
    (["stray"], "unexpected arguments: stray"),
]


@pytest.mark.parametrize("args, message", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_line_and_leaves_no_file(bad_csv, args, message):
    out = bad_csv / "out" / "run.json"
    out.parent.mkdir()
    proc = train(*[a.format(d=bad_csv) for a in args], f"--output={out}")
    line = assert_usage_error(proc, message.format(d=bad_csv))
    assert line.startswith("train.py: error: ") and os.listdir(out.parent) == []


@pytest.mark.parametrize("path, message", [("missing/run.json", "cannot write"),
                                           (".", "is a directory")])
def test_unwritable_output(tmp_path, path, message):
    line = assert_usage_error(train(f"--output={tmp_path / path}"), message)
    assert f"--output: {tmp_path / path}" in line


def test_gpu_without_a_gpu():
    import jax

    if any(d.platform == "gpu" for d in jax.devices()):
        pytest.skip("this machine has a GPU")
    line = assert_usage_error(train("--platform=gpu"), "--platform: gpu: JAX sees no GPU")
    assert "jax[cuda" in line


def test_affine_model_prints_every_gradient_and_records_dicts(tmp_path):
    out = tmp_path / "run.json"
    proc = train("--model=affine", "--b_init=2", "--epochs=2", f"--output={out}")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "predict (BT) 4.0 6.0"  # 4*1 + 2
    assert lines[1] == "\tgrad:  1.0 2.0 w=2.0 b=2.0"  # s = 1*1 + 2 - 2 = 1
    record = json.loads(out.read_text())
    assert record["steps"][0] == {"epoch": 0, "x": 1.0, "y": 2.0, "params": {"w": 1.0, "b": 2.0},
                                  "loss": 1.0, "grads": {"w": 2.0, "b": 2.0}}
    assert set(record["final_params"]) == {"w", "b"} and "final_w" not in record


@pytest.mark.parametrize("grad", ["autodiff", "chain_rule", "closed_form"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_quadratic_model_trains_under_every_gradient(grad, optimizer):
    proc = train("--model=quadratic", "--learning_rate=0.001", "--trace=false", f"--grad={grad}",
                 f"--optimizer={optimizer}")
    assert proc.returncode == 0, proc.stderr
    settings = Settings(model="quadratic", learning_rate=0.001, grad=grad, optimizer=optimizer,
                        keep_history=False)
    want = list(report.trace_lines(runs.run(settings, [1.0, 2.0, 3.0], [2.0, 4.0, 6.0]), False))
    assert proc.stdout.splitlines() == want  # every line, as the library computes it


@pytest.mark.parametrize("args, message", [
    (["--b_init=1"], "--b_init: does not apply to model linear (its parameters: w)"),
    (["--model=quadratic", "--w_init=2"], "--w_init: does not apply to model quadratic"),
])
def test_parameter_flags_of_another_model_are_errors(args, message):
    assert_usage_error(train(*args), message)


def test_synthetic_data_and_plot(tmp_path):
    plot = tmp_path / "run.png"
    proc = train("--dataset=synthetic", "--num_samples=200", "--noise=0.05", "--seed=3",
                 "--trace=false", "--epochs=3", f"--plot={plot}")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 5 and lines[1].startswith("progress: 0 ")  # BT, 3 progress, AT
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert train("--dataset=synthetic", "--num_samples=200", "--noise=0.05", "--seed=3",
                 "--trace=false", "--epochs=3").stdout == proc.stdout  # the seed decides


def test_no_history_run_prints_the_same_lines(tmp_path):
    # --trace=false keeps no per-step history; the progress lines come from the scan itself
    with_history = train("--trace=false", f"--output={tmp_path / 'run.json'}").stdout
    assert train("--trace=false").stdout == with_history


@pytest.mark.parametrize("args, message", [
    (["--dataset=synthetic", "--data_csv=x.csv"], "--dataset=synthetic excludes --data_csv"),
    (["--num_samples=5"], "--num_samples needs --dataset=synthetic"),
    (["--dataset=synthetic", "--num_samples=0"], "--num_samples"),
    (["--dataset=synthetic", "--noise=-1"], "--noise"),
    (["--plot=/nonexistent/p.png"], "--plot: /nonexistent/p.png: cannot write"),
    (["--epochs=1000000000"], "steps; at most 2,147,483,647 (the step counter is a 32-bit"),
    (["--epochs=2000000000", "--dataset=synthetic", "--num_samples=1"], "GiB of memory"),
])
def test_bad_data_and_plot_flags(args, message):
    assert_usage_error(train(*args), message)


def test_a_diverged_run_prints_every_finished_epoch_and_stops():
    proc = train("--learning_rate=1.0")
    assert proc.returncode == 1
    run = runs.run(Settings(learning_rate=1.0), [1.0, 2.0, 3.0], [2.0, 4.0, 6.0])
    lines = proc.stdout.splitlines()
    assert lines == list(report.trace_lines(run))
    progress = [line for line in lines if line.startswith("progress:")]
    assert [p.split()[1] for p in progress] == [str(e) for e in range(9)]  # epoch 9 diverged
    assert lines[-1].startswith("\tgrad:  3.0 6.0 ") and len(lines) == 1 + 30 + 9


def gif_frames(path):
    from PIL import Image

    with Image.open(path) as im:
        return im.n_frames


def test_landscape_and_animation_of_the_lecture_run(tmp_path):
    args = [f"--landscape={tmp_path / 'l.png'}", f"--animate={tmp_path / 'a.gif'}"]
    proc = train(*args)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == train().stdout  # the pictures do not touch the lecture's lines
    assert (tmp_path / "l.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    gif = (tmp_path / "a.gif").read_bytes()
    assert gif[:6] == b"GIF89a" and len(gif) < 2 * 2**20 and gif_frames(tmp_path / "a.gif") == 60
    again = train(f"--animate={tmp_path / 'b.gif'}", "--trace=false")
    assert again.returncode == 0 and (tmp_path / "b.gif").read_bytes() == gif  # deterministic


def test_a_diverging_run_is_drawn_up_to_its_divergence(tmp_path):
    proc = train("--learning_rate=1.0", f"--landscape={tmp_path / 'l.png'}",
                 f"--animate={tmp_path / 'a.gif'}", "--model=affine")
    assert proc.returncode == 1
    assert (tmp_path / "l.png").exists() and gif_frames(tmp_path / "a.gif") >= 2


@pytest.mark.parametrize("args, message", [
    (["--model=quadratic", "--landscape=q.png"], "--landscape: the landscape is drawn for models "
                                                 "of 1 or 2 parameters"),
    (["--animate=a.avi"], "--animate: write .gif (Pillow) or .mp4 (ffmpeg), not '.avi'"),
])
def test_pictures_that_cannot_be_made_are_refused_up_front(args, message):
    assert_usage_error(train(*args), message)


@pytest.fixture(scope="module")
def server():
    s = Server("train.py")
    yield s
    s.close()


def check_output(path, params, steps):
    """The file an output flag wrote holds the run: its steps and the model's parameters."""
    data = path.read_bytes()
    if path.suffix == ".json":
        record = json.loads(data)
        assert len(record["steps"]) == steps
        assert set(record["final_params"] if len(params) > 1 else {"w": record["final_w"]}) \
            == set(params)
    elif path.suffix == ".html":
        page = embedded(data.decode())
        assert len(page["steps"]) == steps and page["params"] == list(params)
    elif path.suffix == ".gif":
        assert gif_frames(path) == steps
    elif path.suffix == ".mp4":
        assert data[4:8] == b"ftyp"
    else:
        assert data.startswith(PNG) and data.endswith(b"IEND\xaeB`\x82")


LECTURE = ([1.0, 2.0, 3.0], [2.0, 4.0, 6.0])
# What each output is, rendered in-process from a run: (run, target, title) -> bytes.
RENDERED = {
    "run.png": plots.training_png,
    "land.png": lambda run, target, title: plots.landscape_png(run, *LECTURE, target, title),
    "run.gif": lambda run, target, title: plots.animation_bytes(run, ".gif", title),
    "page.html": lambda run, target, title: stepthrough.page(run).encode(),
}
OUTPUTS = [("--output", "run.json"), ("--plot", "run.png"), ("--landscape", "land.png"),
           ("--animate", "run.gif"), ("--animate", "run.mp4"), ("--html", "page.html")]


@pytest.mark.parametrize("flag, name", OUTPUTS)
@pytest.mark.parametrize("model_name", list(model.MODELS))
def test_every_model_writes_every_output_alone(server, tmp_path, model_name, flag, name):
    # Every model x every output flag, one at a time and without --trace (the output alone
    # must keep the history): exit 0, that file, whole, and nothing else.
    if name.endswith(".mp4") and not shutil.which("ffmpeg"):
        pytest.skip("an .mp4 needs ffmpeg")
    work = tmp_path / "work"
    work.mkdir()
    code, out, err = server.run([f"--model={model_name}", "--learning_rate=0.001", "--epochs=2",
                                 "--trace=false", f"{flag}={name}"], work)
    params = model.get(model_name).params
    if flag == "--landscape" and len(params) > 2:  # refused before any work, as documented
        assert code == 2 and err.startswith("train.py: error: --landscape: the landscape is "
                                            "drawn for models of 1 or 2 parameters")
        assert os.listdir(work) == []
        return
    assert (code, err) == (0, "")
    assert os.listdir(work) == [name]
    check_output(work / name, params, steps=6)
    if name in RENDERED:  # byte for byte what test_plots and test_stepthrough check
        run = runs.run(Settings(model=model_name, learning_rate=0.001, epochs=2), *LECTURE)
        target = model.least_squares(model_name, *LECTURE)
        title = f"{model_name}, sgd, learning rate 0.001"
        assert (work / name).read_bytes() == RENDERED[name](run, target, title)


@pytest.mark.parametrize("trace", ["--trace", "--notrace"])
def test_a_run_that_diverges_at_its_first_step(server, tmp_path, trace):
    # w = 1e30: the first loss overflows float32. With the history kept, and without it (the
    # run is replayed to find the step): exit 1, the step-0 line, and no epoch finished.
    (tmp_path / "work").mkdir()
    code, out, err = server.run(["--w_init=1e30", trace], tmp_path / "work")
    assert code == 1
    assert out.splitlines() == ["predict (BT) 4.0 4e+30"] + (
        ["\tgrad:  1.0 2.0 2e+30"] if trace == "--trace" else [])  # 2 (1e30 - 2) 1, float32
    (line,) = err.splitlines()
    assert line.startswith("train.py: error: training diverged at epoch 0, step 0 (sample 1 of "
                           "3): loss is inf; ")


def test_parameters_that_overflow_in_the_last_step_while_the_loss_is_finite(server, tmp_path):
    # One sample (x=1, y=2), one step at lr 2e38: the loss (1) and the gradient (-2) are finite,
    # the new w = 1 + 4e38 is not: divergence at the step count, said as such, exit 1.
    (tmp_path / "work").mkdir()
    code, out, err = server.run(["--x_data=1", "--y_data=2", "--epochs=1", "--notrace",
                                 "--learning_rate=2e38", "--output=run.json"], tmp_path / "work")
    assert code == 1
    assert out.splitlines() == ["predict (BT) 4.0 4.0", "progress: 0 1.0"]  # no predict (AT)
    (line,) = err.splitlines()
    assert line.startswith("train.py: error: training diverged: the parameters became "
                           "non-finite in the last step (0); ")
    record = json.loads((tmp_path / "work" / "run.json").read_text())
    assert record["diverged_at_step"] == 1 and record["steps"][0]["loss"] == 1.0


@pytest.mark.parametrize("model_name", list(model.MODELS))
def test_the_float64_json_is_the_plain_python_run_step_by_step(server, tmp_path, model_name):
    # Each step's record is the state before the step (epoch, sample, parameters, loss) and
    # the gradient it applied, as plain Python float64 computes the loop; rtol 1e-13 (XLA may
    # fuse a multiply-add into one rounding). The first parameter starts at 1 + 2^-40, which
    # float32 would round to 1.
    names = model.get(model_name).params
    init = dict(model.get(model_name).defaults, **{names[0]: 1 + 2**-40})
    (tmp_path / "work").mkdir()
    code, _, err = server.run(["--x64", f"--model={model_name}", "--learning_rate=0.01",
                               *(f"--{p}_init={v!r}" for p, v in init.items()), "--epochs=3",
                               "--notrace", "--output=run.json"], tmp_path / "work")
    assert (code, err) == (0, "")
    record = json.loads((tmp_path / "work" / "run.json").read_text())
    want, final = python_sgd(model_name, init, 0.01, epochs=3)
    if len(names) == 1:  # a one-parameter record, the lecture's: w and grad, not dicts
        for step in record["steps"]:
            step["params"], step["grads"] = {"w": step.pop("w")}, {"w": step.pop("grad")}
        record["final_params"] = {"w": record["final_w"]}
    got = record["steps"]
    assert got[0]["params"] == init
    assert [(s["epoch"], s["x"], s["y"]) for s in got] == [w[:3] for w in want]
    np.testing.assert_allclose([[*s["params"].values(), s["loss"], *s["grads"].values()]
                                for s in got],
                               [[*w[3].values(), w[4], *w[5].values()] for w in want], rtol=1e-13)
    np.testing.assert_allclose(list(record["final_params"].values()), list(final.values()),
                               rtol=1e-13)


@pytest.mark.parametrize("method", ["chain_rule", "closed_form"])
def test_the_grad_flag_runs_that_methods_code(tmp_path, method):
    # The methods print the same numbers: spies on each method's own code tell which ran.
    assert gradient_methods_run(tmp_path, "train.py", f"--grad={method}", "--epochs=1",
                                "--notrace") == (0, {method})


def test_the_compilation_cache_can_be_off_or_unwritable(tmp_path):
    """--compilation_cache= runs without one; a folder that cannot be made is a warning on
    stderr, and the run goes on with the same lines."""
    off = run_script("train.py", "--epochs=1", "--trace=false", "--compilation_cache=")
    (tmp_path / "file").write_text("x")  # a file where the cache's folder would go
    bad = run_script("train.py", "--epochs=1", "--trace=false",
                     f"--compilation_cache={tmp_path / 'file' / 'cache'}")
    assert off.returncode == bad.returncode == 0 and off.stderr == ""
    assert off.stdout == bad.stdout and off.stdout.startswith("predict (BT) 4.0 4.0\n")
    assert "no compilation cache: cannot create" in bad.stderr and "Not a directory" in bad.stderr


def test_a_usage_error_with_stderr_closed_still_exits_2():
    proc = subprocess.run([sys.executable, str(SCRIPTS / "train.py"), "--bogus"],
                          stdout=subprocess.PIPE, preexec_fn=lambda: os.close(2), env=BASE_ENV,
                          timeout=120)
    assert (proc.returncode, proc.stdout) == (2, b"")


# Mutation testing (tools/mutate.py): tests that kill its survivors.

def test_a_run_whose_loss_stays_put_is_not_called_unstable(tmp_path):
    # Data the initial w already fits: the loss is 0 before and after, which is no rise.
    csv = tmp_path / "fit.csv"
    csv.write_text("x,y\n1,1\n2,2\n3,3\n")
    proc = train(f"--data_csv={csv}", "--w_init=1", "--trace=false")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
