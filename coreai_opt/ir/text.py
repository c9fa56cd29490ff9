"""Textual Core AI IR: parsing and printing that scale to gigabytes of weights.

A textual file is the module followed by an optional `{-# dialect_resources ... #-}`
section holding the weights in hex. The module part goes through xDSL's parser (it is
small); the resource section is read by a streaming scanner that decodes hex chunk by chunk
into numpy buffers, and printed by streaming hex, so no weight ever becomes a Python object
and no whole-file string is ever held in memory.
"""

from __future__ import annotations

import binascii
import bisect
import io
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, TextIO

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    AnyFloat,
    ArrayAttr,
    Builtin,
    BytesAttr,
    CallSiteLoc,
    ComplexType,
    DenseIntOrFPElementsAttr,
    FileLineColLoc,
    Float64Type,
    FloatAttr,
    FusedLoc,
    IndexType,
    IntAttr,
    IntegerAttr,
    IntegerType,
    MemRefType,
    ModuleOp,
    NameLoc,
    NoneAttr,
    StringAttr,
    TensorType,
    UnregisteredAttr,
    VectorType,
)
from xdsl.ir import Attribute, Operation
from xdsl.parser import AttrParser, Parser
from xdsl.printer import Printer
from xdsl.utils.exceptions import ParseError, VerifyException
from xdsl.utils.mlir_lexer import MLIRLexer, MLIRTokenKind

from coreai_opt.dialects.asm import asm_info, update_asm
from coreai_opt.dialects.coreai import CoreAI, UnknownCoreAIOp, unknown_op_class
from coreai_opt.dialects.forms import apple_syntax
from coreai_opt.dialects.resources import Blob, DenseResourceElementsAttr
from coreai_opt.dialects.types import attribute_class, type_class
from coreai_opt.errors import IRError, opening
from coreai_opt.ir.elements import dense_attr, splat_element
from coreai_opt.ir.floats import hex_float_text, mlir_float_text
from coreai_opt.limits import (
    MAX_DIMENSION,
    MAX_INTEGER_WIDTH,
    MAX_NESTING_DEPTH,
    alignment_problem,
    too_deep_offset,
)

CHUNK = 1 << 24
"""Bytes of text read or written at a time when streaming resources."""

METADATA_BEGIN = b"{-#"
EMPTY_TEXT = re.compile(r"(?:\s|//[^\n]*(?:\n|$))*")
LEADING_SPACE_AND_COMMENTS = re.compile(rb"^(?:\s|//[^\n]*(?:\n|$))*")
HEX_WORD = re.compile(rb"[0-9A-Fa-f]{8}")
EXPLICIT_MODULE = re.compile(r"(?:\s|//[^\n]*(?:\n|$))*module\b")


# --------------------------------------------------------------------------- context


class CoreAIContext(Context):
    """Context where any `coreai.*` op name resolves, modelled or not."""

    resolves_coreai_names = True
    """Names resolve on lookup: the dialect's parse hooks need not scan the text for them
    (dialects/names.py)."""

    def get_optional_op(self, name: str, *, dialect_stack=()) -> type[Operation] | None:
        if name.startswith("coreai.") and self._get_known_op(name) is None:
            op_class = unknown_op_class(name)
            self._loaded_ops[name] = op_class
            return op_class
        return super().get_optional_op(name, dialect_stack=dialect_stack)

    def get_optional_attr(self, name: str):
        if name.startswith("coreai.") and name not in self._loaded_attrs:
            known = super().get_optional_attr(name)
            if known is None or issubclass(known, UnregisteredAttr):
                known = attribute_class(name.removeprefix("coreai."))
                self._loaded_attrs[name] = known
            return known
        return super().get_optional_attr(name)

    def get_optional_type(self, name: str):
        if name.startswith("coreai.") and name not in self._loaded_types:
            known = super().get_optional_type(name)
            if known is None or issubclass(known, UnregisteredAttr):
                known = type_class(name.removeprefix("coreai."))
                self._loaded_types[name] = known
            return known
        return super().get_optional_type(name)


LINEAR_STRING_LITERAL = re.compile(r'"(?:[^"\\\n\v\f]++|\\(?:["nt\\]|[0-9A-Fa-f]{2}))*+"')
"""xDSL 0.74's string-literal pattern, `"(?:[^"\\\n\v\f]+|\\...)*"`, nests `+` inside `*`:
an unterminated or badly escaped string of a few dozen characters makes it backtrack for
minutes (a hang on a one-character typo). This one matches the same strings, in linear time
(possessive runs: nothing to backtrack into), and reads a 32 MB hex string in 0.2 s where
one character per step took 5.6 s (what `xdsl-opt` lexes for a `dialect_resources` blob)."""
MLIRLexer._unescaped_characters_regex = LINEAR_STRING_LITERAL


def make_context() -> CoreAIContext:
    """A context with the builtin and coreai dialects; other dialects parse generically."""
    ctx = CoreAIContext(allow_unregistered=True)
    ctx.load_dialect(Builtin)
    ctx.load_dialect(CoreAI)
    return ctx


# --------------------------------------------------------------------------- locations


