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
from lec4_jax import model as model_lib
from lec4_jax.tool.data import InputError
from lec4_jax.tool.report import fmt, steps_shown

MAX_STEPS = 20_000  # 0.24 kB a step (linear) to 0.42 kB (quadratic): a page of 5 to 8 MB
TOLERANCE = 1e-3  # the quiz: an answer within 0.1 % (or 0.001 near zero) of JAX's is right
EN = {
    "title": "Back-propagation, step by step",
    "about": "{model}: {formula}, loss = (y_hat − y)² · {optimizer}, learning rate lr = {lr}",
    "diverged": "the run diverged at step {n}",
    "where": "step {i} / {last} · epoch {epoch} · sample x = {x}, y = {y}",
    "prev": "◀ previous", "next": "next ▶", "play": "play ▶", "pause": "pause ❚❚",
    "prev_aria": "previous step", "next_aria": "next step", "play_aria": "play the run",
    "pause_aria": "pause", "slider_aria": "step of the run", "controls": "step controls",
    "quiz": "quiz ✎", "quiz_off": "end quiz ✕", "quiz_aria": "quiz: compute the gradients",
    "graph": "computational graph", "caption": "the computational graph of this step's sample",
    "swipe": "⇆ swipe the graph sideways to see all of it",
    "legend_fwd": "forward pass: value of each node",
    "legend_bwd": "back-propagation: dloss/d(node)",
    "input": "input", "param": "parameter", "hidden": "?",
    "update": "update: p ← p − lr · g",
    "parameter": "parameter", "before": "before", "after": "after", "loss": "loss",
    "agrees": "✓ the handwritten back-propagation matches jax.grad",
    "disagrees": "✗ the handwritten back-propagation does NOT match jax.grad",
    "rounding": "Rounding: the compiled training run rounded differently from the step-by-step "
                "walk, which gives {items}. The page shows the training run's numbers.",
    "rounding_item": "{q} = {walk} (a difference of {n} in the last place)",
    "rounding_item_nf": "{q} = {walk}",
    "loss_chart": "loss before each step", "params_chart": "parameters before each step",
    "step_axis": "step", "final": "final",
    "keys": "Keys: ← → step · space play/pause · q quiz · Tab moves between controls. "
            "Link a step with #step=N, the quiz with #quiz.",
    "quiz_intro": "Quiz: compute dloss/d(node) for each node, from the loss back to the "
                  "parameters (dloss/dloss = 1). An answer within 0.1 % of JAX's number (or "
                  "within 0.001 when it is near zero) is right; three tries each.",
    "ask": "dloss/d{node} = ?", "answer_aria": "your answer for dloss/d{node}",
    "check": "check", "not_number": "Type a number, for example -2.5.",
    "right": "✓ Right: dloss/d{node} = {value}",
    "wrong": "✗ Not yet (try {k} of 3).",
    "hint": "Hint, the chain rule: dloss/d{node} = {terms}, where {locals}.",
    "local": "the local gradient {d} = {rule}",
    "reveal": "The answer is dloss/d{node} = {value} (after three tries).",
    "done": "This step's gradients are all found: the update below uses them.",
    "score": "score: {right} of {asked} right",
    "fwd_head": "forward", "bwd_head": "backward",
    "starts": "dloss/dloss = 1: back-propagation starts at the loss",
    "is_param": "{name} = {value}: a parameter, its value before this step's update",
    "is_input": "{name} = {value}: an input, from this step's sample",
    "pick": "Click a node, or Tab to it and press Enter, to explain it.",
    "node_aria": "{label}: value {value}, dloss/d{name} {grad}",
}
KO = {
    "title": "역전파 한 스텝씩 따라가기",
    "about": "{model}: {formula}, 손실 = (y_hat − y)² · {optimizer}, 학습률 lr = {lr}",
    "diverged": "스텝 {n}에서 발산했습니다",
    "where": "스텝 {i} / {last} · 에포크 {epoch} · 표본 x = {x}, y = {y}",
    "prev": "◀ 이전", "next": "다음 ▶", "play": "재생 ▶", "pause": "멈춤 ❚❚",
    "prev_aria": "이전 스텝", "next_aria": "다음 스텝", "play_aria": "학습 과정 재생",
    "pause_aria": "멈춤", "slider_aria": "학습 스텝", "controls": "스텝 이동",
    "quiz": "퀴즈 ✎", "quiz_off": "퀴즈 끝내기 ✕", "quiz_aria": "퀴즈: 기울기를 직접 계산하기",
    "graph": "계산 그래프", "caption": "이번 스텝에서 쓰는 표본의 계산 그래프",
    "swipe": "⇆ 그래프를 옆으로 밀면 전체를 볼 수 있습니다",
    "legend_fwd": "순전파: 노드의 값",
    "legend_bwd": "역전파: 손실의 기울기 dloss/d(노드)",
    "input": "입력", "param": "파라미터", "hidden": "?",
    "update": "갱신: p ← p − lr · g",
    "parameter": "파라미터", "before": "갱신 전", "after": "갱신 후", "loss": "손실",
    "agrees": "✓ 직접 구현한 역전파 결과가 jax.grad와 일치합니다",
    "disagrees": "✗ 직접 구현한 역전파 결과가 jax.grad와 다릅니다",
    "rounding": "반올림 차이: 컴파일해서 실행한 학습은 한 단계씩 계산할 때와 반올림이 조금 "
                "다릅니다. 한 단계씩 계산하면 {items}입니다. 이 페이지는 컴파일된 학습의 값을 보여 "
                "줍니다.",
    "rounding_item": "{q} = {walk}(마지막 자리에서 {n}만큼 차이)",
    "rounding_item_nf": "{q} = {walk}",
    "loss_chart": "각 스텝 전의 손실", "params_chart": "각 스텝 전의 파라미터",
    "step_axis": "스텝", "final": "최종",
    "keys": "단축키: ← → 스텝 이동 · 스페이스바 재생/멈춤 · q 퀴즈 · Tab으로 버튼 사이 이동. "
            "#step=N으로 스텝을, #quiz로 퀴즈를 링크할 수 있습니다.",
    "quiz_intro": "퀴즈: 손실에서 파라미터 쪽으로 거슬러 가며 노드마다 dloss/d(노드)를 직접 "
                  "계산해 보세요(dloss/dloss = 1). JAX가 계산한 값과의 차이가 0.1% 이내이면"
                  "(0에 가까우면 0.001 이내) 정답입니다. 문제마다 세 번까지 답할 수 있습니다.",
    "ask": "dloss/d{node} = ?", "answer_aria": "dloss/d{node}의 답",
    "check": "확인", "not_number": "숫자를 입력하세요(예: -2.5).",
    "right": "✓ 정답입니다: dloss/d{node} = {value}",
    "wrong": "✗ 다시 해 보세요(3번 중 {k}번째 시도).",
    "hint": "힌트(연쇄 법칙): dloss/d{node} = {terms}이고, {locals}입니다.",
    "local": "국소 기울기 {d} = {rule}",
    "reveal": "정답은 dloss/d{node} = {value}입니다(세 번의 시도를 모두 썼습니다).",
    "done": "이 스텝의 기울기를 모두 구했습니다. 아래 갱신에 이 값이 쓰입니다.",
    "score": "점수: {asked}문제 중 {right}문제 정답",
    "fwd_head": "순전파", "bwd_head": "역전파",
    "starts": "dloss/dloss = 1: 역전파는 손실에서 시작합니다",
    "is_param": "{name} = {value}: 파라미터, 이번 스텝에서 갱신하기 전의 값",
    "is_input": "{name} = {value}: 입력, 이번 스텝의 표본",
    "pick": "노드를 클릭하거나 Tab으로 가서 Enter를 누르면 그 노드에 대한 설명이 나옵니다.",
    "node_aria": "{label}: 값 {value}, dloss/d{name} {grad}",
}
LABELS = {"en": EN, "ko": KO}


