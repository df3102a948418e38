"""Trains a grid of learning rates x initial values at once, and finds where SGD diverges.

Any model (``--model``: a registry name or a formula); the grid takes every learning rate with
every combination of the ``--<param>_init_values`` given (``--init``'s value, else the model's
default, for the others).

Each model is trained exactly as ``scripts/train.py`` would train it (the same step), vmapped,
chunked, and sharded over every visible device, on one host or several. Exit status: 0; 1 when
the loss is not finite at any starting point (as train.py); 2 for a bad flag, file, number or
environment (docs/contract.md).
"""

import math
import time

import numpy as np
from absl import flags

import _cli
from lec4_jax import model
from lec4_jax.tool import data, limits, platform, report, stability, sweep
from lec4_jax.tool.settings import Settings

_LR_MIN = flags.DEFINE_float("lr_min", 1e-3, "Smallest learning rate, > 0.")
_LR_MAX = flags.DEFINE_float("lr_max", 1.0, "Largest learning rate, >= --lr_min.")
_NUM_LR = flags.DEFINE_integer("num_lr", 64, "How many learning rates.", lower_bound=1)
_SPACING = flags.DEFINE_enum("lr_spacing", "log", ["log", "linear"], "Learning-rate spacing.")
_SHARED = _cli.define_flags("model", "init", "epochs", "grad", "optimizer", "platform", "x64",
                            "progress")
_MODEL, _INIT, _EPOCHS, _GRAD, _OPTIMIZER, _PLATFORM, _X64, _PROGRESS = _SHARED.values()
_INIT_FLAGS = _cli.define_param_list_flags()
_DATA_FLAGS = _cli.define_data_flags()
_CHUNK = flags.DEFINE_integer(
    "chunk_size", None, "Models per chunk and device (default: "
    f"{sweep.DEFAULT_CHUNK['cpu']} on a CPU, {sweep.DEFAULT_CHUNK['accelerator']} on a GPU).",
    lower_bound=1, upper_bound=1 << 30)
_DISTRIBUTED = flags.DEFINE_bool("distributed", False, "Run as one process of a multi-host "
                                 "cluster: jax.distributed.initialize() with the flags below, "
                                 "or JAX's cluster auto-detection for those not given.")
_COORDINATOR = flags.DEFINE_string("coordinator_address", None, "host:port of process 0 "
                                   "(with --distributed).")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", None, "Processes in the cluster "
                                      "(with --distributed).", lower_bound=1)
_PROCESS_ID = flags.DEFINE_integer("process_id", None, "This process's id, 0 to "
                                   "--num_processes - 1 (with --distributed).", lower_bound=0)
_TIMEOUT = flags.DEFINE_integer("distributed_timeout", 60, "Seconds to wait for every process "
                                "to join the cluster.", lower_bound=1)
_OUTPUT = flags.DEFINE_string("output", None, "Write one CSV row per config here.")
_PLOT = flags.DEFINE_string("plot", None, "Draw final |w - w*| against the learning rate (PNG).")
flags.register_multi_flags_validator(
    ["lr_min", "lr_max"], lambda v: not all(map(math.isfinite, v.values()))
    or v["lr_max"] >= v["lr_min"],
    message="--lr_max must be >= --lr_min")
_MAX_MODELS = 1_000_000_000  # 9 bytes of results each on the host
_SHOWN = 24  # print every config's row up to this many configs
_PROGRESS_MODEL_STEPS = 20_000_000_000  # about 2 s of sweep on a 2-core CPU


def _grid_axes(settings: Settings) -> tuple[dict[str, list[float]], int]:
    """The grid's initial values given (``{param: values}``) and its size, each checked in the
    compute dtype, the grid's memory refused up front."""
    dtype, m = settings.dtype, settings.model
    for holder in (_LR_MIN, _LR_MAX):
        data.check_value(holder.value, dtype, holder.name, positive=True)
    given = {p: h for p, h in _INIT_FLAGS.items() if h.value is not None}
    model.check_params(m, given, lambda p: f"{model.init_field(p)}_values")
    inits = {}
    for p, holder in given.items():
        inits[p] = data.parse_floats(holder.value, holder.name)
        data.check_array(inits[p], dtype, holder.name)
    # --init: one initial value for a parameter not on the grid's axes
    for p, value in _cli.given_init(m, _INIT, {p: h for p, h in given.items()},
                                    lambda p: f"{model.init_field(p)}_values").items():
        if p not in inits:
            data.check_value(value, dtype, "init")
            inits[p] = [value]
    n_models = _NUM_LR.value * math.prod(map(len, inits.values()))
    if n_models > _MAX_MODELS:
        raise data.InputError(f"--num_lr x the initial values: {n_models:,} models is more than "
                              f"{_MAX_MODELS:,} (memory for the results)")
    limits.check_memory(limits.sweep_bytes(n_models, len(m.params), dtype.itemsize,
                                           bool(_PLOT.value)), f"{n_models:,} models", "num_lr")
    return inits, n_models


