"""What every script shares: one-line errors instead of tracebacks.

Not part of the package: it prints and exits. ``python scripts/NAME.py`` puts this folder on
``sys.path``, so the scripts import it as ``_cli``.
"""

from __future__ import annotations

import logging
import math
import os
import sys

from absl import app, flags

from lec4_jax import data, model
from lec4_jax.data import InputError

_CACHE = flags.DEFINE_string(
    "compilation_cache", os.path.join(os.environ.get("XDG_CACHE_HOME") or
                                      os.path.expanduser("~/.cache"), "lec4_jax", "xla"),
    "JAX's persistent compilation cache: compiled programs are kept here, so a second run skips "
    "XLA's compile (about a quarter of train.py's time). Empty: no cache.")
EXIT_USAGE = 2  # a bad flag, file or number
EXIT_FAILED = 1  # the run itself failed (training diverged)


def fail(message: str, code: int = EXIT_USAGE):
    """Prints ``<script>: error: <message>`` on one line to stderr and exits."""
    prog = os.path.basename(sys.argv[0]) or "lec4_jax"
    print(f"{prog}: error: {message}", file=sys.stderr)
    sys.exit(code)


def _parse_flags(argv):
    try:
        return flags.FLAGS(argv)
    except flags.Error as e:
        fail(str(e).splitlines()[0])


def run(main) -> None:
    """``app.run(main)``, with flag errors and :class:`InputError` as one-line errors."""
    # JAX logs each backend it probes and misses (a TPU, say) at INFO: noise for a user.
    logging.getLogger("jax._src.xla_bridge").setLevel(logging.WARNING)

    def guarded(argv):
        if len(argv) > 1:
            fail(f"unexpected arguments: {' '.join(argv[1:])}")
        _use_compilation_cache(_CACHE.value)
        try:
            code = main(argv)
        except InputError as e:
            fail(str(e))
        except BrokenPipeError:  # e.g. `train.py | head`: the reader left, which is fine
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            code = 0
        _exit_now(code or 0)

    app.run(guarded, flags_parser=_parse_flags)


def _exit_now(code: int) -> None:
    """Flushes the output and ends the process, skipping the interpreter's teardown.

    The work is done and every output file committed; JAX's exit handlers and the teardown of
    hundreds of modules would add about a tenth of a second to every run (README, "Benchmarks").
    """
    import jax

    if jax.process_count() > 1:  # multi-host (sweep.py --distributed): leave the cluster first
        jax.distributed.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):  # the reader left, or the stream is closed
            pass
    logging.shutdown()
    os._exit(code)


def _use_compilation_cache(path: str) -> None:
    if not path:
        return
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        logging.warning("no compilation cache: cannot create %s (%s)", path, e.strerror)
        return
    import jax

    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def require_finite(holder: flags.FlagHolder, positive: bool = False) -> None:
    """Registers a validator: the float flag is finite (and > 0 if ``positive``)."""
    need = "a finite number > 0" if positive else "a finite number"
    flags.register_validator(
        holder.name,
        lambda v: v is None or (math.isfinite(v) and (v > 0 or not positive)),
        message=f"must be {need}",
    )


def flag_values(holders) -> dict:
    """``{name: value}`` for the given flag holders, e.g. for a JSON record of the config."""
    return {h.name: h.value for h in holders}


def define_param_flags(help_suffix: str = "") -> dict[str, flags.FlagHolder]:
    """``--w_init``, ``--b_init``, ``--w1_init``, ``--w2_init``: every model's parameters."""
    holders = {
        "w": flags.DEFINE_float("w_init", 1.0, f"w (linear, affine){help_suffix}."),
        "b": flags.DEFINE_float("b_init", 0.0, f"b (affine, quadratic){help_suffix}."),
        "w1": flags.DEFINE_float("w1_init", 1.0, f"w1 (quadratic){help_suffix}."),
        "w2": flags.DEFINE_float("w2_init", 1.0, f"w2 (quadratic){help_suffix}."),
    }
    for holder in holders.values():
        require_finite(holder)
    return holders


def model_params(model_name: str, holders: dict[str, flags.FlagHolder]) -> dict[str, float]:
    """The model's parameter values from the flags; another model's flag is an error."""
    wanted = model.get(model_name).params
    for name, holder in holders.items():
        if name not in wanted and flags.FLAGS[holder.name].present:
            raise InputError(f"--{holder.name} does not apply to --model={model_name} "
                             f"(its parameters: {', '.join(wanted)})")
    return {name: holders[name].value for name in wanted}


def define_data_flags() -> dict[str, flags.FlagHolder]:
    """The data flags that train.py and sweep.py share."""
    return {
        "dataset": flags.DEFINE_enum("dataset", "lecture", data.DATASETS,
                                     "lecture: --x_data/--y_data (the lecture's by default) or "
                                     "--data_csv; synthetic: y = 2x + noise, x ~ U(-1, 1)."),
        "x_data": flags.DEFINE_list("x_data", list(map(str, data.LECTURE_X)),
                                    "Inputs, comma-separated."),
        "y_data": flags.DEFINE_list("y_data", list(map(str, data.LECTURE_Y)),
                                    "Targets, comma-separated."),
        "data_csv": flags.DEFINE_string("data_csv", None, "CSV of x,y rows (optional header); "
                                        "replaces --x_data/--y_data."),
        "num_samples": flags.DEFINE_integer("num_samples", 1000, "Synthetic samples.",
                                            lower_bound=1),
        "noise": flags.DEFINE_float("noise", 0.1, "Synthetic noise std, >= 0.", lower_bound=0),
        "seed": flags.DEFINE_integer("seed", 0, "Synthetic data's random seed."),
    }


def load_data(holders: dict[str, flags.FlagHolder]):
    """The dataset the flags name; conflicting data flags are an error."""
    present = {name for name in holders if flags.FLAGS[holders[name].name].present}
    if holders["dataset"].value == "synthetic":
        clash = sorted(present & {"x_data", "y_data", "data_csv"})
        if clash:
            raise InputError(f"--dataset=synthetic excludes --{clash[0]}")
        return data.synthetic(holders["num_samples"].value, holders["noise"].value,
                              holders["seed"].value)
    clash = sorted(present & {"num_samples", "noise", "seed"})
    if clash:
        raise InputError(f"--{clash[0]} needs --dataset=synthetic")
    if holders["data_csv"].value is None:
        x = data.parse_floats(holders["x_data"].value, "x_data")
        return data.from_lists(x, data.parse_floats(holders["y_data"].value, "y_data"))
    if present & {"x_data", "y_data"}:
        raise InputError("--data_csv excludes --x_data/--y_data: give one data source")
    return data.load_csv(holders["data_csv"].value)
