"""Sizes refused up front: step counters that would overflow, and memory the machine lacks.

Every check raises a one-line :class:`~lec4_jax.data.InputError` with an estimate, before any
work is done, rather than overflowing a counter or being killed for memory halfway through.
"""

from __future__ import annotations

import os

from lec4_jax.data import InputError

MAX_STEPS = 2**31 - 1  # training counts steps in int32 (JAX's default integer)
GIB = 2**30


def available_memory() -> int:
    """Bytes this process may still use: the smaller of the machine's available memory and
    what its cgroup (a container's limit) leaves."""
    found = []
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open("/sys/fs/cgroup/memory.max") as f:
            limit = f.read().strip()
        if limit != "max":
            with open("/sys/fs/cgroup/memory.current") as f:
                found.append(int(limit) - int(f.read()))
    except (OSError, ValueError):
        pass
    if not found:
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (OSError, ValueError):
            return 1 << 62
    return max(0, min(found))


def check_steps(epochs: int, num_samples: int) -> int:
    """The number of training steps, refused if the step counter cannot hold it."""
    steps = epochs * num_samples
    if steps > MAX_STEPS:
        raise InputError(f"{epochs:,} epochs x {num_samples:,} samples = {steps:,} steps; at most "
                         f"{MAX_STEPS:,} (the step counter is a 32-bit integer)", "epochs")
    return steps


def check_memory(needed: int, what: str, field: str, available: int | None = None) -> None:
    """Refuses work whose estimated memory ``needed`` (bytes) exceeds what is available."""
    available = available_memory() if available is None else available
    if needed > available:
        raise InputError(f"{what} needs about {needed / GIB:.3g} GiB of memory, more than the "
                         f"{available / GIB:.3g} GiB available", field)


def history_bytes(steps: int, num_params: int, itemsize: int) -> int:
    """Memory for a run's per-step history: epoch, x, y, loss, and each parameter and its
    gradient, held once by JAX and once more while it is read back (a safe upper bound)."""
    return 2 * steps * (4 + itemsize * (3 + 2 * num_params))


def data_bytes(num_samples: int) -> int:
    """Memory to make and hold ``num_samples`` samples (float64 while made, then cast)."""
    return num_samples * 48
