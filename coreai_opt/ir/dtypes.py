"""Mapping between MLIR element types and numpy dtypes (storage and compute)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import ClassVar

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


class FloatDtypes(Mapping[type[Attribute], np.dtype]):
    """MLIR float element types → the numpy dtype holding one element.

    f16, f32 and f64 are numpy's own; the others come from ml_dtypes, which is imported only
    when one of them is looked up (importing it costs most of a short run's start-up).
    """

    NUMPY: ClassVar[dict[type[Attribute], str]] = {
        Float16Type: "float16",
        Float32Type: "float32",
        Float64Type: "float64",
    }
    ML_DTYPES: ClassVar[dict[type[Attribute], str]] = {
        BFloat16Type: "bfloat16",
        Float8E4M3FNType: "float8_e4m3fn",
        Float8E5M2Type: "float8_e5m2",
        Float8E8M0FNUType: "float8_e8m0fnu",
        Float8E4M3Type: "float8_e4m3",
        Float8E5M2FNUZType: "float8_e5m2fnuz",
        Float8E4M3FNUZType: "float8_e4m3fnuz",
        Float8E4M3B11FNUZType: "float8_e4m3b11fnuz",
        Float8E3M4Type: "float8_e3m4",
        Float6E2M3FNType: "float6_e2m3fn",
        Float6E3M2FNType: "float6_e3m2fn",
        Float4E2M1FNType: "float4_e2m1fn",
    }

    def __getitem__(self, key: type[Attribute]) -> np.dtype:
        if key in self.NUMPY:
            return np.dtype(self.NUMPY[key])
        import ml_dtypes

        return np.dtype(getattr(ml_dtypes, self.ML_DTYPES[key]))

    def __contains__(self, key: object) -> bool:
        return key in self.NUMPY or key in self.ML_DTYPES

    def __iter__(self) -> Iterator[type[Attribute]]:
        yield from self.NUMPY
        yield from self.ML_DTYPES

    def __len__(self) -> int:
        return len(self.NUMPY) + len(self.ML_DTYPES)


FLOAT_DTYPES = FloatDtypes()

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
    dtype = np.dtype(dtype)
    for attr_type, name in FloatDtypes.NUMPY.items():
        if dtype == np.dtype(name):
            return attr_type()
    for attr_type in FloatDtypes.ML_DTYPES:  # an ml_dtypes dtype: ml_dtypes is loaded already
        if dtype == FLOAT_DTYPES[attr_type]:
            return attr_type()
    raise ValueError(f"no MLIR float type for numpy dtype {dtype}")


def integer_type(width: int, signed: bool) -> IntegerType:
    """`si<width>` or `ui<width>` (compression never creates signless integers)."""
    return IntegerType(width, Signedness.SIGNED if signed else Signedness.UNSIGNED)
