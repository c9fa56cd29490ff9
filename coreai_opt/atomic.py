"""Atomic file writing: a temporary sibling, written, synced and renamed into place."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from coreai_opt.errors import IRError, writing


def current_umask() -> int:
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomically(path: Path, write) -> None:
    """Call `write(binary_stream)` on a temporary sibling of `path`, then rename it.

    Devices and pipes (`-o /dev/null`, a FIFO) are written in place: renaming over them
    would replace the device node itself. OS failures (permissions, a full disk) are one
    OutputError naming `path`; the temporary file is removed whatever stops the write
    (an error, Ctrl-C, or SIGTERM/SIGHUP, which the command line turns into exceptions).
    """
    with writing(str(path)):
        if path.exists() and not path.is_file() and not path.is_dir():
            with open(path, "wb") as stream:
                write(stream)
            return
        directory = path.parent if str(path.parent) else Path(".")
        if not directory.is_dir():
            raise IRError("the output directory does not exist", str(path))
        write_temporary_then_rename(path, directory, write)


def write_temporary_then_rename(path: Path, directory: Path, write) -> None:
    """The atomic part of `write_atomically`."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        os.chmod(temporary, 0o666 & ~current_umask())  # mkstemp's 0600 is not what users expect
        with os.fdopen(handle, "wb") as stream:
            write(stream)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def sync_to_disk(stream) -> None:
    """Flush and fsync a file being written; devices and pipes (which refuse fsync) are only
    flushed."""
    stream.flush()
    if stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
        os.fsync(stream.fileno())
