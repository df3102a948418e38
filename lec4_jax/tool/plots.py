"""Pictures of a run and of a sweep, as PNG bytes. matplotlib is imported only here, on use."""

from __future__ import annotations

import functools
import io
import logging
import signal
import subprocess
import warnings

import numpy as np

from lec4_jax import language, messages
from lec4_jax.tool import fonts
from lec4_jax.tool.data import InputError
from lec4_jax.tool.report import finite_steps


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
    """The figure as PNG bytes; the figure is closed."""
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=120, bbox_inches="tight")
    finally:
        _pyplot().close(fig)
    return buffer.getvalue()


MAX_POINTS = 4000  # points of a drawn line: a longer series is drawn as its envelope


def envelope(values, most: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """``(steps, values)`` to draw a series as a line: every step when there are at most
    ``most``; else the ends and the lowest and the highest step of each of ``most // 2`` equal
    runs of steps, in order. The same picture at any figure's resolution (no peak lost), in
    memory for ``most`` points, not for every step (matplotlib holds ~100 bytes a point)."""
    values = np.asarray(values)
    n = len(values)
    if n <= most:
        return np.arange(n), values.astype(np.float64)
    size = -(-n // (most // 2))  # steps per run
    runs = np.pad(values, (0, -n % size), mode="edge").reshape(-1, size)
    starts = np.arange(0, n, size)
    low = starts + np.argmin(np.where(np.isnan(runs), np.inf, runs), axis=1)
    high = starts + np.argmax(np.where(np.isnan(runs), -np.inf, runs), axis=1)
    steps = np.unique(np.concatenate([[0, n - 1], low, high]))
    return steps, values[steps].astype(np.float64)


def _quietly(render):
    """A renderer that draws extreme numbers as best it can and prints nothing: float64
    overflow is dropped (NumPy's errors off), what matplotlib would warn about (identical
    limits) stays inside, so ``PYTHONWARNINGS=error`` cannot make it an error, and logging is
    off while it draws (matplotlib logs a failed ffmpeg's stderr): a failure is the exception
    alone."""
    @functools.wraps(render)
    def quiet(*args, **kwargs):
        muted = logging.root.manager.disable
        logging.disable(logging.CRITICAL)
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return render(*args, **kwargs)
        finally:
            logging.disable(muted)

    return quiet


@_quietly
def training_png(run, target: dict[str, float], title: str) -> bytes:
    """:func:`training_figure` as PNG bytes."""
    return _png(training_figure(run, target, title))


def training_figure(run, target: dict[str, float] | None, title: str):
    """The loss per step (log scale), and each parameter per step with its least-squares
    target marked (a long run as each line's :func:`envelope`). A model without a least-squares
    fit (``target`` None) is drawn without targets, and the legend says why."""
    plt = _pyplot()
    h = run.history
    fig, (ax_loss, ax_params) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    ax_loss.semilogy(*envelope(np.abs(np.asarray(h.loss))), lw=1)
    ax_loss.set_ylabel("loss (before the step)")
    ax_loss.set_title(title)
    for name, values in h.params.items():
        steps, drawn = envelope(values)
        line, = ax_params.plot(steps, _drawable(drawn), lw=1, label=name)
        if target is not None:
            ax_params.axhline(_drawable(target[name]), ls="--", color=line.get_color(),
                              label=f"{name}* = {target[name]:.6g}")
    if target is None:
        ax_params.plot([], [], " ", label=f"no target drawn: {run.model.why_no_least_squares}")
    if run.diverged_at is not None:
        for ax in (ax_loss, ax_params):
            ax.axvline(run.diverged_at, color="red", lw=1, label="diverged")
    ax_params.set_xlabel("step")
    ax_params.set_ylabel("parameter (before the step)")
    ax_params.legend(loc="best", fontsize=8)
    return fig


# Which font draws Hangul (the system's, else the one koreanize-matplotlib ships): fonts.py
KOREAN_FONTS, _FONT_FILES = fonts.KOREAN_FONTS, fonts._FONT_FILES
korean_font = fonts.korean_font


def _lang_for_picture(lang: str | None) -> str:
    """The language to draw in: Korean only where a font with Hangul is found (else the
    letters would come out as empty boxes), so English otherwise."""
    lang = language.language(lang)
    return "ko" if lang == "ko" and korean_font() is not None else "en"


def _font_context(lang: str):
    """matplotlib settings that draw Hangul (Korean), else none. Only inside this context:
    matplotlib's global settings are left as they were. Latin letters, digits and the minus
    sign stay in matplotlib's own DejaVu Sans (NanumGothic has no U+2212, which the log axes'
    ``10^{-1}`` draws), the Hangul falls back to the Korean font letter by letter."""
    plt = _pyplot()
    if lang != "ko":
        return plt.rc_context({})
    return plt.rc_context({"font.family": ["DejaVu Sans", korean_font()],
                           "axes.unicode_minus": False})


def _drawn(fig, asked: str | None, lang: str) -> bytes:
    """The figure as PNG bytes; a picture asked for in Korean but drawn in English (no font with
    Hangul) says so along its bottom edge."""
    if language.language(asked) != lang:
        fig.text(0.01, 0.005, messages.text("plots", "no_font", lang), fontsize=7,
                 color="dimgray", ha="left", va="bottom")
    return _png(fig)


def title_in(title, lang: str) -> str:
    """A picture's title: ``title`` itself, or where it is a dict of titles by language (``{"en":
    ..., "ko": ...}``), the one in ``lang`` (English where it has no other)."""
    return title if isinstance(title, str) else title.get(lang, title["en"])


@_quietly
def sweep_png(result, target, stable, title, extra=None, lang: str | None = None) -> bytes:
    """:func:`sweep_figure` as PNG bytes, in ``lang`` where a font can draw it (else in English,
    the title too where ``title`` is a dict by language)."""
    drawn = _lang_for_picture(lang)
    with _font_context(drawn):
        return _drawn(sweep_figure(result, target, stable, title_in(title, drawn), extra, drawn),
                      lang, drawn)


def sweep_figure(result, target, stable, title: str, extra=None, lang: str | None = None):
    """How far each config ends from the least-squares parameters ``target`` (a dict, or w*
    for the lecture's model), against the learning rate (log-log), one line per initial point:
    ``|w - w*|`` for the lecture's model, the Euclidean distance for the others.

    Diverged configs are red crosses at the top (and gaps in the lines); configs that land
    exactly on the target sit at the bottom. The stable learning rates are shaded, their edges
    drawn as dotted lines. ``extra`` is a second sweep (the same initial points) drawn in with
    the first: extra points inside each window and near its edges
    (:func:`lec4_jax.tool.sweep.refined_rates`). A model without a least-squares fit (``target``
    None) shows each config's final mean loss instead. Its words are in ``lang``, from the
    message catalogue (``lec4_jax/locale/<lang>/plots.toml``).
    """
    words = messages.section("plots", lang)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 5))
    if target is not None and not isinstance(target, dict):
        target = {"w": target}
    parts = [result] + ([extra] if extra is not None else [])

    def joined(get, kind=np.float64):
        return np.concatenate([np.asarray(get(r)) for r in parts]).astype(kind)

    lr = joined(lambda r: r.learning_rate)
    order = np.argsort(lr, kind="stable")
    lr = lr[order]
    diverged = joined(lambda r: r.diverged, bool)[order]
    init = {p: joined(lambda r, p=p: r.init[p])[order] for p in result.init}
    error = (joined(lambda r: r.final_loss)[order] if target is None else
             np.sqrt(sum((joined(lambda r, p=p: r.final[p])[order] - v) ** 2
                         for p, v in target.items())))
    shown = np.where(diverged | ~np.isfinite(error), np.nan, error)  # gaps: diverged
    positive = shown[shown > 0]
    floor = positive.min() / 10 if positive.size else 1e-8  # where exact hits (error 0) sit
    top = (min(np.nanmax(shown), FAR) if np.isfinite(shown).any() else 1.0) * 10
    points = np.stack(list(init.values()), axis=1)
    for point in np.unique(points, axis=0):
        keep = np.all(points == point, axis=1)
        label = ", ".join(f"{p}_init={v:g}" for p, v in zip(init, point))
        ax.loglog(lr[keep], np.maximum(shown[keep], floor), ".-", lw=1, ms=3, label=label)
    if diverged.any():
        ax.plot(lr[diverged], np.full(diverged.sum(), top), "rx", ms=4, label=words["diverged"])
    lo_lr, hi_lr = lr.min(), lr.max()
    for lo, hi in stable.intervals:
        ax.axvspan(max(lo, lo_lr), min(hi, hi_lr), color="tab:green", alpha=0.08)
        for edge in (lo, hi):
            if lo_lr <= edge <= hi_lr and edge > 0:
                ax.axvline(edge, color="tab:green", ls=":", lw=1)
    ax.set_xlabel(words["lr"])
    ax.set_ylabel(words["no_target"] if target is None else
                  words["one_param"] if list(target) == ["w"] else words["other"])
    shade = (words["shade_linear"] if stable.method == "analytic" else
             words["shade_other"].format(method=stable.method) if stable.intervals else
             words["shade_none"].format(why=stable.why))
    ax.set_title(title + "\n" + words["shaded"] + shade + (words["extra"] if extra else ""))
    ax.legend(loc="best", fontsize=8)
    return fig


