"""lec4_jax.tool.sweep: vmapped, chunked, sharded grids that train each model as train.py does."""

import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import train_util
from hypothesis import given, settings
from hypothesis import strategies as st

from lec4_jax import model
from lec4_jax.tool import data, stability, sweep, training
from lec4_jax.tool.data import InputError

X, Y = [1.0, 2.0, 3.0], [2.0, 4.0, 6.0]


def test_learning_rates_and_grid_order():
    np.testing.assert_allclose(sweep.learning_rates(0.01, 1, 3), [0.01, 0.1, 1.0])
    np.testing.assert_allclose(sweep.learning_rates(0.1, 0.3, 3, "linear"), [0.1, 0.2, 0.3])
    lr, w = sweep.grid([0.1, 0.2], [1.0, 5.0, 7.0])
    assert lr.tolist() == [0.1, 0.1, 0.1, 0.2, 0.2, 0.2] and w.tolist() == [1, 5, 7, 1, 5, 7]
    with pytest.raises(InputError, match="'cubic' is not one of log, linear") as e:
        sweep.learning_rates(0.1, 1, 3, "cubic")
    assert e.value.field == "spacing"


def alone(lr, w0, optimizer, grad="autodiff"):
    return train_util.train({"w": jnp.float32(w0)}, jnp.array(X), jnp.array(Y), lr, epochs=20,
                          optimizer=optimizer, grad=grad, keep_history=False).final_params["w"]


@pytest.mark.parametrize("grad", ["autodiff", "chain_rule", "closed_form"])
def test_vmapped_equals_training_each_config_alone_bit_for_bit(grad):
    # Bit-exact on the CPU: every model runs training.step, the same fenced step as a lone run.
    lrs, w_inits = sweep.learning_rates(1e-3, 0.6, 23), [1.0, -3.0, 0.25]
    r = sweep.train_grid(lrs, w_inits, X, Y, epochs=20, grad=grad)
    for lr, w0, w in zip(r.learning_rate, r.w_init, r.final_w):
        np.testing.assert_array_equal(w, alone(lr, w0, "sgd", grad))


_finite32 = st.floats(-4.0, 4.0, allow_subnormal=False, width=32)


@settings(max_examples=25)
@given(lrs=st.lists(st.floats(1e-4, 2.0), min_size=1, max_size=9),
       w_inits=st.lists(_finite32, min_size=1, max_size=3),
       xy=st.lists(st.tuples(_finite32, _finite32), min_size=1, max_size=11),
       epochs=st.integers(1, 7), unroll=st.sampled_from([1, 4, sweep.DEFAULT_UNROLL]))
def test_random_grids_and_data_equal_lone_runs_bit_for_bit(lrs, w_inits, xy, epochs, unroll):
    # The sweep drops the step's optimization barriers so XLA fuses several steps per loop
    # iteration: this checks that the arithmetic, and so every bit, stays that of train.py's
    # fenced step, on random data of any length (some runs diverge), any unroll.
    x, y = (np.array(v, np.float32) for v in zip(*xy))
    r = sweep.train_grid(lrs, w_inits, x, y, epochs=epochs, unroll=unroll)
    for lr, w0, w in zip(r.learning_rate, r.w_init, r.final_w):
        want = train_util.train({"w": jnp.float32(w0)}, x, y, lr, epochs=epochs,
                              keep_history=False).final_params["w"]
        np.testing.assert_array_equal(w, want)


