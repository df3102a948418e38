"""Sizes refused up front: step counters that would overflow, and memory the machine lacks.

Every check raises a one-line :class:`~lec4_jax.tool.data.InputError` with an estimate, before any
work is done, rather than overflowing a counter or being killed for memory halfway through.
"""

from __future__ import annotations

import os

from lec4_jax.tool.data import InputError

MAX_STEPS = 2**31 - 1  # training counts steps in int32 (JAX's default integer)
GIB = 2**30


CGROUP_ROOT = "LEC4_JAX_CGROUP_ROOT"  # environment: where the cgroup file systems are mounted
# (hierarchy, limit file, usage file) of cgroup v2 and of v1's memory controller
_CGROUP_FILES = (("", "memory.max", "memory.current"),
                 ("memory", "memory.limit_in_bytes", "memory.usage_in_bytes"))


def available_memory(cgroup_root: str | None = None) -> int:
    """Bytes this process may still use: the smaller of the machine's available memory and
    what its cgroup's limit (a container's, v2 or v1) leaves. ``cgroup_root`` is where the
    cgroup file systems are mounted: by default ``$LEC4_JAX_CGROUP_ROOT`` or /sys/fs/cgroup."""
    root = cgroup_root or os.environ.get(CGROUP_ROOT) or "/sys/fs/cgroup"
    found = [_meminfo_available(), *_cgroup_rooms(root)]
    found = [n for n in found if n is not None]
    if not found:
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (OSError, ValueError):
            return 1 << 62
    return max(0, min(found))


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_rooms(root: str) -> list[int]:
    """What each memory limit set on this process's cgroup leaves: at the mount point (a
    container's own cgroup) and at the cgroup /proc/self/cgroup names, for v2 and v1."""
    rooms = []
    for own in {"", *_own_cgroups()}:
        for hierarchy, limit_file, usage_file in _CGROUP_FILES:
            folder = os.path.join(root, hierarchy, own)
            try:
                limit = _read(os.path.join(folder, limit_file))
                if limit != "max":
                    rooms.append(int(limit) - int(_read(os.path.join(folder, usage_file))))
            except (OSError, ValueError):
                pass
    return rooms


def _own_cgroups() -> list[str]:
    """This process's cgroup paths (v2's, and v1's memory controller's), relative."""
    try:
        with open("/proc/self/cgroup") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    paths = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) == 3 and parts[1] in ("", "memory"):
            paths.append(parts[2].lstrip("/"))
    return paths


def _read(path: str) -> str:
    with open(path) as f:
        return f.read().strip()


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


def sweep_bytes(models: int, num_params: int, itemsize: int, plot: bool = False) -> int:
    """Memory for a sweep of ``models`` models: its results and its report, as measured (peak
    RSS per model: 56 bytes for the linear model in float32, 71 in float64, 85 for the
    quadratic model, 128 for it in float64), with room to spare; a plot adds matplotlib's ~200
    bytes a drawn point."""
    return models * (48 + 2 * (2 * num_params + 1) * itemsize + (256 if plot else 0))
