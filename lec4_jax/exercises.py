"""The lecture's exercises, with answers checked by computation, never stored.

Each exercise names a graph and a point; :func:`check` computes the true gradients with
``jax.grad`` there and compares the learner's answer. A wrong answer raises
:class:`WrongAnswer` with a message that says what was expected of which quantity (in English or
Korean), so a notebook cell fails visibly; a right one returns a one-line confirmation.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import jax
import numpy as np

from lec4_jax import model as model_lib


class WrongAnswer(AssertionError):
    """The learner's answer differs from the computed one."""


@dataclasses.dataclass(frozen=True)
class Exercise:
    model: str
    params: dict
    x: float
    y: float
    text: dict  # {"en": ..., "ko": ...}: the question

    def solution(self) -> dict[str, float]:
        """dloss/d(each parameter) at the exercise's point, by ``jax.grad``."""
        m = model_lib.get(self.model)
        p = {k: np.float32(v) for k, v in self.params.items()}
        g = jax.grad(m.loss)(p, np.float32(self.x), np.float32(self.y))
        return {k: float(g[k]) for k in m.params}


EXERCISES = {
    "lecture_x2": Exercise("linear", {"w": 1.0}, 2.0, 4.0, {
        "en": "The lecture's graph at x=2, y=4, w=1: what is dloss/dw?",
        "ko": "강의 그래프에서 x=2, y=4, w=1일 때 dloss/dw는?"}),
    "bias": Exercise("affine", {"w": 1.0, "b": 2.0}, 1.0, 2.0, {
        "en": "With a bias, y_hat = x*w + b, at x=1, y=2, w=1, b=2: dloss/dw and dloss/db?",
        "ko": "편향이 있는 모델 y_hat = x*w + b, x=1, y=2, w=1, b=2에서 dloss/dw와 dloss/db는?"}),
    "quadratic": Exercise("quadratic", {"w2": 0.5, "w1": 1.0, "b": 0.0}, 2.0, 3.0, {
        "en": "y_hat = x^2*w2 + x*w1 + b at x=2, y=3, w2=0.5, w1=1, b=0: dloss/dw2, dloss/dw1, "
              "dloss/db?",
        "ko": "y_hat = x^2*w2 + x*w1 + b, x=2, y=3, w2=0.5, w1=1, b=0에서 dloss/dw2, dloss/dw1, "
              "dloss/db는?"}),
}

_MESSAGES = {
    "en": {"ok": "correct: {got}", "missing": "give a value for {k} (a dict such as {want})",
           "wrong": "not yet: {k} should be {v:g}, you gave {a!r}. Walk the graph backwards: "
                    "multiply the upstream gradient by each node's local gradient."},
    "ko": {"ok": "정답입니다: {got}", "missing": "{k}의 값을 넣어 주세요 (예: {want} 같은 dict)",
           "wrong": "아직 아닙니다: {k}는 {v:g}이어야 하는데 {a!r}을(를) 넣었습니다. 그래프를 "
                    "거꾸로 따라가며 위에서 온 기울기에 각 노드의 국소 기울기를 곱해 보세요."},
}


class _Both(dict):
    """Both languages' messages, English then Korean, each formatted."""

    def __getitem__(self, key):
        return _Pair(key)


class _Pair(str):
    def __new__(cls, key):
        obj = super().__new__(cls, key)
        obj.key = key
        return obj

    def format(self, **kw):
        return " / ".join(_MESSAGES[lang][self.key].format(**kw) for lang in ("en", "ko"))


def check(name: str, answer: float | Mapping[str, float], lang: str = "both") -> str:
    """Checks an answer: a number for a one-parameter model, else ``{param: value}``.

    Returns a one-line confirmation; raises :class:`WrongAnswer` with the expected values.
    ``lang`` is ``"en"``, ``"ko"`` or ``"both"`` (the notebooks' code is the same in both).
    """
    exercise = EXERCISES[name]
    text = _Both() if lang == "both" else _MESSAGES[lang]
    want = exercise.solution()
    if not isinstance(answer, Mapping):
        answer = {next(iter(want)): answer} if len(want) == 1 else {}
    for k, v in want.items():
        if k not in answer or answer[k] is None:
            raise WrongAnswer(text["missing"].format(k=k, want={q: "..." for q in want}))
        a = answer[k]
        try:
            ok = math.isclose(float(a), v, rel_tol=1e-6, abs_tol=1e-6)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise WrongAnswer(text["wrong"].format(k=f"dloss/d{k}", v=v, a=a))
    got = ", ".join(f"dloss/d{k} = {v:g}" for k, v in want.items())
    return text["ok"].format(got=got)
