"""Messages a user sees: right, and only the scripts' own (README, "The contract").

Every case runs a script as a user does, in a subprocess, and checks the whole result: the exit
status, the one stderr line, the files left.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading

from cli_util import BASE_ENV, SCRIPTS, assert_usage_error, run_script

LECTURE_CSV = "x,y\n1,2\n2,4\n3,6\n"
QUICK = ["--trace=false", "--epochs=2"]


def _feed_fifo(path, text: str) -> threading.Thread:
    """A writer that opens the FIFO (blocking until the script opens it), writes and closes."""
    def write():
        with open(path, "w") as f:
            f.write(text)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def test_a_fifo_as_data_csv_is_read_once(tmp_path):
    # The file was read twice (once by NumPy's parser, once by the careful one): the second
    # open of a FIFO waits for a writer that never comes, or reads nothing ("no data rows").
    (tmp_path / "data.csv").write_text(LECTURE_CSV)
    want = run_script("train.py", *QUICK, f"--data_csv={tmp_path / 'data.csv'}")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    writer = _feed_fifo(fifo, LECTURE_CSV)
    got = run_script("train.py", *QUICK, f"--data_csv={fifo}", timeout=60)
    writer.join(timeout=5)
    assert (got.returncode, got.stderr, got.stdout) == (0, "", want.stdout)
    assert want.returncode == 0 and "predict (AT)" in want.stdout


def test_dev_stdin_from_a_pipe_as_data_csv(tmp_path):
    # Careful-parser text (an underscore in a number) makes both parsers read the input.
    proc = subprocess.run([sys.executable, str(SCRIPTS / "train.py"), *QUICK,
                           "--data_csv=/dev/stdin"], input="x,y\n1,2\n2,4\n3,6_0\n",
                          capture_output=True, text=True, env=BASE_ENV, timeout=60, cwd=tmp_path)
    want = run_script("train.py", *QUICK, "--x_data=1,2,3", "--y_data=2,4,60")
    assert (proc.returncode, proc.stderr) == (0, ""), proc.stderr
    assert proc.stdout == want.stdout
    assert os.listdir(tmp_path) == []


def test_a_cell_past_the_csv_field_limit_names_its_line(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("x,y\n1,2\n2," + "9" * 200_000 + "\n3,6\n")
    assert_usage_error(run_script("train.py", f"--data_csv={path}"),
                       f"--data_csv: {path}:3: cannot read: field larger than field limit")
    assert sorted(os.listdir(tmp_path)) == ["big.csv"]
