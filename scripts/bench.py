"""Benchmarks lec4_jax against the lecture's PyTorch loop, all rows measured in one run.

Rows: (a) PyTorch's eager loop; (b) a jitted step in a Python loop; (c) the whole run compiled;
(d) sequential SGD over many samples; (e) learning-rate sweeps against their peers (vectorized
eager PyTorch on every core, NumPy), against the limit probe (the same arithmetic and nothing
else, see _bench.limit_probe) and, at 1e4 models, against the floor (an empty jitted call's
round trip); (f) the whole ``scripts/train.py`` process against the lecture's script; (g) peak
memory; (h) loading a CSV; (i) end to end: train.py over 1e7 synthetic samples against the
scan alone; (j) what progress reporting costs; (k) a formula's model (``--model="x*w"``)
against the registry's same model, training and sweeping side by side, and parsing a formula
of 1,000 nodes (``--formula_row_only`` measures row k alone). Medians over repeats. The goals
are ratios, each measured side by side in this run; absolute figures hold only for the machine
printed first.
"""

import _cli  # first: it checks the environment JAX and XLA read, before JAX is imported

# isort: split
import json
import os
import platform as host
import sys
import tempfile

import _bench as b
import _bench_formula
import jax
from absl import flags

from lec4_jax.tool import limits

_REPEATS = flags.DEFINE_integer("repeats", 21, "Repeats per in-process row.", lower_bound=1)
_PROCESS_REPEATS = flags.DEFINE_integer("process_repeats", 7, "Repeats per process row (f).",
                                        lower_bound=1)
_SWEEP_SIZES = flags.DEFINE_list("sweep_sizes", None, "Models per sweep row (e); default "
                                 "1e4,1e5,1e6,1e7, plus 1e8 on a GPU.")
flags.register_validator("sweep_sizes", lambda v: v is None or all(_size(s) for s in v),
                         message="give whole numbers from 1 to 1e9, e.g. 1e4,1e5")
_SAMPLES = flags.DEFINE_integer("sequential_samples", 10**6, "Samples for row (d).",
                                lower_bound=1)
_HISTORY_SAMPLES = flags.DEFINE_integer("history_samples", 250_000, "Synthetic samples (x 20 "
                                        "epochs) for row g's --output history.", lower_bound=1)
_CSV_ROWS = flags.DEFINE_integer("csv_rows", 10**6, "Rows of the CSV for row h.", lower_bound=1)
_E2E_SAMPLES = flags.DEFINE_integer("end_to_end_samples", 10**7, "Synthetic samples for row i.",
                                    lower_bound=4)
_PROGRESS_EPOCHS = flags.DEFINE_integer(
    "progress_epochs", 70_000_000, "Lecture epochs (x 3 steps) for row j; above 2e8 steps a run "
    "reports progress.", lower_bound=1)
_FORMULA_SAMPLES = flags.DEFINE_integer("formula_samples", 10**6, "Synthetic samples for row "
                                        "k's training.", lower_bound=1)
_FORMULA_MODELS = flags.DEFINE_integer("formula_sweep_models", 10**6, "Models in row k's sweep.",
                                       lower_bound=1, upper_bound=10**8)
_FORMULA_ONLY = flags.DEFINE_bool("formula_row_only", False, "Measure row k alone (a formula "
                                  "against the registry), not rows a to j.")
_OUTPUT = flags.DEFINE_string("output", None, "Write the table as JSON here.")


def _size(text: str) -> int | None:
    """A model count such as ``1e5`` or ``100000``, or None if it is not one."""
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if value.is_integer() and 1 <= value <= 1e9 else None


def default_sweep_sizes(backend: str) -> list[int]:
    """The sweep's model counts: 1e4 to 1e7, and 1e8 on an accelerator."""
    return [10**4, 10**5, 10**6, 10**7] + ([10**8] if backend != "cpu" else [])


TRAIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "train.py")


# Goals as ratios (issue "Speed as ratios"): the sweep against PyTorch's vectorized eager sweep
# by model count, against the limit probe from 1e6 models up, against the floor at 1e4.
TORCH_GOALS = {10**5: 10, 10**6: 30, 10**7: 80}
LIMIT_GOAL, LIMIT_FROM = 0.5, 10**6
FLOOR_GOAL, FLOOR_AT = 2.0, 10**4