def check_size(steps: int) -> None:
    if steps > MAX_STEPS:
        raise InputError(f"the page holds at most {MAX_STEPS:,} steps (0.24 to 0.42 kB each); this "
                         f"run has {steps:,}: train fewer epochs or samples", "html")


def _ulps(a, b, dtype) -> int | None:
    """How many representable numbers of ``dtype`` apart ``a`` and ``b`` are (None: not finite)."""
    a, b = np.dtype(dtype).type(a), np.dtype(dtype).type(b)
    if not (np.isfinite(a) and np.isfinite(b)):
        return None
    ints = np.int32 if np.dtype(dtype).itemsize == 4 else np.int64
    ordered = [int(v.view(ints)) for v in (a, b)]
    ordered = [o if o >= 0 else np.iinfo(ints).min - o for o in ordered]
    return abs(ordered[0] - ordered[1])


def page_data(run, lang: str = "en") -> dict:
    """The numbers the page shows, all computed here: every step's walk, update and history.

    ``steps[i]``: ``epoch``, ``values`` and ``grads`` (one per node, in ``nodes`` order: the
    graph's forward value and dloss/d(node); the loss and dloss/d(parameter) are the compiled
    run's), ``next`` (each parameter after the update) and, where some input feeds several
    nodes, ``passed`` (the gradient each such edge carries back, in ``passed_edges`` order).
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
    values, grads, passed, want = _walks(m.name, params, x, y)
    # equivalent mutant (ReplaceBinaryOperator_BitAnd_BitOr): the walk and the run compute the
    # same ops elementwise, so a NaN on one side only would take more than rounding.
    same = lambda a, b: (a == b) | (np.isnan(a) & np.isnan(b))  # noqa: E731
    agrees = np.all([same(grads[k], want[k]) for k in m.params], axis=0)
    after = {k: np.append(np.asarray(h.params[k][1:n]),
                          np.asarray(h.params[k][n]) if n < len(h.loss) else
                          np.asarray(run.final_params[k])) for k in m.params}
    run_values = {"loss": np.asarray(h.loss[:n])}  # the compiled run's: one number each
    run_grads = {k: np.asarray(h.grads[k][:n]) for k in m.params}
    edges = [(j, name) for j, node in enumerate(nodes) for name in node["inputs"]]
    uses = {name: sum(1 for _, i in edges if i == name) for name in names}
    fan = [e for e, (_, i) in enumerate(edges) if uses.get(i, 0) > 1]
    f = lambda v: fmt(v, dtype)  # noqa: E731
    steps = []
    for i in range(n):
        step = {"epoch": int(h.epoch[i]), "values": [], "grads": []}
        walk = []
        for j, name in enumerate(names):
            for kind, own, theirs in (("value", values, run_values), ("grad", grads, run_grads)):
                number = own[name][i]
                if name in theirs:
                    if not same(number, theirs[name][i]):
                        walk.append([j, kind, f(number), _ulps(number, theirs[name][i], dtype)])
                    number = theirs[name][i]
                step[kind + "s"].append(f(number))
        step["next"] = {k: f(after[k][i]) for k in m.params}
        if fan:
            step["passed"] = [f(passed[e][i]) for e in fan]
        if walk:
            step["walk"] = walk
        steps.append(step)
    return {
        "labels": LABELS[lang], "lang": lang, "model": m.name, "formula": m.formula,
        "optimizer": s.optimizer, "learning_rate": f(s.learning_rate), "params": list(m.params),
        "nodes": nodes, "passed_edges": fan, "steps": steps,
        "disagree": [int(i) for i in np.flatnonzero(~agrees)],
        "charts": _charts(steps, names, list(m.params), dtype),
        "tolerance": TOLERANCE, "dtype": str(np.dtype(dtype)), "diverged_at": run.diverged_at,
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


# d(node)/d(each input) as the hint writes it, for the ops a formula adds (the page's script
# knows add, sub, mul, neg, square and pow itself): one text per input.
def _operand(name: str) -> str:
    """A node's name as an operand of ``/`` or a power: bracketed unless one name or call."""
    call = name[:1].isalpha() and name.endswith(")") and name.find("(") > 0 \
        and name[:name.find("(")].isidentifier()
    return name if name.isidentifier() or call else f"({name})"


