"""Per-sample SGD on the lecture's model: one jitted update step, and the whole run.

The run visits the samples in order, epoch after epoch, exactly as the lecture's PyTorch loop
does. :func:`train` compiles it as one :func:`jax.lax.scan` (``loop="scan"``) or drives the same
jitted :func:`update` from Python (``loop="python"``); both return the same :class:`History`.

The learning rate is an argument of every function, never a closure constant, so ``jax.vmap`` can
batch it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lec4_jax import grads as grads_lib
from lec4_jax import model as model_lib

OPTIMIZERS: dict[str, Callable[[Any], optax.GradientTransformation]] = {
    "sgd": optax.sgd,
    "momentum": lambda lr: optax.sgd(lr, momentum=0.9),
    "nesterov": lambda lr: optax.sgd(lr, momentum=0.9, nesterov=True),
    "adam": optax.adam,
    "adamw": optax.adamw,
    "rmsprop": optax.rmsprop,
    "adagrad": optax.adagrad,
    "adabelief": optax.adabelief,
    "lion": optax.lion,
}
LOOPS = ("scan", "python")


class History(NamedTuple):
    """One row per step, in order. ``params`` is the value *before* the step; ``loss`` is the
    loss before the update, at those params; ``grads`` the gradient the step applied."""

    epoch: Any
    x: Any
    y: Any
    params: Any
    loss: Any
    grads: Any
    final_params: Any


def make_optimizer(name: str, learning_rate) -> optax.GradientTransformation:
    """An optax optimizer by name. ``sgd`` applies the lecture's ``w - lr * grad``."""
    try:
        return OPTIMIZERS[name](learning_rate)
    except KeyError:
        raise ValueError(f"unknown optimizer {name!r}; choose from {sorted(OPTIMIZERS)}") from None


def step(params, opt_state, x, y, learning_rate, *, model: str = "linear",
         grad: str = "autodiff", optimizer: str = "sgd"):
    """One per-sample update.

    Returns ``(new_params, new_opt_state, loss, grads)``, where ``loss`` and ``grads`` are taken
    at ``params``, before the update.
    """
    # The barrier keeps XLA from moving work across the step's edge (hoisting what depends only
    # on the learning rate out of the scan, say), so the step compiles to the same arithmetic
    # inside the scan as on its own: the two loops give identical histories.
    params, opt_state, x, y, learning_rate = jax.lax.optimization_barrier(
        (params, opt_state, x, y, learning_rate))
    loss, g = grads_lib.loss_and_grad(model, grad)(params, x, y)
    updates, opt_state = make_optimizer(optimizer, learning_rate).update(g, opt_state, params)
    return jax.lax.optimization_barrier((optax.apply_updates(params, updates), opt_state, loss, g))


update = jax.jit(step, static_argnames=("model", "grad", "optimizer"))


def init_state(params, learning_rate, optimizer: str = "sgd"):
    return make_optimizer(optimizer, learning_rate).init(params)


@functools.partial(jax.jit,
                   static_argnames=("epochs", "model", "grad", "optimizer", "keep_history"))
def _train_scan(params, x, y, learning_rate, *, epochs, model, grad, optimizer, keep_history):
    def sample(carry, xy):
        params, opt_state = carry
        new_params, opt_state, loss, g = step(params, opt_state, *xy, learning_rate, model=model,
                                              grad=grad, optimizer=optimizer)
        return (new_params, opt_state), ((params, loss, g) if keep_history else None)

    def epoch(carry, _):
        return jax.lax.scan(sample, carry, (x, y))

    carry = (params, init_state(params, learning_rate, optimizer))
    (final, _), per_step = jax.lax.scan(epoch, carry, None, length=epochs)
    return final, per_step


