"""Korean pictures on a machine whose system has no font with Hangul (a fresh Linux, WSL, Docker
or Colab): drawn with the NanumGothic that koreanize-matplotlib ships, not as empty boxes; where
that package is missing too, drawn in English, and the picture says why.

Each case runs in its own Python process, with a fresh matplotlib cache, in which matplotlib
sees no system font: its font list keeps only the fonts matplotlib itself ships (DejaVu, STIX,
Computer Modern, and the Last Resort font that draws every letter it lacks as a box), and its
search for system fonts finds nothing. The test first checks that no font left can draw a
Hangul syllable, so the case is what it says; a letter "drawn" only by the Last Resort font
counts as an empty box.
"""

import json
import subprocess
import sys

import pytest

from cli_util import BASE_ENV

pytest.importorskip("matplotlib")

NO_SYSTEM_FONTS = r'''
import json, logging, sys, warnings
import matplotlib

logged = []  # matplotlib logs a letter its font lacks ("does not have a glyph for ...")
handler = logging.Handler()
handler.emit = lambda record: logged.append(record.getMessage())
logging.getLogger("matplotlib").addHandler(handler)
matplotlib.use("Agg")
from matplotlib import font_manager as fm
from matplotlib.ft2font import FT2Font

own = matplotlib.get_data_path()
fm.findSystemFonts = lambda *args, **kwargs: []
fm.fontManager.ttflist = [f for f in fm.fontManager.ttflist if f.fname.startswith(own)]
fm.FontManager._findfont_cached.cache_clear()


def draws(font, ch):  # a real glyph: matplotlib's Last Resort font maps everything to a box
    return "LastResort" not in font and FT2Font(font).get_char_index(ord(ch)) != 0


hangul_fonts = [f.fname for f in fm.fontManager.ttflist if draws(f.fname, "학")]

import lec4_jax as lj
from lec4_jax.tool import fonts, plots
if sys.argv[1] == "no package":
    fonts.BUNDLED = ("no_such_package_lec4", "fonts/none.ttf")
before = dict(matplotlib.rcParams)
x, y = lj.lecture_data()
result = lj.train_grid(lj.learning_rates(0.1, 0.6, 8), [1.0], x, y, epochs=5)
stable = lj.stable_learning_rates([1.0, 2.0, 3.0])
drawn = plots._lang_for_picture("ko")
with plots._font_context(drawn):
    title = plots.title_in({"en": "the lecture's data", "ko": "강의 데이터"}, drawn)
    fig = plots.sweep_figure(result, 2.0, stable, title, lang=drawn)
    hangul_by = sorted({str(f) for f in fm.fontManager._find_fonts_by_props(
        fig.axes[0].title.get_fontproperties()) if draws(str(f), "학")})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = plots._drawn(fig, "ko", drawn)  # the figure is drawn, then closed
    texts = [t for t in fig.findobj(matplotlib.text.Text) if t.get_text().strip()]
    missing = sorted({ch for t in texts for ch in t.get_text() if not ch.isspace() and not any(
        draws(str(f), ch) for f in fm.fontManager._find_fonts_by_props(t.get_fontproperties()))})
    words = [t.get_text() for t in texts]
open(sys.argv[2], "wb").write(png)
print(json.dumps({
    "hangul_fonts": hangul_fonts, "family": plots.korean_font(), "drawn": drawn,
    "title": title, "hangul_by": hangul_by, "missing": missing, "words": words,
    "warnings": [str(w.message) for w in caught] + logged,
    "imported_koreanize": "koreanize_matplotlib" in sys.modules,
    "rc_changed": sorted(k for k, v in matplotlib.rcParams.items() if before.get(k) != v),
}))
'''


