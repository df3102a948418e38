"""lec4_jax.tool.plots: the pictures judged by what they draw (the figures' own data), not by their
file header."""

import numpy as np
import pytest

from lec4_jax import model
from lec4_jax.tool import plots, runs, stability, sweep
from lec4_jax.tool.settings import Settings

LECTURE = ([1.0, 2.0, 3.0], [2.0, 4.0, 6.0])


def labelled(ax, label):
    (line,) = [line for line in ax.get_lines() if line.get_label() == label]
    return line


@pytest.fixture(autouse=True)
def close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.fixture(scope="module")
def lecture_run():
    return runs.run(Settings(), *LECTURE)


def test_the_training_figure_draws_each_steps_loss_and_parameter(lecture_run):
    # Exact: the arrays drawn are the history's values, widened to float64.
    h = lecture_run.history
    fig = plots.training_figure(lecture_run, {"w": 2.0}, "t")
    ax_loss, ax_params = fig.axes
    (loss,) = ax_loss.get_lines()
    np.testing.assert_array_equal(loss.get_xdata(), np.arange(60))
    np.testing.assert_array_equal(loss.get_ydata(), np.abs(np.float64(h.loss)))
    np.testing.assert_array_equal(labelled(ax_params, "w").get_ydata(), np.float64(h.params["w"]))
    assert list(labelled(ax_params, "w* = 2").get_ydata()) == [2.0, 2.0]
    assert (ax_loss.get_yscale(), ax_loss.get_ylabel(), ax_params.get_xlabel(),
            ax_params.get_ylabel()) == ("log", "loss (before the step)", "step",
                                        "parameter (before the step)")
    assert ax_loss.get_title() == "t"


def test_a_diverged_run_is_marked_where_it_diverged():
    run = runs.run(Settings(learning_rate=1.0), *LECTURE)  # diverges at step 29
    fig = plots.training_figure(run, {"w": 2.0}, "t")
    for ax in fig.axes:
        assert list(labelled(ax, "diverged").get_xdata()) == [29, 29]


def test_the_sweep_figure_draws_each_configs_distance_from_the_fit():
    # One line per initial point over the learning rates (ascending): |w - w*| where stable,
    # a gap (NaN) where diverged, and a red cross at the top there instead.
    lrs = np.float32([0.3, 0.01, 0.1])
    result = sweep.train_grid(lrs, [1.0, -3.0], *LECTURE, epochs=5)
    rates = stability.stable_learning_rates(LECTURE[0])
    ax = plots.sweep_figure(result, {"w": 2.0}, rates, "t").axes[0]
    lr, w0 = np.float64(result.learning_rate), np.float64(result.w_init)
    error = np.abs(np.float64(result.final_w) - 2.0)
    assert result.diverged.tolist() == (lr == np.float32(0.3)).tolist()
    for start in (1.0, -3.0):
        line = labelled(ax, f"w_init={start:g}")
        mine = np.flatnonzero(w0 == start)[np.argsort(lr[w0 == start])]
        np.testing.assert_array_equal(line.get_xdata(), lr[mine])
        np.testing.assert_array_equal(line.get_ydata(),
                                      np.where(result.diverged[mine], np.nan, error[mine]))
    crosses = labelled(ax, "diverged")
    np.testing.assert_array_equal(crosses.get_xdata(), lr[result.diverged])
    assert (ax.get_xscale(), ax.get_yscale(), ax.get_xlabel(), ax.get_ylabel()) == (
        "log", "log", "learning rate", "final |w - w*|")


