"""The lecture's exercises, with answers checked by computation, never stored.

Each exercise names a graph and a point; :func:`check` computes the true gradients with
``jax.grad`` there and compares the learner's answer. A blank answer is "not answered yet"; a
wrong one raises :class:`WrongAnswer` with a hint (in English or Korean), the local gradient of
the node where the parameter enters the graph, never the expected value, so a notebook cell fails
visibly; a right one returns a one-line confirmation.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import jax
import numpy as np

from lec4_jax import chain_rule as cr
from lec4_jax import language
from lec4_jax import model as model_lib
from lec4_jax.walkthrough import Example


class WrongAnswer(AssertionError):
    """The learner's answer differs from the computed one."""


@dataclasses.dataclass(frozen=True)
class Exercise:
    """A question on the walk-through's record: the graph and the point (an
    :class:`~lec4_jax.walkthrough.Example`), and the question's text."""

    example: Example
    text: dict  # {"en": ..., "ko": ...}: the question, with its loss and the answer's form

    model = property(lambda self: self.example.model)
    params = property(lambda self: self.example.params)
    x = property(lambda self: self.example.x)
    y = property(lambda self: self.example.y)

    def solution(self) -> dict[str, float]:
        """dloss/d(each parameter) at the exercise's point, by ``jax.grad``."""
        m = model_lib.get(self.model)
        p = {k: np.float32(v) for k, v in self.params.items()}
        g = jax.grad(m.loss)(p, np.float32(self.x), np.float32(self.y))
        return {k: float(g[k]) for k in m.params}

    def form(self) -> str:
        """The answer's form: a number for one parameter, else a dict of them."""
        names = model_lib.get(self.model).params
        return "..." if len(names) == 1 else "{" + ", ".join(f'"{k}": ...' for k in names) + "}"

    def hint(self, name: str) -> tuple[str, float]:
        """The node that parameter ``name`` feeds, and that node's local gradient with respect
        to it: the last factor of dloss/d(name) on the way back, not the answer."""
        m = model_lib.get(self.model)
        p = {k: np.float32(v) for k, v in self.params.items()}
        walk = cr.walk(m.loss, p, np.float32(self.x), np.float32(self.y))
        param = walk.node(name)
        node = next(n for n in walk.graph.nodes if param in n.inputs)
        return node.name, float(cr.local_grads(node)[node.inputs.index(param)])


EXERCISES = {
    "lecture_x2": Exercise(Example.of(model_lib.LECTURE, x=2.0, y=4.0), {
        "en": "The lecture's graph, y_hat = x*w and loss = (y_hat - y)^2, at x=2, y=4, w=1: what "
              "is dloss/dw? Answer with a number: `answer = ...`.",
        "ko": "강의 그래프 y_hat = x*w, loss = (y_hat - y)^2에서 x=2, y=4, w=1일 때 dloss/dw는 "
              "얼마일까요? 숫자 하나로 답하세요: `answer = ...`."}),
    "bias": Exercise(Example.of(model_lib.AFFINE), {  # at x=1, y=2, w=1, b=2
        "en": "With a bias, y_hat = x*w + b and loss = (y_hat - y)^2, at x=1, y=2, w=1, b=2: what "
              'are dloss/dw and dloss/db? Answer with a dict: `answer = {"w": ..., "b": ...}`.',
        "ko": "편향이 있는 모델 y_hat = x*w + b, loss = (y_hat - y)^2에서 x=1, y=2, w=1, b=2일 때 "
              "dloss/dw와 dloss/db는 얼마일까요? dict로 답하세요: "
              '`answer = {"w": ..., "b": ...}`.'}),
    "polynomial": Exercise(Example.of(model_lib.QUADRATIC), {  # x=2, y=3, w2=0.5, w1=1, b=0
        "en": "y_hat = x^2*w2 + x*w1 + b and loss = (y_hat - y)^2, at x=2, y=3, w2=0.5, w1=1, b=0: "
              'what are dloss/dw2, dloss/dw1 and dloss/db? Answer with a dict: '
              '`answer = {"w2": ..., "w1": ..., "b": ...}`.',
        "ko": "y_hat = x^2*w2 + x*w1 + b, loss = (y_hat - y)^2에서 x=2, y=3, w2=0.5, w1=1, b=0일 "
              "때 dloss/dw2, dloss/dw1, dloss/db는 얼마일까요? dict로 답하세요: "
              '`answer = {"w2": ..., "w1": ..., "b": ...}`.'}),
}

_MESSAGES = {
    "en": {"ok": "correct: {got}",
           "blank": "not answered yet: write answer = {form} in the cell above, run it, then run "
                    "this cell again",
           "missing": "give a value for {k} (a dict such as {want})",
           "wrong": "not yet: {a!r} is not dloss/d{k}. Hint: dloss/d{k} = dloss/d{node} * "
                    "d{node}/d{k}, and here d{node}/d{k} = {local:g}; find dloss/d{node} by "
                    "walking back from the loss, where dloss/dloss = 1."},
    "ko": {"ok": "정답입니다: {got}",
           "blank": "아직 답을 적지 않았습니다: 위 셀에 answer = {form} 꼴로 답을 적어 실행한 "
                    "뒤, 이 셀을 다시 실행하세요",
           "missing": "{k}의 값을 넣어 주세요 (예: {want} 같은 dict)",
           "wrong": "아직 아닙니다: 입력한 답({a!r})은 dloss/d{k}가 아닙니다. 힌트: dloss/d{k} = "
                    "dloss/d{node} * d{node}/d{k}이고, 여기서 d{node}/d{k} = {local:g}입니다. "
                    "dloss/d{node}는 손실(dloss/dloss = 1)에서부터 거꾸로 따라가며 구하세요."},
}


def _text(lang: str, key: str, **kw) -> str:
    """One message; with ``lang="both"``, the English and the Korean, joined by `` / ``."""
    langs = ("en", "ko") if lang == "both" else (lang,)
    return " / ".join(_MESSAGES[code][key].format(**kw) for code in langs)


def check(name: str, answer: float | Mapping[str, float] | None, lang: str | None = None) -> str:
    """Checks an answer: a number for a one-parameter model, else ``{param: value}``.

    Returns a one-line confirmation, or "not answered yet" for a blank answer (``None``);
    raises :class:`WrongAnswer` with a hint for the first wrong value (the local gradient of the
    node the parameter feeds), never the expected value. ``lang`` is ``"en"``, ``"ko"`` or
    ``"both"``; ``None`` means the language set by :func:`lec4_jax.set_language`, and both
    languages where none was set.
    """
    lang = lang or language.chosen() or "both"
    if lang != "both":
        language.language(lang)  # checked: "en" or "ko"
    exercise = EXERCISES[name]
    want = exercise.solution()
    if answer is None or (isinstance(answer, Mapping) and
                          all(v is None for v in answer.values())):
        return _text(lang, "blank", form=exercise.form())
    if not isinstance(answer, Mapping):
        answer = {next(iter(want)): answer} if len(want) == 1 else {}
    for k, v in want.items():
        if k not in answer or answer[k] is None:
            raise WrongAnswer(_text(lang, "missing", k=k, want={q: "..." for q in want}))
        a = answer[k]
        try:
            ok = math.isclose(float(a), v, rel_tol=1e-6, abs_tol=1e-6)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            node, local = exercise.hint(k)
            raise WrongAnswer(_text(lang, "wrong", k=k, a=a, node=node, local=local))
    got = ", ".join(f"dloss/d{k} = {v:g}" for k, v in want.items())
    return _text(lang, "ok", got=got)
