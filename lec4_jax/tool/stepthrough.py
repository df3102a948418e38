"""A step-through page of a whole run: one self-contained HTML file, no network, no server.

For every step it holds the graph of that step's sample with each node's forward value and
backward gradient dloss/d(node), the update ``p <- p - lr * g``, and the loss and parameters of the
whole run. The numbers are computed here, by JAX, and embedded as JSON; the page's JavaScript only
displays them (and, in the quiz, compares a learner's answer with them).

One number per quantity: the graph's intermediate values and gradients are the handwritten walk
(all steps at once, op by op, checked against ``jax.grad``), but the loss and dloss/d(parameter)
are the compiled run's own, the ones its update used. Where the walk rounded one of those
differently (XLA may fuse a multiply-add), the step lists the walk's number and how many units in
the last place it differs, and the page says so once, in words for a learner.
"""

from __future__ import annotations

import json
import math
from importlib import resources

import jax
import numpy as np

from lec4_jax import chain_rule as cr
from lec4_jax import language, messages
from lec4_jax import model as model_lib
from lec4_jax.tool.data import InputError
from lec4_jax.tool.report import fmt, steps_shown

MAX_STEPS = 20_000  # 0.29 kB a step (linear) to 0.52 kB (quadratic): a page of 6 to 10 MB
TOLERANCE = 1e-3  # the quiz: within 0.1 % of JAX's number, or of the step's largest gradient


def labels(lang: str) -> dict[str, str]:
    """The page's words in ``lang``, from the catalogue (lec4_jax/locale/<lang>/page.toml)."""
    return messages.section("page", lang)


def check_size(steps: int) -> None:
    if steps > MAX_STEPS:
        raise InputError(f"the page holds at most {MAX_STEPS:,} steps (0.29 to 0.52 kB each); this "
                         f"run has {steps:,}: train fewer epochs or samples", "html")


def _ulps(a, b, dtype) -> int | None:
    """How many representable numbers of ``dtype`` apart ``a`` and ``b`` are (None: not finite)."""
    a, b = np.dtype(dtype).type(a), np.dtype(dtype).type(b)
    if not (np.isfinite(a) and np.isfinite(b)):
        return None
    ints = np.int32 if np.dtype(dtype).itemsize == 4 else np.int64
    ordered = [int(v.view(ints)) for v in (a, b)]
    # equivalent mutant (ReplaceComparisonOperator_GtE_Lt): the map with the test flipped is
    # iinfo.min less this one, so every difference only changes its sign
    ordered = [o if o >= 0 else np.iinfo(ints).min - o for o in ordered]
    return abs(ordered[0] - ordered[1])


def _same(a, b):
    """Equal, or both NaN, elementwise."""
    # equivalent mutant (ReplaceBinaryOperator_BitAnd_BitOr): the walk and the run compute the
    # same ops elementwise, so a NaN on one side only would take more than rounding.
    return (a == b) | (np.isnan(a) & np.isnan(b))


def _edge_sets(nodes: list, names: list) -> tuple[list, list]:
    """The edges (in graph order) out of an input used more than once, and those into an op
    whose local gradient is not on the graph."""
    edges = [(j, name) for j, node in enumerate(nodes) for name in node["inputs"]]
    uses = {name: sum(1 for _, i in edges if i == name) for name in names}
    fan = [e for e, (_, i) in enumerate(edges) if uses.get(i, 0) > 1]
    local_edges = [e for e, (j, _) in enumerate(edges) if nodes[j]["op"] not in ON_GRAPH]
    return fan, local_edges


def _step(i, epoch, names, walks, params, after, state, f, dtype, passed, local) -> dict:
    """Step ``i``'s entry of ``page_data``'s ``steps``."""
    values, grads, run_values, run_grads = walks
    step = {"epoch": epoch, "values": [], "grads": []}
    walk = []
    for j, name in enumerate(names):
        for kind, own, theirs in (("value", values, run_values), ("grad", grads, run_grads)):
            number = own[name][i]
            if name in theirs:
                if not _same(number, theirs[name][i]):
                    walk.append([j, kind, f(number), _ulps(number, theirs[name][i], dtype)])
                number = theirs[name][i]
            step[kind + "s"].append(f(number))
    step["next"] = {k: f(after[k][i]) for k in params}
    # the step the optimizer took, in the compute dtype (for SGD: -lr * g, rounded)
    with np.errstate(all="ignore"):
        step["delta"] = {k: f(after[k][i] - params[k][i]) for k in params}
    for symbol, per_param in state.items():
        step.setdefault("state", {})[symbol] = {
            k: str(int(v[i])) if v.dtype.kind in "iu" else f(v[i]) for k, v in per_param.items()}
    if passed:
        step["passed"] = passed
    if local:
        step["local"] = local
    if walk:
        step["walk"] = walk
    return step


