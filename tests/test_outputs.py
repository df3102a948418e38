"""lec4_jax.tool.outputs: checked together, whole or absent, through links, never over devices."""

import os
import stat
import tempfile
import threading
import time

import pytest

from lec4_jax.tool import outputs
from lec4_jax.tool.data import InputError


def make(*targets):
    out = outputs.Outputs()
    for label, path, *needs in targets:
        out.add(label, str(path), *needs)
    out.check()
    return out


def test_commit_writes_whole_files_and_leaves_no_temporary(tmp_path):
    out = make(("--output", tmp_path / "a.json"), ("--plot", tmp_path / "b.png"))
    assert os.listdir(tmp_path) == []  # nothing is made before the commit
    out.commit("--output", (f"{i}\n" for i in range(3)))  # streamed chunks
    out.commit("--plot", lambda: b"\x89PNG")
    assert (tmp_path / "a.json").read_text() == "0\n1\n2\n"
    assert (tmp_path / "b.png").read_bytes() == b"\x89PNG"
    assert sorted(os.listdir(tmp_path)) == ["a.json", "b.png"]


def test_the_file_is_complete_on_disk_before_it_takes_the_name(tmp_path, monkeypatch):
    path = tmp_path / "a.json"
    path.write_text("old\n")
    seen = []
    real_replace, real_fsync = os.replace, os.fsync

    def replace(src, dst):
        seen.append((open(src).read(), path.read_text()))  # the new file whole, the old intact
        real_replace(src, dst)

    def fsync(fd):
        seen.append("fsync")  # on disk, not only in the page cache, before the rename
        real_fsync(fd)

    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(os, "fsync", fsync)
    make(("--output", path)).commit("--output", ["new", "\n"])
    assert seen == ["fsync", ("new\n", "old\n")] and path.read_text() == "new\n"


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "a.json"
    path.write_text("old\n")
    out = make(("--output", path))

    def chunks():
        yield "partial"
        raise OSError(28, "No space left on device")

    with pytest.raises(InputError, match=r"^--output: .*a.json: cannot write \(No space left"):
        out.commit("--output", chunks())
    assert path.read_text() == "old\n" and os.listdir(tmp_path) == ["a.json"]
    assert outputs._TEMPORARIES == set()


@pytest.mark.parametrize("second", ["same", "link", "dotted"])
def test_two_outputs_may_not_be_the_same_file(tmp_path, second):
    path = tmp_path / "a.json"
    other = {"same": path, "link": tmp_path / "l.json", "dotted": tmp_path / "." / "a.json"}
    if second == "link":
        other["link"].symlink_to(path)
    with pytest.raises(InputError, match="--plot and --output are the same file"):
        make(("--output", path), ("--plot", other[second]))


@pytest.mark.parametrize("name, message", [("missing/a.json", "no such directory"),
                                           ("", "is a directory")])
def test_unwritable_targets_are_refused_before_any_work(tmp_path, name, message):
    with pytest.raises(InputError, match=f"^--output: .*: (cannot write \\()?{message}"):
        make(("--output", tmp_path / name))


def test_a_missing_renderer_is_refused_before_any_work(tmp_path):
    def needs():
        raise InputError("plotting needs matplotlib")

    with pytest.raises(InputError, match="^--plot: plotting needs matplotlib"):
        make(("--plot", tmp_path / "p.png", needs))


def test_a_symlink_is_written_through_and_stays_a_link(tmp_path):
    target, link = tmp_path / "t.json", tmp_path / "l.json"
    target.write_text("old")
    link.symlink_to(target)
    make(("--output", link)).commit("--output", "new")
    assert link.is_symlink() and target.read_text() == "new"


def test_a_replaced_file_keeps_its_mode(tmp_path):
    path = tmp_path / "a.json"
    path.write_text("old")
    path.chmod(0o600)
    make(("--output", path)).commit("--output", "new")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.read_text() == "new"


