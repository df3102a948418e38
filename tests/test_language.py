"""lec4_jax.language: lj.set_language("ko") makes the tables, pictures and exercise verdicts
Korean; English stays the default, and the command line's words do not change."""

import re

import numpy as np
import pytest

import lec4_jax as lj
from lec4_jax import language, walkthrough


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


def test_exercise_verdicts_follow_the_language():
    assert lj.exercises.check("lecture_x2", -8.0).count(" / ") == 1  # unset: both
    lj.set_language("ko")
    assert lj.exercises.check("lecture_x2", -8.0) == "정답입니다: dloss/dw = -8"
    assert lj.exercises.check("lecture_x2", None).startswith("아직 답을 적지 않았습니다")
    assert re.match("^다시 생각해 보세요. .* 힌트: ", lj.exercises.check("lecture_x2", -2.0))
    lj.set_language("en")
    assert lj.exercises.check("lecture_x2", -8.0) == "correct: dloss/dw = -8"
    with pytest.raises(ValueError):
        lj.exercises.check("lecture_x2", -8.0, "fr")


def test_the_walk_through_table_in_korean():
    walk = lj.explain(lj.Example.of("linear"))
    en = lj.table(walk, ("w",))
    lj.set_language("ko")
    ko = lj.table(walk, ("w",))
    assert en == lj.table(walk, ("w",), lang="en")  # an explicit lang wins
    assert ko[0] == "순전파" and ko[1].split() == ["노드", "연산", "입력", "값"]
    assert ko[5].split() == ["w", "파라미터", "1.0"]
    assert ko[10].startswith("역전파 (받은 기울기 = dloss/d(노드)")
    assert "국소 기울기 d(노드)/d(입력)" in ko[11]
    assert not any(hangul(line) for line in en)
    # Hangul takes two columns: the columns after a Korean cell still line up
    assert ko[2].index("  ", 6) == len("-----  --------")


def test_the_modes_table_in_korean():
    example = lj.Example.of("linear")
    ko = lj.modes_table(example, lang="ko")
    assert ko[0].startswith("순방향 모드") and "역방향 모드" in ko[0]
    assert ko[1].split()[:2] == ["노드", "값"]
    assert ko[-1] == "dloss/dw = -2.0  (순방향 모드와 역방향 모드가 같음)"
    assert lj.modes_table(example)[-1] == "dloss/dw = -2.0  (forward and reverse mode agree)"


def test_the_graphs_words_in_korean():
    example = lj.Example.of("linear")
    walk = lj.explain(example)
    assert walkthrough.title(example, lang="ko").endswith(", x=1.0, y=2.0, w=1.0에서")
    assert walkthrough.title(example).endswith(", at x=1.0, y=2.0, w=1.0")
    label = walkthrough.node_label(walk, walk.node("w"), lang="ko")
    assert label == "w\n값 1.0\ndloss/dw -2.0"
    assert "값 1.0" in walkthrough.dot(walk, ("w",), lang="ko")
    assert "value 1.0" in walkthrough.dot(walk, ("w",))


def _texts(fig):
    return [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]


def test_the_matplotlib_graph_in_korean():
    plots = pytest.importorskip("lec4_jax.tool.plots")
    walk = lj.explain(lj.Example.of("linear"))
    fig = plots.graph_figure(walk, ("w",), lang="ko")
    assert "w\n값 1.0\ndloss/dw -2.0" in _texts(fig)
    plots._pyplot().close(fig)


def _sweep():
    x, y = lj.lecture_data()
    result = lj.train_grid(lj.learning_rates(0.1, 0.6, 8), [1.0], x, y, epochs=5)
    return result, lj.stable_learning_rates([1.0, 2.0, 3.0])


def test_the_sweep_picture_in_korean():
    plots = pytest.importorskip("lec4_jax.tool.plots")
    result, rates = _sweep()
    fig = plots.sweep_figure(result, 2.0, rates, "강의 데이터", lang="ko")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "학습률" and ax.get_ylabel() == "학습이 끝난 뒤의 |w - w*|"
    assert ax.get_title().startswith("강의 데이터\n색칠한 곳: ")
    assert "발산" in [t.get_text() for t in ax.get_legend().get_texts()]
    plots._pyplot().close(fig)
    fig = plots.sweep_figure(result, 2.0, rates, "the lecture's data")
    assert fig.axes[0].get_xlabel() == "learning rate"
    plots._pyplot().close(fig)


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
