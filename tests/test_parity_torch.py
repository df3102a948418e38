"""PyTorch parity: the lecture's real PyTorch loop against lec4_jax, step by step.

Three guarantees, each checked where it holds:
- eager JAX (``jax.disable_jit()``) is bit-exact with eager PyTorch: both round after every op;
- jitted JAX is bit-exact when XLA may not fuse a*b + c into an FMA
  (``XLA_FLAGS=--xla_cpu_max_isa=AVX``, set before JAX starts, so in a subprocess);
- jitted JAX with default flags may fuse FMAs (one rounding instead of two), so it stays within
  an error bound: eps times the size of the terms each step rounds, summed over the steps.
"""

import json
import os
import platform
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import train_util
from hypothesis import example, given
from hypothesis import strategies as st

import torch_lecture
from lec4_jax import grads

LECTURE = dict(x=[1.0, 2.0, 3.0], y=[2.0, 4.0, 6.0], lr=0.01, w_init=1.0, epochs=20)
CONFIGS = [
    LECTURE,
    dict(x=[0.5, -1.25, 2.2, 3.0], y=[1.1, -2.4, 4.3, 6.2], lr=0.03, w_init=-3.5, epochs=7),
    dict(x=[0.1, 0.2, 0.7], y=[0.3, 0.1, -0.9], lr=0.2, w_init=10.0, epochs=33),
    dict(x=[4.0], y=[1.0], lr=0.001, w_init=0.0, epochs=50),
]


def torch_run(c, dtype=torch.float32):
    return torch_lecture.train(c["x"], c["y"], c["lr"], c["epochs"], c["w_init"], dtype)


def jax_run(c, dtype=jnp.float32, **kwargs):
    x, y = jnp.asarray(c["x"], dtype), jnp.asarray(c["y"], dtype)
    return train_util.train({"w": jnp.asarray(c["w_init"], dtype)}, x, y, c["lr"],
                          epochs=c["epochs"], **kwargs)


def assert_bit_exact(history, want):
    np.testing.assert_array_equal(history.params["w"], want["w"], err_msg="w")
    np.testing.assert_array_equal(history.loss, want["loss"], err_msg="loss")
    np.testing.assert_array_equal(history.grads["w"], want["grad"], err_msg="grad")
    assert np.asarray(history.final_params["w"]) == want["final_w"]


@pytest.mark.parametrize("grad", grads.METHODS)
@pytest.mark.parametrize("config", range(len(CONFIGS)))
def test_eager_jax_is_bit_exact(config, grad):
    # Bit-exact: op by op, both libraries round each float32 result the same way.
    with jax.disable_jit():
        history = jax_run(CONFIGS[config], grad=grad, loop="python")
    assert_bit_exact(history, torch_run(CONFIGS[config]))


@pytest.mark.parametrize("config", range(len(CONFIGS)))
def test_eager_jax_x64_is_bit_exact_with_torch_float64(config):
    with jax.enable_x64(True), jax.disable_jit():
        history = jax_run(CONFIGS[config], jnp.float64, loop="python")
        assert history.params["w"].dtype == jnp.float64
    assert_bit_exact(history, torch_run(CONFIGS[config], torch.float64))


_JITTED_SCRIPT = """
import json, sys
import jax, jax.numpy as jnp
import train_util
out = []
for c in json.loads(sys.argv[1]):
    with jax.enable_x64(c["x64"]):
        dt = jnp.float64 if c["x64"] else jnp.float32
        h = train_util.train({"w": jnp.asarray(c["w_init"], dt)}, jnp.asarray(c["x"], dt),
                           jnp.asarray(c["y"], dt), c["lr"], epochs=c["epochs"], grad=c["grad"])
        out.append({"params": h.params["w"].tolist(), "loss": h.loss.tolist(),
                    "grads": h.grads["w"].tolist(), "final_params": [float(h.final_params["w"])]})
print(json.dumps(out))
"""


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="an x86 ISA flag")
def test_jitted_jax_without_fma_is_bit_exact():
    # Bit-exact: with XLA limited to AVX (no FMA instructions) every jitted op rounds like torch.
    # float32 and float64, every gradient method, whole-run lax.scan.
    configs = [dict(c, grad=g, x64=x64) for c in CONFIGS for g in grads.METHODS
               for x64 in (False, True)]
    env = dict(os.environ, XLA_FLAGS="--xla_cpu_max_isa=AVX", JAX_PLATFORMS="cpu",
               PYTHONPATH=os.path.dirname(os.path.abspath(__file__)))  # train_util
    proc = subprocess.run([sys.executable, "-c", _JITTED_SCRIPT, json.dumps(configs)],
                          capture_output=True, text=True, env=env, check=True)
    for c, got in zip(configs, json.loads(proc.stdout)):
        want = torch_run(c, torch.float64 if c["x64"] else torch.float32)
        dtype = np.float64 if c["x64"] else np.float32
        for ours, theirs in (("params", "w"), ("loss", "loss"), ("grads", "grad")):
            np.testing.assert_array_equal(np.array(got[ours], dtype), want[theirs],
                                          err_msg=f"{ours} {c}")
        assert dtype(got["final_params"][0]) == want["final_w"]


OPS_PER_STEP = 6  # roundings in one step: x*w, - y, s*s, 2*x, *s, lr*g, w - (one is exact)


