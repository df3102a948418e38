"""The exercises that ask for code, checked by running it (:func:`lec4_jax.exercises.check`).

Each runs the learner's function on several inputs and compares it with the registry's model
(``jax.grad`` of its loss, or the lecture's update). The verdict names the first sample and the
parameter that differ, and the node or rule to look at, never the expected value. A stub left as
it is (``...``, ``None``, or ``raise NotImplementedError``) is "not answered yet"; an error the
learner's code raises is a one-line verdict, not a traceback.

    >>> from lec4_jax import exercises
    >>> def grad_w_squared(w, x, y):
    ...     return 2 * (x * w**2 - y) * x * 2 * w
    >>> exercises.check("chain_w2", grad_w_squared, "en").status
    'right'
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import jax
import numpy as np

from lec4_jax import messages
from lec4_jax import model as model_lib
from lec4_jax.exercises import Verdict, as_float32, short


def _say(lang: str, key: str, **fields) -> str:
    langs = ("en", "ko") if lang == "both" else (lang,)
    return " / ".join(messages.text("exercises", key, code, **fields) for code in langs)


class _Blank(Exception):
    """The learner's function is still the stub."""


class _Raised(Exception):
    """The learner's function raised: ``args[0]`` is the one-line account."""


# What an error says where the learner's code calls a function still left as its stub (``...``
# called, or ``jax.grad`` of a function that returns None): sgd_epoch before bias_grad is written.
_STUB_CALLED = ("'ellipsis' object is not callable", "Output was None")


def _call(fn, *args):
    """The learner's ``fn(*args)``; a stub is :class:`_Blank`, an error :class:`_Raised`."""
    if fn is None or fn is Ellipsis:
        raise _Blank
    if not callable(fn):
        raise _Raised(f"TypeError: {short(fn)} is not a function")
    try:
        out = fn(*args)
    except NotImplementedError:
        raise _Blank from None
    except Exception as e:  # noqa: BLE001 (the learner's code: any error becomes a verdict)
        first = (str(e).strip().splitlines() or [""])[0]
        raise _Raised(f"{type(e).__name__}: {first[:80]}") from None
    if out is None or out is Ellipsis:
        raise _Blank
    return out


def _close(got, want: float) -> bool:
    got = as_float32(got)
    return got is not None and math.isclose(got, want, rel_tol=1e-5, abs_tol=1e-5)


def _values(out, names) -> dict:
    """The learner's result as {name: value}: a dict, or a tuple in ``names``' order."""
    if isinstance(out, Mapping):
        return {k: out.get(k) for k in names}
    if len(names) == 1:
        return {names[0]: out}
    if isinstance(out, (tuple, list)) and len(out) == len(names):
        return dict(zip(names, out))
    return {k: None for k in names}


def _point(**values) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in values.items())


@dataclasses.dataclass(frozen=True)
class CodeExercise:
    """A function to write, its model, the inputs it is run on, and what ``check`` compares."""

    kind: str  # "loss_and_grad" | "grad_by_hand" | "sgd_epoch"
    model: model_lib.Model
    points: tuple  # (x, y, {param: value}) for each sample tried

    def check(self, answer, lang: str) -> Verdict:
        fn = {"loss_and_grad": "bias_loss, bias_grad", "grad_by_hand": "grad_w_squared",
              "sgd_epoch": "sgd_epoch"}[self.kind]
        try:
            return getattr(self, "_" + self.kind)(answer, lang)
        except _Blank:
            return Verdict(_say(lang, "code_blank", fn=fn), "blank")
        except _Raised as e:
            key = "code_calls_stub" if any(m in e.args[0] for m in _STUB_CALLED) else "code_raised"
            return Verdict(_say(lang, key, fn=fn, error=e.args[0]), "wrong")

    def _truth(self, p, x, y):
        p32 = {k: np.float32(v) for k, v in p.items()}
        loss = float(self.model.loss(p32, np.float32(x), np.float32(y)))
        grads = jax.grad(self.model.loss)(p32, np.float32(x), np.float32(y))
        return loss, {k: float(grads[k]) for k in self.model.params}

    def _loss_and_grad(self, answer, lang):
        loss_fn, grad_fn = answer if isinstance(answer, (tuple, list)) else (answer, None)
        for i, (x, y, p) in enumerate(self.points, 1):
            where = _point(x=x, y=y, **p)
            loss, grads = self._truth(p, x, y)
            if not _close(_call(loss_fn, dict(p), x, y), loss):
                return Verdict(_say(lang, "code_loss", fn="bias_loss", i=i, point=where),
                               "wrong")
            got = _values(_call(grad_fn, dict(p), x, y), self.model.params)
            for k in self.model.params:
                if not _close(got[k], grads[k]):
                    return Verdict(_say(lang, f"code_grad_{k}", fn="bias_grad", i=i,
                                        point=where, k=k), "wrong")
        return Verdict(_say(lang, "code_right_bias", n=len(self.points)), "right")

    def _grad_by_hand(self, answer, lang):
        for i, (x, y, p) in enumerate(self.points, 1):
            _, grads = self._truth(p, x, y)
            if not _close(_call(answer, p["w"], x, y), grads["w"]):
                return Verdict(_say(lang, "code_chain_w2", fn="grad_w_squared", i=i,
                                    point=_point(x=x, y=y, **p)), "wrong")
        return Verdict(_say(lang, "code_right_chain", n=len(self.points)), "right")

    def _sgd_epoch(self, answer, lang):
        names = self.model.params
        for x, y, p in self.points:  # one sample at a time: one update
            _, g = self._truth(p, x, y)
            got = _values(_call(answer, dict(p), [x], [y], 0.01), names)
            for k in names:
                if not _close(got[k], np.float32(p[k]) - np.float32(0.01) * np.float32(g[k])):
                    return Verdict(_say(lang, "code_sgd_step", point=_point(x=x, y=y, **p),
                                        k=k), "wrong")
        x_data, y_data = [1.0, 2.0, 3.0], [3.0, 5.0, 7.0]  # y = 2x + 1 exactly
        start = {k: 0.0 for k in names}
        params = dict(start)
        for x, y in zip(x_data, y_data):  # the lecture's order: update after every sample
            _, g = self._truth(params, x, y)
            params = {k: float(np.float32(params[k]) - np.float32(0.05) * np.float32(g[k]))
                      for k in names}
        got = _values(_call(answer, dict(start), x_data, y_data, 0.05), names)
        if not all(_close(got[k], params[k]) for k in names):
            return Verdict(_say(lang, "code_sgd_order"), "wrong")
        fit = np.polyfit(x_data, y_data, 1)  # the least-squares line: w, b
        params, epochs = dict(start), 0
        while epochs < 400 and not all(abs(float(params[k]) - f) < 1e-3
                                       for k, f in zip(("w", "b"), fit)):
            params = _values(_call(answer, params, x_data, y_data, 0.05), names)
            epochs += 1
        if epochs == 400:
            return Verdict(_say(lang, "code_sgd_far"), "wrong")
        return Verdict(_say(lang, "code_right_sgd", epochs=epochs, w=f"{fit[0]:.4g}",
                            b=f"{fit[1]:.4g}"), "right")


