"""Which learning rates plain per-sample SGD is stable for, found from the data alone.

Each step ``w <- w - lr * 2x(xw - y)`` is the affine map

.. math::

    w \\leftarrow (1 - 2\\,\\mathrm{lr}\\,x^2)\\, w + 2\\,\\mathrm{lr}\\,x y,

so the error ``w - w*`` of the least-squares fit is scaled by ``1 - 2 lr x_i^2`` at sample ``i``,
(plus a constant push when the data are not exactly linear). One epoch scales it by

.. math::

    P(\\mathrm{lr}) = \\prod_i (1 - 2\\,\\mathrm{lr}\\,x_i^2),

and training is stable where :math:`|P(\\mathrm{lr})| < 1`. With
:math:`f(\\mathrm{lr}) = \\sum_i \\log|1 - 2\\,\\mathrm{lr}\\,x_i^2|`, that is ``f < 0``.
Between two consecutive poles ``1/(2 x_i^2)`` (where ``f = -inf``) ``f`` is concave, so its
unstable part there is one interval, whose ends we find by bisection to float64 precision. Below
the first pole ``f`` falls from ``f(0) = 0``, so every rate there is stable; above the last pole
it rises to ``+inf``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


def epoch_factor(learning_rate, x) -> np.ndarray:
    """:math:`P(\\mathrm{lr})`, the factor one epoch of SGD multiplies ``w - w*`` by."""
    lr = np.asarray(learning_rate, np.float64)[..., None]
    return np.prod(1 - 2 * lr * np.asarray(x, np.float64) ** 2, axis=-1)


def _log_factor(lr: float, c: np.ndarray) -> tuple[float, float]:
    """f(lr) and f'(lr)."""
    d = 1 - lr * c
    with np.errstate(divide="ignore"):
        return float(np.sum(np.log(np.abs(d)))), float(np.sum(-c / d))


def _bisect(f, lo: float, hi: float) -> float:
    """Where ``f`` changes sign between ``lo`` and ``hi``, to float64 precision.

    Returns the end of the bracket on the stable (``f < 0``) side.
    """
    below_at_lo = f(lo) < 0
    while True:
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            return float(lo if below_at_lo else hi)
        if (f(mid) < 0) == below_at_lo:
            lo = mid
        else:
            hi = mid


def _argmax_concave(f, lo: float, hi: float) -> float:
    """Golden-section search for the maximum of a concave ``f`` on ``(lo, hi)``."""
    while True:
        a, b = hi - 0.618 * (hi - lo), lo + 0.618 * (hi - lo)
        if not lo < a < b < hi:
            return 0.5 * (lo + hi)
        lo, hi = (a, hi) if f(a) < f(b) else (lo, b)


class StableRates(NamedTuple):
    """Sorted, disjoint open intervals of stable learning rates; the first starts at 0.

    ``complete`` is False when the data had more pole gaps than were searched: the last interval
    then ends at the first pole not searched, and rates above it were not examined.
    """

    intervals: list[tuple[float, float]]
    complete: bool

    @property
    def max_stable(self) -> float:
        """The largest ``r`` such that every learning rate in ``(0, r)`` is stable."""
        return self.intervals[0][1]


def stable_learning_rates(x, max_windows: int = 256) -> StableRates:
    """The learning rates ``> 0`` with :math:`|P(\\mathrm{lr})| < 1`, found exactly.

    Args:
      x: the inputs, in any order (the product does not depend on it).
      max_windows: how many gaps between consecutive poles to search. Each costs one pass over
        ``x`` when a tangent bound shows the whole gap is stable, about a hundred otherwise.
    """
    c = 2 * np.asarray(x, np.float64).ravel() ** 2
    c = c[c > 0]
    if c.size == 0:  # no step changes w
        return StableRates([(0.0, float("inf"))], True)
    poles = np.unique(1 / c)  # ascending
    searched = poles[: max_windows + 1]
    f = lambda lr: _log_factor(lr, c)[0]  # noqa: E731
    intervals, start = [], 0.0  # start: the left end of the stable run we are in
    for lo, hi in zip(searched[:-1], searched[1:]):
        mid = 0.5 * (lo + hi)
        value, slope = _log_factor(mid, c)
        if value + abs(slope) * (hi - lo) / 2 < 0:
            continue  # concave, so below its tangent: the whole gap is stable
        peak = _argmax_concave(f, lo, hi)
        if f(peak) < 0:
            continue
        intervals.append((start, _bisect(f, lo, peak)))
        start = _bisect(f, peak, hi)
    if len(searched) < len(poles):
        return StableRates(intervals + [(start, float(searched[-1]))], False)
    upper = 2 * poles[-1]
    while f(upper) < 0:
        upper *= 2
    return StableRates(intervals + [(start, _bisect(f, poles[-1], upper))], True)