_LOCAL_RULES = {
    "div": lambda a, b: [f"1/{_operand(b)}", f"−{_operand(a)}/{_operand(b)}²"],
    "exp": lambda a: [f"exp({a})"],
    "log": lambda a: [f"1/{a}"],
    "tanh": lambda a: [f"1 − tanh({a})²"],
    "sigmoid": lambda a: [f"sigmoid({a})·(1 − sigmoid({a}))"],
    "relu": lambda a: [f"1 if {a} > 0, else 0"],
}


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
                "inputs": [i.name for i in n.inputs if i.name != "const"]}
        if "exponent" in n.params:
            node["exponent"] = str(n.params["exponent"])
            node["exponent_less_1"] = str(n.params["exponent"] - 1)
        if not n.is_leaf and n.primitive.name in _LOCAL_RULES:  # a formula's function or /
            node["local"] = _LOCAL_RULES[n.primitive.name](*node["inputs"])
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
            lo = min(lo, 0.0)
        ticks = _nice_ticks(lo, hi)
        if ticks:
            lo, hi = min(lo, float(ticks[0])), max(hi, float(ticks[-1]))
        out[chart] = {"lo": lo, "hi": hi if hi > lo else lo + 1, "ticks": ticks}
    last = len(steps) - 1
    spacing = _step_spacing(last)
    ticks = [t for t in range(0, last + 1, spacing) if t == 0 or last - t >= spacing / 2]
    out["step_ticks"] = [str(t) for t in sorted({*ticks, last})]
    return out


def _step_spacing(last: int) -> int:
    if last < 5:
        return 1
    power = 10 ** math.floor(math.log10(last / 4))
    return next(k * power for k in (1, 2, 5, 10) if k * power >= last / 4)


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
    return values, grads, passed, jax.vmap(jax.grad(m.loss))(params, x, y)


def _walks(model, params, x, y):
    with jax.disable_jit():
        return jax.device_get(_walk_all(params, x, y, model=model))


def page(run, lang: str = "en") -> str:
    """The whole page: the template with the run's numbers embedded as JSON."""
    if lang not in LABELS:
        raise InputError(f"{lang!r} is not one of {', '.join(LABELS)}", "lang")
    template = resources.files("lec4_jax.tool").joinpath("stepthrough.html").read_text("utf-8")
    data = json.dumps(page_data(run, lang), ensure_ascii=False, separators=(",", ":"))
    data = data.replace("</", "<\\/")  # nothing in the JSON can close the script element
    return template.replace("__LANG__", lang).replace("__DATA__", data)
