"""The builtin dialect's attribute and type encodings, both directions.

Codes follow MLIR's `BuiltinDialectBytecode.td` as MLIR 22 writes them (checked against
`mlir-opt-22 --emit-bytecode`). Types MLIR itself writes as text (the f8/f6/f4 float types,
`tf32`, ...) and anything without an encoding here go through the textual fallback.

Encoding runs twice over the same code: once with a numbering sink that only records which
attributes, types, strings and resources an entry refers to, then with the real emitter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from xdsl.dialects.builtin import (
    AffineMapAttr,
    ArrayAttr,
    BFloat16Type,
    BytesAttr,
    CallSiteLoc,
    ComplexType,
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    DictionaryAttr,
    FileLineColLoc,
    Float4E2M1FNType,
    Float6E2M3FNType,
    Float6E3M2FNType,
    Float16Type,
    Float32Type,
    Float64Type,
    Float80Type,
    Float128Type,
    FloatAttr,
    FunctionType,
    FusedLoc,
    IndexType,
    IntAttr,
    IntegerAttr,
    IntegerType,
    MemRefType,
    NameLoc,
    NoneAttr,
    NoneType,
    Signedness,
    StringAttr,
    SymbolRefAttr,
    TensorType,
    TupleType,
    UnitAttr,
    UnknownLoc,
    UnrankedTensorType,
    VectorType,
)
from xdsl.ir import Attribute, TypeAttribute
from xdsl.ir.affine import AffineMap

from coreai_opt.bytecode.encoding import BytecodeFormatError, Cursor
from coreai_opt.dialects.resources import DenseResourceElementsAttr
from coreai_opt.ir.dtypes import FLOAT_DTYPES
from coreai_opt.ir.elements import dense_attr
from coreai_opt.limits import MAX_DIMENSION, MAX_INTEGER_WIDTH

DYNAMIC = -(1 << 63)
"""The dynamic dimension, in MLIR and in xDSL."""


class AttrCode:
    """Builtin attribute codes."""

    ARRAY = 0
    DICTIONARY = 1
    STRING = 2
    STRING_WITH_TYPE = 3
    FLAT_SYMBOL_REF = 4
    SYMBOL_REF = 5
    TYPE = 6
    UNIT = 7
    INTEGER = 8
    FLOAT = 9
    CALL_SITE_LOC = 10
    FILE_LINE_COL_LOC = 11
    FUSED_LOC = 12
    FUSED_LOC_WITH_METADATA = 13
    NAME_LOC = 14
    UNKNOWN_LOC = 15
    DENSE_RESOURCE = 16
    DENSE_ARRAY = 17
    DENSE_INT_OR_FP = 18
    DENSE_STRING = 19
    SPARSE_ELEMENTS = 20
    DISTINCT = 21
    FILE_LINE_COL_RANGE = 22


class TypeCode:
    """Builtin type codes."""

    INTEGER = 0
    INDEX = 1
    FUNCTION = 2
    BF16 = 3
    F16 = 4
    F32 = 5
    F64 = 6
    F80 = 7
    F128 = 8
    COMPLEX = 9
    MEMREF = 10
    MEMREF_WITH_SPACE = 11
    NONE = 12
    RANKED_TENSOR = 13
    RANKED_TENSOR_WITH_ENCODING = 14
    TUPLE = 15
    UNRANKED_MEMREF = 16
    UNRANKED_MEMREF_WITH_SPACE = 17
    UNRANKED_TENSOR = 18
    VECTOR = 19
    VECTOR_SCALABLE = 20


SIMPLE_TYPES: dict[int, type[Attribute]] = {
    TypeCode.INDEX: IndexType,
    TypeCode.BF16: BFloat16Type,
    TypeCode.F16: Float16Type,
    TypeCode.F32: Float32Type,
    TypeCode.F64: Float64Type,
    TypeCode.F80: Float80Type,
    TypeCode.F128: Float128Type,
    TypeCode.NONE: NoneType,
}
SIMPLE_TYPE_CODES = {cls: code for code, cls in SIMPLE_TYPES.items()}

FLOAT_BITS: dict[type[Attribute], int] = {
    Float6E2M3FNType: 6,
    Float6E3M2FNType: 6,
    Float4E2M1FNType: 4,
}


@dataclass(frozen=True)
class TypeAsAttr:
    """A type used where MLIR expects an attribute (MLIR's `TypeAttr`)."""

    type: Attribute


# --------------------------------------------------------------------------- helpers


def float_bits(float_type: Attribute) -> int:
    """Storage width in bits of an MLIR float type we can hold in numpy."""
    cls = type(float_type)
    if cls in FLOAT_BITS:
        return FLOAT_BITS[cls]
    return FLOAT_DTYPES[cls].itemsize * 8


def unsigned_dtype(nbytes: int) -> np.dtype:
    """The little-endian unsigned dtype of `nbytes` bytes."""
    return np.dtype(f"<u{nbytes}")


def integer_width(element_type: Attribute) -> int | None:
    """APInt width of an integer-like type (index is 64 bits), else None."""
    if isinstance(element_type, IntegerType):
        return element_type.width.data
    if isinstance(element_type, IndexType):
        return 64
    return None


def element_storage_bytes(element_type: Attribute) -> int | None:
    """Bytes per element of a dense attribute (i1 is special-cased by callers)."""
    width = integer_width(element_type)
    if width is not None:
        return (width + 7) // 8 if width <= 64 and width in (*range(1, 9), 16, 32, 64) else None
    if type(element_type) in FLOAT_DTYPES:
        return FLOAT_DTYPES[type(element_type)].itemsize
    return None


def static_element_count(shaped: Attribute, what: str, offset: int) -> int:
    """Number of elements of a static shape."""
    shape = shaped.get_shape()
    if any(dim < 0 for dim in shape):
        raise BytecodeFormatError(f"{what} has a dynamic shape", offset)
    count = 1
    for dim in shape:
        count *= dim
    return count


def is_i1(element_type: Attribute) -> bool:
    """True for 1-bit integers (`i1`, `si1`, `ui1`): MLIR packs these by bit."""
    return isinstance(element_type, IntegerType) and element_type.width.data == 1


def one_bit_true(element_type: Attribute) -> np.uint8:
    """xDSL's byte for a set 1-bit element: 1 for ui1, else 0xFF (sign-extended -1)."""
    unsigned = element_type.signedness.data == Signedness.UNSIGNED
    return np.uint8(1 if unsigned else 0xFF)


# --------------------------------------------------------------------------- decoding


class Tables(Protocol):
    """What decoding an entry needs from the rest of the file."""

    def attribute(self, index: int, offset: int) -> Attribute: ...

    def type(self, index: int, offset: int) -> Attribute: ...

    def string(self, index: int, offset: int) -> str: ...

    def resource(self, index: int, offset: int, type_: Attribute) -> Attribute: ...


class BuiltinDecoder:
    """Decodes custom-encoded builtin attributes and types from entry bytes."""

    def __init__(self, tables: Tables) -> None:
        self.tables = tables

    # ---- references
    def attr(self, cursor: Cursor) -> Attribute:
        """An attribute by index."""
        offset = cursor.offset
        return self.tables.attribute(cursor.varint("an attribute index"), offset)

    def type_(self, cursor: Cursor) -> Attribute:
        """A type by index."""
        offset = cursor.offset
        return self.tables.type(cursor.varint("a type index"), offset)

    def string_attr(self, cursor: Cursor) -> StringAttr:
        """An attribute index that must name a StringAttr."""
        offset = cursor.offset
        attr = self.attr(cursor)
        if not isinstance(attr, StringAttr):
            raise BytecodeFormatError(f"expected a string attribute, got {attr}", offset)
        return attr

    def location(self, cursor: Cursor) -> Attribute:
        """An attribute index that must name a location."""
        offset = cursor.offset
        attr = self.attr(cursor)
        if not isinstance(attr, UnknownLoc | FileLineColLoc | CallSiteLoc | NameLoc | FusedLoc):
            raise BytecodeFormatError(f"expected a location, got {attr}", offset)
        return attr

    def attr_list(self, cursor: Cursor) -> list[Attribute]:
        """A counted list of attribute indices."""
        return [self.attr(cursor) for _ in range(cursor.count("a list length"))]

    def type_list(self, cursor: Cursor) -> list[Attribute]:
        """A counted list of type indices."""
        return [self.type_(cursor) for _ in range(cursor.count("a list length"))]

    def shape(self, cursor: Cursor) -> list[int]:
        """A counted list of signed dims (dynamic ones are INT64_MIN)."""
        dims = [cursor.signed_varint("a dimension") for _ in range(cursor.count("a rank"))]
        for dim in dims:
            if dim < 0 and dim != DYNAMIC:
                raise cursor.error(f"invalid dimension {dim}")
        return dims

    def apint(self, cursor: Cursor, width: int) -> int:
        """The raw (unsigned) bits of an APInt of known width."""
        if width <= 8:
            return cursor.byte("an integer") & ((1 << width) - 1)
        if width <= 64:
            return (cursor.signed_varint("an integer") & ((1 << 64) - 1)) & ((1 << width) - 1)
        words = cursor.count("an integer's word count")
        value = 0
        for index in range(words):
            value |= (cursor.signed_varint("an integer word") & ((1 << 64) - 1)) << (64 * index)
        return value & ((1 << width) - 1)

    # ---- attributes
    def attribute(self, cursor: Cursor) -> Attribute:
        """A custom-encoded builtin attribute."""
        offset = cursor.offset
        code = cursor.varint("an attribute code")
        decode = ATTRIBUTE_DECODERS.get(code)
        if decode is None:
            raise BytecodeFormatError(f"unsupported builtin attribute kind {code}", offset)
        return decode(self, cursor)

    def array(self, cursor: Cursor) -> Attribute:
        return ArrayAttr(self.attr_list(cursor))

    def dictionary(self, cursor: Cursor) -> Attribute:
        entries: dict[str, Attribute] = {}
        for _ in range(cursor.count("a dictionary size", 2)):
            name = self.string_attr(cursor).data
            entries[name] = self.attr(cursor)
        return DictionaryAttr(entries)

    def string(self, cursor: Cursor) -> Attribute:
        offset = cursor.offset
        return StringAttr(self.tables.string(cursor.varint("a string index"), offset))

    def string_with_type(self, cursor: Cursor) -> Attribute:
        # xDSL strings are untyped: the type is dropped (documented).
        value = self.string(cursor)
        self.type_(cursor)
        return value

    def flat_symbol_ref(self, cursor: Cursor) -> Attribute:
        return SymbolRefAttr(self.string_attr(cursor))

    def symbol_ref(self, cursor: Cursor) -> Attribute:
        root = self.string_attr(cursor)
        nested = []
        for _ in range(cursor.count("a symbol nesting")):
            offset = cursor.offset
            ref = self.attr(cursor)
            if not isinstance(ref, SymbolRefAttr) or ref.nested_references.data:
                raise BytecodeFormatError("expected a flat symbol reference", offset)
            nested.append(ref.root_reference)
        return SymbolRefAttr(root, nested)

    def type_attr(self, cursor: Cursor) -> Attribute:
        return self.type_(cursor)

    def unit(self, cursor: Cursor) -> Attribute:
        return UnitAttr()

    def integer(self, cursor: Cursor) -> Attribute:
        offset = cursor.offset
        int_type = self.type_(cursor)
        width = integer_width(int_type)
        if width is None:
            raise BytecodeFormatError(f"integer attribute of non-integer type {int_type}", offset)
        bits = self.apint(cursor, width)
        unsigned = isinstance(int_type, IntegerType) and (
            int_type.signedness.data == Signedness.UNSIGNED
        )
        value = bits if unsigned or not bits >> (width - 1) else bits - (1 << width)
        return IntegerAttr(value, int_type)

    def float_(self, cursor: Cursor) -> Attribute:
        offset = cursor.offset
        float_type = self.type_(cursor)
        if type(float_type) not in FLOAT_DTYPES:
            raise BytecodeFormatError(f"unsupported float attribute type {float_type}", offset)
        bits = self.apint(cursor, float_bits(float_type))
        dtype = FLOAT_DTYPES[type(float_type)]
        raw = np.array([bits], dtype=unsigned_dtype(dtype.itemsize))
        return FloatAttr(float(raw.view(dtype)[0]), float_type)

    def call_site_loc(self, cursor: Cursor) -> Attribute:
        return CallSiteLoc(self.location(cursor), self.location(cursor))

    def file_line_col_loc(self, cursor: Cursor) -> Attribute:
        filename = self.string_attr(cursor)
        line = cursor.varint("a line")
        column = cursor.varint("a column")
        return FileLineColLoc(filename, IntAttr(line), IntAttr(column))

    def file_line_col_range(self, cursor: Cursor) -> Attribute:
        # Ranges keep only their start (xDSL has no range location; documented).
        filename = self.string_attr(cursor)
        count = cursor.varint("a location range size")
        if count > 4:
            raise cursor.error(f"invalid location range size {count}")
        values = [cursor.varint("a location") for _ in range(count)]
        line = values[0] if values else 0
        column = values[1] if count >= 2 else 0
        return FileLineColLoc(filename, IntAttr(line), IntAttr(column))

    def fused_loc(self, cursor: Cursor) -> Attribute:
        locations = [self.location(cursor) for _ in range(cursor.count("a fused size"))]
        return FusedLoc(ArrayAttr(locations), NoneAttr())

    def fused_loc_with_metadata(self, cursor: Cursor) -> Attribute:
        locations = [self.location(cursor) for _ in range(cursor.count("a fused size"))]
        return FusedLoc(ArrayAttr(locations), self.attr(cursor))

    def name_loc(self, cursor: Cursor) -> Attribute:
        name = self.string_attr(cursor)
        child = self.location(cursor)
        return NameLoc(name, NoneAttr() if isinstance(child, UnknownLoc) else child)

    def unknown_loc(self, cursor: Cursor) -> Attribute:
        return UnknownLoc()

    def dense_resource(self, cursor: Cursor) -> Attribute:
        offset = cursor.offset
        shaped = self.type_(cursor)
        if not isinstance(shaped, TensorType):
            raise BytecodeFormatError(f"dense_resource of non-tensor type {shaped}", offset)
        offset = cursor.offset
        return self.tables.resource(cursor.varint("a resource index"), offset, shaped)

    def dense_array(self, cursor: Cursor) -> Attribute:
        offset = cursor.offset
        element_type = self.type_(cursor)
        size = cursor.varint("an array size")
        data = bytes(cursor.take(cursor.varint("a blob size"), "an array blob"))
        nbytes = 1 if is_i1(element_type) else element_storage_bytes(element_type)
        if nbytes is None or size * nbytes != len(data):
            raise BytecodeFormatError(f"invalid dense array of {element_type}", offset)
        if is_i1(element_type):
            set_bits = np.frombuffer(data, np.uint8) != 0
            data = (set_bits.astype(np.uint8) * one_bit_true(element_type)).tobytes()
        return DenseArrayBase(element_type, BytesAttr(data))

    def dense_elements(self, cursor: Cursor) -> Attribute:
        offset = cursor.offset
        shaped = self.type_(cursor)
        raw = cursor.take(cursor.varint("a blob size"), "dense elements")
        if not isinstance(shaped, TensorType | VectorType):
            raise BytecodeFormatError(f"dense elements of unsupported type {shaped}", offset)
        data = dense_from_mlir(shaped, np.frombuffer(raw, np.uint8), offset)
        return dense_attr(shaped, data)

    # ---- types
    def type_entry(self, cursor: Cursor) -> Attribute:
        """A custom-encoded builtin type."""
        offset = cursor.offset
        code = cursor.varint("a type code")
        if code in SIMPLE_TYPES:
            return SIMPLE_TYPES[code]()
        decode = TYPE_DECODERS.get(code)
        if decode is None:
            raise BytecodeFormatError(f"unsupported builtin type kind {code}", offset)
        return decode(self, cursor)

    def integer_type(self, cursor: Cursor) -> Attribute:
        packed = cursor.varint("an integer type")
        width, signedness = packed >> 2, packed & 3
        if width > MAX_INTEGER_WIDTH or signedness == 3:
            raise cursor.error(f"invalid integer type (width {width}, signedness {signedness})")
        return IntegerType(width, Signedness(signedness))

    def function_type(self, cursor: Cursor) -> Attribute:
        inputs = self.type_list(cursor)
        return FunctionType.from_lists(inputs, self.type_list(cursor))

    def complex_type(self, cursor: Cursor) -> Attribute:
        return ComplexType(self.type_(cursor))

    def memref_type(self, cursor: Cursor) -> Attribute:
        shape = self.shape(cursor)
        return MemRefType(self.type_(cursor), shape, memref_layout(self.attr(cursor), len(shape)))

    def memref_type_with_space(self, cursor: Cursor) -> Attribute:
        space = self.attr(cursor)
        shape = self.shape(cursor)
        element = self.type_(cursor)
        return MemRefType(element, shape, memref_layout(self.attr(cursor), len(shape)), space)

    def ranked_tensor(self, cursor: Cursor) -> Attribute:
        shape = self.shape(cursor)
        return TensorType(self.type_(cursor), shape)

    def ranked_tensor_with_encoding(self, cursor: Cursor) -> Attribute:
        encoding = self.attr(cursor)
        shape = self.shape(cursor)
        return TensorType(self.type_(cursor), shape, encoding)

    def tuple_type(self, cursor: Cursor) -> Attribute:
        return TupleType(ArrayAttr(tuple(self.type_list(cursor))))

    def unranked_tensor(self, cursor: Cursor) -> Attribute:
        return UnrankedTensorType(self.type_(cursor))

    def vector(self, cursor: Cursor) -> Attribute:
        shape = self.shape(cursor)
        if DYNAMIC in shape:
            raise cursor.error("vector types cannot have dynamic dimensions")
        return VectorType(self.type_(cursor), shape)


def memref_layout(layout: Attribute, rank: int) -> Attribute:
    """MLIR spells the default layout as an identity map; xDSL as no layout."""
    if isinstance(layout, AffineMapAttr) and layout.data == AffineMap.identity(rank):
        return NoneAttr()
    return layout


ATTRIBUTE_DECODERS = {
    AttrCode.ARRAY: BuiltinDecoder.array,
    AttrCode.DICTIONARY: BuiltinDecoder.dictionary,
    AttrCode.STRING: BuiltinDecoder.string,
    AttrCode.STRING_WITH_TYPE: BuiltinDecoder.string_with_type,
    AttrCode.FLAT_SYMBOL_REF: BuiltinDecoder.flat_symbol_ref,
    AttrCode.SYMBOL_REF: BuiltinDecoder.symbol_ref,
    AttrCode.TYPE: BuiltinDecoder.type_attr,
    AttrCode.UNIT: BuiltinDecoder.unit,
    AttrCode.INTEGER: BuiltinDecoder.integer,
    AttrCode.FLOAT: BuiltinDecoder.float_,
    AttrCode.CALL_SITE_LOC: BuiltinDecoder.call_site_loc,
    AttrCode.FILE_LINE_COL_LOC: BuiltinDecoder.file_line_col_loc,
    AttrCode.FUSED_LOC: BuiltinDecoder.fused_loc,
    AttrCode.FUSED_LOC_WITH_METADATA: BuiltinDecoder.fused_loc_with_metadata,
    AttrCode.NAME_LOC: BuiltinDecoder.name_loc,
    AttrCode.UNKNOWN_LOC: BuiltinDecoder.unknown_loc,
    AttrCode.DENSE_RESOURCE: BuiltinDecoder.dense_resource,
    AttrCode.DENSE_ARRAY: BuiltinDecoder.dense_array,
    AttrCode.DENSE_INT_OR_FP: BuiltinDecoder.dense_elements,
    AttrCode.FILE_LINE_COL_RANGE: BuiltinDecoder.file_line_col_range,
}

TYPE_DECODERS = {
    TypeCode.INTEGER: BuiltinDecoder.integer_type,
    TypeCode.FUNCTION: BuiltinDecoder.function_type,
    TypeCode.COMPLEX: BuiltinDecoder.complex_type,
    TypeCode.MEMREF: BuiltinDecoder.memref_type,
    TypeCode.MEMREF_WITH_SPACE: BuiltinDecoder.memref_type_with_space,
    TypeCode.RANKED_TENSOR: BuiltinDecoder.ranked_tensor,
    TypeCode.RANKED_TENSOR_WITH_ENCODING: BuiltinDecoder.ranked_tensor_with_encoding,
    TypeCode.TUPLE: BuiltinDecoder.tuple_type,
    TypeCode.UNRANKED_TENSOR: BuiltinDecoder.unranked_tensor,
    TypeCode.VECTOR: BuiltinDecoder.vector,
}


def dense_from_mlir(shaped: Attribute, raw: np.ndarray, offset: int) -> bytes:
    """MLIR's raw dense buffer (i1 bit-packed) → xDSL's byte layout.

    A splat (MLIR stores one element) stays one element: see `coreai_opt.ir.elements.dense_attr`.
    """
    element_type = shaped.get_element_type()
    count = static_element_count(shaped, "dense elements", offset)
    if is_i1(element_type):
        true = one_bit_true(element_type)
        if raw.size == 1 and raw[0] in (0, 0xFF):
            values = np.full(min(count, 1), true if raw[0] else 0, np.uint8)
        elif raw.size == (count + 7) // 8:
            values = np.unpackbits(raw, count=count, bitorder="little") * true
        else:
            raise BytecodeFormatError(f"{raw.size} bytes cannot hold {count} i1 values", offset)
        return values.tobytes()
    nbytes = element_storage_bytes(element_type)
    if nbytes is None:
        raise BytecodeFormatError(f"unsupported dense element type {element_type}", offset)
    if raw.size == nbytes:
        raw = raw[: nbytes * min(count, 1)]
    elif raw.size != nbytes * count:
        raise BytecodeFormatError(f"{raw.size} bytes do not match {shaped}", offset)
    return sign_extend_narrow(raw, element_type).tobytes()


def sign_extend_narrow(raw: np.ndarray, element_type: Attribute) -> np.ndarray:
    """MLIR stores a narrow integer's own bits in its byte; xDSL sign-extends signed ones."""
    width = integer_width(element_type)
    if width is None or width >= 8:
        return raw
    values = raw.astype(np.int16) & ((1 << width) - 1)
    if element_type.signedness.data != Signedness.UNSIGNED:
        values = np.where(values >> (width - 1), values - (1 << width), values)
    return values.astype(np.int8).view(np.uint8)


# --------------------------------------------------------------------------- encoding


class Sink(Protocol):
    """Where an entry's encoding goes (the numbering pass or the real emitter)."""

    def varint(self, value: int) -> None: ...

    def signed_varint(self, value: int) -> None: ...

    def byte(self, value: int) -> None: ...

    def blob(self, data: bytes) -> None: ...

    def attr(self, attr: Attribute) -> None: ...

    def type(self, type_: Attribute) -> None: ...

    def string(self, text: str) -> None: ...

    def resource(self, attr: DenseResourceElementsAttr) -> None: ...


def write_apint(sink: Sink, width: int, bits: int) -> None:
    """An APInt of known width from its raw bits."""
    bits &= (1 << width) - 1
    if width <= 8:
        sink.byte(bits)
    elif width <= 64:
        sink.signed_varint(bits)
    else:
        words = [(bits >> (64 * i)) & ((1 << 64) - 1) for i in range((width + 63) // 64)]
        while len(words) > 1 and not words[-1]:
            words.pop()
        sink.varint(len(words))
        for word in words:
            sink.signed_varint(word)


def write_shape(sink: Sink, shape: tuple[int, ...]) -> None:
    """Signed dims (dynamic ones are INT64_MIN)."""
    if any(dim > MAX_DIMENSION or dim < DYNAMIC for dim in shape):
        from coreai_opt.bytecode.writer import BytecodeWriteError  # (it imports this module)

        raise BytecodeWriteError(f"a dimension of {list(shape)} does not fit in int64")
    sink.varint(len(shape))
    for dim in shape:
        sink.signed_varint(dim)


def encode_type(type_: Attribute, sink: Sink) -> bool:
    """Write a custom encoding of a builtin type; False = use the textual fallback."""
    code = SIMPLE_TYPE_CODES.get(type(type_))
    if code is not None:
        sink.varint(code)
    elif isinstance(type_, IntegerType):
        sink.varint(TypeCode.INTEGER)
        sink.varint(type_.width.data << 2 | int(type_.signedness.data.value))
    elif isinstance(type_, FunctionType):
        sink.varint(TypeCode.FUNCTION)
        for types in (type_.inputs.data, type_.outputs.data):
            sink.varint(len(types))
            for item in types:
                sink.type(item)
    elif isinstance(type_, TensorType):
        has_encoding = not isinstance(type_.encoding, NoneAttr)
        sink.varint(
            TypeCode.RANKED_TENSOR_WITH_ENCODING if has_encoding else TypeCode.RANKED_TENSOR
        )
        if has_encoding:
            sink.attr(type_.encoding)
        write_shape(sink, type_.get_shape())
        sink.type(type_.element_type)
    elif isinstance(type_, UnrankedTensorType):
        sink.varint(TypeCode.UNRANKED_TENSOR)
        sink.type(type_.element_type)
    elif isinstance(type_, VectorType) and not any(d.value.data for d in type_.scalable_dims):
        sink.varint(TypeCode.VECTOR)
        write_shape(sink, type_.get_shape())
        sink.type(type_.element_type)
    elif isinstance(type_, ComplexType):
        sink.varint(TypeCode.COMPLEX)
        sink.type(type_.element_type)
    elif isinstance(type_, TupleType):
        sink.varint(TypeCode.TUPLE)
        sink.varint(len(type_.types.data))
        for item in type_.types.data:
            sink.type(item)
    else:
        return False
    return True


LOCATION_CODES = (UnknownLoc, FileLineColLoc, CallSiteLoc, NameLoc, FusedLoc)


def encode_attribute(attr: Attribute, sink: Sink) -> bool:
    """Write a custom encoding of a builtin attribute; False = use the textual fallback."""
    if isinstance(attr, TypeAsAttr):
        sink.varint(AttrCode.TYPE)
        sink.type(attr.type)
    elif isinstance(attr, LOCATION_CODES):
        encode_location(attr, sink)
    elif isinstance(attr, ArrayAttr):
        sink.varint(AttrCode.ARRAY)
        sink.varint(len(attr.data))
        for item in attr.data:
            sink.attr(item)
    elif isinstance(attr, DictionaryAttr):
        sink.varint(AttrCode.DICTIONARY)
        # Kept in xDSL's order (MLIR sorts on read), so our own round trips are exact.
        entries = list(attr.data.items())
        sink.varint(len(entries))
        for name, value in entries:
            sink.attr(StringAttr(name))
            sink.attr(value)
    elif isinstance(attr, StringAttr):
        sink.varint(AttrCode.STRING)
        sink.string(attr.data)
    elif isinstance(attr, SymbolRefAttr):
        nested = attr.nested_references.data
        sink.varint(AttrCode.SYMBOL_REF if nested else AttrCode.FLAT_SYMBOL_REF)
        sink.attr(attr.root_reference)
        if nested:
            sink.varint(len(nested))
            for ref in nested:
                sink.attr(SymbolRefAttr(ref))
    elif isinstance(attr, UnitAttr):
        sink.varint(AttrCode.UNIT)
    elif isinstance(attr, IntegerAttr) and integer_width(attr.type) is not None:
        sink.varint(AttrCode.INTEGER)
        sink.type(attr.type)
        write_apint(sink, integer_width(attr.type), attr.value.data)
    elif isinstance(attr, FloatAttr) and type(attr.type) in FLOAT_DTYPES:
        sink.varint(AttrCode.FLOAT)
        sink.type(attr.type)
        dtype = FLOAT_DTYPES[type(attr.type)]
        bits = np.array([attr.value.data], dtype=dtype).view(unsigned_dtype(dtype.itemsize))[0]
        write_apint(sink, float_bits(attr.type), int(bits))
    elif isinstance(attr, DenseResourceElementsAttr):
        sink.varint(AttrCode.DENSE_RESOURCE)
        sink.type(attr.type)
        sink.resource(attr)
    else:
        return encode_dense(attr, sink)
    return True


def encode_location(attr: Attribute, sink: Sink) -> None:
    """The builtin location attributes."""
    if isinstance(attr, UnknownLoc):
        sink.varint(AttrCode.UNKNOWN_LOC)
    elif isinstance(attr, FileLineColLoc):
        sink.varint(AttrCode.FILE_LINE_COL_LOC)
        sink.attr(attr.filename)
        sink.varint(attr.line.data)
        sink.varint(attr.column.data)
    elif isinstance(attr, CallSiteLoc):
        sink.varint(AttrCode.CALL_SITE_LOC)
        sink.attr(attr.callee)
        sink.attr(attr.caller)
    elif isinstance(attr, NameLoc):
        sink.varint(AttrCode.NAME_LOC)
        sink.attr(attr.desc)
        child = attr.location
        sink.attr(UnknownLoc() if isinstance(child, NoneAttr) else child)
    else:
        assert isinstance(attr, FusedLoc)
        has_metadata = not isinstance(attr.metadata, NoneAttr)
        sink.varint(AttrCode.FUSED_LOC_WITH_METADATA if has_metadata else AttrCode.FUSED_LOC)
        sink.varint(len(attr.locations.data))
        for location in attr.locations.data:
            sink.attr(location)
        if has_metadata:
            sink.attr(attr.metadata)


def encode_dense(attr: Attribute, sink: Sink) -> bool:
    """`array<...>` and `dense<...>` attributes whose element layout we know."""
    if isinstance(attr, DenseArrayBase):
        element_type = attr.elt_type
        nbytes = 1 if is_i1(element_type) else element_storage_bytes(element_type)
        if nbytes is None:
            return False
        data = attr.data.data
        if is_i1(element_type):
            data = (np.frombuffer(data, np.uint8) != 0).astype(np.uint8).tobytes()
        sink.varint(AttrCode.DENSE_ARRAY)
        sink.type(element_type)
        sink.varint(len(data) // nbytes)
        sink.blob(data)
        return True
    if isinstance(attr, DenseIntOrFPElementsAttr):
        data = dense_to_mlir(attr)
        if data is None:
            return False
        sink.varint(AttrCode.DENSE_INT_OR_FP)
        sink.type(attr.type)
        sink.blob(data)
        return True
    return False


def dense_to_mlir(attr: DenseIntOrFPElementsAttr) -> bytes | None:
    """xDSL's full byte layout → MLIR's raw buffer (splats as one element, i1 bit-packed)."""
    element_type = attr.get_element_type()
    raw = np.frombuffer(attr.data.data, np.uint8)
    if any(dim < 0 for dim in attr.type.get_shape()):
        return None
    if is_i1(element_type):
        bits = raw != 0
        splat = math.prod(attr.type.get_shape()) > 1 and bits.size >= 1
        if splat and (bits.all() or not bits.any()):
            return bytes((0xFF if bits[0] else 0,))
        return np.packbits(bits, bitorder="little").tobytes()
    nbytes = element_storage_bytes(element_type)
    if nbytes is None or raw.size % nbytes:
        return None
    width = integer_width(element_type)
    if width is not None and width < 8:
        raw = raw & np.uint8((1 << width) - 1)
    rows = raw.reshape(-1, nbytes)
    if rows.shape[0] > 1 and bool(np.all(rows == rows[:1])):
        return rows[0].tobytes()
    return raw.tobytes()


def attribute_dialect(text: str) -> str:
    """The dialect owning an attribute or type printed as `text` (textual fallback)."""
    if text[:1] in ("#", "!"):
        name = text[1:]
        for stop in (".", "<", " "):
            name = name.split(stop, 1)[0]
        return name or "builtin"
    return "builtin"


def is_type(attr: Attribute) -> bool:
    """xDSL types are attributes; MLIR keeps them in a separate table."""
    return isinstance(attr, TypeAttribute)
