"""lec4_jax/lecture.py, the lecture's script in JAX, against the lecture's real PyTorch loop
(tests/torch_lecture.py) and against train.py."""

import os
import platform
import re
import subprocess
import sys
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

import torch_lecture
from cli_util import BASE_ENV, SCRIPTS, run_script
from lec4_jax import lecture

X, Y = lecture.x_data, lecture.y_data


@pytest.fixture(scope="module")
def torch_run():
    return torch_lecture.train(X, Y)


def printed(**kwargs):
    lines = []
    w = lecture.train(out=lambda *words: lines.append(" ".join(map(str, words))), **kwargs)
    return lines, w


def test_the_loop_prints_what_the_pytorch_loop_computes(torch_run):
    """Bit-exact: run eagerly, one op at a time, every grad, loss and w is PyTorch's own float32,
    so each printed number is the shortest decimal of PyTorch's value."""
    lines, w = printed()
    grads = [line for line in lines if line.startswith("\tgrad:  ")]
    assert grads == [f"\tgrad:  {x} {y} {str(g)}"
                     for (x, y), g in zip([(x, y) for _ in range(20) for x, y in zip(X, Y)],
                                          torch_run["grad"])]
    progress = [line for line in lines if line.startswith("progress: ")]
    assert progress == [f"progress: {e} {str(torch_run['loss'][3 * e + 2])}" for e in range(20)]
    assert lines[0] == "predict (BT) 4.0 4.0"
    assert lines[-1] == f"predict (AT) 4.0 {str(np.float32(4.0) * torch_run['final_w'])}"
    assert np.float32(w) == torch_run["final_w"]


def test_python_m_prints_the_lecture():
    proc = subprocess.run([sys.executable, "-m", "lec4_jax.lecture"], capture_output=True,
                          text=True, env=BASE_ENV, timeout=120)
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.splitlines() == printed()[0]
    assert len(proc.stdout.splitlines()) == 1 + 20 * 4 + 1


def test_the_gradient_by_hand_is_jax_grad_bit_for_bit(torch_run):
    """Bit-exact: 2x(xw - y) computed as the chain rule walks it, (s + s) * 1 * x, is what
    jax.grad and PyTorch's backward compute, at every w the lecture's run visits."""
    for i, w in enumerate(torch_run["w"]):
        x, y = X[i % 3], Y[i % 3]
        by_hand = lecture.grad_by_hand(jnp.float32(w), x, y)
        assert np.float32(by_hand) == np.float32(lecture.grad(jnp.float32(w), x, y))
        assert np.float32(by_hand) == torch_run["grad"][i]


def test_the_compiled_step_and_the_scanned_run_stay_within_the_fma_bound(torch_run):
    """An ulp bound: inside XLA, w - lr * g may be one fused multiply-add (rounded once, not
    twice), so each compiled step may move w by half an ulp from PyTorch's; over the lecture's
    60 steps w stays within 2 ulps (measured: 1)."""
    w_scan, (losses, grads) = lecture.train_scanned()
    ulp = np.spacing(np.float32(2.0))
    assert abs(np.float32(w_scan) - torch_run["final_w"]) <= 2 * ulp
    np.testing.assert_allclose(np.asarray(grads), torch_run["grad"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(losses), torch_run["loss"], rtol=1e-5, atol=1e-7)
    w = jnp.float32(1.0)
    for i in range(60):
        w = lecture.update(w, X[i % 3], Y[i % 3], lecture.learning_rate)
    assert abs(np.float32(w) - torch_run["final_w"]) <= 2 * ulp


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="an x86 ISA flag")
def test_train_py_prints_the_lectures_lines_byte_for_byte():
    """The default train.py, no XLA_FLAGS given, prints exactly what the lecture's eager loop
    prints, and that is PyTorch's arithmetic (the tests above): train.py takes away XLA's fused
    multiply-add itself (_cli.lecture_arithmetic). Given XLA_FLAGS that name another
    instruction set are kept: with FMA allowed, the run parts from the lecture in a last digit."""
    script = subprocess.run([sys.executable, "-m", "lec4_jax.lecture"], capture_output=True,
                            text=True, env=BASE_ENV, timeout=120)
    train = run_script("train.py")
    assert "XLA_FLAGS" not in BASE_ENV and train.returncode == script.returncode == 0
    assert train.stdout == script.stdout
    with_fma = run_script("train.py", env={"XLA_FLAGS": "--xla_cpu_max_isa=AVX2"})
    if "avx2" in Path("/proc/cpuinfo").read_text():  # FMA3 comes with AVX2 on x86
        assert with_fma.returncode == 0 and with_fma.stdout != script.stdout


def test_lecture_arithmetic_keeps_an_instruction_set_the_user_named(monkeypatch):
    import _cli

    monkeypatch.setattr(platform, "machine", lambda: "x86_64")
    monkeypatch.setenv("XLA_FLAGS", "--xla_dump_to=/tmp/x")
    _cli.lecture_arithmetic()
    assert os.environ["XLA_FLAGS"] == "--xla_dump_to=/tmp/x --xla_cpu_max_isa=AVX"
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_max_isa=AVX2")
    _cli.lecture_arithmetic()
    assert os.environ["XLA_FLAGS"] == "--xla_cpu_max_isa=AVX2"
    monkeypatch.delenv("XLA_FLAGS")
    monkeypatch.setattr(platform, "machine", lambda: "aarch64")
    _cli.lecture_arithmetic()
    assert "XLA_FLAGS" not in os.environ


def test_the_seeds_pytorch_script_prints_the_lecture_as_the_jax_one_does():
    # scripts/_lecture_torch.py run as a script, as bench.py's row f runs it: the seed's own
    # print of tensors (to 4 decimals, or 5 digits), line for line the JAX lecture's numbers.
    torch_out = subprocess.run([sys.executable, str(SCRIPTS / "_lecture_torch.py")],
                               capture_output=True, text=True, env=BASE_ENV, timeout=120)
    jax_out = subprocess.run([sys.executable, "-m", "lec4_jax.lecture"], capture_output=True,
                             text=True, env=BASE_ENV, timeout=120)
    assert torch_out.returncode == 0 and torch_out.stderr == ""
    number = re.compile(r"-?\d+(?:\.\d*)?(?:e[-+]?\d+)?")
    pairs = list(zip(torch_out.stdout.splitlines(), jax_out.stdout.splitlines(), strict=True))
    assert len(pairs) == 82
    for theirs, ours in pairs:
        theirs = re.sub(r"tensor\(([^)]*)\)", r"\1", theirs)
        assert number.sub("#", theirs) == number.sub("#", ours)
        a, b = ([float(v) for v in number.findall(line)] for line in (theirs, ours))
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4, err_msg=theirs)