class LineIndex:
    """Maps byte/char offsets of a text to 1-based (line, column)."""

    def __init__(self, text: str, base_offset: int = 0) -> None:
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.base_offset = base_offset

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based line and column of `offset`."""
        line = bisect.bisect_right(self.starts, offset) - 1
        return line + 1, offset - self.starts[line] + 1


def byte_offset_line_col(stream: BinaryIO, offset: int) -> tuple[int, int]:
    """1-based line and column of a byte offset in a seekable stream (error path only)."""
    stream.seek(0)
    line, line_start, consumed = 1, 0, 0
    while consumed < offset:
        chunk = stream.read(min(CHUNK, offset - consumed))
        if not chunk:
            break
        newlines = chunk.count(b"\n")
        if newlines:
            line += newlines
            line_start = consumed + chunk.rfind(b"\n") + 1
        consumed += len(chunk)
    return line, offset - line_start + 1


# --------------------------------------------------------------------------- resources


@dataclass
class FileMetadata:
    """What the `{-# ... #-}` section held: builtin blobs and anything else, kept verbatim."""

    blobs: dict[str, Blob] = field(default_factory=dict)
    other_dialect_resources: dict[str, dict[str, str]] = field(default_factory=dict)
    external_resources: str | None = None


class MetadataScanner:
    """A small streaming tokenizer over the resource section of a seekable binary stream."""

    def __init__(self, stream: BinaryIO, start: int, name: str) -> None:
        self.stream = stream
        self.name = name
        stream.seek(start)
        self.buffer = b""
        self.pos = 0
        self.base = start

    # ---- buffer management
    def offset(self) -> int:
        """Absolute byte offset of the cursor."""
        return self.base + self.pos

    def fill(self, wanted: int = 1) -> bool:
        """Ensure `wanted` bytes after the cursor if the stream has them."""
        while len(self.buffer) - self.pos < wanted:
            more = self.stream.read(CHUNK)
            if not more:
                return False
            self.base += self.pos
            self.buffer = self.buffer[self.pos :] + more
            self.pos = 0
        return True

    def error(self, message: str, offset: int | None = None) -> IRError:
        """An IRError located at `offset` (default: the cursor)."""
        line, col = byte_offset_line_col(self.stream, self.offset() if offset is None else offset)
        return IRError(message, f"{self.name}:{line}:{col}")

    # ---- tokens
    def skip_space(self) -> None:
        """Skip whitespace and `//` comments."""
        while self.fill(1):
            char = self.buffer[self.pos : self.pos + 1]
            if char.isspace():
                self.pos += 1
            elif self.buffer.startswith(b"//", self.pos) or (char == b"/" and self.fill(2)):
                if not self.buffer.startswith(b"//", self.pos):
                    return
                while self.fill(1) and self.buffer[self.pos : self.pos + 1] != b"\n":
                    end = self.buffer.find(b"\n", self.pos)
                    self.pos = len(self.buffer) if end < 0 else end
            else:
                return

    def peek(self, literal: bytes) -> bool:
        """True when the next token is `literal` (after whitespace)."""
        self.skip_space()
        return self.fill(len(literal)) and self.buffer.startswith(literal, self.pos)

    def accept(self, literal: bytes) -> bool:
        """Consume `literal` if it is next."""
        if self.peek(literal):
            self.pos += len(literal)
            return True
        return False

    def expect(self, literal: bytes, context: str) -> None:
        """Consume `literal` or fail with a located error."""
        if not self.accept(literal):
            raise self.error(f"expected '{literal.decode()}' {context}")

    def identifier(self, context: str) -> str:
        """A bare identifier (resource keys may contain `.`, `$`, `-`)."""
        self.skip_space()
        self.fill(4096)
        match = re.compile(rb"[A-Za-z_][\w.$\-]*").match(self.buffer, self.pos)
        if match is None:
            raise self.error(f"expected an identifier {context}")
        self.pos = match.end()
        return match.group().decode()

    def raw_string(self) -> str:
        """A quoted string kept verbatim (escapes included), for resources we only carry."""
        self.expect(b'"', "to open a string")
        parts: list[bytes] = []
        while True:
            if not self.fill(1):
                raise self.error("unterminated string")
            end = self.buffer.find(b'"', self.pos)
            while end > 0 and self.buffer[end - 1 : end] == b"\\":
                end = self.buffer.find(b'"', end + 1)
            if end < 0:
                parts.append(self.buffer[self.pos :])
                self.pos = len(self.buffer)
                continue
            parts.append(self.buffer[self.pos : end])
            self.pos = end + 1
            return b"".join(parts).decode()

    def hex_blob(self, key: str) -> Blob:
        """A `"0x<alignment word><bytes>"` string decoded chunk by chunk into a Blob."""
        start = self.offset()
        self.expect(b'"', f"to open resource '{key}'")
        if not (self.fill(2) and self.buffer.startswith(b"0x", self.pos)):
            raise self.error(not_hex_blob(key), start)
        self.pos += 2
        self.check_alignment_word(key, start)
        parts: list[bytes] = []
        carry = b""
        while True:
            if not self.fill(1):
                raise self.error(f"unterminated resource '{key}'", start)
            end = self.buffer.find(b'"', self.pos)
            stop = len(self.buffer) if end < 0 else end
            text = carry + self.buffer[self.pos : stop]
            usable = len(text) - (len(text) % 2 if end < 0 else 0)
            try:
                parts.append(binascii.a2b_hex(text[:usable]))
            except binascii.Error:
                raise self.error(invalid_hex(key), start) from None
            carry = text[usable:]
            self.pos = stop
            if end >= 0:
                self.pos += 1
                break
        if carry or sum(len(p) for p in parts) < 4:
            raise self.error(too_short(key), start)
        return blob_from_parts(parts)

    def check_alignment_word(self, key: str, start: int) -> None:
        """The blob's first 4 bytes (little-endian) are its alignment: checked before the
        rest is decoded, since a writer pads every blob to it."""
        self.fill(8)
        problem = alignment_word_problem(key, self.buffer[self.pos : self.pos + 8])
        if problem is not None:
            raise self.error(problem, start)


def alignment_word_problem(key: str, word: bytes) -> str | None:
    """Why the hex alignment word opening resource `key` is unacceptable, or None (also
    when it is short or not hex: decoding the blob reports that)."""
    if HEX_WORD.fullmatch(word) is None:
        return None
    problem = alignment_problem(int.from_bytes(binascii.a2b_hex(word), "little"))
    return None if problem is None else f"resource '{key}': {problem}"


def not_hex_blob(key: str) -> str:
    """The error for a resource value that is not `"0x..."`."""
    return f"resource '{key}' is not a hex blob (\"0x...\")"


def invalid_hex(key: str) -> str:
    """The error for a resource value with a non-hex digit."""
    return f"resource '{key}' holds invalid hex"


def too_short(key: str) -> str:
    """The error for a resource value without a whole alignment word and bytes."""
    return f"resource '{key}' is too short or has an odd hex length"


def blob_from_hex(key: str, text: str) -> Blob:
    """Decode a whole `0x<alignment word><bytes>` resource value held in memory (as xDSL's
    parser stores them), with the checks and messages of the streaming reader."""
    if not text.startswith("0x"):
        raise ValueError(not_hex_blob(key))
    digits = text[2:].encode("ascii", "replace")
    problem = alignment_word_problem(key, digits[:8])
    if problem is not None:
        raise ValueError(problem)
    try:
        raw = binascii.a2b_hex(digits)  # an odd digit count is invalid hex, as when streamed
    except binascii.Error:
        raise ValueError(invalid_hex(key)) from None
    if len(raw) < 4:
        raise ValueError(too_short(key))
    return blob_from_parts([raw])


def blob_from_parts(parts: list[bytes]) -> Blob:
    """Join decoded chunks (alignment word first) into one aligned numpy-backed Blob."""
    head = b""
    while len(head) < 4:  # the 4-byte alignment word may span decoded chunks
        head += parts.pop(0)
    alignment = int.from_bytes(head[:4], "little")
    parts.insert(0, head[4:])
    data = np.empty(sum(len(p) for p in parts), dtype=np.uint8)
    offset = 0
    for index, part in enumerate(parts):
        data[offset : offset + len(part)] = np.frombuffer(part, dtype=np.uint8)
        offset += len(part)
        parts[index] = b""  # free each chunk once copied
    return Blob(data, alignment if alignment > 0 else 1)


def parse_metadata(stream: BinaryIO, start: int, name: str) -> FileMetadata:
    """Parse `{-# dialect_resources: {...}, external_resources: {...} #-}` at `start`."""
    scanner = MetadataScanner(stream, start, name)
    metadata = FileMetadata()
    scanner.expect(METADATA_BEGIN, "to open file metadata")
    while not scanner.accept(b"#-}"):
        section = scanner.identifier("naming a metadata section")
        scanner.expect(b":", f"after '{section}'")
        if section == "dialect_resources":
            parse_dialect_resources(scanner, metadata)
        elif section == "external_resources":
            metadata.external_resources = scan_balanced_braces(scanner)
        else:
            raise scanner.error(f"unknown file metadata section '{section}'")
        if not scanner.accept(b","):
            scanner.expect(b"#-}", "to close file metadata")
            break
    scanner.skip_space()
    if scanner.fill(1):
        raise scanner.error("unexpected text after the file metadata")
    return metadata


def parse_dialect_resources(scanner: MetadataScanner, metadata: FileMetadata) -> None:
    """`{ dialect: { key: "0x..", ... }, ... }`; builtin blobs decoded, others kept raw."""
    scanner.expect(b"{", "to open dialect_resources")
    while not scanner.accept(b"}"):
        dialect = scanner.identifier("naming a dialect")
        scanner.expect(b":", f"after dialect '{dialect}'")
        scanner.expect(b"{", f"to open the resources of '{dialect}'")
        while not scanner.accept(b"}"):
            key_offset = scanner.offset()
            key = scanner.identifier("naming a resource")
            scanner.expect(b":", f"after resource '{key}'")
            if dialect == "builtin":
                if key in metadata.blobs:
                    raise scanner.error(f"duplicate resource '{key}'", key_offset)
                metadata.blobs[key] = scanner.hex_blob(key)
            else:
                metadata.other_dialect_resources.setdefault(dialect, {})[key] = scanner.raw_string()
            if not scanner.accept(b","):
                scanner.expect(b"}", f"to close the resources of '{dialect}'")
                break
        if not scanner.accept(b","):
            scanner.expect(b"}", "to close dialect_resources")
            break


def scan_balanced_braces(scanner: MetadataScanner) -> str:
    """The verbatim text of a `{...}` group (strings respected)."""
    scanner.skip_space()
    start = scanner.offset()
    scanner.expect(b"{", "to open a group")
    depth, out = 1, bytearray(b"{")
    while depth:
        if not scanner.fill(1):
            raise scanner.error("unterminated group", start)
        char = scanner.buffer[scanner.pos : scanner.pos + 1]
        if char == b'"':
            out += b'"' + scanner.raw_string().encode() + b'"'
            continue
        depth += {b"{": 1, b"}": -1}.get(char, 0)
        out += char
        scanner.pos += 1
    return out.decode()


def find_metadata_start(stream: BinaryIO, size: int) -> int | None:
    """Offset of the trailing `{-#` resource section, scanning backwards (hex has no `{`)."""
    position, tail = size, b""
    while position > 0:
        start = max(0, position - CHUNK)
        stream.seek(start)
        chunk = stream.read(position - start) + tail
        index = chunk.rfind(METADATA_BEGIN)
        if index >= 0:
            candidate = start + index
            stream.seek(candidate + len(METADATA_BEGIN))
            head = LEADING_SPACE_AND_COMMENTS.sub(b"", stream.read(4096))
            if head.startswith((b"dialect_resources", b"external_resources")):
                return candidate
            return None
        tail = chunk[: len(METADATA_BEGIN) - 1]
        position = start
    return None


# --------------------------------------------------------------------------- parser


DEFERRED_LOCATION = "\0coreai-opt deferred location alias "
"""Marks a `loc(#alias)` whose alias is defined later in the file (MLIR allows it)."""


NO_CUSTOM_FORMAT = "does not have a custom format"
"""xDSL's message for an unregistered op written in a custom form."""
CUSTOM_OP_NAME = re.compile(r"(?:%[^=]*=\s*)?([A-Za-z_][\w$.]*)")
"""The op name after an optional result list, from the op's start."""


