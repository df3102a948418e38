"""The chain rule by hand: a small engine of handwritten VJP rules.

A model is ordinary Python over this module's ops (``mul``, ``sub``, ``square`` ...). Given plain
JAX values the ops just compute. Given :class:`Node` values they also record a graph, one node per
op, in the order the ops ran, which is a topological order. :func:`backward` then walks that list
in reverse, starting from cotangent 1 at the output. Each node's VJP rule maps the cotangent
arriving at the node (the *upstream* gradient, dL/dnode) to the cotangents it passes to its inputs,
and those are *added up* where a value feeds several nodes: the lecture's
``(y_pred - y) * (y_pred - y)`` reaches ``y_pred`` twice.

.. math::

    \\frac{\\partial L}{\\partial a} = \\sum_{n \\,:\\, a \\in \\mathrm{inputs}(n)}
        \\frac{\\partial L}{\\partial n} \\frac{\\partial n}{\\partial a}

The walk is a loop, not a recursion, so graphs of any depth work. All arithmetic is plain JAX:
the walk jits, vmaps and can be differentiated again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

Array = Any  # a JAX array, a tracer, or a Python/NumPy scalar


@dataclasses.dataclass(frozen=True)
class Primitive:
    """An op: how to compute it, and its VJP rule ``vjp(ct, *inputs, **params) -> input cts``.

    ``steps``, where given, is the same rule as the walk adds it up: ``[(input index, term),
    ...]`` in the order the terms join their input's gradient. JAX adds ``tanh``'s two terms
    one at a time and ``div``'s second input's before its first; a node fed by several others
    then sums in JAX's order, so the walk and ``jax.grad`` round alike.
    """

    name: str
    symbol: str
    apply: Callable[..., Array]
    vjp: Callable[..., tuple[Array, ...]]
    steps: Callable[..., list[tuple[int, Array]]] | None = None


def _totals(steps: list[tuple[int, Array]], n: int) -> tuple[Array, ...]:
    """Each input's cotangent: its terms of ``steps`` added up in order."""
    out: list[Array] = [None] * n
    for i, term in steps:
        out[i] = term if out[i] is None else out[i] + term
    return tuple(out)


def _sum_to(ct: Array, like: Array) -> Array:
    """Un-broadcasts a cotangent to the shape of the input it belongs to."""
    shape = jnp.shape(like)
    if jnp.shape(ct) == shape:
        return ct
    extra = jnp.ndim(ct) - len(shape)
    ct = jnp.sum(ct, axis=tuple(range(extra))) if extra else ct
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and jnp.shape(ct)[i] != 1)
    return jnp.sum(ct, axis=axes, keepdims=True) if axes else ct


def _add_vjp(ct, a, b):
    return _sum_to(ct, a), _sum_to(ct, b)  # d(a+b)/da = 1, d(a+b)/db = 1


def _sub_vjp(ct, a, b):
    return _sum_to(ct, a), _sum_to(-ct, b)  # d(a-b)/da = 1, d(a-b)/db = -1


def _mul_vjp(ct, a, b):
    return _sum_to(ct * b, a), _sum_to(ct * a, b)  # d(a*b)/da = b, d(a*b)/db = a


def _neg_vjp(ct, a):
    return (-ct,)  # d(-a)/da = -1


def _square_vjp(ct, a):
    return (ct * (2 * a),)  # d(a^2)/da = 2a


def _pow_vjp(ct, a, *, exponent):
    return (ct * (exponent * _pow(a, exponent=exponent - 1)),)  # d(a^p)/da = p a^(p-1)


# The rules of the formula ops (lec4_jax.formula). Each multiplies in the order jax.grad does
# (JAX's JVP rule, transposed), so the walk and jax.grad agree bit for bit on eager values.

def _div_steps(ct, a, b):
    # d(a/b)/da = 1/b, d(a/b)/db = -a/b^2 (as JAX rounds it: -((ct * b^-2) * a)); b's first
    return [(1, _sum_to(-(ct * _pow(b, exponent=-2) * a), b)), (0, _sum_to(ct / b, a))]


