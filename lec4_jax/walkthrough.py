"""The lecture's picture from real computation: the graph, node by node, as a table and as DOT.

Forward, each node's value; backward, the upstream gradient dL/d(node) arriving at it, its local
gradient d(node)/d(input) for each input, and the product it passes to each input.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from collections.abc import Mapping, Sequence

import jax
import numpy as np

from lec4_jax import chain_rule as cr
from lec4_jax import messages
from lec4_jax import model as model_lib
from lec4_jax.tool.data import InputError, check_value, model_of


def fmt(value, dtype) -> str:
    """The shortest decimal that round-trips ``value`` in ``dtype``, as PyTorch prints it."""
    return str(np.dtype(dtype).type(value))


# What the tables and the graph's labels say, in each language, is in the catalogue
# (lec4_jax/locale/<lang>/walkthrough.toml); ``lang=None`` is the language set by
# lec4_jax.set_language, English where none was.


def _words(lang: str | None) -> dict[str, str]:
    return messages.section("walkthrough", lang)


INSTALL_GRAPHVIZ = "install Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew " \
                   "install graphviz)"


@dataclasses.dataclass(frozen=True)
class Example:
    """One sample and the parameters at which to walk a model's graph, checked in float32: the
    one record the walk-through and the exercises (:mod:`lec4_jax.exercises`) share."""

    model: model_lib.Model
    params: dict
    x: float
    y: float

    @classmethod
    def of(cls, model: model_lib.Model | str, params: dict | None = None, x: float | None = None,
           y: float | None = None) -> Example:
        """The model's example (:attr:`lec4_jax.model.Model.example`) with any of its numbers
        replaced; a parameter the model does not have is an error."""
        m = model_of(model)
        ex_x, ex_y, ex_params = m.example
        if params is not None and not isinstance(params, Mapping):
            raise InputError(f"must be a mapping of parameter to value, got "
                             f"{type(params).__name__}", "params")
        params = dict(params or {})
        model_lib.check_params(m, params)
        x = check_value(ex_x if x is None else x, np.float32, "x")
        y = check_value(ex_y if y is None else y, np.float32, "y")
        merged = {k: check_value(params.get(k, ex_params[k]), np.float32,
                                 model_lib.init_field(k)) for k in m.params}
        return cls(m, merged, x, y)


def explain(example: Example, dtype="float32"):
    """Traces and walks the example's loss; returns the :class:`~chain_rule.Walk`."""
    m = model_lib.get(example.model)
    cast = lambda v: np.dtype(dtype).type(v)  # noqa: E731
    return cr.walk(m.loss, {k: cast(v) for k, v in example.params.items()}, cast(example.x),
                   cast(example.y))


def title(example: Example, dtype="float32", lang: str | None = None) -> str:
    m = model_lib.get(example.model)
    at = ", ".join(f"{k}={fmt(v, dtype)}" for k, v in
                   [("x", example.x), ("y", example.y), *example.params.items()])
    return f"{m.name}: {m.formula}, loss = (y_hat - y)^2, " + _words(lang)["at"].format(at=at)


def node_values(model: model_lib.Model | str, x, y):
    """``params -> {node name: value}``: every named node of the model's graph, as a plain JAX
    function of the parameters (so ``jax.jvp`` can push tangents through every node)."""
    m = model_lib.get(model)

    def values(params):
        graph = cr.Graph()
        nodes = {k: graph.leaf(v, k) for k, v in params.items()}
        m.loss(nodes, graph.leaf(x, "x"), graph.leaf(y, "y"))
        return {n.name: n.value for n in graph.nodes if n.name != "const"}

    return values


def modes_table(example: Example, dtype="float32", lang: str | None = None) -> list[str]:
    """Forward mode next to reverse mode on the example's numbers.

    Forward mode (``jax.jvp``) pushes a tangent from one parameter (d param = 1, the others 0)
    forward through every node: one pass per parameter, each giving d(node)/d(param) at every
    node. Reverse mode (``jax.vjp``) pulls the cotangent 1 back from the loss: one pass gives
    dloss/d(node) at every node, so dloss/d(every parameter) at once.
    """
    m = model_lib.get(example.model)
    cast = np.dtype(dtype).type
    params = {k: cast(v) for k, v in example.params.items()}
    values = node_values(m, cast(example.x), cast(example.y))
    primal = values(params)
    tangents = {}
    for p in m.params:
        basis = {k: cast(1.0 if k == p else 0.0) for k in params}
        tangents[p] = jax.jvp(values, (params,), (basis,))[1]
    loss_of = lambda q: values(q)["loss"]  # noqa: E731
    _, pullback = jax.vjp(loss_of, params)
    (reverse,) = pullback(cast(1.0))
    walk = explain(example, dtype)
    words = _words(lang)
    header = [words["node"], words["value"], *(words["jvp"].format(p=p) for p in m.params),
              words["vjp"]]
    rows = [[name, fmt(v, dtype), *(fmt(tangents[p][name], dtype) for p in m.params),
             fmt(walk.grad(name), dtype)] for name, v in primal.items()]
    agree = all(np.array_equal(tangents[p]["loss"], reverse[p], equal_nan=True)
                for p in m.params)
    result = ", ".join(f"dloss/d{p} = {fmt(reverse[p], dtype)}" for p in m.params)
    return [words["modes"].format(n=len(m.params)),
            *_table(header, rows),
            f"{result}  ({words['agree' if agree else 'disagree']})"]


