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

from lec4_jax.tool.data import as_count, check_array


def epoch_factor(learning_rate, x) -> np.ndarray:
    """:math:`P(\\mathrm{lr})`, the factor one epoch of SGD multiplies ``w - w*`` by."""
    lr = np.asarray(learning_rate, np.float64)[..., None]
    return np.prod(1 - 2 * lr * np.asarray(x, np.float64) ** 2, axis=-1)


def _log_factor(lr: float, c: np.ndarray) -> tuple[float, float]:
    """f(lr) and |f'(lr)|."""
    d = 1 - lr * c
    with np.errstate(divide="ignore"):
        return float(np.sum(np.log(np.abs(d)))), abs(float(np.sum(c / d)))


def _bisect(f, lo: float, hi: float, below_at_lo: bool | None = None) -> float:
    """Where ``f`` changes sign between ``lo`` and ``hi``, to float64 precision.

    Returns the end of the bracket on the stable (``f < 0``) side. ``below_at_lo`` says which
    side ``lo`` is on when it is known (a limit of stable rates where ``f(lo)`` is 0, say).
    """
    # equivalent mutant (ReplaceComparisonOperator_Lt_LtE): the callers' lo is a pole (f is
    # -inf there) or a peak already found >= 0; f is exactly 0 there only by coincidence.
    below_at_lo = f(lo) < 0 if below_at_lo is None else below_at_lo
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
        # equivalent mutant (ReplaceComparisonOperator_Lt_LtE): any of these three is equal only
        # once the bracket is a few ulps wide; one more step leaves the midpoint within those
        # ulps, and the peak only splits the gap for the bisections, which end at the same roots.
        if not lo < a < b < hi:
            return 0.5 * (lo + hi)
        lo, hi = (a, hi) if f(a) < f(b) else (lo, b)


class StableRates(NamedTuple):
    """Sorted, disjoint open intervals of stable learning rates; the first starts at 0.

    ``complete`` is False when not every rate was examined: the last interval then ends where
    the search stopped (the first pole not searched, or the top of a numerical search).
    """

    intervals: list[tuple[float, float]]
    complete: bool
    method: str = "analytic"  # "numerical" or "not analysed" (see for_model)
    why: str = ""  # when not analysed: why not

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
    max_windows = as_count(max_windows, "max_windows")
    c = 2 * check_array(x, np.float64, "x").ravel() ** 2
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
        if value + slope * (hi - lo) / 2 < 0:
            continue  # concave, so below its tangent: the whole gap is stable
        peak = _argmax_concave(f, lo, hi)
        if f(peak) < 0:
            continue
        intervals.append((start, _bisect(f, lo, peak)))
        start = _bisect(f, peak, hi)
    if len(searched) < len(poles):
        return StableRates(intervals + [(start, float(searched[-1]))], False)
    upper = 2 * poles[-1]
    # equivalent mutant (NumberReplacer, ReplaceComparisonOperator_Lt_LtE): past the last pole
    # |P| only grows, so a higher upper end brackets the same one root, and the bisection ends
    # at it to float64 precision.
    while f(upper) < 0:  # at twice the last pole |P| >= 1 (that factor is -1, the others >= 1)
        upper *= 2  # pragma: no cover (only rounding could make |P| < 1 there)
    return StableRates(intervals + [(start, _bisect(f, poles[-1], upper))], True)


# Models of several parameters (lec4_jax.model: every one is least squares in its features phi):
# a step is theta <- (I - 2 lr phi phi^T) theta + 2 lr y phi, so an epoch multiplies the error by
# M(lr) = prod_i (I - 2 lr phi_i phi_i^T), last sample leftmost, and SGD is stable where the
# spectral radius of M, on the span of the phi_i (the rest of theta never moves), is below 1.
# Each factor is a relaxed projection, a contraction for lr < 1 / max |phi_i|^2, so every rate
# below that is stable (relaxed Kaczmarz); above it the radius is found numerically.
NUMERICAL_RATES = 2048  # rates examined between that bound and the top of the search
_MATRICES = 4_000_000  # at most this many (rates x samples) factor matrices per search
NUMERICAL_MAX_SAMPLES = 10_000  # beyond, the numerical search is not made (seconds per search)


def _span(phi: np.ndarray) -> np.ndarray:
    """The features in an orthonormal basis of their span (n x rank)."""
    if not phi.any():
        return phi[:, :0]
    _, sv, vt = np.linalg.svd(phi, full_matrices=False)
    # equivalent mutant (ReplaceComparisonOperator_Gt_GtE): sv[0] > 0 here (phi is not all
    # zero), and a singular value exactly 1e-12 of it would be a coincidence of rounding.
    return phi @ vt[: int(np.sum(sv > sv[0] * 1e-12))].T