def test_a_new_file_gets_the_umask_mode(tmp_path):
    old = os.umask(0o027)
    try:
        make(("--output", tmp_path / "a.json")).commit("--output", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o640


def test_pipes_and_devices_are_written_in_place(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    make(("--output", fifo)).commit("--output", "{}\n")
    reader.join(timeout=10)
    assert received == ["{}\n"] and stat.S_ISFIFO(os.stat(fifo).st_mode)
    out = make(("--output", "/dev/null"), ("--plot", "/dev/null"))  # a device twice is fine
    out.commit("--output", "x")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_dev_stdout_reaching_a_file_is_appended_to_never_renamed_over(tmp_path):
    path = tmp_path / "stdout.txt"
    with open(path, "w") as f:
        f.write("printed\n")
        f.flush()
        saved = os.dup(1)
        os.dup2(f.fileno(), 1)
        try:
            make(("--output", "/dev/stdout")).commit("--output", "{}\n")
        finally:
            os.dup2(saved, 1)
            os.close(saved)
    assert path.read_text() == "printed\n{}\n"
    assert os.path.islink("/dev/stdout") or stat.S_ISCHR(os.stat("/dev/stdout").st_mode)


def test_remove_temporaries_clears_what_a_signal_interrupts(tmp_path):
    out = make(("--output", tmp_path / "a.json"))

    def chunks():
        yield "part"
        assert len(outputs._TEMPORARIES) == 1 and os.listdir(tmp_path) != []
        outputs.remove_temporaries()  # what the scripts' signal handler calls
        assert os.listdir(tmp_path) == []
        yield "rest"

    with pytest.raises(InputError):  # the temporary was removed under the writer
        out.commit("--output", chunks())
    assert os.listdir(tmp_path) == []


class Broken:
    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self):
        pass


def test_a_reader_that_left_stops_the_lines_but_not_the_files(tmp_path):
    out = outputs.Outputs(stdout=Broken())
    out.add("--output", str(tmp_path / "a.json"))
    out.check()
    saved = os.dup(1)
    try:
        out.print_lines(iter(["a", "b"]), batch=1)
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    assert out.stdout_gone
    out.commit("--output", "x")
    assert (tmp_path / "a.json").read_text() == "x"


def test_a_signal_while_a_temporary_is_being_made_still_removes_it(tmp_path, monkeypatch):
    real_mkstemp = tempfile.mkstemp
    made = threading.Event()

    def slow_mkstemp(*args, **kwargs):  # the file exists, and is not listed yet, for a while
        fd, path = real_mkstemp(*args, **kwargs)
        made.set()
        time.sleep(0.3)
        return fd, path

    monkeypatch.setattr(tempfile, "mkstemp", slow_mkstemp)
    out = make(("--output", tmp_path / "a.json"))
    writer = threading.Thread(target=lambda: pytest.raises(InputError, out.commit, "--output",
                                                           "x" * 10), daemon=True)
    writer.start()
    made.wait(10)
    outputs.remove_temporaries()  # what a signal's handler calls, from the main thread
    assert os.listdir(tmp_path) == []  # waited for it to be listed, then removed it
    writer.join(10)


# What root (as CI runs) never meets: a folder or file it may not write. os.access answers for
# the user, so the checks are driven by an os.access that refuses, as it would for anyone else.
@pytest.mark.parametrize("refused, where", [("folder", "parent"), ("file", "target"),
                                            ("device", "target")])
def test_what_the_user_may_not_write_is_one_line_before_any_work(tmp_path, monkeypatch,
                                                                 refused, where):
    target = tmp_path / "out.json"
    if refused == "file":
        target.write_text("old")
    path = "/dev/null" if refused == "device" else str(target)
    deny = os.path.dirname(path) if where == "parent" else path
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: p != deny and real_access(p, mode))
    out = outputs.Outputs()
    out.add("--output", path)
    with pytest.raises(InputError, match=rf"^--output: {path}: cannot write \(permission "
                                         r"denied\)$"):
        out.check()


def test_a_relative_output_in_a_deleted_folder_is_one_line(monkeypatch):
    for error, why in ((FileNotFoundError(2, "No such file or directory"),
                        "the working folder no longer exists"),
                       (PermissionError(13, "Permission denied"), "Permission denied")):
        monkeypatch.setattr(os.path, "realpath", lambda p, e=error: (_ for _ in ()).throw(e))
        with pytest.raises(InputError, match=rf"^--output: out.json: cannot write \({why}\)$"):
            outputs.Outputs().add("--output", "out.json")


def test_a_renderers_own_file_on_a_full_disk_names_the_output_and_the_file(tmp_path):
    out = make(("--plot", tmp_path / "b.png"))

    def full_disk():
        raise OSError(28, "No space left on device", "/tmp/lec4_jax-x.gif")

    with pytest.raises(InputError, match=r"^--plot: .*b.png: cannot write \(No space left on "
                                         r"device: /tmp/lec4_jax-x.gif\)$"):
        out.commit("--plot", full_disk)
    assert os.listdir(tmp_path) == []


class _Stdout:
    def __init__(self, error):
        self.error = error

    def write(self, text):
        raise self.error

    def flush(self):
        pass


def test_a_stdout_that_left_is_dropped_and_another_failure_is_raised(monkeypatch):
    dup2 = []
    monkeypatch.setattr(os, "dup2", lambda a, b: dup2.append(b))
    gone = outputs.Outputs(stdout=_Stdout(OSError(9, "Bad file descriptor")))
    gone.print_lines(["a", "b"])
    assert gone.stdout_gone and dup2 == [1]  # fd 1 now points at /dev/null
    broken = outputs.Outputs(stdout=_Stdout(OSError(5, "Input/output error")))
    with pytest.raises(OSError, match="Input/output error"):
        broken.print_lines(["a"])


def test_a_stdout_that_left_without_a_dev_null_is_still_dropped(monkeypatch):
    def no_devnull(*args):
        raise OSError(2, "No such file or directory")

    monkeypatch.setattr(os, "open", no_devnull)
    out = outputs.Outputs(stdout=_Stdout(BrokenPipeError(32, "Broken pipe")))
    out.print_lines(["a"])
    assert out.stdout_gone


def test_a_temporary_that_cannot_be_removed_is_forgotten_all_the_same(tmp_path, monkeypatch):
    path = str(tmp_path / ".x.tmp")
    outputs._TEMPORARIES.add(path)

    def refuse(p):
        raise PermissionError(13, "Permission denied", p)

    monkeypatch.setattr(os, "unlink", refuse)
    outputs.remove_temporaries()
    assert path not in outputs._TEMPORARIES
