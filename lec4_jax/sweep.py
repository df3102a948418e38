"""Learning-rate sweeps: a grid of (learning rate, w_init) models trained at once.

Every model is trained exactly as ``scripts/train.py`` trains it, by the same
:func:`lec4_jax.training.step`, so each result equals a lone run bit for bit on the CPU. The
models are ``jax.vmap``-ed and trained in chunks that stay in cache, one jitted call per chunk,
sharded across every visible device along the models axis with ``jax.sharding``: a 1-D
:class:`~jax.sharding.Mesh` and a :class:`~jax.sharding.NamedSharding`. After
``jax.distributed.initialize()``, ``jax.devices()`` spans every host and the same code runs
multi-host: each process supplies its own devices' shards of the grid.

Speed (README: "How it scales" and "Benchmarks"): the step runs unfenced
(``training.step(fence=False)``), so XLA fuses :data:`DEFAULT_UNROLL` steps into each loop
iteration, one pass over the chunk's models for several steps; a finished chunk is copied out
while the next one trains, so memory is reused rather than freshly mapped for every chunk.
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

# Models per chunk and device. On the CPU a chunk's parameters, learning rates and optimizer
# state stay in cache; an accelerator takes far bigger chunks, so each kernel launch does more.
DEFAULT_CHUNK = {"cpu": 1 << 19, "accelerator": 1 << 24}
DEFAULT_UNROLL = 6  # steps fused per loop iteration: fewer iterations, still short chains


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


def refined_rates(intervals, lr_min: float, lr_max: float, inside: int = 24,
                  near: int = 8) -> np.ndarray:
    """Extra learning rates that trace each stable window: ``inside`` evenly inside each
    window, and ``near`` on each side of each edge, geometrically closer (1e-1 to 1e-``near``
    relative), all clipped to ``[lr_min, lr_max]``. A log grid alone can miss a narrow window:
    the lecture's second, (0.4765, 0.5190), gets one point of 64."""
    extra = []
    for lo, hi in intervals:
        lo_in, hi_in = max(lo, lr_min), min(hi, lr_max)
        if lo_in < hi_in:
            extra.append(np.linspace(lo_in, hi_in, inside + 2)[1:-1])
        offsets = 10.0 ** -np.arange(1, near + 1)
        for edge in (lo, hi):
            if 0 < edge < np.inf:
                extra.append(edge * (1 - offsets * 0.5))
                extra.append(edge * (1 + offsets * 0.5))
    rates = np.concatenate(extra) if extra else np.zeros(0)
    return np.unique(rates[(rates >= lr_min) & (rates <= lr_max)])


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
    """One model, per-sample, in order: :func:`lec4_jax.training.train`'s loop, unfenced.

    Epoch after epoch, the samples in order; ``unroll`` steps fuse into each loop iteration, so
    one pass over a chunk's models does several steps' arithmetic per load and store.
    """
    params = {"w": w}

    def sample(carry, xy):
        p, state = carry
        p, state, _, _ = training.step(p, state, *xy, lr, grad=grad, optimizer=optimizer,
                                       fence=False)
        return (p, state), None

    def epoch(carry, _):
        carry, _ = jax.lax.scan(sample, carry, (x, y), unroll=min(unroll, x.shape[0]))
        return carry, None

    carry = (params, training.init_state(params, lr, optimizer))
    epochs_unroll = max(1, unroll // x.shape[0])  # short epochs: several per iteration
    (final, _), _ = jax.lax.scan(epoch, carry, None, length=epochs, unroll=epochs_unroll)
    return final["w"], _mean_loss(final["w"], x, y)


def _chunk(lrs, w_inits, x, y, *, sharding, epochs, grad, optimizer, unroll):
    """Trains learning rates ``lrs``, each with every w_init, vmapped and sharded by
    ``sharding``.

    The chunk's configs are broadcast from the grid's axes on the device, in grid order:
    broadcasts, which fuse into the training loop, rather than a gather per model. Returns
    ``final_w``, ``final_loss`` and ``diverged``, one entry per config.
    """
    shape = (lrs.shape[0], w_inits.shape[0])
    lr = jax.lax.with_sharding_constraint(jnp.broadcast_to(lrs[:, None], shape).reshape(-1),
                                          sharding)
    w0 = jnp.broadcast_to(w_inits, shape).reshape(-1)
    one = functools.partial(_train_one, epochs=epochs, grad=grad, optimizer=optimizer,
                            unroll=unroll)
    w, loss = jax.vmap(one, in_axes=(0, 0, None, None))(w0, lr, x, y)
    loss0 = jnp.broadcast_to(_mean_loss(w_inits, x, y), shape).reshape(-1)  # one per w_init
    diverged = ~jnp.isfinite(loss) | (loss > loss0)
    return w, loss, diverged


_STATIC = ("sharding", "epochs", "grad", "optimizer", "unroll")
# 512-bit vectors where the CPU has them (AVX-512): half the instructions per model and step.
CPU_COMPILER_OPTIONS = {"xla_cpu_prefer_vector_width": 512}
_train_chunk = {"cpu": jax.jit(_chunk, static_argnames=_STATIC,
                               compiler_options=CPU_COMPILER_OPTIONS),
                None: jax.jit(_chunk, static_argnames=_STATIC)}


def _aligned(n: int, dtype, alignment: int = 64) -> np.ndarray:
    """An empty 1-D array of ``n`` elements whose data starts on an ``alignment``-byte edge."""
    itemsize = np.dtype(dtype).itemsize
    buffer = np.empty(n + alignment // itemsize, dtype)
    skip = (-buffer.__array_interface__["data"][0] % alignment) // itemsize
    return buffer[skip:skip + n]


def _gather(outputs):
    """A chunk's outputs whole on every process (multi-host), else as they are."""
    if jax.process_count() > 1:
        return [multihost_utils.process_allgather(o, tiled=True) for o in outputs]
    return outputs


@functools.cache
def _sharding(devices: tuple) -> NamedSharding:
    return NamedSharding(Mesh(np.array(devices), ("models",)), P("models"))


def train_grid(lrs, w_inits, x, y, *, epochs: int, grad: str = "autodiff",
               optimizer: str = "sgd", dtype=jnp.float32, chunk: int | None = None,
               unroll: int = DEFAULT_UNROLL, devices=None, to_host: bool = True,
               progress=None) -> SweepResult:
    """Trains every (learning rate, w_init) pair on ``x``, ``y``, sharded over ``devices``.

    The grid is trained in chunks of about ``chunk`` models per device (whole rows of the grid:
    some learning rates, each with every w_init), one jitted call each (the next chunk is
    dispatched before the last one's results are copied out, so the device keeps busy): a
    chunk's parameters and optimizer state stay in cache while it runs every step.

    Args:
      lrs, w_inits: the grid's axes; the grid is their outer product (see :func:`grid`).
      x, y: the data; every model sees the samples in order, epoch after epoch.
      chunk: models per chunk and device (default: :data:`DEFAULT_CHUNK` for the platform).
      unroll: training steps fused into each loop iteration.
      devices: the devices to shard over (default: all of ``jax.devices()``).
      to_host: with ``False`` the result columns stay JAX arrays, sharded on the devices (no
        copy to the host, no gathering across hosts).
      progress: ``progress(models_done, models)``, called as each chunk is copied out.
    """
    w_inits = np.asarray(w_inits, np.float64).astype(dtype)
    lrs_64 = np.asarray(lrs, np.float64)
    n_lr, n_w = len(lrs_64), len(w_inits)
    devices = tuple(jax.devices() if devices is None else devices)
    on_cpu = devices[0].platform == "cpu"
    chunk = chunk or DEFAULT_CHUNK["cpu" if on_cpu else "accelerator"]
    rows = max(1, chunk // n_w)  # learning rates per chunk and device
    size = min(rows, -(-n_lr // len(devices))) * len(devices)
    # The rates padded to whole chunks with the last one (the padding is cut off below), in
    # memory aligned for XLA: on the CPU it then uses each chunk's rates in place, uncopied.
    padded = _aligned(-(-n_lr // size) * size, dtype)
    padded[:n_lr], padded[n_lr:] = lrs_64, lrs_64[-1]
    sharding = _sharding(devices)
    kernel = functools.partial(
        _train_chunk["cpu" if on_cpu else None], w_inits=w_inits, x=np.asarray(x, dtype),
        y=np.asarray(y, dtype), sharding=sharding, epochs=epochs, grad=grad,
        optimizer=optimizer, unroll=unroll)
    starts = range(0, n_lr, size)

    def run(start):
        rates = padded[start:start + size]
        return kernel(jax.device_put(rates, sharding) if len(devices) > 1 else rates)

    lrs, n = padded[:n_lr], n_lr * n_w
    if not to_host:
        parts = zip(*(run(start) for start in starts))
        columns = [jnp.concatenate(p)[:n] if len(p) > 1 else p[0][:n] for p in parts]
        return SweepResult(lrs, w_inits, *columns)
    if len(starts) == 1:
        columns = [np.asarray(c) for c in _gather(run(0))]
    else:
        # Each chunk is copied into the host arrays as soon as it is done, while the next one
        # runs, and then freed, so at most two chunks' outputs are ever allocated.
        columns = [np.empty(len(starts) * size * n_w, d) for d in (dtype, dtype, bool)]
        pending = run(starts[0])
        for i in range(len(starts)):
            following = run(starts[i + 1]) if i + 1 < len(starts) else None
            for column, part in zip(columns, _gather(pending)):
                column[i * size * n_w:(i + 1) * size * n_w] = np.asarray(part)
            pending = following
            if progress is not None:
                progress(min(n, (i + 1) * size * n_w), n)
    columns = [c[:n] for c in columns]
    return SweepResult(lrs, w_inits, *columns)


def csv_chunks(result: SweepResult, rows_per_chunk: int = 65536):
    """``lr,w_init,final_w,final_loss,diverged`` rows as text chunks (streamed: a grid of 1e8
    models is written without being held as one string); floats exact (shortest round trip)."""
    from lec4_jax.report import SWEEP_CSV_HEADER, sweep_csv_rows

    yield SWEEP_CSV_HEADER + "\n"
    for start in range(0, len(result.final_w), rows_per_chunk):
        yield "".join(row + "\n" for row in sweep_csv_rows(result, start, rows_per_chunk))


def to_csv(result: SweepResult) -> str:
    """The whole CSV as one string (see :func:`csv_chunks`)."""
    return "".join(csv_chunks(result))