def test_more_w_inits_than_a_chunk_holds():
    # A chunk is whole rows of the grid: one learning rate with all 5 w_inits, over a chunk of 2.
    lrs, w_inits = sweep.learning_rates(1e-3, 0.3, 3), [1.0, -1.0, 2.0, 0.5, 3.0]
    whole = sweep.train_grid(lrs, w_inits, X, Y, epochs=5)
    for a, b in zip(whole, sweep.train_grid(lrs, w_inits, X, Y, epochs=5, chunk=2)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("chunk", [None, 8])
def test_results_left_on_the_device_equal_those_copied_to_the_host(chunk):
    lrs = sweep.learning_rates(1e-3, 0.5, 37)
    host = sweep.train_grid(lrs, [1.0, 2.5], X, Y, epochs=10, chunk=chunk)
    device = sweep.train_grid(lrs, [1.0, 2.5], X, Y, epochs=10, chunk=chunk, to_host=False)
    assert isinstance(device.final_w, jax.Array)
    for a, b in zip(host, device):
        np.testing.assert_array_equal(a, np.asarray(b))


def test_aligned_buffers():
    for n in (1, 7, 1000):
        a = data.aligned_empty(n, np.float32)
        assert a.shape == (n,) and a.__array_interface__["data"][0] % 64 == 0


def test_vmapped_momentum_is_within_an_ulp_or_two():
    # A ulp bound, not bit-exact: vectorised, XLA contracts momentum's trace update into an FMA
    # differently than for one scalar model. Seen: 1 ulp.
    r = sweep.train_grid(sweep.learning_rates(1e-3, 0.1, 11), [1.0, -3.0], X, Y, epochs=20,
                         optimizer="momentum")
    want = [alone(lr, w0, "momentum") for lr, w0 in zip(r.learning_rate, r.w_init)]
    np.testing.assert_array_max_ulp(r.final_w, np.array(want), maxulp=4)


def test_chunks_and_padding_do_not_change_results():
    lrs = sweep.learning_rates(1e-3, 0.5, 37)
    whole = sweep.train_grid(lrs, [1.0, 2.5], X, Y, epochs=10)
    chunked = sweep.train_grid(lrs, [1.0, 2.5], X, Y, epochs=10, chunk=8)  # 74 = 9*8 + 2
    for a, b in zip(whole, chunked):
        np.testing.assert_array_equal(a, b)


def test_final_loss_and_diverged():
    r = sweep.train_grid([0.01, 1.0], [1.0], X, Y, epochs=20)
    w = r.final_w[0]
    want = np.mean([(np.float32(x) * w - y) ** 2 for x, y in zip(X, Y)])
    np.testing.assert_allclose(r.final_loss[0], want, rtol=1e-6)  # float32 sums, another order
    assert r.diverged.tolist() == [False, True]


def test_measured_divergence_edges_agree_with_the_analytic_bound():
    # 200 epochs so that just past an edge the error has grown well above where it started.
    rates = stability.stable_learning_rates(X)
    lrs = sweep.learning_rates(0.05, 0.9, 400)
    r = sweep.train_grid(lrs, [1.0], X, Y, epochs=200)
    lr = r.learning_rate.astype(np.float64)
    inside = np.zeros(len(lr), bool)
    near = np.zeros(len(lr), bool)
    for lo, hi in rates.intervals:
        inside |= (lr > lo) & (lr < hi)
        near |= (np.abs(lr - lo) < 0.02 * lo) | (np.abs(lr - hi) < 0.02 * hi)
    assert np.all(r.diverged[~near] == ~inside[~near])
    # and the first divergence sits just past the first window's edge, not anywhere near it
    first_bad = lr[r.diverged].min()
    assert rates.intervals[0][1] <= first_bad < 1.02 * rates.intervals[0][1]


def test_csv():
    text = sweep.to_csv(sweep.train_grid([0.01], [1.0], X, Y, epochs=2))
    header, row = text.splitlines()
    assert header == "lr,w_init,final_w,final_loss,diverged"
    lr, w0, w, loss, bad = row.split(",")
    assert float(lr) == float(np.float32(0.01)) and w0 == "1.0" and bad == "false"


_SHARDED = """
import json, sys
import jax
from lec4_jax.tool import sweep
assert jax.device_count() == 8, jax.devices()
lrs = sweep.learning_rates(1e-3, 0.6, 29)
r = sweep.train_grid(lrs, [1.0, -2.0, 0.5], [1.0, 2.0, 3.0], [2.0, 4.0, 6.0], epochs=20,
                     chunk=int(sys.argv[1]))
print(json.dumps([a.tolist() for a in r]))
"""


@pytest.mark.parametrize("chunk", [4, 1 << 20])
def test_sharded_over_eight_cpu_devices_equals_unsharded(chunk):
    # 87 models over 8 devices: padded, sharded along the models axis; bit-exact.
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8",
               JAX_PLATFORMS="cpu")
    proc = subprocess.run([sys.executable, "-c", _SHARDED, str(chunk)], capture_output=True,
                          text=True, env=env, check=True)
    sharded = json.loads(proc.stdout)
    lrs = sweep.learning_rates(1e-3, 0.6, 29)
    alone = sweep.train_grid(lrs, [1.0, -2.0, 0.5], X, Y, epochs=20)
    for got, want in zip(sharded, alone):
        np.testing.assert_array_equal(np.array(got, dtype=want.dtype), want)


