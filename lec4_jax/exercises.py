"""The lesson's exercises, checked by computation: the answers are never stored.

Number exercises ask for gradients at a point: :func:`check` computes them with ``jax.grad`` and
compares. Code exercises ask for a function: :func:`check` runs the learner's function on several
inputs and compares it with the registry's model. Either way the verdict is a :class:`Verdict`,
shown in the notebook, never raised: right, wrong (with a hint that names what differs, never the
expected value) or blank ("not answered yet"). The words are in the message catalogue
(``lec4_jax/locale/<lang>/exercises.toml``).

    >>> from lec4_jax import exercises
    >>> exercises.check("lecture_x2", None, "en").status
    'blank'
    >>> exercises.check("lecture_x2", 10**400, "en").status
    'wrong'
"""

from __future__ import annotations

import dataclasses
import html
import math
from collections.abc import Mapping

import jax
import numpy as np

from lec4_jax import chain_rule as cr
from lec4_jax import language, messages
from lec4_jax import model as model_lib
from lec4_jax.tool.data import InputError
from lec4_jax.walkthrough import Example

STATUSES = ("right", "wrong", "blank")


class Verdict(str):
    """A verdict: its one-line message (a ``str``), with :attr:`status` ``"right"``,
    ``"wrong"`` or ``"blank"`` and :attr:`ok`. A notebook shows it; nothing raises it."""

    status: str

    def __new__(cls, message: str, status: str) -> Verdict:
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
        verdict = super().__new__(cls, message)
        verdict.status = status
        return verdict

    @property
    def ok(self) -> bool:
        return self.status == "right"

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        colour = {"right": "#1a7f37", "wrong": "#b35900", "blank": "#57606a"}[self.status]
        mark = {"right": "✔", "wrong": "✘", "blank": "…"}[self.status]
        return (f'<div style="border-left:4px solid {colour};padding:2px 8px">'
                f'<b style="color:{colour}">{mark}</b> {html.escape(str(self))}</div>')


class UnknownExercise(InputError, KeyError):
    """No exercise of that name; the message lists the ones there are."""

    __str__ = ValueError.__str__


@dataclasses.dataclass(frozen=True)
class Exercise:
    """A number exercise: the graph and the point (an :class:`Example`) where the learner
    computes every dloss/d(parameter) by hand."""

    example: Example

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

    def text(self, lang: str | None = None) -> str:
        """The question, with its point, its loss and the answer's form."""
        point = ", ".join(f"{k}={v:g}" for k, v in
                          [("x", self.x), ("y", self.y), *self.params.items()])
        m = model_lib.get(self.model)
        return messages.text("exercises", f"q_{m.name}", lang, point=point, form=self.form())


# The points are not the registry's examples (model.py's ``example``, which explain.py and the
# notebook's tables and pictures use): what those print is never an exercise's answer.
EXERCISES = {
    "lecture_x2": Exercise(Example.of(model_lib.LECTURE, x=2.0, y=4.0)),
    "bias": Exercise(Example.of(model_lib.AFFINE, {"w": 1.0, "b": 0.5}, x=2.0, y=1.0)),
    "polynomial": Exercise(Example.of(model_lib.QUADRATIC, {"w2": 0.5, "w1": 1.0, "b": 1.0},
                                      x=3.0, y=10.0)),
}


def _say(lang: str, key: str, **fields) -> str:
    """One message; with ``lang="both"``, the English and the Korean, joined by `` / ``."""
    langs = language.LANGS if lang == "both" else (lang,)
    return " / ".join(messages.text("exercises", key, code, **fields) for code in langs)


def short(value, width: int = 24) -> str:
    """What the learner gave, as one short line (a huge int or a long string cut)."""
    try:
        text = repr(value) if isinstance(value, str) else str(value)
    except Exception:  # noqa: BLE001 (a learner's object whose str fails)
        text = type(value).__name__
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1] + "…"


def as_float32(value) -> float | None:
    """``value`` as a finite float32 number, or None where it is not one (see :func:`problem`)."""
    if problem(value) is not None:
        return None
    return float(np.float32(float(value)))


