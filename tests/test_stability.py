"""lec4_jax.tool.stability: the stable learning rates, against brute force and real training."""

import jax.numpy as jnp
import numpy as np
import pytest
import train_util

from lec4_jax import model
from lec4_jax.tool import stability


def test_lecture_intervals_are_where_the_epoch_factor_is_below_one():
    rates = stability.stable_learning_rates([1.0, 2.0, 3.0])
    assert rates.complete and len(rates.intervals) == 2
    (lo1, hi1), (lo2, hi2) = rates.intervals
    assert lo1 == 0.0
    # each end is a root of |P| = 1, to float64 precision
    for end in (hi1, lo2, hi2):
        assert abs(abs(stability.epoch_factor(end, [1, 2, 3])) - 1) < 1e-12
    assert rates.max_stable == hi1


@pytest.mark.parametrize("seed", range(5))
def test_intervals_agree_with_a_dense_grid(seed):
    x = np.random.default_rng(seed).uniform(-3, 3, size=4)
    rates = stability.stable_learning_rates(x)
    grid = np.linspace(1e-4, 1.5 * rates.intervals[-1][1], 20_001)
    inside = np.zeros_like(grid, bool)
    for lo, hi in rates.intervals:
        inside |= (grid > lo) & (grid < hi)
    stable = np.abs(stability.epoch_factor(grid, x)) < 1
    # the two may disagree only within a hair of an end
    ends = np.array([e for iv in rates.intervals for e in iv])
    near = np.min(np.abs(grid[:, None] - ends[None, :]), axis=1) < 1e-9
    assert np.all((inside == stable) | near)


def test_degenerate_inputs():
    assert stability.stable_learning_rates([0.0, 0.0]).intervals == [(0.0, float("inf"))]
    assert stability.stable_learning_rates([1.0]).max_stable == pytest.approx(1.0)  # |1-2lr|<1


def test_limited_search_says_it_is_incomplete():
    rates = stability.stable_learning_rates(np.linspace(0.5, 1.5, 100), max_windows=3)
    assert not rates.complete


def test_training_diverges_just_above_the_edge_and_not_below():
    # float32 training for 200 epochs on the lecture data: the edge is where |P| crosses 1.
    edge = stability.stable_learning_rates([1.0, 2.0, 3.0]).max_stable
    x, y = jnp.array([1.0, 2.0, 3.0]), jnp.array([2.0, 4.0, 6.0])
    below = train_util.train({"w": 1.0}, x, y, edge * 0.97, epochs=200).final_params["w"]
    above = train_util.train({"w": 1.0}, x, y, edge * 1.03, epochs=200).final_params["w"]
    assert abs(below - 2.0) < 1e-3
    assert not abs(above - 2.0) < 1.0


def test_inputs_of_zero_do_not_change_the_stable_rates():
    # a sample with x = 0 multiplies the error by 1 - 2 lr 0 = 1: it neither helps nor hurts
    with_zero = stability.stable_learning_rates([0.0, 1.0, 0.0, 2.0, 3.0])
    assert with_zero == stability.stable_learning_rates([1.0, 2.0, 3.0])


@pytest.mark.parametrize("x", [[1.0, 2.0, 3.0], [0.5, -1.25, 2.2, 3.0], [3.0], [1e6],
                               [1e-3, 0.5, 1e3]])
def test_each_end_is_the_last_stable_float(x):
    # the ends are open, found to the last float64: just inside |P| < 1, one step out |P| >= 1
    for lo, hi in stability.stable_learning_rates(x).intervals:
        if lo > 0:
            assert abs(stability.epoch_factor(lo, x)) < 1 <= abs(stability.epoch_factor(
                np.nextafter(lo, 0), x))
        if np.isfinite(hi):
            assert abs(stability.epoch_factor(hi, x)) < 1 <= abs(stability.epoch_factor(
                np.nextafter(hi, np.inf), x))