def _fail_if_no_finite_start(m, inits, dataset, dtype) -> None:
    """Exit 1, as train.py does, when the loss is not finite at any of the grid's starting
    points: no config took a step, so there is nothing to measure or analyse."""
    losses = sweep.start_losses(m, inits, dataset.x, dataset.y, dtype)
    if np.isfinite(losses).any():
        return
    points = sweep.init_points(m, inits)
    where = ("the starting point " + ", ".join(f"{p}={v[0]:g}" for p, v in points.items())
             if len(losses) == 1 else f"every one of the {len(losses):,} starting points")
    _cli.fail(f"every config diverged: the loss is not finite at {where}, before any step "
              f"({report.NOT_FINITE_WHY}); nothing to measure", _cli.EXIT_FAILED)


def main(_):
    from lec4_jax.tool import plots

    # One record of what every model of the grid is (the learning rates and the initial points
    # are the grid's axes), checked as train.py's is: the model, its rule, the compute dtype.
    settings = Settings(model=_cli.chosen_model(_MODEL), epochs=_EPOCHS.value, grad=_GRAD.value,
                        optimizer=_OPTIMIZER.value, x64=_X64.value, keep_history=False)
    dtype, m = settings.dtype, settings.model
    inits, n_models = _grid_axes(settings)
    dataset = _cli.load_data(_DATA_FLAGS, dtype)
    limits.check_steps(_EPOCHS.value, len(dataset.x))
    if _DISTRIBUTED.value:
        _cli.join_guarded(
            lambda: platform.join_cluster(_COORDINATOR.value, _NUM_PROCESSES.value,
                                          _PROCESS_ID.value, _TIMEOUT.value),
            f"--distributed: the cluster did not form within --distributed_timeout="
            f"{_TIMEOUT.value} s (is every process started, with the same "
            f"--coordinator_address and --num_processes?)")
    elif any(_cli.present(h) for h in (_COORDINATOR, _NUM_PROCESSES, _PROCESS_ID)):
        raise data.InputError("--coordinator_address, --num_processes and --process_id need "
                              "--distributed")
    lead = platform.is_lead()
    out = _cli.outputs_from([(_OUTPUT, None), (_PLOT, plots.require_matplotlib)], enabled=lead)
    device = platform.select(_PLATFORM.value, _X64.value)
    lrs = sweep.learning_rates(_LR_MIN.value, _LR_MAX.value, _NUM_LR.value, _SPACING.value)
    start = time.perf_counter()
    long = n_models * _EPOCHS.value * len(dataset.x) > _PROGRESS_MODEL_STEPS
    options = dict(epochs=settings.epochs, model=m, grad=settings.grad,
                   optimizer=settings.optimizer, dtype=dtype, chunk=_CHUNK.value)
    result = sweep.train_grid(lrs, inits, dataset.x, dataset.y, **options,
                              progress=_cli.progress_line("model")
                              if _PROGRESS.value and long and lead else None)
    seconds = time.perf_counter() - start
    if result.diverged.all():
        _fail_if_no_finite_start(m, inits, dataset, dtype)
    rates = stability.for_model(m, dataset.x, float(lrs.max()), sweep.best_fit(result), dtype)
    extra = None  # for the plot: extra rates that trace each stable window and its edges
    extra_lrs = sweep.refined_rates(rates.intervals, lrs.min(), lrs.max()) if _PLOT.value else []
    if len(extra_lrs):  # every process takes part, as in the main grid
        extra = sweep.train_grid(extra_lrs, inits, dataset.x, dataset.y, **options)
    if not lead:
        return 0
    target = model.least_squares(m, dataset.x, dataset.y)
    out.print_lines(report.sweep_lines(result, rates, target, settings.epochs, seconds,
                                       f"{platform.device_count()} {device}", _SHOWN))
    if "--output" in out:
        out.commit("--output", sweep.csv_chunks(result))
    if "--plot" in out:
        best = ("no least-squares fit" if target is None else
                ", ".join(f"{p}* = {v:.6g}" for p, v in target.items()))
        title = (f"{m.name}, {len(dataset.x)} samples, {settings.epochs} epochs, "
                 f"{settings.optimizer}, {best}")
        out.commit("--plot", lambda: plots.sweep_png(result, target, rates, title, extra))
    return 0


if __name__ == "__main__":
    _cli.run(main)