def train(params, x, y, learning_rate, *, epochs: int, model: str = "linear",
          grad: str = "autodiff", optimizer: str = "sgd", loop: str = "scan",
          keep_history: bool = True) -> History:
    """Trains per sample, in order, for ``epochs`` epochs.

    Args:
      params: the initial parameters, a dict such as ``{"w": 1.0}`` (see
        :data:`lec4_jax.model.MODELS`).
      x, y: 1-D arrays of samples, in the compute dtype.
      learning_rate: a scalar, traced (not baked in), so it can be vmapped.
      epochs: how many passes over the data.
      model: a name in :data:`lec4_jax.model.MODELS`.
      grad: one of :data:`lec4_jax.grads.METHODS`.
      optimizer: one of :data:`OPTIMIZERS`.
      loop: ``"scan"`` compiles the whole run as one ``lax.scan``; ``"python"`` calls the jitted
        :func:`update` once per step.
      keep_history: with ``False`` only ``final_params`` is filled (the other fields are None).

    Returns:
      The :class:`History` of the run.
    """
    x, y = jnp.asarray(x), jnp.asarray(y)
    learning_rate = jnp.asarray(learning_rate, x.dtype)
    params = jax.tree.map(lambda p: jnp.asarray(p, x.dtype), params)
    if loop == "python":
        return _train_python(params, x, y, learning_rate, epochs, model, grad, optimizer)
    if loop != "scan":
        raise ValueError(f"unknown loop {loop!r}; choose from {LOOPS}")
    final, per_step = _train_scan(params, x, y, learning_rate, epochs=epochs, model=model,
                                  grad=grad, optimizer=optimizer, keep_history=keep_history)
    if not keep_history:
        return History(None, None, None, None, None, None, final)
    flat = jax.tree.map(lambda a: a.reshape((-1,) + a.shape[2:]), per_step)
    n = x.shape[0]
    epoch_index = jnp.repeat(jnp.arange(epochs, dtype=jnp.int32), n)
    return History(epoch_index, jnp.tile(x, epochs), jnp.tile(y, epochs), *flat, final)


def _train_python(params, x, y, learning_rate, epochs, model, grad, optimizer) -> History:
    opt_state = init_state(params, learning_rate, optimizer)
    xs, ys = np.asarray(x), np.asarray(y)
    rows = []
    for _ in range(epochs):
        for xi, yi in zip(xs, ys):
            new_params, opt_state, loss, g = update(params, opt_state, xi, yi, learning_rate,
                                                    model=model, grad=grad, optimizer=optimizer)
            rows.append((params, loss, g))
            params = new_params
    stacked = jax.tree.map(lambda *leaves: jnp.stack(leaves), *rows)
    epoch_index = jnp.repeat(jnp.arange(epochs, dtype=jnp.int32), len(xs))
    return History(epoch_index, jnp.tile(x, epochs), jnp.tile(y, epochs), *stacked, params)


def diverged_at(history: History) -> int | None:
    """The first step whose loss or parameters are not finite, or None.

    If every step is finite but the final parameters are not, that is step ``len(history.loss)``.
    """
    finite = np.isfinite(np.asarray(history.loss))
    for leaf in jax.tree.leaves(history.params):
        finite &= np.isfinite(np.asarray(leaf)).reshape(len(finite), -1).all(axis=1)
    bad = np.flatnonzero(~finite)
    if bad.size:
        return int(bad[0])
    final_ok = all(np.isfinite(np.asarray(p)).all() for p in jax.tree.leaves(history.final_params))
    return None if final_ok else len(finite)


def mean_loss(params, x, y, loss_fn) -> float:
    """The mean loss over the dataset at ``params`` (vmapped over the samples)."""
    return float(jnp.mean(jax.vmap(loss_fn, in_axes=(None, 0, 0))(params, x, y)))



class Run(NamedTuple):
    """A finished run, with what the report needs.

    When the run diverged, ``final_params`` are the last ones before the first non-finite step.
    ``loss_before`` and ``loss_after`` are mean losses over the data at the initial and final
    parameters.
    """

    model: str
    history: History
    diverged_at: int | None
    final_params: Any
    predict_before: Any
    predict_after: Any
    loss_before: float
    loss_after: float


def run(params: dict, x, y, learning_rate: float, *, epochs: int, predict_x: float,
        model: str = "linear", dtype=jnp.float32, **train_kwargs) -> Run:
    """Trains ``model`` from ``params`` and predicts at ``predict_x`` before and after.

    ``x``, ``y`` and the scalars are cast to ``dtype`` first; ``train_kwargs`` go to :func:`train`.
    """
    m = model_lib.get(model)
    x, y = jnp.asarray(x, dtype), jnp.asarray(y, dtype)
    p0 = {k: jnp.asarray(params[k], dtype) for k in m.params}
    history = train(p0, x, y, jnp.asarray(learning_rate, dtype), epochs=epochs, model=model,
                    **train_kwargs)
    bad = diverged_at(history)
    final = history.final_params
    if bad is not None and bad < len(history.loss):
        final = jax.tree.map(lambda leaf: leaf[bad], history.params)
    px = jnp.asarray(predict_x, dtype)
    return Run(model, history, bad, final, m.predict(p0, px), m.predict(final, px),
               mean_loss(p0, x, y, m.loss), mean_loss(final, x, y, m.loss))
