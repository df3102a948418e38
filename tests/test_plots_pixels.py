"""lec4_jax.tool.plots, judged by the pixels: each figure drawn and compared with a reference
picture in tests/pictures/, pixel by pixel, with a tolerance for anti-aliasing.

test_plots.py reads back what each figure draws (its data, limits, labels). What it cannot
read back is how it is drawn: line widths, marker sizes, font sizes, contour levels, the
place of a label. A reference picture holds those, so a change to any of them fails here.

The pictures are drawn as the scripts write them (120 DPI: at fewer dots, matplotlib snaps a
marker of size 4 and one of 5 to the same pixels), in English with only matplotlib's own fonts
(DejaVu Sans, shipped with it) and its default style, from pinned matplotlib and NumPy
(constraints.txt), so they do not depend on the machine's fonts. The runs behind them are the
lecture's: a float32 rounding of a step (a CPU with or without FMA) moves a point by far less
than a pixel.

After an intended change to a figure, draw the references again and look at each one:

    LEC4_UPDATE_PICTURES=1 python -m pytest tests/test_plots_pixels.py

A failing comparison leaves the picture drawn and a map of the pixels that differ beside the
reference's name, under pytest's temporary folder, and names them.
"""

import io
import os
from pathlib import Path

import numpy as np
import pytest

from lec4_jax import model
from lec4_jax import walkthrough as wt
from lec4_jax.tool import plots, runs, stability, sweep
from lec4_jax.tool.settings import Settings

pytest.importorskip("matplotlib")

LECTURE = ([1.0, 2.0, 3.0], [2.0, 4.0, 6.0])
PICTURES = Path(__file__).parent / "pictures"
# A pixel differs when a channel moves by more than this (of 1): anti-aliasing at another
# sub-pixel position moves edges by less. A picture matches when at most TOLERATED of its
# pixels differ: none in practice, on any machine with the pinned packages.
CHANNEL = 0.25
TOLERATED = 4


def draw(fig) -> tuple[bytes, np.ndarray]:
    """The figure as the PNG the scripts write (plots._png: 120 DPI, trimmed to what is drawn)
    and as RGBA floats in [0, 1]; the figure is closed."""
    import matplotlib.image

    png = plots._png(fig)
    return png, matplotlib.image.imread(io.BytesIO(png), format="png")


def check(name: str, fig, tmp_path) -> None:
    import matplotlib.image

    png, got = draw(fig)
    reference = PICTURES / f"{name}.png"
    if os.environ.get("LEC4_UPDATE_PICTURES") == "1":
        PICTURES.mkdir(exist_ok=True)
        reference.write_bytes(png)
        return
    want = matplotlib.image.imread(reference)
    assert got.shape == want.shape, f"{name}: drawn {got.shape[:2]}, the reference {want.shape[:2]}"
    differ = np.abs(got - want).max(axis=-1) > CHANNEL
    if differ.sum() > TOLERATED:
        (tmp_path / f"{name}.png").write_bytes(png)
        matplotlib.image.imsave(tmp_path / f"{name}-differ.png", differ, cmap="gray_r")
        ys, xs = np.nonzero(differ)
        raise AssertionError(
            f"{name}: {differ.sum()} pixels differ from tests/pictures/{name}.png, within "
            f"x {xs.min()}..{xs.max()}, y {ys.min()}..{ys.max()}; drawn: {tmp_path / name}.png")


@pytest.fixture(autouse=True)
def plain_style(monkeypatch):
    """matplotlib's defaults and only the fonts shipped with it, whatever an earlier test, a
    matplotlibrc or the system's fonts (another DejaVu Sans, a CJK font) would choose."""
    import matplotlib
    from matplotlib import font_manager

    own = Path(matplotlib.get_data_path()) / "fonts"
    manager = font_manager.fontManager
    monkeypatch.setattr(manager, "ttflist",
                        [f for f in manager.ttflist if Path(f.fname).is_relative_to(own)])
    manager._findfont_cached.cache_clear()
    try:
        with matplotlib.rc_context(rc=matplotlib.rcParamsDefault):
            matplotlib.use("Agg")
            yield
    finally:
        manager._findfont_cached.cache_clear()


def test_the_training_figure(tmp_path):
    run = runs.run(Settings(), *LECTURE)
    check("training", plots.training_figure(run, {"w": 2.0}, "lecture"), tmp_path)


def test_the_training_figure_of_a_diverged_run(tmp_path):
    run = runs.run(Settings(learning_rate=1.0), *LECTURE)  # non-finite from step 29
    assert run.diverged_at is not None
    check("training-diverged", plots.training_figure(run, {"w": 2.0}, "diverged"), tmp_path)


def test_the_sweep_figure(tmp_path):
    # exact hits (from w* = 2), diverged configs (lr 0.3), the stable windows and their edges
    lrs = np.float32(np.geomspace(0.01, 0.6, 9))
    result = sweep.train_grid(lrs, [1.0, 2.0, -3.0], *LECTURE, epochs=5)
    rates = stability.for_model("linear", LECTURE[0], 0.6)
    check("sweep", plots.sweep_figure(result, {"w": 2.0}, rates, "sweep", lang="en"), tmp_path)


def test_the_linear_landscape(tmp_path):
    run = runs.run(Settings(), *LECTURE)
    fig = plots.landscape_figure(run, *LECTURE, {"w": 2.0}, "landscape")
    check("landscape-linear", fig, tmp_path)


def test_the_affine_landscape(tmp_path):
    run = runs.run(Settings(model="affine", learning_rate=0.02), *LECTURE)
    target = model.least_squares("affine", *LECTURE)
    check("landscape-affine", plots.landscape_figure(run, *LECTURE, target, "affine"), tmp_path)


@pytest.mark.parametrize("step", [0, 7])
def test_an_animation_frame(step, tmp_path):
    run = runs.run(Settings(learning_rate=0.1), *LECTURE)
    fig, frames, draw_frame = plots.animation_frames(run, "animation")
    draw_frame(step)
    check(f"animation-{step}", fig, tmp_path)


def test_the_graph_without_graphviz(tmp_path):
    ex = wt.Example.of("linear")
    fig = plots.graph_figure(wt.explain(ex), tuple(ex.params), title="graph", lang="en")
    check("graph", fig, tmp_path)


def test_a_picture_that_differs_is_named_with_where_and_left_to_look_at(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    def line(width):
        fig, ax = plt.subplots(figsize=(2, 1))
        ax.plot([0, 1], [0, 1], lw=width)
        return fig

    monkeypatch.delenv("LEC4_UPDATE_PICTURES", raising=False)
    monkeypatch.setitem(globals(), "PICTURES", tmp_path / "pictures")
    PICTURES.mkdir()
    (PICTURES / "line.png").write_bytes(draw(line(1))[0])
    check("line", line(1), tmp_path)  # the same: passes, and leaves nothing
    assert not (tmp_path / "line.png").exists()
    with pytest.raises(AssertionError, match=r"^line: \d+ pixels differ from .* drawn: "):
        check("line", line(2), tmp_path)
    assert (tmp_path / "line.png").exists() and (tmp_path / "line-differ.png").exists()
