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

import ast
import functools
import itertools
import keyword
import math
import re
import string

import numpy as np

from lec4_jax import chain_rule as cr
from lec4_jax import model as model_lib
from lec4_jax import symbolic
from lec4_jax.symbolic import Expr
from lec4_jax.tool.data import InputError, check_value

MAX_LENGTH = 5000  # characters
MAX_DEPTH = 50  # brackets inside brackets
MAX_NODES = 2000  # numbers, names, operations and calls, as written
MAX_EXPONENT = 64  # |p| in a ** p
FUNCTIONS = tuple(cr.FUNCTIONS)  # exp, log, tanh, sigmoid, relu
# Names the graph of the loss already uses (s = y_hat - y, loss = s^2, constants).
RESERVED = ("s", "loss", "y_hat", "const")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}\Z")
_BINARY = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow"}
_KINDS = {ast.Attribute: "attribute access", ast.Subscript: "indexing", ast.Lambda: "a lambda",
          ast.Compare: "a comparison", ast.BoolOp: "and/or", ast.IfExp: "if/else",
          ast.NamedExpr: "an assignment", ast.Starred: "unpacking", ast.JoinedStr: "a string",
          ast.Tuple: "a tuple", ast.List: "a list", ast.Dict: "a dict", ast.Set: "a set",
          ast.ListComp: "a comprehension", ast.SetComp: "a comprehension",
          ast.DictComp: "a comprehension", ast.GeneratorExp: "a comprehension",
          ast.Await: "await", ast.Yield: "yield", ast.YieldFrom: "yield", ast.Slice: "a slice"}


class FormulaError(InputError):
    """A formula (or an ``init`` for one) outside the grammar: one line naming the piece."""

    def __init__(self, message: str, field: str = "model"):
        super().__init__(message, field)


