"""MLIR bytecode in pure Python: read what MLIR 22 writes, write what it reads.

    module, metadata = read_bytecode("model.mlirb")       # blobs memory-mapped, not read
    digest = write_bytecode(module, metadata, "out.mlirb")  # streamed, atomic, SHA-256

Errors are `AssetError`s naming the file and the problem (with the byte offset for
malformed files).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import BinaryIO

from xdsl.dialects.builtin import ModuleOp

from coreai_opt.atomic import sync_to_disk, write_atomically
from coreai_opt.bytecode.encoding import MAGIC, VERSION, BytecodeFormatError
from coreai_opt.bytecode.reader import BytesSource, FileSource, Source, read_bytecode_source
from coreai_opt.bytecode.writer import BytecodeImage, BytecodeWriteError, build_image
from coreai_opt.errors import AssetError, opening
from coreai_opt.ir.text import FileMetadata

__all__ = [
    "MAGIC",
    "VERSION",
    "BytecodeImage",
    "build_image",
    "bytecode_bytes",
    "is_bytecode_file",
    "read_bytecode",
    "read_bytecode_bytes",
    "write_bytecode",
    "write_bytecode_stream",
]


def format_error(error: BytecodeFormatError) -> str:
    """`invalid MLIR bytecode: <problem> (at byte N)`."""
    where = f" (at byte {error.offset})" if error.offset is not None else ""
    return f"invalid MLIR bytecode: {error.message}{where}"


def read_source(source: Source) -> tuple[ModuleOp, FileMetadata]:
    """Decode, turning format errors into AssetErrors located at the file."""
    try:
        return read_bytecode_source(source)
    except BytecodeFormatError as error:
        raise AssetError(format_error(error), source.name) from None


def read_bytecode(path: str | os.PathLike[str]) -> tuple[ModuleOp, FileMetadata]:
    """Read a `.mlirb` file; weights stay on disk as read-only memory maps."""
    name = os.fspath(path)
    with opening(name, AssetError, "an MLIR bytecode file"):
        source = FileSource(name)
    return read_source(source)


def read_bytecode_bytes(data: bytes, name: str = "<bytes>") -> tuple[ModuleOp, FileMetadata]:
    """Read bytecode held in memory (blobs are views of `data`)."""
    return read_source(BytesSource(data, name))


def is_bytecode_file(path: str | os.PathLike[str]) -> bool:
    """True when `path` is a file starting with MLIR bytecode's magic number."""
    try:
        with open(path, "rb") as stream:
            return stream.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


def image_for(module: ModuleOp, metadata: FileMetadata | None, where: str) -> BytecodeImage:
    """Encode, turning unwritable content into an AssetError."""
    try:
        return build_image(module, metadata)
    except BytecodeWriteError as error:
        raise AssetError(f"cannot write bytecode: {error}", where) from None


def bytecode_bytes(module: ModuleOp, metadata: FileMetadata | None = None) -> bytes:
    """The whole bytecode file in memory (small modules, tests)."""
    return image_for(module, metadata, "<bytes>").to_bytes()


def write_bytecode_stream(
    module: ModuleOp, metadata: FileMetadata | None, out: BinaryIO, name: str = "<stream>"
) -> bytes:
    """Stream bytecode to `out`; returns the SHA-256 digest of what was written."""
    hasher = hashlib.sha256()
    image_for(module, metadata, name).write_to(out, hasher)
    return hasher.digest()


def write_bytecode(
    module: ModuleOp, metadata: FileMetadata | None, path: str | os.PathLike[str]
) -> bytes:
    """Write a `.mlirb` atomically (temporary sibling, fsync, rename); returns its SHA-256."""
    digest = b""

    def write(stream: BinaryIO) -> None:
        nonlocal digest
        digest = write_bytecode_stream(module, metadata, stream, os.fspath(path))
        sync_to_disk(stream)

    write_atomically(Path(path), write)
    return digest
