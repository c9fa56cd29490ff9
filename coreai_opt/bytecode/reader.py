"""Read MLIR bytecode (as MLIR 22 writes it, and as we write it) into an xDSL module.

Only the small sections are read into memory. Resource blobs are memory-mapped one by one
(read-only, no copy), so a file larger than RAM opens in milliseconds and a blob's pages
leave memory when its last user goes away.

Every count, size and index is checked before use; any malformation becomes a
`BytecodeFormatError` with the absolute byte offset, which the public entry points turn
into an `AssetError` naming the file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from xdsl.dialects.builtin import DictionaryAttr, ModuleOp, NoneType, StringAttr, UnknownLoc
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.irdl import IRDLOperation
from xdsl.parser.core import ForwardDeclaredValue
from xdsl.utils.exceptions import ParseError
from xdsl.utils.mlir_lexer import MLIRTokenKind

from coreai_opt.bytecode.builtin import LOCATION_CODES, BuiltinDecoder
from coreai_opt.bytecode.encoding import (
    MAGIC,
    MIN_READ_VERSION,
    VERSION,
    BytecodeFormatError,
    Cursor,
    OpMask,
    ResourceKind,
    Section,
    check_alignment,
    decode_utf8,
)
from coreai_opt.bytecode.mapping import map_range
from coreai_opt.dialects.resources import Blob, DenseResourceElementsAttr
from coreai_opt.ir.text import CoreAIParser, FileMetadata, make_context
from coreai_opt.limits import MAX_NESTING_DEPTH, too_deep_offset

HEADER_PROBE = 64
"""Bytes read to decode a section or resource header (ids, varints)."""
MAX_DEPTH = MAX_NESTING_DEPTH
"""Deepest nesting of regions we follow (the module's body is the first)."""
MAX_ATTRIBUTE_DEPTH = MAX_NESTING_DEPTH + 8
"""Deepest nesting of attributes and types: the text limit plus what text does not bracket
(an op's attribute dictionary, a leaf value and its type), so that whatever text we accept
also reads back from the bytecode we write for it."""
NESTED_TOO_DEEPLY = "nested too deeply (the limit is {} levels)"


# --------------------------------------------------------------------------- sources


class Source:
    """Random access to the bytes of a bytecode file."""

    name: str
    size: int

    def read(self, offset: int, count: int) -> bytes:
        """`count` bytes at `offset` (fewer at the end of the file)."""
        raise NotImplementedError

    def blob(self, offset: int, count: int, alignment: int) -> Blob:
        """A read-only Blob over `count` bytes at `offset` (no copy when possible)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the file handle (mapped blobs stay valid)."""


class FileSource(Source):
    """A file read with `pread`; blobs are separate read-only memory maps."""

    def __init__(self, path: str) -> None:
        self.name = path
        self.fd = os.open(path, os.O_RDONLY)
        self.size = os.fstat(self.fd).st_size

    def read(self, offset: int, count: int) -> bytes:
        return os.pread(self.fd, max(0, min(count, self.size - offset)), offset)

    def blob(self, offset: int, count: int, alignment: int) -> Blob:
        return Blob(map_range(self.fd, offset, count), alignment)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class BytesSource(Source):
    """Bytes already in memory (stdin, tests)."""

    def __init__(self, data: bytes, name: str) -> None:
        self.name = name
        self.data = data
        self.size = len(data)

    def read(self, offset: int, count: int) -> bytes:
        return self.data[offset : offset + count]

    def blob(self, offset: int, count: int, alignment: int) -> Blob:
        return Blob(np.frombuffer(self.data, np.uint8, count, offset), alignment)


# --------------------------------------------------------------------------- tables


@dataclass
class SectionSpan:
    """Where a top-level section's body lies in the file."""

    offset: int
    size: int


@dataclass
class Entry:
    """One attribute or type entry: its dialect, encoding and raw bytes."""

    dialect: str
    custom: bool
    data: bytes
    offset: int
    value: Attribute | None = None
    resolving: bool = False


@dataclass
class OpName:
    """An operation name and whether its writer had it registered."""

    name: str
    registered: bool


@dataclass
class OpParts:
    """What the IR section says about one operation, before it is built."""

    name: OpName
    offset: int
    location: Attribute
    attributes: dict[str, Attribute] = field(default_factory=dict)
    properties: dict[str, Attribute] = field(default_factory=dict)
    result_types: list[Attribute] = field(default_factory=list)
    operands: list[SSAValue] = field(default_factory=list)
    successors: list[Block] = field(default_factory=list)
    num_regions: int = 0
    isolated: bool = False


@dataclass
class ValueScope:
    """Values of one isolated-from-above scope; nested regions stack their values."""

    values: list[SSAValue | None] = field(default_factory=list)
    next_ids: list[int] = field(default_factory=list)


# --------------------------------------------------------------------------- reader


class BytecodeReader:
    """Decodes one bytecode file; use `read_module`."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.ctx = make_context()
        self.version = 0
        self.strings: list[str] = []
        self.dialects: list[str] = []
        self.op_names: list[OpName] = []
        self.attributes: list[Entry] = []
        self.types: list[Entry] = []
        self.resources: list[tuple[str, Blob | None]] = []
        self.properties: list[Cursor] = []
        self.metadata = FileMetadata()
        self.resource_position = 0
        self.resource_end = 0
        self.decoder = BuiltinDecoder(self)
        self.depth = 0
        self.region_depth = 0
        self.scopes: list[ValueScope] = []
        self.forward_refs = 0

    # ---- top level
    def read_module(self) -> tuple[ModuleOp, FileMetadata]:
        """The module and its builtin blobs."""
        sections = self.read_header_and_sections()
        self.read_strings(self.section_bytes(sections, Section.STRING))
        self.read_dialects(self.section_bytes(sections, Section.DIALECT))
        if Section.PROPERTIES in sections:
            self.read_properties(self.section_bytes(sections, Section.PROPERTIES))
        self.read_resources(sections)
        self.read_attr_type_offsets(
            self.section_bytes(sections, Section.ATTR_TYPE),
            self.section_bytes(sections, Section.ATTR_TYPE_OFFSET),
        )
        module = self.read_ir(self.section_bytes(sections, Section.IR))
        return module, self.metadata

    def read_header_and_sections(self) -> dict[int, SectionSpan]:
        """Magic, version, producer, then the table of top-level sections."""
        head = Cursor(self.source.read(0, 4096))
        if bytes(head.take(min(4, head.remaining), "the magic number")) != MAGIC:
            raise BytecodeFormatError("not an MLIR bytecode file (bad magic number)", 0)
        offset = head.offset
        self.version = head.varint("the bytecode version")
        if not MIN_READ_VERSION <= self.version <= VERSION:
            raise BytecodeFormatError(
                f"unsupported bytecode version {self.version} (this reader supports "
                f"{MIN_READ_VERSION} to {VERSION})",
                offset,
            )
        head.cstring("the producer string")
        position = head.offset
        sections: dict[int, SectionSpan] = {}
        while position < self.source.size:
            section_id, span = self.section_header(position, "top-level section")
            if section_id in sections:
                raise BytecodeFormatError(f"duplicate section {Section(section_id).name}", position)
            sections[section_id] = span
            position = span.offset + span.size
        for required in (
            Section.STRING,
            Section.DIALECT,
            Section.ATTR_TYPE,
            Section.ATTR_TYPE_OFFSET,
            Section.IR,
            Section.PROPERTIES,
        ):
            if required not in sections:
                raise BytecodeFormatError(f"missing {required.name} section", self.source.size)
        return sections

    def section_header(self, position: int, what: str) -> tuple[int, SectionSpan]:
        """Decode a section header at an absolute file position."""
        cursor = Cursor(self.source.read(position, HEADER_PROBE), position)
        code = cursor.byte(f"a {what} id")
        section_id, aligned = code & 0x7F, bool(code & 0x80)
        if section_id >= len(Section):
            raise BytecodeFormatError(f"invalid section id {section_id}", position)
        length = cursor.varint(f"the length of a {what}")
        start = cursor.offset
        if aligned:
            alignment = cursor.varint(f"the alignment of a {what}")
            check_alignment(alignment, what, cursor.offset)
            padding_start = cursor.offset
            start = padding_start + (-padding_start % alignment)
            padding = self.source.read(padding_start, start - padding_start)
            if len(padding) != start - padding_start or any(b != 0xCB for b in padding):
                raise BytecodeFormatError(f"bad alignment padding before a {what}", padding_start)
        if length > self.source.size - start:
            raise BytecodeFormatError(
                f"{what} claims {length} bytes but the file has {self.source.size - start} left",
                position,
            )
        return section_id, SectionSpan(start, length)

    def section_bytes(self, sections: dict[int, SectionSpan], section_id: Section) -> Cursor:
        """A cursor over a (small) section read into memory."""
        span = sections[section_id]
        data = self.source.read(span.offset, span.size)
        if len(data) != span.size:
            raise BytecodeFormatError(f"truncated {section_id.name} section", span.offset)
        return Cursor(memoryview(data), span.offset)

    # ---- strings, dialects, properties
    def read_strings(self, cursor: Cursor) -> None:
        """Lengths in reverse order, then NUL-terminated string data."""
        count = cursor.count("the string count")
        sizes = [cursor.varint("a string length") for _ in range(count)]
        position = cursor.pos
        strings = []
        for size in reversed(sizes):
            if size < 1 or size > cursor.end - position:
                raise BytecodeFormatError("a string runs past its section", cursor.base + position)
            raw = cursor.data[position : position + size]
            if raw[-1] != 0:
                raise BytecodeFormatError("a string lacks its NUL", cursor.base + position)
            strings.append(decode_utf8(raw[:-1], "a string", cursor.base + position))
            position += size
        if position != cursor.end:
            raise BytecodeFormatError(
                "trailing bytes in the string section", cursor.base + position
            )
        self.strings = strings

    def string(self, index: int, offset: int) -> str:
        """A string by index."""
        if index >= len(self.strings):
            raise BytecodeFormatError(f"invalid string index {index}", offset)
        return self.strings[index]

    def read_dialects(self, cursor: Cursor) -> None:
        """Dialect names (versions skipped), then op names grouped by dialect."""
        for _ in range(cursor.count("the dialect count")):
            offset = cursor.offset
            index, has_version = cursor.varint_flag("a dialect name")
            self.dialects.append(self.string(index, offset))
            if has_version:
                self.skip_nested_section(cursor, Section.DIALECT_VERSIONS, "dialect version")
        cursor.count("the op name count")
        while not cursor.at_end():
            dialect = self.dialect(cursor)
            for _ in range(cursor.count("an op name group size")):
                offset = cursor.offset
                index, registered = cursor.varint_flag("an op name")
                name = self.string(index, offset)
                self.op_names.append(OpName(f"{dialect}.{name}" if name else dialect, registered))

    def dialect(self, cursor: Cursor) -> str:
        """A dialect by index."""
        offset = cursor.offset
        index = cursor.varint("a dialect index")
        if index >= len(self.dialects):
            raise BytecodeFormatError(f"invalid dialect index {index}", offset)
        return self.dialects[index]

    def skip_nested_section(self, cursor: Cursor, expected: Section, what: str) -> Cursor:
        """A section nested inside another one (dialect versions, isolated regions)."""
        start = cursor.offset
        section_id = cursor.byte(f"a {what} section id")
        aligned = bool(section_id & 0x80)
        if section_id & 0x7F != expected:
            raise BytecodeFormatError(f"expected a {what} section", start)
        length = cursor.varint(f"a {what} section length")
        if aligned:
            cursor.align(cursor.varint(f"a {what} section alignment"), f"a {what} section")
        return cursor.sub(length, f"a {what} section")

    def read_properties(self, cursor: Cursor) -> None:
        """The table of size-prefixed property encodings, by index."""
        if cursor.at_end():
            return
        for _ in range(cursor.count("the properties count")):
            size = cursor.varint("a properties size")
            self.properties.append(cursor.sub(size, "an op's properties"))
        if not cursor.at_end():
            raise cursor.error("trailing bytes in the properties section")

    # ---- resources
    def read_resources(self, sections: dict[int, SectionSpan]) -> None:
        """Builtin blobs are memory-mapped; other groups are kept as text (small)."""
        has_data, has_offsets = Section.RESOURCE in sections, Section.RESOURCE_OFFSET in sections
        if has_data != has_offsets:
            raise BytecodeFormatError("resource and resource offset sections must come together")
        if not has_data:
            return
        span = sections[Section.RESOURCE]
        offsets = self.section_bytes(sections, Section.RESOURCE_OFFSET)
        self.resource_position, self.resource_end = span.offset, span.offset + span.size
        external: dict[str, dict[str, str]] = {}
        for _ in range(offsets.count("the external resource group count")):
            group = self.string(offsets.varint("a resource group name"), offsets.offset)
            external[group] = self.read_resource_group(offsets, f"resource group '{group}'", None)
        if external:
            self.metadata.external_resources = external_resources_text(external)
        while not offsets.at_end():
            dialect = self.dialect(offsets)
            values = self.read_resource_group(offsets, f"resources of '{dialect}'", dialect)
            if dialect != "builtin":
                self.metadata.other_dialect_resources.setdefault(dialect, {}).update(values)

    def read_resource_group(
        self, offsets: Cursor, what: str, dialect: str | None
    ) -> dict[str, str]:
        """One group's entries, in file order; builtin blobs go to the resource table."""
        values: dict[str, str] = {}
        for _ in range(offsets.count(f"the size of {what}", 3)):
            key_offset = offsets.offset
            key = self.string(offsets.varint("a resource key"), key_offset)
            size = offsets.varint("a resource size")
            kind = offsets.byte("a resource kind")
            position = self.resource_position
            if size > self.resource_end - position:
                raise BytecodeFormatError(f"resource '{key}' points outside the file", key_offset)
            self.resource_position += size
            if kind > ResourceKind.STRING:
                raise BytecodeFormatError(f"resource '{key}' has unknown kind {kind}", key_offset)
            if dialect == "builtin":
                if size and kind != ResourceKind.BLOB:
                    raise BytecodeFormatError(f"builtin resource '{key}' is not a blob", key_offset)
                blob = self.resource_blob(position, size, key) if size else None
                self.resources.append((key, blob))
                if blob is not None:
                    self.metadata.blobs.setdefault(key, blob)
            else:
                if dialect is not None:
                    self.resources.append((key, None))
                values[key] = self.resource_text(position, size, key, kind)
        return values

    def resource_text(self, position: int, size: int, key: str, kind: int) -> str:
        """A non-builtin resource as the text our printer writes between quotes."""
        if kind == ResourceKind.BLOB:
            blob = self.resource_blob(position, size, key)
            alignment = blob.alignment.to_bytes(4, "little")
            return "0x" + (alignment + blob.data.tobytes()).hex().upper()
        entry = Cursor(self.source.read(position, size), position)
        if kind == ResourceKind.BOOL:
            value = "true" if entry.byte(f"resource '{key}'") else "false"
        else:
            value = self.string(entry.varint(f"resource '{key}'"), position)
        if not entry.at_end():
            raise entry.error(f"trailing bytes in resource '{key}'")
        return value

    def resource_blob(self, position: int, size: int, key: str) -> Blob:
        """`alignment, size, padding, bytes` of one blob entry, the bytes mapped in place."""
        head = Cursor(self.source.read(position, min(size, HEADER_PROBE)), position)
        # MLIR writes alignment 0 for empty blobs (and then refuses it); read it as 1.
        alignment = max(1, head.varint(f"the alignment of resource '{key}'"))
        check_alignment(alignment, f"resource '{key}'", position)
        nbytes = head.varint(f"the size of resource '{key}'")
        padding_start = head.offset
        data_start = padding_start + (-padding_start % alignment)
        padding = self.source.read(padding_start, data_start - padding_start)
        if any(b != 0xCB for b in padding):
            raise BytecodeFormatError(f"bad alignment padding in resource '{key}'", padding_start)
        if data_start + nbytes != position + size:
            raise BytecodeFormatError(
                f"resource '{key}' holds {nbytes} bytes but its entry has room for "
                f"{position + size - data_start}",
                position,
            )
        return self.source.blob(data_start, nbytes, alignment)

    def resource(self, index: int, offset: int, type_: Attribute) -> Attribute:
        """A `dense_resource` attribute over resource `index`."""
        if index >= len(self.resources):
            raise BytecodeFormatError(f"invalid resource index {index}", offset)
        key, blob = self.resources[index]
        return DenseResourceElementsAttr.create(key, type_, blob)

    # ---- attributes and types
    def read_attr_type_offsets(self, data: Cursor, offsets: Cursor) -> None:
        """Entry sizes grouped by dialect; the entries themselves decode lazily."""
        num_attributes = offsets.count("the attribute count")
        num_types = offsets.count("the type count")
        position = 0
        for table, total in ((self.attributes, num_attributes), (self.types, num_types)):
            while len(table) < total:
                dialect = self.dialect(offsets)
                group = offsets.count("an attribute/type group size")
                if group > total - len(table):
                    raise offsets.error("an attribute/type group overruns its table")
                for _ in range(group):
                    size, custom = offsets.varint_flag("an attribute/type size")
                    if size > data.end - position:
                        raise offsets.error("an attribute/type entry runs past its section")
                    raw = bytes(data.data[position : position + size])
                    table.append(Entry(dialect, custom, raw, data.base + position))
                    position += size
        if not offsets.at_end():
            raise offsets.error("trailing bytes in the attribute/type offset section")

    def attribute(self, index: int, offset: int) -> Attribute:
        """Attribute `index`, decoded on first use."""
        return self.resolve(self.attributes, index, offset, "attribute")

    def type(self, index: int, offset: int) -> Attribute:
        """Type `index`, decoded on first use."""
        return self.resolve(self.types, index, offset, "type")

    def resolve(self, table: list[Entry], index: int, offset: int, kind: str) -> Attribute:
        """Decode an entry once (cycles and very deep nesting are errors)."""
        if index >= len(table):
            raise BytecodeFormatError(f"invalid {kind} index {index}", offset)
        entry = table[index]
        if entry.value is not None:
            return entry.value
        if entry.resolving:
            raise BytecodeFormatError(f"{kind} {index} refers to itself", offset)
        if self.depth >= MAX_ATTRIBUTE_DEPTH:
            too_deep = NESTED_TOO_DEEPLY.format(MAX_ATTRIBUTE_DEPTH)
            raise BytecodeFormatError(f"{kind} {index} is {too_deep}", offset)
        entry.resolving = True
        self.depth += 1
        try:
            entry.value = self.decode_entry(entry, kind)
        finally:
            self.depth -= 1
            entry.resolving = False
        return entry.value

    def decode_entry(self, entry: Entry, kind: str) -> Attribute:
        """A custom builtin encoding or the textual fallback; all bytes must be used."""
        cursor = Cursor(entry.data, entry.offset)
        if not entry.custom:
            text = cursor.cstring(f"the text of the {kind}")
            value = self.parse_text(text, kind, entry.offset)
        elif entry.dialect != "builtin":
            raise BytecodeFormatError(
                f"{kind} of dialect '{entry.dialect}' uses an encoding only that dialect knows",
                entry.offset,
            )
        elif kind == "type":
            value = self.decoder.type_entry(cursor)
        else:
            value = self.decoder.attribute(cursor)
        if not cursor.at_end():
            raise cursor.error(f"trailing bytes after the {kind}")
        return value

    def parse_text(self, text: str, kind: str, offset: int) -> Attribute:
        """The textual fallback: an attribute or type in MLIR's assembly syntax."""
        if too_deep_offset(text) is not None:
            too_deep = NESTED_TOO_DEEPLY.format(MAX_NESTING_DEPTH)
            raise BytecodeFormatError(f"{kind} text is {too_deep}", offset)
        parser = CoreAIParser(self.ctx, text, self.source.name, self.metadata)
        try:
            value = parser.parse_type() if kind == "type" else parser.parse_attribute()
        except ParseError as error:
            reason = error.msg.strip().splitlines()[0] if error.msg.strip() else "syntax error"
            raise BytecodeFormatError(
                f"cannot parse {kind} text {text!r}: {reason}", offset
            ) from None
        if parser._current_token.kind != MLIRTokenKind.EOF:
            raise BytecodeFormatError(f"trailing text after {kind} {text!r}", offset)
        return value

    def typed_attribute(self, cursor: Cursor, expected: type | tuple, what: str) -> Attribute:
        """An attribute index whose value must be an instance of `expected`."""
        offset = cursor.offset
        value = self.attribute(cursor.varint(what), offset)
        if not isinstance(value, expected):
            raise BytecodeFormatError(f"{what} is {value}, of the wrong kind", offset)
        return value

    # ---- IR
    def read_ir(self, cursor: Cursor) -> ModuleOp:
        """The top-level block holding one `builtin.module`."""
        count, has_args = cursor.varint_flag("the top-level op count")
        if count != 1 or has_args:
            raise cursor.error("the IR section must hold exactly one top-level operation")
        self.scopes.append(ValueScope())
        top = Block()
        self.scopes[-1].next_ids.append(0)
        module = self.read_op(cursor, top, [top])
        if not isinstance(module, ModuleOp):
            raise cursor.error(f"the top-level operation is '{module.name}', not builtin.module")
        if not cursor.at_end():
            raise cursor.error("trailing bytes after the top-level operation")
        if self.forward_refs:
            raise cursor.error("some values are used but never defined")
        module.detach()
        return module

    def op_name(self, cursor: Cursor) -> OpName:
        """An operation name by index."""
        offset = cursor.offset
        index = cursor.varint("an op name index")
        if index >= len(self.op_names):
            raise BytecodeFormatError(f"invalid op name index {index}", offset)
        return self.op_names[index]

    def read_op(self, cursor: Cursor, block: Block, region_blocks: list[Block]) -> Operation:
        """One operation, appended to `block`; its regions are read right after it."""
        parts = self.read_op_parts(cursor, region_blocks)
        op = self.create_op(parts)
        block.add_op(op)
        self.define(cursor, op.results)
        if parts.num_regions:
            self.read_regions(cursor, op, parts.isolated)
        return op

    def read_op_parts(self, cursor: Cursor, region_blocks: list[Block]) -> OpParts:
        """Name, mask, then each component the mask announces, in the file's order."""
        offset = cursor.offset
        name = self.op_name(cursor)
        mask = cursor.byte("an op encoding mask")
        parts = OpParts(name, offset, self.typed_attribute(cursor, LOCATION_CODES, "a location"))
        if mask & OpMask.HAS_ATTRS:
            attributes = self.typed_attribute(cursor, DictionaryAttr, "op attributes")
            parts.attributes = dict(attributes.data)
        if mask & OpMask.HAS_PROPERTIES:
            parts.properties = self.read_op_properties(cursor, name)
        if mask & OpMask.HAS_RESULTS:
            parts.result_types = [
                self.type(cursor.varint("a result type"), cursor.offset)
                for _ in range(cursor.count("the result count"))
            ]
        if mask & OpMask.HAS_OPERANDS:
            count = cursor.count("the operand count")
            parts.operands = [self.operand(cursor) for _ in range(count)]
        if mask & OpMask.HAS_SUCCESSORS:
            count = cursor.count("the successor count")
            parts.successors = [self.successor(cursor, region_blocks) for _ in range(count)]
        if mask & OpMask.HAS_USE_LIST_ORDERS:
            self.skip_use_list_orders(cursor, len(parts.result_types))
        if mask & OpMask.HAS_INLINE_REGIONS:
            parts.num_regions, parts.isolated = cursor.varint_flag("the region count")
            if parts.num_regions > cursor.remaining:
                raise cursor.error(f"{parts.num_regions} regions cannot fit in the remaining bytes")
        return parts

    def successor(self, cursor: Cursor, region_blocks: list[Block]) -> Block:
        """A block of the enclosing region, by index."""
        offset = cursor.offset
        index = cursor.varint("a successor")
        if index >= len(region_blocks):
            raise BytecodeFormatError(f"invalid successor block {index}", offset)
        return region_blocks[index]

    def read_op_properties(self, cursor: Cursor, name: OpName) -> dict[str, Attribute]:
        """Unregistered ops keep a dictionary; `builtin.module` its two optional names."""
        offset = cursor.offset
        index = cursor.varint("a properties index")
        if index >= len(self.properties):
            raise BytecodeFormatError(f"invalid properties index {index}", offset)
        stored = self.properties[index]
        entry = Cursor(stored.data, stored.base)
        if not name.registered:
            return dict(self.typed_attribute(entry, DictionaryAttr, "op properties").data)
        if name.name != "builtin.module":
            raise BytecodeFormatError(
                f"cannot decode the properties of registered op '{name.name}'", offset
            )
        properties = {}
        for key in ("sym_name", "sym_visibility"):
            at = entry.offset
            attr_index, present = entry.varint_flag(f"module {key}")
            if present:
                value = self.attribute(attr_index, at)
                if not isinstance(value, StringAttr):
                    raise BytecodeFormatError(f"module {key} must be a string", at)
                properties[key] = value
        if not entry.at_end():
            raise entry.error("trailing bytes in builtin.module properties")
        return properties

    def create_op(self, parts: OpParts) -> Operation:
        """Build the op the way xDSL's generic-form parser does."""
        op_type = self.ctx.get_optional_op(parts.name.name)
        if op_type is None:
            raise BytecodeFormatError(f"unknown operation '{parts.name.name}'", parts.offset)
        properties, attributes = parts.properties, parts.attributes
        if issubclass(op_type, IRDLOperation):
            for key in op_type.get_irdl_definition().properties:
                if key in attributes and key not in properties:
                    properties[key] = attributes.pop(key)
        if op_type is ModuleOp and "sym_visibility" in properties:
            attributes["sym_visibility"] = properties.pop("sym_visibility")
        return op_type.create(
            operands=parts.operands,
            result_types=parts.result_types,
            properties=properties,
            attributes=attributes,
            location=parts.location,
            successors=parts.successors,
            regions=[Region() for _ in range(parts.num_regions)],
        )

    def skip_use_list_orders(self, cursor: Cursor, count: int) -> None:
        """Use-list orders only matter to MLIR's in-memory use lists: parsed, not kept."""
        entries = cursor.count("the use-list count") if count > 1 else 1
        for _ in range(entries):
            if count > 1:
                cursor.varint("a use-list value index")
            size, _pairs = cursor.varint_flag("a use-list size")
            if size > cursor.remaining:
                raise cursor.error(f"a use-list of {size} entries cannot fit")
            for _ in range(size):
                cursor.varint("a use-list entry")

    def read_regions(self, cursor: Cursor, op: Operation, isolated: bool) -> None:
        """The regions of `op`; isolated ones live in their own IR section and value scope."""
        if self.region_depth >= MAX_DEPTH:
            raise cursor.error(f"regions {NESTED_TOO_DEEPLY.format(MAX_DEPTH)}")
        self.region_depth += 1
        if isolated:
            cursor = self.skip_nested_section(cursor, Section.IR, "region")
            self.scopes.append(ValueScope())
        for region in op.regions:
            self.read_region(cursor, region)
        if isolated:
            if not cursor.at_end():
                raise cursor.error("trailing bytes after isolated regions")
            self.scopes.pop()
        self.region_depth -= 1

    def read_region(self, cursor: Cursor, region: Region) -> None:
        """Block count, value count, then each block's header, arguments and ops."""
        num_blocks = cursor.count("the block count")
        if num_blocks == 0:
            return
        num_values = cursor.count("the region value count")
        blocks = [Block() for _ in range(num_blocks)]
        for block in blocks:
            region.add_block(block)
        scope = self.scopes[-1]
        scope.next_ids.append(len(scope.values))
        scope.values.extend([None] * num_values)
        first = len(scope.values) - num_values
        for block in blocks:
            num_ops, has_args = cursor.varint_flag("a block's op count")
            if num_ops > cursor.remaining:
                raise cursor.error(f"{num_ops} ops cannot fit in the remaining bytes")
            if has_args:
                self.read_block_arguments(cursor, block)
            for _ in range(num_ops):
                self.read_op(cursor, block, blocks)
        self.check_defined(cursor, scope, first)
        del scope.values[first:]
        scope.next_ids.pop()

    def read_block_arguments(self, cursor: Cursor, block: Block) -> None:
        """Argument types (with a flag for a location), then the use-list marker."""
        count = cursor.count("the block argument count")
        for _ in range(count):
            offset = cursor.offset
            index, has_location = cursor.varint_flag("a block argument type")
            arg = block.insert_arg(self.type(index, offset), len(block.args))
            if has_location:
                arg.location = self.typed_attribute(cursor, LOCATION_CODES, "an argument location")
            else:
                arg.location = UnknownLoc()
        self.define(cursor, block.args)
        if cursor.byte("the block's use-list marker"):
            self.skip_use_list_orders(cursor, count)

    def operand(self, cursor: Cursor) -> SSAValue:
        """A value of the current scope; a placeholder if it is defined further on."""
        offset = cursor.offset
        index = cursor.varint("an operand")
        values = self.scopes[-1].values
        if index >= len(values):
            raise BytecodeFormatError(f"invalid value index {index}", offset)
        value = values[index]
        if value is None:
            value = ForwardDeclaredValue(NoneType())
            values[index] = value
            self.forward_refs += 1
        return value

    def define(self, cursor: Cursor, new_values: Sequence[SSAValue]) -> None:
        """Give the next value ids of the current region to `new_values`."""
        if not new_values:
            return
        scope = self.scopes[-1]
        if not scope.next_ids:
            return
        first = scope.next_ids[-1]
        if first + len(new_values) > len(scope.values):
            raise cursor.error("more values defined than the region declared")
        for index, value in enumerate(new_values, first):
            previous = scope.values[index]
            if isinstance(previous, ForwardDeclaredValue):
                previous.replace_all_uses_with(value)
                self.forward_refs -= 1
            elif previous is not None:
                raise cursor.error(f"value {index} is defined twice")
            scope.values[index] = value
        scope.next_ids[-1] = first + len(new_values)

    def check_defined(self, cursor: Cursor, scope: ValueScope, first: int) -> None:
        """Every value a region used must have been defined in it by its end."""
        for value in scope.values[first:]:
            if isinstance(value, ForwardDeclaredValue):
                raise cursor.error("a value is used but never defined in its region")


# --------------------------------------------------------------------------- entry points


def read_bytecode_source(source: Source) -> tuple[ModuleOp, FileMetadata]:
    """Decode a whole file; every failure is a BytecodeFormatError."""
    try:
        return BytecodeReader(source).read_module()
    except BytecodeFormatError:
        raise
    except (MemoryError, KeyboardInterrupt):
        raise
    except RecursionError:  # a safety net: the depth limits keep well inside Python's
        raise BytecodeFormatError("the IR is nested too deeply") from None
    except Exception as error:  # xDSL constructors reject what the checks above let through
        message = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise BytecodeFormatError(f"invalid content ({type(error).__name__}: {message})") from None
    finally:
        source.close()


VERBATIM_EXTERNAL = "coreai_opt.external_resources"
"""External group in which we keep the verbatim `external_resources` text of a program."""


def external_resources_text(groups: dict[str, dict[str, str]]) -> str:
    """The `external_resources: {...}` text of external resource groups."""
    if set(groups) == {VERBATIM_EXTERNAL} and "text" in groups[VERBATIM_EXTERNAL]:
        return groups[VERBATIM_EXTERNAL]["text"]
    lines = ["{"]
    for index, (group, entries) in enumerate(groups.items()):
        lines.append(f"    {group}: {{")
        for position, (key, value) in enumerate(entries.items()):
            comma = "," if position + 1 < len(entries) else ""
            escaped = value.replace("\\", "\\\\").replace('"', '\\"')
            lines.append(f'      {key}: "{escaped}"{comma}')
        lines.append("    }" + ("," if index + 1 < len(groups) else ""))
    lines.append("  }")
    return "\n".join(lines)


def is_bytecode(head: bytes) -> bool:
    """True when `head` starts with MLIR bytecode's magic number."""
    return head.startswith(MAGIC)
