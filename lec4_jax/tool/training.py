"""Per-sample SGD on the lecture's model: one jitted update step, and the whole run.

The run visits the samples in order, epoch after epoch, exactly as the lecture's PyTorch loop
does. That loop is written once, :func:`scan_samples`; :func:`history` returns it as a
:class:`History`, compiled as one :func:`jax.lax.scan` (``loop="scan"``: ``runs.run`` compiles
the run and its summary as one program) or with the same body, jitted, driven step by step from
Python (``loop="python"``); both give the same history. The sweep runs it too, vmapped.

The learning rate is an argument of every function, never a closure constant, so ``jax.vmap`` can
batch it.
"""

from __future__ import annotations

import dataclasses
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


def _optimizer_factory(name: str) -> Callable[[Any], optax.GradientTransformation]:
    try:
        return OPTIMIZERS[name]
    except KeyError:
        raise ValueError(f"unknown optimizer {name!r}; choose from {sorted(OPTIMIZERS)}") from None


@dataclasses.dataclass(frozen=True)
class Rule:
    """How a step learns, resolved once from names at the library's entry points: the model,
    its ``(params, x, y) -> (loss, grads)`` function, and the optax optimizer's factory (a
    learning rate in, a transformation out; the rate stays an argument, so it can be vmapped).

    A rule is hashable and :meth:`of` gives the same object for the same names, so it travels
    as one static argument of the jitted loops: no name lookups inside traced code.
    """

    model: model_lib.Model
    loss_and_grad: Callable
    optimizer: Callable[[Any], optax.GradientTransformation]

    @staticmethod
    @functools.cache
    def of(model: model_lib.Model | str = model_lib.LECTURE, grad: str = "autodiff",
           optimizer: str = "sgd") -> Rule:
        factory = _optimizer_factory(optimizer)
        m = model_lib.get(model)
        return Rule(m, grads_lib.loss_and_grad(m, grad), factory)


def step(params, opt_state, x, y, learning_rate, *, rule: Rule = None, fence: bool = True):
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
    rule = rule or Rule.of()
    loss, g = rule.loss_and_grad(params, x, y)
    updates, opt_state = rule.optimizer(learning_rate).update(g, opt_state, params)
    out = (optax.apply_updates(params, updates), opt_state, loss, g)
    return jax.lax.optimization_barrier(out) if fence else out


def init_state(params, learning_rate, rule: Rule):
    return rule.optimizer(learning_rate).init(params)


# equivalent mutant (NumberReplacer): the default only stands for "no loss to check"; any
# finite number does.
def _finite(params, loss=0.0):
    return jnp.isfinite(loss) & jnp.all(jnp.array([jnp.all(jnp.isfinite(p))
                                                   for p in jax.tree.leaves(params)]))


class Carry(NamedTuple):
    """What the per-sample loop carries from step to step."""

    params: Any
    opt_state: Any
    t: Any  # steps taken
    first_bad: Any  # the first step whose loss or parameters were not finite, or -1
    loss: Any  # the last step's loss (the epoch's, once the epoch is done)


def _sample(carry: Carry, xy, learning_rate, *, rule, fence, keep_history):
    """One step of the loop: the body that both loops (compiled and Python) run."""
    new_params, opt_state, loss, g = step(carry.params, carry.opt_state, *xy, learning_rate,
                                          rule=rule, fence=fence)
    first_bad = jnp.where((carry.first_bad < 0) & ~_finite(carry.params, loss), carry.t,
                          carry.first_bad)
    out = Carry(new_params, opt_state, carry.t + 1, first_bad, loss)
    return out, ((carry.params, loss, g) if keep_history else None)


_LOOP_STATIC = ("rule", "fence", "keep_history")
_sample_jit = jax.jit(_sample, static_argnames=_LOOP_STATIC)


