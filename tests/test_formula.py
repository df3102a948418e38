"""lec4_jax.formula: a teacher's formula as a Model, walked by the handwritten chain rule.

Gradients here are compared bit for bit where the claim is that the same eager float32 ops run
(the walk against jax.grad: each new rule rounds as JAX's own does), and against hand-worked
numbers where those are exact in float32 (small dyadic values).
"""

import subprocess
import sys

import jax
import numpy as np
import pytest

from lec4_jax import chain_rule as cr
from lec4_jax import formula, grads, model, walkthrough
from lec4_jax.tool.data import InputError


def test_the_issues_example_x_w_w_plus_b_by_the_chain_rule_and_jax_grad():
    # y_hat = x w^2 + b = 2*2.25 + 0.5 = 5, s = 2: dL/dw = 2 s * 2xw = 4*6 = 24, dL/db = 2s = 4
    m = model.get("x*w*w + b")
    params = {"w": np.float32(1.5), "b": np.float32(0.5)}
    x, y = np.float32(2.0), np.float32(3.0)
    for method in grads.METHODS:
        loss, g = grads.loss_and_grad(m, method)(params, x, y)
        assert (float(loss), float(g["w"]), float(g["b"])) == (4.0, 24.0, 4.0), method
    walk = walkthrough.explain(walkthrough.Example.of(m, {"w": 1.5, "b": 0.5}, 2.0, 3.0))
    assert walkthrough.check_against_jax(m, walk) == (
        "dloss/dw = 24.0, dloss/db = 4.0  (jax.grad agrees)")


def test_reused_w_fans_out_and_the_walk_adds_up_its_two_gradients():
    m = model.get("x*w*w + b")
    walk = cr.walk(m.loss, {"w": np.float32(1.5), "b": np.float32(0.5)}, np.float32(2.0),
                   np.float32(3.0))
    w = walk.node("w")
    into_w = [walk.passed[n.index][k] for n in walk.graph.nodes for k, i in enumerate(n.inputs)
              if i is w]
    assert [float(c) for c in into_w] == [12.0, 12.0]  # through x*w and through (x*w)*w
    assert float(walk.grad("w")) == 24.0


def test_a_repeated_sub_expression_is_one_node_whose_gradients_add_up():
    # (x*w - 1)*(x*w - 1): the lecture's (y_pred - y) * (y_pred - y), inside the prediction
    m = model.get("(x*w - 1)*(x*w - 1)")
    walk = cr.walk(m.loss, {"w": np.float32(2.0)}, np.float32(1.0), np.float32(0.0))
    names = [n.name for n in walk.graph.nodes]
    assert names == ["x", "y", "w", "x*w", "const", "x*w - 1", "y_hat", "s", "loss"]
    # y_hat = 1, s = 1, dL/dy_hat = 2; dy_hat/d(x*w - 1) = 1 + 1 (two uses); dL/dw = 4 x = 4
    assert float(walk.grad("x*w - 1")) == 4.0 and float(walk.grad("w")) == 4.0


def test_each_node_is_named_by_its_own_sub_expression_and_the_formula_is_y_hat():
    m = model.get("sigmoid(x*w + b)")
    walk = cr.walk(m.loss, {"w": 1.0, "b": 0.0}, 1.0, 2.0)
    assert [(n.name, cr.expression(n)) for n in walk.graph.nodes if not n.is_leaf] == [
        ("x*w", "x * w"), ("x*w + b", "x*w + b"), ("y_hat", "sigmoid(x*w + b)"),
        ("s", "y_hat - y"), ("loss", "s^2")]
    assert [n.primitive.name for n in walk.graph.nodes if not n.is_leaf] == [
        "mul", "add", "sigmoid", "sub", "square"]


@pytest.mark.parametrize("text, name", [
    ("x * w**2 + b", "x*w**2 + b"), ("x*(w*w)", "x*(w*w)"), ("(x*w)*w", "x*w*w"),
    ("a - (b - x)", "a - (b - x)"), ("(a - b) - x", "a - b - x"), ("x/(a*b)", "x/(a*b)"),
    ("-(x*w)", "-(x*w)"), ("(-w)**2", "(-w)**2"), ("-w**2", "-w**2"), ("- - w", "-(-w)"),
    ("(w**2)**3", "(w**2)**3"), ("w**-1", "w**-1"), ("w ** 0.5", "w**0.5"),
    ("(-2)**2*w", "(-2)**2*w"), ("x*-2 + w", "x*-2 + w"), ("+w*x", "w*x"), ("2.0*w", "2*w"),
    ("1e-5*w", "1e-05*w"), ("-(-2)*w", "2*w"), ("x*w - -x", "x*w - -x"),
    ("tanh(x)*w", "tanh(x)*w"), ("(\n x*w\n)", "x*w"),
])
def test_the_normalised_name_parses_back_to_itself(text, name):
    m = formula.parse(text)
    assert (m.name, m.formula) == (name, f"y_hat = {name}")
    assert formula.parse(name) is m  # the same formula, written otherwise: the same object


