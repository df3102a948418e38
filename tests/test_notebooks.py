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
    out = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        parts = []
        for o in cell.outputs:
            if o.output_type == "stream":
                parts.append(o.text)
            elif o.output_type in ("display_data", "execute_result"):
                parts.append(o.data.get("text/plain", ""))
            else:
                parts.append(f"{o.ename}: {o.evalue}")
        out.append("".join(parts))
    return out


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
    assert "역전파" in ko and "연쇄 법칙" in ko and "Colab" in ko
    assert "back-propagation" in en and not any("\uac00" <= ch <= "\ud7a3" for ch in en)


@pytest.mark.parametrize("lang", build.LANGS)
def test_a_fresh_run_prints_what_is_committed(lang):
    fresh = build.execute(build.notebook(lang))
    assert all(o.output_type != "error" for c in fresh.cells if c.cell_type == "code"
               for o in c.outputs)
    assert text_outputs(fresh) == text_outputs(committed(lang))
    images = [o for c in fresh.cells if c.cell_type == "code" for o in c.outputs
              if "image/png" in o.get("data", {}) or "image/svg+xml" in o.get("data", {})]
    assert len(images) == 2  # the graph and the sweep plot


def test_the_lecture_lines_in_the_notebook_are_the_lectures():
    texts = text_outputs(committed("en"))
    (lines,) = [t for t in texts if t.startswith("predict (BT)")]
    assert lines.splitlines()[1] == "\tgrad:  1.0 2.0 -2.0"
    assert lines.splitlines()[-1] == "predict (AT) 4.0 7.9904804"
    assert json.dumps(texts).count("correct: ") == 3  # every exercise answered right
