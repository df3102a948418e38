"""A whole run from its :class:`~lec4_jax.tool.settings.Settings`: training, summary, and the replay
that recovers a divergence's history.

:func:`run` is what ``scripts/train.py`` and the notebooks call::

    import lec4_jax as lj
    r = lj.run(lj.Settings(), *lj.lecture_data())
    r.final_params, r.predict_after, r.diverged_at
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from lec4_jax import model as model_lib
from lec4_jax.tool import training
from lec4_jax.tool.data import check_array
from lec4_jax.tool.settings import Settings


class Run(NamedTuple):
    """A finished run, with what the report needs.

    When the run diverged, ``final_params`` are the last ones before the first non-finite step;
    when every step was finite and only the update of the last one was not, they are that update's
    result, as it came.
    ``loss_before`` and ``loss_after`` are mean losses over the data at the initial and final
    parameters. ``settings`` is the record the run was made from.
    """

    settings: Settings
    num_samples: int
    history: training.History
    diverged_at: int | None
    final_params: Any
    predict_before: Any
    predict_after: Any
    loss_before: float
    loss_after: float

    @property
    def model(self) -> model_lib.Model:
        return self.settings.model


PROGRESS_STEPS = 200_000_000  # about 2 s of per-sample SGD on a CPU core: report beyond it


@functools.partial(jax.jit, static_argnames=training.STATIC)
def _run_compiled(p0, x, y, learning_rate, predict_x, *, epochs, rule, keep_history,
                  progress=None):
    """The whole run and its summary in one compiled program: one compile per process."""
    h = training.history(p0, x, y, learning_rate, epochs=epochs, rule=rule,
                         keep_history=keep_history, progress=progress)
    return h, *_summary(h, p0, x, y, predict_x, rule.model)


def _summary(h, p0, x, y, predict_x, m):
    """The final parameters (those before the first non-finite step, when there is one and the
    history holds it), the predictions before and after, and the mean losses."""
    final = h.final_params
    if h.params is not None:
        n_steps = len(h.loss)
        use = (h.first_bad >= 0) & (h.first_bad < n_steps)
        # equivalent mutant (NumberReplacer-1): the clipped index is used only where first_bad
        # is in range, and a gather past either end reads the end.
        at_bad = jax.tree.map(lambda leaf: leaf[jnp.clip(h.first_bad, 0, n_steps - 1)], h.params)
        final = jax.tree.map(lambda a, b: jnp.where(use, a, b), at_bad, final)
    return (final, m.predict(p0, predict_x), m.predict(final, predict_x),
            training.mean_loss(p0, x, y, m), training.mean_loss(final, x, y, m))


def run(settings: Settings, x, y, progress=None) -> Run:
    """Trains as ``settings`` say, on the host CPU, and predicts at ``settings.predict_x``.

    ``progress(epoch, epochs)``, if given, is called from inside the compiled scan (a host
    callback) about 20 times during a run of more than :data:`PROGRESS_STEPS` steps; shorter
    runs compile without it.

    ``x`` and ``y`` are cast to the compute dtype first. The result holds NumPy values. A run
    that diverges without history is replayed with its history up to the divergence, so the
    report can say what went non-finite.
    """
    s, dtype = settings, settings.dtype
    host = (check_array(x, dtype, "x"), check_array(y, dtype, "y"), dtype.type(s.learning_rate),
            dtype.type(s.predict_x), {k: dtype.type(v) for k, v in s.init.items()})
    x, y, lr, px, p0 = jax.device_put(host, training.sequential_device())
    n = len(x)
    rule = training.Rule.of(s.model, s.grad, s.optimizer)

    report = progress if progress is not None and s.epochs * n > PROGRESS_STEPS else None

    def go(epochs, keep_history):
        if s.loop == "scan":
            return _run_compiled(p0, x, y, lr, px, epochs=epochs, rule=rule,
                                 keep_history=keep_history, progress=report)
        h = training.history(p0, x, y, lr, epochs=epochs, rule=rule, keep_history=keep_history,
                             python=True)
        return h, *jax.jit(_summary, static_argnames="m")(h, p0, x, y, px, s.model)

    h, final, before, after, loss_before, loss_after = jax.device_get(go(s.epochs,
                                                                         s.keep_history))
    bad = training.diverged_at(h)
    if bad is not None and h.loss is None:
        h, final, before, after, loss_before, loss_after = jax.device_get(
            go(min(s.epochs, bad // n + 1), True))
    return Run(s, n, h, bad, final, before, after, float(loss_before), float(loss_after))