def problem(value) -> str | None:
    """Why ``value`` is not a finite float32 number, or None where it is one: ``"is_text"`` (a
    string), ``"out_of_range"`` (a number beyond float32's range, ±3.4e38: a huge int,
    ``Fraction`` or ``Decimal``, 1e39, inf) or ``"not_a_number"`` (NaN, a bool, a list, an
    array of several values, any other object). Each is a message in the catalogue.

    >>> problem(-8), problem("-8"), problem(10**400), problem(float("nan"))
    (None, 'is_text', 'out_of_range', 'not_a_number')
    """
    if isinstance(value, (str, bytes)):
        return "is_text"
    if isinstance(value, bool) or value is None:
        return "not_a_number"
    try:
        number = float(value)
    except OverflowError:  # an int, Fraction or Decimal too big for a Python float
        return "out_of_range"
    except Exception:  # noqa: BLE001 (TypeError, ValueError, jax's own errors)
        return "not_a_number"
    if math.isnan(number):
        return "not_a_number"
    with np.errstate(over="ignore"):
        return None if np.isfinite(np.float32(number)) else "out_of_range"


def _lang(lang: str | None) -> str:
    lang = lang or language.chosen() or "both"
    return lang if lang == "both" else language.language(lang)


def exercise(name: str):
    """The exercise called ``name``; :class:`UnknownExercise` lists the names there are."""
    from lec4_jax import code_exercises

    every = {**EXERCISES, **code_exercises.CODE_EXERCISES}
    if not isinstance(name, str) or name not in every:
        raise UnknownExercise(f"no exercise {short(name)}; the exercises are: "
                              f"{', '.join(every)}", "name")
    return every[name]


def check(name: str, answer, lang: str | None = None) -> Verdict:
    """Checks an answer and returns its :class:`Verdict` (never raises for a bad answer).

    A number exercise takes a number for a one-parameter model, else ``{param: value}``; a
    code exercise takes the learner's function (see :mod:`lec4_jax.code_exercises`). ``None``
    is blank. ``lang`` is ``"en"``, ``"ko"`` or ``"both"``; ``None`` means the language set
    by :func:`lec4_jax.set_language`, and both where none was set.

    >>> check("lecture_x2", "eight", "en").status
    'wrong'
    """
    lang = _lang(lang)
    found = exercise(name)
    if not isinstance(found, Exercise):
        return found.check(answer, lang)
    want = found.solution()
    if answer is None or answer is Ellipsis or (
            isinstance(answer, Mapping) and all(v is None or v is Ellipsis
                                                for v in answer.values())):
        key = "blank" if len(want) > 1 else "blank_number"
        return Verdict(_say(lang, key, form=found.form()), "blank")
    if not isinstance(answer, Mapping):
        if len(want) > 1:
            return Verdict(_say(lang, "want_dict", form=found.form()), "wrong")
        answer = {next(iter(want)): answer}
    for k, v in want.items():
        if k not in answer or answer[k] is None or answer[k] is Ellipsis:
            return Verdict(_say(lang, "missing", k=k, form=found.form()), "wrong")
        why = problem(answer[k])
        if why is not None:
            return Verdict(_say(lang, why, k=k, a=short(answer[k])), "wrong")
        a = as_float32(answer[k])
        if not math.isclose(a, v, rel_tol=1e-6, abs_tol=1e-6):
            node, local = found.hint(k)
            return Verdict(_say(lang, "wrong", k=k, a=short(answer[k]), node=node,
                                local=f"{local:g}"), "wrong")
    got = ", ".join(f"dloss/d{k} = {v:g}" for k, v in want.items())
    return Verdict(_say(lang, "right", got=got), "right")


def compare_run(lines: list[str], lang: str | None = None) -> Verdict:
    """Compares the lines a learner's loop printed with ``lj.lecture``'s, and with the numbers
    of the lecture's PyTorch loop where torch is installed; the verdict says where they part.

    >>> compare_run(["predict (BT) 4.0 4.0"], "en").status
    'wrong'
    """
    from lec4_jax import code_exercises

    return code_exercises.compare_run(lines, _lang(lang))
