"""lec4_jax.model: pure forward/loss that work under jit, vmap and grad (exact: same ops)."""

import jax
import jax.numpy as jnp
import numpy as np

from lec4_jax import model


def test_forward_and_loss_at_the_worked_example():
    assert model.forward(1.0, 1.0) == 1.0
    assert model.loss(1.0, 1.0, 2.0) == 1.0  # (1*1 - 2)^2


def test_fan_out_form_has_the_same_value():
    assert model.loss_fan_out(1.5, 2.0, 4.0) == model.loss(1.5, 2.0, 4.0) == 1.0


def test_jit_vmap_grad():
    x, y = jnp.array([1.0, 2.0, 3.0]), jnp.array([2.0, 4.0, 6.0])
    losses = jax.jit(jax.vmap(model.loss, in_axes=(None, 0, 0)))(1.0, x, y)
    np.testing.assert_array_equal(losses, [1.0, 4.0, 9.0])  # exact: small integers
    assert jax.grad(model.loss)(1.0, 3.0, 6.0) == -18.0  # 2*3*(3 - 6)
    assert jax.grad(jax.grad(model.loss))(1.0, 3.0, 6.0) == 18.0  # 2*x^2


def test_least_squares_names_each_parameter_in_the_models_order():
    # y = 3x^2 - 2x + 0.5 exactly: the fit gives back w2 = 3, w1 = -2, b = 0.5, each under its
    # own name (to 1e-12: float64 least squares on exact data); affine's y = -2x + 0.5 likewise.
    x = np.array([-2.0, -1.0, 0.0, 1.0, 2.0, 3.0])
    fit = model.least_squares("quadratic", x, 3 * x**2 - 2 * x + 0.5)
    assert list(fit) == ["w2", "w1", "b"]
    np.testing.assert_allclose(list(fit.values()), [3.0, -2.0, 0.5], atol=1e-12)
    fit = model.least_squares("affine", x, -2 * x + 0.5)
    assert list(fit) == ["w", "b"]
    np.testing.assert_allclose(list(fit.values()), [-2.0, 0.5], atol=1e-12)


def test_least_squares_of_features_beyond_float64_is_nan_not_an_error():
    # x^2 of x = 1e155 overflows float64: there is no fit to show, and no LinAlgError
    with np.errstate(all="raise"):  # nor an overflow warning (PYTHONWARNINGS=error)
        fit = model.least_squares("quadratic", [1e155, 1.0], [1.0, 2.0])
    assert list(fit) == ["w2", "w1", "b"] and all(np.isnan(v) for v in fit.values())
    w = model.least_squares("linear", [1.0, 2.0, 3.0], [2.0, 4.0, 6.0])["w"]
    assert abs(w - 2.0) <= 4 * np.spacing(2.0)  # in range, the fit as before: SVD, a few ulp