def test_numerical_search_finds_the_analytic_windows_for_one_parameter():
    x = [1.0, 2.0, 3.0]
    numerical = stability.numerical_learning_rates(np.array(x)[:, None], 1.0)
    analytic = stability.stable_learning_rates(x)
    assert numerical.method == "numerical" and not numerical.complete
    np.testing.assert_allclose(numerical.intervals, analytic.intervals, rtol=1e-12)
    for model_name in ("affine", "quadratic"):  # x = 0: only b moves, b <- (1 - 2 lr) b + ...
        (lo, hi), = stability.for_model(model_name, np.zeros(4), 3.0).intervals
        assert lo == 0 and hi == pytest.approx(1.0, rel=1e-12)
    beyond = stability.for_model("affine", np.ones(10_001), 1.0)
    assert (beyond.method, beyond.complete, beyond.intervals) == ("not analysed", False, [])


@pytest.mark.parametrize("model_name, x", [("linear", [1e200, 1.0]), ("affine", [1e155, 1.0]),
                                           ("quadratic", [1e80])])
def test_squares_beyond_float64_are_not_analysed(model_name, x):
    with np.errstate(all="raise"):  # no overflow escapes as a warning (PYTHONWARNINGS=error)
        rates = stability.for_model(model_name, np.array(x), 1.0)
    assert rates.method == "not analysed" and rates.intervals == []
    assert "beyond float64's range" in rates.why


def test_the_range_of_squares_is_each_samples_own_feature_norm_not_a_sum_over_samples():
    # Each sample's |phi_i|^2 = 8.1e299 + 1 lies within SQUARES; their sum over the two
    # samples (1.6e300) does not, and is not what the step multiplies by.
    with np.errstate(all="raise"):
        rates = stability.for_model("affine", np.array([9e149, -9e149]), 1e-299)
    assert rates.method == "numerical" and rates.why == ""
    assert rates.intervals[0][0] == 0 and rates.intervals[0][1] > 0


@pytest.mark.parametrize("phi", [[[-35.638358278099695, 1.0]],
                                 [[502610.5947292364, -708.9503471536186, 1.0]],
                                 [[4370.628137598072, 66.11072634299272, 1.0]]])
def test_a_search_up_to_the_bound_is_the_one_interval_below_it(phi):
    # lr_max at exactly 1 / max |phi_i|^2: every rate below it is stable (the bound), so no
    # search runs; a search would bisect between equal rates and could add an empty interval.
    phi = np.asarray(phi)
    bound = 1 / np.sum(phi * phi, axis=1).max()
    assert stability.numerical_learning_rates(phi, bound) == \
        stability.StableRates([(0.0, bound)], False, "numerical")


def test_a_learning_rate_near_float64s_max_is_searched_as_far_as_float64_reaches():
    with np.errstate(all="raise"):
        capped = stability.for_model("affine", np.array([1.0, 2.0, 3.0]), 1.7e308)
    # the same windows as a search to 1e300 / max |phi|^2 (= 1e299): only the top differs
    plain = stability.for_model("affine", np.array([1.0, 2.0, 3.0]), 1e299)
    assert capped.method == "numerical" and capped == plain


def _grows(lr, phi, epochs=400):
    """Brute force in float64: does SGD's error grow over many epochs from a generic start?"""
    err = np.linspace(1.0, 0.37, phi.shape[1])
    for _ in range(epochs):
        for f in phi:
            err = err - 2 * lr * f * (f @ err)
    return np.linalg.norm(err) > 1.0


@pytest.mark.parametrize("model_name", ["affine", "quadratic"])
@pytest.mark.parametrize("x", [[1.0, 2.0, 3.0], [0.5, -1.25, 2.2, 3.0], [0.3, 0.9]])
def test_numerical_windows_match_brute_force_training(model_name, x):
    # Just inside each edge the error shrinks; just outside it grows (plain SGD, float64).
    phi = np.stack(model.get(model_name).features(np.array(x)), axis=1)
    rates = stability.for_model(model_name, x, 4.0)
    assert rates.intervals, rates
    for lo, hi in rates.intervals:
        for edge, inside, outside in ((hi, hi * 0.98, hi * 1.02), (lo, lo * 1.02, lo * 0.98)):
            if 0 < edge < 4.0:
                assert not _grows(inside, phi) and _grows(outside, phi), (edge, rates)


