"""lec4_jax.chain_rule: handwritten VJP rules, the recorded graph, and the backward walk."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lec4_jax import chain_rule as cr
from lec4_jax import model

small = st.floats(-100, 100, allow_nan=False, width=32)
positive = st.floats(0.125, 10, width=32)


def lecture_loss(params, x, y):
    return model.loss(params["w"], x, y)


def test_worked_example_node_by_node():
    # The lecture at x=1, w=1, y=2: loss 1, dloss/ds = -2, dloss/dy_hat = -2, dloss/dw = -2.
    walk = cr.walk(lecture_loss, {"w": 1.0}, 1.0, 2.0)
    assert walk.value("y_hat") == 1.0 and walk.value("s") == -1.0 and walk.value("loss") == 1.0
    assert walk.grad("loss") == 1.0
    assert walk.grad("s") == -2.0
    assert walk.grad("y_hat") == -2.0
    assert walk.grad("w") == -2.0


def test_graph_is_the_lectures():
    walk = cr.walk(lecture_loss, {"w": 1.0}, 1.0, 2.0)
    ops = [(n.name, None if n.is_leaf else n.primitive.name, [i.name for i in n.inputs])
           for n in walk.graph.nodes]
    assert ops == [("x", None, []), ("y", None, []), ("w", None, []),
                   ("y_hat", "mul", ["x", "w"]), ("s", "sub", ["y_hat", "y"]),
                   ("loss", "square", ["s"])]


def test_local_gradients_are_the_vjp_of_a_unit_cotangent():
    walk = cr.walk(lecture_loss, {"w": 1.0}, 3.0, 2.0)
    assert cr.local_grads(walk.node("y_hat")) == (1.0, 3.0)  # d(xw)/dx = w, d(xw)/dw = x
    assert cr.local_grads(walk.node("s")) == (1.0, -1.0)
    assert cr.local_grads(walk.node("loss")) == (2.0,)  # 2s at s = 1


BINARY = {"add": (cr.add, jnp.add), "sub": (cr.sub, jnp.subtract), "mul": (cr.mul, jnp.multiply)}


@pytest.mark.parametrize("name", BINARY)
@given(a=small, b=small, ct=small)
def test_binary_vjp_rules_match_jax_vjp(name, a, b, ct):
    # Bit-exact: each rule is one multiply (or none), as is JAX's.
    ours, theirs = BINARY[name]
    primitive = {"add": cr.ADD, "sub": cr.SUB, "mul": cr.MUL}[name]
    a, b, ct = jnp.float32(a), jnp.float32(b), jnp.float32(ct)
    _, vjp = jax.vjp(theirs, a, b)
    assert primitive.vjp(ct, a, b) == vjp(ct)
    assert ours(a, b) == theirs(a, b)


@given(a=small, ct=small)
def test_unary_vjp_rules_match_jax_vjp(a, ct):
    a, ct = jnp.float32(a), jnp.float32(ct)
    assert cr.NEG.vjp(ct, a) == jax.vjp(jnp.negative, a)[1](ct)
    assert cr.SQUARE.vjp(ct, a) == jax.vjp(lambda v: v**2, a)[1](ct)


@pytest.mark.parametrize("exponent", [2, 3, 0.5, -1.5])
@given(a=positive, ct=small)
def test_pow_vjp_matches_jax_vjp(exponent, a, ct):
    # rtol 1e-6: a ** (p - 1) may round differently from JAX's own pow rule for non-integer p.
    a, ct = jnp.float32(a), jnp.float32(ct)
    (ours,) = cr.POW.vjp(ct, a, exponent=exponent)
    (theirs,) = jax.vjp(lambda v: v**exponent, a)[1](ct)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_vjp_unbroadcasts_to_each_input():
    a, b = jnp.ones(3), jnp.float32(2.0)
    ct = jnp.array([1.0, 2.0, 3.0])
    da, db = cr.MUL.vjp(ct, a, b)
    assert da.shape == (3,) and db.shape == () and db == 6.0


def test_fan_out_adds_up_cotangents():
    # (y_pred - y) * (y_pred - y): y_pred feeds two sub nodes; its gradient is the sum, 2s.
    walk = cr.walk(lambda p, x, y: model.loss_fan_out(p["w"], x, y), {"w": 1.0}, 1.0, 2.0)
    assert walk.grad("y_hat") == -2.0
    assert walk.grad("w") == -2.0
    assert walk.value("loss") == 1.0


@given(w=small, x=small, y=small)
def test_fan_out_form_equals_jax_grad(w, x, y):
    # Bit-exact: s + s and 2 * s round the same way.
    w, x, y = (jnp.float32(v) for v in (w, x, y))
    _, grads = cr.param_grads(lambda p, x, y: model.loss_fan_out(p["w"], x, y), {"w": w}, x, y)
    assert grads["w"] == jax.grad(model.loss)(w, x, y)


def test_backward_is_plain_jax_it_jits_and_vmaps():
    def grad_w(w, x, y):
        return cr.param_grads(lecture_loss, {"w": w}, x, y)[1]["w"]

    x = jnp.arange(5.0)
    got = jax.jit(jax.vmap(grad_w, in_axes=(None, 0, 0)))(1.5, x, 2 * x)
    want = jax.vmap(jax.grad(model.loss), in_axes=(None, 0, 0))(1.5, x, 2 * x)
    np.testing.assert_array_equal(got, want)


@given(w=small, x=small, y=small)
def test_grad_of_the_handwritten_gradient_is_the_true_second_derivative(w, x, y):
    # d2L/dw2 = 2x^2. Exact: both sides compute 2 * x * x-like products from the same values.
    def grad_w(w):
        return cr.param_grads(lecture_loss, {"w": w}, jnp.float32(x), jnp.float32(y))[1]["w"]

    w = jnp.float32(w)
    assert jax.grad(grad_w)(w) == jax.hessian(model.loss)(w, jnp.float32(x), jnp.float32(y))


def test_backward_twice_gives_the_same_result():
    graph = cr.Graph()
    x, y, w = graph.leaf(3.0, "x"), graph.leaf(2.0, "y"), graph.leaf(1.0, "w")
    out = model.loss(w, x, y)
    first = cr.backward(graph, out).grads
    second = cr.backward(graph, out).grads
    assert [float(g) for g in first] == [float(g) for g in second]


@given(w=small, x=small, y=small)
def test_custom_vjp_runs_our_rules_and_matches_jax_grad(w, x, y):
    w, x, y = (jnp.float32(v) for v in (w, x, y))
    loss = cr.custom_vjp(lecture_loss)
    got = jax.grad(loss, argnums=(0, 1, 2))({"w": w}, x, y)
    want = jax.grad(model.loss, argnums=(0, 1, 2))(w, x, y)
    assert (got[0]["w"], got[1], got[2]) == want


def test_custom_vjp_really_uses_the_handwritten_rules(monkeypatch):
    # Break our mul rule: jax.grad of the custom_vjp loss must change, plain jax.grad must not.
    broken = cr.Primitive("mul", "*", cr.MUL.apply, lambda ct, a, b: (ct * 0, ct * 0))
    loss = cr.custom_vjp(lecture_loss)
    before = jax.grad(loss)({"w": 1.0}, 1.0, 2.0)["w"]
    monkeypatch.setattr(cr, "MUL", broken)
    assert before == -2.0 and jax.grad(loss)({"w": 1.0}, 1.0, 2.0)["w"] == 0.0


def test_deep_graph_walks_iteratively():
    # 20,000 chained nodes: a recursive walk would pass Python's recursion limit (1000).
    graph = cr.Graph()
    v = w = graph.leaf(jnp.float32(1.0), "w")
    for _ in range(20_000):
        v = v + w
    walk = cr.backward(graph, v)
    assert len(graph.nodes) == 20_001
    assert walk.grad("w") == 20_001.0  # v = 20001 * w


def test_unreached_nodes_have_zero_gradient():
    walk = cr.walk(lambda p, x, y: cr.square(p["w"] - y), {"w": 2.0}, 5.0, 1.0)
    assert walk.grad("x") == 0.0 and walk.grads[0] is None


def test_operators_on_nodes_record_the_same_graph():
    walk = cr.walk(lambda p, x, y: -(x * p["w"] - y) ** 2 + 1.0, {"w": 1.0}, 1.0, 2.0)
    assert [n.primitive.name for n in walk.graph.nodes if not n.is_leaf] == [
        "mul", "sub", "pow", "neg", "add"]
    assert walk.grad("w") == 2.0  # the negated lecture gradient


# --- random graphs: any program over the engine's ops differentiates like jax.grad ----------

OPS = {
    "add": lambda a, b: cr.add(a, b),
    "sub": lambda a, b: cr.sub(a, b),
    "mul": lambda a, b: cr.mul(a, b),
    "neg": lambda a, b: cr.neg(a),
    "square": lambda a, b: cr.square(a),
    "cube": lambda a, b: cr.power(a, 3),
}


@st.composite
def programs(draw):
    """A random graph: each op reads any two earlier values, so values fan out freely."""
    n_ops = draw(st.integers(1, 12))
    steps = []
    for k in range(n_ops):
        available = 3 + k  # three inputs, then one value per op so far
        steps.append((draw(st.sampled_from(sorted(OPS))),
                      draw(st.integers(0, available - 1)), draw(st.integers(0, available - 1))))
    inputs = draw(st.lists(st.floats(-1.5, 1.5, allow_nan=False), min_size=3, max_size=3))
    return steps, inputs


def run_program(steps, a, b, c):
    values = [a, b, c]
    for op, i, j in steps:
        values.append(OPS[op](values[i], values[j]))
    return values[-1]


@given(programs())
def test_random_graphs_match_jax_grad(program):
    # float64, rtol 1e-9: the engine may add a fanned-out value's contributions in another
    # order than JAX does, so the sums can differ in the last bits.
    steps, inputs = program

    def loss(params, x, y):
        return run_program(steps, params["a"], x, y)

    with jax.enable_x64(True):
        a, x, y = (jnp.float64(v) for v in inputs)
        result = cr.walk(loss, {"a": a}, x, y)
        want = jax.grad(lambda a, x, y: run_program(steps, a, x, y), argnums=(0, 1, 2))(a, x, y)
        got = (result.grad("a"), result.grad("x"), result.grad("y"))
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


# --- every model: three methods, custom_vjp, second derivatives ------------------------------

MODEL_PARAMS = {"linear": ("w",), "affine": ("w", "b"), "quadratic": ("w2", "w1", "b")}


@st.composite
def model_inputs(draw, name):
    params = {k: jnp.float32(draw(small)) for k in MODEL_PARAMS[name]}
    return params, jnp.float32(draw(small)), jnp.float32(draw(small))


@pytest.mark.parametrize("name", list(MODEL_PARAMS))
def test_models_three_methods_agree_bit_for_bit(name):
    # Exact: the closed forms are written to round as the chain rule does (2s, then times x).
    from lec4_jax import grads

    @given(model_inputs(name))
    def check(args):
        want = grads.loss_and_grad(name, "autodiff")(*args)
        assert grads.loss_and_grad(name, "chain_rule")(*args) == want
        assert grads.loss_and_grad(name, "closed_form")(*args) == want

    check()


@pytest.mark.parametrize("name", list(MODEL_PARAMS))
def test_models_custom_vjp_matches_jax_grad_and_second_derivatives(name):
    m = model.get(name)
    params = {k: jnp.float32(v) for k, v in zip(m.params, (0.7, -0.4, 1.3))}
    x, y = jnp.float32(1.5), jnp.float32(2.5)
    # custom_vjp: jax.grad runs our rules; exact, the same roundings as JAX's own rules
    assert jax.grad(cr.custom_vjp(m.loss))(params, x, y) == jax.grad(m.loss)(params, x, y)

    # the Hessian of the loss, by differentiating our handwritten gradient (rtol 1e-6: float32)
    def handwritten(p):
        return cr.param_grads(m.loss, p, x, y)[1]

    got = jax.jacfwd(handwritten)(params)
    want = jax.hessian(m.loss)(params, x, y)
    for i in m.params:
        for j in m.params:
            np.testing.assert_allclose(got[i][j], want[i][j], rtol=1e-6)


@pytest.mark.parametrize("op", ["add", "sub", "mul"])
def test_reflected_operators_put_the_constant_first(op):
    # 3 + w, 3 - w, 3 * w with w a node call __radd__, __rsub__, __rmul__: the constant is the
    # left operand, so value and gradient are those of jax on the same expression (bit-exact:
    # the same one op each way). 3 - w differs from w - 3 in both.
    reflected = {"add": lambda c, w: c + w, "sub": lambda c, w: c - w, "mul": lambda c, w: c * w}
    f = reflected[op]
    walk = cr.walk(lambda p, x, y: cr.square(f(3.0, p["w"])), {"w": jnp.float32(1.25)}, 0.0, 0.0)
    value, grad = jax.value_and_grad(lambda w: f(3.0, w) ** 2)(jnp.float32(1.25))
    assert (walk.output.value, walk.grad("w")) == (value, grad)
    node = walk.graph.nodes[-2]
    assert node.primitive.name == op and [i.name for i in node.inputs] == ["const", "w"]


def test_cotangents_sum_back_over_size_one_and_missing_axes():
    # w (1, 3), x (4, 1) and y (3,) broadcast to (4, 3): each input's gradient sums the
    # cotangent over the axes it was stretched along, keeping its own shape. Small integers
    # everywhere, so every product and sum is exact in float32: equal to jax.vjp's, bit for bit.
    w, x = jnp.float32([[1, -2, 3]]), jnp.float32([[2], [-1], [0], [3]])
    y, ct = jnp.float32([1, 0, -1]), jnp.float32(np.arange(12).reshape(4, 3) % 5 - 2)
    loss = lambda p, x, y: cr.square(x * p["w"] - y)  # noqa: E731
    walk = cr.walk(loss, {"w": w}, x, y, ct)
    _, vjp = jax.vjp(lambda w, x, y: (x * w - y) ** 2, w, x, y)
    for name, want in zip(("w", "x", "y"), vjp(ct)):
        assert walk.grad(name).shape == want.shape
        np.testing.assert_array_equal(walk.grad(name), want)


def test_a_node_names_itself_and_its_op():
    walk = cr.walk(lambda p, x, y: model.loss(p["w"], x, y), {"w": 1.0}, 1.0, 2.0)
    assert repr(walk.node("y_hat")) == "Node('y_hat', mul)"
    assert repr(walk.node("w")) == "Node('w', leaf)"


def test_a_name_that_is_not_exactly_one_node_is_refused():
    walk = cr.walk(lambda p, x, y: model.loss(p["w"], x, y), {"w": 1.0}, 1.0, 2.0)
    with pytest.raises(KeyError, match="0 nodes are named 'nope'"):
        walk.node("nope")
    twice = cr.walk(lambda p, x, y: cr.mul(p["w"], x, name="v") * cr.mul(p["w"], y, name="v"),
                    {"w": 1.0}, 2.0, 3.0)
    with pytest.raises(KeyError, match="2 nodes are named 'v'"):
        twice.node("v")


def test_node_grads_is_the_lectures_walk_as_a_dict():
    """Bit-exact: the walk-through's numbers at x=1, w=1, y=2 (a constant node left out)."""
    walk = cr.walk(lambda p, x, y: 3.0 * model.loss(p["w"], x, y), {"w": 1.0}, 1.0, 2.0)
    grads = {k: float(v) for k, v in walk.node_grads().items()}
    assert grads.pop("v7") == 1.0  # the output, 3 * loss (node 6 is the constant 3)
    assert grads == {"x": -6.0, "y": 6.0, "w": -6.0, "y_hat": -6.0, "s": -6.0, "loss": 3.0}


