"""Messages a user sees: right, and only the scripts' own (docs/contract.md).

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


def _one_line(proc, code: int) -> str:
    """Exit ``code`` and exactly one stderr line (no warning from a library around it)."""
    assert proc.returncode == code, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    return line


def test_numpy_overflow_warnings_stay_off_a_divergence_line(tmp_path):
    # x^2 overflows float64 in the stability note (NumPy's RuntimeWarning)
    proc = run_script("train.py", "--x64", "--learning_rate=1e300", "--x_data=1e150,1,1",
                      "--trace=false", f"--output={tmp_path / 'o.json'}")
    assert _one_line(proc, 1).startswith("train.py: error: training diverged at epoch 0")
    assert os.listdir(tmp_path) == ["o.json"]


def test_matplotlib_warnings_stay_off_stderr(tmp_path):
    # every loss is 0: the log-scaled loss axis has no positive value (matplotlib warns)
    proc = run_script("train.py", "--x_data=1", "--y_data=2", "--w_init=2", "--trace=false",
                      f"--plot={tmp_path / 'p.png'}")
    assert (proc.returncode, proc.stderr) == (0, "")
    assert os.listdir(tmp_path) == ["p.png"]


def _corrupt(cache) -> None:
    for entry in cache.iterdir():  # JAX warns as it reads each entry, then compiles afresh
        if entry.is_file():
            entry.write_bytes(b"garbage")


def test_a_corrupt_compilation_cache_is_quiet_unless_asked(tmp_path):
    cache = tmp_path / "cache"
    args = ["--trace=false", f"--compilation_cache={cache}"]
    assert run_script("train.py", *args).returncode == 0
    _corrupt(cache)
    quiet = run_script("train.py", *args, "--learning_rate=1")
    assert _one_line(quiet, 1).startswith("train.py: error: training diverged")
    _corrupt(cache)
    shown = run_script("train.py", *args, "--verbosity=1")
    assert shown.returncode == 0 and "Error reading persistent compilation cache" in shown.stderr


_JOIN = """
import os, signal, sys
sys.path.insert(0, sys.argv[1])
import _cli
sys.argv = ["sweep.py"]
def join():
    if sys.argv[0] and {dies_joining}:
        os.kill(os.getpid(), signal.SIGABRT)  # as XLA's cluster client aborts
_cli.join_guarded(join, "could not join the cluster")
print("joined", flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # the work, killed after the join
"""


def test_a_join_that_aborts_is_one_line_and_a_kill_after_it_is_the_signals_code():
    # join_guarded's child joins, then works. Dying while joining is a one-line error, exit 2;
    # killed after joining, the parent exits as the child died (128 + 9), saying nothing.
    for dies_joining, code, out, err in ((True, 2, "", "sweep.py: error: could not join the "
                                          "cluster\n"), (False, 128 + 9, "joined\n", "")):
        proc = subprocess.run([sys.executable, "-c", _JOIN.format(dies_joining=dies_joining),
                               str(SCRIPTS)], capture_output=True, text=True, env=BASE_ENV,
                              timeout=60)
        assert (proc.returncode, proc.stdout, proc.stderr) == (code, out, err)


_FILTERS = """
import sys, warnings
sys.path.insert(0, sys.argv[1])
warnings.simplefilter("error")
warnings.filterwarnings("ignore", message="hush")
warnings.filterwarnings("always", category=UserWarning, module="__main__")
import _cli  # on import: the filters as _warnings_never_raise leaves them
shown = []
warnings.showwarning = lambda message, *rest: shown.append(str(message))
for text in ("hush", "shown once", "shown once"):
    warnings.warn(text, RuntimeWarning)
for text in ("always", "always"):
    warnings.warn(text, UserWarning)
print(shown)
"""


def test_error_warning_filters_become_default_and_the_others_keep_their_order():
    # Under -W error a warning would be an exception mid-run: it is shown instead (once per
    # place, as "default" does), while every other filter stays as it was, in its order.
    proc = subprocess.run([sys.executable, "-c", _FILTERS, str(SCRIPTS)], capture_output=True,
                          text=True, env=BASE_ENV, timeout=60)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout == "['shown once', 'always', 'always']\n"


def test_a_progress_line_says_how_far_in_whole_percent(capfd, monkeypatch):
    import _cli

    monkeypatch.setattr(sys, "argv", ["train.py"])
    report = _cli.progress_line("epoch")
    for done, total in ((5_000, 100_000), (2, 3), (100_000, 100_000), (0, 0)):
        report(done, total)
    assert capfd.readouterr() == ("", "train.py: epoch 5,000 of 100,000 (5%)\n"
                                  "train.py: epoch 2 of 3 (66%)\n"
                                  "train.py: epoch 100,000 of 100,000 (100%)\n"
                                  "train.py: epoch 0 of 0 (0%)\n")


_LEAVE = """
import sys
sys.path.insert(0, sys.argv[1])
import _cli
import jax
sys.argv = ["sweep.py"]
def gone():
    print("leaving", flush=True)
    raise RuntimeError("the coordinator is gone")
jax.process_count = lambda: 2
jax.distributed.shutdown = gone
print("swept", flush=True)
_cli._exit_now({code})
"""


def test_a_multi_host_run_whose_cluster_is_gone_at_its_end_exits_with_its_own_code():
    # A run that ends (0) or diverges (1) leaves the cluster, best effort: a coordinator already
    # gone changes neither the code nor the output. A usage error (2) may come before the
    # cluster formed, and does not try.
    for code, out in ((0, "swept\nleaving\n"), (1, "swept\nleaving\n"), (2, "swept\n")):
        proc = subprocess.run([sys.executable, "-c", _LEAVE.format(code=code), str(SCRIPTS)],
                              capture_output=True, text=True, env=BASE_ENV, timeout=60)
        assert (proc.returncode, proc.stdout, proc.stderr) == (code, out, "")


_BUFFERED = """
import sys
sys.path.insert(0, sys.argv[1])
import _cli
sys.argv = ["train.py"]
print("predict (AT) 4 8.0")  # held in stdout's buffer: stdout is a pipe
sys.stderr.write("no newline yet")  # held in stderr's buffer until a newline
_cli._exit_now(0)
"""


def test_what_a_script_printed_reaches_its_reader_though_the_teardown_is_skipped():
    # os._exit skips the interpreter's flush at exit; _exit_now flushes first. Buffered as a
    # user's shell has it: without PYTHONUNBUFFERED, which a CI machine may set.
    env = {k: v for k, v in BASE_ENV.items() if k != "PYTHONUNBUFFERED"}
    proc = subprocess.run([sys.executable, "-c", _BUFFERED, str(SCRIPTS)], capture_output=True,
                          text=True, env=env, timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == (
        0, "predict (AT) 4 8.0\n", "no newline yet")
