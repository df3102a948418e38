"""The contract (docs/contract.md) under hostile inputs of the kinds issue 18 found, each
driven from the outside like a user: a real subprocess, its exit status, its one stderr line,
and the files it leaves.

Data lost or half-written: a link that loops, a signal a scheduler sends mid-commit, a name
too long for its folder, a legal name whose temporary's name would not be. Exit 70 instead of
one line: a run that diverges at its first step, float64's extremes, a coordinator address
without a port, a deleted working folder, a failing ffmpeg, a file-size limit, and
``PYTHONWARNINGS=error``.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli_util import BASE_ENV, SCRIPTS

PNG = b"\x89PNG\r\n\x1a\n"


def run(script: str, *args: str, cwd: Path, env: dict | None = None, **kwargs):
    return subprocess.run([sys.executable, str(SCRIPTS / script), *args], cwd=cwd,
                          capture_output=True, text=True, env=dict(BASE_ENV, **(env or {})),
                          timeout=300, **kwargs)


def one_line(proc, code: int, script: str = "train.py") -> str:
    """Exit ``code``, no traceback, exactly one stderr line ``<script>: error: ...``."""
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"{script}: error: "), line
    return line


# Class 1: data lost or half-written.

@pytest.mark.parametrize("script, flag", [("train.py", "--output"), ("train.py", "--plot"),
                                          ("train.py", "--html"), ("explain.py", "--dot")])
def test_a_looping_link_is_refused_as_a_shell_redirect_would(tmp_path, script, flag):
    (tmp_path / "loop").symlink_to("loop")  # `ln -s loop loop`: `> loop` fails in a shell
    line = one_line(run(script, f"{flag}=loop", cwd=tmp_path), 2, script)
    assert f"{flag}: loop: cannot write (Too many levels of symbolic links)" in line
    assert os.readlink(tmp_path / "loop") == "loop" and os.listdir(tmp_path) == ["loop"]


def test_a_dangling_link_is_written_through_to_its_target(tmp_path):
    (tmp_path / "link.json").symlink_to("target.json")  # as `> link.json` creates target.json
    proc = run("train.py", "--trace=false", "--output=link.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert os.readlink(tmp_path / "link.json") == "target.json"
    assert json.loads((tmp_path / "target.json").read_text())["steps"]


def test_an_over_long_name_fails_before_any_work_and_keeps_the_other_outputs(tmp_path):
    (tmp_path / "o.json").write_text("a user's file\n")
    proc = run("train.py", "--output=o.json", f"--plot={'p' * 252}.png", cwd=tmp_path)
    assert "--plot: ppp" in one_line(proc, 2) and "(File name too long)" in proc.stderr
    assert proc.stdout == ""  # before training: not one line of it printed
    assert (tmp_path / "o.json").read_text() == "a user's file\n"
    assert os.listdir(tmp_path) == ["o.json"]


def test_a_legal_250_byte_name_is_written(tmp_path):
    name = "x" + "é" * 121 + "xx.json"  # 250 bytes in UTF-8 (NAME_MAX is 255)
    assert len(name.encode()) == 250
    proc = run("train.py", "--trace=false", f"--output={name}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert os.listdir(tmp_path) == [name] and json.loads((tmp_path / name).read_text())


LONG = ["--dataset=synthetic", "--num_samples=300000", "--trace=false", "--epochs=3",
        "--output=o.json"]


def stop_mid_commit(tmp_path: Path, sig: int):
    """Starts a long run and sends ``sig`` as soon as its temporary file exists. The run starts
    with ``sig`` at its default, as from a terminal (a shell's background job inherits QUIT
    ignored, and an ignored signal stays ignored)."""
    proc = subprocess.Popen([sys.executable, str(SCRIPTS / "train.py"), *LONG], cwd=tmp_path,
                            env=BASE_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, preexec_fn=lambda: signal.signal(sig, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while (not any(n.endswith(".tmp") for n in os.listdir(tmp_path))
           and proc.poll() is None and time.monotonic() < deadline):
        time.sleep(0.002)
    assert proc.poll() is None, "the run ended before its commit was seen"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


@pytest.mark.parametrize("sig", [signal.SIGUSR1, signal.SIGUSR2, signal.SIGALRM, signal.SIGQUIT,
                                 signal.SIGXCPU, signal.SIGVTALRM, signal.SIGPROF,
                                 signal.SIGRTMIN + 3], ids=lambda s: f"signal{int(s)}")
def test_every_ending_signal_mid_commit_leaves_no_temporary(tmp_path, sig):
    code, err = stop_mid_commit(tmp_path, sig)
    assert code == 128 + sig, err
    (line,) = err.strip().splitlines()
    assert line.startswith("train.py: stopped by SIG")
    assert os.listdir(tmp_path) == []  # no temporary, and no half-written o.json


# Class 2: exit 70 instead of one line.

def gif(path: Path) -> bool:
    data = path.read_bytes()
    return data.startswith(b"GIF89a") and data.endswith(b";")


def test_animating_a_run_that_diverges_at_its_first_step(tmp_path):
    proc = run("train.py", "--trace=false", "--w_init=1e30", "--animate=a.gif", "--plot=p.png",
               cwd=tmp_path)
    assert "training diverged at epoch 0, step 0" in one_line(proc, 1)
    assert gif(tmp_path / "a.gif")  # its starting point, drawn
    assert sorted(os.listdir(tmp_path)) == ["a.gif", "p.png"]


@pytest.mark.parametrize("args, says", [
    # x^2 overflows float64: the stable rates are not analysed; the landscape is still drawn
    (["--x_data=1e200,1", "--y_data=1,2", "--landscape=l.png"], "are not analysed (the inputs' "
     "squares are beyond float64's range)"),
    (["--x_data=1e155,1", "--y_data=1,2", "--model=affine", "--landscape=l.png"],
     "are not analysed"),
    # a learning rate near float64's max: searched as far as float64 reaches
    (["--learning_rate=1.7e308", "--model=affine", "--landscape=l.png", "--plot=p.png"],
     "(higher rates not searched) (numerical); got 1.7e+308"),
    (["--w_init=-1e308", "--b_init=1e308", "--model=affine", "--plot=p.png"], "step 1 "),
])
def test_float64_extremes_in_training_are_a_divergence(tmp_path, args, says):
    line = one_line(run("train.py", "--x64", "--trace=false", *args, cwd=tmp_path), 1)
    assert "training diverged" in line and says in line
    for name in os.listdir(tmp_path):
        assert (tmp_path / name).read_bytes().startswith(PNG), name


def test_float64_extremes_in_a_sweep_are_rows(tmp_path):
    args = ["--lr_min=1e300", "--lr_max=1.7e308", "--model=affine"]
    proc = run("sweep.py", "--x64", "--num_lr=3", "--plot=s.png", *args, cwd=tmp_path)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert (tmp_path / "s.png").read_bytes().startswith(PNG)


@pytest.mark.parametrize("args", [
    ["--x_data=1e155,1", "--y_data=1,2", "--model=quadratic"],
    ["--x_data=1e200,1", "--y_data=1,2"],
])
def test_a_sweep_whose_loss_overflows_float64_at_its_start_is_one_line(tmp_path, args):
    # x^2 overflows float64 at every starting point: nothing to measure, as train.py's run that
    # is not finite at its start (docs/sweeps.md): one line, exit 1, no half-made picture
    line = one_line(run("sweep.py", "--x64", "--num_lr=3", "--plot=s.png", *args,
                        cwd=tmp_path), 1, "sweep.py")
    assert "the loss is not finite at the starting point" in line
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("address", ["127.0.0.1", "localhost:", "[::1]", "h:99999", ":80"])
def test_a_coordinator_address_without_a_port(tmp_path, address):
    proc = run("sweep.py", "--distributed", f"--coordinator_address={address}",
               "--num_processes=2", "--process_id=0", "--distributed_timeout=4", cwd=tmp_path)
    assert "--coordinator_address: must be host:port" in one_line(proc, 2, "sweep.py")


def test_a_deleted_working_folder_with_relative_outputs(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    script = (f'cd "{work}" && rmdir "{work}" && exec "{sys.executable}" '
              f'"{SCRIPTS / "train.py"}" --output=o.json')
    proc = subprocess.run(script, shell=True, capture_output=True, text=True, env=BASE_ENV,
                          timeout=300)
    line = one_line(proc, 2)
    assert "--output: o.json: cannot write (the working folder no longer exists)" in line
    assert os.listdir(tmp_path) == []


@pytest.fixture
def scratch(tmp_path):
    """A private TMPDIR: the animation's scratch file goes there, and must not stay."""
    path = tmp_path / "tmp"
    path.mkdir()
    yield path
    assert os.listdir(path) == []


