"""A formula as an expression DAG, printed, differentiated symbolically and evaluated.

:class:`Table` builds a parsed formula (:mod:`lec4_jax.formula`) node by node: each distinct
sub-expression once, named by its canonical text (``x*w + b``: spaces around ``+ -`` only,
brackets only where needed), which parses back to the same tree. :class:`Derivatives`
differentiates the DAG by the textbook rules, forward over the nodes, into a second DAG per
parameter: the closed form "worked by hand" by the program, an oracle independent of the
chain-rule engine. :func:`evaluate` computes any of them with a namespace of ops (JAX, NumPy,
or torch for the tests' twin). Every walk is a loop, so no depth needs recursion.

>>> t = Table()
>>> e = t.op("add", t.op("mul", t.var("x"), t.var("w")), t.var("b"))
>>> e.text, [n.text for n in t.order]
('x*w + b', ['x', 'w', 'x*w', 'b', 'x*w + b'])
>>> d = Derivatives(e, t.order, ("w", "b"))
>>> d.loss_grads({"w": 1.5, "b": 0.5}, 2.0, 3.0)  # s = 0.5: 2 s x and 2 s
{'w': 2.0, 'b': 1.0}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

# precedence, loosest first, and a number's spelling: the canonical text here and a graph node's
# expression (chain_rule.expression) bracket and write numbers alike
from lec4_jax.chain_rule import ADD_BINDS as ADD
from lec4_jax.chain_rule import ATOM_BINDS as ATOM
from lec4_jax.chain_rule import MUL_BINDS as MUL
from lec4_jax.chain_rule import POW_BINDS as POW
from lec4_jax.chain_rule import UNARY_BINDS as UNARY
from lec4_jax.chain_rule import fmt_number

_INFIX = {"add": (" + ", ADD), "sub": (" - ", ADD), "mul": ("*", MUL), "div": ("/", MUL)}


class Expr:
    """One node: ``op`` (num, var, add, sub, mul, div, neg, pow, exp, log, tanh, sigmoid, relu,
    step), its ``args``, a ``value`` (the number, the name, the exponent), and for a node of a
    parsed formula its canonical ``text`` and precedence."""

    __slots__ = ("op", "args", "value", "text", "prec")

    def __init__(self, op: str, args: tuple = (), value: Any = None, text: str | None = None,
                 prec: int = ATOM):
        self.op, self.args, self.value, self.text, self.prec = op, args, value, text, prec

    def __repr__(self) -> str:
        return f"Expr({self.text or self.op!r})"


def _wrap(e: Expr, brackets: bool) -> str:
    return f"({e.text})" if brackets else e.text


class Table:
    """Builds a formula's DAG: the same text gives the same :class:`Expr`; ``order`` lists the
    nodes as made, children before parents."""

    def __init__(self) -> None:
        self.by_text: dict[str, Expr] = {}
        self.order: list[Expr] = []

    def _get(self, text: str, op: str, args: tuple = (), value: Any = None,
             prec: int = ATOM) -> Expr:
        e = self.by_text.get(text)
        if e is None:
            e = self.by_text[text] = Expr(op, args, value, text, prec)
            self.order.append(e)
        return e

    def num(self, value: float) -> Expr:
        value = float(value) + 0.0  # -0 is 0
        return self._get(fmt_number(value), "num", value=value, prec=UNARY if value < 0 else ATOM)

    def var(self, name: str) -> Expr:
        return self._get(name, "var", value=name)

    def neg(self, a: Expr) -> Expr:
        if a.op == "num":
            return self.num(-a.value)
        return self._get("-" + _wrap(a, a.prec <= UNARY), "neg", (a,), prec=UNARY)

    def op(self, op: str, *args: Expr, value: float | None = None) -> Expr:
        if op in _INFIX:
            (a, b), (symbol, prec) = args, _INFIX[op]
            text = _wrap(a, a.prec < prec) + symbol + _wrap(b, b.prec <= prec)
            return self._get(text, op, args, prec=prec)
        if op == "pow":
            (a,) = args
            value = int(value) if float(value).is_integer() else float(value)
            return self._get(f"{_wrap(a, a.prec <= POW)}**{fmt_number(value)}", "pow", args,
                             value=value, prec=POW)
        (a,) = args  # a function of one argument
        return self._get(f"{op}({a.text})", op, args)


# The derivative DAGs: plain nodes (no text), None where a node does not depend on the parameter.
ONE = Expr("num", value=1.0)


def _mul(a: Expr, b: Expr) -> Expr:
    return b if a is ONE else a if b is ONE else Expr("mul", (a, b))


def _sum(a: Expr | None, b: Expr | None, op: str = "add") -> Expr | None:
    if b is None:
        return a
    if a is None:
        return b if op == "add" else Expr("neg", (b,))
    return Expr(op, (a, b))


def _rule(n: Expr, d: Sequence[Expr | None]) -> Expr | None:
    """d(n)/d(param) from its arguments' derivatives ``d`` (the textbook rules)."""
    a = n.args[0] if n.args else None
    if n.op in ("add", "sub"):
        return _sum(d[0], d[1], n.op)
    if n.op == "mul":  # (ab)' = a'b + ab'
        b = n.args[1]
        return _sum(d[0] and _mul(d[0], b), d[1] and _mul(a, d[1]))
    if n.op == "div":  # (a/b)' = a'/b - a b'/b^2
        b = n.args[1]
        return _sum(d[0] and Expr("div", (d[0], b)),
                    d[1] and Expr("div", (_mul(a, d[1]), Expr("pow", (b,), 2))), "sub")
    (da,) = d
    if da is None:
        return None
    if n.op == "neg":
        return Expr("neg", (da,))
    if n.op == "pow":  # (a^p)' = p a^(p-1) a'
        p = n.value
        power = ONE if p == 1 else Expr("pow", (a,), p - 1)
        return _mul(_mul(Expr("num", value=float(p)), power), da)
    local = {"exp": lambda: n,  # (e^a)' = e^a a'
             "log": lambda: Expr("div", (ONE, a)),  # (log a)' = a'/a
             "tanh": lambda: Expr("sub", (ONE, Expr("pow", (n,), 2))),  # 1 - tanh^2
             "sigmoid": lambda: Expr("mul", (n, Expr("sub", (ONE, n)))),  # s (1 - s)
             "relu": lambda: Expr("step", (a,))}[n.op]()  # 1 where a > 0, else 0
    return _mul(local, da)


