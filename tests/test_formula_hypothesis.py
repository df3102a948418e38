"""Formulas nobody wrote by hand, checked three ways (four, with the symbolic closed form).

hypothesis draws formulas from the whole grammar and points where they are finite; at each:

- the handwritten chain rule (the walk) and ``jax.grad`` agree BIT FOR BIT: both run the same
  eager float32 ops, and each new rule multiplies in the order of JAX's own, transposed;
- the symbolic closed form (lec4_jax.symbolic, float64 NumPy) and PyTorch autograd on a twin
  built from the same parsed tree (float64) agree to 1e-9 relative to the point's scale: two
  independent derivations, rounding differently in float64 only;
- the float32 walk is within 1e-3 of that float64 truth, relative to the scale
  ``1 + max over the twin's nodes of |value| * (1 + |dloss/dnode|)``: float32's 6e-8 per op,
  amplified by the drawn formula's own cancellations (1 - tanh^2 near saturation, a - b), stays
  well inside it.

Domains are kept safe by construction (log of 1 + a^2, division by 1 + a^2, fractional and
negative powers of 1 + a^2), and points are kept away from relu's kink.
"""

import os

import numpy as np
import pytest
import torch
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from lec4_jax import chain_rule as cr
from lec4_jax import formula, grads, symbolic

EXAMPLES = int(os.environ.get("LEC4_FORMULA_EXAMPLES", "150"))  # more for a deeper search
LEAVES = st.sampled_from(["x", "w", "b", "c", "0.5", "2", "3", "1.5"])


def _grow(inner):
    pair = st.tuples(inner, inner)
    return st.one_of(
        st.tuples(inner, st.sampled_from([" + ", " - ", "*"]), inner).map(
            lambda t: f"({t[0]}{t[1]}{t[2]})"),
        pair.map(lambda t: f"({t[0]})/(1 + ({t[1]})**2)"),
        pair.map(lambda t: f"({t[0]})/(2 + tanh({t[1]}))"),
        inner.map(lambda a: f"-({a})"),
        st.tuples(inner, st.sampled_from(["2", "3"])).map(lambda t: f"({t[0]})**{t[1]}"),
        st.tuples(inner, st.sampled_from(["-1", "0.5", "1.5", "-2"])).map(
            lambda t: f"(1 + ({t[0]})**2)**{t[1]}"),
        inner.map(lambda a: f"exp(tanh({a}))"), inner.map(lambda a: f"exp(-({a})**2)"),
        inner.map(lambda a: f"log(1 + ({a})**2)"), inner.map(lambda a: f"tanh({a})"),
        inner.map(lambda a: f"sigmoid({a})"), inner.map(lambda a: f"relu({a})"),
    )


def _with_a_parameter(text):
    return text if any(p in text for p in "wbc") else f"w*({text})"


FORMULAS = st.recursive(LEAVES, _grow, max_leaves=10).map(_with_a_parameter)
# 0, or at least 1e-6 in magnitude: XLA on a CPU flushes float32's subnormals to zero where an
# eager op may not, so a point near float32's smallest normal (hypothesis found w = 1.18e-38)
# tests that flush, not the chain rule (DEVELOPERS.md, "Subnormals").
NUMBERS = st.floats(-2, 2, width=32).filter(lambda v: v == 0 or abs(v) >= 1e-6)

TORCH_OPS = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
             "div": lambda a, b: a / b, "neg": lambda a: -a, "pow": lambda a, p: a**p,
             "exp": torch.exp, "log": torch.log, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
             "relu": torch.relu}


def torch_twin(m, params, x, y):
    """PyTorch autograd on the same parsed tree, float64: (loss, grads, [(value, dloss/dnode)]
    for every node, relu arguments)."""
    leaves = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True)
              for k, v in params.items()}
    env = {"x": torch.tensor(x, dtype=torch.float64), **leaves}
    order = formula.tree(m.name)[1]
    values = symbolic.evaluate(order, env, TORCH_OPS)
    for v in values:
        if isinstance(v, torch.Tensor) and v.requires_grad and not v.is_leaf:
            v.retain_grad()
    loss = (values[-1] - y) ** 2
    loss.backward()
    nodes = [(float(v.detach()), 0.0 if v.grad is None else float(v.grad)) for v in values
             if isinstance(v, torch.Tensor) and v.requires_grad]
    kinks = [float(values[order.index(a)].detach()) for n in order if n.op == "relu" for a in n.args
             if isinstance(values[order.index(a)], torch.Tensor)]
    return float(loss.detach()), {k: float(t.grad) for k, t in leaves.items()}, nodes, kinks