def page_data(run, lang: str = "en") -> dict:
    """The numbers the page shows, all computed here: every step's walk, update and history.

    ``steps[i]``: ``epoch``, ``values`` and ``grads`` (one per node, in ``nodes`` order: the
    graph's forward value and dloss/d(node); the loss and dloss/d(parameter) are the compiled
    run's), ``next`` (each parameter after the update) and, where some input feeds several
    nodes, ``passed`` (the gradient each such edge carries back, in ``passed_edges`` order) and
    ``local`` (the local gradient of each edge in ``local_edges``: into an op whose local
    gradient is not ±1 or a value on the graph).
    ``walk``, only on steps where the handwritten walk rounded the loss or a parameter's
    gradient differently: ``[node index, "value" or "grad", the walk's number, ulps apart]``.
    """
    m, h, s = model_lib.get(run.model), run.history, run.settings
    n, dtype = steps_shown(run), s.dtype
    check_size(n)
    params = {k: np.asarray(h.params[k][:n]) for k in m.params}
    x, y = np.asarray(h.x[:n]), np.asarray(h.y[:n])
    nodes = _structure(m.name)
    names = [node["name"] for node in nodes]
    values, grads, passed, local, want = _walks(m.name, params, x, y)
    agrees = np.all([_same(grads[k], want[k]) for k in m.params], axis=0)
    after = {k: np.append(np.asarray(h.params[k][1:n]),
                          np.asarray(h.params[k][n]) if n < len(h.loss) else
                          np.asarray(run.final_params[k])) for k in m.params}
    run_values = {"loss": np.asarray(h.loss[:n])}  # the compiled run's: one number each
    run_grads = {k: np.asarray(h.grads[k][:n]) for k in m.params}
    fan, local_edges = _edge_sets(nodes, names)
    f = lambda v: fmt(v, dtype)  # noqa: E731
    state = _optimizer_state(run, n)
    walks = (values, grads, run_values, run_grads)
    steps = [_step(i, int(h.epoch[i]), names, walks, params, after, state, f, dtype,
                   [f(passed[e][i]) for e in fan], [f(v[i]) for v in local])
             for i in range(n)]
    return {
        "labels": labels(lang), "lang": lang, "model": m.name, "formula": m.formula,
        "optimizer": s.optimizer, "learning_rate": f(s.learning_rate), "params": list(m.params),
        "nodes": nodes, "passed_edges": fan, "local_edges": local_edges,
        "steps": steps,
        "disagree": [int(i) for i in np.flatnonzero(~agrees)],
        "charts": _charts(steps, names, list(m.params), dtype),
        "tolerance": TOLERANCE, "dtype": str(np.dtype(dtype)), "diverged_at": run.diverged_at,
        **_health(run, f),
    }


def _layout(nodes) -> dict[str, tuple[int, int]]:
    """Each node's (column, row), left to right as the lecture draws the graph: the loss in the
    last column, every other node just left of its first consumer, ops above leaves (as
    :func:`lec4_jax.walkthrough.layout`)."""
    col: dict[str, int] = {}
    for n in nodes:
        col[n["name"]] = 1 + max((col[i] for i in n["inputs"] if i in col), default=-1)
    for n in reversed(nodes):
        consumers = [col[c["name"]] for c in nodes if n["name"] in c["inputs"]]
        if consumers:
            col[n["name"]] = min(consumers) - 1
    rows: dict[int, int] = {}
    place = {}
    for n in sorted(nodes, key=lambda n: (not n["inputs"], nodes.index(n))):
        place[n["name"]] = (col[n["name"]], rows.get(col[n["name"]], 0))
        rows[col[n["name"]]] = place[n["name"]][1] + 1
    return place


