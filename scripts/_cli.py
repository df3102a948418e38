"""What every script shares: the contract of one-line errors, exit codes and clean exits.

Not part of the package: it parses flags, prints and exits. ``python scripts/NAME.py`` puts this
folder on ``sys.path``, so the scripts import it as ``_cli``.

Exit codes (docs/contract.md): 0 done; 1 training diverged; 2 a bad flag, file, number
or environment, or an output that cannot be written (one line ``<script>: error: ...``);
128+N for signal N (130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP, 138 for SIGUSR1: every
signal that would end the process), after removing every temporary file; 70 for an internal
error (a bug: one line, please report it).
"""

from __future__ import annotations

import os
import re
import signal
import sys
import threading
import warnings


def lecture_arithmetic() -> None:
    """Makes XLA's CPU code round as PyTorch and eager JAX do: one rounding per operation.

    On an x86 CPU with AVX2, XLA fuses ``a*b + c`` into one instruction that rounds once (FMA),
    so a compiled float32 run can end a digit away from the lecture's PyTorch loop
    (docs/parity.md). Capping XLA's CPU instruction set at AVX (``--xla_cpu_max_isa=AVX``) takes
    FMA away, and the compiled run then prints the lecture's lines byte for byte. It must be set
    before JAX starts its CPU backend, so a script calls this before any computation. An
    ``XLA_FLAGS`` that already names the instruction set is left as the user set it; other
    machines (ARM) are left alone.
    """
    import platform

    flags_now = os.environ.get("XLA_FLAGS", "")
    if flags_now.strip() and not flags_now.lstrip().startswith("-"):
        return  # a file of flags (XLA reads such a value as a file name): left as it is
    if platform.machine() in ("x86_64", "AMD64") and "xla_cpu_max_isa" not in flags_now:
        os.environ["XLA_FLAGS"] = f"{flags_now} --xla_cpu_max_isa=AVX".strip()


EXIT_FAILED = 1  # the run itself failed (training diverged)
EXIT_USAGE = 2  # a bad flag, file, number or environment
EXIT_INTERNAL = 70  # a bug (BSD's EX_SOFTWARE)
_ALWAYS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # caught even when inherited ignored
# Not caught: the faults a process raises on itself (a native crash, which faulthandler
# reports), signals that cannot be caught, and those whose default is not to end the process.
_NOT_CAUGHT = {signal.SIGSEGV, signal.SIGBUS, signal.SIGFPE, signal.SIGILL, signal.SIGTRAP,
               signal.SIGSYS, signal.SIGABRT, signal.SIGKILL, signal.SIGSTOP, signal.SIGCHLD,
               signal.SIGCONT, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU, signal.SIGURG,
               signal.SIGWINCH}


def _prog() -> str:
    return os.path.basename(sys.argv[0]) or "lec4_jax"


def _say(line: str) -> None:
    """One line on stderr, even when ``sys.stderr`` is closed or gone."""
    try:
        os.write(2, (line + "\n").encode(errors="replace"))
    except OSError:
        pass


_CHILD: list[int] = []  # a supervised child's pid (see join_guarded): signals go on to it


def _ending_signals():
    """Every signal that would end the process: INT, TERM and HUP, and each other one whose
    default action ends it (USR1, ALRM, QUIT, XCPU, VTALRM, PROF, the real-time ones ...: what
    schedulers and ``timeout -s`` send), unless it is ignored when the script starts. Python
    ignores PIPE and XFSZ, so a closed pipe or a file-size limit fails the write instead (one
    line, exit 2)."""
    for sig in signal.valid_signals():
        if sig in _ALWAYS or (sig not in _NOT_CAUGHT
                              and signal.getsignal(sig) != signal.SIG_IGN):
            yield sig


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:  # a real-time signal between SIGRTMIN and SIGRTMAX
        return f"SIGRTMIN+{signum - signal.SIGRTMIN}"


def _on_signal(signum, _frame) -> None:
    """Removes every temporary file, says one line, and exits 128 + the signal's number."""
    if _CHILD:  # a supervisor: the child cleans up and exits; its exit becomes ours
        try:
            os.kill(_CHILD[0], signum)
        except OSError:
            pass
        return
    outputs = sys.modules.get("lec4_jax.tool.outputs")
    if outputs is not None:
        outputs.remove_temporaries(final=True)
    name = _signal_name(signum)
    _say(f"{_prog()}: interrupted ({name})" if signum == signal.SIGINT else
         f"{_prog()}: stopped by {name}")
    os._exit(128 + signum)


