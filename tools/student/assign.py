"""Builds the teacher's version of a lesson notebook: a student notebook and an otter-grader
autograder, from the notebook's text source and the key (``solutions.py``).

    python tools/student/assign.py ko OUT    # OUT/student/lec4_backprop.ko.ipynb, OUT/autograder/

The notebook's exercise cells are tagged ``answer:<name>`` and ``check:<name>``. The master
notebook otter-grader reads puts each answer cell, solved from the key, in a question of one
point whose test is the notebook's own check (``lj.exercises.check(...).ok``); ``otter assign``
then writes the student version (solutions stripped to ``...``) and the autograder zip, which
``otter run -a OUT/autograder/*.zip SUBMISSION.ipynb`` grades locally, without Docker. The
optional sections (after lecture 4) are left out of the assignment.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from solutions import SOLUTIONS  # noqa: E402

CONFIG = """# ASSIGNMENT CONFIG
name: lec4_backprop
init_cell: true
check_all_cell: false
export_cell: false
run_tests: false
save_environment: false
generate: true
strip_solutions_from_all_cells: true"""
OPTIONAL = ("## Optional — ", "## 심화(선택) — ")


def tag(cell, kind: str) -> str | None:
    """The exercise a cell answers or checks (tag ``kind:<name>``), or None."""
    for t in cell.metadata.get("tags", []):
        if t.startswith(kind + ":"):
            return t.split(":", 1)[1]
    return None


# What grader.check says when a question fails, beside otter's own report: the notebook's check
# cell just above has already shown the verdict and its hint.
FAILED = {"ko": "바로 위 채점 셀의 결과와 힌트를 보세요.",
          "en": "see the verdict and the hint of the check cell just above."}


def test(check: str, lang: str) -> nbformat.NotebookNode:
    """The question's otter test: the notebook's own check, ``.ok``, expected to print True. A
    doctest that compares output (rather than an ``assert`` that raises) fails with "Expected
    True, got False", not a traceback; the master notebook is never run, so the expected output
    is written in."""
    cell = nbformat.v4.new_code_cell(
        f'""" # BEGIN TEST CONFIG\nfailure_message: "{FAILED[lang]}"\n""" # END TEST CONFIG\n'
        f"{check.strip()}.ok")
    cell.outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "True"},
                                           execution_count=1)]
    return cell


def master(lang: str) -> nbformat.NotebookNode:
    """The master notebook: the lesson with its key, in otter-grader's format."""
    nb = jupytext.read(ROOT / "notebooks" / f"lec4_backprop.{lang}.py")
    out = nbformat.v4.new_notebook(metadata=nb.metadata)
    raw, code = nbformat.v4.new_raw_cell, nbformat.v4.new_code_cell
    out.cells.append(raw(CONFIG))
    for cell in nb.cells:
        if cell.cell_type == "markdown" and any(h in cell.source for h in OPTIONAL):
            break
        answered, checked = tag(cell, "answer"), tag(cell, "check")
        if answered:
            out.cells += [raw(f"# BEGIN QUESTION\nname: {answered}\npoints: 1"),
                          code(SOLUTIONS[answered].strip())]
        elif checked:
            out.cells += [code(cell.source), raw("# BEGIN TESTS"), test(cell.source, lang),
                          raw("# END TESTS"), raw("# END QUESTION")]
        else:
            out.cells.append(nbformat.from_dict(dict(cell, metadata={})))
    return out


def build(lang: str, out: Path) -> Path:
    """Writes the master notebook in ``out`` and runs ``otter assign`` on it: the student
    version in ``out/student``, the autograder (zip, and the solved notebook) in
    ``out/autograder``. Returns the zip's path."""
    out.mkdir(parents=True, exist_ok=True)
    name = f"lec4_backprop.{lang}.ipynb"
    nbformat.write(master(lang), out / name)
    proc = subprocess.run([sys.executable, "-m", "otter", "assign", name, "dist"], cwd=out,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"otter assign failed: {proc.stderr.strip().splitlines()[-1:]}")
    return next((out / "dist" / "autograder").glob("*.zip"))


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("ko", "en"):
        print("assign.py: error: usage: assign.py ko|en OUT", file=sys.stderr)
        return 2
    print(build(argv[0], Path(argv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