# d(node)/d(each input) as the page writes it (the quiz's hint, the explanation), for every op
# the engine records: one text per input, constants included (the page drops theirs). The ops
# in _AFTER_SLASH_OR_POWER write their input after ``/`` or before ``^``, where it is bracketed
# unless it is one piece: a name, one function's call (``exp(w)``, not ``exp(w) + exp(b)``) or a
# number not below 0 (``1/2``, ``1/(-2)``).
_LOCAL_RULES = {
    "add": lambda a, b: ["1", "1"],
    "sub": lambda a, b: ["1", "−1"],
    "neg": lambda a: ["−1"],
    "mul": lambda a, b: [b, a],  # the product's local gradient is the other factor
    "square": lambda a: [f"2·{a}"],
    "pow": lambda a, *, exponent: [f"{exponent}·{a}" if exponent == 2 else
                                   f"{exponent}·{a}^{exponent - 1}"],
    "div": lambda a, b: [f"1/{b}", f"−{a}/{b}²"],
    "exp": lambda a: [f"exp({a})"],
    "log": lambda a: [f"1/{a}"],
    "tanh": lambda a: [f"1 − tanh({a})²"],
    "sigmoid": lambda a: [f"sigmoid({a})·(1 − sigmoid({a}))"],
    "relu": lambda a: [f"1 if {a} > 0, else 0"],
}
_AFTER_SLASH_OR_POWER = frozenset({"square", "pow", "div", "log"})


def _local_texts(node) -> list[str]:
    """d(node)/d(each of its named inputs) as text; a constant input is written as its value.

    >>> from lec4_jax import model as model_lib
    >>> m = model_lib.get("sigmoid(x*w + b)")
    >>> w = cr.walk(m.loss, dict.fromkeys(m.params, np.float32(1)), np.float32(1), np.float32(1))
    >>> [_local_texts(n) for n in w.graph.nodes if not n.is_leaf][2]
    ['sigmoid(x*w + b)·(1 − sigmoid(x*w + b))']
    >>> m = model_lib.get("x/(exp(w) + exp(b))")
    >>> w = cr.walk(m.loss, dict.fromkeys(m.params, np.float32(1)), np.float32(1), np.float32(1))
    >>> [_local_texts(n) for n in w.graph.nodes if n.name == "y_hat"]
    [['1/(exp(w) + exp(b))', '−x/(exp(w) + exp(b))²']]
    """
    op = node.primitive.name
    text = [f"({t})" if op in _AFTER_SLASH_OR_POWER and cr.precedence(i) < cr.ATOM_BINDS else t
            for (t, _), i in zip(cr.operands(node), node.inputs)]
    rules = _LOCAL_RULES[op](*text, **node.params)
    return [r for r, i in zip(rules, node.inputs) if i.name != "const"]


def _structure(model: str) -> list[dict]:
    """The graph's nodes, in the order the engine records them, with their ops, inputs and
    (column, row) in the drawing."""
    m = model_lib.get(model)
    # equivalent mutant (NumberReplacer): the ops recorded and their inputs do not depend on
    # the numbers walked.
    # (NumPy numbers: a formula's division by zero there is inf, not Python's exception)
    one = np.float32(1.0)
    with np.errstate(all="ignore"):
        walk = cr.walk(m.loss, dict.fromkeys(m.params, one), one, one)
    nodes = []
    for n in walk.graph.nodes:
        if n.name == "const":
            continue
        node = {"name": n.name, "op": "param" if n.name in m.params else
                ("input" if n.is_leaf else n.primitive.name),
                "inputs": [i.name for i in n.inputs if i.name != "const"],
                "alone": cr.precedence(n) == cr.ATOM_BINDS}  # unbracketed in d/d(...)
        if "exponent" in n.params:
            node["exponent"] = str(n.params["exponent"])
        if not n.is_leaf:
            node["local"] = _local_texts(n)
            # its expression: each input (a constant, its number) and whether it is bracketed
            node["args"], node["wrap"] = map(list, zip(*cr.operands(n)))
        nodes.append(node)
    place = _layout(nodes)
    for node in nodes:
        node["col"], node["row"] = place[node["name"]]
    return nodes


