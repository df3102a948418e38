"""Running the scripts as a user does, and what every bad input must look like."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
SERVER = Path(__file__).with_name("forkserver.py")
PNG = b"\x89PNG\r\n\x1a\n"
BASE_ENV = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}


def run_script(name: str, *args: str, env: dict | None = None, timeout: int = 300):
    """``python scripts/<name> args...`` in a subprocess, output captured."""
    return subprocess.run([sys.executable, str(SCRIPTS / name), *args], capture_output=True,
                          text=True, env=dict(BASE_ENV, **(env or {})), timeout=timeout)


def assert_usage_error(proc, message: str) -> str:
    """Exit status 2, nothing on stdout, and one line on stderr, ``<script>: error: ...``,
    that contains ``message``. Returns the line."""
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    (line,) = proc.stderr.strip().splitlines()
    assert ": error: " in line and "Traceback" not in line
    assert message in line, line
    return line


class Server:
    """A script imported once (tests/forkserver.py); each run is a fork of it, in ``cwd``,
    its stdout and stderr kept beside ``cwd``: a run costs a fork, not a Python start-up."""

    def __init__(self, script: str):
        self.script = script
        self.proc = subprocess.Popen([sys.executable, str(SERVER), script], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=BASE_ENV)

    def run(self, argv, cwd: Path, env=None) -> tuple[int, str, str]:
        out, err = cwd / ".." / "stdout.txt", cwd / ".." / "stderr.txt"
        request = {"argv": list(argv), "cwd": str(cwd), "stdout": str(out), "stderr": str(err),
                   "env": env or {},
                   "test": os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0]}
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        code = json.loads(self.proc.stdout.readline())["code"]
        return code, out.read_text(), err.read_text()

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def embedded(html: str) -> dict:
    """The numbers a step-through page embeds (its JSON data element)."""
    text = re.search(r'<script id="data" type="application/json">(.*?)</script>', html,
                     re.S).group(1)
    return json.loads(text.replace("<\\/", "</"))


def spy_on_gradient_methods(patch, record) -> None:
    """Makes each gradient method's own code call ``record(method)`` as it runs:
    ``jax.value_and_grad`` (autodiff), the engine's backward walk (chain_rule), each model's
    formula (closed_form). ``patch(obj, name, value)`` sets an attribute (``setattr``, or
    pytest's ``monkeypatch.setattr``)."""
    import dataclasses

    import jax

    from lec4_jax import chain_rule, model

    def spy(method, f):
        def recorded(*args, **kwargs):
            record(method)
            return f(*args, **kwargs)
        return recorded

    patch(jax, "value_and_grad", spy("autodiff", jax.value_and_grad))
    patch(chain_rule, "backward", spy("chain_rule", chain_rule.backward))
    patch(model, "MODELS", {name: dataclasses.replace(m, closed_form=spy("closed_form",
                                                                         m.closed_form))
                            for name, m in model.MODELS.items()})


_SPIED = """import os, runpy, sys
from cli_util import spy_on_gradient_methods

def record(method):
    with open(os.environ["GRADIENT_LOG"], "a") as log:
        log.write(method + "\\n")

spy_on_gradient_methods(setattr, record)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def gradient_methods_run(tmp_path, name: str, *args: str) -> tuple[int, set[str]]:
    """Runs ``scripts/<name> args...`` with :func:`spy_on_gradient_methods`: its exit code and
    the gradient methods whose code ran."""
    log = tmp_path / "gradients.log"
    log.write_text("")
    env = dict(BASE_ENV, GRADIENT_LOG=str(log),
               PYTHONPATH=os.pathsep.join([str(SCRIPTS), str(Path(__file__).parent)]))
    proc = subprocess.run([sys.executable, "-c", _SPIED, str(SCRIPTS / name), *args],
                          cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
    return proc.returncode, set(log.read_text().split())


# Each model's features, written out again: the prediction is sum(feature * parameter), the
# parameters in the model's order. A model not listed (one not linear in its parameters) is
# computed by its own prediction and hand-worked gradient, on plain Python floats.
FEATURES = {"linear": lambda x: [x], "affine": lambda x: [x, 1.0],
            "quadratic": lambda x: [x * x, x, 1.0]}
LECTURE_XY = ((1.0, 2.0, 3.0), (2.0, 4.0, 6.0))


def python_residual(name: str, params: dict, x: float, y: float) -> float:
    """s = prediction - y, in plain Python float64."""
    if name not in FEATURES:
        from lec4_jax import model

        return model.get(name).predict({k: float(v) for k, v in params.items()}, float(x)) - y
    return sum(f * params[p] for f, p in zip(FEATURES[name](x), params)) - y


def python_grads(name: str, params: dict, x: float, y: float) -> dict:
    if name not in FEATURES:
        from lec4_jax import model

        return model.get(name).closed_form({k: float(v) for k, v in params.items()}, float(x),
                                           float(y))
    s = python_residual(name, params, x, y)
    return {p: 2 * s * f for f, p in zip(FEATURES[name](x), params)}


def python_mean_loss(name: str, params: dict, xs=LECTURE_XY[0], ys=LECTURE_XY[1]) -> float:
    """The mean of s * s over the samples (s * s, not s ** 2: it overflows to inf, not an
    error)."""
    residuals = [python_residual(name, params, x, y) for x, y in zip(xs, ys)]
    return sum(s * s for s in residuals) / len(xs)


def python_sgd(name: str, params: dict, lr: float, epochs: int, xs=LECTURE_XY[0],
               ys=LECTURE_XY[1]):
    """An oracle: per-sample SGD in plain Python float64. Returns each step's ``(epoch, x, y,
    params, loss, grads)``, taken before the step, and the final parameters."""
    steps = []
    for epoch in range(epochs):
        for x, y in zip(xs, ys):
            s = python_residual(name, params, x, y)
            grads = python_grads(name, params, x, y)
            steps.append((epoch, x, y, dict(params), s * s, grads))
            params = {p: v - lr * grads[p] for p, v in params.items()}
    return steps, params


_AS_TRAIN_PY = """import base64, json, sys
import _cli
_cli.lecture_arithmetic()
from lec4_jax.tool import plots, report, runs, stepthrough
from lec4_jax.tool.settings import Settings
from lec4_jax import model
{code}
"""


def as_train_py_computes(code: str, timeout: int = 300) -> str:
    """``code``'s standard output, run in a fresh Python whose XLA arithmetic is train.py's
    (``_cli.lecture_arithmetic``: no fused multiply-add on x86), so that what the library gives
    there is what train.py gives. The test process itself keeps XLA's defaults (FMA), which the
    parity and sweep tests rely on."""
    env = dict(BASE_ENV, PYTHONPATH=os.pathsep.join([str(SCRIPTS), *filter(None, [
        os.environ.get("PYTHONPATH")])]))
    proc = subprocess.run([sys.executable, "-c", _AS_TRAIN_PY.format(code=code)],
                          capture_output=True, text=True, env=env, timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def library_lines(settings_kwargs: dict, trace: bool = True,
                  data=((1.0, 2.0, 3.0), (2.0, 4.0, 6.0))) -> list[str]:
    """``report.trace_lines`` of ``runs.run(Settings(**settings_kwargs), *data)``, computed as
    train.py computes (:func:`as_train_py_computes`)."""
    code = (f"run = runs.run(Settings(**{settings_kwargs!r}), *{data!r})\n"
            f"print('\\n'.join(report.trace_lines(run, {trace!r})))")
    return as_train_py_computes(code).splitlines()
