"""The lecture's trace lines, the JSON record of a run, sweep summaries and CSV rows.

Numbers print as the shortest decimal that round-trips the value in the compute dtype
(``str(numpy.float32(v))`` for float32), so nothing is lost and output compares exactly with
PyTorch's. JSON floats are the exact computed values (a float32 widens to float64 exactly);
the non-finite ones are the strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``, as strict JSON
has no literal for them. Nothing here prints or writes files (see :mod:`lec4_jax.files`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from lec4_jax import model as model_lib


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
        lines += [SWEEP_CSV_HEADER, *sweep_csv_rows(result)]
    return lines


def _largest_below(lr, diverged) -> float:
    below = lr[~diverged & (lr < lr[diverged].min())]
    return float(below.max()) if below.size else float("nan")


SWEEP_CSV_HEADER = "lr,w_init,final_w,final_loss,diverged"


def sweep_csv_rows(result) -> list[str]:
    """One CSV row per config of a sweep; floats exact (shortest round trip)."""
    return [f"{float(lr)!r},{float(w0)!r},{float(w)!r},{float(loss)!r},{str(bool(bad)).lower()}"
            for lr, w0, w, loss, bad in zip(*result)]