def _nice_ticks(lo: float, hi: float, count: int = 4) -> list[str]:
    """Round numbers (1, 2 or 5 times a power of ten apart) from at or below ``lo`` to at or
    above ``hi``, for an axis."""
    if hi <= lo:
        lo, hi = lo - 1, hi + 1
    raw = (hi - lo) / count
    # equivalent mutant (NumberReplacer-1): hi > lo here, so raw is never in (-1, 0]
    if not (math.isfinite(lo) and math.isfinite(hi) and math.isfinite(raw) and raw > 0):
        return []  # a range wider than the largest float: the chart has no ticks
    power = 10.0 ** math.floor(math.log10(raw))
    # equivalent mutant (ReplaceComparisonOperator_GtE_Gt): equal only if k * power happens to
    # be raw less exactly one part in 1e9 of it
    step = next(k * power for k in (1, 2, 5, 10) if k * power >= raw * (1 - 1e-9))
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    ticks = [k * step for k in range(first, last + 1)]
    text = [f"{t:.{decimals}f}" if 1e-4 <= abs(t) < 1e6 else f"{t:.3g}" for t in ticks]
    return ["0" if t.strip("-0.") == "" else t for t in text]


def _charts(steps, names, params, dtype) -> dict:
    """Each chart's axes: the range of its finite values and round ticks, computed here."""
    loss_at = names.index("loss")
    out = {}
    series = {"loss": [s["values"][loss_at] for s in steps],
              "params": [s["values"][names.index(p)] for s in steps for p in params] +
              [s["next"][p] for s in steps[-1:] for p in params]}
    for chart, texts in series.items():
        finite = [v for v in (float(t) for t in texts) if math.isfinite(v)]
        lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
        if chart == "loss":
            positive = [v for v in finite if v > 0]
            if positive and max(positive) >= LOG_SPAN * min(positive):
                out[chart] = _log_axis(min(positive), max(positive))
                continue
            lo = min(lo, 0.0)
        ticks = _nice_ticks(lo, hi)
        if ticks:
            lo, hi = min(lo, float(ticks[0])), max(hi, float(ticks[-1]))
        out[chart] = {"lo": lo, "hi": hi if hi > lo else lo + 1, "ticks": ticks}
    last = len(steps) - 1
    spacing = _step_spacing(last)
    # a tick at least half a spacing before the last step, which has its own: 0 is one of them
    # (spacing < last unless there is one step, and that one is last)
    ticks = [t for t in range(0, last, spacing) if last - t >= spacing / 2]
    out["step_ticks"] = [str(t) for t in sorted({*ticks, last})]
    return out


LOG_SPAN = 1e3  # a loss spanning three decades or more is drawn on a log axis


def _log_axis(lo: float, hi: float) -> dict:
    """A log axis from the power of ten at or below ``lo`` to the one at or above ``hi``, ticks
    at powers of ten (every k-th decade, at most 5 ticks). The caller's ``hi`` is at least
    ``LOG_SPAN`` times ``lo``: three decades or more."""
    a, b = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    every = max(1, math.ceil((b - a) / 4))
    b = a + every * math.ceil((b - a) / every)  # the last tick at or above hi
    ticks = [f"1e{k}" if k else "1" for k in range(a, b + 1, every)]
    return {"lo": 10.0 ** a, "hi": 10.0 ** b, "ticks": ticks, "log": True}


def _step_spacing(last: int) -> int:
    if last < 5:
        return 1
    power = 10 ** math.floor(math.log10(last / 4))
    return next(k * power for k in (1, 2, 5, 10) if k * power >= last / 4)


ON_GRAPH = ("add", "sub", "neg", "mul")  # ops whose local gradient is ±1 or a value shown


def _walk_all(params, x, y, *, model: str):
    """Every step's walk at once (the engine's ops are elementwise), op by op (eager): each
    value rounds as in the lecture's PyTorch loop. The compiled run may fuse a multiply-add
    and differ by an ulp (docs/parity.md); the page shows the run's own loss and gradients,
    and says where the two differ."""
    m = model_lib.get(model)
    walk = cr.walk(m.loss, params, x, y)
    named = [n for n in walk.graph.nodes if n.name != "const"]
    shape = lambda v: jax.numpy.broadcast_to(v, x.shape)  # noqa: E731
    values = {n.name: shape(n.value) for n in named}
    grads = {n.name: shape(walk.grad(n.name)) for n in named}
    passed = [shape(walk.passed[n.index][k]) if walk.passed[n.index] else shape(np.nan)
              for n in named for k, i in enumerate(n.inputs) if i.name != "const"]
    # each edge's local gradient, the engine's own rule (cr.local_grads), where the page cannot
    # read it off the graph: every op but add, sub, neg and mul
    local = [shape(cr.local_grads(n)[k]) for n in named for k, i in enumerate(n.inputs)
             if i.name != "const" and n.primitive.name not in ON_GRAPH]
    return values, grads, passed, local, jax.vmap(jax.grad(m.loss))(params, x, y)