def _div_vjp(ct, a, b):
    return _totals(_div_steps(ct, a, b), 2)


def _exp_vjp(ct, a):
    return (ct * _exp(a),)  # d(e^a)/da = e^a


def _log_vjp(ct, a):
    return (ct / a,)  # d(log a)/da = 1/a


def _tanh_steps(ct, a):
    # d(tanh a)/da = 1 - tanh^2 a = (1 - t)(1 + t): the terms ct (1 - t) and ct (1 - t) t
    t = _tanh(a)
    c = ct * (1 - t)
    return [(0, c), (0, c * t)]


def _tanh_vjp(ct, a):
    return _totals(_tanh_steps(ct, a), 1)


def _sigmoid_vjp(ct, a):
    s = _sigmoid(a)
    return (ct * (s * (1 - s)),)  # d(sigmoid a)/da = sigmoid(a) (1 - sigmoid(a))


def _relu_vjp(ct, a):
    # d(relu a)/da = 1 where a > 0, else 0 (0 at a = 0, as jax.nn.relu and torch.relu say)
    return (jnp.where(jnp.asarray(a) > 0, ct, jnp.zeros_like(ct)),)


ADD = Primitive("add", "+", lambda a, b: a + b, _add_vjp)
SUB = Primitive("sub", "-", lambda a, b: a - b, _sub_vjp)
MUL = Primitive("mul", "*", lambda a, b: a * b, _mul_vjp)
NEG = Primitive("neg", "-", lambda a: -a, _neg_vjp)
def _square(a):
    """JAX's x^2 (NumPy numbers made JAX values first); a Python number's ``a * a`` (plain
    float64, as the tests' oracles compute); another array type's own ``** 2`` (torch's
    tensors: the parity tests run the models' ops in PyTorch)."""
    if isinstance(a, (int, float)) and not isinstance(a, np.generic):
        return a * a
    if isinstance(a, (jax.Array, np.ndarray, np.generic)):
        return lax.integer_pow(jnp.asarray(a), 2)
    return a ** 2


def _is_jax(a) -> bool:
    """A value JAX computes with (a JAX array or tracer, a NumPy value, a Python number); any
    other array type (torch's tensors) computes with its own methods."""
    return isinstance(a, (jax.Array, np.ndarray, np.generic, int, float))


def _pow(a, *, exponent):
    """``a ** exponent``: an integer exponent as JAX's ``integer_pow`` (repeated products, as
    ``x ** 3`` is in JAX), a Python number's own ``**``, another array type's own ``**``."""
    if isinstance(a, (int, float)) and not isinstance(a, np.generic):
        return a**exponent
    if isinstance(a, (jax.Array, np.ndarray, np.generic)):
        if float(exponent).is_integer():
            return lax.integer_pow(jnp.asarray(a), int(exponent))
        return jnp.asarray(a) ** exponent
    return a**exponent


def _unary(jax_fn: Callable, method: str) -> Callable:
    """An op that JAX computes with ``jax_fn``, and another array type with its own ``method``
    (``tensor.exp()``: the parity tests run a formula's ops in PyTorch)."""
    return lambda a: jax_fn(a) if _is_jax(a) else getattr(a, method)()


_exp = _unary(jnp.exp, "exp")
_log = _unary(jnp.log, "log")
_tanh = _unary(jnp.tanh, "tanh")
_sigmoid = _unary(jax.nn.sigmoid, "sigmoid")
_relu = _unary(jax.nn.relu, "relu")

SQUARE = Primitive("square", "^2", _square, _square_vjp)
POW = Primitive("pow", "^p", _pow, _pow_vjp)
def _div(a, b):
    """``a / b``; NumPy values divided as JAX does (the same IEEE quotient), so that 1/0 is inf
    without NumPy's warning."""
    if isinstance(a, (np.ndarray, np.generic)) or isinstance(b, (np.ndarray, np.generic)):
        return jnp.divide(a, b)
    return a / b