def test_a_loss_that_bypasses_the_engine_is_refused():
    with pytest.raises(TypeError, match="does not depend on its inputs"):
        cr.walk(lambda p, x, y: 1.0, {"w": 1.0}, 1.0, 2.0)


# Mutation testing (tools/mutate.py): tests that kill its survivors.

@pytest.mark.parametrize("shape_a, shape_b", [
    ((3, 1), (3, 4)), ((1, 4), (3, 4)), ((4,), (3, 4)), ((1, 1), (3, 4)), ((3, 4), (1,)),
    ((2, 1, 4), (3, 1)), ((2, 1), (2, 2)), ((), (2, 3)), ((1,), (0,))])
def test_binary_vjp_rules_unbroadcast_size_1_axes_as_jax_does(shape_a, shape_b):
    # Broadcasting against size-1 axes (kept, with keepdims) and against missing leading axes.
    rng = np.random.default_rng(0)
    a = jnp.float32(rng.uniform(1, 2, shape_a))
    b = jnp.float32(rng.uniform(1, 2, shape_b))
    for p in (cr.ADD, cr.SUB, cr.MUL):
        out, vjp = jax.vjp(p.apply, a, b)
        ct = jnp.float32(rng.uniform(-1, 1, out.shape))
        for ours, theirs in zip(p.vjp(ct, a, b), vjp(ct)):
            assert ours.shape == theirs.shape, p.name
            np.testing.assert_allclose(ours, theirs, rtol=1e-6, err_msg=p.name)


