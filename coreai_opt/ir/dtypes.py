"""Mapping between MLIR element types and numpy dtypes (storage and compute)."""

from __future__ import annotations

import ml_dtypes
import numpy as np
from xdsl.dialects.builtin import (
    BFloat16Type,
    Float4E2M1FNType,
    Float6E2M3FNType,
    Float6E3M2FNType,
    Float8E3M4Type,
    Float8E4M3B11FNUZType,
    Float8E4M3FNType,
    Float8E4M3FNUZType,
    Float8E4M3Type,
    Float8E5M2FNUZType,
    Float8E5M2Type,
    Float8E8M0FNUType,
    Float16Type,
    Float32Type,
    Float64Type,
    IntegerType,
    Signedness,
)
from xdsl.ir import Attribute

FLOAT_DTYPES: dict[type[Attribute], np.dtype] = {
    # MLIR float element types and the numpy (ml_dtypes) type holding one element.
    Float16Type: np.dtype(np.float16),
    BFloat16Type: np.dtype(ml_dtypes.bfloat16),
    Float32Type: np.dtype(np.float32),
    Float64Type: np.dtype(np.float64),
    Float8E4M3FNType: np.dtype(ml_dtypes.float8_e4m3fn),
    Float8E5M2Type: np.dtype(ml_dtypes.float8_e5m2),
    Float8E8M0FNUType: np.dtype(ml_dtypes.float8_e8m0fnu),
    Float8E4M3Type: np.dtype(ml_dtypes.float8_e4m3),
    Float8E5M2FNUZType: np.dtype(ml_dtypes.float8_e5m2fnuz),
    Float8E4M3FNUZType: np.dtype(ml_dtypes.float8_e4m3fnuz),
    Float8E4M3B11FNUZType: np.dtype(ml_dtypes.float8_e4m3b11fnuz),
    Float8E3M4Type: np.dtype(ml_dtypes.float8_e3m4),
    Float6E2M3FNType: np.dtype(ml_dtypes.float6_e2m3fn),
    Float6E3M2FNType: np.dtype(ml_dtypes.float6_e3m2fn),
    Float4E2M1FNType: np.dtype(ml_dtypes.float4_e2m1fn),
}

_SUB_BYTE_FLOATS: dict[type[Attribute], int] = {Float4E2M1FNType: 4}


def is_float_type(element_type: Attribute) -> bool:
    """True for the float element types this tool can hold as numpy arrays."""
    return type(element_type) in FLOAT_DTYPES


def is_integer_type(element_type: Attribute) -> bool:
    """True for any MLIR integer type (signless, si or ui)."""
    return isinstance(element_type, IntegerType)


def bit_width(element_type: Attribute) -> int:
    """Width in bits of one element as stored (before packing)."""
    if isinstance(element_type, IntegerType):
        return element_type.width.data
    if type(element_type) in _SUB_BYTE_FLOATS:
        return _SUB_BYTE_FLOATS[type(element_type)]
    if type(element_type) in FLOAT_DTYPES:
        return FLOAT_DTYPES[type(element_type)].itemsize * 8
    raise ValueError(f"unsupported element type {element_type}")


def is_sub_byte(element_type: Attribute) -> bool:
    """True when elements are packed several per byte inside blobs (coreai-ir.md §5)."""
    return bit_width(element_type) < 8


def is_signed_integer(element_type: Attribute) -> bool:
    """True for si<N> and signless i<N> (two's complement); False for ui<N> and floats."""
    return isinstance(element_type, IntegerType) and (
        element_type.signedness.data != Signedness.UNSIGNED
    )


def numpy_dtype(element_type: Attribute) -> np.dtype:
    """The numpy dtype holding one unpacked element of `element_type`.

    Sub-byte integers unpack to int8/uint8; fp4 unpacks to ml_dtypes' float4_e2m1fn.
    """
    if type(element_type) in FLOAT_DTYPES:
        return FLOAT_DTYPES[type(element_type)]
    if isinstance(element_type, IntegerType):
        width = element_type.width.data
        signed = is_signed_integer(element_type)
        if width == 1 and element_type.signedness.data == Signedness.SIGNLESS:
            return np.dtype(np.bool_)
        for candidate in (8, 16, 32, 64):
            if width <= candidate:
                return np.dtype(f"{'i' if signed else 'u'}{candidate // 8}")
    raise ValueError(f"unsupported element type {element_type}")


def storage_nbytes(element_type: Attribute, count: int) -> int:
    """Bytes needed to store `count` elements in a blob (sub-byte types packed)."""
    width = bit_width(element_type)
    if width < 8:
        return (count * width + 7) // 8
    return count * (width // 8)


def float_type_for(dtype: np.dtype) -> Attribute:
    """The MLIR float type for a numpy float dtype."""
    for attr_type, candidate in FLOAT_DTYPES.items():
        if candidate == np.dtype(dtype):
            return attr_type()
    raise ValueError(f"no MLIR float type for numpy dtype {dtype}")


def integer_type(width: int, signed: bool) -> IntegerType:
    """`si<width>` or `ui<width>` (compression never creates signless integers)."""
    return IntegerType(width, Signedness.SIGNED if signed else Signedness.UNSIGNED)
