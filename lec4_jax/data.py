"""The lecture's dataset, and loading and validating user data.

Every problem with user input raises :class:`InputError`, whose message is one line that names
the flag or file at fault (and, for a CSV, the line number). The CLIs print that line and exit.
"""

from __future__ import annotations

import csv
import math
from typing import NamedTuple

import numpy as np

LECTURE_X = (1.0, 2.0, 3.0)
LECTURE_Y = (2.0, 4.0, 6.0)


class InputError(ValueError):
    """A bad flag, file or number. The message is one line, fit to show a user."""


class Dataset(NamedTuple):
    """Paired samples, in training order, as float64 (cast to the compute dtype later)."""

    x: np.ndarray
    y: np.ndarray


def lecture() -> Dataset:
    """x = 1, 2, 3 and y = 2, 4, 6: the lecture's data, where the best weight is w* = 2."""
    return Dataset(np.array(LECTURE_X), np.array(LECTURE_Y))


def parse_float(text: str, where: str) -> float:
    """Parses one finite float; ``where`` names the flag or file position for the error."""
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{where}: {text.strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise InputError(f"{where}: {text.strip()!r} is not finite")
    return value


def parse_floats(values: list[str] | str, flag: str) -> list[float]:
    """Parses a comma-separated list (or absl's list of strings) of finite floats."""
    items = values.split(",") if isinstance(values, str) else list(values)
    if not items or items == [""]:
        raise InputError(f"--{flag}: empty; give comma-separated numbers such as 1,2,3")
    return [parse_float(item, f"--{flag}") for item in items]


def from_lists(x: list[float], y: list[float], source: str = "--x_data/--y_data") -> Dataset:
    """Pairs x with y, checking they have the same length and at least one sample."""
    if len(x) != len(y):
        raise InputError(f"{source}: x has {len(x)} values but y has {len(y)}")
    if not x:
        raise InputError(f"{source}: no samples")
    return Dataset(np.array(x, dtype=np.float64), np.array(y, dtype=np.float64))


def load_csv(path: str) -> Dataset:
    """Reads two columns, x and y, with an optional header line.

    The header is the first non-blank line when neither of its cells is a number. Blank lines are
    skipped. Any other line must hold exactly two finite numbers.
    """
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(enumerate(csv.reader(f), start=1))
    except FileNotFoundError:
        raise InputError(f"--data_csv: {path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"--data_csv: {path}: is a directory") from None
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise InputError(f"--data_csv: {path}: cannot read: {e}") from None
    rows = [(n, row) for n, row in rows if any(cell.strip() for cell in row)]
    if rows and _is_header(rows[0][1]):
        rows = rows[1:]
    if not rows:
        raise InputError(f"--data_csv: {path}: no data rows")
    x, y = [], []
    for n, row in rows:
        where = f"--data_csv: {path}:{n}"
        if len(row) != 2:
            raise InputError(f"{where}: expected 2 columns (x,y), got {len(row)}")
        x.append(parse_float(row[0], where))
        y.append(parse_float(row[1], where))
    return from_lists(x, y, source=f"--data_csv: {path}")


def _is_header(row: list[str]) -> bool:
    def is_number(cell: str) -> bool:
        try:
            float(cell)
        except ValueError:
            return False
        return True

    return len(row) == 2 and not any(is_number(cell) for cell in row)


DATASETS = ("lecture", "synthetic")


def synthetic(num_samples: int, noise: float = 0.1, seed: int = 0, w: float = 2.0) -> Dataset:
    """``y = w*x + noise``: x uniform on [-1, 1], the noise normal with std ``noise``.

    Deterministic for a seed (NumPy's PCG64). ``|x| <= 1`` keeps the lecture's learning rate
    stable on any number of samples.
    """
    if num_samples < 1:
        raise InputError(f"--num_samples: must be >= 1, got {num_samples}")
    if not (math.isfinite(noise) and noise >= 0):
        raise InputError(f"--noise: must be a finite number >= 0, got {noise}")
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, num_samples)
    return Dataset(x, w * x + noise * rng.standard_normal(num_samples))