# before JAX is imported: a signal at any moment is one line
for _sig in list(_ending_signals()):
    signal.signal(_sig, _on_signal)


def _warnings_never_raise() -> None:
    """Turns each ``error`` warning filter (``PYTHONWARNINGS=error``, ``-W error``) into
    ``default``: a library's warning (NumPy's overflow in a diverging run, say) would otherwise
    become an exception mid-run, a traceback or exit 70. Every other filter stays, in order."""
    kept = list(warnings.filters)
    if all(action != "error" for action, *_ in kept):
        return
    warnings.resetwarnings()
    for action, message, category, module, lineno in reversed(kept):
        warnings.filterwarnings("default" if action == "error" else action,
                                _pattern(message), category, _pattern(module), lineno)


def _pattern(regex) -> str:
    """A warning filter's field as the text ``filterwarnings`` takes: it holds a compiled
    expression, None (anything), or text that must match whole (Python's built-in filters)."""
    if isinstance(regex, str):
        return re.escape(regex) + r"\Z"
    return regex.pattern if regex is not None else ""


_warnings_never_raise()  # before JAX and the library are imported: they warn on import too

import logging  # noqa: E402


def _log_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Python's warnings (NumPy's overflow as a run diverges, JAX's compilation cache,
    matplotlib) are not this script's lines: logged at debug level, shown by ``--verbosity=1``.
    (No filter turns them into errors: :func:`_warnings_never_raise` made those filters print.)"""
    logging.getLogger("py.warnings").debug("%s:%s: %s: %s", filename, lineno,
                                           category.__name__, message)


warnings.showwarning = _log_warning  # before JAX is imported: its import warns too

from absl import app, flags  # noqa: E402


def _import_checked() -> None:
    """Imports the package, which checks every variable JAX and XLA read before JAX is imported
    (lec4_jax.tool.environment): a bad one is one line naming it, exit 2, not JAX's traceback
    or XLA's fatal abort."""
    try:
        import lec4_jax  # noqa: F401
        from lec4_jax.tool import environment

        found = environment.forbidding()  # JAX_NO_EXECUTION=1: valid, but no script can run
    except ValueError as e:  # InputError, or JAX's own refusal of a variable
        found = (str(e).strip().splitlines() or ["a bad variable"])[0]
    if found is not None:
        _say(f"{_prog()}: error: {found}")
        os._exit(EXIT_USAGE)  # nothing to flush or remove yet


_import_checked()

from lec4_jax.tool import data, outputs  # noqa: E402
from lec4_jax.tool.data import InputError  # noqa: E402

_CACHE = flags.DEFINE_string(
    "compilation_cache", os.path.join(os.environ.get("XDG_CACHE_HOME") or
                                      os.path.expanduser("~/.cache"), "lec4_jax", "xla"),
    "JAX's persistent compilation cache: compiled programs are kept here, so a second run skips "
    "XLA's compile (about a quarter of train.py's time). Empty: no cache.")
_HELP = ("--help", "-help", "-h", "-?", "--helpshort", "--helpfull", "--helpxml")


def fail(message: str, code: int = EXIT_USAGE):
    """Prints ``<script>: error: <message>`` on one line to stderr and exits at once."""
    _say(f"{_prog()}: error: {' '.join(str(message).split())}")
    _exit_now(code)


def input_error(e: InputError) -> str:
    """The one-line message of a library error, with the field turned into this script's flag
    (every field is named as its flag is)."""
    return str(e) if e.field is None else f"--{e.field}: {e}"


def _parse_flags(argv):
    argv = [*argv[:1], *("--help" if a == "-h" else a for a in argv[1:])]  # absl knows no -h
    try:
        return flags.FLAGS(argv)
    except SystemExit as e:  # absl's --help prints the help and exits 1; help is not an error
        _exit_now(0 if any(a.split("=")[0] in _HELP for a in argv[1:]) else (e.code or 0))
    except flags.Error as e:
        fail(str(e).splitlines()[0] if str(e) else "bad flags")
    except UnicodeDecodeError as e:
        fail(f"a flag file is not UTF-8 text (byte {e.start})")
    except (ValueError, OSError) as e:  # e.g. absl's '--nox64=1 does not take an argument'
        fail((str(e).splitlines() or ["bad flags"])[0])