def test_primitives_cannot_be_changed_in_place():
    import dataclasses

    with pytest.raises(dataclasses.FrozenInstanceError):
        cr.ADD.name = "sub"


def test_node_grads_and_reprs_of_the_lectures_walk():
    walk = cr.walk(lecture_loss, {"w": 1.0}, 1.0, 2.0)
    grads = walk.node_grads()
    assert set(grads) == {"x", "y", "w", "y_hat", "s", "loss"}
    assert grads["w"] == -2.0 and grads["loss"] == 1.0
    assert repr(walk.node("w")) == "Node('w', leaf)"
    assert repr(walk.node("loss")) == "Node('loss', square)"
    # a constant operand is a leaf named "const", left out of node_grads
    w2 = cr.walk(lambda p, x, y: cr.mul(p["w"], 3.0, name="out"), {"w": 1.0}, 1.0, 2.0)
    assert set(w2.node_grads()) == {"x", "y", "w", "out"}
    assert w2.node_grads()["w"] == 3.0


def test_the_square_is_each_number_kinds_own():
    # A Python number's a * a (a plain float, as the tests' oracles compute); JAX's x^2 for JAX
    # and NumPy values, NumPy's float64 included (a subclass of float): the recorded program
    # holds integer_pow, the op jax.grad differentiates as JAX's own square.
    square = cr.SQUARE.apply
    assert type(square(3.0)) is float and square(3.0) == 9.0 and square(3) == 9
    for value in (np.float64(3.0), np.float32(3.0), np.array([3.0]), jnp.float32(3.0)):
        assert isinstance(square(value), jax.Array), type(value)
    assert "integer_pow" in str(jax.make_jaxpr(square)(np.float64(3.0)))


