"""The lecture's dataset, and loading and validating user data.

Every problem with user input raises :class:`InputError`, whose message is one line that names
the flag or file at fault (and, for a CSV, the line number). The CLIs print that line and exit.
"""

from __future__ import annotations

import codecs
import csv
import functools
import inspect
import io
import math
import numbers
import os
import warnings
from decimal import Decimal
from fractions import Fraction
from typing import NamedTuple

import numpy as np

LECTURE_X = (1.0, 2.0, 3.0)
LECTURE_Y = (2.0, 4.0, 6.0)


class InputError(ValueError):
    """A bad setting, file or number. The message is one line, fit to show a user.

    ``field`` names the setting at fault (``"learning_rate"``, ``"data_csv"`` ...), or is None
    when the message says it all. The library never names a command-line flag: a script turns
    the field into its flag (``--learning_rate: ...``).
    """

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def _shown(value) -> str:
    """``value`` as an error shows it: a huge number by its first digits and its length."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}... ({len(text)} characters)"


def as_number(value, field: str) -> float:
    """``value`` as a float: any real number (an int of any size, a float, a ``Fraction``, a
    ``Decimal``, a NumPy scalar), never a bool, a string or a complex number. A number too big
    for a float becomes an infinity (which :func:`check_value` refuses). Raises
    :class:`InputError` naming ``field``.

    >>> as_number(Fraction(1, 4), "x")
    0.25
    >>> as_number("20", "x")
    Traceback (most recent call last):
    lec4_jax.tool.data.InputError: must be a number, got '20' (str)
    """
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, Decimal)):
        raise InputError(f"must be a number, got {_shown(value)} ({type(value).__name__})",
                         field)
    try:
        return float(value)
    except OverflowError:  # an int or a Fraction beyond float64
        return math.inf if value > 0 else -math.inf
    except (ValueError, TypeError):  # Decimal('sNaN')
        return math.nan


def as_count(value, field: str, minimum: int = 1, maximum: int | None = None) -> int:
    """``value`` as a count: a whole number (an ``int``, a NumPy integer), never a float, a
    bool or a string, at least ``minimum`` (and at most ``maximum``, if given). Raises
    :class:`InputError` naming ``field``.

    >>> as_count(20, "epochs")
    20
    >>> as_count(1e3, "epochs")
    Traceback (most recent call last):
    lec4_jax.tool.data.InputError: must be a whole number (an int), got 1000.0 (float)
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise InputError(f"must be a whole number (an int), got {_shown(value)} "
                         f"({type(value).__name__})", field)
    if value < minimum:
        raise InputError(f"must be >= {minimum}, got {_shown(value)}", field)
    if maximum is not None and value > maximum:
        raise InputError(f"must be <= {maximum:,}, got {_shown(value)}", field)
    return int(value)


def check_choice(value, choices, field: str) -> str:
    """``value`` if it is one of ``choices`` (names), else :class:`InputError` naming
    ``field`` and listing the choices.

    >>> check_choice("adam", ("sgd", "adam"), "optimizer")
    'adam'
    """
    if not isinstance(value, str) or value not in choices:
        raise InputError(f"{_shown(value)} is not one of {', '.join(choices)}", field)
    return value


def _finite_as_given(value) -> bool:
    """True for a number that is finite in its own type (an int, a Fraction, a finite
    Decimal), whatever a float makes of it."""
    if isinstance(value, Decimal):
        return value.is_finite()
    return isinstance(value, (numbers.Integral, Fraction))


def model_of(model):
    """The :class:`~lec4_jax.model.Model` that ``model`` names (itself, a registry name, or a
    formula), or :class:`InputError` naming the ``model`` argument: never the registry's
    ``ValueError`` for a name it lacks, nor a ``TypeError`` for something that is no name."""
    from lec4_jax import model as model_lib

    try:
        return model_lib.get(model)
    except InputError:
        raise
    except (ValueError, TypeError) as e:
        raise InputError(str(e), "model") from None


