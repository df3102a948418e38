"""scripts/explain.py as a user runs it: real subprocesses."""

import shutil
import sys
from pathlib import Path

import pytest

from cli_util import assert_usage_error, run_script


def explain(*args, env=None):
    return run_script("explain.py", *args, env=env)


def test_default_is_the_lectures_worked_example():
    proc = explain()
    assert proc.returncode == 0 and proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert lines[0] == "linear: y_hat = x*w, loss = (y_hat - y)^2, at x=1.0, y=2.0, w=1.0"
    assert lines[-1] == "dloss/dw = -2.0  (jax.grad agrees)"
    back = {line.split()[0]: line.split() for line in lines[lines.index("") + 1:]
            if line and line.split()[0] in ("loss", "s", "y_hat")}
    assert [back[k][2] for k in ("loss", "s", "y_hat")] == ["1.0", "-2.0", "-2.0"]


@pytest.mark.parametrize("args, last", [
    (["--x=2", "--y=4"], "dloss/dw = -8.0  (jax.grad agrees)"),
    (["--model=affine", "--b_init=2"], "dloss/dw = 2.0, dloss/db = 2.0  (jax.grad agrees)"),
    (["--model=quadratic", "--x=2", "--y=3", "--w2_init=0.5"],
     "dloss/dw2 = 8.0, dloss/dw1 = 4.0, dloss/db = 2.0  (jax.grad agrees)"),  # s = 2+2-3 = 1
])
def test_exercises(args, last):
    proc = explain(*args)
    assert proc.returncode == 0 and proc.stdout.splitlines()[-1] == last


def test_the_fourth_model_in_both_modes():
    # y_hat = x * w^2 at x=1, y=2, w=1: the chain rule through w^2 (local gradient 2w = 2), in
    # reverse mode and, with --forward_mode, forward mode (d(node)/dw pushed forward) too.
    proc = explain("--model=w_squared", "--forward_mode")
    assert proc.returncode == 0 and proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert "dloss/dw = -4.0  (jax.grad agrees)" in lines
    assert lines[-1] == "dloss/dw = -4.0  (forward and reverse mode agree)"
    modes = lines[lines.index("node   value  d(node)/dw (jvp)  dloss/d(node) (vjp walk)"):]
    row = next(line.split() for line in modes if line.startswith("w2 "))
    assert row == ["w2", "1.0", "2.0", "-2.0"]  # value, d(w2)/dw = 2w, dloss/dw2


def test_dot_file(tmp_path):
    proc = explain(f"--dot={tmp_path / 'g.dot'}")
    assert proc.returncode == 0
    text = (tmp_path / "g.dot").read_text()
    assert text.startswith("digraph backprop {") and "dloss/dw -2.0" in text


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_png_and_svg(tmp_path):
    proc = explain(f"--png={tmp_path / 'g.png'}", f"--svg={tmp_path / 'g.svg'}")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in (tmp_path / "g.svg").read_text()


def test_svg_without_graphviz(tmp_path):
    # a PATH with only this Python's folder: no dot
    proc = explain(f"--svg={tmp_path / 'g.svg'}", env={"PATH": str(Path(sys.executable).parent)})
    line = assert_usage_error(proc, "Graphviz's dot is not on PATH")
    assert "apt-get install graphviz" in line
    assert not (tmp_path / "g.svg").exists()


@pytest.mark.parametrize("args, message", [
    (["--x=nan"], "--x"),
    (["--y=abc"], "--y"),
    (["--w_init=inf"], "--w_init"),
    (["--model=cubic"], "--model"),
    (["--b_init=1"], "--b_init: does not apply to model linear"),
    (["--model=affine", "--w1_init=1"], "--w1_init: does not apply to model affine"),
    (["--dot=/nonexistent/g.dot"], "--dot: /nonexistent/g.dot: cannot write"),
    (["extra"], "unexpected arguments"),
])
def test_bad_input_is_one_line(args, message):
    line = assert_usage_error(explain(*args), message)
    assert line.startswith("explain.py: error: ")