# The formula ops (lec4_jax.formula): each rule against JAX's own, bit for bit (the same
# multiplies in the same order; tanh's two terms summed as JAX sums them).

FUNCTION_OPS = {"exp": (cr.EXP, jnp.exp), "log": (cr.LOG, jnp.log), "tanh": (cr.TANH, jnp.tanh),
                "sigmoid": (cr.SIGMOID, jax.nn.sigmoid), "relu": (cr.RELU, jax.nn.relu)}


@pytest.mark.parametrize("name", FUNCTION_OPS)
@given(a=small, ct=small)
def test_function_vjp_rules_match_jax_vjp_bit_for_bit(name, a, ct):
    primitive, theirs = FUNCTION_OPS[name]
    a = jnp.float32(abs(a) + 0.5 if name == "log" else a)
    ct = jnp.float32(ct)
    out, vjp = jax.vjp(theirs, a)
    assert primitive.apply(a) == out and cr.FUNCTIONS[name] is primitive
    np.testing.assert_array_equal(primitive.vjp(ct, a), vjp(ct))  # nan where e^89 * 0


@given(a=small, b=positive, ct=small)
def test_div_vjp_matches_jax_vjp_bit_for_bit(a, b, ct):
    a, b, ct = jnp.float32(a), jnp.float32(b), jnp.float32(ct)
    out, vjp = jax.vjp(jnp.divide, a, b)
    assert cr.DIV.apply(a, b) == out and cr.DIV.vjp(ct, a, b) == vjp(ct)


