"""The lesson's notebooks: built from one source, the same code in Korean and English, and they
run clean, headless, with the outputs that are committed."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
sys.path.insert(0, str(NOTEBOOKS))
import build  # noqa: E402  (notebooks/build.py: the one source of both notebooks)


def committed(lang):
    return nbformat.read(build.path(lang), as_version=4)


def code_cells(nb):
    return [c.source for c in nb.cells if c.cell_type == "code"]


def text_outputs(nb):
    """Each code cell's printed text and plain-text results, errors included."""
    return ["".join(text for kind, text in cell if kind != "stderr") for cell in build.meaning(nb)]


def test_the_two_notebooks_have_the_same_code():
    assert code_cells(committed("ko")) == code_cells(committed("en"))
    assert len(code_cells(committed("en"))) >= 15


def test_the_committed_notebooks_are_what_the_source_builds():
    proc = subprocess.run([sys.executable, str(NOTEBOOKS / "build.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_the_prose_is_in_each_language():
    ko = " ".join(c.source for c in committed("ko").cells if c.cell_type == "markdown")
    en = " ".join(c.source for c in committed("en").cells if c.cell_type == "markdown")
    assert "역전파" in ko and "연쇄 법칙" in ko
    assert "back-propagation" in en and not any("\uac00" <= ch <= "\ud7a3" for ch in en)


@pytest.mark.parametrize("lang", build.LANGS)
def test_a_fresh_run_shows_what_is_committed(lang):
    """Judged by what the cells show (build.meaning): the same printed text, results, errors and
    pictures, in order; not by bytes that depend on the machine (Graphviz's SVG or matplotlib's
    PNG for the graph) or on the kernel (its own log lines on stderr)."""
    fresh = build.execute(build.notebook(lang))
    shown = build.meaning(fresh)
    assert not [piece for cell in shown for piece in cell if piece[0] == "error"]
    assert shown == build.meaning(committed(lang))
    assert sum(piece == ("picture", "") for cell in shown for piece in cell) == 2  # graph, sweep


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


def test_the_lecture_lines_in_the_notebook_are_the_lectures():
    texts = text_outputs(committed("en"))
    (lines,) = [t for t in texts if t.startswith("predict (BT)")]
    assert lines.splitlines()[1] == "\tgrad:  1.0 2.0 -2.0"
    assert lines.splitlines()[-1] == "predict (AT) 4.0 7.9904804"
    assert json.dumps(texts).count("not answered yet: ") == 3  # the exercises come blank


# Each exercise of the notebook, a right answer and a wrong one.
ANSWERS = [(-8.0, -2.0), ({"w": 2.0, "b": 2.0}, {"w": 2.0, "b": 1.0}),
           ({"w2": 8.0, "w1": 4.0, "b": 2.0}, {"w2": 8.0, "w1": 2.0, "b": 2.0})]


def test_the_notebooks_exercises_check_right_wrong_and_blank_answers(capsys):
    """The exercise cells as committed, run with the blank, then a right and a wrong answer put
    in programmatically: "not answered yet", "correct", and a failing cell with a hint."""
    from lec4_jax.exercises import WrongAnswer

    cells = code_cells(committed("en"))
    pairs = [(c, cells[i + 1]) for i, c in enumerate(cells) if c.startswith("answer = None")]
    assert len(pairs) == len(ANSWERS)
    for (blank, check), (right, wrong) in zip(pairs, ANSWERS):
        scope = {}
        exec("from lec4_jax import exercises", scope)
        exec(blank, scope)
        exec(check, scope)
        assert capsys.readouterr().out.startswith("not answered yet: ")
        scope["answer"] = right
        exec(check, scope)
        assert capsys.readouterr().out.startswith("correct: ")
        scope["answer"] = wrong
        with pytest.raises(WrongAnswer, match="^not yet: .* Hint: "):
            exec(check, scope)
