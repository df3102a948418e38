"""Per-sample SGD on the lecture's model: one jitted update step, and the whole run.

The run visits the samples in order, epoch after epoch, exactly as the lecture's PyTorch loop
does. :func:`train` compiles it as one :func:`jax.lax.scan` (``loop="scan"``) or drives the same
jitted :func:`update` from Python (``loop="python"``); both return the same :class:`History`.

The learning rate is an argument of every function, never a closure constant, so ``jax.vmap`` can
batch it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lec4_jax import grads as grads_lib

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
    """A run, one row per step, in order.

    ``params`` is the value *before* the step; ``loss`` is the loss before the update, at those
    params; ``grads`` the gradient the step applied. Those per-step fields (and ``epoch``, ``x``,
    ``y``) are None when the run kept no history. ``epoch_loss`` (each epoch's last sample's
    loss, as the lecture prints it) and ``first_bad`` (the first step whose loss or parameters
    are not finite; the step count if only the final parameters are; -1 if none) are always
    there.
    """

    epoch: Any
    x: Any
    y: Any
    params: Any
    loss: Any
    grads: Any
    epoch_loss: Any
    first_bad: Any
    final_params: Any


def make_optimizer(name: str, learning_rate) -> optax.GradientTransformation:
    """An optax optimizer by name. ``sgd`` applies the lecture's ``w - lr * grad``."""
    try:
        return OPTIMIZERS[name](learning_rate)
    except KeyError:
        raise ValueError(f"unknown optimizer {name!r}; choose from {sorted(OPTIMIZERS)}") from None


def step(params, opt_state, x, y, learning_rate, *, model: str = "linear",
         grad: str = "autodiff", optimizer: str = "sgd", fence: bool = True):
    """One per-sample update.

    Returns ``(new_params, new_opt_state, loss, grads)``, where ``loss`` and ``grads`` are taken
    at ``params``, before the update.

    With ``fence`` (the default), optimization barriers keep XLA from moving work across the
    step's edge (hoisting what depends only on the learning rate out of the scan, say), so the
    step compiles to the same arithmetic inside the scan as on its own: the two loops give
    identical histories. The sweep drops the fence so XLA can fuse several steps into one
    kernel; hoisting an invariant computes the same value, so for SGD the result stays bit
    for bit that of a fenced run (tested).
    """
    if fence:
        params, opt_state, x, y, learning_rate = jax.lax.optimization_barrier(
            (params, opt_state, x, y, learning_rate))
    loss, g = grads_lib.loss_and_grad(model, grad)(params, x, y)
    updates, opt_state = make_optimizer(optimizer, learning_rate).update(g, opt_state, params)
    out = (optax.apply_updates(params, updates), opt_state, loss, g)
    return jax.lax.optimization_barrier(out) if fence else out


update = jax.jit(step, static_argnames=("model", "grad", "optimizer", "fence"))


def init_state(params, learning_rate, optimizer: str = "sgd"):
    return make_optimizer(optimizer, learning_rate).init(params)


def _finite(params, loss=0.0):
    return jnp.isfinite(loss) & jnp.all(jnp.array([jnp.all(jnp.isfinite(p))
                                                   for p in jax.tree.leaves(params)]))


def _train_scan(params, x, y, learning_rate, *, epochs, model, grad, optimizer, keep_history,
                progress=None):
    def sample(carry, xy):
        params, opt_state, t, first_bad, _ = carry
        new_params, opt_state, loss, g = step(params, opt_state, *xy, learning_rate, model=model,
                                              grad=grad, optimizer=optimizer)
        first_bad = jnp.where((first_bad < 0) & ~_finite(params, loss), t, first_bad)
        carry = (new_params, opt_state, t + 1, first_bad, loss)
        return carry, ((params, loss, g) if keep_history else None)

    def epoch(carry, _):
        if progress is not None:  # a host callback every 1/20 of the run (README, "Progress")
            e, every = carry[2] // x.shape[0], max(1, epochs // 20)
            jax.lax.cond(e % every == 0, lambda: jax.debug.callback(progress, e, epochs),
                         lambda: None)
        carry, per_step = jax.lax.scan(sample, carry, (x, y))
        return carry, (carry[-1], per_step)  # the epoch's last loss, as the lecture prints

    n_steps = jnp.int32(epochs * x.shape[0])
    carry = (params, init_state(params, learning_rate, optimizer), jnp.int32(0), jnp.int32(-1),
             jnp.zeros((), x.dtype))
    (final, _, _, first_bad, _), (epoch_loss, per_step) = jax.lax.scan(epoch, carry, None,
                                                                       length=epochs)
    first_bad = jnp.where((first_bad < 0) & ~_finite(final), n_steps, first_bad)
    return final, epoch_loss, first_bad, per_step


