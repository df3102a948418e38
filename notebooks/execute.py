"""Runs the lesson's notebooks from their text source and keeps the outputs.

    python notebooks/execute.py            # both: lec4_backprop.{ko,en}.py -> .ipynb, executed
    python notebooks/execute.py ko         # one

Each notebook is a jupytext pair: ``lec4_backprop.<lang>.py`` (percent format, the file to edit
and review) and ``lec4_backprop.<lang>.ipynb`` (the same cells with their outputs, for readers
on the web). Edit either in Jupyter (jupytext keeps the other in step) or the ``.py`` in any
editor, then run this to refresh the outputs. ``tests/test_notebooks.py`` checks that the two
files hold the same cells, that both languages have the same code, and that the committed
outputs are what a fresh run prints.
"""

from __future__ import annotations

import io
import re
import sys
import tokenize
from pathlib import Path

import jupytext
import nbformat

HERE = Path(__file__).resolve().parent
LANGS = ("ko", "en")


def path(lang: str, ext: str = "ipynb") -> Path:
    return HERE / f"lec4_backprop.{lang}.{ext}"


def source(lang: str) -> nbformat.NotebookNode:
    """The notebook as its text file holds it: cells, no outputs."""
    return jupytext.read(path(lang, "py"))


def skeleton(code: str) -> list[tuple[int, str]]:
    """The code without its comments and the text of its strings: what must be the same in
    both languages."""
    kept = []
    for tok in tokenize.generate_tokens(io.StringIO(code).readline):
        if tok.type in (tokenize.COMMENT, tokenize.NL):
            continue
        if tok.type == tokenize.STRING:
            prefix = re.match(r"[A-Za-z]*", tok.string).group()
            kept.append((tok.type, prefix.lower() + "str"))
        elif tok.type == getattr(tokenize, "FSTRING_MIDDLE", None):  # Python 3.12+
            continue  # an f-string's words; its expressions stay
        else:
            kept.append((tok.type, tok.string))
    return kept


# The kernel's own log lines (e.g. ipykernel 7's "[IPKernelApp] WARNING | Kernel is running over
# TCP without encryption"), which reach a cell's stderr: noise from the kernel, not the notebook.
KERNEL_LOG = re.compile(r"^\[\w+\] (?:DEBUG|INFO|WARNING|ERROR|CRITICAL) \| .*(?:\n|$)", re.M)


def execute(nb: nbformat.NotebookNode, timeout: int = 600, cwd: Path = HERE
            ) -> nbformat.NotebookNode:
    """Runs every cell headless, then drops the kernel's log lines from the outputs."""
    from nbclient import NotebookClient

    NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(cwd)}}).execute()
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in map(_without_kernel_log, cell.outputs) if o is not None]
    return nb


def _without_kernel_log(output):
    if output.output_type == "stream" and output.name == "stderr":
        output.text = KERNEL_LOG.sub("", output.text)
        return output if output.text else None
    return output


def meaning(nb: nbformat.NotebookNode) -> list[list[tuple[str, str]]]:
    """What each code cell shows, to compare two runs: its printed text (stdout and stderr apart),
    its results' plain text, its errors, and "picture" for each image, whatever drew it (an SVG
    from Graphviz or a PNG from matplotlib) and whatever its bytes."""
    cells = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        shown: list[tuple[str, str]] = []
        for o in cell.outputs:
            if o.output_type == "stream":
                kind, text = o.name, o.text
            elif o.output_type == "error":
                kind, text = "error", f"{o.ename}: {o.evalue}"
            elif any(k.startswith("image/") for k in o.get("data", {})):
                kind, text = "picture", ""
            else:
                kind, text = "result", o.get("data", {}).get("text/plain", "")
            if shown and kind in ("stdout", "stderr") and shown[-1][0] == kind:
                shown[-1] = (kind, shown[-1][1] + text)  # where a kernel splits text is timing
            else:
                shown.append((kind, text))
        cells.append(shown)
    return cells


def main(argv: list[str]) -> int:
    for lang in argv or LANGS:
        if lang not in LANGS:
            print(f"execute.py: error: no notebook {lang!r} (choose from {', '.join(LANGS)})",
                  file=sys.stderr)
            return 2
        nb = execute(source(lang))
        jupytext.write(nb, path(lang), fmt="ipynb")
        print(f"wrote {path(lang).relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
