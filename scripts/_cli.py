"""What every script shares: one-line errors instead of tracebacks.

Not part of the package: it prints and exits. ``python scripts/NAME.py`` puts this folder on
``sys.path``, so the scripts import it as ``_cli``.
"""

from __future__ import annotations

import math
import os
import sys

from absl import app, flags

from lec4_jax.data import InputError

EXIT_USAGE = 2  # a bad flag, file or number
EXIT_FAILED = 1  # the run itself failed (training diverged)


def fail(message: str, code: int = EXIT_USAGE):
    """Prints ``<script>: error: <message>`` on one line to stderr and exits."""
    prog = os.path.basename(sys.argv[0]) or "lec4_jax"
    print(f"{prog}: error: {message}", file=sys.stderr)
    sys.exit(code)


def _parse_flags(argv):
    try:
        return flags.FLAGS(argv)
    except flags.Error as e:
        fail(str(e).splitlines()[0])


def run(main) -> None:
    """``app.run(main)``, with flag errors and :class:`InputError` as one-line errors."""

    def guarded(argv):
        if len(argv) > 1:
            fail(f"unexpected arguments: {' '.join(argv[1:])}")
        try:
            return main(argv)
        except InputError as e:
            fail(str(e))
        except BrokenPipeError:  # e.g. `train.py | head`: the reader left, which is fine
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0

    app.run(guarded, flags_parser=_parse_flags)


def require_finite(holder: flags.FlagHolder, positive: bool = False) -> None:
    """Registers a validator: the float flag is finite (and > 0 if ``positive``)."""
    need = "a finite number > 0" if positive else "a finite number"
    flags.register_validator(
        holder.name,
        lambda v: v is None or (math.isfinite(v) and (v > 0 or not positive)),
        message=f"must be {need}",
    )


def flag_values(holders) -> dict:
    """``{name: value}`` for the given flag holders, e.g. for a JSON record of the config."""
    return {h.name: h.value for h in holders}