def test_relu_passes_nothing_at_and_below_zero():
    for a in (-1.0, 0.0):
        assert cr.RELU.vjp(jnp.float32(5.0), jnp.float32(a)) == (0.0,)
    assert cr.RELU.vjp(jnp.float32(5.0), jnp.float32(1e-30)) == (5.0,)


def test_integer_powers_are_jaxs_integer_pow_on_numpy_values_too():
    # the walk's NumPy values and jax.grad's tracers: the same op, so x**3 rounds alike
    assert "integer_pow" in str(jax.make_jaxpr(lambda v: cr.POW.apply(v, exponent=3))(1.0))
    value = np.float32(1.1)
    assert cr.POW.apply(value, exponent=3) == jax.lax.integer_pow(jnp.float32(1.1), 3)
    assert cr.POW.apply(2.0, exponent=3) == 8.0 and type(cr.POW.apply(2.0, exponent=3)) is float


def test_the_formula_ops_record_nodes_and_run_on_torch_tensors():
    torch = pytest.importorskip("torch")
    t = torch.tensor([0.5])
    for name, (primitive, _) in FUNCTION_OPS.items():
        assert torch.equal(primitive.apply(t), getattr(torch, name)(t)), name
    walk = cr.walk(lambda p, x, y: cr.tanh(cr.exp(p["w"]) / x, name="out"), {"w": 0.0}, 2.0, 0.0)
    assert [cr.expression(n) for n in walk.graph.nodes] == [
        "x", "y", "w", "exp(w)", "v3 / x", "tanh(v4)"]  # unnamed nodes: v<index>
    assert float(walk.grad("w")) == pytest.approx((1 - np.tanh(0.5) ** 2) / 2, rel=1e-6)
