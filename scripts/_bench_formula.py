"""Row (k) of ``scripts/bench.py``: a model typed as a formula against the same model from the
registry (``x*w`` against ``linear``), each timed side by side with the other, and the parse time
of a long formula.

A formula's model is traced into the same XLA program as the registry's, so the goal is a ratio
near 1 (at most 1.5): what a formula may cost is tracing, not training.
"""

from __future__ import annotations

import time

import jax
import numpy as np
from _bench import paired_seconds

from lec4_jax import model as model_lib
from lec4_jax.tool import data, runs, sweep, training

FORMULA = "x*w"  # the lecture's model as a formula, against the registry's: LECTURE
PARSE_NODES = 1000
RATIO_GOAL = 1.5  # the formula's time / the registry's, at most
PARSE_GOAL = 0.050  # seconds for a formula of PARSE_NODES nodes


def _models():
    return model_lib.get(FORMULA), model_lib.LECTURE


def train_pair(num_samples: int, repeats: int) -> tuple[float, float]:
    """One epoch of per-sample SGD (the compiled scan train.py runs) over ``num_samples``
    synthetic samples, for the formula and for the registry's model, timed alternately:
    (formula seconds, registry seconds), medians."""
    ds = data.synthetic(num_samples, noise=0.1, seed=0, dtype=np.float32)
    device = training.sequential_device()
    x, y = jax.device_put((ds.x, ds.y), device)

    def job(m):  # runs.run's compiled program, as train.py runs it
        p0 = jax.device_put({p: np.float32(v) for p, v in m.defaults.items()}, device)
        lr, px = jax.device_put((np.float32(0.01), np.float32(4.0)), device)
        rule = training.Rule.of(m)
        return lambda: jax.block_until_ready(runs._run_compiled(  # noqa: SLF001
            p0, x, y, lr, px, epochs=1, rule=rule, keep_history=False))

    formula, registry = _models()
    a, b, _ = paired_seconds(job(formula), job(registry), repeats)
    return a, b


def sweep_pair(num_models: int, repeats: int) -> tuple[float, float]:
    """A learning-rate sweep of ``num_models`` models x 20 epochs on the lecture's data, for
    the formula and the registry's model, timed alternately: (formula, registry) seconds."""
    lrs = sweep.learning_rates(1e-4, 0.2, num_models).astype(np.float32)

    def job(m):
        def run():
            r = sweep.train_grid(lrs, [1.0], data.LECTURE_X, data.LECTURE_Y, epochs=20, model=m)
            return jax.block_until_ready((r.final_w, r.final_loss, r.diverged))
        return run

    formula, registry = _models()
    a, b, _ = paired_seconds(job(formula), job(registry), repeats)
    return a, b


def long_formula(nodes: int = PARSE_NODES) -> str:
    """A valid formula of about ``nodes`` nodes (:func:`lec4_jax.formula.sample`)."""
    from lec4_jax import formula

    return formula.sample(nodes)


def parse_seconds(text: str, repeats: int) -> float:
    """The median time of :func:`lec4_jax.formula.parse` on ``text``, the whole public call
    (tree, checks, the Model), its caches emptied before each call so the parser runs each
    time."""
    from lec4_jax import formula

    caches = [f for f in vars(formula).values() if hasattr(f, "cache_clear")]
    times = []
    for _ in range(repeats):
        for f in caches:
            f.cache_clear()
        start = time.perf_counter()
        formula.parse(text)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def rows(repeats: int, train_samples: int, sweep_models: int):
    """Row (k)'s lines, as ``scripts/bench.py`` prints them."""
    reps = max(3, repeats // 2)
    f_train, r_train = train_pair(train_samples, reps)
    yield "k", f"formula {FORMULA!r}: one epoch over {train_samples:.0e} samples", f_train, "s"
    yield "k", f"  registry {model_lib.LECTURE.name!r}, the same (side by side)", r_train, "s"
    yield "k", "  the formula's time / the registry's (train)", f_train / r_train, "x", None, \
        ("at most", RATIO_GOAL)
    f_sweep, r_sweep = sweep_pair(sweep_models, reps)
    yield "k", f"formula {FORMULA!r}: sweep, {sweep_models:.0e} models x 60 steps", f_sweep, "s"
    yield "k", f"  registry {model_lib.LECTURE.name!r}, the same (side by side)", r_sweep, "s"
    yield "k", "  the formula's time / the registry's (sweep)", f_sweep / r_sweep, "x", None, \
        ("at most", RATIO_GOAL)
    text = long_formula()
    yield "k", f"parsing a formula of {PARSE_NODES:,} nodes ({len(text):,} characters)", \
        parse_seconds(text, repeats), "s", None, ("at most", PARSE_GOAL)