def evaluate(roots: Sequence[Expr | None], env: Mapping[str, Any],
             ops: Mapping[str, Callable]) -> list:
    """The values of ``roots`` (None stays None): names from ``env``, ops from ``ops`` (``pow``
    takes ``(a, p)``). Each shared node is computed once."""
    memo: dict[int, Any] = {}
    for root in roots:
        stack = [root] if root is not None else []
        while stack:
            e = stack[-1]
            if id(e) in memo:
                stack.pop()
                continue
            todo = [a for a in e.args if id(a) not in memo]
            if todo:
                stack += todo
                continue
            stack.pop()
            if e.op == "num":
                memo[id(e)] = e.value
            elif e.op == "var":
                memo[id(e)] = env[e.value]
            else:
                args = [memo[id(a)] for a in e.args]
                if all(type(a) in (int, float) for a in args):
                    memo[id(e)] = fold(e.op, args, e.value)
                elif e.op == "pow":
                    memo[id(e)] = ops["pow"](*args, e.value)
                else:
                    memo[id(e)] = ops[e.op](*args)
    return [None if r is None else memo[id(r)] for r in roots]


def fold(op: str, args: Sequence[float], value: Any = None) -> float:
    """A node of numbers alone, as a Python number computed in float64 by NumPy: an overflow
    is inf and 1/0 is inf, as in the arrays around it, where Python's own float arithmetic
    would raise (``1e300**2``, ``1/0``).

    >>> fold("pow", [1e300], 2), fold("div", [1.0, 0.0]), fold("add", [1.0, 2.0])
    (inf, inf, 3.0)
    """
    with np.errstate(all="ignore"):
        args = [np.float64(a) for a in args]
        return float(NUMPY_OPS["pow"](*args, value) if op == "pow" else NUMPY_OPS[op](*args))


JAX_OPS = {"add": jnp.add, "sub": jnp.subtract, "mul": jnp.multiply, "div": jnp.divide,
           "neg": jnp.negative, "pow": lambda a, p: jnp.asarray(a)**p, "exp": jnp.exp,
           "log": jnp.log, "tanh": jnp.tanh, "sigmoid": jax.nn.sigmoid, "relu": jax.nn.relu,
           "step": lambda a: jnp.where(jnp.asarray(a) > 0, 1.0, 0.0)}
