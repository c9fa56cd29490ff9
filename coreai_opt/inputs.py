"""Opening an input once, whatever it is: a file, a bundle, a pipe, a FIFO, a device, stdin.

Regular files are read in place (text is streamed, bytecode memory-mapped), which needs a
second open and random access. Anything else can only be read once, front to back: a FIFO
or `<(...)` would hang or fail on a second open or a seek, and `/proc` files report a size
of 0. Those are read into memory here, once, and parsed from there.
"""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import dataclass
from typing import BinaryIO, Literal

from coreai_opt.errors import CoreAIError, IRError, opening, os_reason

BYTECODE_MAGIC = b"ML\xefR"
Kind = Literal["bundle", "bytecode", "text"]


@dataclass(frozen=True)
class Input:
    """One input: its name in diagnostics, where it is read from, and what it holds.

    Exactly one of `path` (a regular file or a bundle directory, read in place) and `data`
    (the whole input, read once) is set.
    """

    name: str
    kind: Kind
    path: str | None = None
    data: bytes | None = None


def open_input(path: str, error: type[CoreAIError] = IRError) -> Input:
    """Classify `path` (`-` is stdin), reading it whole when it cannot be read twice."""
    if path == "-":
        return in_memory("<stdin>", read_stream(sys.stdin.buffer, "<stdin>", error))
    with opening(path, error, "a .mlir file"):
        info = os.stat(path)
    if stat.S_ISDIR(info.st_mode):
        return Input(path, "bundle", path=path)
    if stat.S_ISREG(info.st_mode) and info.st_size > 0:
        with opening(path, error, "a .mlir file"), open(path, "rb") as stream:
            head = stream.read(len(BYTECODE_MAGIC))
        return Input(path, "bytecode" if head == BYTECODE_MAGIC else "text", path=path)
    with opening(path, error, "a .mlir file"), open(path, "rb") as stream:
        return in_memory(path, read_stream(stream, path, error))


def in_memory(name: str, data: bytes) -> Input:
    """An input read whole: bytecode when it starts with the magic number, else text."""
    return Input(name, "bytecode" if data.startswith(BYTECODE_MAGIC) else "text", data=data)


def read_stream(stream: BinaryIO, name: str, error: type[CoreAIError] = IRError) -> bytes:
    """Everything a stream holds; OS errors become one-line errors naming `name`."""
    try:
        return stream.read()
    except OSError as failure:
        raise error(f"cannot read: {os_reason(failure)}", name) from None