_FLOAT64 = """
import jax
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
import numpy as np
import train_util
from lec4_jax.tool import sweep
X, Y = np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 6.0])
r = sweep.train_grid(sweep.learning_rates(1e-3, 0.6, 17), [1.0, -2.0], X, Y, epochs=20,
                     dtype=jnp.float64, chunk=8)
assert r.final_w.dtype == np.float64
for lr, w0, w in zip(r.learning_rate, r.w_init, r.final_w):
    want = train_util.train({"w": np.float64(w0)}, X, Y, lr, epochs=20,
                          keep_history=False).final_params["w"]
    assert np.array_equal(w, want), (lr, w0, w, want)
print("ok")
"""


def test_float64_sweep_equals_lone_float64_runs_bit_for_bit():
    # In a subprocess: float64 is a process-wide JAX setting (sweep.py --x64).
    proc = subprocess.run([sys.executable, "-c", _FLOAT64], capture_output=True, text=True,
                          env=dict(os.environ, JAX_PLATFORMS="cpu",
                                   PYTHONPATH=os.path.dirname(os.path.abspath(__file__))))
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_a_sweep_that_starts_at_the_optimum_is_not_diverged():
    # w_init = w* = 2: the loss is 0 at every step and stays 0, which is not above where it began
    r = sweep.train_grid([0.01, 0.1], [2.0], X, Y, epochs=3)
    assert r.final_w.tolist() == [2.0, 2.0] and r.final_loss.tolist() == [0.0, 0.0]
    assert r.diverged.tolist() == [False, False]


def test_refined_rates_trace_each_window_and_its_edges():
    rates = stability.stable_learning_rates(X)
    extra = sweep.refined_rates(rates.intervals, 0.001, 1.0)
    lo2, hi2 = rates.intervals[1]
    assert np.sum((extra > lo2) & (extra < hi2)) >= 24  # the narrow second window, traced
    for edge in (rates.intervals[0][1], lo2, hi2):
        assert np.min(np.abs(extra - edge)) < 1e-8 * edge  # points right at each edge
        assert np.any(extra < edge) and np.any(extra > edge)
    assert extra.min() >= 0.001 and extra.max() <= 1.0


def test_progress_is_reported_chunk_by_chunk():
    seen = []
    r = sweep.train_grid(np.linspace(0.01, 0.1, 10), [1.0, 2.0], X, Y, epochs=2, chunk=4,
                         progress=lambda done, n: seen.append((done, n)))
    assert seen == [(4, 20), (8, 20), (12, 20), (16, 20), (20, 20)]
    plain = sweep.train_grid(np.linspace(0.01, 0.1, 10), [1.0, 2.0], X, Y, epochs=2, chunk=4)
    np.testing.assert_array_equal(r.final_w, plain.final_w)


