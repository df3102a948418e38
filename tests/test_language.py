"""lec4_jax.language: lj.set_language("ko") makes the tables, pictures and exercise verdicts
Korean; English stays the default, and the command line's words do not change.

The words expected are read from the message catalogue (lec4_jax/locale/<lang>/*.toml): a
translator's fix changes no test here. What is checked is which language's words appear where,
and that the tables stay aligned."""

import unicodedata

import numpy as np
import pytest

import lec4_jax as lj
from lec4_jax import language, messages, walkthrough

KO, EN = messages.section("walkthrough", "ko"), messages.section("walkthrough", "en")


@pytest.fixture(autouse=True)
def unset():
    language.set_language(None)
    yield
    language.set_language(None)


def hangul(text):
    return any("\uac00" <= ch <= "\ud7a3" for ch in text)


def test_only_english_or_korean():
    with pytest.raises(ValueError, match="language must be one of en, ko, not 'fr'"):
        lj.set_language("fr")
    with pytest.raises(ValueError, match="not 'fr'"):
        language.language("fr")
    assert language.language() == "en" and language.chosen() is None
    lj.set_language("ko")
    assert language.language() == "ko" and language.language("en") == "en"
    # once Korean is set, the refusal is in Korean too
    with pytest.raises(ValueError) as refused:
        lj.set_language("fr")
    assert str(refused.value) == messages.text("language", "unknown", "ko", langs="en, ko",
                                               lang="fr")
    assert hangul(str(refused.value)) and language.language() == "ko"


def test_exercise_verdicts_follow_the_language():
    # which words the verdicts use is tests/test_exercises.py's; here, only that they follow the
    # language set: Korean once "ko" is set, English once "en" is, an explicit lang winning
    lj.set_language("ko")
    assert hangul(lj.exercises.check("lecture_x2", None))
    lj.set_language("en")
    assert not hangul(lj.exercises.check("lecture_x2", None))
    assert hangul(lj.exercises.check("lecture_x2", None, "ko"))
    with pytest.raises(ValueError):
        lj.exercises.check("lecture_x2", None, "fr")


def test_the_walk_through_table_in_korean():
    walk = lj.explain(lj.Example.of("linear"))
    en = lj.table(walk, ("w",))
    lj.set_language("ko")
    ko = lj.table(walk, ("w",))
    assert en == lj.table(walk, ("w",), lang="en")  # an explicit lang wins
    assert ko[0] == KO["forward"] and ko[1].split() == [KO[k] for k in ("node", "op", "inputs",
                                                                        "value")]
    assert ko[5].split() == ["w", KO["param"], "1.0"]
    assert ko[10] == KO["backward"] and KO["local"] in ko[11]
    assert en[0] == EN["forward"] and not any(hangul(line) for line in en)
    # Hangul takes two columns: the columns after a Korean cell still line up under the rule
    rule = cell_starts(ko[2])
    assert len(rule) == 4 and cell_starts(ko[1]) == rule
    assert all(cell_starts(row) <= rule for row in ko[3:9])
    assert len(cell_starts(ko[5])) == 3  # w: a parameter, no inputs


def cell_starts(line: str) -> set:
    """The screen columns (a Hangul syllable two wide) where the line's cells begin: a cell is
    text after the line's start or after two spaces."""
    starts, col, gap = set(), 0, 2
    for ch in line:
        if ch != " " and gap >= 2:
            starts.add(col)
        gap = gap + 1 if ch == " " else 0
        col += 2 if unicodedata.east_asian_width(ch) in "WF" else 1
    return starts


def test_the_modes_table_in_korean():
    example = lj.Example.of("linear")
    ko = lj.modes_table(example, lang="ko")
    assert ko[0] == KO["modes"].format(n=1)
    assert ko[1].split()[:2] == [KO["node"], KO["value"]]
    assert ko[-1] == f"dloss/dw = -2.0  ({KO['agree']})"
    assert lj.modes_table(example)[-1] == f"dloss/dw = -2.0  ({EN['agree']})"


def test_the_graphs_words_in_korean():
    example = lj.Example.of("linear")
    walk = lj.explain(example)
    assert walkthrough.title(example, lang="ko").endswith(
        ", " + KO["at"].format(at="x=1.0, y=2.0, w=1.0"))
    assert walkthrough.title(example).endswith(", at x=1.0, y=2.0, w=1.0")
    label = walkthrough.node_label(walk, walk.node("w"), lang="ko")
    assert label == f"w\n{KO['value']} 1.0\ndloss/dw -2.0"
    assert f"{KO['value']} 1.0" in walkthrough.dot(walk, ("w",), lang="ko")
    assert "value 1.0" in walkthrough.dot(walk, ("w",))