def assert_within_fma_bound(history, want, x, y, lr, dtype):
    """Checks the jitted history against torch's within the rounding-error bound.

    The model of one rounding, with underflow: fl(a op b) = (a op b)(1 + d) + e, |d| <= eps,
    |e| <= tiny (the smallest normal). The e term is XLA's flush to zero on the CPU: a result (or
    an input) below tiny in size becomes 0, where PyTorch keeps the subnormal, so the two can part
    by up to tiny at every op, even where the values are exact otherwise (a loss shrinking into
    the subnormals: 4.4e-40 in torch, 0 in XLA).

    Each step rounds terms of size S_j = |w| + |lr g| + 2 lr |x| (|x w| + |y|); an FMA can move
    each result by at most eps S_j, plus the flush terms, and while |1 - 2 lr x^2| <= 1 errors
    are not amplified, so |dw_k| <= sum_{j<k} (2 eps S_j + OPS_PER_STEP tiny). Given that dw,
    s = x w - y moves by at most ds = |x| dw + 2 eps (|x w| + |y|) + 2 tiny: the grad 2 x s by
    2 (2 |x| ds + eps |g|) + 2 tiny, the loss s^2 by 2 ((2 |s| + ds) ds + eps s^2) + tiny. Ulps
    of w itself mislead near w = 0, and late in training, where x w - y cancels, so do ulps of the
    loss and grad.
    """
    eps, tiny = np.finfo(dtype).eps, float(np.finfo(dtype).tiny)
    w_t, g_t, l_t = (want[k].astype(np.float64) for k in ("w", "grad", "loss"))
    scale = np.abs(w_t) + np.abs(lr * g_t) + 2 * lr * np.abs(x) * (np.abs(x * w_t) + np.abs(y))
    dw = np.abs(np.asarray(history.params["w"], np.float64) - w_t)
    per_step = 2 * eps * scale + OPS_PER_STEP * tiny
    assert np.all(dw <= np.concatenate([[0.0], np.cumsum(per_step)[:-1]])), "w"
    ds = np.abs(x) * dw + 2 * eps * (np.abs(x * w_t) + np.abs(y)) + 2 * tiny
    dg = np.abs(np.asarray(history.grads["w"], np.float64) - g_t)
    assert np.all(dg <= 2 * (2 * np.abs(x) * ds + eps * np.abs(g_t)) + 2 * tiny), "grad"
    s = np.abs(x * w_t - y)
    dl = np.abs(np.asarray(history.loss, np.float64) - l_t)
    assert np.all(dl <= 2 * ((2 * s + ds) * ds + eps * s * s) + tiny), "loss"


def tiled(c, dtype):
    x, y = (np.tile(np.asarray(c[k], dtype).astype(np.float64), c["epochs"]) for k in "xy")
    return x, y


def test_jitted_lecture_run_stays_within_two_ulp_of_torch():
    # The lecture's defaults: w stays near 2, so ulps of w are meaningful here. Seen: 1 ulp.
    history, want = jax_run(LECTURE), torch_run(LECTURE)
    np.testing.assert_array_max_ulp(history.params["w"], want["w"], maxulp=2)
    assert_within_fma_bound(history, want, *tiled(LECTURE, np.float32), 0.01, np.float32)


@pytest.mark.parametrize("x64", [False, True])
@pytest.mark.parametrize("config", range(len(CONFIGS)))
def test_jitted_jax_with_default_flags_is_within_the_fma_bound(config, x64):
    c = CONFIGS[config]
    dtype, tdtype = (np.float64, torch.float64) if x64 else (np.float32, torch.float32)
    with jax.enable_x64(x64):
        history = jax_run(c, jnp.float64 if x64 else jnp.float32)
    assert_within_fma_bound(history, torch_run(c, tdtype), *tiled(c, dtype), c["lr"], dtype)


# Inputs are kept out of the subnormals (XLA reads them as 0: a difference of inputs, not of
# arithmetic), but results may go there: the bound's flush term covers them.
sample = st.floats(-3, 3, width=32).filter(lambda v: v == 0 or abs(v) > 1e-6)
start = st.floats(-5, 5).filter(lambda v: v == 0 or abs(v) > 1e-6)


@given(data=st.lists(st.tuples(sample, sample), min_size=1, max_size=4),
       lr=st.floats(1e-4, 0.05), w_init=start, epochs=st.integers(1, 25))
@example(data=[(3.0, 0.0)] * 3, lr=0.046875, w_init=1.0, epochs=9)  # the loss goes subnormal
def test_jitted_jax_is_within_the_fma_bound_on_random_runs(data, lr, w_init, epochs):
    # lr * x^2 <= 0.45, so every step contracts the error (|1 - 2 lr x^2| <= 1).
    c = dict(x=[float(a) for a, _ in data], y=[float(b) for _, b in data], lr=lr,
             w_init=w_init, epochs=epochs)
    assert_within_fma_bound(jax_run(c), torch_run(c), *tiled(c, np.float32), lr, np.float32)


def test_the_subnormal_case_really_differs_from_torch():
    # The case the bound's flush term is for: torch keeps a subnormal loss, XLA flushes it.
    c = dict(x=[3.0] * 3, y=[0.0] * 3, lr=0.046875, w_init=1.0, epochs=9)
    ours, theirs = np.asarray(jax_run(c).loss), torch_run(c)["loss"]
    tiny = np.finfo(np.float32).tiny
    assert np.any((theirs != 0) & (np.abs(theirs) < tiny) & (ours == 0))