MAX_MARKS = 300  # steps marked on a landscape; longer runs are thinned evenly
MAX_FRAMES = 200  # animation frames; longer runs are thinned evenly
ANIMATION_FORMATS = {".gif": "pillow", ".mp4": "ffmpeg"}


def require_landscape(model) -> None:
    """A one-line refusal, before any work, for a model whose loss has no 1-D or 2-D picture
    (``model``: a :class:`~lec4_jax.model.Model` or its name)."""
    from lec4_jax import model as model_lib

    m = model_lib.get(model)
    n = len(m.params)
    if n > 2:
        raise InputError(f"the landscape is drawn for models of 1 or 2 parameters (one: a "
                         f"curve, two: contours); {m.name} has {n} "
                         f"({', '.join(m.params)})")


def require_animation(path: str) -> None:
    """matplotlib, and for ``.mp4`` ffmpeg, are present; else one line, before any work."""
    plt = _pyplot()
    from matplotlib import animation

    ext = path[path.rfind("."):].lower() if "." in path else ""
    if ext not in ANIMATION_FORMATS:
        raise InputError(f"write .gif (Pillow) or .mp4 (ffmpeg), not {ext or 'no extension'!r}")
    if not animation.writers.is_available(ANIMATION_FORMATS[ext]):
        raise InputError("an .mp4 needs ffmpeg on PATH (apt-get install ffmpeg); .gif needs "
                         "nothing more")
    del plt


