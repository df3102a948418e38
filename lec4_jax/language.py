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


def _check(lang: str | None) -> None:
    """A language the lesson does not have raises InputError (a ValueError), in the language
    already set."""
    if lang is not None and (not isinstance(lang, str) or lang not in LANGS):
        from lec4_jax import messages
        from lec4_jax.tool.data import InputError  # a ValueError, naming the argument

        raise InputError(messages.text("language", "unknown", _chosen or "en",
                                       langs=", ".join(LANGS), lang=lang), "lang")


def set_language(lang: str | None) -> None:
    """Sets the language of what the lesson prints: ``"en"``, ``"ko"``, or ``None`` (unset, so
    English, and the exercises' verdicts in both languages).

    >>> set_language("ko"); language()
    'ko'
    >>> set_language(None); language()
    'en'
    """
    global _chosen
    _check(lang)
    _chosen = lang


def chosen() -> str | None:
    """The language set by :func:`set_language`, or ``None`` if none was."""
    return _chosen


def language(lang: str | None = None) -> str:
    """``lang`` if given (checked), else the language set, else English."""
    _check(lang)
    return lang or _chosen or "en"
