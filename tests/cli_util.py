"""Running the scripts as a user does, and what every bad input must look like."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
SERVER = Path(__file__).with_name("forkserver.py")
PNG = b"\x89PNG\r\n\x1a\n"
BASE_ENV = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}


def run_script(name: str, *args: str, env: dict | None = None, timeout: int = 300):
    """``python scripts/<name> args...`` in a subprocess, output captured."""
    return subprocess.run([sys.executable, str(SCRIPTS / name), *args], capture_output=True,
                          text=True, env=dict(BASE_ENV, **(env or {})), timeout=timeout)


def assert_usage_error(proc, message: str) -> str:
    """Exit status 2, nothing on stdout, and one line on stderr, ``<script>: error: ...``,
    that contains ``message``. Returns the line."""
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    (line,) = proc.stderr.strip().splitlines()
    assert ": error: " in line and "Traceback" not in line
    assert message in line, line
    return line


class Server:
    """A script imported once (tests/forkserver.py); each run is a fork of it, in ``cwd``,
    its stdout and stderr kept beside ``cwd``: a run costs a fork, not a Python start-up."""

    def __init__(self, script: str):
        self.script = script
        self.proc = subprocess.Popen([sys.executable, str(SERVER), script], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=BASE_ENV)

    def run(self, argv, cwd: Path, env=None) -> tuple[int, str, str]:
        out, err = cwd / ".." / "stdout.txt", cwd / ".." / "stderr.txt"
        request = {"argv": list(argv), "cwd": str(cwd), "stdout": str(out), "stderr": str(err),
                   "env": env or {}}
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        code = json.loads(self.proc.stdout.readline())["code"]
        return code, out.read_text(), err.read_text()

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def embedded(html: str) -> dict:
    """The numbers a step-through page embeds (its JSON data element)."""
    text = re.search(r'<script id="data" type="application/json">(.*?)</script>', html,
                     re.S).group(1)
    return json.loads(text.replace("<\\/", "</"))
