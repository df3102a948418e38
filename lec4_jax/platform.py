"""Choosing where JAX computes. Call :func:`select` before JAX's first computation."""

from __future__ import annotations

import jax

from lec4_jax.data import InputError

PLATFORMS = ("auto", "cpu", "gpu")
GPU_HINT = 'pip install -U "jax[cuda13]" (or "jax[cuda12]") on a machine with an NVIDIA GPU'


def select(platform: str = "auto", x64: bool = False) -> str:
    """Pins JAX to ``platform`` (``auto`` lets JAX choose) and returns the platform in use.

    Raises :class:`InputError` when ``gpu`` is asked for and JAX sees none.
    """
    if platform not in PLATFORMS:
        raise InputError(f"--platform: {platform!r} is not one of {', '.join(PLATFORMS)}")
    if platform == "cpu":
        jax.config.update("jax_platforms", "cpu")
    jax.config.update("jax_enable_x64", bool(x64))
    if platform == "gpu":
        try:
            jax.devices("gpu")  # JAX prefers a GPU to the CPU whenever it has one
        except RuntimeError:
            raise InputError(f"--platform=gpu: JAX sees no GPU; to use one, {GPU_HINT}") from None
    return jax.devices()[0].platform
