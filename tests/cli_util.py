"""Running the scripts as a user does, and what every bad input must look like."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
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