NO_FMA = "--xla_cpu_max_isa=AVX" in os.environ.get("XLA_FLAGS", "")


@pytest.mark.parametrize("name", sorted(model.MODELS))
def test_every_model_sweeps_and_equals_lone_runs(name):
    # The grid is every learning rate with every combination of the values given (the first
    # parameter's slowest); each config is train.py's run of that model: bit for bit for the
    # lecture's model, and for every model without FMA (the test below reruns this one so).
    # With FMA, the unfenced sweep may contract x*w + b differently from the fenced step.
    m = model.get(name)
    inits = {m.params[0]: [0.5, -1.0], m.params[-1]: [0.25, 2.0]}
    lrs = sweep.learning_rates(1e-3, 0.3, 5)
    r = sweep.train_grid(lrs, inits, X, Y, epochs=9, model=name)
    assert len(r) == 5 * len(sweep.init_points(name, inits)[m.params[0]])
    assert [c for c, _ in r.columns()] == (["lr"] + [f"{p}_init" for p in m.params]
                                           + [f"final_{p}" for p in m.params]
                                           + ["final_loss", "diverged"])
    for i, lr in enumerate(r.learning_rate):
        p0 = {p: np.float32(r.init[p][i]) for p in m.params}
        assert p0 == {**m.defaults, **{p: p0[p] for p in inits}} | {
            p: np.float32(m.defaults[p]) for p in m.params if p not in inits}
        h = train_util.train(p0, jnp.array(X), jnp.array(Y), lr, epochs=9, model=name,
                           keep_history=False)
        for p in m.params:
            if m is model.LINEAR or NO_FMA:
                np.testing.assert_array_equal(r.final[p][i], h.final_params[p])
            else:
                np.testing.assert_allclose(r.final[p][i], h.final_params[p], rtol=1e-5,
                                           atol=1e-6)
        # The same mean loss, compiled inside the vmapped chunk: XLA may fuse x*w + b into an
        # FMA there, and s = x*w + b - y cancels, so close rather than equal (near the optimum,
        # a loss of 1e-4, the cancellation leaves 1e-9 of the data's scale, y^2 ~ 36).
        want = training.mean_loss(h.final_params, jnp.array(X), jnp.array(Y), name)
        np.testing.assert_allclose(r.final_loss[i], want, rtol=1e-5, atol=1e-8)


def test_init_points_take_every_combination_and_refuse_other_models_parameters():
    points = sweep.init_points("affine", {"w": [1.0, 2.0], "b": [0.0, 5.0, 7.0]})
    assert points["w"].tolist() == [1, 1, 1, 2, 2, 2] and points["b"].tolist() == [0, 5, 7] * 2
    assert sweep.init_points("quadratic", [3.0]) == {"w2": [3.0], "w1": [1.0], "b": [0.0]}
    with pytest.raises(data.InputError, match="does not apply to model linear"):
        sweep.init_points("linear", {"b": [1.0]})


def test_every_model_is_bit_for_bit_without_fma():
    env = dict(os.environ, XLA_FLAGS="--xla_cpu_max_isa=AVX")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                           f"{__file__}::test_every_model_sweeps_and_equals_lone_runs"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0 and f"{len(model.MODELS)} passed" in proc.stdout, (
        proc.stdout + proc.stderr)


@pytest.mark.parametrize("to_host", [True, False])
def test_a_grid_that_does_not_divide_into_chunks_equals_lone_runs(to_host):
    # 7 rates x 3 initial points in chunks of 2 rates (chunk=6 models): four chunks, the last
    # padded with a copy of the last rate and cut off again. Each of the 21 configs is its
    # lone run, bit for bit (the same fenced-step arithmetic), in grid order.
    lrs, w_inits = sweep.learning_rates(1e-3, 0.3, 7), [1.0, -2.0, 0.5]
    r = sweep.train_grid(lrs, w_inits, X, Y, epochs=20, chunk=6, to_host=to_host)
    assert len(r) == 21 and np.asarray(r.final_loss).shape == (21,)
    want = [alone(lr, w0, "sgd") for lr in np.float32(lrs) for w0 in w_inits]
    np.testing.assert_array_equal(np.asarray(r.final_w), want)


