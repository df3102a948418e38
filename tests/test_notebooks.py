"""The lesson's notebooks: jupytext pairs (a percent-format .py beside each .ipynb), the same
code in Korean and English, the learner's own JAX loop and code exercises right after the skill
they test, every verdict shown and never raised; a fresh run prints what is committed."""

import re
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
jupytext = pytest.importorskip("jupytext")
pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "notebooks"))
sys.path.insert(0, str(ROOT / "tools" / "student"))
import execute  # noqa: E402  (notebooks/execute.py)
from solutions import SOLUTIONS  # noqa: E402  (the teacher's key)

from lec4_jax import exercises  # noqa: E402

LANGS = execute.LANGS
OPTIONAL = {"en": "## Optional — ", "ko": "## 심화(선택) — "}
WHY = {"en": "*Why care:* ", "ko": "*왜 알아 두면 좋을까요:* "}
EXERCISES = ["lecture_x2", "bias", "bias_grad", "polynomial", "chain_w2", "sgd_epoch"]


def committed(lang):
    return nbformat.read(execute.path(lang), as_version=4)


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def markdown(nb):
    return [c.source for c in nb.cells if c.cell_type == "markdown"]


def hangul(text):
    return any("\uac00" <= ch <= "\ud7a3" for ch in text)


def tagged(nb, kind):
    return {t.split(":", 1)[1]: i for i, c in enumerate(nb.cells)
            for t in c.metadata.get("tags", []) if t.startswith(kind + ":")}


@pytest.mark.parametrize("lang", LANGS)
def test_each_notebook_is_a_jupytext_pair(lang):
    """The .py holds the cells; the .ipynb the same cells with outputs; the .py is in jupytext's
    own form, so an edit in Jupyter or an editor changes only the lines it touches."""
    text = execute.path(lang, "py").read_text(encoding="utf-8")
    source, nb = execute.source(lang), committed(lang)
    assert [(c.cell_type, c.source) for c in source.cells] == [
        (c.cell_type, c.source) for c in nb.cells]
    assert "formats: ipynb,py:percent" in text
    assert jupytext.writes(jupytext.reads(text, fmt="py:percent"), fmt="py:percent") == text
    line = next(ln for ln in text.splitlines() if "역전파" in ln or "back-propagation" in ln)
    edited = text.replace(line, line + " 한 문장", 1)  # one sentence changed
    again = jupytext.writes(jupytext.reads(edited, fmt="py:percent"), fmt="py:percent")
    assert sum(a != b for a, b in zip(again.splitlines(), text.splitlines())) == 1
    assert not (ROOT / "notebooks" / "build.py").exists()


def test_the_two_notebooks_have_the_same_code():
    """Only the comments and the printed words differ: the code is the same, cell for cell."""
    ko, en = code_cells(execute.source("ko")), code_cells(execute.source("en"))
    assert len(ko) == len(en) >= 30
    for a, b in zip(ko, en):
        assert execute.skeleton(a.source) == execute.skeleton(b.source), (a.source, b.source)
        assert a.metadata.get("tags") == b.metadata.get("tags")
    assert execute.skeleton('print("a")  # b') == execute.skeleton("print('c')")
    assert execute.skeleton("print(1)") != execute.skeleton("print(2)")


def test_the_prose_is_in_each_language_with_the_courses_name_and_the_codes_source():
    for lang in LANGS:
        text = " ".join(markdown(execute.source(lang)))
        assert "모두를 위한 딥러닝 시즌 2" in text
        assert "https://github.com/hunkim/PyTorchZeroToAll" in text
        assert "03_auto_gradient.py" in text
        assert "tensor(-7.8400)" in text and "tensor(4.)" in text  # how PyTorch prints
        assert "explain.py" not in text  # it prints the answers at its default points
    ko, en = (" ".join(markdown(execute.source(lang))) for lang in ("ko", "en"))
    assert "역전파" in ko and "연쇄 법칙" in ko and "국소 기울기" in ko
    assert "back-propagation" in en and not hangul(en.replace("모두를 위한 딥러닝 시즌 2", ""))


@pytest.mark.parametrize("lang", LANGS)
def test_the_learner_writes_the_loop_right_after_the_lectures_code(lang):
    nb = execute.source(lang)
    quote = next(i for i, c in enumerate(nb.cells) if "w.requires_grad_(True)" in c.source)
    after = [c.source for c in nb.cells[quote + 1:] if c.cell_type == "code"][:6]
    joined = "\n".join(after)
    for line in ("def forward(w, x):", "def loss(w, x, y):", "grad = jax.grad(loss)",
                 "w = w - 0.01 * g", "for epoch in range(20):",
                 "lj.exercises.compare_run(lines)", "jax.value_and_grad(loss)"):
        assert line in joined, line
    assert "lj.lecture.train(" not in joined  # the reference comes after, not first
    assert not any("import lec4_jax.lecture" in s or "from lec4_jax.lecture" in s for s in after)


