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
import tempfile
from collections.abc import Iterator
from typing import Any

import numpy as np

from lec4_jax.data import InputError


def fmt(value, dtype) -> str:
    """The shortest decimal that round-trips ``value`` in ``dtype``."""
    return str(np.dtype(dtype).type(value))


def trace_lines(run, predict_x: float, dtype, trace: bool = True) -> Iterator[str]:
    """The lecture's standard output for a run of the linear model.

    ``predict (BT)``, one ``\\tgrad:  x y g`` line per step (when ``trace``), ``progress: epoch
    loss`` after each finished epoch (the loss of its last sample), then ``predict (AT)``. A run
    that diverged stops after its first non-finite step and prints no ``predict (AT)``.
    """
    h = run.history
    yield f"predict (BT) {fmt(predict_x, dtype)} {fmt(run.predict_before, dtype)}"
    epochs = np.asarray(h.epoch)
    steps = len(epochs) if run.diverged_at is None else min(run.diverged_at + 1, len(epochs))
    for i in range(steps):
        if trace:
            yield f"\tgrad:  {fmt(h.x[i], dtype)} {fmt(h.y[i], dtype)} {fmt(h.grads[i], dtype)}"
        last_of_epoch = i + 1 == len(epochs) or epochs[i + 1] != epochs[i]
        if last_of_epoch and (run.diverged_at is None or i < run.diverged_at):
            yield f"progress: {epochs[i]} {fmt(h.loss[i], dtype)}"
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
    """The ``--output`` JSON object of a run of the linear model."""
    h = run.history
    steps = len(h.loss) if run.diverged_at is None else min(run.diverged_at + 1, len(h.loss))
    columns = {k: np.asarray(getattr(h, k))[:steps].tolist()
               for k in ("epoch", "x", "y", "params", "loss", "grads")}
    return {
        "config": config,
        "platform": platform,
        "dtype": np.dtype(dtype).name,
        "steps": [
            {"epoch": int(columns["epoch"][i]),
             **{k: json_float(columns[src][i]) for k, src in
                (("x", "x"), ("y", "y"), ("w", "params"), ("loss", "loss"), ("grad", "grads"))}}
            for i in range(steps)
        ],
        "final_w": json_float(run.final_w),
        "predict_x": json_float(config["predict_x"]),
        "predict_before": json_float(run.predict_before),
        "predict_after": json_float(run.predict_after),
        "diverged_at_step": run.diverged_at,
    }


class AtomicFile:
    """A file that appears whole or not at all.

    Opening makes a temporary file beside ``path`` (so an unwritable path fails before any work
    is done); :meth:`commit` writes and renames it into place; :meth:`discard` removes it.
    """

    def __init__(self, path: str, flag: str = "--output"):
        self.path = path
        directory = os.path.dirname(os.path.abspath(path))
        if os.path.isdir(path):
            raise InputError(f"{flag}: {path}: is a directory")
        try:
            fd, self._tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
        except OSError as e:
            raise InputError(f"{flag}: {path}: cannot write ({e.strerror})") from None
        os.close(fd)

    def commit(self, data: str | bytes) -> None:
        mode = "wb" if isinstance(data, bytes) else "w"
        with open(self._tmp, mode) as f:
            f.write(data)
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


def divergence_message(run, n_samples: int) -> str:
    """One line: where a run first went non-finite, and what went."""
    step = run.diverged_at
    if step >= len(run.history.loss):
        return f"training diverged: w became non-finite after the last step ({step - 1})"
    epoch, sample = divmod(step, n_samples)
    what = "loss" if not np.isfinite(run.history.loss[step]) else "w"
    value = float(np.asarray(run.history.loss[step] if what == "loss" else
                             run.history.params[step]))
    return (f"training diverged at epoch {epoch}, step {step} (sample {sample + 1} of "
            f"{n_samples}): {what} is {value}")