CODE_EXERCISES: dict[str, CodeExercise] = {
    "bias_grad": CodeExercise("loss_and_grad", model_lib.AFFINE, (
        (2.0, 1.0, {"w": 1.0, "b": 0.5}), (-1.0, 3.0, {"w": 0.5, "b": -2.0}),
        (3.0, 4.0, {"w": -1.5, "b": 1.0}))),
    "chain_w2": CodeExercise("grad_by_hand", model_lib.W_SQUARED, (
        (2.0, 1.0, {"w": 0.5}), (1.0, 3.0, {"w": -1.5}), (-0.5, 1.0, {"w": 2.0}),
        (3.0, -2.0, {"w": 1.25}))),
    "sgd_epoch": CodeExercise("sgd_epoch", model_lib.AFFINE, (
        (2.0, 1.0, {"w": 1.0, "b": 0.5}), (-1.0, 3.0, {"w": 0.5, "b": -2.0}))),
}



def _torch_lines() -> tuple[list[str], str] | None:
    """The lecture's PyTorch loop, run (None where torch is not installed): its lines with each
    number written as :func:`lec4_jax.lecture.show` writes a float32, and how PyTorch itself
    prints the second step's gradient."""
    try:
        import torch
    except ImportError:
        return None
    from lec4_jax import lecture

    show = lambda t: lecture.show(np.float32(t.item()))  # noqa: E731
    lines, printed = [], []
    w = torch.tensor([1.0], requires_grad=True)
    lines.append(f"predict (BT) {lecture.show(4.0)} {show(4.0 * w)}")
    for epoch in range(20):
        for x_val, y_val in zip(lecture.x_data, lecture.y_data):
            y_pred = x_val * w
            loss = (y_pred - y_val) * (y_pred - y_val)
            loss.backward()
            lines.append(f"\tgrad:  {x_val} {y_val} {show(w.grad.data[0])}")
            printed.append(str(w.grad.data[0]))
            w.data = w.data - 0.01 * w.grad.data
            w.grad.data.zero_()
        lines.append(f"progress: {epoch} {show(loss.data[0])}")
    lines.append(f"predict (AT) {lecture.show(4.0)} {show(4.0 * w)}")
    return lines, printed[1]


def compare_run(lines: list[str], lang: str) -> Verdict:
    """The learner's printed lines against ``lj.lecture``'s and PyTorch's: where they part."""
    from lec4_jax import lecture

    theirs: list[str] = []
    lecture.train(out=lambda *words: theirs.append(" ".join(map(str, words))))
    mine = [str(line) for line in lines]
    if not mine:
        return Verdict(_say(lang, "run_empty", n=len(theirs)), "wrong")
    for i, (a, b) in enumerate(zip(mine, theirs), 1):
        if a.strip() != b.strip():
            return Verdict(_say(lang, "run_part", i=i, mine=short(a.strip(), 40),
                                theirs=short(b.strip(), 40)), "wrong")
    if len(mine) != len(theirs):
        return Verdict(_say(lang, "run_length", mine=len(mine), theirs=len(theirs),
                            n=min(len(mine), len(theirs))), "wrong")
    torch_run = _torch_lines()
    if torch_run is None:
        words = [_say(lang, "run_same", n=len(mine)), _say(lang, "run_no_torch")]
    elif [t.strip() for t in torch_run[0]] != [b.strip() for b in theirs]:
        return Verdict(_say(lang, "run_part_torch"), "wrong")
    else:
        words = [_say(lang, "run_same", n=len(mine)),
                 _say(lang, "run_torch_same", torch_text=torch_run[1], value=theirs[2].split()[-1])]
    return Verdict(" ".join(words), "right")