def test_parameters_in_order_of_first_appearance_defaults_one():
    m = formula.parse("b + x*w + w*c")
    assert m.params == ("b", "w", "c") and m.defaults == {"b": 1.0, "w": 1.0, "c": 1.0}
    assert m.expression.text == m.name and model.LINEAR.expression is None


def test_the_example_is_a_point_where_every_gradient_is_nonzero():
    for text in ("x*w", "x*w*w + b", "relu(x*w - 2)", "sigmoid(x*w + b)", "tanh(x - w)*c"):
        m = formula.parse(text)
        x, y, params = m.example
        _, g = grads.loss_and_grad(m, "autodiff")(params, x, y)
        assert all(float(v) != 0 for v in g.values()), text
    assert formula.parse("x*w").example == (1.0, 2.0, {"w": 1.0})  # the lecture's
    text = formula.sample(1900)  # too large to look: the defaults at x=1, y=2
    _, order, params = formula.tree(text)
    from lec4_jax import symbolic

    assert len(order) * (len(params) + 1) > symbolic._CHEAP
    big = formula.parse(text)
    assert big.example == (1.0, 2.0, big.defaults)


def test_linear_in_the_parameters_gives_least_squares_features():
    x = np.array([-1.0, 0.5, 2.0, 3.0])
    m = formula.parse("(x + x**2)*w + b/2")
    cols = m.features(x)
    np.testing.assert_array_equal(cols[0], x + x**2)
    np.testing.assert_array_equal(cols[1], np.full_like(x, 0.5))
    fit = model.least_squares(m, x, 3 * (x + x**2) + 0.25)
    np.testing.assert_allclose([fit["w"], fit["b"]], [3.0, 0.5], atol=1e-12)
    for text in ("x*w + 1", "x*w**2", "sigmoid(x*w)", "w*b*x", "x/w", "exp(w)*x"):
        assert formula.parse(text).features is None, text
    for text in ("-x*w", "x*w/3 - b", "w*exp(x) + c*tanh(x)"):
        assert formula.parse(text).features is not None, text


def test_closed_form_is_the_symbolic_derivative_of_each_op():
    # d/dw at w = 0.5, x = 1, y = 0 of each formula, against the derivative worked by hand
    # (float32 closed form against float64 numbers: rtol 1e-6, a few float32 ulp)
    sig = 1 / (1 + np.exp(-0.5))
    cases = {"exp(x*w)": (np.exp(0.5), np.exp(0.5)), "log(x + w)": (np.log(1.5), 1 / 1.5),
             "tanh(w)": (np.tanh(0.5), 1 - np.tanh(0.5) ** 2), "sigmoid(w)": (sig, sig * (1 - sig)),
             "relu(w)": (0.5, 1.0), "relu(-w)": (0.0, 0.0), "x/w": (2.0, -4.0),
             "w**3": (0.125, 0.75), "w**0.5": (0.5**0.5, 0.5 * 0.5**-0.5), "-w": (-0.5, -1.0)}
    for text, (y_hat, dy_dw) in cases.items():
        g = formula.parse(text).closed_form({"w": 0.5}, 1.0, 0.0)["w"]
        np.testing.assert_allclose(float(g), 2 * y_hat * dy_dw, rtol=1e-6, err_msg=text)


def test_the_new_ops_walk_as_jax_grad_does_bit_for_bit():
    text = "exp(x*a)/(1 + b**2) - log(c*c + 1) + tanh(x - d)*sigmoid(e) + relu(x*f)**3"
    m = formula.parse(text)
    params = {p: np.float32(v) for p, v in zip(m.params, (0.3, -1.2, 0.7, 0.1, 2.5, 0.9))}
    x, y = np.float32(1.25), np.float32(-0.5)
    loss, walked = grads.loss_and_grad(m, "chain_rule")(params, x, y)
    want_loss, want = grads.loss_and_grad(m, "autodiff")(params, x, y)
    assert loss == want_loss
    for p in m.params:
        assert walked[p] == want[p], p