def _thin(n: int, most: int) -> np.ndarray:
    return np.unique(np.linspace(0, n - 1, min(n, most)).round().astype(int)) if n else \
        np.zeros(0, int)


@_quietly
def landscape_png(run, x, y, target: dict[str, float], title: str) -> bytes:
    """:func:`landscape_figure` as PNG bytes."""
    return _png(landscape_figure(run, x, y, target, title))


def landscape_figure(run, x, y, target: dict[str, float], title: str):
    """The loss landscape and the run's path on it (docs/training.md, "Watch it learn").

    One parameter: the mean loss L(w) and each sample's loss curve (for the lecture's model
    the parabola (x_i w - y_i)^2); each step's w is marked on the curve of the sample it used,
    with the tangent whose slope is that step's gradient; w* is marked where a least-squares
    fit exists (``target``; None: not marked, and the legend says why). Two parameters (w, b,
    whatever their names): contours of the mean loss L(w, b) and the path of (w, b). A run
    that diverged is drawn up to its last finite step.
    """
    plt = _pyplot()
    h, n = run.history, finite_steps(run)
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    fig, ax = plt.subplots(figsize=(8, 5))
    if len(run.model.params) == 1:
        _curve_landscape(ax, run.model, h, n, x, y, target)
    else:
        _contour_landscape(ax, run.model, h, n, x, y, target)
    ax.set_title(title + ("" if run.diverged_at is None else
                          f"\n(diverged at step {run.diverged_at}: drawn up to it)"))
    return fig


