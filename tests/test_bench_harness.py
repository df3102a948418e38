"""The benchmark's contenders do the sweep's job (scripts/_bench.py): a peer or a probe that
computed something else would be timed against the sweep for nothing. Each is checked against
the library's sweep on the same grid, and the table's units as they are printed."""

import _bench as b
import numpy as np
import pytest

from lec4_jax.tool import sweep
from lec4_jax.tool.data import LECTURE_X, LECTURE_Y

MODELS = 64  # learning rates from 1e-4 to 0.2, all stable (below 0.204018)


def test_the_sweep_rows_grid_is_log_spaced_from_1e_4_to_0_2():
    grid = b._sweep_grid(MODELS)
    assert grid.dtype == np.float32 and len(grid) == MODELS
    assert (grid[0], grid[-1]) == (np.float32(1e-4), np.float32(0.2))
    np.testing.assert_allclose(np.diff(np.log(grid)), np.log(2000) / (MODELS - 1), rtol=1e-4)


@pytest.fixture(scope="module")
def library():
    r = sweep.train_grid(b._sweep_grid(MODELS), [1.0], LECTURE_X, LECTURE_Y,
                         epochs=b.SWEEP_EPOCHS)
    return r.final_w, r.final_loss, r.diverged


@pytest.mark.parametrize("peer", ["numpy", "torch"])
def test_the_peers_compute_the_sweeps_results(peer, library):
    # Float32 both; XLA may fuse a multiply-add where the peers round twice (docs/parity.md),
    # so the values agree to a few ulps per step and the verdicts exactly.
    job = b.numpy_sweep_job(MODELS) if peer == "numpy" else b.torch_sweep_job(MODELS)
    w, loss, diverged = job()
    want_w, want_loss, want_diverged = library
    assert w.dtype == loss.dtype == np.float32
    np.testing.assert_array_equal(diverged, want_diverged)
    np.testing.assert_allclose(w, want_w, rtol=2e-5)
    # (near 0 the loss cancels: a few ulps of w are a large part of it, so an absolute floor)
    np.testing.assert_allclose(loss, want_loss, rtol=2e-4, atol=1e-6)


def test_the_limit_probe_runs_the_sweeps_steps(library):
    # The fused kernel: 60 steps of the lecture's SGD on each rate, nothing else.
    w = np.asarray(b._fused(b._sweep_grid(MODELS)))
    np.testing.assert_allclose(w, library[0], rtol=2e-5)
    # the cached kernel: passes of DEFAULT_UNROLL steps
    lr = b._sweep_grid(8)
    by_hand = np.ones(8, np.float32)
    for k in range(2 * sweep.DEFAULT_UNROLL):
        x, y = np.float32(LECTURE_X[k % 3]), np.float32(LECTURE_Y[k % 3])
        by_hand = by_hand - lr * (np.float32(2) * x * (x * by_hand - y))
    np.testing.assert_allclose(np.asarray(b._cached(lr, passes=2)), by_hand, rtol=1e-6)


@pytest.mark.parametrize("value, unit, text", [
    (3 * 2**20, "B", "3 MiB"), (1.5 * 2**30, "B", "1536 MiB"),
    (2.5, "s", "2.5 s"), (0.0125, "s", "12.5 ms"), (3e-6, "s", "3 us"), (4e-8, "s", "40 ns"),
    (406.2, "x", "406x"),
    (1.53e8, "steps/s", "153 Msteps/s"), (1e6, "steps/s", "1 Msteps/s"),
    (2.2e9, "model-steps/s", "2.2 Gmodel-steps/s"), (3e12, "/s", "3 T/s"),
    (1500.0, "/s", "1.5 k/s"), (12.0, "/s", "12 /s"),
])
def test_the_tables_units(value, unit, text):
    assert b._human(value, unit) == text


@pytest.mark.parametrize("value, unit, text", [
    (1e3, "/s", "1 k/s"), (1e6, "/s", "1 M/s"), (1e9, "/s", "1 G/s"), (1e12, "/s", "1 T/s"),
    (1.0, "s", "1 s"), (1e-3, "s", "1 ms"), (1e-6, "s", "1 us"),
])
def test_each_prefix_starts_at_its_own_power_of_ten(value, unit, text):
    assert b._human(value, unit) == text