def _radius(lr, phi):
    """An oracle: the spectral radius of one epoch's map, multiplied out in float64 (full-rank
    features only: then their span is the whole space)."""
    m = np.eye(phi.shape[1])
    for f in phi:
        m = (np.eye(len(f)) - 2 * lr * np.outer(f, f)) @ m
    return np.abs(np.linalg.eigvals(m)).max()


@pytest.mark.parametrize("model_name, x", [("affine", [0.1, 0.2, 10.0]),
                                           ("quadratic", [0.5, -0.25, 4.0])])
def test_numerical_edges_with_one_large_x_are_where_the_radius_crosses_one(model_name, x):
    # One large x sets the bound 1/max|phi|^2 where the search starts: each edge found is
    # where the radius crosses 1, to a relative 1e-9 (a bisection to float64 precision).
    phi = np.stack(model.get(model_name).features(np.array(x)), axis=1)
    rates = stability.for_model(model_name, x, 1.0)
    assert rates.intervals[0][1] >= 1 / np.sum(phi * phi, axis=1).max()
    for lo, hi in rates.intervals:
        for edge, inside, outside in ((hi, hi * (1 - 1e-9), hi * (1 + 1e-9)),
                                      (lo, lo * (1 + 1e-9), lo * (1 - 1e-9))):
            if 0 < edge < 1.0:
                assert _radius(inside, phi) < 1 <= _radius(outside, phi), (edge, rates)


@pytest.mark.parametrize("model_name, x", [("affine", [3.0]), ("quadratic", [2.0])])
def test_a_single_sample_is_stable_exactly_below_its_bound(model_name, x):
    # One sample: the error on the feature's line is scaled by 1 - 2 lr |phi|^2 each step, so
    # the stable rates are exactly (0, 1/|phi|^2) (to the ulp; above it nothing is stable).
    phi = np.array([f[0] for f in model.get(model_name).features(np.array(x))])
    (lo, hi), = stability.for_model(model_name, x, 1.0).intervals
    assert lo == 0 and hi == pytest.approx(1 / (phi @ phi), rel=2**-52)


def test_an_lr_max_below_the_first_bound_is_stable_up_to_itself():
    # Affine on the lecture's x: every rate below 1/max(x^2 + 1) = 0.1 is stable, so a
    # search up to 0.05 ends there, incomplete, without examining any rate.
    rates = stability.for_model("affine", [1.0, 2.0, 3.0], 0.05)
    assert rates == stability.StableRates([(0.0, 0.05)], False, "numerical")


def test_features_all_zero_are_stable_at_every_rate():
    """A dataset whose features are all 0 (x = 0, no bias): nothing moves, whatever the rate."""
    phi = np.zeros((3, 1))
    assert stability.numerical_learning_rates(phi, 10.0) == stability.StableRates(
        [(0.0, float("inf"))], True, "numerical")
    assert np.all(stability.epoch_log_radius(np.array([0.1, 1.0]), phi) == -np.inf)


def test_a_search_up_to_a_stable_rate_ends_there_unfinished():
    """affine on x = 1, 1: every rate below 1/|phi|^2 = 0.5 is stable, and a search that stops
    inside that window says so (its last interval ends at lr_max, incomplete)."""
    phi = np.array([[1.0, 1.0], [1.0, 1.0]])
    rates = stability.numerical_learning_rates(phi, 0.4)
    assert rates.intervals == [(0.0, 0.4)] and not rates.complete


def test_the_exact_windows_search_past_the_last_pole():
    """x = 1: one pole at 1/(2x^2) = 0.5 and the edge at 1 = 2/(2x^2) past it, found by doubling
    from the pole and bisecting (to the last float: f changes sign there)."""
    rates = stability.stable_learning_rates([1.0])
    assert rates.complete and rates.intervals[0][0] == 0.0
    assert rates.intervals[-1][1] == pytest.approx(1.0, rel=1e-12)


