"""The message catalogue (lec4_jax/locale/<lang>/*.toml): every language has every part, every
key and the same placeholders as English, so a translation can never raise a KeyError."""

import string

import pytest

from lec4_jax import language, messages


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("lang", language.LANGS)
def test_every_language_has_every_part(lang):
    assert messages.parts(lang) == messages.parts("en")


@pytest.mark.parametrize("lang", [lang for lang in language.LANGS if lang != "en"])
@pytest.mark.parametrize("part", messages.parts("en"))
def test_same_keys_and_placeholders_as_english(lang, part):
    english, other = messages.section(part, "en"), messages.section(part, lang)
    assert other.keys() == english.keys()
    for key, text in english.items():
        assert _fields(other[key]) == _fields(text), (part, key)


def test_text_fills_placeholders():
    assert messages.text("walkthrough", "at", "ko", at="x=1") == "x=1에서"
