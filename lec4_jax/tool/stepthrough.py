"""A step-through page of a whole run: one self-contained HTML file, no network, no server.

For every step it holds the graph of that step's sample with each node's forward value and
backward gradient (the handwritten walk, computed for all steps at once, and checked against
``jax.grad``), the update ``p <- p - lr * g``, and the loss and parameters so far. The numbers are
computed here, by JAX, and embedded as JSON; the page's JavaScript only displays them.
"""

from __future__ import annotations

import json
from importlib import resources

import jax
import numpy as np

from lec4_jax import chain_rule as cr
from lec4_jax import model as model_lib
from lec4_jax.tool.data import InputError
from lec4_jax.tool.report import fmt, steps_shown

MAX_STEPS = 20_000  # 0.35 kB a step (linear) to 0.6 kB (quadratic): a page of 7 to 12 MB
LABELS = {
    "en": {"title": "Back-propagation, step by step", "step": "step", "epoch": "epoch",
           "sample": "sample", "prev": "◀ previous", "next": "next ▶", "play": "play ▶",
           "pause": "pause ❚❚", "forward": "forward value", "backward": "dloss/dnode",
           "update": "update", "loss_so_far": "loss (before each step) so far",
           "params_so_far": "parameters so far", "agrees": "the handwritten walk agrees with "
           "jax.grad", "disagrees": "the handwritten walk DISAGREES with jax.grad",
           "fused": "the compiled run's gradient differs from the walk's in the last digit: "
           "XLA fused a multiply-add (one rounding instead of two)",
           "keys": "keys: ← → step, space play/pause; link a step with #step=N"},
    "ko": {"title": "역전파, 한 스텝씩", "step": "스텝", "epoch": "에포크", "sample": "표본",
           "prev": "◀ 이전", "next": "다음 ▶", "play": "재생 ▶", "pause": "멈춤 ❚❚",
           "forward": "순전파 값", "backward": "dloss/dnode", "update": "갱신",
           "loss_so_far": "지금까지의 손실 (각 스텝 전)", "params_so_far": "지금까지의 파라미터",
           "agrees": "손으로 쓴 역전파가 jax.grad와 같습니다",
           "disagrees": "손으로 쓴 역전파가 jax.grad와 다릅니다",
           "fused": "컴파일된 실행의 기울기가 마지막 자리에서 다릅니다: XLA가 곱셈과 덧셈을 "
           "합쳤습니다 (반올림 한 번)",
           "keys": "키: ← → 스텝 이동, 스페이스 재생/멈춤; #step=N으로 스텝 링크"},
}


def check_size(steps: int) -> None:
    if steps > MAX_STEPS:
        raise InputError(f"the page holds at most {MAX_STEPS:,} steps (0.35 to 0.6 kB each); this "
                         f"run has {steps:,}: train fewer epochs or samples", "html")


def page_data(run, lang: str = "en") -> dict:
    """The numbers the page shows, all computed here: every step's walk, update and history."""
    m, h, s = model_lib.get(run.model), run.history, run.settings
    n, dtype = steps_shown(run), s.dtype
    check_size(n)
    params = {k: np.asarray(h.params[k][:n]) for k in m.params}
    x, y = np.asarray(h.x[:n]), np.asarray(h.y[:n])
    names, values, grads, want = _walks(m.name, params, x, y)
    agrees = np.all([(grads[k] == want[k]) | (np.isnan(grads[k]) & np.isnan(want[k]))
                     for k in m.params], axis=0)
    after = {k: np.append(np.asarray(h.params[k][1:n]),
                          np.asarray(h.params[k][n]) if n < len(h.loss) else
                          np.asarray(run.final_params[k])) for k in m.params}
    f = lambda v: fmt(v, dtype)  # noqa: E731
    steps = [{
        "epoch": int(h.epoch[i]), "x": f(x[i]), "y": f(y[i]), "loss": f(h.loss[i]),
        "values": [f(values[name][i]) for name in names],
        "grads": [f(grads[name][i]) for name in names],
        "params": {k: f(params[k][i]) for k in m.params},
        "param_grads": {k: f(h.grads[k][i]) for k in m.params},
        "next": {k: f(after[k][i]) for k in m.params},
        "agrees": bool(agrees[i]),
        "fused": any(grads[k][i] != np.asarray(h.grads[k][i]) for k in m.params),
    } for i in range(n)]
    return {
        "labels": LABELS[lang], "lang": lang, "model": m.name, "formula": m.formula,
        "optimizer": s.optimizer, "learning_rate": f(s.learning_rate), "params": list(m.params),
        "nodes": _structure(m.name),
        "steps": steps, "diverged_at": run.diverged_at,
    }


def _structure(model: str) -> list[dict]:
    """The graph's nodes, in the order the engine records them, with their ops and inputs."""
    m = model_lib.get(model)
    walk = cr.walk(m.loss, dict.fromkeys(m.params, 1.0), 1.0, 1.0)
    return [{"name": n.name, "op": "param" if n.name in m.params else
             ("input" if n.is_leaf else n.primitive.name), "inputs": [i.name for i in n.inputs]}
            for n in walk.graph.nodes if n.name != "const"]


def _walk_all(params, x, y, *, model: str):
    """Every step's walk at once (the engine's ops are elementwise), op by op (eager): each
    value rounds as in the lecture's PyTorch loop. The compiled run may fuse a multiply-add
    and differ by an ulp (docs/parity.md); the page shows the
    run's own numbers in the update, and says where the two differ."""
    m = model_lib.get(model)
    walk = cr.walk(m.loss, params, x, y)
    named = [n for n in walk.graph.nodes if n.name != "const"]
    values = {n.name: jax.numpy.broadcast_to(n.value, x.shape) for n in named}
    grads = {n.name: jax.numpy.broadcast_to(walk.grad(n.name), x.shape) for n in named}
    return values, grads, jax.vmap(jax.grad(m.loss))(params, x, y)


def _walks(model, params, x, y):
    with jax.disable_jit():
        values, grads, want = jax.device_get(_walk_all(params, x, y, model=model))
    return [n["name"] for n in _structure(model)], values, grads, want


def page(run, lang: str = "en") -> str:
    """The whole page: the template with the run's numbers embedded as JSON."""
    if lang not in LABELS:
        raise InputError(f"{lang!r} is not one of {', '.join(LABELS)}", "lang")
    template = resources.files("lec4_jax.tool").joinpath("stepthrough.html").read_text("utf-8")
    data = json.dumps(page_data(run, lang), ensure_ascii=False, separators=(",", ":"))
    data = data.replace("</", "<\\/")  # nothing in the JSON can close the script element
    return template.replace("__LANG__", lang).replace("__DATA__", data)