def _python_loop(step_fn, carry, x, y, epochs: int, keep_history: bool, progress, every: int):
    """The per-sample loop driven from Python, ``step_fn`` (jitted) once per step. Each step's
    record goes straight into NumPy buffers shaped ``(epochs, samples, ...)`` (each epoch's loss
    too), so a step costs what the compiled loop's history costs: no array object kept per step
    or epoch, and no ``jnp.stack`` of thousands of operands (a program that compiles in time
    and memory growing faster than their number). Returns ``(carry, epoch_loss, per_step or
    None)``."""
    xs, epoch_loss, buffers = (np.asarray(x), np.asarray(y)), np.empty(epochs, x.dtype), None
    for e in range(epochs):
        if progress is not None and e % every == 0:
            progress(e, epochs)
        for i, row in enumerate(zip(*xs)):
            carry, out = step_fn(carry, row)
            if keep_history:
                if buffers is None:
                    buffers = jax.tree.map(
                        lambda a: np.empty((epochs, len(xs[0])) + a.shape, a.dtype), out)
                jax.tree.map(lambda buf, a, e=e, i=i: buf.__setitem__((e, i), a), buffers, out)
        epoch_loss[e] = carry.loss
    return carry, epoch_loss, buffers


def scan_samples(params, x, y, learning_rate, *, epochs: int, rule: Rule,
                 keep_history: bool = False, fence: bool = True, unroll: int = 1, progress=None,
                 python: bool = False):
    """The per-sample loop, written once: epoch after epoch, the samples in order.

    :func:`history` runs it fenced (the step compiles alike in the loop and alone); the sweep
    runs it vmapped over models, unfenced and unrolled (``unroll`` steps fused into each loop
    iteration; several short epochs per iteration when an epoch has fewer samples). With
    ``python`` the same body is jitted and driven step by step from Python.

    Returns ``(final_params, epoch_loss, first_bad, per_step)``: ``epoch_loss`` one loss per
    epoch (its last sample's, as the lecture prints it), ``first_bad`` as in :class:`History`,
    and ``per_step`` the ``(params, loss, grads)`` before each step, shaped ``(epochs,
    samples, ...)``, when ``keep_history`` (else None).
    """
    n = len(x)
    body = functools.partial(_sample_jit if python else _sample, learning_rate=learning_rate,
                             rule=rule, fence=fence, keep_history=keep_history)
    every = max(1, epochs // 20)  # progress: a report every 1/20 of the run (docs/contract.md)
    carry = Carry(params, init_state(params, learning_rate, rule), jnp.int32(0),
                  jnp.int32(-1), jnp.zeros((), x.dtype))
    if python:
        carry, epoch_loss, per_step = _python_loop(body, carry, x, y, epochs, keep_history,
                                                   progress, every)
    else:
        def epoch(carry, _):
            carry, out = jax.lax.scan(body, carry, (x, y), unroll=min(unroll, n))
            return carry, (carry.loss, out)

        def run_epochs(carry, count):
            return jax.lax.scan(epoch, carry, None, length=count, unroll=max(1, unroll // n))

        if progress is None:
            carry, (epoch_loss, per_step) = run_epochs(carry, epochs)
        else:
            # Blocks of `every` epochs, one host callback before each: nothing is added inside
            # the epoch loop (docs/contract.md, "Progress"; bench row j). Each epoch writes its
            # record straight into the run's buffers, so blocks add no copy.
            def epoch_at(e, state):
                carry, buffers = state
                carry, record = epoch(carry, None)
                return carry, jax.tree.map(
                    lambda buf, v: jax.lax.dynamic_update_index_in_dim(buf, v, e, 0), buffers,
                    record)

            def block(b, state):
                jax.debug.callback(progress, state[0].t // n, epochs)
                return jax.lax.fori_loop(b * every, (b + 1) * every, epoch_at, state)

            shapes = jax.eval_shape(lambda c: epoch(c, None)[1], carry)
            buffers = jax.tree.map(lambda a: jnp.zeros((epochs,) + a.shape, a.dtype), shapes)
            blocks = epochs // every
            state = jax.lax.fori_loop(0, blocks, block, (carry, buffers))
            carry, (epoch_loss, per_step) = jax.lax.fori_loop(blocks * every, epochs, epoch_at,
                                                              state)
    first_bad = jnp.where((carry.first_bad < 0) & ~_finite(carry.params), jnp.int32(epochs * n),
                          carry.first_bad)
    return carry.params, epoch_loss, first_bad, per_step


def sequential_device():
    """Where per-sample training runs: the host CPU, even on a GPU machine.

    A step here is a few scalar flops, so a GPU spends it all on one kernel launch per step
    (or per loop iteration); the host CPU runs the same scan far faster (see README).
    """
    try:
        return jax.devices("cpu")[0]
    except RuntimeError:  # JAX pinned to other platforms only
        return jax.devices()[0]


STATIC = ("epochs", "rule", "keep_history", "progress")  # of history()


def history(params, x, y, learning_rate, *, epochs, rule, keep_history, progress=None,
            python=False) -> History:
    """:func:`scan_samples` (fenced), its result as a :class:`History` (one row per step)."""
    final, epoch_loss, first_bad, per_step = scan_samples(
        params, x, y, learning_rate, epochs=epochs, rule=rule, keep_history=keep_history,
        progress=progress, python=python)
    if not keep_history:
        return History(None, None, None, None, None, None, epoch_loss, first_bad, final)
    # equivalent mutant (NumberReplacer+1): every parameter is a scalar, so a.shape is
    # (epochs, samples) and the shape after it is () from index 2 or 3.
    flat = jax.tree.map(lambda a: a.reshape((-1,) + a.shape[2:]), per_step)
    epoch_index = jnp.repeat(jnp.arange(epochs, dtype=jnp.int32), len(x))
    return History(epoch_index, jnp.tile(x, epochs), jnp.tile(y, epochs), *flat, epoch_loss,
                   first_bad, final)


def diverged_at(history: History) -> int | None:
    """The first step whose loss or parameters are not finite, or None.

    If every step is finite but the final parameters are not, that is the number of steps.
    """
    first_bad = int(history.first_bad)
    return None if first_bad < 0 else first_bad


def mean_loss(params, x, y, model: model_lib.Model = model_lib.LECTURE, *,
              in_order: bool = False, unrolled_up_to: int = 32):
    """The mean loss of ``model`` over the data at ``params``, written once: for a run's summary
    and, vmapped over models, for each model of a sweep.

    Small data (up to ``unrolled_up_to`` samples, the lecture's three) are summed sample by
    sample, unrolled in Python: vmapped over a sweep's models XLA fuses that into the one pass
    over the models. Longer data go to XLA's reduction, which adds in vector lanes and pairs,
    so the mean stays accurate to the dtype: a float32 sum taken one sample after another
    drifts (over 1e7 synthetic samples it came out 1% low), and is 4x slower there.

    ``in_order`` sums long data one sample after another instead (in a scan), each step one
    pass over every model: the form for a sweep, vmapped over many models, where XLA's
    reduction per model ran 14x slower (1e5 models, 1,000 samples). Its float32 drift grows
    with the samples (on the synthetic data: 6e-7 relative at 1e4 samples, 4e-4 at 1e6, 1% at
    1e7; the reduction's stays below 1e-7).
    """
    loss, n = model_lib.get(model).loss, len(x)
    if n <= unrolled_up_to:
        return sum(loss(params, x[i], y[i]) for i in range(n)) / n
    if in_order:
        zero = jnp.zeros_like(loss(params, x[0], y[0]))
        total, _ = jax.lax.scan(lambda t, xy: (t + loss(params, *xy), None), zero, (x, y),
                                # equivalent mutant (NumberReplacer): unrolling copies the
                                # body, the additions keep their order; only speed changes.
                                unroll=8)
        return total / n
    return jnp.sum(jax.vmap(loss, in_axes=(None, 0, 0))(params, x, y)) / n