SIZES = {"sweep_sizes": 10**5, "sequential_samples": 10**6, "history_samples": 250_000,
         "csv_rows": 10**6, "end_to_end_samples": 10**7, "progress_epochs": 70_000_000}


@pytest.mark.parametrize("field", list(SIZES))
def test_each_rows_memory_need_grows_with_its_own_size_only(field):
    # bench.py refuses, before the first row, a size the machine cannot hold: each need is
    # the benchmark process plus a part proportional to its size (so 10x the size is more
    # than 9x the part), and no other row's need moves.
    def needs(**sizes):
        return {f: need for need, _, f in b.memory_needs(*dict(SIZES, **sizes).values())}

    base, bigger = needs(), needs(**{field: 10 * SIZES[field]})
    assert set(base) == set(SIZES)
    for f in SIZES:
        if f == field:
            assert bigger[f] - b.BASE_BYTES > 9 * (base[f] - b.BASE_BYTES) > 0
        else:
            assert bigger[f] == base[f]


def test_a_history_rows_need_holds_the_history_and_the_data_it_is_made_from():
    from lec4_jax.tool import limits

    n = SIZES["history_samples"]
    need = {f: need for need, _, f in b.memory_needs(*SIZES.values())}["history_samples"]
    # 20 epochs of n samples: one step each, one parameter, float32
    assert need >= b.BASE_BYTES + limits.history_bytes(20 * n, 1, 4) + limits.data_bytes(n)


@pytest.mark.parametrize("kind, value, met", [
    ("at most", 2.0, True), ("at most", 2.0000001, False),
    ("at least", 2.0, True), ("at least", 1.9999999, False),
])
def test_a_goal_is_met_on_its_bound(kind, value, met):
    row = b.bench_row("a", "x", value, "s", goal=(kind, 2.0))
    assert row["met"] is met


@pytest.mark.parametrize("peer", ["numpy", "torch"])
def test_the_peers_call_divergence_as_the_sweep_does(peer, monkeypatch):
    # Rates just past the lecture's stable edge (0.204018): losses that grew from the start,
    # some by little (each peer's loss at the start is the lecture's, w = 1); at rate 0 the
    # loss ends where it began, which is not divergence.
    grid = np.float32(np.r_[0.0, np.geomspace(0.2, 0.3, 47)])  # 0: the loss stays put
    monkeypatch.setattr(b, "_sweep_grid", lambda n: grid[:n])
    r = sweep.train_grid(grid, [1.0], LECTURE_X, LECTURE_Y, epochs=b.SWEEP_EPOCHS)
    job = b.numpy_sweep_job(48) if peer == "numpy" else b.torch_sweep_job(48)
    _, loss, diverged = job()
    assert 0 < r.diverged.sum() < 48 and np.any((loss > 4.7) & (loss < 18))
    np.testing.assert_array_equal(diverged, r.diverged)


def test_the_sweep_timed_is_the_peers_sweep(monkeypatch):
    # the same rates, w from 1 as the peers start, the same epochs, results brought to NumPy
    seen = []
    train_grid = b.sweep.train_grid
    monkeypatch.setattr(b.sweep, "train_grid",
                        lambda *args, **kwargs: seen.append((args, kwargs)) or
                        train_grid(*args, **kwargs))
    b.sweep_throughput(8, 1)
    (lrs, inits, x, y), kwargs = seen[-1]
    np.testing.assert_array_equal(lrs, b._sweep_grid(8))
    assert (list(inits), list(x), list(y)) == ([1.0], list(LECTURE_X), list(LECTURE_Y))
    assert kwargs == {"epochs": b.SWEEP_EPOCHS, "to_host": True}


def test_the_cpus_name_is_procs_model_name():
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f
                     if line.startswith("model name")]
    except OSError:
        names = []
    if not names:
        pytest.skip("no model name in /proc/cpuinfo")
    assert b.cpu_name() == names[0]


def test_a_failing_process_measured_for_memory_says_its_exit_status():
    import sys

    with pytest.raises(RuntimeError, match=r" exited 3$"):
        b.peak_rss_bytes([sys.executable, "-c", "raise SystemExit(3)"])