class CoreAIParser(Parser):
    """xDSL's parser, with blob-backed `dense_resource`, Core AI's op syntaxes
    (dialects/syntax.py), MLIR's `%r:N` result groups and location aliases defined after
    their use, and a `file:line:col` for every op (kept for diagnostics)."""

    def __init__(self, ctx: Context, text: str, name: str, metadata: FileMetadata) -> None:
        super().__init__(ctx, text, name)
        self.metadata = metadata
        self.source_name = name
        self.lines = LineIndex(text)
        self.used_keys: set[str] = set()
        self.result_lists: list[list[tuple[object, int]]] = []
        """Result lists of the ops being parsed, innermost last (dialects/asm.py reads it)."""
        self.explicit_location = False
        self.type_cache: dict[str, Attribute] = {}

    def location_at(self, offset: int) -> FileLineColLoc:
        """A FileLineColLoc for a character offset of the module text."""
        line, col = self.lines.line_col(offset)
        return FileLineColLoc(StringAttr(self.source_name), IntAttr(line), IntAttr(col))

    def _parse_op_result_list(self):
        results = super()._parse_op_result_list()
        self.result_lists.append(results)
        return results

    def parse_operation(self) -> Operation:
        start = self._current_token.span.start
        depth = len(self.result_lists)
        try:
            op = super().parse_operation()
            results = self.result_lists[depth] if len(self.result_lists) > depth else []
        except ParseError as error:
            if NO_CUSTOM_FORMAT not in error.msg:
                raise
            self.raise_unknown_custom_op(start)
        finally:
            del self.result_lists[depth:]
        if not self.explicit_location:
            op.location = self.location_at(start)
        self.explicit_location = False
        line, col = self.lines.line_col(start)
        update_asm(
            op,
            source=f"{self.source_name}:{line}:{col}",
            separate_results=len(results) > 1 if len(op.results) > 1 else None,
        )
        return op

    def raise_unknown_custom_op(self, start: int) -> None:
        """An op of another dialect written in a custom form (xDSL knows no such form):
        name it at its name, as mlir-opt does, instead of xDSL's internal message."""
        content = self.lexer.input.content
        match = CUSTOM_OP_NAME.match(content, start)
        name_start = match.start(1) if match else start
        name = match.group(1) if match else "?"
        self.raise_error(
            f"custom op '{name}' is unknown (ops outside the coreai dialect must be "
            f'written in MLIR\'s generic form: "{name}"(...) : (...) -> (...))',
            name_start,
            name_start + len(name),
        )

    def parse_optional_type(self):
        """Types, with the text of each `tensor<...>` parsed once per file.

        xDSL's tensor-type parser costs about 0.5 ms; real programs spell the same few
        hundred types tens of thousands of times, so the type is looked up by its text.
        """
        token = self._current_token
        if token.kind != MLIRTokenKind.BARE_IDENT or token.text != "tensor":
            return super().parse_optional_type()
        content = self.lexer.input.content
        start = token.span.start
        end = content.find(">", start)
        if end < 0 or content.find("<", start + 7, end) >= 0:  # nested: parse it
            return super().parse_optional_type()
        key = content[start : end + 1]
        cached = self.type_cache.get(key)
        if cached is None:
            cached = super().parse_optional_type()
            if (
                self._current_token.span.start >= end + 1
                and content[start : self.pos].rstrip() == key
            ):
                self.type_cache[key] = cached
            return cached
        self._resume_from(end + 1)
        return cached

    def parse_optional_location(self):
        location = super().parse_optional_location()
        if location is not None:
            self.explicit_location = True
        return location

    def _parse_location(self):
        token = self._current_token
        if token.kind == MLIRTokenKind.HASH_IDENT and token.text not in self.attribute_aliases:
            self._consume_token()
            marker = f"{DEFERRED_LOCATION}{token.span.start} {token.text}"
            return NameLoc(StringAttr(marker), NoneAttr())
        if token.kind == MLIRTokenKind.BARE_IDENT and token.text == "fused":
            return self._parse_fused_location()
        location = super()._parse_location()
        if isinstance(location, FileLineColLoc):
            self._skip_location_range_end()
        return location

    def _parse_fused_location(self) -> FusedLoc:
        """`fused<metadata>[locs]` as well as `fused[locs]` (xDSL reads only the latter)."""
        self._consume_token()
        metadata: Attribute = NoneAttr()
        if self.parse_optional_punctuation("<") is not None:
            metadata = self.parse_attribute()
            self.parse_punctuation(">", " after fused location metadata")
        locations = self.parse_comma_separated_list(self.Delimiter.SQUARE, self._parse_location)
        return FusedLoc(tuple(locations), metadata)

    def _skip_location_range_end(self) -> None:
        """MLIR's `"f":l:c to l2:c2` / `to :c2` ranges keep their start only (xDSL has no
        range location; the bytecode reader does the same)."""
        if self._current_token.text != "to":
            return
        self._consume_token()
        if self.parse_optional_punctuation(":") is None:
            self.parse_integer(False, False)
            if self.parse_optional_punctuation(":") is None:
                return
        self.parse_integer(False, False)

    def _parse_alias_def(self):
        token = self._current_token
        if token.kind == MLIRTokenKind.HASH_IDENT:
            pos = token.span.start
            self._consume_token()
            if self.parse_optional_punctuation("=") is not None and (
                self._current_token.text == "loc"
            ):
                if token.text in self.attribute_aliases:
                    self.raise_error(f"re-declaration of alias '{token.text}'", pos)
                location = self.parse_optional_location()
                self.explicit_location = False
                self.attribute_aliases[token.text] = location
                return
            self._resume_from(pos)
        super()._parse_alias_def()

    def parse_module(self, allow_implicit_module: bool = True) -> ModuleOp:
        module = super().parse_module(allow_implicit_module)
        resolve_deferred_locations(self, module)
        drop_empty_name_hints(module)
        return module

    def parse_shape_dimension(self, allow_dynamic: bool = True) -> int:
        """A dimension must fit in int64, as in MLIR."""
        start = self._current_token.span.start
        dim = super().parse_shape_dimension(allow_dynamic)
        if dim > MAX_DIMENSION:
            self.raise_error("invalid dimension", start, self.pos)
        return dim

    def _parse_optional_integer_or_float_type(self):
        """Integer types are at most MAX_INTEGER_WIDTH bits wide, as in MLIR."""
        check_integer_width(self)
        return super()._parse_optional_integer_or_float_type()

    def _parse_dense_literal_type(self):
        """xDSL's check of a dense literal's type, faster (see `dense_literal_type`)."""
        return dense_literal_type(self)

    def parse_dense_int_or_fp_elements_attr(self, type):
        """`dense<...>` with MLIR's semantics (see `parse_dense_elements`)."""
        return parse_dense_elements(self, type)

    def _parse_builtin_dense_resource_attr(self) -> Attribute:
        self.parse_characters("<", " in dense_resource attribute")
        key_pos = self.pos
        key = self.parse_identifier(" for resource handle")
        self.parse_characters(">", " in dense_resource attribute")
        self.parse_characters(":", " in dense_resource attribute")
        type_pos = self.pos
        tensor_type = self.parse_type()

        if not isinstance(tensor_type, TensorType):
            self.raise_error(
                f"dense_resource needs a ranked tensor type, got {tensor_type}", type_pos
            )
        blob = self.metadata.blobs.get(key)
        self.used_keys.add(key)
        attr = DenseResourceElementsAttr.create(key, tensor_type, blob)
        from coreai_opt.dialects.coreai import verify_blob_size

        try:
            verify_blob_size(attr)
        except VerifyException as error:
            self.raise_error(str(error), key_pos, self.pos)
        return attr