DIV = Primitive("div", "/", _div, _div_vjp, _div_steps)
EXP = Primitive("exp", "exp", _exp, _exp_vjp)
LOG = Primitive("log", "log", _log, _log_vjp)
TANH = Primitive("tanh", "tanh", _tanh, _tanh_vjp, _tanh_steps)
SIGMOID = Primitive("sigmoid", "sigmoid", _sigmoid, _sigmoid_vjp)
RELU = Primitive("relu", "relu", _relu, _relu_vjp)
FUNCTIONS = {p.name: p for p in (EXP, LOG, TANH, SIGMOID, RELU)}  # one input, written f(a)


class Node:
    """One value in a recorded graph: a leaf (an input) or the output of one op."""

    __slots__ = ("graph", "index", "name", "primitive", "inputs", "params", "value")

    def __init__(self, graph, index, name, primitive, inputs, params, value):
        self.graph, self.index, self.name = graph, index, name
        self.primitive, self.inputs, self.params, self.value = primitive, inputs, params, value

    @property
    def is_leaf(self) -> bool:
        return self.primitive is None

    def __repr__(self) -> str:
        op = "leaf" if self.is_leaf else self.primitive.name
        return f"Node({self.name!r}, {op})"

    __add__ = lambda self, other: add(self, other)  # noqa: E731
    __radd__ = lambda self, other: add(other, self)  # noqa: E731
    __sub__ = lambda self, other: sub(self, other)  # noqa: E731
    __rsub__ = lambda self, other: sub(other, self)  # noqa: E731
    __mul__ = lambda self, other: mul(self, other)  # noqa: E731
    __rmul__ = lambda self, other: mul(other, self)  # noqa: E731
    __neg__ = lambda self: neg(self)  # noqa: E731
    __pow__ = lambda self, exponent: power(self, exponent)  # noqa: E731
    __truediv__ = lambda self, other: div(self, other)  # noqa: E731
    __rtruediv__ = lambda self, other: div(other, self)  # noqa: E731


class Graph:
    """The nodes of one trace, in the order they were made (a topological order)."""

    def __init__(self) -> None:
        self.nodes: list[Node] = []

    def leaf(self, value: Array, name: str) -> Node:
        return self._add(name, None, (), {}, value)

    def record(self, primitive: Primitive, inputs, params, name: str | None) -> Node:
        value = primitive.apply(*(n.value for n in inputs), **params)
        return self._add(name, primitive, tuple(inputs), params, value)

    def _add(self, name, primitive, inputs, params, value) -> Node:
        node = Node(self, len(self.nodes), name or f"v{len(self.nodes)}", primitive, inputs,
                    params, value)
        self.nodes.append(node)
        return node


def _apply(primitive: Primitive, *args, name: str | None = None, **params):
    """Computes plainly, or records a node when any argument is a :class:`Node`."""
    graph = next((a.graph for a in args if isinstance(a, Node)), None)
    if graph is None:
        return primitive.apply(*args, **params)
    inputs = [a if isinstance(a, Node) else graph.leaf(a, "const") for a in args]
    return graph.record(primitive, inputs, params, name)


def add(a, b, *, name=None):
    return _apply(ADD, a, b, name=name)


def sub(a, b, *, name=None):
    return _apply(SUB, a, b, name=name)


def mul(a, b, *, name=None):
    return _apply(MUL, a, b, name=name)


def neg(a, *, name=None):
    return _apply(NEG, a, name=name)


def square(a, *, name=None):
    return _apply(SQUARE, a, name=name)


def power(a, exponent: float, *, name=None):
    """``a ** exponent`` for a constant exponent (the exponent is not differentiated)."""
    return _apply(POW, a, name=name, exponent=exponent)


def div(a, b, *, name=None):
    return _apply(DIV, a, b, name=name)


def exp(a, *, name=None):
    return _apply(EXP, a, name=name)


def log(a, *, name=None):
    return _apply(LOG, a, name=name)


def tanh(a, *, name=None):
    return _apply(TANH, a, name=name)


def sigmoid(a, *, name=None):
    return _apply(SIGMOID, a, name=name)


def relu(a, *, name=None):
    return _apply(RELU, a, name=name)