def check_value(value: float, dtype, field: str, *, positive: bool = False) -> float:
    """``value`` as it will be computed with: a real number (see :func:`as_number`), finite in
    ``dtype`` (and > 0, and not flushed to zero, if ``positive``). Returns it as a float;
    raises :class:`InputError` naming ``field``.

    >>> check_value(10**400, "float32", "x")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    lec4_jax.tool.data.InputError: 100... (401 characters) is not finite in float32 (largest: ...)
    """
    shown, given = _shown(value), value
    value = as_number(value, field)
    if math.isinf(value) and _finite_as_given(given):  # 10**400, Decimal('1e400')
        raise InputError(f"{shown} is not finite in {np.dtype(dtype).name} (largest: "
                         f"{np.finfo(dtype).max:.6g})", field)
    dtype = np.dtype(dtype)
    with np.errstate(over="ignore", under="ignore"):
        cast = dtype.type(value)
    if not math.isfinite(value):
        raise InputError(f"{shown} is not finite", field)
    if not np.isfinite(cast):
        raise InputError(f"{shown} is not finite in {dtype.name} (largest: "
                         f"{np.finfo(dtype).max:.6g})", field)
    if positive and value <= 0:
        raise InputError(f"must be > 0, got {shown}", field)
    if positive and abs(cast) < np.finfo(dtype).tiny:
        raise InputError(f"{shown} is below {dtype.name}'s smallest normal number "
                         f"({np.finfo(dtype).tiny:.6g}); XLA computes it as 0", field)
    return value


def as_floats(values, field: str) -> np.ndarray:
    """``values`` (a number, a sequence of them, an array) as a float64 array: NumPy's own
    conversion for an array of numbers, else one value at a time as :func:`as_number` reads
    it (huge ints, ``Fraction``, ``Decimal``), so that a bad value is :class:`InputError`
    naming ``field`` and its position, never NumPy's ``OverflowError`` or ``TypeError``."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiu":
        return values
    if hasattr(values, "__array__") and getattr(getattr(values, "dtype", None), "kind",
                                                "") in "fiu":
        return np.asarray(values)  # a JAX array
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        return np.asarray(as_number(values, field), np.float64)
    items = np.asarray(values, dtype=object) if not isinstance(values, np.ndarray) else values
    flat = [as_number(v, field) if not isinstance(v, (list, tuple)) else math.nan
            for v in items.ravel()]
    if items.dtype == object and any(isinstance(v, (list, tuple)) for v in items.ravel()):
        raise InputError("must be a flat sequence of numbers", field)
    return np.array(flat, np.float64).reshape(items.shape)


def check_array(values, dtype, field: str) -> np.ndarray:
    """Every value a number (see :func:`as_floats`) finite in ``dtype``; the error names the
    first one that is not. Returns the values in ``dtype`` (not copied when they already
    are)."""
    values = as_floats(values, field)
    with np.errstate(over="ignore"):
        cast = np.asarray(values, dtype)
    finite = np.isfinite(cast)
    if not finite.all():
        i = int(np.argmin(finite.ravel()))
        raise InputError(f"value {i + 1} ({float(values.ravel()[i])!r}) is not finite in "
                         f"{np.dtype(dtype).name}", field)
    return cast


def compute_dtype() -> np.dtype:
    """float64 when JAX computes in 64 bits (``jax_enable_x64``), else float32."""
    import jax

    return np.dtype(np.float64 if jax.config.jax_enable_x64 else np.float32)


_PLAIN = (numbers.Number, Decimal, np.generic, str, bytes, list, tuple, type(None))


def checked_numbers(*names: str):
    """Decorates a function of numbers: each named argument that is a plain value (a Python or
    NumPy number, a string, None, a list: not an array, a traced value or a graph's node) is
    checked by :func:`check_value` in the compute dtype and
    passed on as a float; anything else (a string, a huge int, NaN) is :class:`InputError`
    naming the argument. Arrays and traced values pass as they are, so the function still
    jits and vmaps."""
    def wrap(f):
        signature = inspect.signature(f)

        @functools.wraps(f)
        def checked(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            for name in names:
                value = bound.arguments.get(name)
                if isinstance(value, _PLAIN):
                    bound.arguments[name] = check_value(value, compute_dtype(), name)
            return f(*bound.args, **bound.kwargs)

        return checked

    return wrap


class Dataset(NamedTuple):
    """Paired samples, in training order: float64 as parsed, in the compute dtype once
    checked (``scripts/_cli.load_data``) or when drawn in it (:func:`synthetic`)."""

    x: np.ndarray
    y: np.ndarray


def lecture() -> Dataset:
    """x = 1, 2, 3 and y = 2, 4, 6: the lecture's data, where the best weight is w* = 2."""
    return Dataset(np.array(LECTURE_X), np.array(LECTURE_Y))


def parse_float(text: str, field: str | None, where: str = "") -> float:
    """Parses one finite float; ``where`` (a file position, say) prefixes the error."""
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{where}{text.strip()!r} is not a number", field) from None
    if not math.isfinite(value):
        raise InputError(f"{where}{text.strip()!r} is not finite", field)
    return value


def parse_floats(values: list[str] | str, field: str) -> list[float]:
    """Parses a comma-separated list (or absl's list of strings) of finite floats."""
    items = values.split(",") if isinstance(values, str) else list(values)
    if not items or items == [""]:
        raise InputError("empty; give comma-separated numbers such as 1,2,3", field)
    return [parse_float(item, field) for item in items]


def from_lists(x: list[float], y: list[float], field: str = "x_data",
               where: str = "") -> Dataset:
    """Pairs x with y, checking they have the same length and at least one sample."""
    if len(x) != len(y):
        raise InputError(f"{where}x has {len(x)} values but y has {len(y)}", field)
    if not len(x):
        raise InputError(f"{where}no samples", field)
    return Dataset(np.array(x, dtype=np.float64), np.array(y, dtype=np.float64))


def load_csv(path: str, dtype=np.float64) -> Dataset:
    """Reads two columns, x and y, with an optional header line.

    The header is the first non-blank line when neither of its cells is a number. Blank lines are
    skipped. Any other line must hold exactly two numbers finite in ``dtype``; an error names
    the line.

    The file is read exactly once (:func:`read_bytes`), so a pipe, a FIFO or ``/dev/stdin``
    works as a file does. A well-formed text is parsed by NumPy's C parser (``numpy.loadtxt``);
    anything it cannot parse, or values not finite in ``dtype``, go to the careful parser
    (:func:`parse_csv_careful`), which gives the one-line error naming the line, or reads what
    NumPy's parser would not (``1_000``, say). Both give the same values for the same text
    (tested).
    """
    raw = read_bytes(path, "data_csv")
    fast = _parse_csv_fast(raw, dtype)
    return fast if fast is not None else parse_csv_careful(decode(raw, path, "data_csv"), path,
                                                           dtype)


def read_bytes(path: str, field: str) -> bytes:
    """The whole of ``path``, read exactly once: a pipe or a FIFO cannot be read twice. Every
    failure is a one-line :class:`InputError` naming the file."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file", field) from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory", field) from None
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror or e}", field) from None


def decode(raw: bytes, path: str, field: str) -> str:
    """``raw`` as UTF-8 text, a BOM dropped; else a one-line :class:`InputError`."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: cannot read: not UTF-8 text (byte {e.start})", field) from None