def parse_dense_elements(parser: Parser, type: Attribute | None) -> DenseIntOrFPElementsAttr:
    """`dense<...>` (after the keyword) with MLIR's semantics: hex floats are bit
    patterns, out-of-range values are errors. Any xDSL parser may call it (the
    `coreai.constant` hook does, under `xdsl-opt`)."""
    from coreai_opt.ir.dtypes import numpy_dtype

    start = parser._current_token.span.start
    parser.parse_punctuation("<", " in dense attribute")
    contents: tuple | str | None = None
    if parser.parse_optional_punctuation(">") is None:
        hex_string = parser.parse_optional_str_literal()
        contents = hex_string if hex_string is not None else parser._parse_tensor_literal()
        parser.parse_punctuation(">", " in dense attribute")
    type_pos = parser.pos
    if type is None:
        parser.parse_punctuation(":", " in dense attribute")
        type = dense_literal_type(parser)
    try:
        dtype = numpy_dtype(type.element_type)
    except (ValueError, AttributeError):
        check_expanded_dense_size(parser, type, type_pos - start, type_pos)
        parser._resume_from(start)
        return AttrParser.parse_dense_int_or_fp_elements_attr(parser, type)
    shape = type.get_shape()
    if any(dim < 0 for dim in shape):
        parser.raise_error(f"dense elements need a static shape, got {type}", type_pos)
    count = math.prod(shape)
    if contents is None:
        if count:
            parser.raise_error(f"expected {count} elements in the dense literal", type_pos)
        return DenseIntOrFPElementsAttr(type, BytesAttr(b""))
    if isinstance(contents, str):
        raw = dense_hex_bytes(contents)
        if raw is None:
            parser.raise_error("dense hex string is not valid hex", type_pos)
        if len(raw) != count * dtype.itemsize and not (len(raw) == dtype.itemsize and count):
            parser.raise_error(
                f"dense hex string holds {len(raw)} bytes, {type} needs {count * dtype.itemsize}",
                type_pos,
            )
        return dense_attr(type, raw)
    elements, literal_shape = contents
    values = literal_to_array(parser, elements, type.element_type, dtype)
    if literal_shape and list(literal_shape) != list(shape):
        parser.raise_error(
            f"dense literal has shape {list(literal_shape)}, {type} needs {list(shape)}",
            type_pos,
        )
    if not literal_shape and not count:  # a splat of no elements
        return DenseIntOrFPElementsAttr(type, BytesAttr(b""))
    return dense_attr(type, values.tobytes())  # a splat stays one element


