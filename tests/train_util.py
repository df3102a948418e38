"""A run's :class:`~lec4_jax.tool.training.History` for the tests, by the path the scripts run.

``runs.run`` (what ``train.py`` and the notebooks call) trains through
:func:`lec4_jax.tool.training.history`, compiled whole (``loop="scan"``) or driven step by step
(``loop="python"``). The tests call that same function here, with the arguments named as they
need them (initial parameters, arrays in any dtype, a device), rather than through a second
compiled entry in the library that nothing else runs.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from lec4_jax import model as model_lib
from lec4_jax.tool import training

_compiled = jax.jit(training.history, static_argnames=training.STATIC)


@functools.wraps(training.history)
def train(params, x, y, learning_rate, *, epochs: int,
          model: model_lib.Model | str = model_lib.LECTURE, grad: str = "autodiff",
          optimizer: str = "sgd", loop: str = "scan", keep_history: bool = True,
          device=None) -> training.History:
    """Trains per sample, in order, for ``epochs`` epochs: ``training.history`` compiled whole
    (``loop="scan"``, as ``runs.run`` does) or jitted step by step (``loop="python"``)."""
    x, y = jnp.asarray(x), jnp.asarray(y)
    learning_rate = jnp.asarray(learning_rate, x.dtype)
    params = jax.tree.map(lambda p: jnp.asarray(p, x.dtype), params)
    if device is not None:
        params, x, y, learning_rate = jax.device_put((params, x, y, learning_rate), device)
    if loop not in training.LOOPS:
        raise ValueError(f"unknown loop {loop!r}; choose from {training.LOOPS}")
    options = dict(epochs=epochs, rule=training.Rule.of(model, grad, optimizer),
                   keep_history=keep_history)
    if loop == "python":
        return training.history(params, x, y, learning_rate, python=True, **options)
    return _compiled(params, x, y, learning_rate, **options)
