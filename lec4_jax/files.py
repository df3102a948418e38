"""Output files that appear whole or not at all."""

from __future__ import annotations

import os
import stat
import tempfile

from lec4_jax.data import InputError


class AtomicFile:
    """A file that appears whole or not at all.

    Opening makes a temporary file beside ``path`` (so an unwritable path fails before any work
    is done); :meth:`commit` writes and renames it into place; :meth:`discard` removes it. A path
    that exists and is not a regular file (``/dev/stdout``, a pipe) is written in place: it cannot
    be replaced, and must never be.
    """

    def __init__(self, path: str, flag: str = "--output"):
        self.path, self._tmp = path, None
        if os.path.isdir(path):
            raise InputError(f"{flag}: {path}: is a directory")
        if os.path.exists(path) and not stat.S_ISREG(os.stat(path).st_mode):
            if not os.access(path, os.W_OK):
                raise InputError(f"{flag}: {path}: cannot write (permission denied)")
            return
        try:
            fd, self._tmp = tempfile.mkstemp(prefix=".tmp-",
                                             dir=os.path.dirname(os.path.abspath(path)))
        except OSError as e:
            raise InputError(f"{flag}: {path}: cannot write ({e.strerror})") from None
        os.close(fd)

    def commit(self, data: str | bytes) -> None:
        mode = "wb" if isinstance(data, bytes) else "w"
        with open(self._tmp or self.path, mode) as f:
            f.write(data)
        if self._tmp is not None:
            os.chmod(self._tmp, 0o644)
            os.replace(self._tmp, self.path)
            self._tmp = None

    def discard(self) -> None:
        if self._tmp is not None and os.path.exists(self._tmp):
            os.remove(self._tmp)
        self._tmp = None