def test_a_search_that_ends_inside_the_second_window_ends_there_unfinished():
    """The lecture's x = 1, 2, 3 searched numerically up to 0.5: past the first window
    (0, 0.204018) the search finds the second one open at its top, ending at lr_max."""
    rates = stability.numerical_learning_rates(np.array([[1.0], [2.0], [3.0]]), 0.5)
    assert not rates.complete and rates.intervals[-1][1] == 0.5
    assert rates.intervals[0][1] == pytest.approx(0.204018, rel=1e-5)
    assert rates.intervals[-1][0] == pytest.approx(0.476538, rel=1e-5)


# Mutation testing (tools/mutate.py): tests that kill its survivors.

def test_one_feature_is_analysed_exactly_through_for_model_on_any_data_in_range():
    # for_model drops inputs of 0 before its range check, keeps tiny ones, and analyses one
    # feature exactly however many samples there are (the numerical cap is for several)
    want = stability.stable_learning_rates([1.0, 2.0, 3.0])
    assert stability.for_model("linear", np.array([0.0, 1.0, 2.0, 3.0]), 1.0) == want
    tiny = stability.for_model("linear", np.array([1e-3, 2e-3]), 1.0)
    assert tiny == stability.stable_learning_rates([1e-3, 2e-3]) and tiny.method == "analytic"
    many = stability.for_model("linear", np.ones(10_001), 1.0)
    assert many.method == "analytic" and many.max_stable == pytest.approx(1.0)


def test_a_model_without_features_is_not_analysed_and_says_why():
    rates = stability.for_model("w_squared", np.array([1.0, 2.0]), 1.0)
    assert (rates.intervals, rates.complete, rates.method) == ([], False, "not analysed")
    assert rates.why == model.W_SQUARED.why_no_least_squares


def test_inputs_that_never_move_w_are_stable_everywhere_and_the_search_is_complete():
    rates = stability.stable_learning_rates([0.0])
    assert rates.intervals == [(0.0, float("inf"))] and rates.complete


def test_a_search_of_one_window_ends_at_the_second_pole():
    # poles 1/(2x^2) = 1/18, 1/8, 1/2: one window searched is (1/18, 1/8), stable throughout
    rates = stability.stable_learning_rates([1.0, 2.0, 3.0], max_windows=1)
    assert rates.intervals == [(0.0, 0.125)] and not rates.complete


@pytest.mark.parametrize("x, intervals", [
    # Three poles, and between the last two an unstable window whose peak is far from the
    # middle of the gap, where the loss factor is still below 1: only the search for the
    # peak finds it.
    ([4.6, 2.3, 4.8], [(0.0, 0.06033017722888305), (0.07951865967512874, 0.10218417532791)]),
    # A gap whose middle is unstable though the tangent there falls below 0 within the gap:
    # the tangent bound may skip a gap only when the whole tangent lies below 0.
    ([3.7, 1.0, 4.3, 2.8, 1.6], [(0.0, 0.09912600435326994),
                                 (0.18890616103158062, 0.20058647146270747),
                                 (0.4997884354894066, 0.500210686723011)]),
])
def test_unstable_windows_off_the_middle_of_a_gap_are_found(x, intervals):
    found = stability.stable_learning_rates(x)
    assert found.complete and found.intervals == intervals
    # each interval's ends: |P| < 1 just inside, > 1 just outside
    for lo, hi in intervals[1:]:
        for lr, stable in ((lo * (1 + 1e-9), True), (lo * (1 - 1e-9), False),
                           (hi * (1 - 1e-9), True), (hi * (1 + 1e-9), False)):
            assert (abs(stability.epoch_factor(lr, x)) < 1) == stable, (lr, stable)



def test_a_gap_its_tangent_shows_stable_costs_one_pass(monkeypatch):
    # The lecture's poles are 1/18, 1/8 and 1/2: the gap (1/18, 1/8) is stable throughout, and
    # the tangent at its middle shows it with one evaluation there; the gap (1/8, 1/2) holds
    # an unstable window, searched with many.
    calls = []
    log_factor = stability._log_factor
    monkeypatch.setattr(stability, "_log_factor",
                        lambda lr, c: calls.append(lr) or log_factor(lr, c))
    rates = stability.stable_learning_rates([1.0, 2.0, 3.0])
    assert len(rates.intervals) == 2
    first = [lr for lr in calls if 1 / 18 < lr < 1 / 8]
    assert first == [0.5 * (1 / 18 + 1 / 8)]
    assert len([lr for lr in calls if 1 / 8 < lr < 1 / 2]) > 20


