"""Write an xDSL module as MLIR bytecode (version 6, what MLIR 22 reads and writes).

Builtin attributes and types get MLIR's custom encodings; everything else (coreai types,
other dialects' attributes, the f8/f4 float types) is stored as its assembly text, which
MLIR's reader parses. `coreai.*` ops are written as unregistered ops with their properties
as a dictionary, exactly as `mlir-opt --allow-unregistered-dialect` writes them.

Weights are never copied: each `dense_resource` blob becomes an aligned entry of the
resource section that refers to the blob's array; `BytecodeImage.write_to` streams them.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
from xdsl.dialects.builtin import (
    DictionaryAttr,
    ModuleOp,
    StringAttr,
    UnknownLoc,
    UnregisteredOp,
)
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.traits import IsolatedFromAbove

from coreai_opt.bytecode.builtin import (
    TypeAsAttr,
    attribute_dialect,
    encode_attribute,
    encode_type,
    is_type,
)
from coreai_opt.bytecode.encoding import (
    MAGIC,
    PRODUCER,
    VERSION,
    Emitter,
    OpMask,
    ResourceKind,
    Section,
)
from coreai_opt.bytecode.mapping import release_pages
from coreai_opt.bytecode.reader import VERBATIM_EXTERNAL
from coreai_opt.dialects.resources import Blob, DenseResourceElementsAttr
from coreai_opt.ir.text import CoreAIPrinter, FileMetadata

CHUNK = 1 << 24
"""Bytes of a blob written (and hashed) at a time."""
REGISTERED_OPS = frozenset({"builtin.module"})
"""Ops MLIR knows and whose properties we encode the way MLIR's generated code does."""


class BytecodeWriteError(ValueError):
    """The module cannot be written as bytecode (invalid IR or unsupported content)."""


# --------------------------------------------------------------------------- numbering


@dataclass
class Numbered:
    """An attribute or type entry: its dialect, reference count and final index."""

    value: Attribute | TypeAsAttr
    dialect: str
    refs: int = 1
    index: int = -1
    text: str | None = None


@dataclass
class ResourceEntry:
    """One builtin resource: its unique key and blob (None = declared, bytes elided)."""

    key: str
    blob: Blob | None
    index: int


class NumberingSink:
    """Records what an attribute's encoding refers to (MLIR's numbering pass)."""

    def __init__(self, writer: BytecodeWriter) -> None:
        self.writer = writer

    def varint(self, value: int) -> None:
        pass

    def signed_varint(self, value: int) -> None:
        pass

    def byte(self, value: int) -> None:
        pass

    def blob(self, data: bytes) -> None:
        pass

    def attr(self, attr: Attribute) -> None:
        self.writer.number_attribute(attr)

    def type(self, type_: Attribute) -> None:
        self.writer.number_type(type_)

    def string(self, text: str) -> None:
        pass

    def resource(self, attr: DenseResourceElementsAttr) -> None:
        self.writer.number_resource(attr)


class EmittingSink:
    """Writes an attribute's encoding with final indices."""

    def __init__(self, writer: BytecodeWriter, emitter: Emitter) -> None:
        self.writer = writer
        self.emitter = emitter

    def varint(self, value: int) -> None:
        self.emitter.varint(value)

    def signed_varint(self, value: int) -> None:
        self.emitter.signed_varint(value)

    def byte(self, value: int) -> None:
        self.emitter.byte(value)

    def blob(self, data: bytes) -> None:
        self.emitter.varint(len(data))
        self.emitter.raw(data)

    def attr(self, attr: Attribute) -> None:
        self.emitter.varint(self.writer.attribute_index(attr))

    def type(self, type_: Attribute) -> None:
        self.emitter.varint(self.writer.type_index(type_))

    def string(self, text: str) -> None:
        self.emitter.varint(self.writer.string_index(text))

    def resource(self, attr: DenseResourceElementsAttr) -> None:
        self.emitter.varint(self.writer.resources[self.writer.resource_identity(attr)].index)


# --------------------------------------------------------------------------- writer


