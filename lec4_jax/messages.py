"""Every word the lesson shows a learner, read from one catalogue per language.

The catalogue is ``lec4_jax/locale/<lang>/`` beside this file: one TOML file per part of the
lesson (``page.toml`` for the step-through page, ``exercises.toml`` for the exercises' verdicts
...), each a table of ``key = "text"`` with ``{name}`` placeholders. A translator edits those
files and never reads code; ``tests/test_messages_catalogue.py`` checks that every language has
the same keys and placeholders as English.

    >>> from lec4_jax import messages
    >>> messages.section("walkthrough", "en")["node"]
    'node'
"""

from __future__ import annotations

import functools
import tomllib
from importlib import resources

from lec4_jax import language


@functools.cache
def _load(lang: str, part: str) -> dict[str, str]:
    folder = resources.files("lec4_jax") / "locale" / lang
    with (folder / f"{part}.toml").open("rb") as f:
        return tomllib.load(f)


def section(part: str, lang: str | None = None) -> dict[str, str]:
    """The words of one part of the lesson (a file of the catalogue) in ``lang`` (``None``: the
    language set by :func:`lec4_jax.set_language`, else English)."""
    return dict(_load(language.language(lang), part))


def text(part: str, key: str, lang: str | None = None, /, **fields) -> str:
    """One message of ``part``, its ``{placeholders}`` filled from ``fields``."""
    return _load(language.language(lang), part)[key].format(**fields)


def parts(lang: str = "en") -> list[str]:
    """The catalogue's parts (file names without ``.toml``) in one language."""
    folder = resources.files("lec4_jax") / "locale" / lang
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir()
                  if p.name.endswith(".toml"))