def _short(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _depth(text: str) -> int:
    depth = deepest = 0
    for ch in text:
        if ch in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in ")]}":
            depth -= 1
    return deepest


def _read(text: object) -> ast.expr:
    """The text as Python's syntax tree of one expression, within the bounds."""
    if not isinstance(text, str):
        raise FormulaError(f"a formula is text, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"the formula is {len(text)} characters long; at most {MAX_LENGTH}")
    if not text.strip():
        raise FormulaError("the formula is empty")
    if _depth(text) > MAX_DEPTH:
        raise FormulaError(f"brackets nest more than {MAX_DEPTH} deep")
    try:
        return ast.parse(text.strip(), mode="eval").body
    except SyntaxError as e:
        where = f" at column {e.offset}" if e.offset else ""
        raise FormulaError(f"{_short(text)!r} is not a formula: {e.msg}{where}") from None
    except (ValueError, RecursionError, MemoryError) as e:  # null bytes; too deep for Python
        raise FormulaError(f"{_short(text)!r} is not a formula ({type(e).__name__})") from None


def _number(node: ast.AST, text: str) -> float | None:
    """The value of a numeric literal, optionally signed, or None if ``node`` is not one."""
    sign = 1.0
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        sign = -1.0 if isinstance(node.op, ast.USub) else 1.0
        node = node.operand
    if not isinstance(node, ast.Constant):
        return None
    value = node.value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        piece = ast.get_source_segment(text, node) or repr(value)
        raise FormulaError(f"{_short(piece)} is not a number")
    try:
        check_value(float(value), np.float32, "model")
    except (InputError, OverflowError):
        piece = ast.get_source_segment(text, node) or str(value)
        raise FormulaError(f"the number {_short(piece)} is not finite in float32") from None
    if np.float32(value) == 0:
        piece = ast.get_source_segment(text, node) or str(value)
        if re.search(r"[1-9]", re.split(r"[eE]", piece)[0]):  # 1e-50, not 0 or 0e5
            raise FormulaError(f"the number {_short(piece)} is 0 in float32 (smallest: "
                               f"{np.finfo(np.float32).smallest_subnormal:.6g})")
    return sign * float(value)


def _reject(node: ast.AST, text: str) -> FormulaError:
    piece = _short(ast.get_source_segment(text, node) or type(node).__name__)
    if isinstance(node, ast.Constant):
        return FormulaError(f"{piece} is not a number")
    if isinstance(node, ast.BinOp):
        return FormulaError(f"{piece!r} uses an operator other than + - * / **")
    if isinstance(node, ast.UnaryOp):
        return FormulaError(f"{piece!r} uses a unary operator other than - and +")
    kind = _KINDS.get(type(node), type(node).__name__)
    return FormulaError(f"{piece!r} is {kind}, not arithmetic")


def _name(node: ast.Name) -> str:
    name = node.id
    if name == "y":
        raise FormulaError("y is the target: a prediction y_hat may not use it")
    if name in FUNCTIONS:
        raise FormulaError(f"{name} is a function: write {name}(...)")
    if name in RESERVED:
        raise FormulaError(f"{name!r} names a node of the loss (s = y_hat - y, loss = s^2); "
                           "call the parameter something else")
    if not _NAME.match(name):
        raise FormulaError(f"unknown name {_short(name)!r}: a parameter is ASCII letters, "
                           "digits and _ (at most 32), starting with a letter")
    return name


def _call(node: ast.Call, text: str) -> str:
    if (isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS and len(node.args) == 1
            and not node.keywords and not isinstance(node.args[0], ast.Starred)):
        return node.func.id
    piece = _short(ast.get_source_segment(text, node) or "call")
    if not isinstance(node.func, ast.Name):
        raise FormulaError(f"{piece!r} calls something other than {', '.join(FUNCTIONS)}")
    if node.func.id not in FUNCTIONS:
        raise FormulaError(f"unknown function {_short(node.func.id)!r} (the functions: "
                           f"{', '.join(FUNCTIONS)})")
    if node.keywords:
        raise FormulaError(f"{piece!r}: {node.func.id} takes one argument, not keywords")
    if any(isinstance(a, ast.Starred) for a in node.args):
        raise FormulaError(f"{piece!r}: {node.func.id} takes one argument, not unpacking")
    raise FormulaError(f"{piece!r}: {node.func.id} takes 1 argument, got {len(node.args)}")


def _exponent(node: ast.AST, text: str) -> float:
    value = _number(node, text)
    if value is None:
        piece = _short(ast.get_source_segment(text, node) or "?")
        raise FormulaError(f"the exponent {piece!r} is not a number: ** takes a numeric exponent")
    if value == 0 or abs(value) > MAX_EXPONENT:
        raise FormulaError(f"the exponent {_fmt(value)} is outside 0 < |p| <= {MAX_EXPONENT}")
    return value


def _fmt(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)


def _tree(text: str) -> tuple[Expr, list[Expr], tuple[str, ...]]:
    """The formula as an expression DAG (each distinct sub-expression once), its nodes in
    topological order, and its parameters in order of first appearance. Iterative: a formula
    as deep as its length allows needs no recursion."""
    root_ast = _read(text)
    table = symbolic.Table()
    names: list[tuple[int, int, str]] = []
    stack: list[tuple[ast.AST, bool]] = [(root_ast, False)]
    done: list[Expr] = []
    count = 0
    while stack:
        node, visited = stack.pop()
        count += not visited
        if count > MAX_NODES:
            raise FormulaError(f"the formula has more than {MAX_NODES} parts")
        value = _number(node, text) if isinstance(node, (ast.Constant, ast.UnaryOp)) else None
        if value is not None:
            done.append(table.num(value))
        elif isinstance(node, ast.Name):
            names.append((node.lineno, node.col_offset, _name(node)))
            done.append(table.var(node.id))
        elif isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            op = _BINARY[type(node.op)]
            if op == "pow":
                if visited:
                    done.append(table.op("pow", done.pop(), value=_exponent(node.right, text)))
                else:
                    _exponent(node.right, text)
                    stack += [(node, True), (node.left, False)]
            elif visited:
                b, a = done.pop(), done.pop()
                done.append(table.op(op, a, b))
            else:
                stack += [(node, True), (node.right, False), (node.left, False)]
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            if visited:
                a = done.pop()
                done.append(table.neg(a) if isinstance(node.op, ast.USub) else a)
            else:
                stack += [(node, True), (node.operand, False)]
        elif isinstance(node, ast.Call):
            fn = _call(node, text)
            if visited:
                done.append(table.op(fn, done.pop()))
            else:
                stack += [(node, True), (node.args[0], False)]
        else:
            raise _reject(node, text)
    (root,) = done
    params = tuple(dict.fromkeys(n for *_, n in sorted(names) if n != "x"))
    if not params:
        raise FormulaError(f"{_short(text)!r} has no parameter: every name other than x is one "
                           "(e.g. x*w + b)")
    return root, table.order, params


_MODELS: dict[str, model_lib.Model] = {}  # normalised text -> its one Model


def parse(text: str) -> model_lib.Model:
    """The :class:`~lec4_jax.model.Model` of a formula for ``y_hat``; one object per formula
    (the same text, or the same formula spaced otherwise, gives the same object).

    >>> parse("x * w**2 + b").name
    'x*w**2 + b'
    >>> parse("x*w") is parse("x * w")
    True
    >>> parse("x*w + y")
    Traceback (most recent call last):
    lec4_jax.formula.FormulaError: y is the target: a prediction y_hat may not use it
    """
    root, order, params = _tree(text)
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
    not a number, a repeated name or a value not finite in float32 is a :class:`FormulaError`
    with field ``init``.

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
            raise FormulaError(f"{_short(item.strip())!r} is not name=value (e.g. w=1,b=0)",
                               "init")
        if name not in m.params:
            raise FormulaError(f"{_short(name)!r} is not a parameter of {m.name} (its "
                               f"parameters: {', '.join(m.params)})", "init")
        if name in out:
            raise FormulaError(f"{name} is given twice", "init")
        try:
            value = float(number)
        except ValueError:
            raise FormulaError(f"{name}={_short(number)!r}: not a number", "init") from None
        if not math.isfinite(value):
            raise FormulaError(f"{name}={number}: not finite", "init")
        try:
            check_value(value, np.float32, "init")
        except InputError as e:
            raise FormulaError(f"{name}={number}: {e}", "init") from None
        out[name] = value
    return out


_TERMS = ("x*{0}", "tanh(x*{0} + {1})", "sigmoid({0}*x)**2", "{0}/(x + 2)", "-log(x*x + {0})",
          "relu(x - {0})*{1}", "exp(-x*{0})", "x**3*{0} - {1}")


def size(text: str) -> int:
    """The nodes of a formula as written (numbers, names, operations, calls): what
    :data:`MAX_NODES` bounds.

    >>> size("x*w + b"), size("sigmoid(-x)")
    (5, 3)
    """
    nodes = list(ast.walk(_read(text)))
    folded = sum(isinstance(n, ast.UnaryOp) and isinstance(n.operand, ast.Constant) or
                 isinstance(n, ast.Call) for n in nodes)  # -2 is one number; f(a) one call
    return sum(isinstance(n, ast.expr) for n in nodes) - folded


def sample(nodes: int = 1000) -> str:
    """A formula of at least ``nodes`` nodes (:func:`size`) using every op, distinct
    parameters in every term: for timing the parser.

    >>> size(sample(1000)) >= 1000
    True
    """
    names = (a + b for a, b in itertools.product(["", *string.ascii_lowercase],
                                                 string.ascii_lowercase)
             if a + b not in "sxy" and not keyword.iskeyword(a + b))
    terms, count = [], 0
    for template in itertools.cycle(_TERMS):
        term = template.format(next(names), next(names))
        terms.append(term)
        count += size(term) + (len(terms) > 1)
        if count >= nodes:
            return " + ".join(terms)
    raise AssertionError("unreachable")  # pragma: no cover