def dense_literal_type(parser: Parser) -> Attribute:
    """xDSL's check of a dense literal's type, without building an IRDL constraint per
    literal (about 2 ms each: a program's many small constants paid seconds)."""
    start = parser._current_token.span.start
    type_ = parser.expect(parser.parse_optional_type, "Dense attribute must be typed!")
    element = getattr(type_, "element_type", None)
    if not isinstance(type_, TensorType | VectorType | MemRefType) or not isinstance(
        element, IntegerType | IndexType | ComplexType | AnyFloat
    ):
        parser.raise_error(
            "Expected memref, vector or tensor type of integer, index, float, or complex type",
            start,
            parser.pos,
        )
    if any(dim == DYNAMIC_INDEX for dim in type_.get_shape()):
        parser.raise_error("Dense literal attribute should have a static shape.", start, parser.pos)
    return type_


def drop_empty_name_hints(module: ModuleOp) -> None:
    """Forget names xDSL reduced to "" (`%_0` loses its `_0` suffix): MLIR allows them,
    but xDSL refuses "" when the value is cloned, so copying the program would fail."""
    for op in module.walk():
        for result in op.results:
            if result.name_hint == "":
                result._name = None
        for region in op.regions:
            for block in region.blocks:
                for arg in block.args:
                    if arg.name_hint == "":
                        arg._name = None


def resolve_deferred_locations(parser: CoreAIParser, module: ModuleOp) -> None:
    """Replace each `loc(#alias)` read before its alias definition by the definition."""

    def resolve(location: Attribute) -> Attribute:
        if isinstance(location, NameLoc):
            name = location.desc.data
            if name.startswith(DEFERRED_LOCATION):
                offset, _, alias = name[len(DEFERRED_LOCATION) :].partition(" ")
                if alias not in parser.attribute_aliases:
                    position = int(offset)
                    parser.raise_error(
                        f"undefined location alias '{alias}'", position, position + len(alias)
                    )
                return parser.attribute_aliases[alias]
            return NameLoc(location.desc, resolve(location.location))
        if isinstance(location, FusedLoc):
            return FusedLoc(tuple(resolve(loc) for loc in location.locations), location.metadata)
        if isinstance(location, CallSiteLoc):
            return CallSiteLoc(resolve(location.callee), resolve(location.caller))
        return location

    for op in module.walk():
        op.location = resolve(op.location)
        for region in op.regions:
            for block in region.blocks:
                for arg in block.args:
                    arg.location = resolve(arg.location)


INTEGER_TYPE = re.compile(r"[su]?i([0-9]+)")


def check_integer_width(parser: CoreAIParser) -> None:
    """Refuse `i99999999999` before xDSL builds it (its bounds alone would take gigabytes)."""
    token = parser._current_token
    match = INTEGER_TYPE.fullmatch(token.text)
    if match is not None and (len(match.group(1)) > 9 or int(match.group(1)) > MAX_INTEGER_WIDTH):
        parser.raise_error(
            f"integer bitwidth is limited to {MAX_INTEGER_WIDTH} bits", token.span.start
        )


FALLBACK_SPLAT_BYTES = 1 << 24
"""Largest splat of a non-numeric element type (index, complex): xDSL expands those."""