def test_a_chunk_is_passed_in_place_when_it_can_be_and_padded_when_short():
    # Which code ran, since both give the same numbers: a full chunk already in the dtype and
    # aligned is the very array given (XLA reads it in place); a short one is a fresh buffer,
    # padded with its last rate; another dtype or a misaligned start is copied.
    full = data.aligned_empty(8, np.float32)
    full[:] = np.arange(8)
    assert sweep._chunk_rates(full, 8, np.float32) is full
    short = sweep._chunk_rates(full[:3], 8, np.float32)
    assert short.ctypes.data % 64 == 0 and short.tolist() == [0, 1, 2, 2, 2, 2, 2, 2]
    cast = sweep._chunk_rates(full.astype(np.float64), 8, np.float32)
    assert cast.dtype == np.float32 and cast.tolist() == full.tolist()
    offset = data.aligned_empty(9, np.float32)[1:]  # 4 bytes past an edge
    offset[:] = np.arange(8)
    moved = sweep._chunk_rates(offset, 8, np.float32)
    assert moved is not offset and moved.ctypes.data % 64 == 0 and moved.tolist() == list(range(8))


def test_refined_rates_close_in_on_each_edge_from_both_sides():
    # near = 3: 0.5e-1, 0.5e-2 and 0.5e-3 of the edge below it and above it
    edge = 0.204018
    rates = sweep.refined_rates([(0.0, edge)], 0.01, 0.6, inside=2, near=3)
    for k in (1, 2, 3):
        for side in (-1, 1):
            want = edge * (1 + side * 0.5 * 10.0**-k)
            assert np.min(np.abs(rates - want)) <= 1e-15, (k, side)


def test_best_fit_is_the_lowest_final_loss_that_did_not_diverge_for_a_model_without_one():
    # The point the sweep linearises a model with no closed-form stability at; none for a
    # model linear in its parameters (its stability is exact), none when every config diverged.
    x, y = np.float32([1.0, 2.0, 3.0]), np.float32([2.0, 4.0, 6.0])
    lrs = sweep.learning_rates(1e-3, 1.0, 8)
    result = sweep.train_grid(lrs, [1.0], x, y, epochs=5, model="x*w**2")
    fit = sweep.best_fit(result)
    ok = ~np.asarray(result.diverged)
    best = np.argmin(np.where(ok, result.final_loss, np.inf))
    assert fit == {"w": float(result.final["w"][best])} and abs(fit["w"] - 2**0.5) < 1e-3
    assert sweep.best_fit(sweep.train_grid(lrs, [1.0], x, y, epochs=5)) is None
    assert sweep.best_fit(sweep.train_grid([1e3], [1.0], x, y, epochs=5,
                                           model="x*w**2")) is None


def test_init_points_match_meshgrid_and_take_any_number_of_parameters():
    # built axis by axis, as np.meshgrid(indexing="ij") orders them, with no dimension limit
    points = sweep.init_points("x*a + b*c", {"a": [1.0, 2.0], "c": [5.0, 6.0, 7.0]})
    mesh = np.meshgrid([1.0, 2.0], [1.0], [5.0, 6.0, 7.0], indexing="ij")
    for p, want in zip("abc", mesh):
        np.testing.assert_array_equal(points[p], want.ravel())
    many = sweep.init_points(" + ".join(f"x*p{i}" for i in range(32)), {"p5": [1.0, 3.0]})
    assert len(many) == 32 and all(len(v) == 2 for v in many.values())
    np.testing.assert_array_equal(many["p5"], [1.0, 3.0])
