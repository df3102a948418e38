"""Pictures of a run and of a sweep, as PNG bytes. matplotlib is imported only here, on use."""

from __future__ import annotations

import io

import numpy as np

from lec4_jax.data import InputError


def require_matplotlib() -> None:
    """Raises a one-line :class:`InputError` now, not after training, if matplotlib is missing."""
    _pyplot()


def _pyplot():
    try:
        import logging

        import matplotlib

        logging.getLogger("matplotlib").setLevel(logging.WARNING)

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise InputError("plotting needs matplotlib; pip install matplotlib") from None
    return plt


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120, bbox_inches="tight")
    return buffer.getvalue()


def training_png(run, target: dict[str, float], title: str) -> bytes:
    """The loss per step (log scale), and each parameter per step with its target marked."""
    plt = _pyplot()
    h = run.history
    steps = np.arange(len(h.loss))
    fig, (ax_loss, ax_params) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    ax_loss.semilogy(steps, np.abs(np.asarray(h.loss, np.float64)), lw=1)
    ax_loss.set_ylabel("loss (before the step)")
    ax_loss.set_title(title)
    for name, values in h.params.items():
        line, = ax_params.plot(steps, np.asarray(values, np.float64), lw=1, label=name)
        ax_params.axhline(target[name], ls="--", color=line.get_color(),
                          label=f"{name}* = {target[name]:.6g}")
    if run.diverged_at is not None:
        for ax in (ax_loss, ax_params):
            ax.axvline(run.diverged_at, color="red", lw=1, label="diverged")
    ax_params.set_xlabel("step")
    ax_params.set_ylabel("parameter (before the step)")
    ax_params.legend(loc="best", fontsize=8)
    data = _png(fig)
    plt.close(fig)
    return data


def sweep_png(result, w_star: float, stable, title: str) -> bytes:
    """Final |w - w*| against the learning rate (log-log), one line per w_init.

    Diverged configs are red crosses at the top (and gaps in the lines); configs that land
    exactly on w* sit at the bottom. The analytically stable learning rates are shaded, their
    edges drawn as dotted lines.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 5))
    lr = np.asarray(result.learning_rate, np.float64)
    error = np.abs(np.asarray(result.final_w, np.float64) - w_star)
    shown = np.where(result.diverged | ~np.isfinite(error), np.nan, error)  # gaps: diverged
    positive = shown[shown > 0]
    floor = positive.min() / 10 if positive.size else 1e-8  # where exact hits (error 0) sit
    top = (np.nanmax(shown) if np.isfinite(shown).any() else 1.0) * 10
    for w0 in np.unique(result.w_init):
        keep = result.w_init == w0
        ax.loglog(lr[keep], np.maximum(shown[keep], floor), ".-", lw=1, ms=3,
                  label=f"w_init={w0:g}")
    if result.diverged.any():
        ax.plot(lr[result.diverged], np.full(result.diverged.sum(), top), "rx", ms=4,
                label="diverged")
    lo_lr, hi_lr = lr.min(), lr.max()
    for lo, hi in stable.intervals:
        ax.axvspan(max(lo, lo_lr), min(hi, hi_lr), color="tab:green", alpha=0.08)
        for edge in (lo, hi):
            if lo_lr <= edge <= hi_lr and edge > 0:
                ax.axvline(edge, color="tab:green", ls=":", lw=1)
    ax.set_xlabel("learning rate")
    ax.set_ylabel("final |w - w*|")
    ax.set_title(title + "\nshaded: |prod(1 - 2 lr x_i^2)| < 1, the analytically stable rates")
    ax.legend(loc="best", fontsize=8)
    data = _png(fig)
    plt.close(fig)
    return data
