"""The lecture's trace lines, the JSON record of a run, and atomic output files.

Numbers print as the shortest decimal that round-trips the value in the compute dtype
(``str(numpy.float32(v))`` for float32), so nothing is lost and output compares exactly with
PyTorch's. JSON floats are the exact computed values (a float32 widens to float64 exactly);
the non-finite ones are the strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``, as strict JSON
has no literal for them.
"""

from __future__ import annotations

import json
import math
import os
import stat
import tempfile
from collections.abc import Iterator
from typing import Any

import numpy as np

from lec4_jax import model as model_lib
from lec4_jax.data import InputError


def fmt(value, dtype) -> str:
    """The shortest decimal that round-trips ``value`` in ``dtype``."""
    return str(np.dtype(dtype).type(value))


def _steps_shown(run) -> int:
    n = len(run.history.loss)
    return n if run.diverged_at is None else min(run.diverged_at + 1, n)


def _grad_text(run, i: int, dtype) -> str:
    """The lecture's one gradient, or ``name=value`` for each parameter of a larger model."""
    grads = run.history.grads
    if run.model == "linear":
        return fmt(grads["w"][i], dtype)
    return " ".join(f"{k}={fmt(grads[k][i], dtype)}" for k in model_lib.get(run.model).params)


def trace_lines(run, predict_x: float, dtype, trace: bool = True) -> Iterator[str]:
    """The lecture's standard output for a run.

    ``predict (BT)``, one ``\\tgrad:  x y g`` line per step (when ``trace``; it needs the run's
    history), ``progress: epoch loss`` after each finished epoch (the loss of its last sample),
    then ``predict (AT)``. A run that diverged stops after its first non-finite step and prints
    no ``predict (AT)``.
    """
    h = run.history
    yield f"predict (BT) {fmt(predict_x, dtype)} {fmt(run.predict_before, dtype)}"
    epoch_loss = np.asarray(h.epoch_loss)
    finished = len(epoch_loss)  # epochs whose every step was finite
    if run.diverged_at is not None:
        finished = min(finished, run.diverged_at // run.num_samples)
    if trace:
        epochs = np.asarray(h.epoch)
        for i in range(_steps_shown(run)):
            yield f"\tgrad:  {fmt(h.x[i], dtype)} {fmt(h.y[i], dtype)} {_grad_text(run, i, dtype)}"
            last_of_epoch = i + 1 == len(epochs) or epochs[i + 1] != epochs[i]
            if last_of_epoch and epochs[i] < finished:
                yield f"progress: {epochs[i]} {fmt(epoch_loss[epochs[i]], dtype)}"
    else:
        for e in range(finished):
            yield f"progress: {e} {fmt(epoch_loss[e], dtype)}"
    if run.diverged_at is None:
        yield f"predict (AT) {fmt(predict_x, dtype)} {fmt(run.predict_after, dtype)}"


def json_float(value) -> float | str:
    """An exact JSON number, or a string for the non-finite values strict JSON cannot hold."""
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def history_record(run, config: dict[str, Any], platform: str, dtype) -> dict[str, Any]:
    """The ``--output`` JSON object of a run.

    The lecture's model records ``w`` and ``grad`` per step and ``final_w``; the others record
    ``params`` and ``grads`` dicts per step and ``final_params``.
    """
    h, steps = run.history, _steps_shown(run)
    column = lambda a: [json_float(v) for v in np.asarray(a)[:steps]]  # noqa: E731
    names = model_lib.get(run.model).params  # in the model's order, not the pytree's
    params = {k: column(h.params[k]) for k in names}
    grads = {k: column(h.grads[k]) for k in names}
    rows = zip(np.asarray(h.epoch)[:steps].tolist(), column(h.x), column(h.y), column(h.loss))
    linear = run.model == "linear"
    records = []
    for i, (epoch, x, y, loss) in enumerate(rows):
        row = {"epoch": epoch, "x": x, "y": y}
        if linear:
            row.update(w=params["w"][i], loss=loss, grad=grads["w"][i])
        else:
            row.update(params={k: v[i] for k, v in params.items()}, loss=loss,
                       grads={k: v[i] for k, v in grads.items()})
        records.append(row)
    final = {k: json_float(run.final_params[k]) for k in names}
    return {
        "config": config,
        "platform": platform,
        "dtype": np.dtype(dtype).name,
        "steps": records,
        **({"final_w": final["w"]} if linear else {"final_params": final}),
        "predict_x": json_float(config["predict_x"]),
        "predict_before": json_float(run.predict_before),
        "predict_after": json_float(run.predict_after),
        "diverged_at_step": run.diverged_at,
    }


class AtomicFile:
    """A file that appears whole or not at all.

    Opening makes a temporary file beside ``path`` (so an unwritable path fails before any work
    is done); :meth:`commit` writes and renames it into place; :meth:`discard` removes it. A path
    that exists and is not a regular file (``/dev/stdout``, a pipe) is written in place: it cannot
    be replaced, and must never be.
    """

    def __init__(self, path: str, flag: str = "--output"):
        self.path, self._tmp = path, None
        if os.path.isdir(path):
            raise InputError(f"{flag}: {path}: is a directory")
        if os.path.exists(path) and not stat.S_ISREG(os.stat(path).st_mode):
            if not os.access(path, os.W_OK):
                raise InputError(f"{flag}: {path}: cannot write (permission denied)")
            return
        try:
            fd, self._tmp = tempfile.mkstemp(prefix=".tmp-",
                                             dir=os.path.dirname(os.path.abspath(path)))
        except OSError as e:
            raise InputError(f"{flag}: {path}: cannot write ({e.strerror})") from None
        os.close(fd)

    def commit(self, data: str | bytes) -> None:
        mode = "wb" if isinstance(data, bytes) else "w"
        with open(self._tmp or self.path, mode) as f:
            f.write(data)
        if self._tmp is not None:
            os.chmod(self._tmp, 0o644)
            os.replace(self._tmp, self.path)
            self._tmp = None

    def discard(self) -> None:
        if self._tmp is not None and os.path.exists(self._tmp):
            os.remove(self._tmp)
        self._tmp = None


def to_json(record: dict[str, Any]) -> str:
    return json.dumps(record, indent=1, allow_nan=False) + "\n"


def stability_note(x, learning_rate: float, optimizer: str) -> str:
    """Which learning rates plain SGD is stable for on inputs ``x`` (see :mod:`stability`)."""
    from lec4_jax import stability

    rates = stability.stable_learning_rates(x)
    spans = " or ".join(f"({lo:.6g}, {hi:.6g})" for lo, hi in rates.intervals)
    more = "" if rates.complete else " (higher rates not searched)"
    note = f"with this data, plain SGD is stable for learning rates in {spans}{more}"
    if optimizer != "sgd":
        note += f" (that analysis is for sgd; this run used {optimizer})"
    return f"{note}; got {learning_rate:g}"


def divergence_message(run) -> str:
    """One line: where a run first went non-finite, and what went."""
    step, n_samples = run.diverged_at, run.num_samples
    if step >= len(run.history.loss):
        return f"training diverged: the parameters became non-finite in the last step ({step - 1})"
    epoch, sample = divmod(step, n_samples)
    what, value = "loss", run.history.loss[step]
    if np.isfinite(value):
        what, value = next((k, v[step]) for k, v in run.history.params.items()
                           if not np.isfinite(v[step]))
    return (f"training diverged at epoch {epoch}, step {step} (sample {sample + 1} of "
            f"{n_samples}): {what} is {float(value)}")


def sweep_lines(result, rates, w_star: float, epochs: int, seconds: float, devices: str,
                shown: int = 24) -> list[str]:
    """What ``scripts/sweep.py`` prints: the grid, the analytic and measured stability, and
    (for small grids) every config."""
    n = len(result.final_w)
    spans = " or ".join(f"({lo:.6g}, {hi:.6g})" for lo, hi in rates.intervals)
    more = "" if rates.complete else " (higher rates not searched)"
    lines = [f"{n} models x {epochs} epochs on {devices} device(s) in {seconds:.3g} s "
             "(compiling included)"
             f"; w* = {w_star:.6g}",
             f"stable learning rates (analytic, plain SGD): {spans}{more}"]
    diverged = result.diverged
    lr = np.asarray(result.learning_rate, np.float64)
    if diverged.any():
        lines.append(f"measured: {int(diverged.sum())} of {n} configs diverged; the smallest "
                     f"diverged learning rate is {lr[diverged].min():.6g}, the largest stable "
                     f"one below it {_largest_below(lr, diverged):.6g}")
    else:
        lines.append(f"measured: none of {n} configs diverged")
    if n <= shown:
        lines += ["lr,w_init,final_w,final_loss,diverged", *_csv_rows(result)]
    return lines


def _largest_below(lr, diverged) -> float:
    below = lr[~diverged & (lr < lr[diverged].min())]
    return float(below.max()) if below.size else float("nan")


def _csv_rows(result) -> list[str]:
    return [f"{float(lr)!r},{float(w0)!r},{float(w)!r},{float(loss)!r},{str(bool(bad)).lower()}"
            for lr, w0, w, loss, bad in zip(*result)]


def _human(value: float, unit: str) -> str:
    if unit == "s":
        for scale, name in ((1, "s"), (1e-3, "ms"), (1e-6, "us")):
            if value >= scale:
                return f"{value / scale:.3g} {name}"
        return f"{value * 1e9:.3g} ns"
    for scale, name in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= scale:
            return f"{value / scale:.3g} {name}{unit}"
    return f"{value:.3g} {unit}"


def bench_row(row: str, what: str, value, unit: str, reference, goal) -> dict[str, Any]:
    """One benchmark row as a dict with its printed line: the figure, its ratio to the
    reference (how many times faster; for process rows the fraction of the reference's time),
    and the goal, met or not."""
    entry = {"row": row, "what": what, "value": value, "unit": unit, "ratio": None,
             "goal": None, "met": None}
    if value is None:
        entry["text"] = f"{row}  {what:<46} skipped (torch is not installed)"
        return entry
    text = f"{row}  {what:<46} {_human(value, unit):>16}"
    if reference is not None and unit == "s":
        entry["ratio"] = value / reference if goal and goal[0] == "of the seed" \
            else reference / value
        text += (f"  {entry['ratio']:.2f}x of the seed" if goal and goal[0] == "of the seed"
                 else f"  {entry['ratio']:.1f}x faster")
    if goal and goal[0] in ("of the seed", "faster than a") and reference is None:
        entry["goal"] = goal[0]
        text += "  (goal: no reference without torch)"
    elif goal:
        kind, target = goal
        if kind == "of the seed":
            entry["met"] = entry["ratio"] is not None and entry["ratio"] <= target
            entry["goal"] = f"<= {target}x of the seed's time"
        elif kind == "faster than a":
            entry["met"] = entry["ratio"] is not None and entry["ratio"] >= target
            entry["goal"] = f">= {target}x faster than a"
        else:
            entry["met"] = value >= target
            entry["goal"] = f">= {_human(target, unit)}"
        text += f"  (goal {entry['goal']}: {'met' if entry['met'] else 'NOT met'})"
    entry["text"] = text
    return entry
