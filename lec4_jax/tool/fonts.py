"""The font that draws a Korean picture's Hangul: the system's, else the one a pip package ships.

A fresh Linux, WSL, Docker or Colab often has no font with Hangul. The notebooks' requirements
install ``koreanize-matplotlib``, which ships NanumGothic; this module loads that font file by
its path and never imports the package (importing it sets matplotlib's global ``rcParams``).
Where neither exists, :func:`korean_font` is ``None`` and the pictures are drawn in English.

    >>> from lec4_jax.tool import fonts
    >>> fonts.korean_font() in fonts.KOREAN_FONTS + (None,)
    True
"""

from __future__ import annotations

import functools
import importlib.util
import os

# Fonts with Hangul, tried in this order for a Korean picture (Linux, macOS, Windows). Every
# Noto Sans CJK face has the Hangul syllables; matplotlib names a .ttc file by its first face.
KOREAN_FONTS = ("Noto Sans CJK KR", "Noto Sans KR", "NanumGothic", "Apple SD Gothic Neo",
                "AppleGothic", "Malgun Gothic", "UnDotum", "Baekmuk Gulim", "Noto Sans CJK JP",
                "Noto Sans CJK SC", "Noto Sans CJK TC", "Noto Sans CJK HK")
_FONT_FILES = ("notosanscjk", "notosanskr", "nanum", "gothic", "malgun", "undotum", "baekmuk")

# The font a pip package ships: (the package, the font file inside it). koreanize-matplotlib
# 0.1.1 (MIT) ships NanumGothic (NAVER's Nanum fonts, SIL Open Font License 1.1).
BUNDLED = ("koreanize_matplotlib", "fonts/NanumGothic.ttf")


def bundled_font_file() -> str | None:
    """The path of the font file :data:`BUNDLED` names, if its package is installed: found by
    the package's location alone, the package not imported."""
    package, file = BUNDLED
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = os.path.join(folder, file)
        if os.path.isfile(path):
            return path
    return None


def _add(font_manager, file: str) -> bool:
    try:
        font_manager.fontManager.addfont(file)
    except (OSError, RuntimeError, ValueError):  # unreadable: not a font to use
        return False
    return True


@functools.cache
def korean_font() -> str | None:
    """The first font of :data:`KOREAN_FONTS` that matplotlib knows, else the family of the
    font a pip package ships (:data:`BUNDLED`), else ``None``. matplotlib's font list is
    cached on disk and may predate a font's installation, so the system's font files that look
    Korean are added to it first, once."""
    from matplotlib import font_manager

    known = {f.fname for f in font_manager.fontManager.ttflist}
    for file in font_manager.findSystemFonts():
        name = os.path.basename(file.replace("\\", "/")).lower()
        if file not in known and any(part in name for part in _FONT_FILES):
            _add(font_manager, file)
    have = {f.name for f in font_manager.fontManager.ttflist}
    found = next((name for name in KOREAN_FONTS if name in have), None)
    if found is None:
        file = bundled_font_file()
        if file is not None and _add(font_manager, file):
            found = next(f.name for f in font_manager.fontManager.ttflist if f.fname == file)
    return found