def _parse_csv_fast(raw: bytes, dtype) -> Dataset | None:
    """NumPy's C parser on the bytes (no text copy of them), or None to let the careful parser
    decide."""
    try:
        f = io.BytesIO(raw[3:] if raw.startswith(codecs.BOM_UTF8) else raw)
        first = b""
        for first in f:
            if first.strip():
                break
        skip = 1 if first.strip() and _is_header(next(csv.reader([first.decode()]), [])) else 0
        f.seek(0)
        with warnings.catch_warnings():  # an empty file: the careful parser says so
            warnings.simplefilter("ignore")
            table = np.loadtxt(f, delimiter=",", dtype=np.float64, comments=None,
                               skiprows=skip, ndmin=2, quotechar='"', encoding="utf-8")
    except (ValueError, csv.Error):  # UnicodeDecodeError is a ValueError
        return None
    if table.shape[0] == 0 or table.shape[1] != 2:
        return None
    with np.errstate(over="ignore"):
        if not np.all(np.isfinite(table.astype(dtype))):
            return None
    return Dataset(np.ascontiguousarray(table[:, 0]), np.ascontiguousarray(table[:, 1]))


def load_csv_careful(path: str, dtype=np.float64) -> Dataset:
    """:func:`load_csv` a cell at a time with Python's ``csv`` module (slow)."""
    return parse_csv_careful(decode(read_bytes(path, "data_csv"), path, "data_csv"), path, dtype)


def _csv_rows(text: str, path: str, field: str) -> list[tuple[int, list[str]]]:
    """The csv module's rows with their line numbers; an error (a cell past the csv module's
    field limit, say) names its line."""
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = []
    try:
        for row in reader:
            rows.append((reader.line_num, row))
    except csv.Error as e:
        raise InputError(f"{path}:{reader.line_num}: cannot read: {str(e).splitlines()[0]}",
                         field) from None
    return rows