def run(main) -> None:
    """``app.run(main)`` under the contract: flag errors and :class:`InputError` are one line,
    exit 2; ``main``'s return value is the exit code.

    ``main`` runs in a worker thread while this (main) thread waits: a signal is then handled at
    once, even while XLA computes, rather than when the computation returns.
    """
    # JAX logs each backend it probes and misses (a TPU, say) at INFO: noise for a user.
    logging.getLogger("jax._src.xla_bridge").setLevel(logging.WARNING)

    def guarded(argv):
        if len(argv) > 1:
            fail(f"unexpected arguments: {' '.join(argv[1:])}")
        # The worker ends the process itself: after join_guarded's fork, the child has no
        # main thread waiting for it.
        worker = threading.Thread(target=lambda: _exit_now(_call(main, argv)), daemon=True)
        worker.start()
        worker.join()
        _exit_now(EXIT_INTERNAL)  # pragma: no cover (not reached: the worker exits the process)

    app.run(guarded, flags_parser=_parse_flags)


def _call(main, argv) -> int:
    """Runs ``main``; every failure becomes its one line and exit code."""
    try:
        _use_compilation_cache(_CACHE.value)
        return main(argv) or 0
    except InputError as e:
        fail(input_error(e))
    except MemoryError:
        fail("out of memory: the machine cannot hold this run; try a smaller size")
    except OSError as e:  # the environment: a full disk, a permission, a folder deleted
        fail(f"{e.strerror or e}: {e.filename}" if e.filename else f"{e.strerror or e}")
    except Exception as e:  # noqa: BLE001 — the contract: one line, never a traceback
        from lec4_jax.tool import environment

        platform = environment.platform_problem()  # JAX_PLATFORMS names one it cannot start
        if platform is not None:
            fail(platform)
        text = str(e)
        if "RESOURCE_EXHAUSTED" in text or "Out of memory" in text:
            fail("out of memory: the machine cannot hold this run; try a smaller size")
        first = (text.strip().splitlines() or [""])[0]
        fail(f"internal error: {type(e).__name__}: {first} (a bug; please report it)",
             EXIT_INTERNAL)
    return EXIT_INTERNAL  # pragma: no cover (not reached: fail() exits the process)


def _exit_now(code: int) -> None:
    """Flushes the output and ends the process, skipping the interpreter's teardown.

    Every output file is committed by now; JAX's exit handlers and the teardown of hundreds of
    modules would add about a tenth of a second to every run (docs/performance.md).
    """
    outputs = sys.modules.get("lec4_jax.tool.outputs")
    if outputs is not None:
        outputs.remove_temporaries(final=True)
    jax = sys.modules.get("jax")
    if jax is not None and code in (0, EXIT_FAILED):
        try:
            if jax.process_count() > 1:  # multi-host: leave the cluster first
                jax.distributed.shutdown()
        except Exception:  # noqa: BLE001 — leaving is best effort
            pass
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # the reader left, or the stream is closed
            pass
    logging.shutdown()
    os._exit(code)


