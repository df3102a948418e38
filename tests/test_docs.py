"""The docs link only to what exists: every relative link in the READMEs, docs/ and the
notebooks' prose names a file of the repository, and no link points at a home the project does
not have."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)\s]+)\)")
PAGES = sorted([ROOT / "README.md", ROOT / "README.ko.md", *(ROOT / "docs").glob("*.md")])


def markdown_of(path):
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text())["cells"]
        return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return path.read_text()


@pytest.mark.parametrize("path", PAGES + sorted((ROOT / "notebooks").glob("*.ipynb")),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_leads_somewhere(path):
    for target in LINK.findall(markdown_of(path)):
        if target.startswith(("http://", "https://")):
            assert "lec4-jax/lec4_jax" not in target, target  # no public home yet
            continue
        file = target.split("#")[0]
        if file:
            assert (path.parent / file).exists(), f"{path.name}: {target}"