NUMPY_OPS = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
             "neg": np.negative, "pow": lambda a, p: a**p, "exp": np.exp, "log": np.log,
             "tanh": np.tanh,
             "sigmoid": lambda a: 1 / (1 + np.exp(-a)), "relu": lambda a: np.maximum(a, 0.0),
             "step": lambda a: np.where(np.asarray(a) > 0, 1.0, 0.0)}
EXAMPLES = ((1.0, 2.0, 1.0), (2.0, 3.0, 0.5), (0.5, -1.0, 1.5), (1.5, 2.5, -0.5),
            (3.0, 1.0, 2.0))  # (x, y, every parameter)
_CHEAP = 20_000  # nodes times parameters: the example is searched for only below this


class Derivatives:
    """dy_hat/d(each parameter) of a formula as DAGs, built on first use."""

    def __init__(self, root: Expr, order: list[Expr], params: Sequence[str]):
        self.root, self.order, self.params = root, order, tuple(params)
        self._d: dict[str, Expr | None] = {}

    def of(self, p: str) -> Expr | None:
        if p not in self._d:
            d: dict[int, Expr | None] = {}
            for n in self.order:
                if n.op == "var":
                    d[id(n)] = ONE if n.value == p else None
                elif n.op == "num":
                    d[id(n)] = None
                else:
                    d[id(n)] = _rule(n, [d[id(a)] for a in n.args])
            self._d[p] = d[id(self.root)]
        return self._d[p]

    def loss_grads(self, params: Mapping[str, Any], x, y, ops=JAX_OPS) -> dict[str, Any]:
        """dL/d(each parameter) = 2 (y_hat - y) dy_hat/dparam, with L = (y_hat - y)^2."""
        y_hat, *ds = evaluate([self.root, *map(self.of, self.params)], {"x": x, **params}, ops)
        s = y_hat - y
        return {p: 2 * s * (0.0 if d is None else d) for p, d in zip(self.params, ds)}

    def example(self, defaults: Mapping[str, float]) -> tuple[float, float, dict[str, float]]:
        """The first of :data:`EXAMPLES` where every gradient is finite and nonzero (float64),
        the defaults at x=1, y=2 if none is or the formula is too large to look."""
        if len(self.order) * (len(self.params) + 1) <= _CHEAP:
            for x, y, value in EXAMPLES:
                params = {p: value for p in self.params}
                with np.errstate(all="ignore"):
                    grads = self.loss_grads(params, np.float64(x), np.float64(y), NUMPY_OPS)
                if all(np.isfinite(g) and g != 0 for g in grads.values()):
                    return x, y, params
        return 1.0, 2.0, dict(defaults)

    def linear(self) -> bool:
        """y_hat = sum of parameter * (a function of x alone), no other term: each node is
        free of the parameters (C) or such a sum (L); anything else (N) is not."""
        kind: dict[int, str] = {}
        for n in self.order:
            ks = [kind[id(a)] for a in n.args]
            if n.op in ("num", "var"):
                k = "L" if n.op == "var" and n.value in self.params else "C"
            elif "N" in ks:
                k = "N"
            elif n.op in ("add", "sub"):
                k = ks[0] if ks[0] == ks[1] else "N"
            elif n.op == "mul":
                k = "N" if ks == ["L", "L"] else "L" if "L" in ks else "C"
            elif n.op == "div":
                k = "N" if ks[1] == "L" else ks[0]
            elif n.op == "neg":
                k = ks[0]
            else:
                k = "C" if ks == ["C"] else "N"
            kind[id(n)] = k
        return kind[id(self.root)] == "L"

    def features(self) -> Callable[[np.ndarray], list[np.ndarray]] | None:
        """For a formula linear in its parameters, ``x -> [dy_hat/dparam for each]`` (float64),
        the columns of its least-squares fit; None otherwise."""
        if not self.linear():
            return None

        def columns(x):
            x = np.asarray(x, np.float64)
            env = {"x": x, **{p: 0.0 for p in self.params}}
            with np.errstate(all="ignore"):
                ds = evaluate([self.of(p) for p in self.params], env, NUMPY_OPS)
            return [np.broadcast_to(np.asarray(d, np.float64), x.shape).copy() for d in ds]

        return columns
