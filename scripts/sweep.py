"""Trains a grid of learning rates x w_init values at once, and finds where SGD diverges.

Each model is trained exactly as ``scripts/train.py`` would train it (the same step), vmapped,
chunked, and sharded over every visible device. Exit status: 0, or 2 for a bad flag or file.
"""

import time

import jax
from absl import flags

import _cli
from lec4_jax import data, files, grads, model, platform, report, stability, sweep, training

_LR_MIN = flags.DEFINE_float("lr_min", 1e-3, "Smallest learning rate, > 0.")
_LR_MAX = flags.DEFINE_float("lr_max", 1.0, "Largest learning rate, >= --lr_min.")
_NUM_LR = flags.DEFINE_integer("num_lr", 64, "How many learning rates.", lower_bound=1)
_SPACING = flags.DEFINE_enum("lr_spacing", "log", ["log", "linear"], "Learning-rate spacing.")
_W_INITS = flags.DEFINE_list("w_init_values", ["1.0"], "Initial weights, comma-separated.")
_EPOCHS = flags.DEFINE_integer("epochs", 20, "Passes over the data.", lower_bound=1)
_DATA_FLAGS = _cli.define_data_flags()
_GRAD = flags.DEFINE_enum("grad", "autodiff", grads.METHODS, "How dL/dw is computed.")
_OPTIMIZER = flags.DEFINE_enum("optimizer", "sgd", sorted(training.OPTIMIZERS), "optax optimizer.")
_PLATFORM = flags.DEFINE_enum("platform", "auto", platform.PLATFORMS, "Where JAX computes.")
_X64 = flags.DEFINE_bool("x64", False, "Compute in float64 instead of float32.")
_CHUNK = flags.DEFINE_integer(
    "chunk_size", None, "Models per chunk and device (default: "
    f"{sweep.DEFAULT_CHUNK['cpu']} on a CPU, {sweep.DEFAULT_CHUNK['accelerator']} on a GPU).",
    lower_bound=1)
_DISTRIBUTED = flags.DEFINE_bool("distributed", False, "Call jax.distributed.initialize() first "
                                 "(multi-host: run the same command on every host).")
_OUTPUT = flags.DEFINE_string("output", None, "Write one CSV row per config here.")
_PLOT = flags.DEFINE_string("plot", None, "Draw final |w - w*| against the learning rate (PNG).")
_cli.require_finite(_LR_MIN, positive=True)
_cli.require_finite(_LR_MAX, positive=True)
flags.register_multi_flags_validator(
    ["lr_min", "lr_max"], lambda v: v["lr_max"] >= v["lr_min"],
    message="--lr_max must be >= --lr_min")
_MAX_MODELS = 1_000_000_000  # 9 bytes of results each on the host
_SHOWN = 24  # print every config's row up to this many configs


def main(_):
    w_inits = data.parse_floats(_W_INITS.value, "w_init_values")
    if _NUM_LR.value * len(w_inits) > _MAX_MODELS:
        raise data.InputError(f"--num_lr x --w_init_values: {_NUM_LR.value * len(w_inits):,} "
                              f"models is more than {_MAX_MODELS:,} (memory for the results)")
    dataset = _cli.load_data(_DATA_FLAGS)
    if _DISTRIBUTED.value:
        jax.distributed.initialize()
    device = platform.select(_PLATFORM.value, _X64.value)
    dtype = "float64" if _X64.value else "float32"
    lead = jax.process_index() == 0
    output = files.AtomicFile(_OUTPUT.value) if _OUTPUT.value and lead else None
    if _PLOT.value:  # before any work: a missing matplotlib is a usage error
        from lec4_jax import plots

        plots.require_matplotlib("--plot")
    plot = files.AtomicFile(_PLOT.value, "--plot") if _PLOT.value and lead else None
    try:
        lrs = sweep.learning_rates(_LR_MIN.value, _LR_MAX.value, _NUM_LR.value, _SPACING.value)
        start = time.perf_counter()
        result = sweep.train_grid(lrs, w_inits, dataset.x, dataset.y, epochs=_EPOCHS.value,
                                  grad=_GRAD.value, optimizer=_OPTIMIZER.value, dtype=dtype,
                                  chunk=_CHUNK.value)
        seconds = time.perf_counter() - start
        if not lead:
            return
        w_star = model.least_squares("linear", dataset.x, dataset.y)["w"]
        rates = stability.stable_learning_rates(dataset.x)
        print("\n".join(report.sweep_lines(result, rates, w_star, _EPOCHS.value, seconds,
                                           f"{jax.device_count()} {device}", _SHOWN)))
        if output:
            output.commit(sweep.to_csv(result))
        if plot:
            title = (f"{len(dataset.x)} samples, {_EPOCHS.value} epochs, {_OPTIMIZER.value}, "
                     f"w* = {w_star:.6g}")
            plot.commit(plots.sweep_png(result, w_star, rates, title))
    finally:
        for out in (output, plot):
            if out:
                out.discard()


if __name__ == "__main__":
    _cli.run(main)