def test_relu_at_zero_passes_no_gradient_as_jax_and_torch_say():
    m = formula.parse("relu(x - w)")
    _, walked = grads.loss_and_grad(m, "chain_rule")({"w": 1.0}, 1.0, 2.0)
    _, want = grads.loss_and_grad(m, "autodiff")({"w": 1.0}, 1.0, 2.0)
    assert float(walked["w"]) == float(want["w"]) == 0.0


def test_a_formula_model_trains_jits_and_vmaps():
    m = formula.parse("x*w**2 + b")
    xs = jax.numpy.array([1.0, 2.0, 3.0])
    losses = jax.jit(jax.vmap(m.loss, in_axes=(None, 0, 0)))({"w": 1.0, "b": 0.0}, xs, 2 * xs)
    np.testing.assert_array_equal(losses, [1.0, 4.0, 9.0])
    step = jax.jit(grads.loss_and_grad(m, "chain_rule"))
    assert float(step({"w": 1.0, "b": 0.0}, 3.0, 6.0)[1]["b"]) == -6.0


def test_a_registry_name_imports_no_parser():
    code = ("import sys; from lec4_jax import model, grads; model.get('affine');"
            "print(sorted(m for m in sys.modules if m in ('lec4_jax.formula', "
            "'lec4_jax.symbolic', 'ast')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "lec4_jax.formula" not in out and "lec4_jax.symbolic" not in out


def test_get_refuses_a_mistyped_name_and_what_is_not_text():
    with pytest.raises(formula.FormulaError, match=r"unknown model 'linaer'; choose from "
                       r"\['affine', .*or write a formula in x") as e:
        model.get("linaer")
    assert e.value.field == "model" and isinstance(e.value, InputError)
    with pytest.raises(ValueError, match="unknown model 3"):
        model.get(3)


def test_a_1000_node_formula_parses_into_a_dag_no_larger_than_it():
    # the structure that keeps parsing linear (timed in scripts/bench.py, not here): one node
    # per distinct sub-expression, no recursion however long the sum
    text = formula.sample(1000)
    root, order, params = formula.tree(text)
    assert formula.size(text) >= 1000 and len(order) <= formula.size(text)
    assert order[-1] is root and len(params) == formula.MAX_PARAMS
    assert len(order) > 400  # the terms are distinct: only the leaves and x*x repeat
    long_sum = " + ".join(["x*w"] * 400)  # 1599 nodes as written, 399 adds deep
    assert len(formula.tree(long_sum)[1]) == 3 + 399  # x, w, x*w once, then the adds


def test_what_is_not_text_is_refused_and_the_cache_can_be_emptied():
    with pytest.raises(formula.FormulaError, match="a formula is text, not int"):
        formula.parse(3)
    with pytest.raises(formula.FormulaError, match="init is text") as e:
        formula.parse_init(1.0, "x*w")
    assert e.value.field == "init"
    m = formula.parse("x*w + c")
    formula._MODELS.cache_clear()
    assert formula.parse("x*w + c") is not m and repr(m.expression) == "Expr('x*w + c')"


def test_parse_init():
    m = formula.parse("x*w + b")
    assert formula.parse_init("w=1,b=0", m) == {"w": 1.0, "b": 0.0}
    assert formula.parse_init(" b = -2.5e-1 ", "x*w + b") == {"b": -0.25}
    assert formula.parse_init("", m) == {} and formula.parse_init("b=0", "affine") == {"b": 0.0}


def test_the_docstring_examples_run():
    import doctest

    from lec4_jax import grammar, symbolic

    for module in (formula, grammar, symbolic, model, cr):
        failed, tried = doctest.testmod(module)
        assert failed == 0 and (tried > 0 or module is cr), module.__name__


def test_a_formula_with_several_constants_walks_tables_and_draws():
    # every number is a leaf named "const": the table and the picture look nodes up by the node
    m = model.get("sigmoid(2*x*w - 1) + 0.5")
    example = walkthrough.Example.of(m, {"w": 1.0}, 1.0, 2.0)
    walk = walkthrough.explain(example)
    assert sum(n.name == "const" for n in walk.graph.nodes) == 3
    consts = [n for n in walk.graph.nodes if n.name == "const"]
    assert [float(walk.grad(n)) for n in consts] != [] and walk.value(consts[0]) == 2.0
    lines = walkthrough.table(walk, m.params)
    assert sum(line.startswith("const") for line in lines) == 6  # forward and backward
    assert walkthrough.dot(walk, m.params).count("dloss/dconst") == 3  # one label each
    with pytest.raises(KeyError, match="3 nodes are named 'const'"):
        walk.grad("const")