FAR = 1e300  # axis limits stay within +-FAR: matplotlib's transforms overflow near float64's max


def _finite(*arrays) -> np.ndarray:
    """The finite values of ``arrays``, in float64, within +-:data:`FAR`."""
    values = np.concatenate([np.asarray(a, np.float64).ravel() for a in arrays])
    return np.clip(values[np.isfinite(values)], -FAR, FAR)


def _drawable(values) -> np.ndarray:
    """``values`` in float64, within +-:data:`FAR`; the non-finite ones NaN (not drawn)."""
    values = np.asarray(values, np.float64)
    return np.clip(np.where(np.isfinite(values), values, np.nan), -FAR, FAR)


def _span(values, extra) -> tuple[float, float]:
    """Axis limits around the finite values, padded: never empty, never infinite."""
    values = _finite(values, extra)
    if not values.size:
        return -1.0, 1.0
    lo, hi = values.min(), values.max()
    pad = 0.15 * (hi - lo) or 0.15 * abs(hi) or 0.5
    return lo - pad, hi + pad


def _top(*arrays) -> float:
    """The top of a loss axis: the largest finite value (at least 1e-12, at most :data:`FAR`)."""
    return max(_finite(*arrays).max(initial=0.0), 1e-12)


def mean_loss(model, x, y, target: dict[str, float] | None, grids: dict[str, np.ndarray]):
    """The mean loss over the data at every point of ``grids`` (one array per parameter, all of
    one shape), from the data's moments, in memory for the grid alone (not grid x samples).

    Every model is linear in its parameters θ (features φ(x)): with d = θ − θ* around the
    least-squares ``target`` θ* and r* its residuals,
    L(θ) = L(θ*) + 2 dᵀ mean(φ r*) + dᵀ mean(φ φᵀ) d, exactly (the middle term is 0 at the
    exact θ*; kept for its rounding). A model not linear in its parameters (no ``target``):
    its loss summed over the samples in blocks, so memory stays a few grids' worth."""
    m = model
    if target is None:
        total = np.zeros(np.shape(next(iter(grids.values()))))
        block = max(1, 2**20 // max(1, total.size))
        for i in range(0, len(x), block):
            xs, ys = x[i:i + block], y[i:i + block]
            expand = (slice(None),) + (None,) * total.ndim
            total += np.sum(_loss64(m, {k: g[None] for k, g in grids.items()}, xs[expand],
                                    ys[expand]), axis=0)
        return total / len(x)
    phi = np.stack([np.broadcast_to(f, x.shape) for f in m.features(x)])
    theta = np.array([target[k] for k in m.params])
    r = theta @ phi - y
    g, moments = phi @ r / len(x), phi @ phi.T / len(x)
    d = [grids[k] - target[k] for k in m.params]
    out = np.full(d[0].shape, np.mean(r**2))
    for i in range(len(d)):
        out += 2 * g[i] * d[i] + sum(moments[i, j] * d[i] * d[j] for j in range(len(d)))
    return out


MAX_CURVES = 8  # samples' loss curves drawn on a one-parameter landscape: the first distinct


def _loss64(m, params, x, y) -> np.ndarray:
    """The model's own loss in float64 (NumPy values in and out); what overflows is inf."""
    import jax

    with jax.enable_x64(True), np.errstate(all="ignore"):
        return np.asarray(m.loss(params, np.float64(x), np.float64(y)), np.float64)


def _sample_curves(ax, m, x, y, grid) -> dict:
    """Each distinct sample's loss curve (the parabola (x_i w − y_i)² for the lecture's model),
    the first :data:`MAX_CURVES` of them in the data's order; their colours by sample."""
    pairs, first = np.unique(np.stack([x, y], axis=1), axis=0, return_index=True)
    colors = {}
    for xi, yi in pairs[np.argsort(first)][:MAX_CURVES]:
        curve = _loss64(m, {m.params[0]: grid}, xi, yi)
        line, = ax.plot(grid, _drawable(curve), lw=1, alpha=0.7,
                        label=f"sample x={xi:g}, y={yi:g}")
        colors[(xi, yi)] = line.get_color()
    if len(pairs) > MAX_CURVES:
        ax.plot([], [], " ", label=f"({len(pairs) - MAX_CURVES:,} more samples not drawn)")
    return colors


def _curve_landscape(ax, m, h, n, x, y, target):
    (p,) = m.params
    w_star = None if target is None else target[p]
    w = np.asarray(h.params[p][:n], np.float64)
    lo, hi = _span(w, [] if w_star is None else [w_star])
    grid = np.linspace(lo, hi, 400)
    colors = _sample_curves(ax, m, x, y, grid)
    mean = mean_loss(m, x, y, target, {p: grid})
    ax.plot(grid, _drawable(mean), "k", lw=2, label=f"mean loss L({p})")
    marks = _thin(n, MAX_MARKS)
    half = 0.06 * (hi - lo)
    for i in marks:
        xi, yi = float(h.x[i]), float(h.y[i])
        wi, li, gi = w[i], float(h.loss[i]), float(h.grads[p][i])
        color = colors.get((xi, yi), "gray")
        ax.plot([wi - half, wi + half], [li - gi * half, li + gi * half], color="k", lw=0.7,
                alpha=0.8)
        ax.plot(wi, li, "o", color=color, ms=4, mec="k", mew=0.4)
    if w_star is None:
        ax.plot([], [], " ", label=f"no {p}* marked: {m.why_no_least_squares}")
    else:
        ax.axvline(w_star, color="tab:green", ls="--", lw=1, label=f"{p}* = {w_star:.6g}")
    if n:
        ax.plot(w[0], float(h.loss[0]), "s", color="k", ms=6, label="start")
    ax.set_xlim(lo, hi)
    top = _top(mean, np.asarray(h.loss, np.float64)[marks] if n else [])
    ax.set_ylim(-0.03 * top, 1.05 * top)
    ax.set_xlabel(p)
    ax.set_ylabel("loss")
    ax.legend(loc="upper center", fontsize=8)
    ax.text(0.01, 0.01, f"each dot: {p} before a step, on {_sample_curve_words(m)};\nits "
            "tick: the tangent, slope = that step's gradient", transform=ax.transAxes,
            fontsize=8)


def _sample_curve_words(m) -> str:
    """What each sample's loss is along the model's one parameter: a parabola where the model is
    w·f(x) (:attr:`Model.has_least_squares`), any other curve otherwise (log(x*w), x*w**2)."""
    return "its sample's parabola" if m.has_least_squares else "its sample's loss curve"


def _contour_landscape(ax, m, h, n, x, y, target):
    """Contours of the mean loss over the model's two parameters (``pw`` across, ``pb`` up)
    and the run's path; the least-squares fit starred where there is one (``target``)."""
    pw, pb = m.params
    w, b = (np.asarray(h.params[k][:n], np.float64) for k in (pw, pb))
    w_lo, w_hi = _span(w, [] if target is None else [target[pw]])
    b_lo, b_hi = _span(b, [] if target is None else [target[pb]])
    W, B = np.meshgrid(np.linspace(w_lo, w_hi, 200), np.linspace(b_lo, b_hi, 200))
    L = mean_loss(m, x, y, target, {pw: W, pb: B})
    finite = _finite(L)
    if finite.size:  # far out, the loss may overflow float64 everywhere
        levels = np.unique(np.quantile(finite, np.linspace(0.002, 0.98, 18)))
        contours = ax.contour(W, B, np.where(np.isfinite(L), L, FAR), levels=levels,
                              cmap="viridis", linewidths=0.8)
        ax.clabel(contours, fontsize=7, fmt="%.3g")
    path = _thin(n, MAX_POINTS)  # a long run's path, evenly thinned
    ax.plot(w[path], b[path], ".-", color="tab:red", lw=1, ms=3,
            label=f"the run's ({pw}, {pb}), step by step")
    if n:
        ax.plot(w[0], b[0], "s", color="k", ms=6, label="start")
    if target is None:
        ax.plot([], [], " ", label=f"no minimum marked: {m.why_no_least_squares}")
    else:
        ax.plot(target[pw], target[pb], "*", color="tab:green", ms=12,
                label=f"({pw}*, {pb}*) = ({target[pw]:.4g}, {target[pb]:.4g})")
    ax.set_xlabel(pw)
    ax.set_ylabel(pb)
    ax.legend(loc="best", fontsize=8)


def animation_frames(run, title: str):
    """``(fig, frames, draw)``: ``draw(step)`` draws one frame on ``fig`` for each step in
    ``frames`` (every step, thinned to :data:`MAX_FRAMES`): the step's sample's loss along the
    first parameter (the others held at that step's values), the point at the current value,
    the tangent (the gradient), the arrow of the update to the next value, and the step's
    numbers."""
    plt = _pyplot()
    m = run.model
    p = m.params[0]
    h, n = run.history, finite_steps(run)
    frames = _thin(max(n, 1), MAX_FRAMES)  # a run that diverged at once: its starting point
    values = np.asarray(h.params[p][:n], np.float64)
    lo, hi = _span(np.concatenate([values, np.asarray(run.final_params[p], np.float64).ravel()]),
                   [])
    grid = np.linspace(lo, hi, 300)
    fig, ax = plt.subplots(figsize=(6, 4), dpi=80)

    def draw(i):
        ax.clear()
        xi, yi = float(h.x[i]), float(h.y[i])
        here = {k: float(h.params[k][i]) for k in m.params}
        # the sample's loss along p, the model's own loss computed in float64 (so that a
        # far-out run still draws; what overflows even there is left out)
        curve = _drawable(_loss64(m, dict(here, **{p: grid}), xi, yi))
        ax.plot(grid, curve, color="tab:blue", lw=1.5)
        v, loss, g = here[p], float(h.loss[i]), float(h.grads[p][i])
        nxt = float(h.params[p][i + 1]) if i + 1 < len(h.loss) else float(run.final_params[p])
        half = 0.1 * (hi - lo)
        ax.plot([v - half, v + half], [loss - g * half, loss + g * half], color="tab:orange",
                lw=1.5)
        ax.plot(v, loss, "o", color="tab:red", ms=6)
        top = _top(curve)
        if np.isfinite(nxt):
            ax.annotate("", xy=(nxt, 0.02 * top), xytext=(v, 0.02 * top),
                        arrowprops=dict(arrowstyle="->", color="tab:green", lw=1.5))
        ax.set_xlim(lo, hi)
        ax.set_ylim(-0.05 * top, 1.1 * top)
        ax.set_xlabel(p)
        ax.set_ylabel("loss of this step's sample")
        ax.set_title(title, fontsize=9)
        ax.text(0.02, 0.97, f"step {i}  epoch {int(h.epoch[i])}\nx={xi:g}  y={yi:g}\n"
                f"{p}={v:.6g}  loss={loss:.6g}\ngrad={g:.6g}\n{p} <- {p} - lr*grad = {nxt:.6g}",
                transform=ax.transAxes, va="top", fontsize=8, family="monospace")

    return fig, frames, draw


@_quietly
def animation_bytes(run, fmt: str, title: str) -> bytes:
    """:func:`animation_frames` animated, one frame per step shown: ``fmt`` is ``.gif``
    (matplotlib's Pillow writer) or ``.mp4`` (ffmpeg). The same run gives the same bytes."""
    plt = _pyplot()
    from matplotlib import animation

    from lec4_jax.tool import outputs

    fig, frames, draw = animation_frames(run, title)
    # equivalent mutant (NumberReplacer): saved by a writer at its own fps; the interval only
    # paces a live window, which is never opened
    anim = animation.FuncAnimation(fig, draw, frames=list(frames), interval=150)
    writer = (animation.PillowWriter(fps=6) if fmt == ".gif" else
              animation.FFMpegWriter(fps=6, metadata={"comment": ""}))
    try:
        with outputs.scratch_file(fmt) as path:
            anim.save(path, writer=writer)
            with open(path, "rb") as f:
                return f.read()
    except subprocess.CalledProcessError as e:  # ffmpeg failed: why, and its last words
        text = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else e.stderr
        words = "".join(f": {w}" for w in (text or "").strip().splitlines()[-1:])
        # equivalent mutant (NumberReplacer-1): a failed process never exits 0
        how = (f"exit status {e.returncode}" if e.returncode > 0 else  # killed by a signal:
               signal.strsignal(-e.returncode) or f"signal {-e.returncode}")  # past ulimit -f
        raise InputError(f"ffmpeg failed ({how}){words}") from None
    finally:
        plt.close(fig)



def graph_figure(walk, params, title: str = "", dtype="float32", lang: str | None = None):
    """The walked graph drawn by matplotlib, for machines without Graphviz: the same boxes,
    forward edges carrying the input's value (solid, black), and dashed red backward edges
    carrying the gradient passed back. Returns the Figure (its texts can be read back)."""
    from lec4_jax import walkthrough

    plt = _pyplot()
    place = walkthrough.layout(walk)
    counts: dict[int, int] = {}
    for col, _ in place.values():
        counts[col] = counts.get(col, 0) + 1
    xy = {i: (3.4 * col, 1.9 * ((counts[col] - 1) / 2 - row)) for i, (col, row) in place.items()}
    fig, ax = plt.subplots(figsize=(2.4 * len(counts) + 1, 1.6 * max(counts.values()) + 1.6))
    boxes = {}
    for n in walk.graph.nodes:
        fill = "#fff3c4" if n.name in params else "white"
        style = "round,pad=0.4" if n.is_leaf else "square,pad=0.4"
        boxes[n.index] = ax.text(*xy[n.index], walkthrough.node_label(walk, n, dtype, lang),
                                 # equivalent mutant (NumberReplacer-1): the boxes need only be
                                 # below the arrows (3); nothing else is drawn.
                                 ha="center", va="center", fontsize=9, zorder=2,
                                 bbox={"boxstyle": style, "fc": fill, "ec": "black"})
    for n in walk.graph.nodes:
        passed = walk.passed[n.index] or [None] * len(n.inputs)
        for i, g in zip(n.inputs, passed):
            _graph_edge(ax, boxes[i.index], boxes[n.index], walkthrough.fmt(i.value, dtype), False)
            if g is not None:
                _graph_edge(ax, boxes[n.index], boxes[i.index], walkthrough.fmt(g, dtype), True)
    xs, ys = [p[0] for p in xy.values()], [p[1] for p in xy.values()]
    ax.set_xlim(min(xs) - 1.7, max(xs) + 1.7)
    ax.set_ylim(min(ys) - 1.3, max(ys) + 1.3)
    ax.set_aspect("equal")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def _graph_edge(ax, source, target, label: str, backward: bool) -> None:
    """One arrow from box to box, clipped at both boxes, its label beside it; a backward arrow
    bends away from the forward one. Drawn above the boxes so each box is placed first."""
    color, rad = ("red", 0.3) if backward else ("black", 0.0)
    ax.annotate("", xy=target.get_position(), xytext=source.get_position(), zorder=3,
                arrowprops={"arrowstyle": "-|>", "color": color, "lw": 1.2,
                            "ls": "--" if backward else "-", "mutation_scale": 14,
                            "patchA": source.get_bbox_patch(), "patchB": target.get_bbox_patch(),
                            "connectionstyle": f"arc3,rad={rad}"})
    (x0, y0), (x1, y1) = source.get_position(), target.get_position()
    dx, dy = x1 - x0, y1 - y0
    norm = max((dx * dx + dy * dy) ** 0.5, 1e-9)
    # arc3's curve passes its chord's midpoint offset by rad/2 * (dy, -dx): a backward label
    # sits just beyond that, a forward label just off the middle of its line, on the other side
    at, shift = (0.5, rad / 2 + 0.28 / norm) if backward else (0.5, -0.22 / norm)
    ax.text(x0 + at * dx + shift * dy, y0 + at * dy - shift * dx, label, color=color,
            ha="center", va="center", fontsize=8, zorder=4,
            bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.85})


def graph_png(walk, params, title: str = "", dtype="float32", lang: str | None = None) -> bytes:
    """:func:`graph_figure` as PNG bytes, its words in ``lang`` where a font can draw them."""
    drawn = _lang_for_picture(lang)
    with _font_context(drawn):
        return _drawn(graph_figure(walk, params, title, dtype, drawn), lang, drawn)
