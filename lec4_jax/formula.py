"""A teacher's own model: a formula for ``y_hat`` in ``x`` and parameters, parsed, never run.

:func:`parse` turns text such as ``"sigmoid(x*w + b)"`` into a :class:`~lec4_jax.model.Model`,
the same object the registry holds, so everything downstream takes it unchanged. Every free name
other than ``x`` is a parameter (``y`` is the target, which a prediction may not use).

The grammar: numbers, ``+ - * /``, unary ``-``, ``**`` with a numeric exponent, parentheses, and
``exp``, ``log``, ``tanh``, ``sigmoid``, ``relu``. The text is read by Python's :mod:`ast` and
checked against that whitelist node by node; it is never passed to ``eval``, ``exec`` or
``compile``. Anything else is a :class:`FormulaError`, one line naming the offending piece.
Length, nesting depth, size and exponents are bounded, so no text hangs the parser.

>>> m = parse("x*w*w + b")
>>> m.name, m.params, m.formula
('x*w*w + b', ('w', 'b'), 'y_hat = x*w*w + b')
>>> parse_init("w=1.5, b=0.5", m)
{'w': 1.5, 'b': 0.5}
"""

from __future__ import annotations

import functools
import itertools
import keyword
import math
import string

import numpy as np

from lec4_jax import chain_rule as cr
from lec4_jax import model as model_lib
from lec4_jax import symbolic
from lec4_jax.grammar import (  # noqa: F401
    FUNCTIONS,
    MAX_DEPTH,
    MAX_EXPONENT,
    MAX_LENGTH,
    MAX_NODES,
    MAX_PARAMS,
    RESERVED,
    FormulaError,
    short,
    size,
    tree,
    zero_in_float32,
)
from lec4_jax.symbolic import Expr
from lec4_jax.tool.data import InputError, check_value


class _Models(dict):
    """Normalised text -> its one Model; ``cache_clear()`` as functools' caches have, so a
    benchmark can time the parser afresh."""

    def cache_clear(self) -> None:
        self.clear()


_MODELS = _Models()
del _Models  # the one instance is the module's cache; the class is not another


def parse(text: str) -> model_lib.Model:
    """The :class:`~lec4_jax.model.Model` of a formula for ``y_hat``; one object per formula
    (the same text, or the same formula spaced otherwise, gives the same object).

    >>> parse("x * w**2 + b").name
    'x*w**2 + b'
    >>> parse("x*w") is parse("x * w")
    True
    >>> parse("x*w + y")
    Traceback (most recent call last):
    lec4_jax.grammar.FormulaError: y is the target: a prediction y_hat may not use it
    """
    root, order, params = tree(text)
    found = _MODELS.get(root.text)
    if found is None:
        found = _MODELS.setdefault(root.text, build(root, order, params))
    return found


def build(root: Expr, order: list[Expr], params: tuple[str, ...]) -> model_lib.Model:
    """A new :class:`~lec4_jax.model.Model` from a parsed formula (:func:`parse` keeps one per
    formula; this makes another each call: what a benchmark of parsing times)."""
    defaults = {p: 1.0 for p in params}
    derivatives = symbolic.Derivatives(root, order, params)
    return model_lib.Model(
        name=root.text, params=params, formula=f"y_hat = {root.text}", defaults=defaults,
        predict=functools.partial(_predict, order), closed_form=derivatives.loss_grads,
        example=derivatives.example(defaults), features=derivatives.features(),
        expression=root)


_OPS = {"add": cr.add, "sub": cr.sub, "mul": cr.mul, "div": cr.div, "neg": cr.neg,
        "pow": lambda a, *, name, value: cr.power(a, value, name=name),
        **{f: getattr(cr, f) for f in FUNCTIONS}}


