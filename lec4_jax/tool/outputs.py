"""Every output of a script, through one object: checked together first, committed whole last.

:class:`Outputs` is what the scripts hand their output paths to. It promises:

- **Checked before any work**, all together: no two outputs are the same file, each parent
  folder exists and is writable, no target is a folder, nothing a shell redirect would fail on
  (a loop of links, a name too long, a file where a folder should be, a name ending in a
  separator, a deleted working folder under a relative path), and each output's renderer
  (matplotlib, Graphviz) is present.
- **Whole or absent.** A file is written to a temporary file beside its target, flushed to disk
  (``fsync``) and only then renamed over the target, so a reader sees the old file or the new
  one, never a part. The temporary file is made at commit time, not before, and every live one is
  listed, as it is made, in a process-wide registry that :func:`remove_temporaries` empties (the
  scripts call it from their signal handlers), so none survives an exit: normal, error or
  signal. Its name,
  ``.<target>.<random>.tmp``, keeps only the target name's first 64 bytes, so it fits
  wherever the target's name does.
- **Written through links, never over devices.** A symbolic link is followed, as a shell
  redirect does: its target changes (a dangling link's target is made), the link stays; a loop
  of links is refused. A device, a pipe, or an open file descriptor (``/dev/stdout``,
  ``/dev/fd/N``, ``/proc/self/fd/N``) is written in place, appended to, never renamed over; any
  other regular file (``/dev/shm/x`` too) is replaced.
- **A replaced file keeps its mode** (a new one gets ``0o666`` less the umask, as ``open`` does).
- **Streamed standard output that outlives its reader.** :meth:`Outputs.print_lines` writes in
  batches; when the reader leaves (a broken pipe) or stdout is closed, the lines are dropped
  and the files are still committed.

Errors are :class:`~lec4_jax.tool.data.InputError` with one line that starts with the
output's label, including a renderer's failure to write its own scratch file (a full disk, a
file-size limit).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from lec4_jax.tool.data import InputError

Content = str | bytes | Iterable[str] | Iterable[bytes]
_TEMPORARIES: set[str] = set()  # temporary files alive right now, in this process
_KEPT_BYTES = 64  # of a target's name, in its temporary's name (NAME_MAX is 255 bytes)


_MAKING = threading.Lock()  # held while a temporary file is made and listed


def remove_temporaries(final: bool = False) -> None:
    """Removes every temporary file an :class:`Outputs` has open (safe in a signal handler).

    One being made right now (in another thread) is listed first: this waits for it, up to a
    second. ``final``: the process ends next (a signal handler, an exit), so no thread may
    make another one in the meantime."""
    held = _MAKING.acquire(timeout=1)
    try:
        for path in list(_TEMPORARIES):
            try:
                os.unlink(path)
            except OSError:
                pass
            _TEMPORARIES.discard(path)
    finally:
        if held and not final:
            _MAKING.release()


def _temporary(prefix: str, suffix: str, folder: str | None = None) -> tuple[int, str]:
    """A new temporary file (its descriptor and path), listed as it is made: a signal never
    finds it made and not listed."""
    with _MAKING:
        fd, path = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=folder)
        _TEMPORARIES.add(path)
    return fd, path


@contextlib.contextmanager
def scratch_file(suffix: str):
    """A temporary file's path for a writer that needs a path (matplotlib's animation writers),
    registered so that a signal removes it too; removed on leaving."""
    fd, path = _temporary("lec4_jax-", suffix)
    os.close(fd)
    try:
        yield path
    finally:
        if os.path.lexists(path):
            os.unlink(path)
        _TEMPORARIES.discard(path)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _links(path: str, hops: int = 40):
    """``path`` and every path its chain of symbolic links passes through."""
    p = os.path.abspath(path)
    yield p
    for _ in range(hops):
        if not os.path.islink(p):
            return
        p = os.path.normpath(os.path.join(os.path.dirname(p), os.readlink(p)))
        yield p


_DESCRIPTORS = ("/proc/", "/dev/fd/", "/dev/stdin", "/dev/stdout", "/dev/stderr")


def _in_place(path: str, real: str) -> bool:
    """True for what must be written where it is: devices, pipes, sockets, and an open file
    descriptor (``/dev/stdout`` -> ``/proc/self/fd/1`` -> a file the shell opened). A regular
    file anywhere else, ``/dev/shm`` included, is replaced, never appended to."""
    for p in (*_links(path), real):
        if p.startswith(_DESCRIPTORS):
            return True
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode)


def _names_a_folder(path: str) -> bool:
    """A name that ends in a separator (``newdir/``), or in ``.`` or ``..``, names a folder
    whether or not it exists: a shell redirect refuses it ("Is a directory"), and so does
    :meth:`Outputs.check` (a file where the folder should be is "Not a directory", found by
    ``stat`` first)."""
    return path.endswith(("/", os.sep)) or os.path.basename(path) in (".", "..")


def _is_char_device(path: str) -> bool:
    try:
        return stat.S_ISCHR(os.stat(path).st_mode)
    except OSError:
        return False


@dataclass
class Target:
    """One output: its label (for messages), the path given, and where it really goes."""

    label: str
    path: str
    real: str
    in_place: bool
    needs: Callable[[], None] | None = None

    def identity(self):
        try:
            st = os.stat(self.real)
            return ("inode", st.st_dev, st.st_ino)
        except OSError:
            return ("path", self.real)

    def fail(self, reason: str) -> InputError:
        return InputError(f"{self.label}: {self.path}: {reason}")


class Outputs:
    """The outputs of one script run. See the module docstring for what it promises.

    Typical use::

        out = Outputs()
        out.add("--output", path)
        out.add("--plot", png, needs=plots.require_matplotlib)
        out.check()                      # before any work
        out.print_lines(lines)           # streamed stdout
        out.commit("--output", chunks)   # whole or not at all
    """

    def __init__(self, stdout=None):
        self._stdout = stdout if stdout is not None else sys.stdout
        self.stdout_gone = self._stdout is None
        self.targets: dict[str, Target] = {}

    def add(self, label: str, path: str | None, needs: Callable[[], None] | None = None):
        """Declares an output; ``None`` or ``""`` declares nothing. ``needs`` checks a renderer."""
        if not path:
            return None
        try:
            real = os.path.realpath(path)
        except OSError as e:  # a relative path, and the working folder was deleted
            why = "the working folder no longer exists" if e.errno == errno.ENOENT else e.strerror
            raise InputError(f"{label}: {path}: cannot write ({why})") from None
        in_place = _in_place(path, real)
        # written in place through the path as given: /dev/stdout's target may be a pipe with
        # no name; a file is renamed over at the end of its links
        target = Target(label, path, os.path.abspath(path) if in_place else real, in_place, needs)
        self.targets[label] = target
        return target

    def __contains__(self, label: str) -> bool:
        return label in self.targets

    def check(self) -> None:
        """Checks every output together, before any work; raises one-line :class:`InputError`."""
        seen: dict = {}
        for t in self.targets.values():
            key = t.identity()
            if key in seen and not _is_char_device(t.real):  # two writes to a terminal are fine
                raise InputError(f"{t.label} and {seen[key].label} are the same file "
                                 f"({t.path}); give each output its own path")
            seen[key] = t
            self._check_writable(t)
            if t.needs is not None:
                try:
                    t.needs()
                except InputError as e:
                    raise InputError(f"{t.label}: {e}") from None

    @staticmethod
    def _check_writable(t: Target) -> None:
        # what a shell redirect would meet: a loop of links, a name too long, a file where a
        # folder should be (only "does not exist yet" is fine)
        for p in (t.path, t.real):
            try:
                os.stat(p)
            except OSError as e:
                if e.errno != errno.ENOENT:
                    raise t.fail(f"cannot write ({e.strerror})") from None
        if os.path.isdir(t.real) or _names_a_folder(t.path):
            raise t.fail("is a directory")
        if t.in_place:
            if os.path.exists(t.real) and not os.access(t.real, os.W_OK):
                raise t.fail("cannot write (permission denied)")
            return
        parent = os.path.dirname(t.real)
        if not os.path.isdir(parent):
            raise t.fail("cannot write (no such directory)")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise t.fail("cannot write (permission denied)")
        if os.path.exists(t.real) and not os.access(t.real, os.W_OK):
            raise t.fail("cannot write (permission denied)")

    def print_lines(self, lines: Iterable[str], batch: int = 4096) -> None:
        """Writes ``lines`` to stdout as they come, in batches; a reader that left is fine."""
        buffer: list[str] = []
        for line in lines:
            if self.stdout_gone:
                return
            buffer.append(line)
            if len(buffer) >= batch:
                self._write_stdout(buffer)
                buffer = []
        if buffer and not self.stdout_gone:
            self._write_stdout(buffer)

    def _write_stdout(self, lines: list[str]) -> None:
        try:
            self._stdout.write("\n".join(lines) + "\n")
            self._stdout.flush()
        except (BrokenPipeError, ValueError):  # the reader left, or stdout is closed
            self._stdout_left()
        except OSError as e:
            if e.errno not in (errno.EPIPE, errno.EBADF):
                raise
            self._stdout_left()

    def _stdout_left(self) -> None:
        """Points fd 1 at /dev/null, so nothing later (a final flush) fails on it again."""
        self.stdout_gone = True
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.close(devnull)
        except OSError:
            pass

    def commit(self, label: str, content: Content | Callable[[], Content]) -> None:
        """Writes one output whole: ``content`` is text, bytes, an iterable of either (streamed
        to disk, never joined in memory), or a function returning one of those."""
        t = self.targets[label]
        if callable(content):
            try:
                content = content()
            except InputError as e:  # a renderer failed: name the output
                raise InputError(f"{label}: {e}") from None
            except OSError as e:  # a renderer's own file (a scratch file) on a full disk
                raise t.fail(f"cannot write ({_reason(e)})") from None
        try:
            if t.in_place:
                with open(t.real, "ab") as f:
                    _write_all(f, content)
            else:
                self._replace(t, content)
        except OSError as e:
            raise t.fail(f"cannot write ({e.strerror or e})") from None

    @staticmethod
    def _replace(t: Target, content: Content) -> None:
        try:
            mode = stat.S_IMODE(os.stat(t.real).st_mode)
        except OSError:
            mode = 0o666 & ~_umask()
        fd, tmp = _temporary(_temporary_prefix(t.real), ".tmp", os.path.dirname(t.real))
        try:
            with os.fdopen(fd, "wb") as f:
                _write_all(f, content)
                f.flush()
                os.fchmod(f.fileno(), mode)
                os.fsync(f.fileno())  # complete on disk before it takes the target's name
            os.replace(tmp, t.real)
        finally:
            if os.path.lexists(tmp):
                os.unlink(tmp)
            _TEMPORARIES.discard(tmp)


def _reason(e: OSError) -> str:
    """``No space left on device``, with the file it names (a renderer's scratch file)."""
    return f"{e.strerror or e}: {e.filename}" if e.filename else f"{e.strerror or e}"


def _temporary_prefix(target: str) -> str:
    """``.<target>.``, the name cut to its first :data:`_KEPT_BYTES` bytes, so that the
    temporary's name (prefix, 8 random characters, ``.tmp``) fits any legal target's folder."""
    return f".{os.fsdecode(os.fsencode(os.path.basename(target))[:_KEPT_BYTES])}."


def _write_all(f, content: Content) -> None:
    if isinstance(content, (str, bytes)):
        content = [content]
    for chunk in content:
        f.write(chunk.encode() if isinstance(chunk, str) else chunk)
