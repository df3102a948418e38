"""The grammar of a formula for ``y_hat``, read by Python's :mod:`ast` against a whitelist.

Numbers, ``+ - * /``, unary ``-``, ``**`` with a numeric exponent, parentheses, and ``exp``,
``log``, ``tanh``, ``sigmoid``, ``relu``; every free name other than ``x`` a parameter. The text
is parsed (``ast.parse``, which compiles to a syntax tree only), never run. Anything else is a
:class:`FormulaError`, one line naming the offending piece. Length, bracket depth, size,
parameters and exponents are bounded before and while reading, and the tree is walked with a
stack, not by recursion, so no text hangs the reader, exhausts memory or raises anything else.

>>> root, order, params = tree("x*w*w + b")
>>> root.text, [n.text for n in order], params
('x*w*w + b', ['x', 'w', 'x*w', 'x*w*w', 'b', 'x*w*w + b'], ('w', 'b'))
"""

from __future__ import annotations

import ast
import re
import warnings

import numpy as np

from lec4_jax import chain_rule as cr
from lec4_jax import symbolic
from lec4_jax.symbolic import Expr
from lec4_jax.tool.data import InputError, check_value

MAX_LENGTH = 5000  # characters
MAX_DEPTH = 50  # brackets inside brackets
MAX_NODES = 2000  # numbers, names, operations and calls, as written
MAX_EXPONENT = 64  # |p| in a ** p
# Distinct parameters: XLA's compile of the training loop grows faster than linearly in them
# (the scan carries one scalar each): 32 train in ~7 s and sweep in ~13 s here, 64 took 34 s
# and 60 s (3 GB), 300 did not finish in minutes.
MAX_PARAMS = 32
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


def short(text: str, limit: int = 40) -> str:
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
    if "#" in text:  # Python would drop the rest of the line; a formula has no comments
        comment = text[text.index("#"):].splitlines()[0]
        raise FormulaError(f"{short(comment)!r} is a comment, not part of a formula (it would "
                           "hide what follows it)")
    if _depth(text) > MAX_DEPTH:
        raise FormulaError(f"brackets nest more than {MAX_DEPTH} deep")
    try:
        with warnings.catch_warnings():  # a SyntaxWarning ("1if") is a SyntaxError here
            warnings.simplefilter("error")
            return ast.parse(text.strip(), mode="eval").body
    except SyntaxError as e:
        where = f" at column {e.offset}" if e.offset else ""
        if e.lineno and e.lineno > 1:  # the text shown is on one line: say which line
            where = f" on line {e.lineno}" + (f", column {e.offset}" if e.offset else "")
        raise FormulaError(f"{short(text)!r} is not a formula: {e.msg}{where}") from None
    except (ValueError, RecursionError, MemoryError) as e:  # null bytes; too deep for Python
        raise FormulaError(f"{short(text)!r} is not a formula ({type(e).__name__})") from None


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
        raise FormulaError(f"{short(piece)} is not a number")
    try:
        check_value(float(value), np.float32, "model")
    except (InputError, OverflowError):
        piece = ast.get_source_segment(text, node) or str(value)
        raise FormulaError(f"the number {short(piece)} is not finite in float32") from None
    if np.float32(value) == 0:  # only then the piece as written (reading it costs a scan)
        refusal = zero_in_float32(ast.get_source_segment(text, node) or str(value), value)
        if refusal:
            raise FormulaError(refusal)
    return sign * float(value)


def zero_in_float32(piece: str, value: float) -> str | None:
    """Why a number written as ``piece`` (``1e-50``, not ``0`` or ``0e5``) is refused: it is
    not 0 but becomes 0 in float32; None for any other number. The formula's numbers and
    ``--init``'s are refused in these words.

    >>> zero_in_float32("1e-50", 1e-50)
    'the number 1e-50 is 0 in float32 (smallest: 1.4013e-45)'
    >>> zero_in_float32("0e5", 0.0) is None, zero_in_float32("1e-40", 1e-40) is None
    (True, True)
    """
    with np.errstate(over="ignore"):  # beyond float32: inf, not 0 (refused elsewhere)
        zero = np.float32(value) == 0
    if not zero or not re.search(r"[1-9]", re.split(r"[eE]", piece)[0]):
        return None
    return (f"the number {short(piece)} is 0 in float32 (smallest: "
            f"{np.finfo(np.float32).smallest_subnormal:.6g})")


def _reject(node: ast.AST, text: str) -> FormulaError:
    piece = short(ast.get_source_segment(text, node) or type(node).__name__)
    if isinstance(node, ast.BinOp):
        return FormulaError(f"{piece!r} uses an operator other than + - * / **")
    if isinstance(node, ast.UnaryOp):
        return FormulaError(f"{piece!r} uses a unary operator other than - and +")
    kind = _KINDS.get(type(node), type(node).__name__)
    return FormulaError(f"{piece!r} is {kind}, not arithmetic")