@settings(max_examples=EXAMPLES, deadline=None)
@given(FORMULAS, NUMBERS, NUMBERS, st.lists(NUMBERS, min_size=3, max_size=3))
# w reaches the loss three ways here: JAX adds tanh's two terms one at a time (found by hypothesis)
@example("tanh(tanh(log(1 + ((w)/(2 + tanh(w)))**2)))", 0.0, 1.0, [1.75, 0.0, 0.0])
@example("w/w + w", 0.5, 1.0, [0.3, 0.0, 0.0])  # div's second input joins first, as in JAX
def test_chain_rule_jax_grad_symbolic_and_torch_agree(text, x, y, values):
    m = formula.parse(text)
    params = dict(zip(m.params, values))
    loss64, want, nodes, kinks = torch_twin(m, params, x, y)
    assume(np.isfinite(loss64) and abs(loss64) < 1e6)
    assume(all(np.isfinite(v) and np.isfinite(g) for v, g in nodes))
    assume(all(abs(k) > 1e-3 for k in kinks))  # float32 and float64 on one side of the kink
    # no value or gradient below float32's normal range: XLA flushes those to zero on a CPU
    assume(all(q == 0 or abs(q) > 1e-30 for v, g in nodes for q in (v, g)))
    scale = 1 + max((abs(v) * (1 + abs(g)) for v, g in nodes), default=0)

    # the symbolic closed form against torch autograd, both float64
    closed = m.closed_form({k: np.float64(v) for k, v in params.items()}, np.float64(x),
                           np.float64(y))  # JAX ops on float64 NumPy values: float32 (no x64)
    with np.errstate(all="ignore"):
        symbolic64 = m.closed_form({k: np.float64(v) for k, v in params.items()},
                                   np.float64(x), np.float64(y), ops=symbolic.NUMPY_OPS)
    for k in m.params:
        assert abs(symbolic64[k] - want[k]) <= 1e-9 * scale, (k, symbolic64[k], want[k])

    # the walk and jax.grad, float32, bit for bit; and within float32's reach of the truth
    p32 = {k: np.float32(v) for k, v in params.items()}
    loss, walked = grads.loss_and_grad(m, "chain_rule")(p32, np.float32(x), np.float32(y))
    loss_ad, auto = grads.loss_and_grad(m, "autodiff")(p32, np.float32(x), np.float32(y))
    assert np.array_equal(loss, loss_ad, equal_nan=True)
    for k in m.params:
        assert np.array_equal(walked[k], auto[k], equal_nan=True), (k, walked[k], auto[k])
        assert abs(float(walked[k]) - want[k]) <= 1e-3 * scale, (k, walked[k], want[k])
        assert abs(float(closed[k]) - want[k]) <= 1e-3 * scale, (k, closed[k], want[k])


@settings(max_examples=100, deadline=None)
@given(FORMULAS)
def test_a_drawn_formula_parses_back_from_its_name(text):
    m = formula.parse(text)
    assert formula.parse(m.name) is m and m.formula == f"y_hat = {m.name}"
    assert set(m.params) <= {"w", "b", "c"} and m.params


@settings(max_examples=100, deadline=None)
@given(FORMULAS)
@example("(x + w)**0.5*2 - 1")
@example("-(x*w)/-2 - (b - x)**3")
def test_each_nodes_expression_of_its_inputs_is_its_own_formula(text):
    # a node's expression (the graph's labels, the page's) brackets by precedence and writes a
    # constant as its number: written out, it is the node's own canonical text, which parses
    # back to the same tree
    # (a part of numbers alone, exp(0.5), is one constant in the graph: there its value)
    m = formula.parse(text)
    parts, todo = {}, [m.expression]
    while todo:
        e = todo.pop()
        parts[e.text] = e
        todo += e.args

    def numbers_alone(e):
        return e.op != "var" and all(numbers_alone(a) for a in e.args)

    one = np.float32(1)
    with np.errstate(all="ignore"):
        walk = cr.walk(m.loss, dict.fromkeys(m.params, one), one, one)
    for n in walk.graph.nodes:
        own = m.name if n.name == "y_hat" else n.name
        if n.is_leaf or n.name in ("s", "loss") or any(
                numbers_alone(a) and a.op != "num" for a in parts[own].args):
            continue
        written = cr.expression(n).replace(" * ", "*").replace(" / ", "/").replace("^", "**")
        assert written == own, n


@pytest.mark.parametrize("text", ["x*w", "x*w + b", "(x + x**2)*w - b/3", "w*exp(x) + c*x"])
def test_features_are_the_symbolic_derivatives_of_a_linear_formula(text):
    m = formula.parse(text)
    x = np.array([-1.5, 0.0, 0.5, 2.0])
    rng = np.random.default_rng(0)
    params = dict(zip(m.params, rng.normal(size=len(m.params))))
    y_hat = symbolic.evaluate([m.expression], {"x": x, **params}, symbolic.NUMPY_OPS)[0]
    np.testing.assert_allclose(sum(params[p] * f for p, f in zip(m.params, m.features(x))),
                               y_hat, rtol=1e-12, atol=1e-12)