def check_expanded_dense_size(
    parser: CoreAIParser, type: Attribute, literal_chars: int, type_pos: int
) -> None:
    """Before xDSL parses a dense literal it stores whole, bound what that can cost.

    A literal listing its elements takes at least a character per 8 bytes stored; only a
    splat can declare more, and those are limited to FALLBACK_SPLAT_BYTES.
    """
    try:
        nbytes = math.prod(type.get_shape()) * type.get_element_type().compile_time_size
    except (AttributeError, TypeError, ValueError):
        return
    if nbytes > 8 * literal_chars + FALLBACK_SPLAT_BYTES:
        parser.raise_error(
            f"dense literal of {type} would expand to {nbytes} bytes (splats of "
            f"{type.get_element_type()} are limited to {FALLBACK_SPLAT_BYTES} bytes)",
            type_pos,
        )


def dense_hex_bytes(contents: str) -> bytes | None:
    """The bytes of a `"0x..."` dense literal, or None when it is not hex."""
    if contents[:2] not in ("0x", "0X"):
        return None
    try:
        return bytes.fromhex(contents[2:])
    except ValueError:
        return None


def literal_to_array(
    parser: CoreAIParser, elements: list, element_type: Attribute, dtype: np.dtype
) -> np.ndarray:
    """Tensor-literal elements → numpy values, with MLIR's rules and located range errors.

    Hex integers in a float literal are bit patterns (how MLIR prints NaN and Inf).
    """
    from coreai_opt.ir.dtypes import bit_width, is_signed_integer

    if dtype.kind in "iub":
        width = bit_width(element_type)
        signed = is_signed_integer(element_type)
        signless = getattr(element_type, "signedness", None) is not None and (
            element_type.signedness.data.name == "SIGNLESS"
        )
        low = -(1 << (width - 1)) if signed else 0
        high = (1 << width) - 1 if (signless or not signed) else (1 << (width - 1)) - 1
        values = []
        for element in elements:
            value = element.to_int(parser)
            if not low <= value <= high:
                parser.raise_error(
                    f"integer value {value} does not fit in {element_type}", element.span
                )
            if signless and signed and value > (1 << (width - 1)) - 1:
                value -= 1 << width
            values.append(value)
        return np.array(values, dtype=np.uint64 if dtype == np.uint64 else np.int64).astype(dtype)
    bits_dtype = np.dtype(f"u{dtype.itemsize}")
    out = np.empty(len(elements), dtype=dtype)
    for index, element in enumerate(elements):
        text = element.span.text.lower()
        if isinstance(element.value, int) and "0x" in text and not isinstance(element.value, bool):
            out[index : index + 1] = np.array([element.value], dtype=bits_dtype).view(dtype)
            continue
        if isinstance(element.value, bool) or not isinstance(element.value, int | float):
            parser.raise_error(f"expected a float value for {element_type}", element.span)
        value = float(element.value)
        with np.errstate(over="ignore", invalid="ignore"):
            converted = np.array([value], dtype=np.float64).astype(dtype)
        restored = float(converted.astype(np.float64)[0])
        if math.isfinite(value) and not math.isfinite(restored):
            parser.raise_error(
                f"float value {value} cannot be represented in {element_type}", element.span
            )
        out[index] = converted[0]
    return out


def source_location(op: Operation) -> str | None:
    """`file:line:col` of an op parsed from text (or of the op it replaced), if known."""
    info = asm_info(op)
    if info is not None and info.source is not None:
        return info.source
    loc = op.location
    if isinstance(loc, FileLineColLoc):
        return f"{loc.filename.data}:{loc.line.data}:{loc.column.data}"
    return None


def parse_error_to_ir_error(error: ParseError, name: str, lines: LineIndex, text: str) -> IRError:
    """Turn xDSL's multi-line ParseError into our one-line located IRError."""
    offset = error.span.start
    message = error.msg.strip().splitlines()[0] if error.msg.strip() else "parse error"
    undefined = re.match(r"values used but not defined: \[(%[^,\]]+)", message)
    if undefined:  # xDSL reports these at the end of input: point at the first use instead
        use = re.search(re.escape(undefined.group(1)) + r"\b", text)
        offset = use.start() if use else offset
    if message.startswith("Unexpected character"):
        message = unexpected_character(text[offset : offset + 1])
    line, col = lines.line_col(offset)
    return IRError(message, f"{name}:{line}:{col}")


def unexpected_character(char: str) -> str:
    """What the lexer could not read, made visible (a BOM or a control byte prints as nothing)."""
    if char == "\ufeff":
        return "unexpected byte-order mark (U+FEFF); MLIR files must not start with one"
    if char.isprintable() and not char.isspace():
        return f"unexpected character '{char}'"
    return f"unexpected character U+{ord(char):04X}" if char else "unexpected character"


def check_nesting(text: str, name: str) -> None:
    """Brackets nest at most MAX_NESTING_DEPTH deep (the parser and printer recurse),
    counting the braces of the module, which the printer adds when the text has none."""
    explicit_module = EXPLICIT_MODULE.match(text) is not None
    offset = too_deep_offset(text, MAX_NESTING_DEPTH - (0 if explicit_module else 1))
    if offset is not None:
        raise nested_too_deeply(name, LineIndex(text), offset)


def nested_too_deeply(name: str, lines: LineIndex, offset: int) -> IRError:
    """The error for input nested past the documented limit, located at `offset`."""
    line, col = lines.line_col(offset)
    return IRError(
        f"nested too deeply (the limit is {MAX_NESTING_DEPTH} levels of brackets, "
        "the module's included)",
        f"{name}:{line}:{col}",
    )