def _walks(model, params, x, y):
    with jax.disable_jit():
        return jax.device_get(_walk_all(params, x, y, model=model))


# the optimizer state's fields as its rule on the page writes them (lec4_jax/locale/*/page.toml)
STATE_SYMBOLS = {"trace": "v", "mu": "m", "nu": "s", "sum_of_squares": "s", "count": "t"}


def _optimizer_state(run, n: int) -> dict[str, dict[str, np.ndarray]]:
    """Each step's optimizer state after its update, ``{symbol: {parameter: values}}`` (a
    count: ``{"t": {"": values}}``), replayed by optax from the run's own parameters and
    gradients (the run keeps no state per step). Plain SGD has none: ``{}``."""
    from lec4_jax.tool import training

    s, h = run.settings, run.history
    opt = training.Rule.of(s.model, s.grad, s.optimizer).optimizer(
        s.dtype.type(s.learning_rate))
    names = list(run.model.params)
    params = {k: np.asarray(h.params[k][:n]) for k in names}
    grads = {k: np.asarray(h.grads[k][:n]) for k in names}

    def body(carry, pg):
        _, carry = opt.update(pg[1], carry, pg[0])
        return carry, carry

    # equivalent mutant (NumberReplacer): optax's init takes the parameters' shapes and dtypes,
    # not their values: every state kept here (trace, mu, nu, sum_of_squares, count) starts at
    # zero or at the rule's constant.
    first = {k: v[0] for k, v in params.items()}
    with np.errstate(all="ignore"):
        _, states = jax.device_get(jax.lax.scan(body, opt.init(first), (params, grads)))
    out: dict[str, dict[str, np.ndarray]] = {}
    for path, leaf in jax.tree_util.tree_flatten_with_path(states)[0]:
        field = next((k.name for k in reversed(path) if hasattr(k, "name")), None)
        param = path[-1].key if hasattr(path[-1], "key") else ""
        if field in STATE_SYMBOLS and (param in names or param == "") and np.ndim(leaf) == 1:
            out.setdefault(STATE_SYMBOLS[field], {})[param] = np.asarray(leaf)
    return {sym: {k: per[k] for k in ["", *names] if k in per} for sym, per in out.items()}


def _health(run, f) -> dict:
    """Whether the run diverged or rose (unstable), and which learning rates plain SGD is stable
    for on its data (what ``train.py`` prints): the page's banner."""
    unstable = bool(run.loss_after > run.loss_before) or not math.isfinite(run.loss_after)
    out = {"unstable": unstable and run.diverged_at is None,
           "loss_before": f(run.loss_before), "loss_after": f(run.loss_after), "stable": None}
    if unstable or run.diverged_at is not None:
        from lec4_jax.tool import stability

        s = run.settings
        x = np.asarray(run.history.x[:run.num_samples], np.float64)
        rates = stability.for_model(s.model, x, 4 * s.learning_rate, dtype=s.dtype)
        spans = " ∪ ".join(f"({lo:.6g}, {hi:.6g})" for lo, hi in rates.intervals) or "∅"
        out["stable"] = {"spans": spans + ("" if rates.complete else " …"),
                         "analysed": rates.method != "not analysed", "why": rates.why}
    return out


def page(run, lang: str = "en") -> str:
    """The whole page: the template with the run's numbers embedded as JSON."""
    if lang not in language.LANGS:
        raise InputError(f"{lang!r} is not one of {', '.join(language.LANGS)}", "lang")
    template = resources.files("lec4_jax.tool").joinpath("stepthrough.html").read_text("utf-8")
    data = json.dumps(page_data(run, lang), ensure_ascii=False, separators=(",", ":"))
    data = data.replace("</", "<\\/")  # nothing in the JSON can close the script element
    return template.replace("__LANG__", lang).replace("__DATA__", data)