def parse_csv_careful(text: str, path: str, dtype=np.float64) -> Dataset:
    """:func:`load_csv`'s parse of ``text`` (read from ``path``) a cell at a time with Python's
    ``csv`` module: slow, and every problem is a one-line :class:`InputError` naming the line."""
    field = "data_csv"
    rows = _csv_rows(text, path, field)
    rows = [(n, row) for n, row in rows if any(cell.strip() for cell in row)]
    if rows and _is_header(rows[0][1]):
        rows = rows[1:]
    if not rows:
        raise InputError(f"{path}: no data rows", field)
    x, y = [], []
    for n, row in rows:
        where = f"{path}:{n}: "
        if len(row) != 2:
            raise InputError(f"{where}expected 2 columns (x,y), got {len(row)}", field)
        for column, cell in zip((x, y), row):
            value = parse_float(cell, field, where)
            with np.errstate(over="ignore"):
                if not np.isfinite(np.dtype(dtype).type(value)):
                    raise InputError(f"{where}{cell.strip()!r} is not finite in "
                                     f"{np.dtype(dtype).name}", field)
            column.append(value)
    return from_lists(x, y, field, f"{path}: ")


def _is_header(row: list[str]) -> bool:
    def is_number(cell: str) -> bool:
        try:
            float(cell)
        except ValueError:
            return False
        return True

    return len(row) == 2 and not any(is_number(cell) for cell in row)


DATASETS = ("lecture", "synthetic")


SYNTHETIC_BLOCK = 1 << 20  # samples per random stream (see synthetic)


def aligned_empty(n: int, dtype, alignment: int = 64) -> np.ndarray:
    """An empty 1-D array of ``n`` elements whose data start on an ``alignment``-byte edge:
    JAX on the CPU then uses it in place (``jax.device_put`` makes no copy)."""
    itemsize = np.dtype(dtype).itemsize
    buffer = np.empty(n + alignment // itemsize, dtype)
    skip = (-buffer.__array_interface__["data"][0] % alignment) // itemsize
    return buffer[skip:skip + n]


def synthetic(num_samples: int, noise: float = 0.1, seed: int = 0, w: float = 2.0,
              dtype=np.float64) -> Dataset:
    """``y = w*x + noise``: x uniform on [-1, 1), the noise normal with std ``noise``.

    Drawn in the compute ``dtype`` (no float64 draw to cast, no copies: into aligned arrays
    that JAX uses in place), and on every core: sample block ``k`` of
    :data:`SYNTHETIC_BLOCK` has its own PCG64 stream, the ``k``-th child of
    ``SeedSequence(seed)``, so the values depend on the seed and the dtype only, never on the
    number of threads (NumPy's float32 generators for float32: those values are not the float64
    draw rounded). ``|x| <= 1`` keeps the lecture's learning rate stable on any number of
    samples.
    """
    num_samples = as_count(num_samples, "num_samples")
    noise = as_number(noise, "noise")
    if not (math.isfinite(noise) and noise >= 0):
        raise InputError(f"must be a finite number >= 0, got {noise}", "noise")
    seed = as_count(seed, "seed", minimum=0)
    dtype = np.dtype(dtype)
    noise = check_value(noise, dtype, "noise")  # and finite in the dtype it is drawn in
    x, y = aligned_empty(num_samples, dtype), aligned_empty(num_samples, dtype)
    starts = range(0, num_samples, SYNTHETIC_BLOCK)
    streams = np.random.SeedSequence(seed).spawn(len(starts))

    def fill(k: int) -> None:
        part = slice(starts[k], starts[k] + SYNTHETIC_BLOCK)
        rng, xs, ys = np.random.default_rng(streams[k]), x[part], y[part]
        rng.random(out=xs, dtype=dtype)
        xs *= 2
        xs -= 1
        rng.standard_normal(out=ys, dtype=dtype)
        with np.errstate(over="ignore"):
            ys *= dtype.type(noise)
            ys += dtype.type(w) * xs

    if len(starts) == 1:
        fill(0)
    else:
        from concurrent.futures import ThreadPoolExecutor  # NumPy draws without the GIL

        with ThreadPoolExecutor(min(len(starts), os.cpu_count() or 1)) as pool:
            list(pool.map(fill, range(len(starts))))
    return Dataset(x, y)