def draw(case, tmp_path):
    env = dict(BASE_ENV, MPLCONFIGDIR=str(tmp_path / "mplconfig"))
    png = tmp_path / "picture.png"
    proc = subprocess.run([sys.executable, "-c", NO_SYSTEM_FONTS, case, str(png)], env=env,
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["hangul_fonts"] == []  # the machine this case claims: no font with Hangul
    assert png.read_bytes()[:4] == b"\x89PNG"
    return out


def hangul(text):
    return any("\uac00" <= ch <= "\ud7a3" for ch in text)


def test_a_korean_picture_without_a_system_font_uses_the_font_pip_installed(tmp_path):
    from lec4_jax import messages
    from lec4_jax.tool import fonts

    if fonts.bundled_font_file() is None:
        pytest.skip("koreanize-matplotlib is not installed (requirements-dev.txt installs it)")
    out = draw("bundled", tmp_path)
    assert (out["family"], out["drawn"], out["title"]) == ("NanumGothic", "ko", "강의 데이터")
    (font,) = out["hangul_by"]  # the title's Hangul: drawn by the font pip installed
    assert font.endswith("koreanize_matplotlib/fonts/NanumGothic.ttf")
    assert out["missing"] == []  # every letter drawn has a glyph: no empty boxes
    assert out["warnings"] == []  # nor a glyph matplotlib found missing (the axes' 10^{-1})
    assert "학습률" in out["words"] and any(w.startswith("강의 데이터\n") for w in out["words"])
    assert messages.text("plots", "no_font", "en") not in out["words"]
    # the font was loaded by its path: koreanize-matplotlib's import, which sets matplotlib's
    # global font settings, never ran, and the global settings are as they were
    assert not out["imported_koreanize"] and out["rc_changed"] == []


def test_without_any_font_with_hangul_the_picture_is_english_and_says_why(tmp_path):
    from lec4_jax import messages

    out = draw("no package", tmp_path)
    assert (out["family"], out["drawn"], out["title"]) == (None, "en", "the lecture's data")
    assert out["missing"] == [] and out["warnings"] == []
    assert not any(hangul(w) for w in out["words"])
    assert "learning rate" in out["words"]
    assert messages.text("plots", "no_font", "en") in out["words"]
    assert "pip install koreanize-matplotlib" in messages.text("plots", "no_font", "en")


def test_the_bundled_font_is_found_without_importing_its_package(monkeypatch):
    from lec4_jax.tool import fonts

    if fonts.bundled_font_file() is None:
        pytest.skip("koreanize-matplotlib is not installed (requirements-dev.txt installs it)")
    assert fonts.bundled_font_file().endswith("NanumGothic.ttf")
    assert "koreanize_matplotlib" not in sys.modules
    monkeypatch.setattr(fonts, "BUNDLED", ("no_such_package_lec4", "fonts/none.ttf"))
    assert fonts.bundled_font_file() is None
    monkeypatch.setattr(fonts, "BUNDLED", ("json", "fonts/none.ttf"))  # a module, no font
    assert fonts.bundled_font_file() is None


def test_the_font_package_is_installed_for_the_notebooks_and_the_tests():
    # the package fonts.BUNDLED names is what the notebooks' and the tests' installs bring
    from pathlib import Path

    from lec4_jax.tool import fonts

    root = Path(__file__).resolve().parents[1]
    wanted = fonts.BUNDLED[0].replace("_", "-")
    for name in ("requirements-notebooks.txt", "requirements-dev.txt", "constraints.txt"):
        lines = [line.split("#")[0].strip() for line in (root / name).read_text().splitlines()]
        assert f"{wanted}==0.1.1" in lines, name


def test_a_font_file_that_cannot_be_read_is_not_used(monkeypatch, tmp_path):
    from matplotlib import font_manager

    from lec4_jax.tool import fonts

    broken = tmp_path / "NanumBroken.ttf"
    broken.write_bytes(b"not a font")
    kept = list(font_manager.fontManager.ttflist)
    try:
        assert not fonts._add(font_manager, str(broken))
        assert not fonts._add(font_manager, str(tmp_path / "missing.ttf"))
    finally:
        font_manager.fontManager.ttflist = kept

    def refuse(name):
        raise ValueError(name)  # what find_spec raises for a module without a spec

    monkeypatch.setattr(fonts.importlib.util, "find_spec", refuse)
    assert fonts.bundled_font_file() is None
