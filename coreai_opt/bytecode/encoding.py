"""MLIR bytecode primitives: varints, bounded readers, segmented emitters, section ids.

Facts from mlir.llvm.org/docs/BytecodeFormat. Every size or count read from a file is checked
against the bytes that remain before it is used, so a corrupt header can never make the
reader allocate or loop over an absurd amount.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

from coreai_opt.limits import MAX_RESOURCE_ALIGNMENT, alignment_problem

MAGIC = b"ML\xefR"
VERSION = 6
"""The bytecode version MLIR 22 reads and writes (checked against `mlir-opt-22` output)."""
MIN_READ_VERSION = 5
"""Oldest version we read: native properties encoding and registered-op flags."""
PRODUCER = "coreai-opt"
ALIGNMENT_BYTE = 0xCB
MAX_ALIGNMENT = MAX_RESOURCE_ALIGNMENT
"""Largest alignment we accept in a file (MLIR blobs use 1..64; pages are 4096)."""


class Section(IntEnum):
    """Top-level section ids."""

    STRING = 0
    DIALECT = 1
    ATTR_TYPE = 2
    ATTR_TYPE_OFFSET = 3
    IR = 4
    RESOURCE = 5
    RESOURCE_OFFSET = 6
    DIALECT_VERSIONS = 7
    PROPERTIES = 8


NUM_SECTIONS = 9


class OpMask:
    """Bits of an operation's encoding mask."""

    HAS_ATTRS = 0b00000001
    HAS_RESULTS = 0b00000010
    HAS_OPERANDS = 0b00000100
    HAS_SUCCESSORS = 0b00001000
    HAS_INLINE_REGIONS = 0b00010000
    HAS_USE_LIST_ORDERS = 0b00100000
    HAS_PROPERTIES = 0b01000000


class ResourceKind(IntEnum):
    """Kinds of resource entries."""

    BLOB = 0
    BOOL = 1
    STRING = 2