# How tightly a piece of text binds, loosest first: a node's expression here and a formula's
# canonical text (symbolic.py) put brackets by this one scale.
ADD_BINDS, MUL_BINDS, UNARY_BINDS, POW_BINDS, ATOM_BINDS = 1, 2, 3, 4, 5
_PRECEDENCE = {"add": ADD_BINDS, "sub": ADD_BINDS, "mul": MUL_BINDS, "div": MUL_BINDS,
               "neg": UNARY_BINDS, "square": POW_BINDS, "pow": POW_BINDS}


def fmt_number(value: float) -> str:
    """A number as a formula's text writes it: ``2``, ``0.5``, ``1e-07``."""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e16 else repr(value)


def precedence(node: Node) -> int:
    """``ATOM_BINDS`` for a node written as one piece (a name, ``exp(w)``, a number not below
    0), else its op's precedence (``x*w`` binds as a product)."""
    if node.name == "const":
        return UNARY_BINDS if float(np.asarray(node.value)) < 0 else ATOM_BINDS
    if node.is_leaf or node.name.isidentifier() or node.primitive.name in FUNCTIONS:
        return ATOM_BINDS
    return _PRECEDENCE[node.primitive.name]


def operands(node: Node) -> list[tuple[str, bool]]:
    """Each input as the node's expression writes it: its name (a constant, its number), and
    whether it is bracketed there.

    >>> def f(p, x, y):
    ...     root = power(add(x, p["w"], name="x + w"), 0.5, name="(x + w)**0.5")
    ...     return square(sub(mul(root, -2.0, name="(x + w)**0.5*-2"), y, name="y_hat"))
    >>> w = walk(f, {"w": 1.0}, 1.0, 2.0)
    >>> [operands(n) for n in w.graph.nodes if n.primitive in (POW, MUL)]
    [[('x + w', True)], [('(x + w)**0.5', False), ('-2', False)]]
    >>> [expression(n) for n in w.graph.nodes if n.primitive in (POW, MUL)]
    ['(x + w)^0.5', '(x + w)**0.5 * -2']
    """
    texts = [fmt_number(float(np.asarray(i.value))) if i.name == "const" else i.name
             for i in node.inputs]
    binds = [precedence(i) for i in node.inputs]
    if node.primitive.name in ("add", "sub", "mul", "div"):  # left to right, as Python reads
        p = _PRECEDENCE[node.primitive.name]
        wrap = [binds[0] < p, binds[1] <= p]
    elif node.primitive is NEG:
        wrap = [binds[0] <= UNARY_BINDS]
    elif node.primitive in (SQUARE, POW):
        wrap = [binds[0] <= POW_BINDS]
    else:
        wrap = [False]  # a function's argument has its own brackets
    return list(zip(texts, wrap))


def expression(node: Node) -> str:
    """The node as a formula of its inputs' names, e.g. ``y_hat - y``, ``exp(a)``, ``a^3``,
    ``(x + w)^0.5``: an input bracketed where its precedence needs it, a constant as its
    number."""
    if node.is_leaf:
        return node.name
    names = [f"({t})" if wrap else t for t, wrap in operands(node)]
    if node.primitive in (ADD, SUB, MUL, DIV):
        return f" {node.primitive.symbol} ".join(names)
    (operand,) = names  # the other ops have one input
    if node.primitive is NEG:
        return f"-{operand}"
    if node.primitive.name in FUNCTIONS:
        return f"{node.primitive.name}({operand})"
    exponent = 2 if node.primitive is SQUARE else node.params["exponent"]
    return f"{operand}^{exponent}"


