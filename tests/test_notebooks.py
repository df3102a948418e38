"""The lesson's notebooks: built from one source, the same code in Korean and English, opening
on the lecture's loop, with the exercises right after the skill they test and everything beyond
lecture 4 marked optional; they run clean, headless, with the outputs that are committed, and
the Korean one prints Korean."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
sys.path.insert(0, str(NOTEBOOKS))
import build  # noqa: E402  (notebooks/build.py: the one source of both notebooks)

OPTIONAL = {"en": "## Optional — ", "ko": "## 심화(선택) — "}
WHY = {"en": "*Why care:* ", "ko": "*왜 알아 두면 좋을까요:* "}
VERDICTS = {"en": ("not answered yet: ", "correct: ", "^not yet: .* Hint: "),
            "ko": ("아직 답을 적지 않았습니다: ", "정답입니다: ", "^아직 아닙니다: .* 힌트: ")}


def committed(lang):
    return nbformat.read(build.path(lang), as_version=4)


def code_cells(nb):
    return [c.source for c in nb.cells if c.cell_type == "code"]


def markdown(nb):
    return [c.source for c in nb.cells if c.cell_type == "markdown"]


def text_outputs(nb):
    """Each code cell's printed text and plain-text results, errors included."""
    return ["".join(text for kind, text in cell if kind != "stderr") for cell in build.meaning(nb)]


def hangul(text):
    return any("\uac00" <= ch <= "\ud7a3" for ch in text)


def test_the_two_notebooks_have_the_same_code():
    """Only the comments and the printed words differ: the code is the same."""
    ko, en = code_cells(committed("ko")), code_cells(committed("en"))
    assert len(ko) == len(en) >= 15
    for a, b in zip(ko, en):
        assert build.skeleton(a) == build.skeleton(b), (a, b)
    assert build.skeleton('print("a")  # b') == build.skeleton("print('c')")
    assert build.skeleton("print(1)") != build.skeleton("print(2)")