class BytecodeFormatError(Exception):
    """A malformed file; `offset` is the absolute byte offset where the problem was found."""

    def __init__(self, message: str, offset: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


# --------------------------------------------------------------------------- reading


class Cursor:
    """A bounds-checked reader over a byte buffer that knows its absolute file offset."""

    __slots__ = ("base", "data", "end", "pos")

    def __init__(self, data: bytes | memoryview, base: int = 0) -> None:
        self.data = data
        self.base = base
        self.pos = 0
        self.end = len(data)

    # ---- state
    @property
    def offset(self) -> int:
        """Absolute file offset of the next byte."""
        return self.base + self.pos

    @property
    def remaining(self) -> int:
        """Bytes left before the end of this buffer."""
        return self.end - self.pos

    def at_end(self) -> bool:
        """True when every byte has been consumed."""
        return self.pos >= self.end

    def error(self, message: str) -> BytecodeFormatError:
        """An error located at the cursor."""
        return BytecodeFormatError(message, self.offset)

    # ---- primitives
    def byte(self, what: str = "a byte") -> int:
        """One unsigned byte."""
        if self.pos >= self.end:
            raise self.error(f"unexpected end of data reading {what}")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def take(self, count: int, what: str = "bytes") -> memoryview | bytes:
        """The next `count` bytes (a zero-copy slice)."""
        if count < 0 or count > self.remaining:
            raise self.error(f"{what} claims {count} bytes but only {self.remaining} remain")
        start = self.pos
        self.pos += count
        return self.data[start : self.pos]

    def sub(self, count: int, what: str) -> Cursor:
        """A cursor over the next `count` bytes, which this cursor skips."""
        start = self.offset
        return Cursor(self.take(count, what), start)

    def varint(self, what: str = "an integer") -> int:
        """A prefix varint: trailing zero bits of the first byte count the extra bytes."""
        first = self.byte(what)
        if first & 1:
            return first >> 1
        if first == 0:
            return int.from_bytes(self.take(8, what), "little")
        extra = (first & -first).bit_length() - 1
        rest = self.take(extra, what)
        value = first | (int.from_bytes(rest, "little") << 8)
        return value >> (extra + 1)

    def signed_varint(self, what: str = "an integer") -> int:
        """A zigzag-encoded varint."""
        value = self.varint(what)
        return (value >> 1) ^ -(value & 1)

    def varint_flag(self, what: str = "an integer") -> tuple[int, bool]:
        """A varint whose low bit is a flag: `(value << 1) | flag`."""
        value = self.varint(what)
        return value >> 1, bool(value & 1)

    def count(self, what: str, min_item_bytes: int = 1) -> int:
        """A count of items that each take at least `min_item_bytes` (checked against the rest)."""
        value = self.varint(what)
        if value * min_item_bytes > self.remaining:
            raise self.error(f"{what} is {value} but only {self.remaining} bytes remain")
        return value

    def cstring(self, what: str) -> str:
        """A NUL-terminated UTF-8 string."""
        start, found, step = self.pos, -1, 4096
        scanned = bytearray()
        while found < 0 and start + len(scanned) < self.end:
            chunk = bytes(
                self.data[start + len(scanned) : min(self.end, start + len(scanned) + step)]
            )
            index = chunk.find(b"\0")
            found = len(scanned) + index if index >= 0 else -1
            scanned += chunk
        if found < 0:
            raise self.error(f"{what} has no terminating NUL")
        self.pos = start + found + 1
        return decode_utf8(scanned[:found], what, self.base + start)

    def align(self, alignment: int, what: str) -> None:
        """Skip 0xCB padding up to the next absolute multiple of `alignment`."""
        check_alignment(alignment, what, self.offset)
        while self.offset % alignment:
            if self.byte(f"padding of {what}") != ALIGNMENT_BYTE:
                raise BytecodeFormatError(
                    f"expected alignment byte 0xCB in {what}", self.offset - 1
                )


def check_alignment(alignment: int, what: str, offset: int) -> None:
    """An alignment must be a power of two we are willing to honour (coreai_opt.limits)."""
    problem = "alignment 0 is not a power of two" if alignment < 1 else alignment_problem(alignment)
    if problem is not None:
        raise BytecodeFormatError(f"{what}: {problem}", offset)


def decode_utf8(raw: bytes | memoryview, what: str, offset: int) -> str:
    """UTF-8 text, or a located error."""
    try:
        return bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise BytecodeFormatError(f"{what} is not valid UTF-8", offset) from None


# --------------------------------------------------------------------------- writing


def encode_varint(value: int) -> bytes:
    """The prefix-varint encoding of a non-negative integer < 2**64."""
    if value < 0 or value >= 1 << 64:
        raise ValueError(f"varint out of range: {value}")
    if value < 1 << 7:
        return bytes(((value << 1) | 1,))
    for extra in range(1, 8):
        if value < 1 << (7 * (extra + 1)):
            encoded = ((value << 1) | 1) << extra
            return encoded.to_bytes(extra + 1, "little")
    return b"\0" + value.to_bytes(8, "little")


def zigzag(value: int) -> int:
    """Signed → unsigned zigzag mapping (64-bit two's complement semantics)."""
    value &= (1 << 64) - 1
    signed = value - (1 << 64) if value >> 63 else value
    return ((signed << 1) ^ (signed >> 63)) & ((1 << 64) - 1)


@dataclass
class Emitter:
    """An append-only encoder whose output is a list of byte strings and external arrays.

    External arrays (weights) are referenced, never copied; `required_alignment` is the
    largest alignment requested inside, which a parent section must honour at its start.
    """

    parts: list[bytes | np.ndarray] = field(default_factory=list)
    current: bytearray = field(default_factory=bytearray)
    flushed_size: int = 0
    required_alignment: int = 1

    @property
    def size(self) -> int:
        """Bytes emitted so far."""
        return self.flushed_size + len(self.current)

    def byte(self, value: int) -> None:
        """One byte."""
        self.current.append(value)

    def raw(self, data: bytes | bytearray | memoryview) -> None:
        """Bytes, copied."""
        self.current += data

    def varint(self, value: int) -> None:
        """A prefix varint."""
        if 0 <= value < 128:
            self.current.append((value << 1) | 1)
        else:
            self.current += encode_varint(value)

    def signed_varint(self, value: int) -> None:
        """A zigzag varint."""
        self.varint(zigzag(value))

    def varint_flag(self, value: int, flag: bool) -> None:
        """`(value << 1) | flag` as a varint."""
        self.varint((value << 1) | int(flag))

    def cstring(self, text: str) -> None:
        """A NUL-terminated UTF-8 string."""
        self.current += text.encode("utf-8")
        self.current.append(0)

    def align(self, alignment: int) -> None:
        """Pad with 0xCB to a multiple of `alignment` (relative to this emitter's start)."""
        if alignment < 2:
            return
        self.current += bytes((ALIGNMENT_BYTE,)) * (-self.size % alignment)
        self.required_alignment = max(self.required_alignment, alignment)

    def external(self, array: np.ndarray) -> None:
        """Reference the bytes of a 1-D uint8 array (streamed at write time)."""
        self._flush()
        if array.size:
            self.parts.append(array)
            self.flushed_size += int(array.size)

    def section(self, section_id: Section, body: Emitter) -> None:
        """A nested section: id (high bit = aligned), length, optional alignment, body."""
        id_offset = len(self.current)
        self.byte(int(section_id))
        self.varint(body.size)
        alignment = body.required_alignment
        if alignment > 1:
            if self.size % alignment:
                self.varint(alignment)
                self.align(alignment)
                self.current[id_offset] |= 0x80
            else:
                self.required_alignment = max(self.required_alignment, alignment)
        self._flush()
        body._flush()
        self.parts.extend(body.parts)
        self.flushed_size += body.flushed_size

    def _flush(self) -> None:
        if self.current:
            self.parts.append(bytes(self.current))
            self.flushed_size += len(self.current)
            self.current = bytearray()

    def finish(self) -> list[bytes | np.ndarray]:
        """All parts, in order."""
        self._flush()
        return self.parts