def join_guarded(join, what: str) -> None:
    """Runs ``join()`` (joining a multi-host cluster), turning a native abort into one line.

    XLA's cluster client aborts the process (SIGABRT, a C++ stack dump) when the cluster does
    not form in time, which no Python code can catch. So the process forks first: the child
    joins, with its stderr muted while it does, tells the parent it got in, and goes on with the
    work; the parent waits, passes signals on, and exits with the child's code, or, if the child
    died while joining, says ``what`` on one line and exits 2.
    """
    import faulthandler

    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(ready_r)
        saved, devnull = (os.dup(1), os.dup(2)), os.open(os.devnull, os.O_WRONLY)
        faulthandler.disable()
        for fd in (1, 2):  # gloo prints its connections on stdout; the abort dumps on stderr
            os.dup2(devnull, fd)
        try:
            join()
        finally:
            os.dup2(saved[1], 2)
            os.close(saved[1])
            os.close(devnull)
        # fd 1 stays muted (gloo's C++ prints there as collectives start); Python's stdout
        # writes to the real one
        sys.stdout = os.fdopen(saved[0], "w")
        os.write(ready_w, b"1")
        os.close(ready_w)
        return
    os.close(ready_w)
    _CHILD.append(pid)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        # equivalent mutant (ExceptionReplacer): never raised since PEP 475: os.waitpid goes on
        # waiting by itself after a signal whose handler returns, as _on_signal does here; one
        # that raises ends the wait with its own exception.
        except InterruptedError:
            continue
    joined = os.read(ready_r, 1) == b"1"
    if os.WIFEXITED(status):
        os._exit(os.WEXITSTATUS(status))
    if not joined:
        fail(what)
    os._exit(128 + os.WTERMSIG(status))


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
    # equivalent mutant (NumberReplacer-1): no compile takes less than 0 s, nor -1.
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def progress_line(unit: str):
    """``report(done, total)``: one progress line on stderr (never stdout), e.g.
    ``train.py: epoch 5,000 of 100,000 (5%)``."""
    def report(done, total):
        done, total = int(done), int(total)
        _say(f"{_prog()}: {unit} {done:,} of {total:,} ({100 * done // max(1, total)}%)")

    return report


def present(holder: flags.FlagHolder) -> bool:
    return flags.FLAGS[holder.name].present


def flag_values(holders) -> dict:
    """``{name: value}`` for the given flag holders, e.g. for a JSON record of the config."""
    return {h.name: h.value for h in holders}


# The flags more than one script takes, each defined here once: a script asks for the ones it
# takes (define_flags), so a name, default, choice and help text is written in one place.
def _shared_flag(name: str) -> flags.FlagHolder:
    from lec4_jax import grads, language, model
    from lec4_jax.tool import platform, training

    if name == "model":
        return flags.DEFINE_string("model", model.LECTURE.name, "A model of the registry ("
                                   + "; ".join(f"{m.name}: {m.formula}"
                                               for m in model.MODELS.values())
                                   + "), or a formula for y_hat in x and parameters, e.g. "
                                   "'x*w**2 + b' or 'sigmoid(x*w + b)': numbers, + - * /, "
                                   "** with a numeric exponent, exp log tanh sigmoid relu "
                                   "(docs/training.md).")
    if name == "init":
        return flags.DEFINE_string("init", None, "Initial parameters, e.g. w=1,b=0: a "
                                   "parameter not given starts at the model's default (1.0 for "
                                   "a formula's). Excludes --<param>_init for the same one.")
    if name == "epochs":
        return flags.DEFINE_integer("epochs", 20, "Passes over the data.", lower_bound=1)
    if name == "grad":
        return flags.DEFINE_enum("grad", "autodiff", grads.METHODS,
                                 "How dL/d(each parameter) is computed.")
    if name == "optimizer":
        return flags.DEFINE_enum("optimizer", "sgd", sorted(training.OPTIMIZERS),
                                 "optax optimizer.")
    if name == "platform":
        return flags.DEFINE_enum("platform", "auto", platform.PLATFORMS, "Where JAX computes "
                                 "(per-sample training itself runs on the host CPU; see "
                                 "docs/performance.md).")
    if name == "x64":
        return flags.DEFINE_bool("x64", False, "Compute in float64 instead of float32.")
    if name == "progress":
        return flags.DEFINE_bool("progress", True, "Report progress on stderr during a long run "
                                 "(more than about 2 s).")
    if name == "lang":
        return flags.DEFINE_enum("lang", "en", list(language.LANGS), "The language of the words "
                                 "a learner reads (explain.py's tables and graph, train.py's "
                                 "step-through page); the lecture's own lines stay as it prints "
                                 "them.")
    raise ValueError(f"no shared flag {name!r}")


SHARED_FLAGS = ("model", "init", "epochs", "grad", "optimizer", "platform", "x64", "progress",
                "lang")


def define_flags(*names: str) -> dict[str, flags.FlagHolder]:
    """The shared flags ``names`` (from :data:`SHARED_FLAGS`), defined for this script."""
    return {name: _shared_flag(name) for name in names}


def _registry_params() -> dict[str, str]:
    """Every parameter of every model in the registry, in order, with the models that have it."""
    from lec4_jax import model

    return {p: ", ".join(n.name for n in model.MODELS.values() if p in n.params)
            for m in model.MODELS.values() for p in m.params}


