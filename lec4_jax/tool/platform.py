"""Choosing where JAX computes. Call :func:`select` before JAX's first computation."""

from __future__ import annotations

import os

import jax

from lec4_jax.tool.data import InputError

PLATFORMS = ("auto", "cpu", "gpu")
GPU_HINT = 'pip install -U "jax[cuda13]" (or "jax[cuda12]") on a machine with an NVIDIA GPU'


def select(platform: str = "auto", x64: bool = False) -> str:
    """Pins JAX to ``platform`` (``auto`` lets JAX choose) and returns the platform in use.

    Raises :class:`InputError` when ``gpu`` is asked for and JAX sees none.
    """
    if platform not in PLATFORMS:
        raise InputError(f"{platform!r} is not one of {', '.join(PLATFORMS)}", "platform")
    if platform == "cpu":
        jax.config.update("jax_platforms", "cpu")
    jax.config.update("jax_enable_x64", bool(x64))
    if platform == "gpu":
        try:
            jax.devices("gpu")  # JAX prefers a GPU to the CPU whenever it has one
        except RuntimeError:
            raise InputError(f"gpu: JAX sees no GPU; to use one, {GPU_HINT}", "platform") from None
    try:
        return jax.devices()[0].platform
    except (RuntimeError, AssertionError) as e:  # JAX_PLATFORMS names one it cannot start
        from lec4_jax.tool import environment

        named = environment.platform_problem()  # the variable at fault, named
        if named is not None:
            raise InputError(named) from None
        asked = os.environ.get("JAX_PLATFORMS") or jax.config.jax_platforms or platform
        reason = ((str(e).splitlines() or ["no backend for it is installed"])[0]
                  .split(" (set JAX_PLATFORMS")[0])
        raise InputError(f"JAX_PLATFORMS={asked}: JAX cannot start that platform here "
                         f"({reason})") from None


def join_cluster(coordinator: str | None, num_processes: int | None, process_id: int | None,
                 timeout: int) -> None:
    """Joins a multi-host cluster (``jax.distributed.initialize``) with CPU collectives (gloo),
    so processes on CPUs, even on one machine, form a real cluster. Arguments left None fall
    back to JAX's cluster auto-detection (Slurm, Open MPI, Cloud TPU ...). Fails with one line,
    within ``timeout`` seconds, when the cluster cannot form."""
    if (num_processes is None) != (process_id is None):
        raise InputError("give both the number of processes and this process's id, or neither",
                         "num_processes")
    if coordinator is not None:
        _check_address(coordinator)
    if process_id is not None and process_id >= num_processes:
        raise InputError(f"must be below the number of processes ({num_processes}), got "
                         f"{process_id}", "process_id")
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    try:
        jax.distributed.initialize(coordinator, num_processes, process_id,
                                   # XLA's client waits about twice this before it gives up
                                   initialization_timeout=max(1, timeout // 2),
                                   heartbeat_timeout_seconds=max(10, timeout),
                                   shutdown_timeout_seconds=max(10, timeout))
    except (RuntimeError, ValueError) as e:
        reason = (str(e).strip().splitlines() or ["?"])[0]
        raise InputError(f"cannot join the cluster within {timeout} s ({reason})",
                         "coordinator_address") from None


def _check_address(address: str) -> None:
    """``host:port`` (an IPv6 host in brackets, ``[::1]:1234``), the port from 1 to 65535."""
    host, _, port = address.rpartition(":")
    if not host or not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
        raise InputError(f"must be host:port, the port from 1 to 65535; got {address!r}",
                         "coordinator_address")


def is_lead() -> bool:
    """True in the process that prints and writes (process 0; the only one off a cluster)."""
    return jax.process_index() == 0


def device_count() -> int:
    return jax.device_count()
