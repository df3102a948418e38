"""Learning-rate sweeps: a grid of (learning rate, initial parameters) models trained at once.

Any model of :data:`lec4_jax.model.MODELS`. Every model of the grid is trained exactly as
``scripts/train.py`` trains it, by the same loop (:func:`lec4_jax.tool.training.scan_samples`) and
step, so each result equals a lone run bit for bit on the CPU. The
models are ``jax.vmap``-ed and trained in chunks that stay in cache, one jitted call per chunk,
sharded across every visible device along the models axis with ``jax.sharding``: a 1-D
:class:`~jax.sharding.Mesh` and a :class:`~jax.sharding.NamedSharding`. After
``jax.distributed.initialize()``, ``jax.devices()`` spans every host and the same code runs
multi-host: each process supplies its own devices' shards of the grid.

Speed (docs/sweeps.md: "How it scales" and "Benchmarks"): the step runs unfenced
(``fence=False``), so XLA fuses :data:`DEFAULT_UNROLL` steps into each loop
iteration, one pass over the chunk's models for several steps; a finished chunk is copied out
while the next one trains, so memory is reused rather than freshly mapped for every chunk.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from lec4_jax import grads as grads_lib
from lec4_jax import model as model_lib
from lec4_jax.tool import data, limits, training

# Models per chunk and device. On the CPU a chunk's parameters, learning rates and optimizer
# state stay in cache; an accelerator takes far bigger chunks, so each kernel launch does more.
DEFAULT_CHUNK = {"cpu": 1 << 19, "accelerator": 1 << 24}
DEFAULT_UNROLL = 6  # steps fused per loop iteration: fewer iterations, still short chains


class SweepResult:
    """One entry per config, in grid order (learning rate major, then the initial point).

    ``lrs`` holds the grid's learning rates as given (the ``learning_rate`` column has them in
    the compute dtype); ``inits`` the grid's initial points, one array per parameter (see
    :func:`init_points`); ``final`` the trained parameters, one array per parameter, one entry
    per config.
    ``learning_rate`` and ``init`` (the initial point of each config) are built from the grid's
    axes on first use. ``columns()`` gives the CSV's columns in order; for the lecture's model,
    ``w_init`` and ``final_w`` name its one parameter's columns, and iterating gives the five.
    """

    def __init__(self, lrs, inits, final, final_loss, diverged, model=model_lib.LECTURE):
        self.lrs, self.inits, self.model = lrs, inits, model_lib.get(model)
        self.final = final
        self.final_loss = final_loss  # the mean loss over the data at the final parameters
        self.diverged = diverged  # final_loss not finite, or above the mean loss at the start

    @functools.cached_property
    def _grid(self):
        lrs = np.asarray(self.lrs, next(iter(self.inits.values())).dtype)  # the compute dtype
        return grid(lrs, self.inits)

    @property
    def learning_rate(self) -> np.ndarray:
        return self._grid[0]

    @property
    def init(self) -> dict[str, np.ndarray]:
        return self._grid[1]

    @property
    def w_init(self) -> np.ndarray:
        return self.init["w"]

    @property
    def final_w(self):
        return self.final["w"]

    def __len__(self) -> int:
        return len(self.final_loss)

    def columns(self) -> list[tuple[str, object]]:
        """``(name, column)`` in CSV order: ``lr``, each ``<param>_init``, each
        ``final_<param>``, ``final_loss``, ``diverged``."""
        return ([("lr", self.learning_rate)]
                + [(model_lib.init_field(p), v) for p, v in self.init.items()]
                + [(f"final_{p}", v) for p, v in self.final.items()]
                + [("final_loss", self.final_loss), ("diverged", self.diverged)])

    def __iter__(self):
        return (column for _, column in self.columns())


def best_fit(result: SweepResult) -> dict[str, float] | None:
    """For a model with no closed-form stability (not linear in its parameters): the final
    parameters of the grid's best config (the lowest final loss among those that did not
    diverge), where :func:`lec4_jax.tool.stability.for_model` linearises SGD; None for a model
    linear in its parameters, or when every config diverged."""
    if result.model.has_least_squares:
        return None
    loss = np.where(np.asarray(result.diverged), np.inf,
                    np.asarray(result.final_loss, np.float64))
    if not np.isfinite(loss).any():
        return None
    best = int(np.argmin(loss))
    return {p: float(np.asarray(result.final[p])[best]) for p in result.model.params}


def learning_rates(lr_min: float, lr_max: float, num: int, spacing: str = "log") -> np.ndarray:
    """``num`` learning rates from ``lr_min`` to ``lr_max``, log- or linearly spaced; each
    argument checked as ``sweep.py`` checks its flags (:class:`InputError` naming it)."""
    lr_min = data.check_value(lr_min, np.float64, "lr_min", positive=True)
    lr_max = data.check_value(lr_max, np.float64, "lr_max", positive=True)
    num = data.as_count(num, "num", maximum=2**31 - 1)
    limits.check_memory(8 * num, f"{num:,} learning rates", "num")
    data.check_choice(spacing, ("log", "linear"), "spacing")
    if lr_max < lr_min:
        raise data.InputError(f"must be >= lr_min ({lr_min!r}), got {lr_max!r}", "lr_max")
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


def grid(lrs, inits):
    """The outer product, flattened, learning rate major: every rate with every initial point.

    ``inits`` is one array of initial values (``w_init``), or a dict of equal-length arrays,
    one per parameter (an initial point per index, as :func:`init_points` gives); the second
    column comes back in the same form.
    """
    lrs = np.asarray(lrs)
    points = inits if isinstance(inits, dict) else {None: inits}
    n = len(next(iter(points.values())))
    tiled = {p: np.tile(np.asarray(v), len(lrs)) for p, v in points.items()}
    return np.repeat(lrs, n), tiled if isinstance(inits, dict) else tiled[None]


def init_points(model, inits) -> dict[str, np.ndarray]:
    """The grid's initial points: every combination of the values given for each parameter
    (the first parameter's values vary slowest), the model's default for a parameter not
    given. ``inits`` is a dict of value lists, or one list: the first parameter's values (for
    the lecture's model, ``w``)."""
    m = model_lib.get(model)
    if not isinstance(inits, dict):
        inits = {m.params[0]: inits}
    model_lib.check_params(m, inits)
    axes = [data.check_array(inits.get(p, [m.defaults[p]]), np.float64,
                             model_lib.init_field(p)).ravel() for p in m.params]
    # np.meshgrid's "ij" product, built axis by axis: a formula may have more parameters than
    # an array may have dimensions (32 or 64)
    n = math.prod(len(a) for a in axes)
    points, outer = {}, 1
    for p, a in zip(m.params, axes):
        inner = n // (outer * len(a)) if n else 0
        points[p] = np.tile(np.repeat(a, inner), outer)
        outer *= len(a)
    return points


def start_losses(model, inits, x, y, dtype=jnp.float32) -> np.ndarray:
    """The mean loss over the data at each of the grid's initial points (:func:`init_points`),
    in ``dtype``: from a point where it is not finite (``log(x*w)`` at ``w=-1``) every config
    diverges before its first step, whatever its learning rate.

    >>> start_losses("x*w", {"w": [1.0, 2.0]}, [1.0, 2.0, 3.0], [2.0, 4.0, 6.0]).tolist()
    [4.6666669845581055, 0.0]
    """
    dtype = np.dtype(dtype)
    m = model_lib.get(model)
    points = {p: v.astype(dtype) for p, v in init_points(m, inits).items()}
    one = functools.partial(training.mean_loss, x=np.asarray(x, dtype), y=np.asarray(y, dtype),
                            model=m, in_order=True)
    return np.asarray(jax.jit(lambda pts: jax.lax.map(one, pts, batch_size=4096))(points))


def _train_one(params, lr, x, y, *, rule, epochs, unroll):
    """One model: :func:`lec4_jax.tool.training.scan_samples`, the loop train.py runs, unfenced
    and unrolled (one pass over a chunk's models does several steps per load and store)."""
    final, *_ = training.scan_samples(params, x, y, lr, epochs=epochs, rule=rule, fence=False,
                                      unroll=unroll)
    return final, training.mean_loss(final, x, y, rule.model, in_order=True)


def _chunk(lrs, inits, x, y, *, sharding, rule, epochs, unroll):
    """Trains learning rates ``lrs``, each from every initial point, vmapped and sharded by
    ``sharding``.

    The chunk's configs are broadcast from the grid's axes on the device, in grid order:
    broadcasts, which fuse into the training loop, rather than a gather per model. Returns
    each parameter's final values, then ``final_loss`` and ``diverged``: one entry per config.
    """
    shape = (len(lrs), len(next(iter(inits.values()))))
    lr = jax.lax.with_sharding_constraint(jnp.broadcast_to(lrs[:, None], shape).reshape(-1),
                                          sharding)
    p0 = {p: jnp.broadcast_to(v, shape).reshape(-1) for p, v in inits.items()}
    one = functools.partial(_train_one, rule=rule, epochs=epochs, unroll=unroll)
    final, loss = jax.vmap(one, in_axes=(0, 0, None, None))(p0, lr, x, y)
    start = jax.vmap(functools.partial(training.mean_loss, model=rule.model, in_order=True),
                     in_axes=(0, None, None))(inits, x, y)
    loss0 = jnp.broadcast_to(start, shape).reshape(-1)  # one per initial point
    diverged = ~jnp.isfinite(loss) | (loss > loss0)
    # In the model's order of parameters (a dict crossing jit comes back with sorted keys).
    return (*(final[p] for p in rule.model.params), loss, diverged)


_STATIC = ("sharding", "rule", "epochs", "unroll")
# 512-bit vectors where the CPU has them (AVX-512): half the instructions per model and step.
CPU_COMPILER_OPTIONS = {"xla_cpu_prefer_vector_width": 512}
_train_chunk = {"cpu": jax.jit(_chunk, static_argnames=_STATIC,
                               compiler_options=CPU_COMPILER_OPTIONS),
                None: jax.jit(_chunk, static_argnames=_STATIC)}


def _gather(outputs):
    """A chunk's outputs whole on every process (multi-host), else as they are."""
    if jax.process_count() > 1:
        return [multihost_utils.process_allgather(o, tiled=True) for o in outputs]
    return outputs


@functools.cache
def _sharding(devices: tuple) -> NamedSharding:
    return NamedSharding(Mesh(np.array(devices), ("models",)), P("models"))


def train_grid(lrs, inits, x, y, *, epochs: int,
               model: model_lib.Model | str = model_lib.LECTURE, grad: str = "autodiff",
               optimizer: str = "sgd", dtype=jnp.float32,
               chunk: int | None = None, unroll: int = DEFAULT_UNROLL, devices=None,
               to_host: bool = True, progress=None) -> SweepResult:
    """Trains every (learning rate, initial point) pair on ``x``, ``y``, sharded over
    ``devices``.

    The grid is trained in chunks of about ``chunk`` models per device (whole rows of the grid:
    some learning rates, each from every initial point), one jitted call each (the next chunk
    is dispatched before the last one's results are copied out, so the device keeps busy): a
    chunk's parameters and optimizer state stay in cache while it runs every step.

    Args:
      lrs: the learning rates, the grid's first axis.
      inits: the initial values, the grid's second axis (see :func:`init_points`): a dict
        ``{param: values}``, or the first parameter's values (``w`` for the lecture's model).
      x, y: the data; every model sees the samples in order, epoch after epoch.
      model: a :class:`~lec4_jax.model.Model`, or its name in :data:`lec4_jax.model.MODELS`.
      grad, optimizer: their names (see :class:`lec4_jax.tool.training.Rule`).
      chunk: models per chunk and device (default: :data:`DEFAULT_CHUNK` for the platform).
      unroll: training steps fused into each loop iteration.
      devices: the devices to shard over (default: all of ``jax.devices()``).
      to_host: with ``False`` the result columns stay JAX arrays, sharded on the devices (no
        copy to the host, no gathering across hosts).
      progress: ``progress(models_done, models)``, called as each chunk is copied out.
    """
    dtype, (epochs, unroll, chunk, x, y) = np.dtype(dtype), _checked(**locals())
    rule = training.Rule.of(model, grad, optimizer)
    inits = {p: data.check_array(v, dtype, model_lib.init_field(p))
             for p, v in init_points(rule.model, inits).items()}
    rates = _checked_rates(lrs, dtype)
    n_lr, n_w = len(rates), len(next(iter(inits.values())))
    devices = tuple(jax.devices() if devices is None else devices)
    on_cpu = devices[0].platform == "cpu"
    chunk = chunk or DEFAULT_CHUNK["cpu" if on_cpu else "accelerator"]
    rows = max(1, chunk // n_w)  # learning rates per chunk and device
    size = min(rows, -(-n_lr // len(devices))) * len(devices)
    sharding = _sharding(devices)
    kernel = functools.partial(
        _train_chunk["cpu" if on_cpu else None], inits=inits, x=np.asarray(x, dtype),
        y=np.asarray(y, dtype), sharding=sharding, rule=rule, epochs=epochs, unroll=unroll)
    starts = range(0, n_lr, size)

    def run(start):
        part = _chunk_rates(rates[start:start + size], size, dtype)
        return kernel(jax.device_put(part, sharding) if len(devices) > 1 else part)

    def result(columns):
        *final, loss, diverged = columns
        return SweepResult(rates, inits, dict(zip(inits, final)), loss, diverged, rule.model)

    n = n_lr * n_w
    if not to_host:
        parts = zip(*(run(start) for start in starts))
        return result([jnp.concatenate(p)[:n] if len(p) > 1 else p[0][:n] for p in parts])
    if len(starts) == 1:
        return result([np.asarray(c)[:n] for c in _gather(run(0))])
    kinds = [dtype] * (len(inits) + 1) + [bool]
    return result(_copied_out(run, starts, size * n_w, kinds, n, progress))


def _checked(*, epochs, unroll, chunk, model, grad, optimizer, x, y, dtype, **_):
    """:func:`train_grid`'s arguments checked as ``sweep.py`` checks its flags: counts whole,
    names among their choices, data finite in ``dtype``; :class:`InputError` names the one."""
    epochs, unroll = data.as_count(epochs, "epochs"), data.as_count(unroll, "unroll")
    chunk = None if chunk is None else data.as_count(chunk, "chunk")
    for name, value, choices in (("grad", grad, grads_lib.METHODS),
                                 ("optimizer", optimizer, tuple(training.OPTIMIZERS))):
        data.check_choice(value, choices, name)
    data.model_of(model)
    dtype = np.dtype(dtype)
    x, y = data.check_array(x, dtype, "x"), data.check_array(y, dtype, "y")
    limits.check_steps(epochs, len(x))
    return epochs, unroll, chunk, x, y


def _checked_rates(lrs, dtype) -> np.ndarray:
    """The learning rates as given (float64; cast to ``dtype`` chunk by chunk), each finite in
    ``dtype``: its two ends checked there, so a large grid is never copied whole."""
    rates = data.check_array(lrs, np.float64, "lrs").ravel()
    for edge in (rates.min(initial=0.0), rates.max(initial=0.0)):
        data.check_value(float(edge), dtype, "lrs")
    return rates


def _chunk_rates(part: np.ndarray, size: int, dtype) -> np.ndarray:
    """A chunk's ``size`` rates in dtype, in memory aligned for XLA (on the CPU it then reads
    them in place): as given when they already are, else cast into a fresh buffer; the last
    chunk padded with its last rate (the caller cuts the padding's results off)."""
    if len(part) < size or part.dtype != dtype or part.ctypes.data % 64:
        part, given = data.aligned_empty(size, dtype), part
        part[:len(given)], part[len(given):] = given, given[-1]
    return part


def _copied_out(run, starts, per_chunk: int, kinds, n: int, progress) -> list[np.ndarray]:
    """Every chunk's columns, ``run(start)`` for each start, in host arrays of ``n`` entries.

    Each chunk is copied into the host arrays as soon as it is done, while the next one runs,
    and then freed, so at most two chunks' outputs are ever allocated."""
    columns = [np.empty(len(starts) * per_chunk, kind) for kind in kinds]
    pending = run(starts[0])
    for i in range(len(starts)):
        following = run(starts[i + 1]) if i + 1 < len(starts) else None
        for column, part in zip(columns, _gather(pending)):
            column[i * per_chunk:(i + 1) * per_chunk] = np.asarray(part)
        pending = following
        if progress is not None:
            progress(min(n, (i + 1) * per_chunk), n)
    return [c[:n] for c in columns]


def csv_chunks(result: SweepResult, rows_per_chunk: int = 65536):
    """The CSV (``lr,w_init,final_w,final_loss,diverged`` for the lecture's model) as text
    chunks (streamed: a grid of 1e8 models is written without being held as one string);
    floats exact (shortest round trip)."""
    from lec4_jax.tool.report import sweep_csv_header, sweep_csv_rows

    yield sweep_csv_header(result) + "\n"
    for start in range(0, len(result), rows_per_chunk):
        yield "".join(row + "\n" for row in sweep_csv_rows(result, start, rows_per_chunk))


def to_csv(result: SweepResult) -> str:
    """The whole CSV as one string (see :func:`csv_chunks`)."""
    return "".join(csv_chunks(result))
