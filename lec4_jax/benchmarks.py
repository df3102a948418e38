"""Measurements for ``scripts/bench.py``: each returns seconds (medians over repeats).

Every figure is measured in the run that reports it; only the ratios between rows of one run
mean much on a shared, noisy machine.
"""

from __future__ import annotations

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

from lec4_jax import data, sweep, training

LECTURE_SCRIPT = '''import torch

device = torch.device('cpu')
x_data = [1.0, 2.0, 3.0]
y_data = [2.0, 4.0, 6.0]


w = torch.Tensor([1.0], device = device)
w.requires_grad_(True)

def forward(x):
    return x * w

def loss(x, y):
    y_pred = forward(x)
    return (y_pred - y) * (y_pred - y)

print('predict (BT)', 4, forward(4).data[0])

for epoch in range(20):
    for x_val, y_val in zip(x_data, y_data):
        l = loss(x_val, y_val)
        l.backward()
        print('\\tgrad: ', x_val, y_val, w.grad.data[0])
        w.data = w.data - 0.01 * w.grad.data
        w.grad.data.zero_()

    print('progress:', epoch, l.data[0])
print('predict (AT)', 4, forward(4).data[0])
'''
"""The lecture's PyTorch script, as the seed notes give it (the reference for row f)."""


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
        import torch
    except ImportError:
        return None

    def loop():
        w = torch.tensor([1.0], requires_grad=True)
        for _ in range(20):
            for x_val, y_val in zip(data.LECTURE_X, data.LECTURE_Y):
                y_pred = x_val * w
                loss = (y_pred - y_val) * (y_pred - y_val)
                loss.backward()
                w.data = w.data - 0.01 * w.grad.data
                w.grad.data.zero_()
        return w

    return median_seconds(loop, repeats)


def _lecture_arrays():
    device = training.sequential_device()
    x, y = jnp.asarray(data.LECTURE_X), jnp.asarray(data.LECTURE_Y)
    return jax.device_put(({"w": jnp.float32(1.0)}, x, y, jnp.float32(0.01)), device)


def jitted_step_loop(repeats: int) -> float:
    """(b) The jitted :func:`training.update` called from a Python loop, 60 steps."""
    params, x, y, lr = _lecture_arrays()
    xs, ys = list(x), list(y)

    def loop():
        p, state = params, training.init_state(params, lr)
        for _ in range(20):
            for xi, yi in zip(xs, ys):
                p, state, _, _ = training.update(p, state, xi, yi, lr)
        return jax.block_until_ready(p)

    return median_seconds(loop, repeats)


def compiled_run(repeats: int) -> float:
    """(c) The whole 20-epoch run as one compiled program (``lax.scan``), called once."""
    params, x, y, lr = _lecture_arrays()
    run = jax.jit(lambda p, x, y, lr: training.train(p, x, y, lr, epochs=20,
                                                     keep_history=False).final_params)
    return median_seconds(lambda: jax.block_until_ready(run(params, x, y, lr)), repeats, 3)


def sequential_sgd(num_samples: int, repeats: int) -> float:
    """(d) One epoch of per-sample SGD over ``num_samples`` synthetic samples."""
    ds = data.synthetic(num_samples, noise=0.1, seed=0)
    params, _, _, lr = _lecture_arrays()
    x, y = jax.device_put((jnp.asarray(ds.x, jnp.float32), jnp.asarray(ds.y, jnp.float32)),
                          training.sequential_device())
    run = jax.jit(lambda p, x, y, lr: training.train(p, x, y, lr, epochs=1,
                                                     keep_history=False).final_params)
    return median_seconds(lambda: jax.block_until_ready(run(params, x, y, lr)), repeats)


def sweep_throughput(num_models: int, repeats: int, to_host: bool = True) -> float:
    """(e) ``num_models`` lecture models (a learning-rate grid) x 20 epochs, end to end: the
    results in NumPy, or (``to_host=False``) left on the devices."""
    lrs = sweep.learning_rates(1e-4, 0.2, num_models)

    def run():
        r = sweep.train_grid(lrs, [1.0], data.LECTURE_X, data.LECTURE_Y, epochs=20,
                             to_host=to_host)
        return jax.block_until_ready((r.final_w, r.final_loss, r.diverged))

    return median_seconds(run, repeats)


def process_seconds(argv: list[str], repeats: int, env: dict | None = None) -> float:
    """(f) The wall time of a whole process, output discarded."""
    env = dict(os.environ, **(env or {}))

    def run():
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                       env=env)

    return median_seconds(run, repeats)


def csv_load_seconds(rows: int, repeats: int) -> tuple[float, float]:
    """(h) Loading a ``rows``-row CSV of x,y floats: (the careful parser, ``load_csv``)."""
    from lec4_jax import data

    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, rows)
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
        f.write("x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(x.tolist(),
                                                                     (2 * x).tolist())))
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
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(LECTURE_SCRIPT)
    try:
        return process_seconds([sys.executable, f.name], repeats)
    finally:
        os.remove(f.name)


def _human(value: float, unit: str) -> str:
    if unit == "s":
        for scale, name in ((1, "s"), (1e-3, "ms"), (1e-6, "us")):
            if value >= scale:
                return f"{value / scale:.3g} {name}"
        return f"{value * 1e9:.3g} ns"
    if unit == "B":
        return f"{value / 2**20:.4g} MiB"
    for scale, name in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= scale:
            return f"{value / scale:.3g} {name}{unit}"
    return f"{value:.3g} {unit}"


def bench_row(row: str, what: str, value, unit: str, reference, goal) -> dict[str, Any]:
    """One benchmark row as a dict with its printed line: the figure, its ratio to the
    reference (how many times faster; for process rows the fraction of the reference's time),
    and the goal, met or not."""
    entry = {"row": row, "what": what, "value": value, "unit": unit, "ratio": None,
             "goal": None, "met": None}
    if value is None:
        entry["text"] = f"{row}  {what:<46} skipped (torch is not installed)"
        return entry
    text = f"{row}  {what:<46} {_human(value, unit):>16}"
    if reference is not None and unit == "s":
        entry["ratio"] = value / reference if goal and goal[0] == "of the seed" \
            else reference / value
        text += (f"  {entry['ratio']:.2f}x of the seed" if goal and goal[0] == "of the seed"
                 else f"  {entry['ratio']:.1f}x faster")
    if goal and (goal[0] == "of the seed" or goal[0].startswith("faster than")) \
            and reference is None:
        entry["goal"] = goal[0]
        text += "  (goal: no reference without torch)"
    elif goal:
        kind, target = goal
        if kind == "of the seed":
            entry["met"] = entry["ratio"] is not None and entry["ratio"] <= target
            entry["goal"] = f"<= {target}x of the seed's time"
        elif kind == "of the reference":
            entry["ratio"] = value / reference
            entry["met"] = entry["ratio"] <= target
            entry["goal"] = f"<= {target}x of the reference"
            text += f"  {entry['ratio']:.2f}x"
        elif kind == "at most":
            entry["met"] = value <= target
            entry["goal"] = f"<= {_human(target, unit)}"
        elif kind.startswith("faster than"):
            entry["met"] = entry["ratio"] is not None and entry["ratio"] >= target
            entry["goal"] = f">= {target}x {kind}"
        else:
            entry["met"] = value >= target
            entry["goal"] = f">= {_human(target, unit)}"
        text += f"  (goal {entry['goal']}: {'met' if entry['met'] else 'NOT met'})"
    entry["text"] = text
    return entry
