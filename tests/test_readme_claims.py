"""What the docs say (README.md and the pages under docs/), held against what the code does, as
a user would see it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from cli_util import BASE_ENV, SCRIPTS, run_script

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
README = "\n".join(p.read_text() for p in PAGES)


@pytest.mark.skipif(not os.path.isdir("/dev/shm") or not os.access("/dev/shm", os.W_OK),
                    reason="no writable /dev/shm")
def test_a_regular_file_under_dev_shm_is_replaced_not_appended():
    # README: only a device, a pipe or an open file descriptor is written in place (appended)
    name = f"lec4_jax-test-{uuid.uuid4().hex}"
    path = Path("/dev/shm") / f"{name}.json"
    try:
        for _ in range(2):
            proc = run_script("train.py", "--trace=false", f"--output={path}")
            assert (proc.returncode, proc.stderr) == (0, "")
            assert len(json.loads(path.read_text())["steps"]) == 60
        assert [p for p in os.listdir("/dev/shm") if name in p] == [path.name]
    finally:
        path.unlink(missing_ok=True)


def test_dev_fd_1_is_still_written_in_place(tmp_path):
    with open(tmp_path / "out.txt", "w") as f:
        proc = subprocess.run([sys.executable, str(SCRIPTS / "train.py"), "--output=/dev/fd/1"],
                              stdout=f, stderr=subprocess.PIPE, env=BASE_ENV, text=True)
    assert (proc.returncode, proc.stderr) == (0, "")
    text = (tmp_path / "out.txt").read_text()
    assert text.startswith("predict (BT) 4.0 4.0\n") and '"steps": [' in text
    assert os.listdir(tmp_path) == ["out.txt"]


def documented_leftovers(target: str) -> list[re.Pattern]:
    """The names the README says a SIGKILL can leave, as patterns for ``target``'s run."""
    section = README[README.index("only SIGKILL"):]
    section = section[:section.index(";\n- ")]
    names = re.findall(r"`([^`]*<random>[^`]*)`", section)
    assert names, section
    return [re.compile(re.escape(n.replace("$TMPDIR/", "")).replace(
        re.escape("<target>"), re.escape(target)).replace(re.escape("<random>"), r"[^/]+"))
        for n in names]


def _killed_mid_animation(tmp_path: Path, attempt: int) -> tuple[list[str], str]:
    """Start an animated run, SIGKILL it once its scratch file exists; what it left (in
    ``$TMPDIR`` and beside the target) and, should it have ended first, why."""
    scratch, out = tmp_path / f"tmp{attempt}", tmp_path / f"out{attempt}"
    scratch.mkdir()
    out.mkdir()
    with open(tmp_path / f"stderr{attempt}", "w+") as err:
        proc = subprocess.Popen([sys.executable, str(SCRIPTS / "train.py"), "--epochs=100",
                                 "--trace=false", f"--animate={out / 'a.gif'}"],
                                env=dict(BASE_ENV, TMPDIR=str(scratch)),
                                stdout=subprocess.DEVNULL, stderr=err)
        try:
            while not os.listdir(scratch) and proc.poll() is None:  # the scratch file is made
                time.sleep(0.005)
        finally:
            proc.kill()
            proc.wait(timeout=30)
        err.seek(0)
        why = f"exit {proc.returncode}: {err.read()[-2000:]}"
    return os.listdir(scratch) + os.listdir(out), why


def test_sigkill_leaves_only_a_documented_scratch_name(tmp_path):
    # the kill can land in the instant between the scratch file's removal and the target's
    # temporary (nothing is left then, which is also allowed): up to three tries to catch one
    for attempt in range(3):
        left, why = _killed_mid_animation(tmp_path, attempt)
        if left:
            break
    assert left, f"no try was killed while a file was left; the last ended with {why}"
    patterns = documented_leftovers("a.gif")
    assert all(any(p.fullmatch(name) for p in patterns) for name in left), (left, patterns)


def _page_bytes(model: str, epochs: int) -> int:
    from lec4_jax.tool import data, runs, stepthrough
    from lec4_jax.tool.settings import Settings

    run = runs.run(Settings(model=model, epochs=epochs), *data.lecture())
    return len(stepthrough.page(run).encode())


@pytest.mark.parametrize("model", ["linear", "affine", "quadratic"])
def test_the_step_through_page_is_the_size_the_readme_says(model):
    from lec4_jax.tool import stepthrough

    small, big = _page_bytes(model, 20), _page_bytes(model, 200)
    per_step = (big - small) / 540
    at_cap = small + per_step * (stepthrough.MAX_STEPS - 60)
    kb = dict((m, float(v)) for v, m in re.findall(r"([\d.]+) kB\s+\((\w+)\)", README))
    mb = dict((m, float(v)) for v, m in re.findall(r"(\d+) MB for\s+(\w+)", README))
    assert per_step / 1e3 == pytest.approx(kb[model], rel=0.15)
    assert at_cap / 1e6 == pytest.approx(mb[model], rel=0.15)


@pytest.mark.parametrize("page", ["README.md", "README.ko.md"])
def test_the_front_doors_output_is_what_train_py_prints(page):
    # The fenced block after the first command shows train.py's first and last lines, "..."
    # between: each line as train.py prints it now (the lecture's, byte for byte).
    text = (ROOT / page).read_text()
    block = re.search(r"```\n(predict \(BT\)[^`]*)```", text)[1].splitlines()
    cut = block.index("...")
    proc = run_script("train.py")
    lines = proc.stdout.splitlines()
    assert proc.returncode == 0
    tail = len(block) - cut - 1
    assert block[:cut] == lines[:cut] and block[cut + 1:] == lines[len(lines) - tail:]
