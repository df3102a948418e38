"""lec4_jax.grads: dL/dw three ways agree, and JAX's numerical checks pass."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import train_util
from hypothesis import given
from hypothesis import strategies as st
from jax.test_util import check_grads

from cli_util import spy_on_gradient_methods
from lec4_jax import chain_rule, grads, model
from lec4_jax.tool import runs, sweep
from lec4_jax.tool.settings import Settings

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=32)


@pytest.mark.parametrize("method", grads.METHODS)
def test_worked_example(method):
    assert getattr(grads, method)(1.0, 1.0, 2.0) == -2.0  # 2*1*(1 - 2)


@given(w=finite, x=finite, y=finite)
def test_three_methods_agree_bit_for_bit(w, x, y):
    # Exact, not close: all three compute round(2*s)*x from the same s = round(round(x*w) - y)
    # (the factor 2 is exact), eagerly, with no FMA.
    w, x, y = (jnp.float32(v) for v in (w, x, y))
    want = grads.closed_form(w, x, y)
    assert grads.autodiff(w, x, y) == want
    assert grads.chain_rule(w, x, y) == want


@pytest.mark.parametrize("method", grads.METHODS)
def test_loss_and_grad_returns_the_loss(method):
    fn = grads.loss_and_grad("linear", method)
    loss, g = fn({"w": jnp.float32(1.5)}, jnp.float32(2.0), jnp.float32(4.0))
    assert (loss, g) == (1.0, {"w": -4.0})


def test_unknown_method():
    with pytest.raises(ValueError, match="unknown gradient method"):
        grads.loss_and_grad("linear", "numeric")


def test_check_grads_on_the_loss_and_on_the_handwritten_rules():
    # jax.test_util.check_grads compares JVPs/VJPs against finite differences (rtol ~ 1e-2 in
    # float32, JAX's defaults): on JAX's own rules, and on ours registered as a custom_vjp.
    args = (jnp.float32(0.7), jnp.float32(1.3), jnp.float32(2.1))
    check_grads(model.loss, args, order=2, modes=["rev", "fwd"])
    custom = chain_rule.custom_vjp(lambda p, x, y: model.loss(p["w"], x, y))
    check_grads(custom, ({"w": args[0]},) + args[1:], order=1, modes=["rev"])


def test_chain_rule_jits_and_vmaps():
    x = jnp.arange(4.0)
    got = jax.jit(jax.vmap(grads.chain_rule, in_axes=(None, 0, 0)))(1.0, x, 2 * x)
    np.testing.assert_array_equal(got, 2 * x * (x - 2 * x))  # exact: small integers


@pytest.fixture
def gradient_code_run(monkeypatch):
    """The gradient methods whose code runs from now on, in order: a spy on each method's own
    code (jax.value_and_grad, the engine's backward walk, the model's formula), with every
    cache emptied so that the models are traced afresh."""
    ran = []
    spy_on_gradient_methods(monkeypatch.setattr, ran.append)
    grads.loss_and_grad.cache_clear()
    jax.clear_caches()
    yield ran
    grads.loss_and_grad.cache_clear()
    jax.clear_caches()


@pytest.mark.parametrize("method", grads.METHODS)
def test_each_method_runs_its_own_code_in_training_and_sweeps(gradient_code_run, method):
    # The three agree bit for bit, so their numbers cannot tell which one ran: the spies can.
    x, y = np.float32([1, 2, 3]), np.float32([2, 4, 6])
    runs.run(Settings(model="affine", grad=method, epochs=1), x, y)
    train_util.train({"w": 1.0}, x, y, 0.01, epochs=1, grad=method, loop="python")
    sweep.train_grid([0.01], [1.0], x, y, epochs=1, grad=method)
    assert set(gradient_code_run) == {method}


@pytest.mark.parametrize("method", grads.METHODS)
def test_one_function_per_model_and_method_so_a_jitted_step_compiles_once(method):
    # The function is a static argument of the jitted training step: a new object per call
    # would be a new cache key, and every run would trace and compile its step again.
    for name in model.MODELS:
        assert grads.loss_and_grad(name, method) is grads.loss_and_grad(name, method)
        assert grads.loss_and_grad(name, method) is not grads.loss_and_grad(name, "autodiff") \
            or method == "autodiff"
