"""The lecture's trace lines, the JSON record of a run, sweep summaries and CSV rows.

Numbers print as the shortest decimal that round-trips the value in the compute dtype
(``str(numpy.float32(v))`` for float32), so nothing is lost and output compares exactly with
PyTorch's. JSON floats are the exact computed values (a float32 widens to float64 exactly);
the non-finite ones are the strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``, as strict JSON
has no literal for them. Nothing here prints or writes files (see :mod:`lec4_jax.tool.outputs`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from lec4_jax.walkthrough import fmt  # noqa: F401 (written once, in the lesson)

# Why a loss may not be finite before any step: what train.py and sweep.py say about it
NOT_FINITE_WHY = "a log of a number <= 0, a division by zero, an overflow"


def finite_steps(run) -> int:
    """Steps of the history before the first non-finite one: every one when there is none
    (what a picture draws)."""
    n = len(run.history.loss)
    return n if run.diverged_at is None else min(run.diverged_at, n)


def steps_shown(run) -> int:
    """Steps a report shows: all, or up to and including the first non-finite one."""
    return min(finite_steps(run) + (run.diverged_at is not None), len(run.history.loss))


def _grad_text(run, i: int, dtype) -> str:
    """A one-parameter model's gradient alone, as the lecture prints it, or ``name=value`` for
    each parameter of a larger model."""
    grads, names = run.history.grads, run.model.params
    if len(names) == 1:
        return fmt(grads[names[0]][i], dtype)
    return " ".join(f"{k}={fmt(grads[k][i], dtype)}" for k in names)


def trace_lines(run, trace: bool = True) -> Iterator[str]:
    """The lecture's standard output for a run, one line at a time (a generator: a run of
    millions of epochs is printed without holding its text).

    ``predict (BT)``, one ``\tgrad:  x y g`` line per step (when ``trace``; it needs the run's
    history), ``progress: epoch loss`` after each finished epoch (the loss of its last sample),
    then ``predict (AT)``. A run that diverged stops after its first non-finite step and prints
    no ``predict (AT)``.
    """
    h, dtype, predict_x = run.history, run.settings.dtype, run.settings.predict_x
    yield f"predict (BT) {fmt(predict_x, dtype)} {fmt(run.predict_before, dtype)}"
    epoch_loss = np.asarray(h.epoch_loss)
    finished = len(epoch_loss)  # epochs whose every step was finite
    if run.diverged_at is not None:
        finished = min(finished, run.diverged_at // run.num_samples)
    if trace:
        epochs = np.asarray(h.epoch)
        for i in range(steps_shown(run)):
            yield f"\tgrad:  {fmt(h.x[i], dtype)} {fmt(h.y[i], dtype)} {_grad_text(run, i, dtype)}"
            last_of_epoch = i + 1 == len(epochs) or epochs[i + 1] != epochs[i]
            if last_of_epoch and epochs[i] < finished:
                yield f"progress: {epochs[i]} {fmt(epoch_loss[epochs[i]], dtype)}"
    else:
        for e in range(finished):
            yield f"progress: {e} {fmt(epoch_loss[e], dtype)}"
    if run.diverged_at is None:
        yield f"predict (AT) {fmt(predict_x, dtype)} {fmt(run.predict_after, dtype)}"


_NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}  # repr -> strict JSON's


def json_float(value) -> float | str:
    """An exact JSON number, or a string for the non-finite values strict JSON cannot hold."""
    value = float(value)
    return value if math.isfinite(value) else _NON_FINITE[repr(value)]


def _json_numbers(values) -> list[str]:
    """JSON text of each value, exact (the shortest repr of the float64 it widens to)."""
    return [repr(v) if math.isfinite(v) else json.dumps(json_float(v))
            for v in np.asarray(values, np.float64).tolist()]


def history_json(run, config: dict[str, Any], platform: str,
                 rows_per_chunk: int = 8192) -> Iterator[str]:
    """The ``--output`` JSON object of a run, as text chunks (streamed: a long history is
    written without ever being held as one string or as Python objects).

    ``config`` is what the user asked for (the flags); ``settings`` the run's record. A
    one-parameter model (the lecture's) records its parameter (``w``) and ``grad`` per step and
    ``final_w``; the others record ``params`` and ``grads`` dicts per step and
    ``final_params``.
    """
    h, steps, s = run.history, steps_shown(run), run.settings
    names = run.model.params  # in the model's order, not the pytree's
    single = names[0] if len(names) == 1 else None
    final = {k: json_float(run.final_params[k]) for k in names}
    head = {
        "config": config,
        "settings": s.record(),
        "platform": platform,
        "dtype": s.dtype.name,
        "steps": "@STEPS@",
        **({f"final_{single}": final[single]} if single else {"final_params": final}),
        "predict_x": json_float(s.predict_x),
        "predict_before": json_float(run.predict_before),
        "predict_after": json_float(run.predict_after),
        "diverged_at_step": run.diverged_at,
    }
    before, after = json.dumps(head, indent=1, allow_nan=False).split('"@STEPS@"')
    yield before + "["
    for start in range(0, steps, rows_per_chunk):
        part = slice(start, min(steps, start + rows_per_chunk))
        epoch = np.asarray(h.epoch[part]).tolist()
        x, y, loss = (_json_numbers(a[part]) for a in (h.x, h.y, h.loss))
        p = {k: _json_numbers(h.params[k][part]) for k in names}
        g = {k: _json_numbers(h.grads[k][part]) for k in names}
        rows = []
        for i in range(len(epoch)):
            if single:
                tail = f'"{single}": {p[single][i]}, "loss": {loss[i]}, "grad": {g[single][i]}'
            else:
                pi = ", ".join(f'"{k}": {p[k][i]}' for k in names)
                gi = ", ".join(f'"{k}": {g[k][i]}' for k in names)
                tail = f'"params": {{{pi}}}, "loss": {loss[i]}, "grads": {{{gi}}}'
            rows.append(f'\n  {{"epoch": {epoch[i]}, "x": {x[i]}, "y": {y[i]}, {tail}}}')
        yield ("," if start else "") + ",".join(rows)
    yield ("\n " if steps else "") + "]" + after + "\n"


def stable_spans(rates) -> str:
    """The stable learning rates as text, e.g. ``(0, 0.204018) or (0.476538, 0.519014)``."""
    if rates.method == "not analysed":
        return f"not analysed ({rates.why})"
    spans = " or ".join(f"({lo:.6g}, {hi:.6g})" for lo, hi in rates.intervals) or "none"
    more = "" if rates.complete else " (higher rates not searched)"
    return f"{spans}{more}"


def stability_note(x, settings) -> str:
    """Which learning rates plain SGD is stable for on inputs ``x`` (see :mod:`stability`)."""
    from lec4_jax.tool import stability

    rates = stability.for_model(settings.model, x, 4 * settings.learning_rate,
                                dtype=settings.dtype)
    note = (f"with this data, plain SGD's stable learning rates are {stable_spans(rates)}"
            if rates.method == "not analysed" else
            f"with this data, plain SGD is stable for learning rates in {stable_spans(rates)} "
            f"({rates.method})")
    if settings.optimizer != "sgd":
        note += f" (that analysis is for sgd; this run used {settings.optimizer})"
    return f"{note}; got {settings.learning_rate:g}"


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


def sweep_lines(result, rates, target: dict, epochs: int, seconds: float, devices: str,
                shown: int = 24) -> list[str]:
    """What ``scripts/sweep.py`` prints: the grid, the stable rates (analytic for the lecture's
    model, numerical for the others), the measured stability, and (for small grids) every
    config. ``target``: the least-squares parameters, or None for a model that has none."""
    n = len(result)
    best = (result.model.why_no_least_squares if target is None else
            f"w* = {target['w']:.6g}" if list(target) == ["w"] else
            "least squares: " + ", ".join(f"{p} = {v:.6g}" for p, v in target.items()))
    lines = [f"{n} models x {epochs} epochs on {devices} device(s) in {seconds:.3g} s "
             f"(compiling included); {best}",
             f"stable learning rates ({rates.method}, plain SGD): {stable_spans(rates)}"]
    diverged = result.diverged
    lr = np.asarray(result.learning_rate, np.float64)
    if diverged.any():
        below = _largest_below(lr, diverged)
        lines.append(f"measured: {int(diverged.sum())} of {n} configs diverged; the smallest "
                     f"diverged learning rate is {lr[diverged].min():.6g}, " +
                     (f"the largest stable one below it {below:.6g}" if np.isfinite(below) else
                      "and no smaller one is stable"))
    else:
        lines.append(f"measured: none of {n} configs diverged")
    if n <= shown:
        lines += [sweep_csv_header(result), *sweep_csv_rows(result)]
    return lines


def _largest_below(lr, diverged) -> float:
    below = lr[~diverged & (lr < lr[diverged].min())]
    return float(below.max()) if below.size else float("nan")


def sweep_csv_header(result) -> str:
    """``lr,w_init,final_w,final_loss,diverged`` for the lecture's model; one ``<p>_init`` and
    one ``final_<p>`` column per parameter for the others."""
    return ",".join(name for name, _ in result.columns())


def sweep_csv_rows(result, start: int = 0, count: int | None = None) -> list[str]:
    """CSV rows for configs ``start`` to ``start + count`` of a sweep (default: all); floats
    exact (the shortest repr of the float64 each widens to)."""
    part = slice(start, None if count is None else start + count)
    *numbers, (_, diverged) = result.columns()
    columns = [np.asarray(c[part], np.float64).tolist() for _, c in numbers]
    bad = ["true" if b else "false" for b in np.asarray(diverged[part]).tolist()]
    return [",".join(map(repr, row)) + "," + b for *row, b in zip(*columns, bad)]