def test_the_linear_landscape_draws_the_mean_loss_and_each_steps_tangent(lecture_run):
    # The mean loss curve is (1/n) sum (x_i w - y_i)^2 on its grid (float64; drawn from the
    # data's moments, w^2 mean(x^2) - 2w mean(xy) + mean(y^2), whose rounding near the minimum
    # is absolute: within 1e-14 of the curve's height); each step's dot sits at (w, loss) and its
    # tick has the step's gradient as slope (rtol 1e-9: the tick's ends are rounded in float64).
    h = lecture_run.history
    ax = plots.landscape_figure(lecture_run, *LECTURE, {"w": 2.0}, "t").axes[0]
    mean = labelled(ax, "mean loss L(w)")
    grid = np.asarray(mean.get_xdata())
    want = sum((x * grid - y) ** 2 for x, y in zip(*LECTURE)) / 3
    np.testing.assert_allclose(mean.get_ydata(), want, rtol=1e-14, atol=1e-14 * want.max())
    dots = [line for line in ax.get_lines() if line.get_marker() == "o"]
    ticks = [line for line in ax.get_lines() if line.get_color() == "k" and
             line.get_label().startswith("_") and len(line.get_xdata()) == 2]
    assert len(dots) == len(ticks) == 60
    for i, (dot, tick) in enumerate(zip(dots, ticks)):
        assert (dot.get_xdata()[0], dot.get_ydata()[0]) == (h.params["w"][i], h.loss[i])
        (x0, x1), (y0, y1) = tick.get_xdata(), tick.get_ydata()
        np.testing.assert_allclose((y1 - y0) / (x1 - x0), h.grads["w"][i], rtol=1e-9)
    assert list(labelled(ax, "w* = 2").get_xdata()) == [2.0, 2.0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("w", "loss")
    # the axes: w from 1 to 2 padded by 15% each side; the loss from just below 0 to just above
    # the highest of the curve and the dots
    assert ax.get_xlim() == pytest.approx((1 - 0.15, 2 + 0.15))
    top = max(np.max(mean.get_ydata()), max(h.loss))
    assert ax.get_ylim() == pytest.approx((-0.03 * top, 1.05 * top))


def test_the_affine_landscape_draws_the_path_up_to_the_divergence():
    run = runs.run(Settings(model="affine", learning_rate=1.0), *LECTURE)
    target = model.least_squares("affine", *LECTURE)
    ax = plots.landscape_figure(run, *LECTURE, target, "t").axes[0]
    path = labelled(ax, "the run's (w, b), step by step")
    n = run.diverged_at
    np.testing.assert_array_equal(path.get_xdata(), np.float64(run.history.params["w"][:n]))
    np.testing.assert_array_equal(path.get_ydata(), np.float64(run.history.params["b"][:n]))
    assert f"diverged at step {n}: drawn up to it" in ax.get_title()
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("w", "b")


@pytest.mark.parametrize("lr, shown", [(0.01, 60), (1.0, 29)])
def test_each_animation_frame_draws_its_steps_parabola_tangent_and_update(lr, shown):
    # One frame per step, up to the first non-finite one (step 29 at lr 1). Frame i: the
    # sample's parabola (x w - y)^2 (float64, rtol 1e-9: computed around w_i), the dot at
    # (w_i, loss_i), the tangent with slope grad_i, the arrow from w_i to w_{i+1}.
    run = runs.run(Settings(learning_rate=lr), *LECTURE)
    h, w = run.history, np.append(np.float64(run.history.params["w"]), run.final_params["w"])
    fig, frames, draw = plots.animation_frames(run, "t")
    assert list(frames) == list(range(shown))
    for i in (0, shown // 2, shown - 2, shown - 1):  # the last two: w_{i+1} recorded, or final
        draw(i)
        ax = fig.axes[0]
        parabola, tangent, dot = ax.get_lines()
        grid, x, y = parabola.get_xdata(), float(h.x[i]), float(h.y[i])
        want = (x * grid - y) ** 2
        np.testing.assert_allclose(parabola.get_ydata(), want, rtol=1e-9, atol=1e-9 * want.max())
        assert (dot.get_xdata()[0], dot.get_ydata()[0]) == (w[i], h.loss[i])
        (x0, x1), (y0, y1) = tangent.get_xdata(), tangent.get_ydata()
        np.testing.assert_allclose((y1 - y0) / (x1 - x0), h.grads["w"][i], rtol=1e-9)
        (arrow,) = ax.texts[:1]
        assert (arrow.xyann[0], arrow.xy[0]) == (w[i], w[i + 1])
        # in view: the parabola's floor (0) with a margin below it, the arrow just above 0,
        # the dot
        bottom, top = ax.get_ylim()
        assert bottom < 0 < arrow.xy[1] < top and arrow.xy[1] == arrow.xyann[1]
        assert bottom < h.loss[i] < top
        assert f"step {i}  epoch {i // 3}" in ax.texts[1].get_text()


def test_the_sweep_figure_of_a_larger_model_draws_the_euclidean_distance():
    # affine: each config's distance from (w*, b*) is the hypotenuse of both parameters' errors
    # (float64 on the float32 results, rtol 1e-15: the same two squares, summed otherwise).
    lrs = np.float32([0.01, 0.05])
    result = sweep.train_grid(lrs, {"w": [1.0], "b": [0.0, 1.0]}, *LECTURE, epochs=5,
                              model="affine")
    target = model.least_squares("affine", *LECTURE)
    rates = stability.for_model("affine", LECTURE[0], 0.05)
    ax = plots.sweep_figure(result, target, rates, "t").axes[0]
    distance = np.hypot(np.float64(result.final["w"]) - target["w"],
                        np.float64(result.final["b"]) - target["b"])
    for b0 in (0.0, 1.0):
        line = labelled(ax, f"w_init=1, b_init={b0:g}")
        mine = np.float64(result.init["b"]) == b0
        np.testing.assert_array_equal(line.get_xdata(), np.float64(result.learning_rate)[mine])
        np.testing.assert_allclose(line.get_ydata(), distance[mine], rtol=1e-15)
    assert ax.get_ylabel() == "final distance from the least-squares fit"


def test_the_extra_rates_are_drawn_in_order_with_the_grid():
    # The refined rates (a second sweep from the same points) join the grid's on each line,
    # sorted by learning rate, the title saying so.
    grid = sweep.train_grid(np.float32([0.01, 0.1]), [1.0], *LECTURE, epochs=5)
    extra = sweep.train_grid(np.float32([0.05, 0.005]), [1.0], *LECTURE, epochs=5)
    rates = stability.stable_learning_rates(LECTURE[0])
    ax = plots.sweep_figure(grid, {"w": 2.0}, rates, "t", extra).axes[0]
    line = labelled(ax, "w_init=1")
    np.testing.assert_array_equal(line.get_xdata(), np.float64(np.float32([0.005, 0.01, 0.05,
                                                                           0.1])))
    finals = {float(lr): w for r in (grid, extra) for lr, w in zip(r.learning_rate, r.final_w)}
    np.testing.assert_array_equal(line.get_ydata(), [abs(float(finals[lr]) - 2.0)
                                                     for lr in line.get_xdata()])
    assert ax.get_title().endswith("; extra points at its edges")


def test_a_korean_font_missing_from_matplotlibs_stale_cache_is_found():
    # matplotlib's font list is cached on disk and may predate the font's installation: the
    # system's font files whose names look Korean are added to it, by the file's own name.
    from matplotlib import font_manager

    files = [f for f in font_manager.findSystemFonts()
             if any(p in f.rsplit("/", 1)[-1].lower() for p in plots._FONT_FILES)]
    if not files:
        pytest.skip("no Korean font file on this machine (CI installs fonts-noto-cjk)")
    manager = font_manager.fontManager
    kept = list(manager.ttflist)
    manager.ttflist = [f for f in kept if f.fname not in files]  # as a stale cache has it
    plots.korean_font.cache_clear()
    try:
        assert plots.korean_font() in plots.KOREAN_FONTS
        assert {f.fname for f in manager.ttflist} & set(files)
    finally:
        manager.ttflist = kept
        plots.korean_font.cache_clear()


def test_an_affine_animation_runs_along_its_first_parameter_w():
    # The loss along w, b held at each step's value: the dot at (w_i, loss_i), the tangent's
    # slope dloss/dw, the arrow from w_i to w_{i+1}; the x axis is w.
    run = runs.run(Settings(model="affine", learning_rate=0.02), *LECTURE)
    h = run.history
    w = np.append(np.float64(h.params["w"]), run.final_params["w"])
    fig, frames, draw = plots.animation_frames(run, "t")
    for i in (0, 31):
        draw(i)
        ax = fig.axes[0]
        parabola, tangent, dot = ax.get_lines()
        x, y, b = float(h.x[i]), float(h.y[i]), float(h.params["b"][i])
        want = (x * parabola.get_xdata() + b - y) ** 2
        np.testing.assert_allclose(parabola.get_ydata(), want, rtol=1e-6, atol=1e-9 * want.max())
        assert (dot.get_xdata()[0], dot.get_ydata()[0]) == (w[i], h.loss[i])
        (x0, x1), (y0, y1) = tangent.get_xdata(), tangent.get_ydata()
        np.testing.assert_allclose((y1 - y0) / (x1 - x0), h.grads["w"][i], rtol=1e-6)
        lo, hi = ax.get_xlim()  # the tangent: centred on w_i, a fifth of the axis long
        assert (x0 + x1) / 2 == pytest.approx(w[i]) and x1 - x0 == pytest.approx(0.2 * (hi - lo))
        assert (ax.texts[0].xyann[0], ax.texts[0].xy[0]) == (w[i], w[i + 1])
        assert ax.texts[0].xy[1] == ax.texts[0].xyann[1] > 0  # level, just above the axis
        assert ax.get_xlabel() == "w"


def test_axis_limits_around_nothing_finite_are_minus_one_to_one():
    assert plots._span([np.nan, np.inf, -np.inf], []) == (-1.0, 1.0)
    assert plots._span([], []) == (-1.0, 1.0)
    # one value: 15% of it either side; zero: half a unit
    assert plots._span([3.0, 3.0], []) == pytest.approx((3 - 0.45, 3 + 0.45))
    assert plots._span([0.0], []) == (-0.5, 0.5)


def test_the_sweep_figure_marks_each_stable_edge_within_its_rates():
    # The lecture's stable rates (0, 0.204018) and (0.476538, 0.519014): a dotted line at
    # each edge inside the swept rates (0.01 to 0.6), none at 0 (a log axis has no 0).
    lrs = np.float32(np.geomspace(0.01, 0.6, 12))
    result = sweep.train_grid(lrs, [1.0], *LECTURE, epochs=5)
    rates = stability.for_model("linear", LECTURE[0], 0.6)
    ax = plots.sweep_figure(result, model.least_squares("linear", *LECTURE), rates, "t").axes[0]
    edges = [line.get_xdata()[0] for line in ax.get_lines() if line.get_linestyle() == ":"]
    np.testing.assert_allclose(edges, [0.204018, 0.476538, 0.519014], rtol=1e-5)
    # a grid from rate 0 (nothing moves) holds the first window's edge at 0 too: still no
    # line there
    result = sweep.train_grid(np.float32([0.0, 0.1, 0.3]), [1.0], *LECTURE, epochs=5)
    ax = plots.sweep_figure(result, model.least_squares("linear", *LECTURE), rates, "t").axes[0]
    edges = [line.get_xdata()[0] for line in ax.get_lines() if line.get_linestyle() == ":"]
    np.testing.assert_allclose(edges, [0.204018], rtol=1e-5)


def test_the_envelope_keeps_each_runs_lowest_and_highest_step():
    # 1,000 steps drawn as at most 20 points: the ends, and the lowest and the highest step of
    # each run of 100, at their own steps (a dip at 437 and a peak at 862 are not lost).
    values = np.sin(np.arange(1000) / 50.0)
    values[437], values[862] = -5.0, 7.0
    steps, drawn = plots.envelope(values, most=20)
    assert len(steps) <= 22 and steps[0] == 0 and steps[-1] == 999
    np.testing.assert_array_equal(drawn, values[steps])
    for start in range(0, 1000, 100):
        run = values[start:start + 100]
        assert start + int(np.argmin(run)) in steps and start + int(np.argmax(run)) in steps


def test_exact_hits_sit_on_a_floor_that_a_log_axis_can_show():
    # From w* = 2 itself every gradient is exactly 0, so every error is 0, which a log axis
    # cannot draw: such points sit on a positive floor, in view, below every other point.
    rates = stability.stable_learning_rates(LECTURE[0])
    for inits in ([2.0], [2.0, 1.0]):
        result = sweep.train_grid(np.float32([0.01, 0.1]), inits, *LECTURE, epochs=5)
        assert np.all(np.float64(result.final_w)[np.float64(result.w_init) == 2.0] == 2.0)
        ax = plots.sweep_figure(result, {"w": 2.0}, rates, "t").axes[0]
        exact = labelled(ax, "w_init=2").get_ydata()
        assert np.all(exact > 0) and np.all(exact == exact[0])
        assert ax.get_ylim()[0] <= exact[0] < ax.get_ylim()[1]
        if len(inits) > 1:
            assert exact[0] < labelled(ax, "w_init=1").get_ydata().min()


@pytest.mark.parametrize("formula, shape", [
    ("x*w", "parabola"), ("(x + x**2)*w", "parabola"),
    ("log(x*w)", "loss curve"), ("x*w**2", "loss curve"), ("sigmoid(x*w)", "loss curve")])
def test_the_landscape_calls_a_samples_loss_a_parabola_only_where_it_is_one(formula, shape):
    # Each sample's loss (f(x) w - y)^2 is a parabola in w only where the model is linear in
    # its parameter (has_least_squares); log(x*w) or x*w**2 gives some other curve. The legend
    # says which, from the model's capability.
    run = runs.run(Settings(model=formula, epochs=2), *LECTURE)
    target = {"w": 1.0} if run.model.has_least_squares else None
    ax = plots.landscape_figure(run, *LECTURE, target, "t").axes[0]
    (note,) = [t.get_text() for t in ax.texts if t.get_text().startswith("each dot")]
    assert f"on its sample's {shape};" in note
    assert ("parabola" in note) == (shape == "parabola")