@pytest.mark.parametrize("ffmpeg, says", [
    # its last words only: the banner before them is not the reason
    ("echo 'ffmpeg version 7.1' >&2; echo 'ffmpeg: no codec h264' >&2; exit 1",
     "(exit status 1): ffmpeg: no codec h264"),
    ("kill -XFSZ $$", "(File size limit exceeded)"),  # what ulimit -f does to it
])
def test_a_failing_ffmpeg_is_one_line(tmp_path, scratch, ffmpeg, says):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "ffmpeg").write_text(f"#!/bin/sh\n{ffmpeg}\n")
    (bin_dir / "ffmpeg").chmod(0o755)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "TMPDIR": str(scratch)}
    proc = run("train.py", "--trace=false", "--epochs=1", "--animate=a.mp4", cwd=tmp_path,
               env=env)
    assert one_line(proc, 2) == f"train.py: error: --animate: ffmpeg failed {says}"
    assert sorted(os.listdir(tmp_path)) == ["bin", "tmp"]


def test_the_animation_scratch_file_under_a_file_size_limit(tmp_path, scratch):
    def limit():  # `ulimit -f 8`: a write past 8 KiB fails (EFBIG; Python ignores SIGXFSZ)
        resource.setrlimit(resource.RLIMIT_FSIZE, (8 << 10, 8 << 10))

    proc = run("train.py", "--trace=false", "--compilation_cache=", "--epochs=1",
               "--animate=a.gif", cwd=tmp_path, env={"TMPDIR": str(scratch)},
               preexec_fn=limit)  # 3 frames: about 22 KB
    assert "--animate: a.gif: cannot write (File too large)" in one_line(proc, 2)
    assert os.listdir(tmp_path) == ["tmp"]


@pytest.mark.parametrize("args, code", [
    (["--x64", "--w_init=1e300", "--plot=p.png", "--landscape=l.png", "--animate=a.gif"], 1),
    (["--x64", "--w_init=-1e308", "--b_init=1e308", "--model=affine", "--html=h.html"], 1),
    (["--plot=p.png", "--landscape=l.png", "--html=h.html", "--output=o.json"], 0),
])
def test_warnings_as_errors_change_nothing(tmp_path, args, code):
    normal = run("train.py", "--trace=false", *args, cwd=tmp_path)
    strict = run("train.py", "--trace=false", *args, cwd=tmp_path,
                 env={"PYTHONWARNINGS": "error"})
    assert normal.returncode == strict.returncode == code, strict.stderr
    assert "Traceback" not in strict.stderr and "internal error" not in strict.stderr
    assert strict.stdout == normal.stdout
    assert strict.stderr.strip().splitlines()[-1:] == normal.stderr.strip().splitlines()[-1:]