def _written(node: ast.expr, name: str, text: str) -> str:
    """The name as typed: Python reads "ｗ" or "ﬁ" as w or fi (NFKC). Only non-ASCII text can
    differ, so ASCII text (every formula the grammar takes) costs no look-up."""
    if text.isascii():
        return name
    line = text.splitlines()[node.lineno - 1].encode()  # offsets count UTF-8 bytes
    return line[node.col_offset:node.end_col_offset].decode(errors="replace")


def _name(node: ast.Name, text: str) -> str:
    name = node.id
    written = _written(node, name, text)
    if written != name:  # Python reads "ｗ" or "ﬁ" as w or fi (NFKC): say what was typed
        raise FormulaError(f"unknown name {short(written)!r}: a parameter is ASCII letters, "
                           "digits and _ (at most 32), starting with a letter")
    if name == "y":
        raise FormulaError("y is the target: a prediction y_hat may not use it")
    if name in FUNCTIONS:
        raise FormulaError(f"{name} is a function: write {name}(...)")
    if name in RESERVED:
        raise FormulaError(f"{name!r} names a node of the loss (s = y_hat - y, loss = s^2); "
                           "call the parameter something else")
    if not _NAME.match(name):
        raise FormulaError(f"unknown name {short(name)!r}: a parameter is ASCII letters, "
                           "digits and _ (at most 32), starting with a letter")
    return name


def _call(node: ast.Call, text: str) -> str:
    if isinstance(node.func, ast.Name):
        written = _written(node.func, node.func.id, text)
        if written != node.func.id:  # "ｅｘｐ" read as exp (NFKC)
            raise FormulaError(f"unknown function {short(written)!r} (the functions: "
                               f"{', '.join(FUNCTIONS)})")
    if (isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS and len(node.args) == 1
            and not node.keywords and not isinstance(node.args[0], ast.Starred)):
        return node.func.id
    piece = short(ast.get_source_segment(text, node) or "call")
    if not isinstance(node.func, ast.Name):
        raise FormulaError(f"{piece!r} calls something other than {', '.join(FUNCTIONS)}")
    if node.func.id not in FUNCTIONS:
        raise FormulaError(f"unknown function {short(node.func.id)!r} (the functions: "
                           f"{', '.join(FUNCTIONS)})")
    if node.keywords:
        raise FormulaError(f"{piece!r}: {node.func.id} takes one argument, not keywords")
    if any(isinstance(a, ast.Starred) for a in node.args):
        raise FormulaError(f"{piece!r}: {node.func.id} takes one argument, not unpacking")
    raise FormulaError(f"{piece!r}: {node.func.id} takes 1 argument, got {len(node.args)}")


def _exponent(node: ast.AST, text: str) -> float:
    value = _number(node, text)
    if value is None:
        piece = short(ast.get_source_segment(text, node) or "?")
        raise FormulaError(f"the exponent {piece!r} is not a number: ** takes a numeric exponent")
    if value == 0 or abs(value) > MAX_EXPONENT:
        raise FormulaError(f"the exponent {symbolic.fmt_number(value)} is outside "
                           f"0 < |p| <= {MAX_EXPONENT}")
    return value




def tree(text: str) -> tuple[Expr, list[Expr], tuple[str, ...]]:
    """The formula as an expression DAG (each distinct sub-expression once), its nodes in
    topological order, and its parameters in order of first appearance. Iterative: a formula
    as deep as its length allows needs no recursion."""
    root_ast = _read(text)
    text = text.strip()  # the positions ast gives are in the stripped text
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
            names.append((node.lineno, node.col_offset, _name(node, text)))
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
    _check_constants(table.order)
    params = tuple(dict.fromkeys(n for *_, n in sorted(names) if n != "x"))
    if len(params) > MAX_PARAMS:
        raise FormulaError(f"the formula has {len(params)} parameters ({short(', '.join(params))}"
                           f"); at most {MAX_PARAMS}")
    if not params:
        raise FormulaError(f"{short(text)!r} has no parameter: every name other than x is one "
                           "(e.g. x*w + b)")
    return root, table.order, params



def _check_constants(order: list[Expr]) -> None:
    """Refuses a part made of numbers alone (``1e38*1e38``, ``log(-1)``, ``exp(100)``) whose
    value is not finite in float32, the dtype the model computes in: as a literal beyond
    float32 is refused, rather than a model that is inf or nan whatever its parameters."""
    values: dict[int, np.float32] = {}
    with np.errstate(all="ignore"):
        for e in order:  # children before parents
            if e.op == "num":
                values[id(e)] = np.float32(e.value)
            elif e.args and all(id(a) in values for a in e.args):
                args = [values[id(a)] for a in e.args]
                ops = symbolic.NUMPY_OPS
                v = np.float32(ops["pow"](*args, e.value) if e.op == "pow" else ops[e.op](*args))
                if not np.isfinite(v):
                    raise FormulaError(f"the part {short(e.text)}, numbers alone, is "
                                       f"{float(v)} in float32, not a finite number")
                values[id(e)] = v


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