def _texts(fig):
    return [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]


def test_the_matplotlib_graph_in_korean():
    plots = pytest.importorskip("lec4_jax.tool.plots")
    walk = lj.explain(lj.Example.of("linear"))
    fig = plots.graph_figure(walk, ("w",), lang="ko")
    assert f"w\n{KO['value']} 1.0\ndloss/dw -2.0" in _texts(fig)
    plots._pyplot().close(fig)


def _sweep():
    x, y = lj.lecture_data()
    result = lj.train_grid(lj.learning_rates(0.1, 0.6, 8), [1.0], x, y, epochs=5)
    return result, lj.stable_learning_rates([1.0, 2.0, 3.0])


def test_the_sweep_picture_in_korean():
    plots = pytest.importorskip("lec4_jax.tool.plots")
    words = messages.section("plots", "ko")
    result, rates = _sweep()
    fig = plots.sweep_figure(result, 2.0, rates, "강의 데이터", lang="ko")
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == (words["lr"], words["one_param"])
    assert ax.get_title() == "강의 데이터\n" + words["shaded"] + words["shade_linear"]
    assert words["diverged"] in [t.get_text() for t in ax.get_legend().get_texts()]
    assert all(hangul(words[k]) for k in ("lr", "one_param", "shaded", "diverged"))
    plots._pyplot().close(fig)
    fig = plots.sweep_figure(result, 2.0, rates, "the lecture's data")
    assert fig.axes[0].get_xlabel() == messages.text("plots", "lr", "en") == "learning rate"
    plots._pyplot().close(fig)


def test_a_sweep_title_in_each_language():
    plots = pytest.importorskip("lec4_jax.tool.plots")
    titles = {"en": "the lecture's data", "ko": "강의 데이터"}
    assert plots.title_in(titles, "ko") == "강의 데이터"
    assert plots.title_in(titles, "en") == "the lecture's data"
    assert plots.title_in({"en": "only English"}, "ko") == "only English"
    assert plots.title_in("one title", "ko") == "one title"


def test_a_korean_picture_needs_a_font_with_hangul(monkeypatch):
    """Where no font can draw Hangul, a picture is drawn in English rather than in boxes."""
    plots = pytest.importorskip("lec4_jax.tool.plots")
    monkeypatch.setattr(plots, "korean_font", lambda: None)
    assert plots._lang_for_picture("ko") == "en"
    monkeypatch.setattr(plots, "korean_font", lambda: "Some Korean Font")
    assert plots._lang_for_picture("ko") == "ko"
    assert plots._lang_for_picture("en") == "en"
    lj.set_language("ko")
    assert plots._lang_for_picture(None) == "ko"


def test_the_pictures_for_a_notebook():
    pytest.importorskip("matplotlib")
    display = pytest.importorskip("IPython.display")
    lj.set_language("ko")
    graph = lj.graph_picture(lj.Example.of("linear"))
    assert isinstance(graph, (display.SVG, display.Image))
    if isinstance(graph, display.SVG):
        assert "값 1.0" in graph.data
    result, rates = _sweep()
    sweep = lj.sweep_picture(result, 2.0, rates, "강의 데이터")
    assert isinstance(sweep, display.Image) and sweep.data[:4] == b"\x89PNG"


def test_the_graph_picture_without_graphviz_is_matplotlibs_png(monkeypatch):
    # No dot on PATH: the same graph drawn by matplotlib, a PNG (in Korean where a Hangul font
    # is found, else in English rather than as empty boxes).
    pytest.importorskip("matplotlib")
    display = pytest.importorskip("IPython.display")
    from lec4_jax.tool import pictures

    monkeypatch.setattr(pictures.shutil, "which", lambda name: None)
    graph = lj.graph_picture(lj.Example.of("w_squared"), lang="ko")
    assert isinstance(graph, display.Image) and graph.data[:4] == b"\x89PNG"


def test_the_command_line_words_stay_english():
    """The CLI never sets a language: its tables are the English ones, whatever the notebook
    chose in another process."""
    walk = lj.explain(lj.Example.of("linear"))
    assert lj.table(walk, ("w",))[0] == "forward pass"
    assert np.all([not hangul(line) for line in lj.modes_table(lj.Example.of("linear"))])