def sequential_device():
    """Where per-sample training runs: the host CPU, even on a GPU machine.

    A step here is a few scalar flops, so a GPU spends it all on one kernel launch per step
    (or per loop iteration); the host CPU runs the same scan far faster (see README).
    """
    try:
        return jax.devices("cpu")[0]
    except RuntimeError:  # JAX pinned to other platforms only
        return jax.devices()[0]


def train(params, x, y, learning_rate, *, epochs: int, model: str = "linear",
          grad: str = "autodiff", optimizer: str = "sgd", loop: str = "scan",
          keep_history: bool = True, device=None) -> History:
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
      keep_history: with ``False`` the per-step fields are None (a long run then needs no
        memory for them).
      device: where to run (default: JAX's default device); see :func:`sequential_device`.

    Returns:
      The :class:`History` of the run.
    """
    x, y = jnp.asarray(x), jnp.asarray(y)
    learning_rate = jnp.asarray(learning_rate, x.dtype)
    params = jax.tree.map(lambda p: jnp.asarray(p, x.dtype), params)
    if device is not None:
        params, x, y, learning_rate = jax.device_put((params, x, y, learning_rate), device)
    if loop == "python":
        return _train_python(params, x, y, learning_rate, epochs, model, grad, optimizer)
    if loop != "scan":
        raise ValueError(f"unknown loop {loop!r}; choose from {LOOPS}")
    return _train_compiled(params, x, y, learning_rate, epochs=epochs, model=model, grad=grad,
                           optimizer=optimizer, keep_history=keep_history)


STATIC = ("epochs", "model", "grad", "optimizer", "keep_history", "progress")  # of history()


def history(params, x, y, learning_rate, *, epochs, model, grad, optimizer, keep_history,
            progress=None):
    final, epoch_loss, first_bad, per_step = _train_scan(
        params, x, y, learning_rate, epochs=epochs, model=model, grad=grad, optimizer=optimizer,
        keep_history=keep_history, progress=progress)
    if not keep_history:
        return History(None, None, None, None, None, None, epoch_loss, first_bad, final)
    flat = jax.tree.map(lambda a: a.reshape((-1,) + a.shape[2:]), per_step)
    epoch_index = jnp.repeat(jnp.arange(epochs, dtype=jnp.int32), x.shape[0])
    return History(epoch_index, jnp.tile(x, epochs), jnp.tile(y, epochs), *flat, epoch_loss,
                   first_bad, final)


_train_compiled = jax.jit(history, static_argnames=STATIC)


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
    p, loss, g = jax.tree.map(lambda *leaves: jnp.stack(leaves), *rows)
    epoch_index = jnp.repeat(jnp.arange(epochs, dtype=jnp.int32), len(xs))
    bad = np.flatnonzero(~np.asarray(jax.vmap(_finite)(p, loss)))
    first_bad = bad[0] if bad.size else (-1 if _finite(params) else len(rows))
    return History(epoch_index, jnp.tile(x, epochs), jnp.tile(y, epochs), p, loss, g,
                   loss[len(xs) - 1::len(xs)], jnp.int32(first_bad), params)


def diverged_at(history: History) -> int | None:
    """The first step whose loss or parameters are not finite, or None.

    If every step is finite but the final parameters are not, that is the number of steps.
    """
    first_bad = int(history.first_bad)
    return None if first_bad < 0 else first_bad


def mean_loss(params, x, y, loss_fn):
    """The mean loss over the dataset at ``params`` (vmapped over the samples)."""
    return jnp.mean(jax.vmap(loss_fn, in_axes=(None, 0, 0))(params, x, y))