@dataclass
class BytecodeImage:
    """A bytecode file ready to stream: byte strings and references to blob arrays."""

    parts: list[bytes | np.ndarray]

    @property
    def size(self) -> int:
        """Total size in bytes."""
        return sum(len(part) if isinstance(part, bytes) else int(part.size) for part in self.parts)

    def write_to(self, out: BinaryIO, hasher: hashlib._Hash | None = None) -> None:
        """Stream the file to `out` (and into `hasher`), blob pages released as they go."""
        for part in self.parts:
            if isinstance(part, bytes):
                out.write(part)
                if hasher is not None:
                    hasher.update(part)
                continue
            for start in range(0, part.size, CHUNK):
                chunk = part[start : start + CHUNK]
                view = memoryview(chunk)
                if hasher is not None:
                    hasher.update(view)
                out.write(view)
                del view
                release_pages(chunk)

    def to_bytes(self) -> bytes:
        """The whole file in memory (small modules and tests)."""
        out = io.BytesIO()
        self.write_to(out)
        return out.getvalue()


@dataclass
class BytecodeWriter:
    """Numbers a module's IR units, then encodes every section."""

    module: ModuleOp
    metadata: FileMetadata | None = None
    producer: str = PRODUCER
    dialects: dict[str, int] = field(default_factory=dict)
    op_names: dict[str, tuple[int, int]] = field(default_factory=dict)
    attributes: dict[object, Numbered] = field(default_factory=dict)
    types: dict[object, Numbered] = field(default_factory=dict)
    resources: dict[object, ResourceEntry] = field(default_factory=dict)
    strings: dict[str, int] = field(default_factory=dict)
    properties: list[bytes] = field(default_factory=list)
    properties_index: dict[bytes, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.numbering_sink = NumberingSink(self)
        self.taken_keys: set[str] = set()

    # ---- numbering
    def dialect_number(self, dialect: str) -> int:
        """The index of a dialect, added on first use."""
        return self.dialects.setdefault(dialect, len(self.dialects))

    def attribute_key(self, attr: Attribute) -> object:
        """The table key of an attribute: itself (a TypeAttr for types), or its text."""
        key = TypeAsAttr(attr) if is_type(attr) else attr
        try:
            hash(key)
        except TypeError:  # xDSL attributes built from lists are not hashable
            return ("text", self.assembly(attr))
        return key

    def number_attribute(self, attr: Attribute) -> None:
        """Count a use of an attribute (types in attribute position become TypeAttrs)."""
        key = self.attribute_key(attr)
        entry = self.attributes.get(key)
        if entry is not None:
            entry.refs += 1
            return
        value = key if not isinstance(key, tuple) else attr
        entry = Numbered(TypeAsAttr(attr) if is_type(value) else value, "builtin")
        self.attributes[key] = entry
        if not encode_attribute(entry.value, self.numbering_sink):
            entry.text = self.assembly(attr)
            entry.dialect = attribute_dialect(entry.text)
        self.dialect_number(entry.dialect)

    def type_key(self, type_: Attribute) -> object:
        """The table key of a type: itself, or its text when it is not hashable."""
        try:
            hash(type_)
        except TypeError:
            return ("text", self.assembly(type_))
        return type_

    def number_type(self, type_: Attribute) -> None:
        """Count a use of a type."""
        key = self.type_key(type_)
        entry = self.types.get(key)
        if entry is not None:
            entry.refs += 1
            return
        entry = Numbered(type_, "builtin")
        self.types[key] = entry
        if not encode_type(type_, self.numbering_sink):
            entry.text = self.assembly(type_)
            entry.dialect = attribute_dialect(entry.text)
        self.dialect_number(entry.dialect)

    def resource_identity(self, attr: DenseResourceElementsAttr) -> object:
        """Blobs are resources by identity; elided ones by their key."""
        blob = attr.blob.data
        return ("elided", attr.resource_handle.data) if blob is None else blob

    def number_resource(self, attr: DenseResourceElementsAttr) -> None:
        """Give each distinct blob one resource entry with a module-unique key."""
        identity = self.resource_identity(attr)
        if identity in self.resources:
            return
        hint = attr.resource_handle.data
        key, suffix = hint, 0
        while key in self.taken_keys:
            suffix += 1
            key = f"{hint}_{suffix}"
        self.taken_keys.add(key)
        self.resources[identity] = ResourceEntry(key, attr.blob.data, len(self.resources))
        self.dialect_number("builtin")

    def assembly(self, attr: Attribute) -> str:
        """The MLIR assembly text of an attribute or type (the textual fallback)."""
        stream = io.StringIO()
        CoreAIPrinter(stream).print_attribute(attr)
        return stream.getvalue()

    def number_module(self) -> None:
        """Walk the IR once, numbering op names, attributes and types."""
        self.dialect_number("builtin")
        for op in self.module.walk():
            self.number_op(op)
        for dialect in self.other_resources():
            self.dialect_number(dialect)

    def number_op(self, op: Operation) -> None:
        name = op_name(op)
        dialect = name.partition(".")[0]
        dialect_index = self.dialect_number(dialect)
        if name not in self.op_names:
            self.op_names[name] = (dialect_index, len(self.op_names))
        self.number_attribute(op.location)
        attributes, properties = op_dictionaries(op)
        if attributes:
            self.number_attribute(DictionaryAttr(attributes))
        if properties and name not in REGISTERED_OPS:
            self.number_attribute(DictionaryAttr(properties))
        elif properties:
            for value in properties.values():
                self.number_attribute(value)
        for result in op.results:
            self.number_type(result.type)
        for region in op.regions:
            for block in region.blocks:
                for arg in block.args:
                    self.number_type(arg.type)
                    location = block_arg_location(arg)
                    if not isinstance(location, UnknownLoc):
                        self.number_attribute(location)

    def finalize_numbering(self) -> None:
        """Most-used first, then grouped by dialect (each group is one offset-table run)."""
        for table in (self.attributes, self.types):
            ordered = sorted(table.values(), key=lambda e: -e.refs)
            ordered.sort(key=lambda e: self.dialects[e.dialect])
            for index, entry in enumerate(ordered):
                entry.index = index

    # ---- index lookups
    def attribute_index(self, attr: Attribute) -> int:
        """The final index of a numbered attribute."""
        return self.attributes[self.attribute_key(attr)].index

    def type_index(self, type_: Attribute) -> int:
        """The final index of a numbered type."""
        return self.types[self.type_key(type_)].index

    def string_index(self, text: str) -> int:
        """The index of a string, added on first use."""
        return self.strings.setdefault(text, len(self.strings))

    # ---- sections
    def dialect_section(self) -> Emitter:
        out = Emitter()
        out.varint(len(self.dialects))
        for dialect in self.dialects:
            out.varint_flag(self.string_index(dialect), False)
        out.varint(len(self.op_names))
        names = sorted(self.op_names.items(), key=lambda item: item[1][1])
        for dialect_index, group in group_runs(names, lambda item: item[1][0]):
            out.varint(dialect_index)
            out.varint(len(group))
            for name, _ in group:
                short = name.partition(".")[2]
                out.varint_flag(self.string_index(short), name in REGISTERED_OPS)
        return out

    def attr_type_sections(self) -> tuple[Emitter, Emitter]:
        data, offsets = Emitter(), Emitter()
        offsets.varint(len(self.attributes))
        offsets.varint(len(self.types))
        sink = EmittingSink(self, data)
        for table, encode in ((self.attributes, encode_attribute), (self.types, encode_type)):
            ordered = sorted(table.values(), key=lambda e: e.index)
            for dialect, group in group_runs(ordered, lambda e: e.dialect):
                offsets.varint(self.dialects[dialect])
                offsets.varint(len(group))
                for entry in group:
                    before = data.size
                    if entry.text is None:
                        encode(entry.value, sink)
                    else:
                        data.cstring(entry.text)
                    offsets.varint_flag(data.size - before, entry.text is None)
        return data, offsets

    def resource_sections(self) -> tuple[Emitter, Emitter]:
        """Builtin blobs (aligned, referenced); other groups as string entries."""
        data, offsets = Emitter(), Emitter()
        external = self.metadata.external_resources if self.metadata else None
        offsets.varint(0 if external is None else 1)
        if external is not None:
            offsets.varint(self.string_index(VERBATIM_EXTERNAL))
            self.string_resources(data, offsets, {"text": external})
        if self.resources:
            offsets.varint(self.dialects["builtin"])
            offsets.varint(len(self.resources))
            for entry in self.resources.values():
                before = data.size
                if entry.blob is not None:
                    alignment = power_of_two_alignment(entry.blob.alignment)
                    data.varint(alignment)
                    data.varint(entry.blob.nbytes)
                    data.align(alignment)
                    data.external(entry.blob.data)
                offsets.varint(self.string_index(entry.key))
                offsets.varint(data.size - before)
                offsets.byte(ResourceKind.BLOB)
        for dialect, entries in self.other_resources().items():
            offsets.varint(self.dialects[dialect])
            self.string_resources(data, offsets, entries)
        return data, offsets

    def other_resources(self) -> dict[str, dict[str, str]]:
        """Resources of dialects other than builtin, kept as the text they had."""
        if self.metadata is None:
            return {}
        return {d: e for d, e in self.metadata.other_dialect_resources.items() if e}

    def string_resources(self, data: Emitter, offsets: Emitter, entries: dict[str, str]) -> None:
        """A group of string-kind resource entries."""
        offsets.varint(len(entries))
        for key, value in entries.items():
            before = data.size
            data.varint(self.string_index(value))
            offsets.varint(self.string_index(key))
            offsets.varint(data.size - before)
            offsets.byte(ResourceKind.STRING)

    def properties_section(self) -> Emitter:
        out = Emitter()
        out.varint(len(self.properties))
        for encoded in self.properties:
            out.raw(encoded)
        return out

    def string_section(self) -> Emitter:
        out = Emitter()
        encoded = [text.encode("utf-8") for text in self.strings]
        out.varint(len(encoded))
        for raw in reversed(encoded):
            out.varint(len(raw) + 1)
        for raw in encoded:
            out.raw(raw)
            out.byte(0)
        return out

    def property_index(self, encoded: bytes) -> int:
        """Index of a (deduplicated) size-prefixed properties encoding."""
        prefixed = Emitter()
        prefixed.varint(len(encoded))
        prefixed.raw(encoded)
        key = bytes(prefixed.current)
        if key not in self.properties_index:
            self.properties_index[key] = len(self.properties)
            self.properties.append(key)
        return self.properties_index[key]

    # ---- IR
    def ir_section(self) -> Emitter:
        out = Emitter()
        out.varint_flag(1, False)
        self.write_op(out, self.module, [{}], [])
        return out

    def write_op(
        self, out: Emitter, op: Operation, scopes: list[dict[SSAValue, int]], blocks: list[Block]
    ) -> None:
        name = op_name(op)
        attributes, properties = op_dictionaries(op)
        mask = 0
        mask |= OpMask.HAS_ATTRS if attributes else 0
        mask |= OpMask.HAS_PROPERTIES if properties or name in REGISTERED_OPS else 0
        mask |= OpMask.HAS_RESULTS if op.results else 0
        mask |= OpMask.HAS_OPERANDS if op.operands else 0
        mask |= OpMask.HAS_SUCCESSORS if op.successors else 0
        mask |= OpMask.HAS_INLINE_REGIONS if op.regions else 0
        out.varint(self.op_names[name][1])
        out.byte(mask)
        out.varint(self.attribute_index(op.location))
        if attributes:
            out.varint(self.attribute_index(DictionaryAttr(attributes)))
        if mask & OpMask.HAS_PROPERTIES:
            out.varint(self.property_index(self.encode_properties(name, properties)))
        if op.results:
            out.varint(len(op.results))
            for result in op.results:
                out.varint(self.type_index(result.type))
        if op.operands:
            out.varint(len(op.operands))
            for operand in op.operands:
                out.varint(value_id(scopes, operand, op))
        if op.successors:
            out.varint(len(op.successors))
            for successor in op.successors:
                out.varint(block_index(blocks, successor, op))
        if op.regions:
            isolated = op.has_trait(IsolatedFromAbove, value_if_unregistered=False)
            out.varint_flag(len(op.regions), isolated)
            if isolated:
                body = Emitter()
                inner: list[dict[SSAValue, int]] = [{}]
                for region in op.regions:
                    self.write_region(body, region, inner)
                out.section(Section.IR, body)
            else:
                for region in op.regions:
                    self.write_region(out, region, scopes)

    def encode_properties(self, name: str, properties: dict[str, Attribute]) -> bytes:
        """A dictionary for unregistered ops; MLIR's generated layout for builtin.module."""
        out = Emitter()
        if name not in REGISTERED_OPS:
            out.varint(self.attribute_index(DictionaryAttr(properties)))
            return bytes(out.current)
        for key in ("sym_name", "sym_visibility"):
            value = properties.get(key)
            if value is None:
                out.varint(0)
            else:
                out.varint_flag(self.attribute_index(value), True)
        return bytes(out.current)

    def write_region(self, out: Emitter, region: Region, scopes: list[dict[SSAValue, int]]) -> None:
        blocks = list(region.blocks)
        if not blocks:
            out.varint(0)
            return
        scope = scopes[-1]
        first = len(scope)
        defined: list[SSAValue] = []
        for block in blocks:
            defined.extend(block.args)
            for op in block.ops:
                defined.extend(op.results)
        for offset, value in enumerate(defined):
            scope[value] = first + offset
        out.varint(len(blocks))
        out.varint(len(defined))
        for block in blocks:
            ops = list(block.ops)
            out.varint_flag(len(ops), bool(block.args))
            if block.args:
                out.varint(len(block.args))
                for arg in block.args:
                    location = block_arg_location(arg)
                    has_location = not isinstance(location, UnknownLoc)
                    out.varint_flag(self.type_index(arg.type), has_location)
                    if has_location:
                        out.varint(self.attribute_index(location))
                out.byte(0)  # no use-list orders
            for op in ops:
                self.write_op(out, op, scopes, blocks)
        for value in defined:
            del scope[value]

    # ---- whole file
    def build(self) -> BytecodeImage:
        """Number, encode and lay out every section (blobs referenced, not copied)."""
        self.number_module()
        self.finalize_numbering()
        dialect = self.dialect_section()
        attr_data, attr_offsets = self.attr_type_sections()
        ir = self.ir_section()
        resource_data, resource_offsets = self.resource_sections()
        properties = self.properties_section()
        strings = self.string_section()
        top = Emitter()
        top.raw(MAGIC)
        top.varint(VERSION)
        top.cstring(self.producer)
        top.section(Section.DIALECT, dialect)
        top.section(Section.ATTR_TYPE_OFFSET, attr_offsets)
        top.section(Section.ATTR_TYPE, attr_data)
        top.section(Section.IR, ir)
        top.section(Section.RESOURCE_OFFSET, resource_offsets)
        top.section(Section.RESOURCE, resource_data)
        top.section(Section.STRING, strings)
        top.section(Section.PROPERTIES, properties)
        return BytecodeImage(top.finish())


# --------------------------------------------------------------------------- helpers


def op_name(op: Operation) -> str:
    """The MLIR name of an op (unregistered xDSL ops carry it as an attribute)."""
    if isinstance(op, UnregisteredOp):
        return op.op_name.data
    return op.name


def op_dictionaries(op: Operation) -> tuple[dict[str, Attribute], dict[str, Attribute]]:
    """Discardable attributes and properties as MLIR sees them."""
    attributes = {k: v for k, v in op.attributes.items() if k != "op_name__"}
    properties = dict(op.properties)
    if isinstance(op, ModuleOp):
        if "sym_visibility" in attributes:
            properties["sym_visibility"] = attributes.pop("sym_visibility")
        properties = {k: v for k, v in properties.items() if isinstance(v, StringAttr)}
    return attributes, properties


def block_arg_location(arg: SSAValue) -> Attribute:
    """A block argument's location (unknown when absent)."""
    return getattr(arg, "location", None) or UnknownLoc()


def value_id(scopes: list[dict[SSAValue, int]], value: SSAValue, user: Operation) -> int:
    """The number of an operand in the current isolated scope."""
    number = scopes[-1].get(value)
    if number is None:
        raise BytecodeWriteError(f"'{op_name(user)}' uses a value that is not defined in its scope")
    return number


def block_index(blocks: list[Block], block: Block, user: Operation) -> int:
    """The index of a successor in the enclosing region."""
    for index, candidate in enumerate(blocks):
        if candidate is block:
            return index
    raise BytecodeWriteError(f"'{op_name(user)}' branches to a block outside its region")


def group_runs(items: Sequence, key) -> Iterable[tuple[object, list]]:
    """Consecutive runs of items sharing `key(item)`."""
    run: list = []
    current: object = None
    for item in items:
        item_key = key(item)
        if run and item_key != current:
            yield current, run
            run = []
        current = item_key
        run.append(item)
    if run:
        yield current, run


def power_of_two_alignment(alignment: int) -> int:
    """MLIR needs power-of-two alignments: round up (at least 1)."""
    return 1 << max(0, alignment - 1).bit_length()


def build_image(
    module: ModuleOp, metadata: FileMetadata | None = None, producer: str = PRODUCER
) -> BytecodeImage:
    """Encode a module (blobs referenced, not copied); raises BytecodeWriteError."""
    return BytecodeWriter(module, metadata, producer).build()
