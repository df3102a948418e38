"""The teacher's version (tools/student/assign.py): otter-grader's student notebook, with the
solutions stripped, runs to the end with every answer blank; its autograder gives full marks to
a copy solved with the key and not to the student version as handed out."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("otter")
nbformat = pytest.importorskip("nbformat")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools" / "student"))
sys.path.insert(0, str(ROOT / "notebooks"))
import assign  # noqa: E402
import execute  # noqa: E402


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("assign")
    return out, assign.build("ko", out)


def grade(zip_path, notebook, out):
    out.mkdir()
    proc = subprocess.run([sys.executable, "-m", "otter", "run", "-a", str(zip_path),
                           "-o", str(out), str(notebook)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    tests = json.loads((out / "results.json").read_text())["tests"]
    return {t["name"]: (t["score"], t["max_score"]) for t in tests if t.get("max_score")}


def test_the_student_version_is_stripped_and_runs_blank_to_the_end(built):
    out, _ = built
    student = out / "dist" / "student" / "lec4_backprop.ko.ipynb"
    nb = nbformat.read(student, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    for solved in ("answer_1 = -8", "return 2 * s * x * 2 * w", "bias_grad(params, x, y)"):
        assert solved not in code
    assert code.count("grader.check(") == 6
    ran = execute.execute(nb, cwd=student.parent)
    shown = [kind for cell in execute.meaning(ran) for kind, _ in cell]
    assert "error" not in shown
    # grader.check on a blank answer: otter's "Expected True, got False" and a pointer to the
    # verdict just above, not a traceback
    text = "".join(t for cell in execute.meaning(ran) for _, t in cell)
    assert text.count("바로 위 채점 셀의 결과와 힌트를 보세요") == 6 and "Traceback" not in text


def test_the_autograder_gives_full_marks_to_a_solved_copy_only(built, tmp_path):
    out, zip_path = built
    solved = grade(zip_path, out / "dist" / "autograder" / "lec4_backprop.ko.ipynb",
                   tmp_path / "solved")
    assert len(solved) == 6 and all(score == top for score, top in solved.values()), solved
    blank = grade(zip_path, out / "dist" / "student" / "lec4_backprop.ko.ipynb",
                  tmp_path / "blank")
    assert sum(score for score, _ in blank.values()) == 0, blank
