"""Memory: the limits the scripts check, and what runs really use (docs/contract.md, "Memory").

The limit is faked with a cgroup folder (``LEC4_JAX_CGROUP_ROOT``), so every case runs as a user
would, in a subprocess, and checks the exit status, the one line and the files left. What runs
use is measured as peak RSS at small sizes, per unit of size, never by allocating gigabytes.
"""

from __future__ import annotations

import os
import sys

import _bench as benchmarks
import pytest

from cli_util import SCRIPTS, assert_usage_error, run_script
from lec4_jax.tool import limits

MIB = 2**20


def fake_cgroup(root, version: int, limit: int, usage: int = 0) -> dict:
    """A cgroup v1 or v2 folder whose memory limit is ``limit`` bytes; the environment that
    points the scripts at it."""
    folder = root / ("memory" if version == 1 else "")
    folder.mkdir(parents=True, exist_ok=True)
    names = ("memory.limit_in_bytes", "memory.usage_in_bytes") if version == 1 else \
        ("memory.max", "memory.current")
    (folder / names[0]).write_text(f"{limit}\n")
    (folder / names[1]).write_text(f"{usage}\n")
    return {limits.CGROUP_ROOT: str(root)}


@pytest.mark.parametrize("version", [1, 2])
def test_a_cgroup_limit_below_memavailable_is_the_limit(tmp_path, version):
    env = fake_cgroup(tmp_path / "cgroup", version, 100 * MIB, usage=36 * MIB)
    assert limits.available_memory(str(tmp_path / "cgroup")) == 64 * MIB
    assert limits.available_memory() > 64 * MIB  # this machine has more: the limit decides
    # 3e6 steps of float32 history: about 137 MiB
    proc = run_script("train.py", "--epochs=1000000", f"--output={tmp_path / 'o.json'}",
                      env=env, timeout=60)
    assert_usage_error(proc, "--epochs: a per-step history of 3,000,000 steps needs about")
    assert "more than the 0.0625 GiB available" in proc.stderr
    assert sorted(os.listdir(tmp_path)) == ["cgroup"]


def test_an_unlimited_cgroup_v1_is_no_limit(tmp_path):
    fake_cgroup(tmp_path, 1, 9223372036854771712)  # v1's "no limit"
    assert limits._cgroup_rooms(str(tmp_path)) == [9223372036854771712]


@pytest.mark.parametrize("x64, message", [
    (False, "--html: the page holds at most 20,000 steps"),  # the memory fits
    (True, "--epochs: a per-step history of 1,500,000 steps needs about 0.123 GiB"),
])
def test_the_history_estimate_is_in_the_compute_dtype(tmp_path, x64, message):
    # float32: 2 x 1.5e6 x (4 + 4 x 5) bytes = 69 MiB; float64: 2 x 1.5e6 x (4 + 8 x 5) = 126 MiB
    env = fake_cgroup(tmp_path / "cgroup", 2, 100 * MIB)
    proc = run_script("train.py", "--epochs=500000", f"--x64={x64}",
                      f"--html={tmp_path / 'p.html'}", env=env, timeout=60)
    assert_usage_error(proc, message)
    assert sorted(os.listdir(tmp_path)) == ["cgroup"]


def peak_rss(script: str, *args: str) -> int:
    """The peak resident memory of ``script args`` (bytes), measured as bench.py's row g."""
    return benchmarks.peak_rss_bytes([sys.executable, str(SCRIPTS / script), "--noprogress",
                                      *args])


def train_rss(*args: str) -> int:
    return peak_rss("train.py", "--trace=false", "--dataset=synthetic", *args)


def test_plot_of_a_long_history_stays_within_the_history_estimate(tmp_path):
    # 2e5 and 2e6 steps: the growth per step, at most what the history check assumes (matplotlib
    # held ~100 bytes a drawn point: 4x the estimate)
    small, big = (train_rss(f"--num_samples={n}", f"--plot={tmp_path / 'p.png'}")
                  for n in (10_000, 100_000))
    assert big - small <= limits.history_bytes(1_800_000, 1, 4), (small, big)


def test_landscape_of_many_samples_draws_a_bounded_picture(tmp_path):
    # one curve per distinct sample was 0.12 MB a sample (18 GB at 1e6 samples)
    small, big = (train_rss("--epochs=1", f"--num_samples={n}", f"--landscape={tmp_path / 'l.png'}")
                  for n in (3, 3000))
    assert big - small <= 100 * MIB, (small, big)


@pytest.mark.parametrize("args, params, itemsize, plot", [
    (["--model=linear", "--plot=PLOT"], 1, 4, True),
    (["--model=quadratic", "--x64"], 3, 8, False),
])
def test_the_sweep_estimate_covers_what_a_model_uses(tmp_path, args, params, itemsize, plot):
    args = [a.replace("PLOT", str(tmp_path / "s.png")) for a in args]
    small, big = (peak_rss("sweep.py", "--epochs=1", f"--num_lr={n}", *args)
                  for n in (100_000, 1_000_000))
    assert big - small <= limits.sweep_bytes(900_000, params, itemsize, plot), (small, big)


@pytest.mark.parametrize("history", [False, True])
def test_the_python_loop_needs_what_the_compiled_loop_needs(tmp_path, history):
    # it kept every step's arrays, and stacked them in one compiled program: 16 GB at 3e4
    # epochs; then an array object per epoch (3 kB each)
    args = ["--loop=python", "--trace=false"] + ([f"--plot={tmp_path / 'p.png'}"] if history
                                                 else [])
    small, big = (peak_rss("train.py", *args, f"--epochs={e}") for e in (3000, 30000))
    allowed = 2 * limits.history_bytes(81_000, 1, 4) if history else 4 * MIB
    assert big - small <= allowed, (small, big)


@pytest.mark.parametrize("flag, value, what", [
    ("csv_rows", "10000000", "a 10,000,000-row CSV"),
    ("sweep_sizes", "1e4,1e8", "a sweep row of 100,000,000 models"),
])
def test_bench_checks_its_memory_before_the_first_row(tmp_path, flag, value, what):
    env = fake_cgroup(tmp_path / "cgroup", 2, 4 * 2**30)  # the defaults fit
    proc = run_script("bench.py", f"--{flag}={value}", f"--output={tmp_path / 'b.json'}",
                      env=env, timeout=120)
    assert_usage_error(proc, f"--{flag}: {what} needs about")
    assert sorted(os.listdir(tmp_path)) == ["cgroup"]

