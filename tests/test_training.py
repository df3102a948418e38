"""lec4_jax.training: the jitted step, the whole run as one scan, and the history."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lec4_jax import grads, model, training

X = jnp.array([1.0, 2.0, 3.0])
Y = jnp.array([2.0, 4.0, 6.0])


def test_one_step_is_the_lectures_update():
    # Eager, so exact: w - 0.01 * grad with grad = -2 at the worked example.
    with jax.disable_jit():
        state = training.init_state(jnp.float32(1.0), jnp.float32(0.01))
        w, _, loss, g = training.update(jnp.float32(1.0), state, jnp.float32(1.0),
                                        jnp.float32(2.0), jnp.float32(0.01))
    assert (loss, g) == (1.0, -2.0)
    assert w == jnp.float32(1.0) - jnp.float32(0.01) * jnp.float32(-2.0)


def test_history_shape_and_order():
    h = training.train(1.0, X, Y, 0.01, epochs=4)
    assert h.epoch.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert h.x.tolist() == [1.0, 2.0, 3.0] * 4 and h.y.tolist() == [2.0, 4.0, 6.0] * 4
    assert h.params[0] == 1.0  # w before the first step
    assert h.loss[0] == 1.0 and h.grads[0] == -2.0
    # each row's w is the previous row's w after its update (jitted: compare within 1 ulp)
    np.testing.assert_allclose(h.params[1:], h.params[:-1] - 0.01 * h.grads[:-1], rtol=2e-7)


DATA = (jnp.array([1.0, -0.7, 2.3, 0.4]), jnp.array([1.9, -1.5, 4.4, 0.2]))


@pytest.mark.parametrize("grad", grads.METHODS)
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "nesterov", "rmsprop", "adagrad", "lion"])
def test_scan_and_python_loops_give_identical_histories(grad, optimizer):
    # Bit-exact: both run the same step, fenced by optimization barriers, so it compiles to the
    # same arithmetic inside the scan as on its own.
    for x, y in ((X, Y), DATA):
        a = training.train(0.5, x, y, 0.01, epochs=5, grad=grad, optimizer=optimizer)
        b = training.train(0.5, x, y, 0.01, epochs=5, grad=grad, optimizer=optimizer,
                           loop="python")
        for field, u, v in zip(training.History._fields, a, b):
            np.testing.assert_array_equal(u, v, err_msg=field)


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "adabelief"])
def test_scan_and_python_loops_agree_within_ulps_for_adam(optimizer):
    # A ulp bound, not bit-exact: Adam's bias correction 1 - b**count is a pow that XLA may
    # compile differently inside the loop; seen: 1-2 ulp in w.
    a = training.train(0.5, *DATA, 0.01, epochs=5, optimizer=optimizer)
    b = training.train(0.5, *DATA, 0.01, epochs=5, optimizer=optimizer, loop="python")
    np.testing.assert_array_max_ulp(a.params, b.params, maxulp=8)


def test_gradient_methods_give_the_same_final_w_on_the_lecture_data():
    finals = {g: training.train(1.0, X, Y, 0.01, epochs=20, grad=g).final_params
              for g in grads.METHODS}
    assert finals["chain_rule"] == finals["autodiff"] == finals["closed_form"]


def test_keep_history_false_gives_the_same_final_params():
    full = training.train(1.0, X, Y, 0.01, epochs=20)
    lean = training.train(1.0, X, Y, 0.01, epochs=20, keep_history=False)
    assert lean.loss is None and lean.final_params == full.final_params


def test_learning_rate_is_traced_so_it_vmaps():
    lrs = jnp.array([0.01, 0.02, 0.05])
    run = jax.vmap(lambda lr: training.train(1.0, X, Y, lr, epochs=20,
                                             keep_history=False).final_params)
    got = run(lrs)
    for lr, w in zip(lrs, got):
        assert w == training.train(1.0, X, Y, lr, epochs=20).final_params


def test_affine_map_oracle_in_float64():
    # Independent of torch: each per-sample SGD step is w <- (1 - 2 lr x^2) w + 2 lr x y.
    # Composed in float64 numpy; the float64 run agrees to rtol 1e-13 (60 steps of ~1 ulp).
    x, y, lr = np.array([1.0, 2.0, 3.0, -0.5]), np.array([2.0, 4.1, 5.9, -1.0]), 0.013
    with jax.enable_x64(True):
        h = training.train(jnp.float64(-1.0), jnp.asarray(x), jnp.asarray(y), lr, epochs=15)
        assert h.params.dtype == jnp.float64
        w, want = -1.0, []
        for _ in range(15):
            for xi, yi in zip(x, y):
                want.append(w)
                w = (1 - 2 * lr * xi * xi) * w + 2 * lr * xi * yi
        np.testing.assert_allclose(h.params, want, rtol=1e-13)
        np.testing.assert_allclose(h.final_params, w, rtol=1e-13)


def test_every_optimizer_trains_toward_w_star():
    for name in training.OPTIMIZERS:
        h = training.train(1.0, X, Y, 0.05, epochs=50, optimizer=name)
        loss = training.mean_loss(h.final_params, X, Y, model.loss)
        assert loss < training.mean_loss(1.0, X, Y, model.loss), name


def test_unknown_names_raise():
    with pytest.raises(ValueError, match="unknown optimizer"):
        training.make_optimizer("nope", 0.1)
    with pytest.raises(ValueError, match="unknown loop"):
        training.train(1.0, X, Y, 0.01, epochs=1, loop="while")


def test_divergence_is_found_at_the_first_non_finite_step():
    h = training.train(1.0, X, Y, 1.0, epochs=20)
    bad = training.diverged_at(h)
    assert bad is not None
    assert np.all(np.isfinite(h.loss[:bad])) and not np.isfinite(h.loss[bad])
    assert training.diverged_at(training.train(1.0, X, Y, 0.01, epochs=20)) is None


def test_run_predicts_before_and_after():
    r = training.run(1.0, [1, 2, 3], [2, 4, 6], 0.01, epochs=20, predict_x=4.0)
    assert r.predict_before == 4.0 and r.diverged_at is None
    assert r.predict_after == model.forward(r.final_w, jnp.float32(4.0))
    assert r.loss_after < r.loss_before
    diverged = training.run(1.0, [1, 2, 3], [2, 4, 6], 1.0, epochs=20, predict_x=4.0)
    assert diverged.final_w == diverged.history.params[diverged.diverged_at]