@pytest.mark.parametrize("lang", LANGS)
def test_each_exercise_follows_its_skill_and_its_graph(lang):
    nb = execute.source(lang)
    answers, checks = tagged(nb, "answer"), tagged(nb, "check")
    assert list(answers) == EXERCISES == list(checks)
    first_optional = next(i for i, c in enumerate(nb.cells) if OPTIONAL[lang] in c.source)
    pictures = {m: i for i, c in enumerate(nb.cells) for m in
                ("linear", "affine", "quadratic", "w_squared")
                if c.cell_type == "code" and "graph_picture(" in c.source
                and (m in c.source or (m == "linear" and "(example)" in c.source))}
    graph = {"lecture_x2": "linear", "bias": "affine", "bias_grad": "affine",
             "polynomial": "quadratic", "chain_w2": "w_squared"}
    for name in EXERCISES:
        assert answers[name] + 1 == checks[name] < first_optional
        if name in graph:
            assert pictures[graph[name]] < answers[name], name
    addition = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"
                    and ("덧셈 노드" in c.source or "addition node" in c.source))
    assert addition < answers["bias"]
    for name in ("lecture_x2", "bias", "polynomial"):  # each question, as the checker states it
        assert exercises.EXERCISES[name].text(lang) in nb.cells[answers[name] - 1].source


@pytest.mark.parametrize("lang", LANGS)
def test_the_optional_sections_come_last_and_say_why(lang):
    md = markdown(execute.source(lang))
    optional = [i for i, m in enumerate(md) if OPTIONAL[lang] in m]
    assert len(optional) == 7
    for i in optional:
        assert WHY[lang] in md[i]


# A fresh run ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fresh():
    """Both notebooks, executed from their .py (one run each, shared by the tests below)."""
    return {lang: execute.execute(execute.source(lang)) for lang in LANGS}


@pytest.mark.parametrize("lang", LANGS)
def test_a_fresh_run_prints_what_is_committed(fresh, lang):
    """The same text in every cell, results and errors included, and a picture where there is
    one, whatever drew it. The notebooks print no timing and no address; the one thing that
    must vary is what the cells tagged "cpu" print (the compiled runs' last digits and where FMA
    changes them, which depend on the CPU: the committed ones are from an x86-64 CPU with FMA),
    so of those only the kinds of output are compared."""
    new, old = execute.meaning(fresh[lang]), execute.meaning(committed(lang))
    cpu = ["cpu" in c.metadata.get("tags", []) for c in code_cells(committed(lang))]
    assert len(new) == len(old) == len(cpu) and sum(cpu) == 3
    for i, (a, b, measured) in enumerate(zip(new, old, cpu)):
        if measured:
            a, b = [kind for kind, _ in a], [kind for kind, _ in b]
        assert a == b, (i, a, b)
    shown = [kind for cell in new for kind, _ in cell]
    assert "error" not in shown and "stderr" not in shown


def test_the_korean_notebook_prints_korean_and_the_english_none(fresh):
    text = {lang: "".join(t for cell in execute.meaning(fresh[lang]) for k, t in cell)
            for lang in LANGS}
    assert "아직 답을 적지 않았습니다" in text["ko"]
    assert "모든 숫자가 PyTorch의 float32 값과도 같습니다" in text["ko"]
    assert "출력한 82줄이 lj.lecture의 출력과 한 줄 한 줄 같습니다." in text["ko"]
    assert not hangul(text["en"]) and "your 82 lines are lj.lecture's, line for line." in text["en"]


# Right, wrong and blank answers, filled in programmatically ---------------------------------

WRONG = {
    "lecture_x2": "answer_1 = -2.0",
    "bias": 'answer_2 = {"w": 6.0, "b": 1.0}',
    "bias_grad": ("def bias_loss(params, x, y):\n    return (x * params['w'] - y) ** 2\n\n\n"
                  "bias_grad = jax.grad(bias_loss)"),
    "polynomial": 'answer_4 = {"w2": 2.0, "w1": -9.0, "b": -3.0}',
    "chain_w2": "def grad_w_squared(w, x, y):\n    return 2 * (x * w * w - y) * x",
    "sgd_epoch": ("def sgd_epoch(params, x_data, y_data, lr):\n"
                  "    return {'w': params['w'], 'b': params['b']}"),
}
STATUS = {"en": ("correct: ", "not yet: ", "not answered yet: "),
          "ko": ("정답입니다: ", "다시 생각해 보세요.", "아직 답을 적지 않았습니다.")}


