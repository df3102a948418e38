"""Output names ending in a separator: every output flag of every script refuses them as a
shell redirect does ("Is a directory", or "Not a directory" where a file stands in for the
folder), one line, exit 2, and nothing is made."""

from __future__ import annotations

import os
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli_util import Server
from lec4_jax.tool import outputs
from lec4_jax.tool.data import InputError

OUTPUT_FLAGS = {"train.py": ["--output", "--plot", "--landscape", "--animate", "--html"],
                "sweep.py": ["--output", "--plot"],
                "explain.py": ["--dot", "--svg", "--png"]}
SHORT = {"train.py": ["--epochs=1", "--trace=false"], "sweep.py": ["--num_lr=2", "--epochs=1"],
         "explain.py": []}
NAME = st.text(string.ascii_letters + string.digits + "._-", min_size=1, max_size=10).filter(
    lambda n: n not in (".", ".."))


@pytest.fixture(scope="module")
def servers():
    made = {name: Server(name) for name in OUTPUT_FLAGS}
    yield made
    for server in made.values():
        server.close()


def fresh_dir(base: Path) -> Path:
    for n in range(10**6):
        d = base / f"case{n}" / "work"
        if not d.exists():
            d.mkdir(parents=True)
            return d
    raise AssertionError("no fresh folder")


@st.composite
def folder_names(draw):
    """A name ending in a separator: a folder that does not exist, one that does, or a file
    standing where the folder would be; maybe below a subfolder, maybe ``/.`` at the end."""
    parts = draw(st.lists(NAME, min_size=1, max_size=3))
    stands = draw(st.sampled_from(["nothing", "folder", "file"]))
    end = draw(st.sampled_from(["/", "//", "/."]))
    return parts, stands, end


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(script=st.sampled_from(sorted(OUTPUT_FLAGS)), data=st.data(), name=folder_names())
def test_a_name_ending_in_a_separator_is_refused(servers, tmp_path, script, data, name):
    flag = data.draw(st.sampled_from(OUTPUT_FLAGS[script]), label="flag")
    parts, stands, end = name
    work = fresh_dir(tmp_path)
    path = work.joinpath(*parts)
    if stands != "nothing":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir() if stands == "folder" else path.write_text("a user's file\n")
    before = sorted(p.relative_to(work) for p in work.rglob("*"))
    given_name = "/".join(parts) + end
    code, out, err = servers[script].run([*SHORT[script], f"{flag}={given_name}"], work)
    lines = err.strip().splitlines()
    assert code == 2 and out == "" and len(lines) == 1, err
    assert lines[0].startswith(f"{script}: error: {flag}: "), lines[0]
    if flag != "--animate":  # its extension is checked first (.gif or .mp4)
        assert "directory" in lines[0].lower() or "graphviz" in lines[0].lower(), lines[0]
    assert sorted(p.relative_to(work) for p in work.rglob("*")) == before
    if stands == "file":
        assert path.read_text() == "a user's file\n"


@pytest.mark.parametrize("name,reason", [("newdir/", "is a directory"),
                                         ("file/", "Not a directory"),
                                         ("folder/", "is a directory"),
                                         ("folder/.", "is a directory"),
                                         ("newdir/sub/", "is a directory")])
def test_the_shell_rule_in_the_library(tmp_path, name, reason):
    (tmp_path / "file").write_text("x")
    (tmp_path / "folder").mkdir()
    out = outputs.Outputs()
    out.add("--html", f"{tmp_path}/{name}")  # (a Path would drop the separator)
    with pytest.raises(InputError, match=reason):
        out.check()
    assert sorted(os.listdir(tmp_path)) == ["file", "folder"]