def _ratio(a, b):
    return None if a is None or b is None else a / b


def sweep_rows(n, repeats):
    reps, peer_reps = max(3, repeats // 2), 3 if n < 10**7 else 2
    ours = b.sweep_throughput(n, reps)
    torch_seconds = b.torch_sweep(n, peer_reps)
    numpy_seconds = b.numpy_sweep(n, peer_reps)
    probe = n * 60 / b.limit_probe(n, reps)  # the probe's rate, as the time for this grid
    yield "e", f"sweep, {n:.0e} models x 60 steps", n * 60 / ours, "model-steps/s"
    yield "e", f"  PyTorch eager sweep ({b.torch_threads()} threads)", torch_seconds, "s"
    yield "e", "  NumPy sweep", numpy_seconds, "s"
    yield "e", "  limit probe (the same arithmetic, nothing else)", n * 60 / probe, \
        "model-steps/s"
    yield "e", "  the sweep against PyTorch (its time / ours)", _ratio(torch_seconds, ours), \
        "x", None, ("at least", TORCH_GOALS[n]) if n in TORCH_GOALS else None
    yield "e", "  the sweep against NumPy", numpy_seconds / ours, "x"
    yield "e", "  the sweep's share of the limit probe's rate", probe / ours, "x", None, \
        ("at least", LIMIT_GOAL) if n >= LIMIT_FROM else None
    yield "e", "  the limit probe against PyTorch (the most possible)", \
        _ratio(torch_seconds, probe), "x"
    if n == FLOOR_AT:
        floor = b.floor_round_trip(n, repeats * 5)
        yield "e", "  floor: an empty jitted call, the same outputs", floor, "s"
        yield "e", "  the sweep against the floor (its time / the floor's)", ours / floor, "x", \
            None, ("at most", FLOOR_GOAL)
        yield "e", "  the limit probe against the floor", probe / floor, "x"


def rows(repeats, process_repeats, sweep_sizes, samples, history_samples, csv_rows,
         e2e_samples, progress_epochs):
    a = b.torch_lecture_loop(repeats)
    yield "a", "PyTorch eager lecture loop, 60 steps", a, "s"
    steps = b.jitted_step_loop(repeats)
    yield "b", "jitted step in a Python loop, 60 steps", steps, "s", a
    yield "c", "whole run as train.py runs it (runs.run, compiled), 60 steps", \
        b.compiled_run(repeats), "s", a, ("faster", 200)
    seconds = b.sequential_sgd(samples, max(3, repeats // 4))
    yield "d", f"sequential SGD (runs.run), {samples:.0e} samples", samples / seconds, \
        "steps/s", None, ("at least", 100e6)
    for n in sweep_sizes:
        yield from sweep_rows(n, repeats)
        if jax.default_backend() != "cpu":  # an accelerator's figure, results left there
            seconds = b.sweep_throughput(n, max(5, repeats // 2), to_host=False)
            yield "e", f"sweep, {n:.0e} models x 60 steps, results left on the device", \
                n * 60 / seconds, "model-steps/s", None, ("at least", 5e12)
    seed = b.lecture_script_seconds(process_repeats)
    yield "f", "the seed's PyTorch script, whole process", seed, "s"
    ours = b.process_seconds([sys.executable, TRAIN], process_repeats)
    yield "f", "python scripts/train.py, whole process", ours, "s", seed, ("of the seed", 0.6)
    base = b.peak_rss_bytes([sys.executable, TRAIN, "--trace=false"])
    yield "g", "peak RSS, train.py --trace=false (20 epochs)", base, "B"
    long = b.peak_rss_bytes([sys.executable, TRAIN, "--trace=false", "--epochs=5000000"])
    yield "g", "peak RSS, --epochs=5000000 --trace=false", long, "B", base, \
        ("of the reference", 1.5)
    with tempfile.TemporaryDirectory() as folder:
        history = b.peak_rss_bytes([sys.executable, TRAIN, "--trace=false", "--dataset=synthetic",
                                    f"--num_samples={history_samples}",
                                    f"--output={os.path.join(folder, 'h.json')}"])
    yield "g", f"peak RSS, {history_samples * 20:.0e}-step history to --output", history, "B", \
        None, ("at most", 4 * 2**30)
    careful, fast = b.csv_load_seconds(csv_rows, 3)
    yield "h", f"{csv_rows:.0e}-row CSV, the careful parser (Python's csv)", careful, "s"
    yield "h", f"{csv_rows:.0e}-row CSV, load_csv (NumPy's C parser)", fast, "s", careful, \
        ("faster", 5)
    yield from end_to_end_rows(e2e_samples, process_repeats, repeats)
    without, with_progress, extra = b.progress_seconds(progress_epochs, 5)
    yield "j", f"lecture run, {progress_epochs * 3:.1e} steps, no progress", without, "s"
    yield "j", "  the same, reporting progress", with_progress, "s"
    yield "j", "  its cost (1 + the median paired difference / without)", 1 + extra / without, \
        "x", None, ("at most", 1.02)


def end_to_end_rows(n, process_repeats, repeats):
    """(i) train.py's rate over ``n`` synthetic samples (one epoch): the whole process's time
    less a 3-sample process's (start-up, compile), against the same run (runs.run) alone in
    this process."""
    argv = [sys.executable, TRAIN, "--dataset=synthetic", "--epochs=1", "--trace=false",
            "--noprogress"]
    small, big, extra = b.paired_process_seconds(argv + ["--num_samples=3"],
                                                 argv + [f"--num_samples={n}"],
                                                 2 * process_repeats + 1)
    scan_rate = n / b.sequential_sgd(n, max(3, repeats // 4))
    rate = n / max(extra, 1e-9)
    draw = b.synthetic_seconds(n, max(3, repeats // 4))
    yield "i", f"the run alone (runs.run), in process, {n:.0e} samples", scan_rate, "steps/s"
    yield "i", f"  train.py, {n:.0e} samples, less a 3-sample process", rate, "steps/s"
    yield "i", "  its share of the scan's rate", rate / scan_rate, "x", None, ("at least", 0.6)
    yield "i", f"  drawing the {n:.0e} samples alone (NumPy, every core)", draw, "s"
    yield "i", "  the most possible share: scan / (scan + drawing)", \
        (n / scan_rate) / (n / scan_rate + draw), "x"


def main(_):
    out = _cli.outputs_from([(_OUTPUT, None)])
    sizes = [_size(s) for s in _SWEEP_SIZES.value] if _SWEEP_SIZES.value else \
        default_sweep_sizes(jax.default_backend())
    for need, what, field in b.memory_needs(max(sizes), _SAMPLES.value, _HISTORY_SAMPLES.value,
                                            _CSV_ROWS.value, _E2E_SAMPLES.value,
                                            _PROGRESS_EPOCHS.value):
        limits.check_memory(need, what, field)  # before the first row, not several rows in
    machine = {"python": host.python_version(), "jax": jax.__version__,
               "backend": jax.default_backend(), "devices": [str(d) for d in jax.devices()],
               "cpu": b.cpu_name(), "cores": os.cpu_count()}
    out.print_lines([f"machine: {machine['cpu']}, {machine['backend']}, {machine['cores']} cores, "
                     f"jax {machine['jax']}, devices {', '.join(machine['devices'])}"])
    results = []
    measured = [] if _FORMULA_ONLY.value else [rows(
        _REPEATS.value, _PROCESS_REPEATS.value, sizes, _SAMPLES.value, _HISTORY_SAMPLES.value,
        _CSV_ROWS.value, _E2E_SAMPLES.value, _PROGRESS_EPOCHS.value)]
    measured.append(_bench_formula.rows(_REPEATS.value, _FORMULA_SAMPLES.value,
                                        _FORMULA_MODELS.value))
    for row in (row for group in measured for row in group):
        results.append(b.bench_row(*row))
        out.print_lines([results[-1]["text"]])
    if "--output" in out:
        out.commit("--output", json.dumps({"machine": machine, "rows": results}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    _cli.run(main)