def define_param_flags(what: str) -> dict[str, flags.FlagHolder]:
    """``--<param>_init`` for every parameter of every model in the registry, default None
    (the model's own default)."""
    from lec4_jax import model

    return {p: flags.DEFINE_float(model.init_field(p), None, f"{p} ({users}){what}.")
            for p, users in _registry_params().items()}


def define_param_list_flags() -> dict[str, flags.FlagHolder]:
    """``--<param>_init_values`` for every parameter of every model in the registry: a sweep's
    initial values, default None (the model's own default)."""
    from lec4_jax import model

    return {p: flags.DEFINE_list(f"{model.init_field(p)}_values", None,
                                 f"Initial values of {p} ({users}), comma-separated; the grid "
                                 "takes every combination (default: the model's initial value).")
            for p, users in _registry_params().items()}


def chosen_model(holder: flags.FlagHolder):
    """The model ``--model`` names: a registry name or a formula, parsed once (a bad one is
    an :class:`InputError` of field ``model``: one line, exit 2)."""
    from lec4_jax import model

    try:
        return model.get(holder.value)
    except InputError:
        raise
    except ValueError as e:
        raise InputError(str(e), "model") from None


def given_init(m, init: flags.FlagHolder, holders: dict[str, flags.FlagHolder] | None = None,
               field=lambda p: f"{p}_init") -> dict[str, float]:
    """The initial values given for model ``m``: ``--init=w=1,b=0`` and, for a parameter the
    registry knows, ``holders`` (``--w_init``, say). A parameter given by both is an error, as
    is a name ``m`` does not have."""
    from lec4_jax import model

    given = {} if holders is None else {p: h.value for p, h in holders.items()
                                        if h.value is not None}
    model.check_params(m, given, field)
    if init.value is None:
        return given
    from lec4_jax import formula

    values = formula.parse_init(init.value, m)
    both = [p for p in values if p in given]
    if both:
        raise InputError(f"sets {both[0]}, and so does --{field(both[0])}: give it once", "init")
    return {**given, **values}


def outputs_from(holders: dict[str, tuple[flags.FlagHolder, object]], enabled: bool = True):
    """An :class:`~lec4_jax.tool.outputs.Outputs` with one target per output flag given, checked
    together before any work. ``holders`` maps a flag to ``(holder, renderer check or None)``."""
    out = outputs.Outputs()
    if enabled:
        for holder, needs in holders:
            out.add(f"--{holder.name}", holder.value, needs)
    out.check()
    return out


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
        "seed": flags.DEFINE_integer("seed", 0, "Synthetic data's random seed, >= 0.",
                                     lower_bound=0),
    }


def load_data(holders: dict[str, flags.FlagHolder], dtype) -> data.Dataset:
    """The dataset the flags name, every value checked in the compute ``dtype``; conflicting
    data flags are an error."""
    from lec4_jax.tool import limits

    given = {name for name in holders if present(holders[name])}
    if holders["dataset"].value == "synthetic":
        clash = sorted(given & {"x_data", "y_data", "data_csv"})
        if clash:
            raise InputError(f"--dataset=synthetic excludes --{clash[0]}")
        n = holders["num_samples"].value
        limits.check_memory(limits.data_bytes(n), f"{n:,} synthetic samples", "num_samples")
        data.check_value(holders["noise"].value, dtype, "noise")
        dataset = data.synthetic(n, holders["noise"].value, holders["seed"].value, dtype=dtype)
        field = "noise"
    else:
        clash = sorted(given & {"num_samples", "noise", "seed"})
        if clash:
            raise InputError(f"--{clash[0]} needs --dataset=synthetic")
        if holders["data_csv"].value is None:
            x = data.parse_floats(holders["x_data"].value, "x_data")
            dataset = data.from_lists(x, data.parse_floats(holders["y_data"].value, "y_data"))
            field = None
        else:
            if given & {"x_data", "y_data"}:
                raise InputError("--data_csv excludes --x_data/--y_data: give one data source")
            dataset = data.load_csv(holders["data_csv"].value, dtype)
            field = "data_csv"
    return data.Dataset(data.check_array(dataset.x, dtype, field or "x_data"),
                        data.check_array(dataset.y, dtype, field or "y_data"))
