"""Trains the lecture's model, w on y = x*w, by per-sample SGD in JAX (or an exercise's model, or
a formula of your own: ``--model="sigmoid(x*w + b)" --init=w=0.5,b=0``).

With the default flags this is the lecture's PyTorch loop: ``predict (BT)``, a ``grad:`` line per
step, a ``progress:`` line per epoch, and ``predict (AT)``. Exit status: 0 when training finished,
1 when it diverged, 2 for a bad flag, file, number or environment (docs/contract.md).
"""

import math

from absl import flags, logging

import _cli

# Per-sample training is scalar work on the host CPU, where a fused multiply-add buys nothing
# measurable (docs/performance.md, row d): without it the run prints the lecture's digits.
_cli.lecture_arithmetic()

from lec4_jax import model  # noqa: E402 (after the arithmetic is set: it starts nothing)
from lec4_jax.tool import platform, report, runs, stepthrough, training  # noqa: E402
from lec4_jax.tool.settings import Settings  # noqa: E402

_SHARED = _cli.define_flags("model", "init", "epochs", "grad", "optimizer", "platform", "x64",
                            "progress")
_MODEL, _INIT, _EPOCHS, _GRAD, _OPTIMIZER, _PLATFORM, _X64, _PROGRESS = _SHARED.values()
_LEARNING_RATE = flags.DEFINE_float("learning_rate", 0.01, "SGD step size: > 0, finite.")
_PARAM_FLAGS = _cli.define_param_flags(", initial value (default: the model's)")
_DATA_FLAGS = _cli.define_data_flags()
_PREDICT_X = flags.DEFINE_float("predict_x", 4.0, "Input for the before/after prediction.")
_LOOP = flags.DEFINE_enum("loop", "scan", training.LOOPS, "One compiled lax.scan, or a Python "
                          "loop over the jitted step.")
_TRACE = flags.DEFINE_bool("trace", True, "Print the per-step grad: lines.")
_OUTPUT = flags.DEFINE_string("output", None, "Write the whole history here as JSON.")
_PLOT = flags.DEFINE_string("plot", None, "Draw the loss and the parameters per step (PNG).")
_LANDSCAPE = flags.DEFINE_string("landscape", None, "Draw the loss landscape with the run's path "
                                 "on it (PNG; one parameter: curves and tangents, two: contours).")
_ANIMATE = flags.DEFINE_string("animate", None, "Animate the run, one frame per step (thinned "
                               "to 200): .gif (Pillow) or .mp4 (needs ffmpeg).")
_HTML = flags.DEFINE_string("html", None, "Write a step-through page of the whole run here: one "
                            "self-contained HTML file; open it from disk.")
_LANG = _cli.define_flags("lang")["lang"]
_FLAGS = (_MODEL, _INIT, _LEARNING_RATE, _EPOCHS, *_PARAM_FLAGS.values(), *_DATA_FLAGS.values(),
          _PREDICT_X, _GRAD, _OPTIMIZER, _LOOP, _PLATFORM, _X64, _TRACE, _OUTPUT, _PLOT,
          _LANDSCAPE, _ANIMATE, _HTML, _LANG)


def main(_):
    from lec4_jax.tool import plots

    m = _cli.chosen_model(_MODEL)
    init = _cli.given_init(m, _INIT, _PARAM_FLAGS)
    out = _cli.outputs_from([
        (_OUTPUT, None), (_PLOT, plots.require_matplotlib),
        (_LANDSCAPE, lambda: (plots.require_matplotlib(), plots.require_landscape(m))),
        (_ANIMATE, lambda: plots.require_animation(_ANIMATE.value)), (_HTML, None)])
    settings = Settings(model=m, init=init,
                        learning_rate=_LEARNING_RATE.value, epochs=_EPOCHS.value,
                        optimizer=_OPTIMIZER.value, grad=_GRAD.value, loop=_LOOP.value,
                        x64=_X64.value, predict_x=_PREDICT_X.value,
                        keep_history=bool(_TRACE.value or _OUTPUT.value or _PLOT.value
                                          or _LANDSCAPE.value or _ANIMATE.value
                                          or _HTML.value))
    dataset = _cli.load_data(_DATA_FLAGS, settings.dtype)
    steps = settings.check_size(len(dataset.x))
    if _HTML.value:
        stepthrough.check_size(steps)
    device = platform.select(_PLATFORM.value, _X64.value)
    run = runs.run(settings, dataset.x, dataset.y,
                   progress=_cli.progress_line("epoch") if _PROGRESS.value else None)
    out.print_lines(report.trace_lines(run, _TRACE.value))
    if "--output" in out:
        out.commit("--output", report.history_json(run, _cli.flag_values(_FLAGS), device))
    if "--plot" in out or "--landscape" in out:
        target = model.least_squares(settings.model, dataset.x, dataset.y)
    title = f"{settings.model}, {settings.optimizer}, learning rate {settings.learning_rate:g}"
    if "--plot" in out:
        out.commit("--plot", lambda: plots.training_png(run, target, title))
    if "--landscape" in out:
        out.commit("--landscape",
                   lambda: plots.landscape_png(run, dataset.x, dataset.y, target, title))
    if "--animate" in out:
        ext = _ANIMATE.value[_ANIMATE.value.rfind("."):].lower()
        out.commit("--animate", lambda: plots.animation_bytes(run, ext, title))
    if "--html" in out:
        out.commit("--html", lambda: stepthrough.page(run, _LANG.value))
    if run.diverged_at is not None:
        start = ("" if run.diverged_at else "the loss is not finite at the starting point, "
                 f"before any step ({report.NOT_FINITE_WHY}); ")
        _cli.fail(f"{report.divergence_message(run)}; {start}"
                  f"{report.stability_note(dataset.x, settings)}", _cli.EXIT_FAILED)
    if not math.isfinite(run.loss_after):  # every step finite, the last one's loss is not
        _cli.fail(f"training diverged: the mean loss at the final parameters is "
                  f"{float(run.loss_after)} (it rose from {float(run.loss_before)}); "
                  f"{report.stability_note(dataset.x, settings)}", _cli.EXIT_FAILED)
    if run.loss_after > run.loss_before:
        logging.warning("the learning rate is unstable: the mean loss rose from %s to %s; %s",
                        run.loss_before, run.loss_after, report.stability_note(dataset.x, settings))
    return 0


if __name__ == "__main__":
    _cli.run(main)
