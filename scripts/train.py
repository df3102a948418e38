"""Trains the lecture's model, w on y = x*w, by per-sample SGD in JAX (or an exercise's model).

With the default flags this is the lecture's PyTorch loop: ``predict (BT)``, a ``grad:`` line per
step, a ``progress:`` line per epoch, and ``predict (AT)``. Exit status: 0 when training finished,
1 when it diverged, 2 for a bad flag, file or number.
"""

from absl import flags, logging

import _cli
from lec4_jax import data, files, grads, model, platform, report, training

_MODEL = flags.DEFINE_enum("model", "linear", list(model.MODELS),
                           "linear: y = x*w (the lecture); affine: x*w + b; "
                           "quadratic: x^2*w2 + x*w1 + b.")
_LEARNING_RATE = flags.DEFINE_float("learning_rate", 0.01, "SGD step size: > 0, finite.")
_EPOCHS = flags.DEFINE_integer("epochs", 20, "Passes over the data.", lower_bound=1)
_PARAM_FLAGS = _cli.define_param_flags(", initial value")
_DATA_FLAGS = _cli.define_data_flags()
_PREDICT_X = flags.DEFINE_float("predict_x", 4.0, "Input for the before/after prediction.")
_GRAD = flags.DEFINE_enum("grad", "autodiff", grads.METHODS, "How dL/dw is computed.")
_OPTIMIZER = flags.DEFINE_enum("optimizer", "sgd", sorted(training.OPTIMIZERS), "optax optimizer.")
_LOOP = flags.DEFINE_enum("loop", "scan", training.LOOPS, "One compiled lax.scan, or a Python "
                          "loop over the jitted step.")
_PLATFORM = flags.DEFINE_enum("platform", "auto", platform.PLATFORMS, "Where JAX computes "
                              "(per-sample training itself runs on the host CPU; see README).")
_X64 = flags.DEFINE_bool("x64", False, "Compute in float64 instead of float32.")
_TRACE = flags.DEFINE_bool("trace", True, "Print the per-step grad: lines.")
_OUTPUT = flags.DEFINE_string("output", None, "Write the whole history here as JSON.")
_PLOT = flags.DEFINE_string("plot", None, "Draw the loss and the parameters per step (PNG).")
_FLAGS = (_MODEL, _LEARNING_RATE, _EPOCHS, *_PARAM_FLAGS.values(), *_DATA_FLAGS.values(),
          _PREDICT_X, _GRAD, _OPTIMIZER, _LOOP, _PLATFORM, _X64, _TRACE, _OUTPUT, _PLOT)
_cli.require_finite(_LEARNING_RATE, positive=True)
_cli.require_finite(_PREDICT_X)
_MAX_HISTORY_STEPS = 50_000_000  # ~1 GB of per-step history in float32


def main(_):
    params = _cli.model_params(_MODEL.value, _PARAM_FLAGS)
    dataset = _cli.load_data(_DATA_FLAGS)
    keep_history = bool(_TRACE.value or _OUTPUT.value or _PLOT.value)
    steps = _EPOCHS.value * len(dataset.x)
    if keep_history and steps > _MAX_HISTORY_STEPS:
        raise data.InputError(
            f"--epochs: {steps:,} steps is too many to keep a per-step history (at most "
            f"{_MAX_HISTORY_STEPS:,}); pass --trace=false, and no --output or --plot")
    device = platform.select(_PLATFORM.value, _X64.value)
    dtype = "float64" if _X64.value else "float32"
    output = files.AtomicFile(_OUTPUT.value) if _OUTPUT.value else None
    if _PLOT.value:  # before any work: a missing matplotlib is a usage error
        from lec4_jax import plots

        plots.require_matplotlib("--plot")
    plot = files.AtomicFile(_PLOT.value, "--plot") if _PLOT.value else None
    try:
        run = training.run(params, dataset.x, dataset.y, _LEARNING_RATE.value,
                           epochs=_EPOCHS.value, predict_x=_PREDICT_X.value, model=_MODEL.value,
                           dtype=dtype, grad=_GRAD.value, optimizer=_OPTIMIZER.value,
                           loop=_LOOP.value, keep_history=keep_history)
        print("\n".join(report.trace_lines(run, _PREDICT_X.value, dtype, _TRACE.value)))
        if output:
            record = report.history_record(run, _cli.flag_values(_FLAGS), device, dtype)
            output.commit(report.to_json(record))
        if plot:
            target = model.least_squares(_MODEL.value, dataset.x, dataset.y)
            title = f"{_MODEL.value}, {_OPTIMIZER.value}, learning rate {_LEARNING_RATE.value:g}"
            plot.commit(plots.training_png(run, target, title))
    finally:
        for out in (output, plot):
            if out:
                out.discard()
    def note():
        return report.stability_note(dataset.x, _LEARNING_RATE.value, _OPTIMIZER.value)

    if run.diverged_at is not None:
        _cli.fail(f"{report.divergence_message(run)}; {note()}", _cli.EXIT_FAILED)
    if run.loss_after > run.loss_before:
        logging.warning("the learning rate is unstable: the mean loss rose from %s to %s; %s",
                        run.loss_before, run.loss_after, note())


if __name__ == "__main__":
    _cli.run(main)
