"""lec4_jax.model: pure forward/loss that work under jit, vmap and grad (exact: same ops)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

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


# Mutation testing (tools/mutate.py): tests that kill its survivors.

def test_defaults_are_the_readmes():
    # The README's table of models and flags: --w_init 1.0, --b_init 0.0, --w2_init and
    # --w1_init 1.0.
    assert {name: m.defaults for name, m in model.MODELS.items()} == {
        "linear": {"w": 1.0}, "affine": {"w": 1.0, "b": 0.0},
        "quadratic": {"w2": 1.0, "w1": 1.0, "b": 0.0}, "w_squared": {"w": 1.0}}


def test_examples_are_the_lectures_and_the_exercises_points():
    from lec4_jax import exercises

    # linear: the lecture's worked example, x=1, y=2, w=1 (loss 1, dL/dw -2)
    assert model.LINEAR.example == (1.0, 2.0, {"w": 1.0})
    # affine and quadratic: not the exercises' points, so explain.py's defaults print no answer
    for name, exercise in [("affine", "bias"), ("quadratic", "polynomial")]:
        e = exercises.EXERCISES[exercise]
        assert model.get(name).example != (e.x, e.y, e.params), name
    for m in model.MODELS.values():
        x, y, params = m.example
        grads = jax.grad(m.loss)({k: jnp.float32(v) for k, v in params.items()}, x, y)
        assert all(grads[k] != 0 for k in m.params), m.name  # every gradient nonzero
        # and, as the lecture's, a residual of one: loss 1, so every number walked stays small
        assert m.loss({k: jnp.float32(v) for k, v in params.items()}, x, y) == 1.0, m.name


def test_the_lectures_forward_and_loss_refuse_what_is_not_a_number():
    from lec4_jax.tool.data import InputError

    for call, field in [(lambda: model.forward(1.0, "two"), "x"),
                        (lambda: model.forward(float("nan"), 1.0), "w"),
                        (lambda: model.loss(1.0, 1.0, 1e39), "y")]:
        with pytest.raises(InputError) as e:
            call()
        assert e.value.field == field


def test_least_squares_recovers_each_models_parameters_by_name():
    # Noiseless data from distinct parameters: the fit gives each back under its own name.
    x = np.float64([-2.0, -1.0, 0.5, 1.0, 3.0])
    for m in model.MODELS.values():
        if not m.has_least_squares:
            assert model.least_squares(m, x, x) is None, m.name
            continue
        want = {p: float(i + 2) * (-1) ** i for i, p in enumerate(m.params)}  # 2, -3, 4
        y = np.asarray(m.predict({p: np.float64(v) for p, v in want.items()}, x))
        got = model.least_squares(m.name, x, y)
        assert list(got) == list(m.params)
        np.testing.assert_allclose([got[p] for p in m.params], [want[p] for p in m.params],
                                   rtol=1e-9, atol=1e-9)


def test_a_model_cannot_be_changed_in_place():
    import dataclasses

    import pytest

    with pytest.raises(dataclasses.FrozenInstanceError):
        model.LINEAR.defaults = {"w": 2.0}


def test_check_params_names_the_setting_of_a_parameter_the_model_lacks():
    import pytest

    from lec4_jax.tool.data import InputError

    model.check_params("affine", {"w": 1.0, "b": 0.0})  # its own: fine
    with pytest.raises(InputError, match=r"^does not apply to model linear \(its parameters: w\)$"
                       ) as e:
        model.check_params("linear", {"w": 1.0, "b": 0.0})
    assert e.value.field == "b_init"


def test_an_unknown_model_is_a_value_error_naming_the_choices():
    import pytest

    with pytest.raises(ValueError, match=r"unknown model 'cubic'; choose from \['affine', "):
        model.get("cubic")


def test_get_gives_a_model_back_as_it_is_and_refuses_what_is_neither():
    import pytest

    assert model.get(model.AFFINE) is model.AFFINE
    assert model.get("affine") is model.AFFINE and str(model.AFFINE) == "affine"
    with pytest.raises(ValueError, match="unknown model"):
        model.get(["linear"])  # unhashable: the same one-line refusal


# The fourth model, y_hat = x * w^2: not linear in its parameter, so the chain rule passes
# through a power of the parameter itself, and no least-squares fit exists.

def test_w_squared_walks_the_chain_rule_through_the_square_of_w():
    from lec4_jax import chain_rule

    m = model.W_SQUARED
    loss, grads = chain_rule.param_grads(m.loss, {"w": jnp.float32(1.5)}, 2.0, 3.0)
    # y_hat = 2 * 2.25 = 4.5, s = 1.5, loss 2.25; dL/dw = 2s * x * 2w = 3 * 2 * 3 = 18
    assert (float(loss), float(grads["w"])) == (2.25, 18.0)
    assert float(jax.grad(m.loss)({"w": jnp.float32(1.5)}, 2.0, 3.0)["w"]) == 18.0
    assert float(m.closed_form({"w": jnp.float32(1.5)}, 2.0, 3.0)["w"]) == 18.0


def test_w_squared_has_no_least_squares_and_says_why_in_one_line():
    m = model.W_SQUARED
    assert not m.has_least_squares and m.features is None
    assert model.least_squares(m, [1.0, 2.0], [2.0, 4.0]) is None
    assert m.why_no_least_squares == ("w_squared (y_hat = x*w^2) is not linear in its "
                                      "parameters: no least-squares fit")
    assert all(other.has_least_squares for other in (model.LINEAR, model.AFFINE,
                                                     model.QUADRATIC))
