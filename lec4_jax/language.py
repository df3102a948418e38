"""The language the lesson prints in: English (the default) or Korean.

    import lec4_jax as lj
    lj.set_language("ko")    # tables, pictures and exercise verdicts in Korean from now on

The functions that print or draw for a learner (:func:`lec4_jax.table`,
:func:`lec4_jax.modes_table`, the pictures, :func:`lec4_jax.exercises.check`) take ``lang=None``,
which means the language set here; an explicit ``lang`` wins. Nothing else reads it: the
lecture's own lines (``grad:``, ``progress:``) and the command line print as the lecture does.
"""

from __future__ import annotations

LANGS = ("en", "ko")

_chosen: str | None = None


def set_language(lang: str | None) -> None:
    """Sets the language of what the lesson prints: ``"en"``, ``"ko"``, or ``None`` (unset, so
    English, and the exercises' verdicts in both languages)."""
    global _chosen
    if lang is not None and (not isinstance(lang, str) or lang not in LANGS):
        from lec4_jax.tool.data import InputError  # a ValueError, as before

        raise InputError(f"language must be one of {', '.join(LANGS)}, not {lang!r}", "lang")
    _chosen = lang


def chosen() -> str | None:
    """The language set by :func:`set_language`, or ``None`` if none was."""
    return _chosen


def language(lang: str | None = None) -> str:
    """``lang`` if given (checked), else the language set, else English."""
    if lang is not None and lang not in LANGS:
        raise ValueError(f"language must be one of {', '.join(LANGS)}, not {lang!r}")
    return lang or _chosen or "en"