def _predict(order: list[Expr], params, x):
    """The prediction over the chain-rule engine's ops: each node named by its own
    sub-expression, the last (the formula itself) ``y_hat``."""
    values: dict[int, object] = {}
    for n in order:
        if n.op == "num":
            values[id(n)] = n.value
        elif n.op == "var":
            values[id(n)] = x if n.value == "x" else params[n.value]
        else:
            name = "y_hat" if n is order[-1] else n.text
            args = [values[id(a)] for a in n.args]
            extra = {"value": n.value} if n.op == "pow" else {}
            if all(type(a) in (int, float) for a in args):  # numbers alone: a number
                values[id(n)] = symbolic.fold(n.op, args, n.value)
            else:
                values[id(n)] = _OPS[n.op](*args, name=name, **extra)
    return values[id(order[-1])]


def parse_init(text: str, model: model_lib.Model | str) -> dict[str, float]:
    """``"w=1,b=0"`` as ``{"w": 1.0, "b": 0.0}`` for the model's parameters; an unknown name,
    not a number (ASCII only, as in a formula), a repeated name, a value not finite in float32
    or a nonzero one that is 0 there (``1e-50``, refused in the formula's words) is a
    :class:`FormulaError` with field ``init``.

    >>> parse_init("w=-0.5", "x*w + b")
    {'w': -0.5}
    """
    m = model_lib.get(model)
    out: dict[str, float] = {}
    if not isinstance(text, str):
        raise FormulaError(f"init is text such as w=1,b=0, not {type(text).__name__}", "init")
    for item in text.split(",") if text.strip() else []:
        name, sep, number = (part.strip() for part in item.partition("="))
        if not sep or not name:
            raise FormulaError(f"{short(item.strip())!r} is not name=value (e.g. w=1,b=0)",
                               "init")
        if name not in m.params:
            raise FormulaError(f"{short(name)!r} is not a parameter of {m.name} (its "
                               f"parameters: {', '.join(m.params)})", "init")
        if name in out:
            raise FormulaError(f"{name} is given twice", "init")
        try:  # ASCII only, as a formula's numbers: float() would also read '１' or '١'
            value = float(number) if number.isascii() else float("?")
        except ValueError:
            raise FormulaError(f"{name}={short(number)!r}: not a number", "init") from None
        if not math.isfinite(value):
            raise FormulaError(f"{name}={number}: not finite", "init")
        try:
            check_value(value, np.float32, "init")
        except InputError as e:
            raise FormulaError(f"{name}={number}: {e}", "init") from None
        refusal = zero_in_float32(number, value)
        if refusal:
            raise FormulaError(f"{name}={short(number)}: {refusal}", "init")
        out[name] = value
    return out


_TERMS = ("{x}*{0}", "tanh({x}*{0} + {1})", "sigmoid({0}*{x})**2", "{0}/({x} + 2)",
          "-log({x}*{x} + {0})", "relu({x} - {0})*{1}", "exp(-{x}*{0})", "{x}**3*{0} - {1}")


def sample(nodes: int = 1000) -> str:
    """A formula of at least ``nodes`` nodes (:func:`size`) using every op and
    :data:`MAX_PARAMS` parameters, no two terms alike: for timing the parser.

    >>> size(sample(1000)) >= 1000
    True
    """
    pool = [a + b for a, b in itertools.product(["", *string.ascii_lowercase],
                                                string.ascii_lowercase)
            if a + b not in "sxy" and not keyword.iskeyword(a + b)][:MAX_PARAMS]
    terms, count = [], 0
    for k, template in enumerate(itertools.cycle(_TERMS)):
        # every parameter the grammar allows, each used many times; x shifted once the names
        # come round again keeps every term distinct, so the DAG is as large as written
        shift = k // len(pool)
        term = template.format(pool[k % len(pool)], pool[(k + 1) % len(pool)],
                               x=f"(x - {shift})" if shift else "x")
        terms.append(term)
        count += size(term) + (len(terms) > 1)
        if count >= nodes:
            return " + ".join(terms)
    raise AssertionError("unreachable")  # pragma: no cover

