"""scripts/train.py as a user runs it: real subprocesses, real output."""

import json
import os
import platform

import numpy as np
import pytest

import torch_lecture
from cli_util import assert_usage_error, run_script
from lec4_jax import report, runs, training
from lec4_jax.settings import Settings


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


# Mutation testing (tools/mutate.py): tests that kill its survivors.

def test_a_run_whose_loss_stays_put_is_not_called_unstable(tmp_path):
    # Data the initial w already fits: the loss is 0 before and after, which is no rise.
    csv = tmp_path / "fit.csv"
    csv.write_text("x,y\n1,1\n2,2\n3,3\n")
    proc = train(f"--data_csv={csv}", "--w_init=1", "--trace=false")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