def test_a_model_with_no_closed_form_is_analysed_linearised_at_a_fit():
    # y_hat = x*w^2 at its fit w* = sqrt(2) (y = 2x): the slope d y_hat/dw = 2 w x, so SGD near
    # the fit is the lecture's map with x scaled by 2 sqrt(2), whose exact windows are known.
    m = model.get("x*w**2")
    x = np.array([1.0, 2.0, 3.0])
    at = {"w": float(np.sqrt(2))}
    np.testing.assert_allclose(stability.linearised_features(m, x, at)[:, 0], 2 * at["w"] * x,
                               rtol=1e-15)
    rates = stability.for_model(m, x, 1.0, at)
    assert rates.method == "numerical, linearised at w = 1.41421"
    assert rates.intervals == stability.stable_learning_rates(2 * at["w"] * x).intervals
    # without a point to linearise at, or at one that is not finite: not analysed, and why
    assert stability.for_model(m, x, 1.0).method == "not analysed"
    assert stability.for_model(m, x, 1.0, {"w": float("nan")}).why == m.why_no_least_squares


def test_a_linearised_two_parameter_formula_matches_brute_force_training_near_its_fit():
    # sigmoid(x*w + b) fitted to data it can fit exactly: just below the edge found, SGD started
    # next to the fit stays there; just above, it leaves (the linear analysis holds near a fit
    # with zero residuals, where Gauss-Newton is the exact Hessian).
    m = model.get("sigmoid(x*w + b)")
    x = np.array([-1.0, 0.5, 2.0])
    fit = {"w": 1.5, "b": -0.25}
    y = 1 / (1 + np.exp(-(x * fit["w"] + fit["b"])))
    rates = stability.for_model(m, x, 1e4, fit)
    edge = rates.max_stable
    assert rates.method.startswith("numerical, linearised at w = 1.5, b = -0.25")
    start = {"w": 1.5 + 1e-6, "b": -0.25 - 1e-6}

    def distance(lr):
        import jax

        with jax.enable_x64(True):
            h = train_util.train(start, x, y, lr, epochs=400, model=m, keep_history=False)
            return float(np.hypot(h.final_params["w"] - 1.5, h.final_params["b"] + 0.25))

    assert distance(edge * 0.98) < 1e-6
    assert not distance(edge * 1.02) < 1e-3


@pytest.mark.parametrize("text, x, dtype, why", [
    # 1/(x - x): the feature is inf at every input; that said "the inputs' squares are beyond
    # float64's range"
    ("w/(x - x)", [1.0, 2.0], np.float32, "is not finite at some input: a division by zero"),
    ("log(x)*w", [0.0, 2.0], np.float64, "is not finite at some input"),
    # x**40 at 10 is 1e40: finite in float64, where it gave "(0, 1e-80) (analytic)", but inf
    # in float32, where the model computes: its loss is inf at every learning rate
    ("x**40*w", [1.0, 10.0], np.float32, "overflows float32 at some input"),
])
def test_features_not_finite_in_the_compute_dtype_are_not_analysed_and_say_so(text, x, dtype,
                                                                              why):
    rates = stability.for_model(text, x, 1.0, dtype=dtype)
    assert (rates.method, rates.intervals) == ("not analysed", [])
    assert rates.why.startswith("the model's slope in its parameters ") and why in rates.why
    assert "squares" not in rates.why


def test_features_finite_in_the_compute_dtype_are_analysed_as_before():
    # the same x**40*w in float64 (--x64): analysed exactly, lr < 1/(2 * 1e80)
    rates = stability.for_model("x**40*w", [10.0], 1.0, dtype=np.float64)
    assert rates.method == "analytic" and rates.intervals[0][1] == pytest.approx(0.5e-80)
