"""Benchmarks lec4_jax against the lecture's PyTorch loop, all rows measured in one run.

Rows: (a) PyTorch's eager loop; (b) a jitted step in a Python loop; (c) the whole run compiled;
(d) sequential SGD over many samples; (e) learning-rate sweep throughput; (f) the whole
``scripts/train.py`` process against the lecture's script; (g) peak memory: a long run without
history against a 20-epoch run, and a long history streamed to JSON; (h) loading a CSV.
Medians over repeats; compare ratios.
"""

import json
import os
import platform as host
import sys
import tempfile

import jax
from absl import flags

import _cli
from lec4_jax import benchmarks as b

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
_OUTPUT = flags.DEFINE_string("output", None, "Write the table as JSON here.")


def _size(text: str) -> int | None:
    """A model count such as ``1e5`` or ``100000``, or None if it is not one."""
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if value.is_integer() and 1 <= value <= 1e9 else None


TRAIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "train.py")


def rows(repeats, process_repeats, sweep_sizes, samples, history_samples, csv_rows):
    a = b.torch_lecture_loop(repeats)
    yield "a", "PyTorch eager lecture loop, 60 steps", a, "s", None, None
    steps = b.jitted_step_loop(repeats)
    yield "b", "jitted step in a Python loop, 60 steps", steps, "s", a, None
    yield "c", "whole run compiled (one lax.scan), 60 steps", b.compiled_run(repeats), "s", a, \
        ("faster than a", 200)
    seconds = b.sequential_sgd(samples, max(3, repeats // 4))
    yield "d", f"sequential SGD, {samples:.0e} samples", samples / seconds, "steps/s", None, \
        ("steps/s", 100e6)
    on_cpu = jax.default_backend() == "cpu"
    goal = ("model-steps/s", 10e9 if on_cpu else 5e12)
    for n in sweep_sizes:
        seconds = b.sweep_throughput(n, max(5, repeats // 2))
        yield "e", f"sweep, {n:.0e} models x 60 steps", n * 60 / seconds, "model-steps/s", None, \
            goal if on_cpu else None
        if not on_cpu:  # an accelerator's figure without the copy of the results to the host
            seconds = b.sweep_throughput(n, max(5, repeats // 2), to_host=False)
            yield "e", f"sweep, {n:.0e} models x 60 steps, results left on the device", \
                n * 60 / seconds, "model-steps/s", None, goal
    seed = b.lecture_script_seconds(process_repeats)
    yield "f", "the seed's PyTorch script, whole process", seed, "s", None, None
    ours = b.process_seconds([sys.executable, TRAIN], process_repeats)
    yield "f", "python scripts/train.py, whole process", ours, "s", seed, ("of the seed", 0.6)
    base = b.peak_rss_bytes([sys.executable, TRAIN, "--trace=false"])
    yield "g", "peak RSS, train.py --trace=false (20 epochs)", base, "B", None, None
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
    yield "h", f"{csv_rows:.0e}-row CSV, the careful parser (Python's csv)", careful, "s", None, \
        None
    yield "h", f"{csv_rows:.0e}-row CSV, load_csv (NumPy's C parser)", fast, "s", careful, \
        ("faster than the careful parser", 5)


def main(_):
    out = _cli.outputs_from([(_OUTPUT, None)])
    sizes = [_size(s) for s in _SWEEP_SIZES.value] if _SWEEP_SIZES.value else \
        [10**4, 10**5, 10**6, 10**7] + ([10**8] if jax.default_backend() != "cpu" else [])
    machine = {"python": host.python_version(), "jax": jax.__version__,
               "backend": jax.default_backend(), "devices": [str(d) for d in jax.devices()],
               "cpu": host.processor() or host.machine(), "cores": os.cpu_count()}
    out.print_lines([f"machine: {machine['backend']}, {machine['cores']} cores, "
                     f"jax {machine['jax']}, devices {', '.join(machine['devices'])}"])
    results = []
    for row in rows(_REPEATS.value, _PROCESS_REPEATS.value, sizes, _SAMPLES.value,
                    _HISTORY_SAMPLES.value, _CSV_ROWS.value):
        results.append(b.bench_row(*row))
        out.print_lines([results[-1]["text"]])
    if "--output" in out:
        out.commit("--output", json.dumps({"machine": machine, "rows": results}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    _cli.run(main)
