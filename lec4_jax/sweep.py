"""Learning-rate sweeps: a grid of (learning rate, w_init) models trained at once.

Every model is trained exactly as ``scripts/train.py`` trains it, by the same
:func:`lec4_jax.training.step`, so each result equals a lone run bit for bit on the CPU. The
models are ``jax.vmap``-ed, processed in chunks that stay in cache (``jax.lax.map`` over chunks),
and sharded across every visible device along the models axis with ``jax.sharding``: a 1-D
:class:`~jax.sharding.Mesh` and a :class:`~jax.sharding.NamedSharding`. After
``jax.distributed.initialize()``, ``jax.devices()`` spans every host and the same code runs
multi-host: each process supplies its own devices' shards of the grid.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from lec4_jax import model, training

DEFAULT_CHUNK = 1 << 20  # models per chunk and device: w, lr and state stay in cache
DEFAULT_UNROLL = 2  # steps per loop iteration: halves the loop overhead, keeps kernels small


class SweepResult:
    """One entry per config, in grid order (learning rate major, then w_init).

    ``learning_rate`` and ``w_init`` are built from the grid's axes on first use; iterating
    gives the five columns in CSV order.
    """

    _fields = ("learning_rate", "w_init", "final_w", "final_loss", "diverged")

    def __init__(self, lrs, w_inits, final_w, final_loss, diverged):
        self.lrs, self.w_inits = lrs, w_inits
        self.final_w = final_w
        self.final_loss = final_loss  # the mean loss over the data at final_w
        self.diverged = diverged  # final_loss not finite, or above the mean loss at w_init

    @functools.cached_property
    def _grid(self) -> tuple[np.ndarray, np.ndarray]:
        return grid(self.lrs, self.w_inits)

    @property
    def learning_rate(self) -> np.ndarray:
        return self._grid[0]

    @property
    def w_init(self) -> np.ndarray:
        return self._grid[1]

    def __iter__(self):
        return (getattr(self, name) for name in self._fields)


def learning_rates(lr_min: float, lr_max: float, num: int, spacing: str = "log") -> np.ndarray:
    """``num`` learning rates from ``lr_min`` to ``lr_max``, log- or linearly spaced."""
    if spacing == "log":
        return np.geomspace(lr_min, lr_max, num)
    if spacing == "linear":
        return np.linspace(lr_min, lr_max, num)
    raise ValueError(f"unknown spacing {spacing!r}; choose log or linear")


def grid(lrs, w_inits) -> tuple[np.ndarray, np.ndarray]:
    """The outer product, flattened, learning rate major: every rate with every w_init."""
    lrs, w_inits = np.asarray(lrs), np.asarray(w_inits)
    return np.repeat(lrs, len(w_inits)), np.tile(w_inits, len(lrs))


def _mean_loss(w, x, y, unrolled_up_to: int = 32):
    """The mean loss over the data at ``w`` (any shape).

    Summed sample by sample, so no models-by-samples matrix is ever built: in Python for small
    data (XLA then fuses it all into one pass over the models), else in a scan.
    """
    n = x.shape[0]
    if n <= unrolled_up_to:
        return sum(model.loss(w, x[i], y[i]) for i in range(n)) / n
    total, _ = jax.lax.scan(lambda t, xy: (t + model.loss(w, *xy), None), jnp.zeros_like(w),
                            (x, y), unroll=8)
    return total / n


def _train_one(w, lr, x, y, *, epochs, grad, optimizer, unroll):
    """One model, per-sample, in order: the body of :func:`lec4_jax.training.train`."""
    params = {"w": w}
    xs = (jnp.tile(x, epochs), jnp.tile(y, epochs))

    def body(carry, xy):
        p, state = carry
        p, state, _, _ = training.step(p, state, *xy, lr, grad=grad, optimizer=optimizer)
        return (p, state), None

    carry = (params, training.init_state(params, lr, optimizer))
    (final, _), _ = jax.lax.scan(body, carry, xs, unroll=unroll)
    return final["w"], _mean_loss(final["w"], x, y)


@functools.partial(jax.jit, static_argnames=("size", "sharding", "epochs", "grad", "optimizer",
                                             "unroll"))
def _train_chunk(lrs, w_inits, x, y, start, *, size, sharding, epochs, grad, optimizer, unroll):
    """Trains configs ``start .. start + size - 1`` of the grid, vmapped, sharded by ``sharding``.

    Config ``i`` is (``lrs[i // len(w_inits)]``, ``w_inits[i % len(w_inits)]``). The configs
    are made on the device from the grid's axes: nothing of the grid's size leaves the host.
    Returns ``final_w``, ``final_loss`` and ``diverged`` (as 0 or 1) stacked in one array: one
    output buffer is measurably cheaper than three for small chunks.
    """
    index = jax.lax.with_sharding_constraint(start + jnp.arange(size, dtype=jnp.int32), sharding)
    index = jnp.minimum(index, lrs.shape[0] * w_inits.shape[0] - 1)  # padding: cut off later
    one = functools.partial(_train_one, epochs=epochs, grad=grad, optimizer=optimizer,
                            unroll=unroll)
    lr, which_w0 = lrs[index // w_inits.shape[0]], index % w_inits.shape[0]
    w, loss = jax.vmap(one, in_axes=(0, 0, None, None))(w_inits[which_w0], lr, x, y)
    loss0 = _mean_loss(w_inits, x, y)[which_w0]  # one per w_init, not per model
    diverged = ~jnp.isfinite(loss) | (loss > loss0)
    return jnp.stack([w, loss, diverged.astype(w.dtype)])


def train_grid(lrs, w_inits, x, y, *, epochs: int, grad: str = "autodiff",
               optimizer: str = "sgd", dtype=jnp.float32, chunk: int | None = None,
               unroll: int = DEFAULT_UNROLL, devices=None) -> SweepResult:
    """Trains every (learning rate, w_init) pair on ``x``, ``y``, sharded over ``devices``.

    The grid is trained in chunks of ``chunk`` models per device, one jitted call each (the
    calls are dispatched asynchronously, so they queue back to back): a chunk's parameters and
    optimizer state stay in cache while it runs every step.

    Args:
      lrs, w_inits: the grid's axes; the grid is their outer product (see :func:`grid`).
      x, y: the data; every model sees the samples in order, epoch after epoch.
      chunk: models per chunk and device (default :data:`DEFAULT_CHUNK`).
      devices: the devices to shard over (default: all of ``jax.devices()``).
    """
    lrs, w_inits = (np.asarray(a, np.float64).astype(dtype) for a in (lrs, w_inits))
    n = len(lrs) * len(w_inits)
    devices = list(jax.devices() if devices is None else devices)
    size = min(chunk or DEFAULT_CHUNK, -(-n // len(devices))) * len(devices)
    sharding = NamedSharding(Mesh(np.array(devices), ("models",)), P("models"))
    # the learning rates go to the device once, not once per chunk; the rest is small
    args = (jnp.asarray(lrs), w_inits, np.asarray(x, dtype), np.asarray(y, dtype))
    chunks = [_train_chunk(*args, start, size=size, sharding=sharding, epochs=epochs, grad=grad,
                           optimizer=optimizer, unroll=unroll) for start in range(0, n, size)]
    if jax.process_count() > 1:
        chunks = [multihost_utils.process_allgather(c, tiled=True) for c in chunks]
    stacked = np.concatenate([np.asarray(c) for c in chunks], axis=1) if len(chunks) > 1 \
        else np.asarray(chunks[0])
    columns = (stacked[0, :n], stacked[1, :n], stacked[2, :n] > 0.5)
    return SweepResult(lrs, w_inits, *columns)


def to_csv(result: SweepResult) -> str:
    """``lr,w_init,final_w,final_loss,diverged`` rows; floats exact (shortest round trip)."""
    from lec4_jax.report import SWEEP_CSV_HEADER, sweep_csv_rows

    return "\n".join([SWEEP_CSV_HEADER, *sweep_csv_rows(result)]) + "\n"