def parse_module_text(text: str, name: str, metadata: FileMetadata) -> ModuleOp:
    """Parse the module part of a file (everything before the resource section)."""
    if EMPTY_TEXT.fullmatch(text):
        return ModuleOp([])
    check_nesting(text, name)
    parser: CoreAIParser | None = None
    try:
        parser = CoreAIParser(make_context(), text, name, metadata)
        module = parser.parse_module()
    except ParseError as error:
        lines = parser.lines if parser is not None else LineIndex(text)
        raise parse_error_to_ir_error(error, name, lines, text) from None
    except RecursionError:  # a safety net: the nesting check keeps well inside the limit
        raise nested_too_deeply(name, LineIndex(text), current_offset(parser)) from None
    except (ValueError, OverflowError, NotImplementedError, VerifyException) as error:
        line, col = LineIndex(text).line_col(current_offset(parser))
        message = str(error).strip().splitlines()[0] if str(error).strip() else "invalid value"
        raise IRError(message, f"{name}:{line}:{col}") from None
    except AssertionError:  # xDSL asserts on some malformed literals, e.g. `[0,(0, 1]`
        line, col = LineIndex(text).line_col(current_offset(parser))
        token = (parser._current_token.text if parser is not None else "") or "end of input"
        raise IRError(f"unexpected '{token}'", f"{name}:{line}:{col}") from None
    return module


def current_offset(parser: CoreAIParser | None) -> int:
    """Where the parser stopped (the start of its current token), on the error path."""
    return parser._current_token.span.start if parser is not None else 0


def parse_stream(stream: BinaryIO, name: str) -> tuple[ModuleOp, FileMetadata]:
    """Parse textual IR from a binary stream (one that cannot seek is read into memory)."""
    if not stream.seekable():
        stream = io.BytesIO(stream.read())
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    metadata_start = find_metadata_start(stream, size)
    metadata = FileMetadata()
    if metadata_start is not None:
        metadata = parse_metadata(stream, metadata_start, name)
    stream.seek(0)
    module_bytes = stream.read(size if metadata_start is None else metadata_start)
    try:
        text = module_bytes.decode("utf-8")
    except UnicodeDecodeError as error:
        line, col = byte_offset_line_col(stream, error.start)
        raise IRError("input is not valid UTF-8", f"{name}:{line}:{col}") from None
    del module_bytes
    module = parse_module_text(text, name, metadata)
    return module, metadata


def parse_text(text: str, name: str = "<string>") -> tuple[ModuleOp, FileMetadata]:
    """Parse textual IR held in a string."""
    return parse_stream(io.BytesIO(text.encode("utf-8")), name)


def parse_file(path: str, name: str | None = None) -> tuple[ModuleOp, FileMetadata]:
    """Parse a textual `.mlir` file, streaming its resource section."""
    with opening(path, IRError, "a .mlir file"), open(path, "rb") as stream:
        return parse_stream(stream, name or path)


def verify_module(module: ModuleOp) -> None:
    """Run every op's verifier; the first failure becomes a located IRError."""
    for op in module.walk():
        try:
            op.verify(verify_nested_ops=False)
        except (VerifyException, ValueError) as error:
            message = " ".join(line.strip() for line in str(error).strip().splitlines())
            where = source_location(redefined_symbol(op, message) or op)
            raise IRError(f"'{op.name}' op {message}", where) from None


def redefined_symbol(table: Operation, message: str) -> Operation | None:
    """For "Redefinition of symbol", the second op defining that name (it has a location)."""
    match = re.search(r'Redefinition of symbol "([^"]+)"', message)
    if match is None:
        return None
    seen = False
    for op in table.regions[0].ops if table.regions else ():
        name = op.properties.get("sym_name") or op.attributes.get("sym_name")
        if isinstance(name, StringAttr) and name.data == match.group(1):
            if seen:
                return op
            seen = True
    return None


# --------------------------------------------------------------------------- printer


