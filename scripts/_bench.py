"""Measurements for ``scripts/bench.py``: each returns seconds (medians over repeats).

Every figure is measured in the run that reports it; only the ratios between rows of one run
mean much on a shared, noisy machine.
"""

from __future__ import annotations

import functools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lec4_jax.tool import data, runs, sweep, training


def paired_seconds(first: Callable[[], object], second: Callable[[], object],
                   repeats: int) -> tuple[float, float, float]:
    """``first`` and ``second`` timed alternately, so drift on a shared machine hits both:
    (the median of each, the median of the per-pair differences ``second - first``)."""
    first(), second()
    a, b = [], []
    for _ in range(repeats):
        for fn, times in ((first, a), (second, b)):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    return (statistics.median(a), statistics.median(b),
            statistics.median(y - x for x, y in zip(a, b)))


def cpu_name() -> str:
    """The CPU's model name (Linux), else what :mod:`platform` says."""
    import platform

    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def median_seconds(fn: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def torch_lecture_loop(repeats: int) -> float | None:
    """(a) The lecture's eager PyTorch loop, 60 steps, without printing; None without torch."""
    try:
        import torch  # noqa: F401 (None without it)
    except ImportError:
        return None

    import _lecture_torch

    return median_seconds(lambda: _lecture_torch.train(record=False), repeats)


def _lecture_arrays():
    device = training.sequential_device()
    x, y = jnp.asarray(data.LECTURE_X), jnp.asarray(data.LECTURE_Y)
    return jax.device_put(({"w": jnp.float32(1.0)}, x, y, jnp.float32(0.01)), device)


def jitted_step_loop(repeats: int) -> float:
    """(b) The jitted :func:`training.step` called from a Python loop, 60 steps."""
    params, x, y, lr = _lecture_arrays()
    xs, ys = list(x), list(y)
    rule = training.Rule.of()
    update = jax.jit(functools.partial(training.step, rule=rule))

    def loop():
        p, state = params, training.init_state(params, lr, rule)
        for _ in range(20):
            for xi, yi in zip(xs, ys):
                p, state, _, _ = update(p, state, xi, yi, lr)
        return jax.block_until_ready(p)

    return median_seconds(loop, repeats)


def _run_as_train_py(x, y, epochs: int):
    """The compiled program ``train.py`` runs (``runs.run``'s: the run and its summary, no
    history), its inputs placed as ``runs.run`` places them; a call returns when it is done."""
    host = (np.asarray(x, np.float32), np.asarray(y, np.float32), np.float32(0.01),
            np.float32(4.0), {"w": np.float32(1.0)})
    x, y, lr, px, p0 = jax.device_put(host, training.sequential_device())
    rule = training.Rule.of()
    return lambda: jax.block_until_ready(runs._run_compiled(  # noqa: SLF001 (train.py's path)
        p0, x, y, lr, px, epochs=epochs, rule=rule, keep_history=False))


def compiled_run(repeats: int) -> float:
    """(c) The whole 20-epoch lecture run as ``train.py`` runs it: ``runs.run``'s one compiled
    program (the run and its summary), called once."""
    return median_seconds(_run_as_train_py(data.LECTURE_X, data.LECTURE_Y, 20), repeats, 3)


def sequential_sgd(num_samples: int, repeats: int) -> float:
    """(d) One epoch of per-sample SGD over ``num_samples`` synthetic samples, by ``runs.run``'s
    compiled program."""
    ds = data.synthetic(num_samples, noise=0.1, seed=0, dtype=np.float32)
    return median_seconds(_run_as_train_py(ds.x, ds.y, 1), repeats)


def sweep_throughput(num_models: int, repeats: int, to_host: bool = True) -> float:
    """(e) ``num_models`` lecture models (a learning-rate grid) x 20 epochs, end to end: the
    results in NumPy, or (``to_host=False``) left on the devices. The grid is the peers'."""
    lrs = _sweep_grid(num_models)

    def run():
        r = sweep.train_grid(lrs, [1.0], data.LECTURE_X, data.LECTURE_Y, epochs=20,
                             to_host=to_host)
        return jax.block_until_ready((r.final_w, r.final_loss, r.diverged))

    return median_seconds(run, repeats)


# The peers, the limit and the floor of row (e): each does the sweep's job (or none of it) on
# the same grid, the lecture's data, 20 epochs, float32, its results (final w, the mean loss,
# diverged) in NumPy.
SWEEP_EPOCHS = 20


def _sweep_grid(num_models: int):
    """Row (e)'s grid, the same array for every contender: float32, in aligned memory."""
    grid = data.aligned_empty(num_models, np.float32)
    grid[:] = sweep.learning_rates(1e-4, 0.2, num_models)
    return grid


def torch_sweep(num_models: int, repeats: int) -> float | None:
    """(e) The vectorized eager PyTorch sweep a user would write, every core in use
    (``torch.set_num_threads``); None without torch."""
    job = torch_sweep_job(num_models)
    return None if job is None else median_seconds(job, repeats)


def torch_sweep_job(num_models: int):
    """The PyTorch peer's job, ``run() -> (final w, mean loss, diverged)`` in NumPy; None
    without torch."""
    try:
        import torch  # noqa: F401 (None without it)
    except ImportError:
        return None
    torch.set_num_threads(os.cpu_count() or 1)
    lr = torch.from_numpy(_sweep_grid(num_models))
    xs, ys = data.LECTURE_X, data.LECTURE_Y

    def run():
        with torch.no_grad():
            w = torch.ones(num_models)
            for _ in range(SWEEP_EPOCHS):
                for x, y in zip(xs, ys):
                    w = w - lr * 2 * x * (x * w - y)
            loss = sum((x * w - y) ** 2 for x, y in zip(xs, ys)) / len(xs)
            loss0 = sum((x * 1.0 - y) ** 2 for x, y in zip(xs, ys)) / len(xs)
            diverged = ~torch.isfinite(loss) | (loss > loss0)
            return w.numpy(), loss.numpy(), diverged.numpy()

    return run


def torch_threads() -> int | None:
    try:
        import torch  # noqa: F401 (None without it)
    except ImportError:
        return None
    return torch.get_num_threads()


def numpy_sweep(num_models: int, repeats: int) -> float:
    """(e) The same vectorized sweep in NumPy."""
    return median_seconds(numpy_sweep_job(num_models), repeats)


def numpy_sweep_job(num_models: int):
    """The NumPy peer's job, ``run() -> (final w, mean loss, diverged)``."""
    lr = _sweep_grid(num_models)
    xs, ys = (np.float32(v) for v in data.LECTURE_X), (np.float32(v) for v in data.LECTURE_Y)
    xs, ys = list(xs), list(ys)

    def run():
        w = np.ones(num_models, np.float32)
        with np.errstate(all="ignore"):
            for _ in range(SWEEP_EPOCHS):
                for x, y in zip(xs, ys):
                    w = w - lr * np.float32(2) * x * (x * w - y)
            loss = sum((x * w - y) ** 2 for x, y in zip(xs, ys)) / np.float32(len(xs))
        loss0 = sum((x - y) ** 2 for x, y in zip(xs, ys)) / np.float32(len(xs))
        return w, loss, ~np.isfinite(loss) | (loss > loss0)

    return run


def _steps(w, lr, count):
    """``count`` steps of the lecture's per-sample SGD, samples in order, unrolled."""
    for k in range(count):
        x, y = data.LECTURE_X[k % 3], data.LECTURE_Y[k % 3]
        w = w - lr * (2 * x * (x * w - y))
    return w


def _fused_kernel(lr):
    """Every step of every model unrolled into one elementwise kernel: one load of the rate,
    one store of w (latency-bound: each model is one chain of dependent multiply-adds)."""
    return _steps(jnp.ones_like(lr), lr, SWEEP_EPOCHS * 3)


def _cached_kernel(lr, passes):
    """The same steps on a chunk that stays in cache, :data:`lec4_jax.tool.sweep.DEFAULT_UNROLL`
    steps per pass over it, ``passes`` passes in one call (call overhead amortized)."""
    unroll = sweep.DEFAULT_UNROLL
    return jax.lax.fori_loop(0, passes, lambda _, w: _steps(w, lr, unroll), jnp.ones_like(lr))


_fused = jax.jit(_fused_kernel, compiler_options=sweep.CPU_COMPILER_OPTIONS)
_cached = jax.jit(_cached_kernel, static_argnames="passes",
                  compiler_options=sweep.CPU_COMPILER_OPTIONS)
PROBE_PASSES = 1000


def limit_probe(num_models: int, repeats: int) -> float:
    """(e) The limit: the fastest this machine runs the sweep's per-step arithmetic with
    nothing else (no loss, no divergence check, no copy to the host, no padding), as
    model-steps per second: the better of one fused kernel over the grid's rates, and
    :data:`PROBE_PASSES` passes over a cache-sized chunk of them (the sweep's chunk size)."""
    lr = jax.device_put(_sweep_grid(num_models))
    fused = num_models * SWEEP_EPOCHS * 3 / median_seconds(
        lambda: jax.block_until_ready(_fused(lr)), repeats, 2)
    size = min(num_models, sweep.DEFAULT_CHUNK["cpu"])
    chunk = lr[::num_models // size][:size]  # spread over the grid, diverging rates too
    steps = chunk.shape[0] * PROBE_PASSES * sweep.DEFAULT_UNROLL
    cached = steps / median_seconds(
        lambda: jax.block_until_ready(_cached(chunk, passes=PROBE_PASSES)), max(3, repeats // 2),
        1)
    return max(fused, cached)


@jax.jit
def _empty(lr):
    return jnp.zeros_like(lr), jnp.zeros_like(lr), jnp.zeros(lr.shape, bool)  # only fills


def floor_round_trip(num_models: int, repeats: int) -> float:
    """(e) The floor: a jitted call that does nothing, with the sweep's inputs and outputs
    (rates in; three columns of ``num_models`` out, copied to NumPy)."""
    lr = _sweep_grid(num_models)
    return median_seconds(lambda: [np.asarray(c) for c in _empty(lr)], repeats, 2)


def synthetic_seconds(num_samples: int, repeats: int) -> float:
    """(i) Drawing ``num_samples`` synthetic samples in float32, as train.py does."""
    return median_seconds(lambda: data.synthetic(num_samples, dtype=np.float32), repeats)


def _quiet(epoch, epochs):
    """A progress report that prints nothing: what row (j) times is the reporting machinery."""


def progress_seconds(epochs: int, repeats: int) -> tuple[float, float, float]:
    """(j) A lecture run of ``epochs`` epochs through :func:`lec4_jax.tool.runs.run`, as train.py
    makes it, without and with progress reports, alternately (see :func:`paired_seconds`).
    Above :data:`lec4_jax.tool.runs.PROGRESS_STEPS` steps the second compiles the callbacks in."""
    from lec4_jax.tool import runs
    from lec4_jax.tool.settings import Settings

    settings = Settings(epochs=epochs, keep_history=False)
    x, y = data.LECTURE_X, data.LECTURE_Y
    return paired_seconds(lambda: runs.run(settings, x, y),
                          lambda: runs.run(settings, x, y, progress=_quiet), repeats)


def _process(argv: list[str], env: dict | None = None) -> Callable[[], None]:
    env = dict(os.environ, **(env or {}))
    return lambda: subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  check=True, env=env)


def process_seconds(argv: list[str], repeats: int, env: dict | None = None) -> float:
    """(f) The wall time of a whole process, output discarded."""
    return median_seconds(_process(argv, env), repeats)


def paired_process_seconds(first: list[str], second: list[str],
                           repeats: int) -> tuple[float, float, float]:
    """(i) Two commands run alternately (see :func:`paired_seconds`)."""
    return paired_seconds(_process(first), _process(second), repeats)


def csv_load_seconds(rows: int, repeats: int) -> tuple[float, float]:
    """(h) Loading a ``rows``-row CSV of x,y floats: (the careful parser, ``load_csv``)."""
    from lec4_jax.tool import data

    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, rows)
    # equivalent mutant (NumberReplacer, ReplaceBinaryOperator_Mul_Div): y is only written,
    # parsed and timed; no result depends on its values.
    y = 2 * x
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
        f.write("x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(x.tolist(), y.tolist())))
    try:
        careful = median_seconds(lambda: data.load_csv_careful(f.name), max(1, repeats // 4))
        fast = median_seconds(lambda: data.load_csv(f.name), repeats)
    finally:
        os.remove(f.name)
    return careful, fast


_PEAK_RSS = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def peak_rss_bytes(argv: list[str]) -> int:
    """(g) The peak resident memory of a whole process, output discarded.

    Measured through a small wrapper process: Linux carries a process's high-water mark across
    exec, so a child forked straight from this (large) process would report this one's peak.
    """
    out = subprocess.run([sys.executable, "-c", _PEAK_RSS, *argv], capture_output=True,
                         text=True, check=True).stdout.split()
    if out[0] != "0":
        raise RuntimeError(f"{' '.join(argv)} exited {out[0]}")
    return int(out[1]) * 1024  # kilobytes on Linux


def lecture_script_seconds(repeats: int) -> float | None:
    """(f) The seed's PyTorch script as a whole process; None without torch."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return None
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_lecture_torch.py")
    return process_seconds([sys.executable, script], repeats)


BASE_BYTES = 2**29  # the benchmark process itself: JAX, PyTorch, the compiled programs


def memory_needs(sweep_models: int, samples: int, history_samples: int, csv_rows: int,
                 e2e_samples: int, progress_epochs: int) -> list[tuple[int, str, str]]:
    """``(bytes, what, field)`` for each sized row: the peak memory it needs, from peak RSS
    measured per unit at small sizes (row e 81 bytes a model, d 10 a sample, h 594 a CSV row,
    i 23 a sample in process and 48 in train.py, j 4 an epoch), with room to spare, plus
    :data:`BASE_BYTES`; ``field`` names the size. Checked before the first row."""
    from lec4_jax.tool import limits

    history = limits.history_bytes(20 * history_samples, 1, 4) + \
        limits.data_bytes(history_samples)
    needs = [(128 * sweep_models, f"a sweep row of {sweep_models:,} models", "sweep_sizes"),
             (16 * samples, f"sequential SGD over {samples:,} samples", "sequential_samples"),
             (history, f"a {20 * history_samples:,}-step history", "history_samples"),
             (768 * csv_rows, f"a {csv_rows:,}-row CSV", "csv_rows"),
             (64 * e2e_samples, f"{e2e_samples:,} end-to-end samples", "end_to_end_samples"),
             (12 * progress_epochs, f"{progress_epochs:,} epochs", "progress_epochs")]
    return [(BASE_BYTES + need, what, field) for need, what, field in needs]


def _human(value: float, unit: str) -> str:
    if unit == "s":
        for scale, name in ((1, "s"), (1e-3, "ms"), (1e-6, "us")):
            if value >= scale:
                return f"{value / scale:.3g} {name}"
        return f"{value * 1e9:.3g} ns"
    if unit == "B":
        return f"{value / 2**20:.4g} MiB"
    if unit == "x":
        return f"{value:.3g}x"
    for scale, name in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= scale:
            return f"{value / scale:.3g} {name}{unit}"
    return f"{value:.3g} {unit}"


def bench_row(row: str, what: str, value, unit: str, reference=None,
              goal=None) -> dict[str, Any]:
    """One benchmark row as a dict with its printed line.

    With a ``reference`` measured in the same run, the line adds how many times faster
    ``value`` is (times) or, for ``goal[0] == "of the seed"``, its fraction of the reference's
    time. ``goal`` is ``(kind, target)``: ``"faster"`` and ``"of the seed"`` judge that ratio;
    ``"at least"`` and ``"at most"`` judge ``value`` itself (a ratio row has unit ``"x"``).
    A value that could not be measured (torch absent) is skipped; a missing reference leaves
    the goal unjudged.
    """
    entry = {"row": row, "what": what, "value": value, "unit": unit, "ratio": None,
             "goal": None, "met": None}
    if value is None:
        entry["text"] = f"{row}  {what:<56} skipped (torch is not installed)"
        return entry
    text = f"{row}  {what:<56} {_human(value, unit):>17}"
    kind, target = goal or (None, None)
    if reference is not None:
        fraction = kind in ("of the seed", "of the reference")
        entry["ratio"] = value / reference if fraction else reference / value
        text += f"  {entry['ratio']:.2f}x {kind}" if fraction else \
            f"  {entry['ratio']:.1f}x faster"
    elif kind in ("faster", "of the seed", "of the reference"):
        entry["goal"] = f"{kind}: no reference without torch"
        entry["text"] = text + f"  ({entry['goal']})"
        return entry
    if kind == "faster":
        entry["met"], entry["goal"] = entry["ratio"] >= target, f">= {target}x faster"
    elif kind == "of the seed":
        entry["met"], entry["goal"] = entry["ratio"] <= target, f"<= {target}x of the seed's time"
    elif kind == "of the reference":
        entry["met"], entry["goal"] = entry["ratio"] <= target, f"<= {target}x of the reference"
    elif kind == "at most":
        entry["met"], entry["goal"] = value <= target, f"<= {_human(target, unit)}"
    elif kind == "at least":
        entry["met"], entry["goal"] = value >= target, f">= {_human(target, unit)}"
    if entry["met"] is not None:
        entry["met"] = bool(entry["met"])
        text += f"  (goal {entry['goal']}: {'met' if entry['met'] else 'NOT met'})"
    entry["text"] = text
    return entry