def _normalized(f, log):
    """``f`` scaled to a largest entry of 1 per matrix, the scale added to ``log``."""
    scale = np.abs(f).max(axis=(-2, -1))
    with np.errstate(divide="ignore"):
        log = log + np.log(scale)
    return f / np.where(scale > 0, scale, 1)[..., None, None], log


def epoch_log_radius(learning_rates, phi) -> np.ndarray:
    """The log of the spectral radius of one epoch's map on the error, ``M(lr)`` on the span
    of the features ``phi`` (samples x parameters), for each learning rate (-inf where ``M``
    is singular to zero; scaled as it is multiplied, so long data do not overflow)."""
    lrs = np.atleast_1d(np.asarray(learning_rates, np.float64))
    q = _span(np.asarray(phi, np.float64))
    r = q.shape[1]
    if r == 0:
        return np.full(lrs.shape, -np.inf)
    eye = np.eye(r)
    m, log = np.broadcast_to(eye, (len(lrs), r, r)), np.zeros(len(lrs))
    # equivalent mutant (NumberReplacer): the block of samples bounds memory; another size
    # multiplies the same factors in another grouping, equal to rounding.
    block = max(1, _MATRICES // (8 * len(lrs)))
    for start in range(0, len(q), block):
        f = q[start:start + block]  # this block's factors, (samples, rates, r, r)
        f = eye - 2 * lrs[None, :, None, None] * (f[:, None, :, None] * f[:, None, None, :])
        f, f_log = _normalized(f, 0.0)
        while len(f) > 1:  # multiply neighbours, the later sample on the left
            if len(f) % 2:
                f = np.concatenate([f, np.broadcast_to(eye, (1,) + f.shape[1:])])
                f_log = np.concatenate([f_log, np.zeros((1,) + f_log.shape[1:])])
            f, f_log = _normalized(f[1::2] @ f[0::2], f_log[1::2] + f_log[0::2])
        # equivalent mutant (NumberReplacer-1): one product is left, f[0] is f[-1]
        m, log = _normalized(f[0] @ m, log + f_log[0])
    with np.errstate(divide="ignore"):
        return np.log(np.abs(np.linalg.eigvals(m)).max(axis=-1)) + log


def numerical_learning_rates(phi, lr_max: float) -> StableRates:
    """The learning rates in ``(0, lr_max]`` where SGD on least squares in features ``phi``
    is stable: every rate below ``1 / max |phi_i|^2`` (a bound, see above), then the spectral
    radius at up to :data:`NUMERICAL_RATES` log-spaced rates up to ``lr_max``, each change of
    side bisected to float64 precision. A window narrower than the spacing of those rates can
    be missed; the result says ``method="numerical"``."""
    phi = np.asarray(phi, np.float64)
    norms = np.sum(phi * phi, axis=1)
    if not norms.any():
        return StableRates([(0.0, float("inf"))], True, "numerical")
    bound = 1 / norms.max()
    if lr_max <= bound:
        return StableRates([(0.0, float(lr_max))], False, "numerical")
    num = int(np.clip(_MATRICES // len(phi), 16, NUMERICAL_RATES))
    lrs = np.geomspace(bound, lr_max, num)
    # equivalent mutant (ReplaceComparisonOperator_Lt_LtE): the log radius is exactly 0 only
    # where a factor is exactly -1, which for the largest norm is the bound, set stable next;
    # elsewhere the product rounds away from 1.
    stable = epoch_log_radius(lrs, phi) < 0
    stable[0] = True  # the bound itself: a limit of stable rates
    # equivalent mutant (NumberReplacer-1): one rate in, one radius out
    f = lambda lr: float(epoch_log_radius(lr, phi)[0])  # noqa: E731  (< 0: stable)
    intervals, start = [], 0.0
    for i in np.flatnonzero(stable[1:] != stable[:-1]):
        edge = _bisect(f, lrs[i], lrs[i + 1], bool(stable[i]))
        if stable[i]:
            intervals.append((start, edge))
        else:
            start = edge
    if stable[-1]:
        return StableRates(intervals + [(start, float(lr_max))], False, "numerical")
    return StableRates(intervals, False, "numerical")


SQUARES = (1e-300, 1e300)  # the analysis is made when every nonzero |phi_i|^2 lies in here


def linearised_features(model, x, at: dict[str, float]) -> np.ndarray:
    """The features of a model linearised at the parameters ``at`` (samples x parameters, in
    float64): row ``i`` is d y_hat(x_i)/d(each parameter) there, by ``jax.jacfwd``. Near a fit
    where the residuals are small, a step of plain SGD is then the linear map of least squares
    in these features (Gauss-Newton), so the same analysis finds where SGD stays near the fit.

    >>> from lec4_jax import model
    >>> linearised_features(model.W_SQUARED, [1.0, 2.0], {"w": 2.0}).tolist()  # 2 w x
    [[4.0], [8.0]]
    """
    import jax

    from lec4_jax import model as model_lib

    m = model_lib.get(model)
    with jax.enable_x64(True), np.errstate(all="ignore"):
        point = {p: np.float64(at[p]) for p in m.params}
        row = jax.jacfwd(lambda params, xi: m.predict(params, xi))
        jac = jax.vmap(row, in_axes=(None, 0))(point, np.asarray(x, np.float64).ravel())
        return np.stack([np.asarray(jac[p], np.float64) for p in m.params], axis=1)


def for_model(model, x, lr_max: float, at: dict[str, float] | None = None,
              dtype=np.float64) -> StableRates:
    """The stable learning rates of plain per-sample SGD on ``model`` (a
    :class:`~lec4_jax.model.Model` or its name) with inputs ``x``: exact for a model of one
    feature, the lecture's (:func:`stable_learning_rates`), else numerical up to ``lr_max``
    (:func:`numerical_learning_rates`, at most as far as ``lr |phi_i|^2`` stays within
    float64), and not at all (``method="not analysed"``, no intervals, ``why`` says why) for a
    model not linear in its parameters unless ``at`` gives a fit to linearise it at
    (:func:`linearised_features`; then numerical, and the method says where), beyond
    :data:`NUMERICAL_MAX_SAMPLES` samples, or when a squared input or feature norm lies
    outside :data:`SQUARES` (its square, or the step it causes, overflows float64). A model
    whose features (dy_hat/d(each parameter)) are not finite at some input, in float64 or in
    the compute ``dtype`` (``w/(x - x)``; ``x**40*w`` at x = 10 in float32), is not analysed
    either, and ``why`` says so: its loss there is not finite whatever the learning rate.

    >>> for_model("x**40*w", [10.0], 1.0, dtype=np.float32).why
    "the model's slope in its parameters overflows float32 at some input"
    """
    from lec4_jax import model as model_lib

    m = model_lib.get(model)
    method = None
    if m.has_least_squares:
        with np.errstate(all="ignore"):
            phi = np.stack(m.features(np.asarray(x, np.float64).ravel()), axis=1)
            in_dtype = phi.astype(dtype)
        if not np.isfinite(phi).all():
            return StableRates([], False, "not analysed", "the model's slope in its parameters "
                               "is not finite at some input: a division by zero, a log of a "
                               "number <= 0 or an overflow")
        if not np.isfinite(in_dtype).all():
            return StableRates([], False, "not analysed", "the model's slope in its parameters "
                               f"overflows {np.dtype(dtype).name} at some input")
    elif at is None or not all(np.isfinite(at[p]) for p in m.params):
        return StableRates([], False, "not analysed", m.why_no_least_squares)
    else:  # no closed form: SGD linearised at ``at`` (a fit), its stable rates found numerically
        phi = linearised_features(m, x, at)
        method = "numerical, linearised at " + ", ".join(f"{p} = {at[p]:.6g}" for p in m.params)
        if not np.isfinite(phi).all():
            return StableRates([], False, "not analysed", "the model's slope at the fit is not "
                               "finite")
    rates = _for_features(phi, lr_max)
    return rates if method is None or rates.method == "not analysed" else \
        rates._replace(method=method)


def _for_features(phi: np.ndarray, lr_max: float) -> StableRates:
    if phi.shape[1] > 1 and phi.shape[0] > NUMERICAL_MAX_SAMPLES:
        return StableRates([], False, "not analysed", "more samples than a numerical search takes")
    with np.errstate(all="ignore"):
        squares = np.sum(phi * phi, axis=1)
        squares = squares[squares != 0]
        if not np.all((squares >= SQUARES[0]) & (squares <= SQUARES[1])):
            return StableRates([], False, "not analysed",
                               "the inputs' squares are beyond float64's range")
        if phi.shape[1] == 1:
            return stable_learning_rates(phi[:, 0])
        most = SQUARES[1] / squares.max(initial=1.0)
        return numerical_learning_rates(phi, min(lr_max, most))