class CoreAIPrinter(Printer):
    """xDSL's printer, printing `module`, and assigning module-unique resource keys."""

    def __init__(
        self, stream: TextIO, print_generic_format: bool = False, print_debuginfo: bool = False
    ) -> None:
        super().__init__(
            stream=stream,
            print_generic_format=print_generic_format,
            print_debuginfo=print_debuginfo,
        )
        self.blob_keys: dict[Blob, str] = {}
        self.taken_keys: set[str] = set()
        self.elided_keys: set[str] = set()
        self.in_dense = False

    # ---- MLIR's spelling of values
    def print_float(self, value: float, type) -> None:
        """Floats exactly as MLIR prints them (coreai_opt/ir/floats.py)."""
        text = mlir_float_text(value, str(type))
        if text is None:
            from coreai_opt.ir.dtypes import numpy_dtype

            dtype = numpy_dtype(type)
            with np.errstate(over="ignore", invalid="ignore"):
                raw = np.array([value]).astype(dtype).view(f"u{dtype.itemsize}")
            text = hex_float_text(int(raw[0]), str(type))
        self.print_string(text)

    def print_int(self, value: int, type=None) -> None:
        """Dense elements of any 1-bit integer type print as `true`/`false`, as in MLIR."""
        if self.in_dense and isinstance(type, IntegerType) and type.width.data == 1:
            self.print_string("true" if value else "false")
        else:
            super().print_int(value, type)

    def print_attr_dict(self, attr_dict) -> None:
        """MLIR dictionaries are sorted by name; print them so."""
        super().print_attr_dict(dict(sorted(attr_dict.items())))

    # ---- results: `%r:2 = ...` used as `%r#1`, unless the op names them one by one
    def _print_results(self, op: Operation) -> None:
        if len(op.results) < 2 or prints_results_separately(op):
            super()._print_results(op)
            return
        first = op.results[0]
        if first.name_hint:
            index = self.ssa_names.get(first.name_hint, 0)
            base = first.name_hint + (f"_{index}" if index else "")
            self.ssa_names[first.name_hint] = index + 1
        else:
            base = self._get_new_valid_name_id()
        for index, result in enumerate(op.results):
            self._ssa_values[result] = f"{base}#{index}"
        self.print_string(f"%{base}:{len(op.results)} = ")

    def resource_key_for(self, attr: DenseResourceElementsAttr) -> str:
        """The key printed for `attr`: its own if free, else a numbered variant."""
        blob = attr.blob.data
        hint = attr.resource_handle.data
        if blob is None:
            self.elided_keys.add(hint)
            return hint
        if blob in self.blob_keys:
            return self.blob_keys[blob]
        key, suffix = hint, 0
        while key in self.taken_keys:
            suffix += 1
            key = f"{hint}_{suffix}"
        self.taken_keys.add(key)
        self.blob_keys[blob] = key
        return key

    def print_attribute(self, attribute: Attribute) -> None:
        if isinstance(attribute, DenseIntOrFPElementsAttr):
            self.print_dense(attribute)
        elif isinstance(attribute, ArrayAttr):
            self.print_string("[")
            self.print_list(attribute.data, self.print_array_element)
            self.print_string("]")
        else:
            super().print_attribute(attribute)

    def print_array_element(self, attribute: Attribute) -> None:
        """Inside arrays MLIR elides the default `i64` and `f64` types."""
        if isinstance(attribute, IntegerAttr) and attribute.type == IntegerType(64):
            self.print_string(str(attribute.value.data))
        elif isinstance(attribute, FloatAttr) and isinstance(attribute.type, Float64Type):
            self.print_float(attribute.value.data, attribute.type)
        else:
            self.print_attribute(attribute)

    def print_dense(self, attr: DenseIntOrFPElementsAttr) -> None:
        """`dense<...>` where a splat is detected bitwise (so -0.0 and 0.0 stay distinct).

        A splat prints its one element without unpacking the others, whether it is held
        as one element or whole.
        """
        raw = attr.data.data
        count = len(attr)
        self.print_string("dense<")
        self.in_dense = True
        try:
            if count == 1 or (count and splat_element(raw, len(raw) // count) is not None):
                attr._print_one_elem(first_dense_element(attr), self)
            elif count > 100:
                self.print_string(f'"0x{raw.hex().upper()}"')
            elif count:
                shape = attr.get_shape() if attr.shape_is_complete else (count,)
                attr._print_dense_list(attr.get_values(), shape, self)
        finally:
            self.in_dense = False
        self.print_string("> : ")
        self.print_attribute(attr.get_type())

    def print_op(self, op: Operation) -> None:
        if isinstance(op, UnknownCoreAIOp) and op.needs_generic_form():
            self._print_results(op)
            self.print_string(f'"{op.name}"')
            self.print_op_with_default_format(op)
            return
        if isinstance(op, ModuleOp) and not self.print_generic_format:
            self.print_string("module")
            if op.sym_name is not None:
                self.print_string(" ")
                self.print_symbol_name(op.sym_name.data)
            attributes = {k: v for k, v in op.attributes.items() if k != "sym_name"}
            if attributes:
                self.print_string(" attributes")
                self.print_op_attributes(attributes)
            self.print_string(" ")
            self.print_region(op.body, print_empty_block=False)
            if self.print_debuginfo:
                self.print_string(" ")
                self.print_attribute(op.location)
            return
        super().print_op(op)


def prints_results_separately(op: Operation) -> bool:
    """Results named one by one (`%a, %b = `): as read, else as Apple prints the op."""
    info = asm_info(op)
    if info is not None and info.separate_results is not None:
        return info.separate_results
    syntax = apple_syntax(op.name) if op.name.startswith("coreai.") else None
    return syntax is not None and syntax.separate_results


def first_dense_element(attr: DenseIntOrFPElementsAttr):
    """The first element of a dense attribute as xDSL unpacks it (one element only)."""
    element_type = attr.get_element_type()
    return element_type.unpack(attr.data.data[: element_type.compile_time_size], 1)[0]


def iter_hex(blob: Blob) -> Iterator[bytes]:
    """Uppercase hex of the alignment word and bytes of a blob, in bounded chunks."""
    yield binascii.b2a_hex(blob.alignment.to_bytes(4, "little")).upper()
    data = blob.data
    step = CHUNK // 2
    for start in range(0, data.size, step):
        yield binascii.b2a_hex(data[start : start + step].data).upper()


def write_metadata(out: BinaryIO, blobs: dict[Blob, str], metadata: FileMetadata | None) -> None:
    """Stream the `{-# ... #-}` section in MLIR's layout."""
    dialects: list[tuple[str, list[tuple[str, Blob | str]]]] = []
    if blobs:
        dialects.append(("builtin", [(key, blob) for blob, key in blobs.items()]))
    if metadata is not None:
        for dialect, entries in metadata.other_dialect_resources.items():
            dialects.append((dialect, list(entries.items())))
    external = metadata.external_resources if metadata is not None else None
    if not dialects and external is None:
        return
    out.write(b"\n\n{-#\n")
    sections: list[bytes] = []
    if dialects:
        sections.append(b"  dialect_resources: {\n")
    for d_index, (dialect, entries) in enumerate(dialects):
        out.write(b"".join(sections))
        sections = []
        out.write(f"    {dialect}: {{\n".encode())
        for e_index, (key, value) in enumerate(entries):
            out.write(f'      {key}: "'.encode())
            if isinstance(value, Blob):
                out.write(b"0x")
                for piece in iter_hex(value):
                    out.write(piece)
            else:
                out.write(value.encode())
            out.write(b'",\n' if e_index + 1 < len(entries) else b'"\n')
        out.write(b"    }" + (b",\n" if d_index + 1 < len(dialects) else b"\n"))
    if dialects:
        out.write(b"  }" + (b",\n" if external is not None else b"\n"))
    if external is not None:
        out.write(f"  external_resources: {external}\n".encode())
    out.write(b"#-}\n")


def print_module(
    module: ModuleOp,
    out: BinaryIO,
    metadata: FileMetadata | None = None,
    generic: bool = False,
    debuginfo: bool = False,
) -> None:
    """Print a module and its resources to a binary stream (locations with `debuginfo`)."""
    text = io.StringIO()
    printer = CoreAIPrinter(text, print_generic_format=generic, print_debuginfo=debuginfo)
    printer.print_op(module)
    out.write(text.getvalue().encode("utf-8"))
    write_metadata(out, printer.blob_keys, metadata)
    out.write(b"" if printer.blob_keys or metadata_has_content(metadata) else b"\n")


def metadata_has_content(metadata: FileMetadata | None) -> bool:
    """True when non-builtin resources will be printed."""
    return metadata is not None and bool(
        metadata.other_dialect_resources or metadata.external_resources is not None
    )


def module_to_string(
    module: ModuleOp,
    metadata: FileMetadata | None = None,
    generic: bool = False,
    debuginfo: bool = False,
) -> str:
    """The textual IR of a module (resources included)."""
    out = io.BytesIO()
    print_module(module, out, metadata, generic, debuginfo)
    return out.getvalue().decode("utf-8")
