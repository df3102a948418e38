"""Trains the lecture's model, w on y = x*w, by per-sample SGD in JAX (or an exercise's model).

With the default flags this is the lecture's PyTorch loop: ``predict (BT)``, a ``grad:`` line per
step, a ``progress:`` line per epoch, and ``predict (AT)``. Exit status: 0 when training finished,
1 when it diverged, 2 for a bad flag, file or number.
"""

from absl import flags, logging

import _cli
from lec4_jax import data, grads, model, platform, report, training

_MODEL = flags.DEFINE_enum("model", "linear", list(model.MODELS),
                           "linear: y = x*w (the lecture); affine: x*w + b; "
                           "quadratic: x^2*w2 + x*w1 + b.")
_LEARNING_RATE = flags.DEFINE_float("learning_rate", 0.01, "SGD step size: > 0, finite.")
_EPOCHS = flags.DEFINE_integer("epochs", 20, "Passes over the data.", lower_bound=1)
_PARAM_FLAGS = _cli.define_param_flags(", initial value")
_X_DATA = flags.DEFINE_list("x_data", list(map(str, data.LECTURE_X)), "Inputs, comma-separated.")
_Y_DATA = flags.DEFINE_list("y_data", list(map(str, data.LECTURE_Y)), "Targets, comma-separated.")
_DATA_CSV = flags.DEFINE_string("data_csv", None, "CSV of x,y rows (optional header); "
                                "replaces --x_data/--y_data.")
_PREDICT_X = flags.DEFINE_float("predict_x", 4.0, "Input for the before/after prediction.")
_GRAD = flags.DEFINE_enum("grad", "autodiff", grads.METHODS, "How dL/dw is computed.")
_OPTIMIZER = flags.DEFINE_enum("optimizer", "sgd", sorted(training.OPTIMIZERS), "optax optimizer.")
_LOOP = flags.DEFINE_enum("loop", "scan", training.LOOPS, "One compiled lax.scan, or a Python "
                          "loop over the jitted step.")
_PLATFORM = flags.DEFINE_enum("platform", "auto", platform.PLATFORMS, "Where JAX computes.")
_X64 = flags.DEFINE_bool("x64", False, "Compute in float64 instead of float32.")
_TRACE = flags.DEFINE_bool("trace", True, "Print the per-step grad: lines.")
_OUTPUT = flags.DEFINE_string("output", None, "Write the whole history here as JSON.")
_FLAGS = (_MODEL, _LEARNING_RATE, _EPOCHS, *_PARAM_FLAGS.values(), _X_DATA, _Y_DATA, _DATA_CSV,
          _PREDICT_X, _GRAD, _OPTIMIZER, _LOOP, _PLATFORM, _X64, _TRACE, _OUTPUT)
_cli.require_finite(_LEARNING_RATE, positive=True)
_cli.require_finite(_PREDICT_X)


def load_dataset() -> data.Dataset:
    if _DATA_CSV.value is None:
        x = data.parse_floats(_X_DATA.value, "x_data")
        return data.from_lists(x, data.parse_floats(_Y_DATA.value, "y_data"))
    if flags.FLAGS["x_data"].present or flags.FLAGS["y_data"].present:
        raise data.InputError("--data_csv excludes --x_data/--y_data: give one data source")
    return data.load_csv(_DATA_CSV.value)


def main(_):
    params = _cli.model_params(_MODEL.value, _PARAM_FLAGS)
    dataset = load_dataset()
    device = platform.select(_PLATFORM.value, _X64.value)
    dtype = "float64" if _X64.value else "float32"
    output = report.AtomicFile(_OUTPUT.value) if _OUTPUT.value else None
    try:
        run = training.run(params, dataset.x, dataset.y, _LEARNING_RATE.value,
                           epochs=_EPOCHS.value, predict_x=_PREDICT_X.value,
                           model=_MODEL.value, dtype=dtype,
                           grad=_GRAD.value, optimizer=_OPTIMIZER.value, loop=_LOOP.value)
        print("\n".join(report.trace_lines(run, _PREDICT_X.value, dtype, _TRACE.value)))
        if output:
            record = report.history_record(run, _cli.flag_values(_FLAGS), device, dtype)
            output.commit(report.to_json(record))
    finally:
        if output:
            output.discard()
    note = report.stability_note(dataset.x, _LEARNING_RATE.value, _OPTIMIZER.value)
    if run.diverged_at is not None:
        _cli.fail(f"{report.divergence_message(run, len(dataset.x))}; {note}", _cli.EXIT_FAILED)
    if run.loss_after > run.loss_before:
        logging.warning("the learning rate is unstable: the mean loss rose from %s to %s; %s",
                        run.loss_before, run.loss_after, note)


if __name__ == "__main__":
    _cli.run(main)
