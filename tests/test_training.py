"""lec4_jax.tool.training: the jitted step, the whole run as one scan, and the history."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import train_util

from lec4_jax import grads, model
from lec4_jax.tool import data, training

X = jnp.array([1.0, 2.0, 3.0])
Y = jnp.array([2.0, 4.0, 6.0])
W1 = {"w": 1.0}
INIT = {"linear": {"w": 0.5}, "affine": {"w": 0.5, "b": 0.25}, "quadratic": {"w2": 0.1, "w1": 0.5,
                                                                             "b": 0.25}}
INIT = {name: INIT.get(name, {p: 0.5 for p in m.params}) for name, m in model.MODELS.items()}


def test_one_step_is_the_lectures_update():
    # Eager, so exact: w - 0.01 * grad with grad = -2 at the worked example.
    w0, lr = {"w": jnp.float32(1.0)}, jnp.float32(0.01)
    rule = training.Rule.of()
    with jax.disable_jit():
        state = training.init_state(w0, lr, rule)
        w, _, loss, g = training.step(w0, state, jnp.float32(1.0), jnp.float32(2.0), lr,
                                      rule=rule)
    assert (loss, g) == (1.0, {"w": -2.0})
    assert w["w"] == jnp.float32(1.0) - lr * jnp.float32(-2.0)


def test_history_shape_and_order():
    h = train_util.train(W1, X, Y, 0.01, epochs=4)
    assert h.epoch.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert h.x.tolist() == [1.0, 2.0, 3.0] * 4 and h.y.tolist() == [2.0, 4.0, 6.0] * 4
    w, g = h.params["w"], h.grads["w"]
    assert w[0] == 1.0 and h.loss[0] == 1.0 and g[0] == -2.0  # before the first step
    # each row's w is the previous row's w after its update (jitted: compare within 1 ulp)
    np.testing.assert_allclose(w[1:], w[:-1] - 0.01 * g[:-1], rtol=2e-7)


DATA = (jnp.array([1.0, -0.7, 2.3, 0.4]), jnp.array([1.9, -1.5, 4.4, 0.2]))


def both_loops(name, x, y, **kwargs):
    kwargs = dict(epochs=3, model=name, **kwargs)
    return (train_util.train(INIT[name], x, y, 0.01, **kwargs),
            train_util.train(INIT[name], x, y, 0.01, loop="python", **kwargs))


@pytest.mark.parametrize("name", ["linear", "affine"])
@pytest.mark.parametrize("grad", grads.METHODS)
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "nesterov", "rmsprop", "adagrad", "lion"])
def test_scan_and_python_loops_give_identical_histories(name, grad, optimizer):
    # Bit-exact: both run the same step, fenced by optimization barriers, so it compiles to the
    # same arithmetic inside the scan as on its own.
    for x, y in ((X, Y), DATA):
        a, b = both_loops(name, x, y, grad=grad, optimizer=optimizer)
        for field, u, v in zip(training.History._fields, a, b):
            jax.tree.map(lambda p, q, f=field: np.testing.assert_array_equal(p, q, err_msg=f),
                         u, v)


@pytest.mark.parametrize("name, optimizer", [("linear", "adam"), ("linear", "adamw"),
                                             ("linear", "adabelief"), ("quadratic", "sgd"),
                                             ("quadratic", "adam")])
def test_scan_and_python_loops_agree_within_ulps(name, optimizer):
    # A ulp bound, not bit-exact: XLA still compiles a few ops differently inside the loop
    # (Adam's bias correction 1 - b**count; one multiply-add of the quadratic model). Seen: at
    # most 2 ulp in any parameter over these runs; the bound leaves room for other CPUs.
    for x, y in ((X, Y), DATA):
        a, b = both_loops(name, x, y, optimizer=optimizer)
        for k in a.params:
            np.testing.assert_array_max_ulp(a.params[k], b.params[k], maxulp=8)
            np.testing.assert_array_max_ulp(a.final_params[k], b.final_params[k], maxulp=8)


@pytest.mark.parametrize("name", list(model.MODELS))
def test_gradient_methods_give_the_same_final_params(name):
    # Bit-exact on the lecture data: the three methods round the same way (see test_grads).
    finals = [train_util.train(INIT[name], X, Y, 0.01, epochs=20, model=name, grad=g).final_params
              for g in grads.METHODS]
    assert finals[0] == finals[1] == finals[2]


def test_keep_history_false_gives_the_same_final_params():
    full = train_util.train(W1, X, Y, 0.01, epochs=20)
    lean = train_util.train(W1, X, Y, 0.01, epochs=20, keep_history=False)
    assert lean.loss is None and lean.final_params == full.final_params


def test_learning_rate_is_traced_so_it_vmaps():
    lrs = jnp.array([0.01, 0.02, 0.05])
    run = jax.vmap(lambda lr: train_util.train(W1, X, Y, lr, epochs=20,
                                             keep_history=False).final_params["w"])
    for lr, w in zip(lrs, run(lrs)):
        assert w == train_util.train(W1, X, Y, lr, epochs=20).final_params["w"]


def test_affine_map_oracle_in_float64():
    # Independent of torch: each per-sample SGD step is w <- (1 - 2 lr x^2) w + 2 lr x y.
    # Composed in float64 numpy; the float64 run agrees to rtol 1e-13 (60 steps of ~1 ulp).
    x, y, lr = np.array([1.0, 2.0, 3.0, -0.5]), np.array([2.0, 4.1, 5.9, -1.0]), 0.013
    with jax.enable_x64(True):
        h = train_util.train({"w": jnp.float64(-1.0)}, jnp.asarray(x), jnp.asarray(y), lr,
                           epochs=15)
        assert h.params["w"].dtype == jnp.float64
        w, want = -1.0, []
        for _ in range(15):
            for xi, yi in zip(x, y):
                want.append(w)
                w = (1 - 2 * lr * xi * xi) * w + 2 * lr * xi * yi
        np.testing.assert_allclose(h.params["w"], want, rtol=1e-13)
        np.testing.assert_allclose(h.final_params["w"], w, rtol=1e-13)


@pytest.mark.parametrize("name", list(model.MODELS))
@pytest.mark.parametrize("optimizer", list(training.OPTIMIZERS))
def test_every_model_and_optimizer_lowers_the_loss(name, optimizer):
    # lr 0.001: x^2 = 9 makes the quadratic model's curvature ~100x the lecture's
    h = train_util.train(INIT[name], X, Y, 0.001, epochs=30, model=name, optimizer=optimizer)
    assert training.mean_loss(h.final_params, X, Y, name) < training.mean_loss(
        INIT[name], X, Y, name)


def test_unknown_names_raise():
    with pytest.raises(ValueError, match="unknown optimizer"):
        training.Rule.of(optimizer="nope")
    with pytest.raises(ValueError, match="unknown loop"):
        train_util.train(W1, X, Y, 0.01, epochs=1, loop="while")
    with pytest.raises(ValueError, match="unknown model"):
        train_util.train(W1, X, Y, 0.01, epochs=1, model="cubic")


def test_divergence_is_found_at_the_first_non_finite_step():
    h = train_util.train(W1, X, Y, 1.0, epochs=20)
    bad = training.diverged_at(h)
    assert bad is not None
    assert np.all(np.isfinite(h.loss[:bad])) and not np.isfinite(h.loss[bad])
    assert training.diverged_at(train_util.train(W1, X, Y, 0.01, epochs=20)) is None


@pytest.mark.parametrize("name", list(model.MODELS))
def test_mean_loss_over_long_data_is_accurate_to_float32(name):
    # Summed one sample after another, float32 drifts: over 1e7 synthetic samples the mean
    # loss came out 1% low. Both forms (unrolled for small data, XLA's reduction for long)
    # stay within a few float32 ulps of the float64 mean.
    ds = data.synthetic(2_000_000, 0.1, 0, dtype=np.float32)
    m = model.get(name)
    for n in (32, len(ds.x)):
        x, y = ds.x[:n], ds.y[:n]
        got = training.mean_loss({p: np.float32(0.5) for p in m.params}, jnp.asarray(x),
                                 jnp.asarray(y), name)
        want = np.mean(m.loss({p: 0.5 for p in m.params}, x.astype(np.float64),
                              y.astype(np.float64)))
        assert float(got) == pytest.approx(float(want), rel=1e-5)