def _op(node: cr.Node, params: Sequence[str], words: dict[str, str] | None = None) -> str:
    words = words or messages.section("walkthrough", "en")
    if node.is_leaf:
        return words["param"] if node.name in params else words["input"]
    if node.primitive is cr.POW:
        return f"pow {node.params['exponent']}"
    return node.primitive.name


def _pairs(names: Sequence[str], values, dtype) -> str:
    return ", ".join(f"{n}: {fmt(v, dtype)}" for n, v in zip(names, values))


def _width(text: str) -> int:
    """Columns a monospaced font gives ``text``: two for each Hangul syllable or jamo."""
    return sum(2 if "\u1100" <= ch <= "\u11ff" or "\u3130" <= ch <= "\u318f" or
               "\uac00" <= ch <= "\ud7a3" else 1 for ch in text)


def _table(header: Sequence[str], rows: list[Sequence[str]]) -> list[str]:
    widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(len(header))]
    pad = lambda c, w: c + " " * (w - _width(c))  # noqa: E731
    line = lambda r: "  ".join(pad(c, w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    return [line(header), line(["-" * w for w in widths]), *map(line, rows)]


def table(walk: cr.Walk, params: Sequence[str], dtype="float32",
          lang: str | None = None) -> list[str]:
    """The forward pass, then the backward pass, as aligned text tables, in ``lang``
    (:mod:`lec4_jax.language`)."""
    words = _words(lang)
    nodes = walk.graph.nodes
    forward = [[n.name, _op(n, params, words), ", ".join(i.name for i in n.inputs),
                fmt(n.value, dtype)] for n in nodes]
    backward = []
    for n in reversed(nodes):
        names = [i.name for i in n.inputs]
        backward.append([n.name, _op(n, params, words), fmt(walk.grad(n), dtype),
                         _pairs(names, cr.local_grads(n), dtype),
                         _pairs(names, walk.passed[n.index], dtype)])
    return [words["forward"],
            *_table([words[k] for k in ("node", "op", "inputs", "value")], forward),
            "",
            words["backward"],
            *_table([words[k] for k in ("node", "op", "upstream", "local", "passed")],
                    backward)]


def check_against_jax(model: model_lib.Model | str, walk: cr.Walk, dtype="float32",
                      lang: str | None = None) -> str:
    """One line: dloss/d(each parameter) from the walk, checked against ``jax.grad``, in
    ``lang``."""
    m = model_lib.get(model)
    params = {k: walk.value(k) for k in m.params}
    want = jax.grad(m.loss)(params, walk.value("x"), walk.value("y"))
    ours = ", ".join(f"dloss/d{k} = {fmt(walk.grad(k), dtype)}" for k in m.params)
    if all(np.array_equal(walk.grad(k), want[k], equal_nan=True) for k in m.params):
        return f"{ours}  ({_words(lang)['jax_agrees']})"
    theirs = ", ".join(f"dloss/d{k} = {fmt(want[k], dtype)}" for k in m.params)
    return f"{ours}  ({_words(lang)['jax_disagrees'].format(theirs=theirs)})"


def first_non_finite(walk: cr.Walk) -> str | None:
    """Where the walk's numbers blow up (a ``log`` of a negative number, a division by zero,
    an overflow): the first node in forward order whose value is not finite, else the first
    whose gradient is not, as text (``"log(x*w) is nan"``, ``"dloss/dw is inf"``); None when
    every number is finite."""
    nodes = [n for n in walk.graph.nodes if n.name != "const"]
    for label, number in ((lambda n: n.name, lambda n: n.value),
                          (lambda n: f"dloss/d{n.name}", walk.grad)):
        for n in nodes:
            if not np.all(np.isfinite(number(n))):
                return f"{label(n)} is {float(number(n))}"
    return None


def node_label(walk: cr.Walk, node: cr.Node, dtype="float32", lang: str | None = None) -> str:
    """A node's three lines: its formula, its value, and dloss/d(node)."""
    formula = cr.expression(node)
    what = node.name if _plain(formula) == _plain(node.name) else f"{node.name} = {formula}"
    d = node.name if cr.precedence(node) == cr.ATOM_BINDS else f"({node.name})"
    return (f"{what}\n{_words(lang)['value']} {fmt(node.value, dtype)}\n"
            f"dloss/d{d} {fmt(walk.grad(node), dtype)}")


def _plain(text: str) -> str:
    """A formula's text without spaces, powers written ^: a node named by its own formula."""
    return text.replace(" ", "").replace("**", "^")


def layout(walk: cr.Walk) -> dict[int, tuple[int, int]]:
    """Each node's (column, row), left to right as the lecture draws the graph.

    The loss sits in the last column and every other node just left of its first consumer, so
    an edge skips a column only where a value feeds two columns (``x`` in ``x^2*w2 + x*w1``).
    """
    nodes = walk.graph.nodes
    col = {}
    for n in nodes:  # recorded in topological order: the longest path from an input
        col[n.index] = 1 + max((col[i.index] for i in n.inputs), default=-1)
    for n in reversed(nodes):
        consumers = [col[c.index] for c in nodes if any(i is n for i in c.inputs)]
        if consumers:
            col[n.index] = min(consumers) - 1
    rows: dict[int, int] = {}
    place = {}
    for n in sorted(nodes, key=lambda n: (n.is_leaf, n.index)):  # ops above leaves
        place[n.index] = (col[n.index], rows.get(col[n.index], 0))
        rows[col[n.index]] = place[n.index][1] + 1
    return place


def _dot_id(node: cr.Node) -> str:
    return f"n{node.index}"


def _quote(text: str) -> str:
    """A DOT string literal; newlines become DOT's centred line breaks."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def dot(walk: cr.Walk, params: Sequence[str], dtype="float32", title: str = "",
        lang: str | None = None) -> str:
    """Graphviz DOT of the annotated graph.

    Forward edges (solid, black) carry the input's value; backward edges (dashed, red) carry the
    gradient passed back to that input. Each node shows its op, its value and dL/d(node).
    """
    out = ["digraph backprop {", '  rankdir=LR; fontname="Helvetica";',
           '  node [fontname="Helvetica", fontsize=11];',
           '  edge [fontname="Helvetica", fontsize=10];']
    if title:
        out.append(f"  labelloc=t; label={_quote(title)};")
    for n in walk.graph.nodes:
        label = node_label(walk, n, dtype, lang)
        shape = "ellipse" if n.is_leaf else "box"
        style = ', style=filled, fillcolor="#fff3c4"' if n.name in params else ""
        out.append(f"  {_dot_id(n)} [label={_quote(label)}, shape={shape}{style}];")
    for n in walk.graph.nodes:
        for i, g in zip(n.inputs, walk.passed[n.index] or [None] * len(n.inputs)):
            out.append(f"  {_dot_id(i)} -> {_dot_id(n)} [label={_quote(fmt(i.value, dtype))}];")
            if g is not None:
                out.append(f"  {_dot_id(n)} -> {_dot_id(i)} [label={_quote(fmt(g, dtype))}, "
                           'color=red, fontcolor=red, style=dashed, constraint=false];')
    out.append("}")
    return "\n".join(out) + "\n"


def find_dot() -> str:
    """The path of Graphviz's ``dot``; without it, an error saying what to install."""
    exe = shutil.which("dot")
    if exe is None:
        raise InputError(f"Graphviz's dot is not on PATH; {INSTALL_GRAPHVIZ}")
    return exe


def render(dot_source: str, fmt_name: str, timeout: float = 60.0) -> bytes:
    """The graph rendered by Graphviz's ``dot`` as ``svg`` or ``png`` bytes, within
    ``timeout`` seconds."""
    try:
        proc = subprocess.run([find_dot(), f"-T{fmt_name}"], input=dot_source.encode(),
                              capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise InputError(f"Graphviz's dot took more than {timeout:g} s") from None
    except OSError as e:
        raise InputError(f"Graphviz's dot could not run ({e.strerror})") from None
    if proc.returncode != 0:
        reason = (proc.stderr.decode(errors="replace").strip().splitlines() or ["?"])[0]
        raise InputError(f"dot failed: {reason}")
    return proc.stdout