@dataclasses.dataclass
class Walk:
    """A traced graph and its backward walk.

    ``grads[i]`` is dL/d(node i), the upstream gradient at that node (None where the output does
    not depend on it); ``passed[i]`` holds the cotangents node i passed to each of its inputs.
    """

    graph: Graph
    output: Node
    grads: list[Array | None]
    passed: list[tuple[Array, ...]]

    def node(self, name: str | Node) -> Node:
        """The node of that name (one only), or the node itself: constants all share the name
        ``const``, so a walk over every node passes the node."""
        if isinstance(name, Node):
            return name
        matches = [n for n in self.graph.nodes if n.name == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} nodes are named {name!r}")
        (match,) = matches
        return match

    def value(self, name: str | Node) -> Array:
        return self.node(name).value

    def grad(self, name: str | Node) -> Array:
        """dL/d(node), zero where the output does not depend on the node."""
        node = self.node(name)
        grad = self.grads[node.index]
        return jnp.zeros_like(node.value) if grad is None else grad

    def node_grads(self) -> dict[str, Array]:
        """dL/d(every named node), the lecture's walk-through as a dict."""
        return {n.name: self.grad(n.name) for n in self.graph.nodes if n.name != "const"}


def backward(graph: Graph, output: Node, cotangent: Array = None) -> Walk:
    """Walks ``graph`` in reverse, from ``cotangent`` (default 1) at ``output``."""
    grads: list[Array | None] = [None] * len(graph.nodes)
    passed: list[tuple[Array, ...]] = [()] * len(graph.nodes)
    grads[output.index] = jnp.ones_like(output.value) if cotangent is None else cotangent
    # equivalent mutant (NumberReplacer+1): a node recorded after the output feeds nothing
    # before it, so no cotangent reaches it; the slice only spares the visit.
    for node in reversed(graph.nodes[: output.index + 1]):
        ct = grads[node.index]
        if ct is None or node.is_leaf:
            continue
        values = [i.value for i in node.inputs]
        if node.primitive.steps is None:
            passed[node.index] = node.primitive.vjp(ct, *values, **node.params)
            steps = enumerate(passed[node.index])
        else:
            steps = node.primitive.steps(ct, *values, **node.params)
            passed[node.index] = _totals(steps, len(values))
        for i, c in steps:
            inp = node.inputs[i]
            grads[inp.index] = c if grads[inp.index] is None else grads[inp.index] + c
    return Walk(graph, output, grads, passed)


def local_grads(node: Node) -> tuple[Array, ...]:
    """d(node)/d(each input): the node's VJP rule applied to a unit cotangent."""
    if node.is_leaf:
        return ()
    one = jnp.ones_like(node.value)
    return node.primitive.vjp(one, *(i.value for i in node.inputs), **node.params)


LossFn = Callable[[Mapping[str, Array], Array, Array], Any]


def walk(loss: LossFn, params: Mapping[str, Array], x: Array, y: Array,
         cotangent: Array = None) -> Walk:
    """Traces ``loss(params, x, y)`` with every input a named leaf, then walks it back."""
    graph = Graph()
    x_node, y_node = graph.leaf(x, "x"), graph.leaf(y, "y")
    param_nodes = {name: graph.leaf(value, name) for name, value in params.items()}
    output = loss(param_nodes, x_node, y_node)
    if not isinstance(output, Node):
        raise TypeError("the loss does not depend on its inputs through the engine's ops")
    return backward(graph, output, cotangent)


def param_grads(loss: LossFn, params: Mapping[str, Array], x: Array, y: Array):
    """(loss, {name: dL/dparam}) computed by the handwritten rules."""
    result = walk(loss, params, x, y)
    return result.output.value, {name: result.grad(name) for name in params}


def custom_vjp(loss: LossFn) -> Callable:
    """``loss`` as a JAX function whose derivative is our backward walk.

    ``jax.grad`` of the result runs the handwritten VJP rules, not JAX's: this is how JAX lets
    users define their own derivatives (``jax.custom_vjp``). The forward pass is recomputed in the
    backward pass, so only JAX values are saved as residuals.
    """

    @jax.custom_vjp
    def f(params, x, y):
        return loss(params, x, y)

    def f_fwd(params, x, y):
        return loss(params, x, y), (params, x, y)

    def f_bwd(residuals, ct):
        params, x, y = residuals
        result = walk(loss, params, x, y, ct)
        return {k: result.grad(k) for k in params}, result.grad("x"), result.grad("y")

    f.defvjp(f_fwd, f_bwd)
    return f