def run_core(lang, answers):
    """The lesson up to its optional sections, with the answer cells replaced, executed."""
    nb = execute.source(lang)
    end = next(i for i, c in enumerate(nb.cells) if OPTIONAL[lang] in c.source)
    nb.cells = nb.cells[:end]
    for name, i in tagged(nb, "answer").items():
        if name in answers:
            nb.cells[i].source = answers[name]
    nb = execute.execute(nb)
    return {name: "".join(t for _, t in execute.meaning(nbformat.from_dict(
        {"cells": [nb.cells[i]], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))[0])
        for name, i in tagged(nb, "check").items()}


@pytest.mark.parametrize("lang", LANGS)
def test_right_wrong_and_blank_answers_in_the_notebook(fresh, lang):
    right = run_core(lang, {k: v.strip() for k, v in SOLUTIONS.items()})
    wrong = run_core(lang, WRONG)
    blank = {name: "".join(t for _, t in execute.meaning(fresh[lang])[
        sum(1 for c in fresh[lang].cells[:i] if c.cell_type == "code")])
        for name, i in tagged(fresh[lang], "check").items()}
    ok, no, empty = STATUS[lang]
    for name in EXERCISES:
        assert right[name].startswith(ok), (name, right[name])
        assert wrong[name].startswith(no), (name, wrong[name])
        assert blank[name].startswith(empty), (name, blank[name])
        for verdict in (right[name], wrong[name], blank[name]):
            assert "Traceback" not in verdict and verdict.count("\n") <= 1
        print(f"{lang} {name}\n  right: {right[name]}\n  wrong: {wrong[name]}\n"
              f"  blank: {blank[name]}")


@pytest.mark.parametrize("lang", LANGS)
def test_the_quoted_pytorch_code_runs_as_written_and_prints_as_the_notebook_says(lang, capsys):
    """The lecture's code, copied from the notebook into a cell, runs (with torch installed) and
    prints tensors to four decimals, as the notebook says: tensor(4.), then tensor(-7.8400)."""
    torch = pytest.importorskip("torch")
    text = "\n".join(markdown(execute.source(lang)))
    quoted = re.search(r"```python\n(import torch\n.*?)```", text, re.S).group(1)
    torch.manual_seed(0)
    exec(compile(quoted, "<the lecture's code>", "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "predict (BT) 4 tensor(4.)"
    assert printed[2] == "\tgrad:  2.0 4.0 tensor(-7.8400)"
    assert len(printed) == 82


FORMULA = {"en": "## Optional — your own formula", "ko": "## 심화(선택) — 나만의 식 써 보기"}


@pytest.mark.parametrize("lang", LANGS)
def test_the_last_optional_section_takes_the_learners_own_formula(lang):
    """After the exercises and outside the assignment: a formula typed as text is drawn, walked
    (lj.table), compared with jax.grad and trained; one that cannot be read is one printed line,
    and the section goes on with the default formula, so "Run all" still runs to the end."""
    nb = execute.source(lang)
    start = next(i for i, c in enumerate(nb.cells) if FORMULA[lang] in c.source)
    assert start > max(tagged(nb, "check").values())
    assert not any(OPTIONAL[lang] in c.source for c in nb.cells[start + 1:])
    code = "\n".join(c.source for c in nb.cells[start:] if c.cell_type == "code")
    for call in ('formula = "x*w**2 + b"', "lj.model.get(formula)", "lj.graph_picture(point)",
                 "lj.table(walk, mine.params)", "jax.grad(mine.loss)"):
        assert call in code, call
    section = [nb.cells[1]] + [nbformat.from_dict(dict(c)) for c in nb.cells[start:]]
    for c in section:
        if c.cell_type == "code" and c.source.startswith("formula = "):
            c.source = c.source.replace('"x*w**2 + b"', '"x*w + y"', 1)  # y: not allowed
    ran = execute.execute(nbformat.v4.new_notebook(cells=section, metadata=nb.metadata))
    shown = execute.meaning(ran)
    assert "error" not in [kind for cell in shown for kind, _ in cell]
    first = "".join(text for _, text in shown[1])
    cannot = {"en": "this formula cannot be read: ", "ko": "이 식은 읽을 수 없습니다: "}[lang]
    assert first.startswith(cannot) and "y_hat = x*w**2 + b" in first
    trained = "".join(text for _, text in shown[-1])
    assert trained.count("\n") == 3