def test_the_committed_notebooks_are_what_the_source_builds():
    proc = subprocess.run([sys.executable, str(NOTEBOOKS / "build.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_the_prose_is_in_each_language():
    ko = " ".join(markdown(committed("ko")))
    en = " ".join(markdown(committed("en")))
    assert "역전파" in ko and "연쇄 법칙" in ko
    assert "back-propagation" in en and not hangul(en)


def test_they_open_on_the_lectures_loop_beside_the_jax_loop():
    for lang in build.LANGS:
        nb = committed(lang)
        first = markdown(nb)[1]  # after the title
        for torch_line in ("w.requires_grad_(True)", "l.backward()", "w.grad.data.zero_()",
                           "w.data = w.data - 0.01 * w.grad.data"):
            assert torch_line in first
        for jax_line in ("grad = jax.grad(loss)", "w = w - lr * g", "def loss(w, x, y):"):
            assert jax_line in first
        assert "| `w.grad.data.zero_()` |" in first  # the table, line by line
        assert code_cells(nb)[1] == "w = lj.lecture.train()"


def test_the_jax_loop_shown_is_the_lecture_modules_code():
    """Each line of the JAX block is a line of lec4_jax/lecture.py (less its comment)."""
    lines = {line.split("  #")[0].rstrip() for line in
             (ROOT / "lec4_jax" / "lecture.py").read_text().splitlines()}
    for line in build.JAX_LOOP.splitlines():
        assert not line.strip() or line.rstrip() in lines, line
    assert "w.grad.data.zero_()" in build.torch_loop("en")
    assert not hangul(build.torch_loop("en")) and hangul(build.torch_loop("ko"))


def test_the_lesson_comes_first_and_the_rest_is_marked_optional():
    for lang in build.LANGS:
        cells = committed(lang).cells
        headings = [c.source.split("\n## ", 1)[-1].splitlines()[0] for c in cells
                    if c.cell_type == "markdown" and "## " in c.source]
        optional = [c.source for c in cells if c.cell_type == "markdown"
                    and OPTIONAL[lang] in c.source]
        assert len(optional) == 6, headings
        for text in optional:  # each says in one sentence why a learner would care
            after = text.split(OPTIONAL[lang], 1)[1]
            assert after.split("\n\n", 1)[1].startswith(WHY[lang]), text
        first_optional = next(i for i, c in enumerate(cells) if c.source in optional)
        checks = [i for i, c in enumerate(cells) if "lj.exercises.check(" in c.source]
        assert len(checks) == 3 and max(checks) < first_optional
        worked = next(i for i, c in enumerate(cells) if c.cell_type == "markdown"
                      and "−2 · x = −2" in c.source)
        assert worked < checks[0]  # exercise 1 comes right after the worked example


@pytest.mark.parametrize("lang", build.LANGS)
def test_a_fresh_run_shows_what_is_committed(lang):
    """Judged by what the cells show (build.meaning): the same printed text, results, errors and
    pictures, in order; not by bytes that depend on the machine (Graphviz's SVG or matplotlib's
    PNG for the graph) or on the kernel (its own log lines on stderr)."""
    fresh = build.execute(build.notebook(lang))
    shown = build.meaning(fresh)
    assert not [piece for cell in shown for piece in cell if piece[0] == "error"]
    assert not [piece for cell in shown for piece in cell if piece[0] == "stderr"]
    assert shown == build.meaning(committed(lang))
    assert sum(piece == ("picture", "") for cell in shown for piece in cell) == 2  # graph, sweep


def test_the_korean_notebook_prints_korean():
    """Every printed output of the Korean notebook is Korean, except the lecture's own lines
    (predict, grad, progress: what the lecture's code prints) and JAX's jaxprs; the English
    notebook prints no Korean."""
    ko, en = text_outputs(committed("ko")), text_outputs(committed("en"))
    cells = code_cells(committed("ko"))
    for source, text in zip(cells, ko):
        if not text or "lj.lecture.train()" in source or "make_jaxpr" in source:
            continue
        assert hangul(text), (source, text)
    assert not any(hangul(text) for text in en)
    for source in cells:  # and the comments of the Korean code are Korean
        comments = re.findall(r"#\s*(.*)", source)
        assert all(hangul(c) or not re.search("[a-z]{4}", c) for c in comments), comments


def test_the_korean_follows_the_glossary():
    ko = " ".join(markdown(committed("ko"))) + " ".join(code_cells(committed("ko")))
    glossary = (ROOT / "docs" / "glossary.ko.md").read_text()
    for term in ("순전파", "역전파", "계산 그래프", "국소 기울기", "연쇄 법칙", "학습률", "에포크",
                 "손실", "야코비안-벡터 곱", "벡터-야코비안 곱", "유한 차분", "헤시안"):
        assert term in ko and term in glossary, term
    for avoided in ("에폭", "여접선", "위에서 내려온", "손으로 그리고", "표본 하나씩 SGD",
                    "순방향 선형 사상"):
        assert avoided not in ko, avoided


def test_the_lecture_lines_in_the_notebook_are_the_lectures():
    """The run in the first section prints what lec4_jax.lecture prints: PyTorch's numbers."""
    from lec4_jax import lecture

    printed = []
    lecture.train(out=lambda *words: printed.append(" ".join(map(str, words))))
    for lang in build.LANGS:
        texts = text_outputs(committed(lang))
        (lines,) = [t for t in texts if t.startswith("predict (BT)")]
        assert lines.splitlines() == printed
        assert lines.splitlines()[1] == "\tgrad:  1.0 2.0 -2.0"
        assert json.dumps(texts, ensure_ascii=False).count(VERDICTS[lang][0]) == 3  # blank


def test_the_kernels_own_log_lines_are_not_the_notebooks():
    log = "[IPKernelApp] WARNING | Kernel is running over TCP without encryption.\n"
    cell = nbformat.v4.new_code_cell("print(1)")
    cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text=log),
                    nbformat.v4.new_output("stream", name="stderr", text=log + "real warning\n"),
                    nbformat.v4.new_output("stream", name="stdout", text="[x] INFO | printed\n")]
    kept = [build._without_kernel_log(o) for o in cell.outputs]
    assert kept[0] is None
    assert kept[1].text == "real warning\n"
    assert kept[2].text == "[x] INFO | printed\n"  # stdout is the notebook's own


def test_a_picture_is_one_picture_whatever_drew_it():
    svg = nbformat.v4.new_output("display_data", data={"image/svg+xml": "<svg/>",
                                                       "text/plain": "<SVG object>"})
    png = nbformat.v4.new_output("display_data", data={"image/png": "iVBOR",
                                                       "text/plain": "<Image object>"})
    nbs = []
    for out in (svg, png):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell("draw()")]
        nb.cells[0].outputs = [out]
        nbs.append(nb)
    assert build.meaning(nbs[0]) == build.meaning(nbs[1]) == [[("picture", "")]]


# Each exercise of the notebook, a right answer and a wrong one.
ANSWERS = [(-8.0, -2.0), ({"w": 2.0, "b": 2.0}, {"w": 2.0, "b": 1.0}),
           ({"w2": 8.0, "w1": 4.0, "b": 2.0}, {"w2": 8.0, "w1": 2.0, "b": 2.0})]


@pytest.mark.parametrize("lang", build.LANGS)
def test_the_notebooks_exercises_check_right_wrong_and_blank_answers(lang, capsys):
    """The exercise cells as committed, run with the blank, then a right and a wrong answer put
    in programmatically: "not answered yet", "correct", and a failing cell with a hint, in the
    notebook's language."""
    from lec4_jax import language
    from lec4_jax.exercises import WrongAnswer

    nb = committed(lang)
    cells = code_cells(nb)
    pairs = [(c, cells[i + 1]) for i, c in enumerate(cells) if c.startswith("answer = None")]
    assert len(pairs) == len(ANSWERS)
    blank_said, right_said, wrong_said = VERDICTS[lang]
    try:
        for (blank, check), (right, wrong) in zip(pairs, ANSWERS):
            scope = {}
            exec(cells[0], scope)  # the notebook's first cell: imports, lj.set_language
            exec(blank, scope)
            exec(check, scope)
            assert capsys.readouterr().out.startswith(blank_said)
            scope["answer"] = right
            exec(check, scope)
            assert capsys.readouterr().out.startswith(right_said)
            scope["answer"] = wrong
            with pytest.raises(WrongAnswer, match=wrong_said):
                exec(check, scope)
    finally:
        language.set_language(None)
