"""Runtime values of the executor and the element-type rules it computes with."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from xdsl.dialects.builtin import ComplexType, TensorType
from xdsl.ir import Attribute, Operation

from coreai_opt.errors import CoreAIError
from coreai_opt.numerics.finite import float16_to_float32


class InterpreterError(CoreAIError):
    """A program the executor cannot run, or inputs that do not fit it (one line, located)."""


class Token:
    """An ordering token (`!coreai.token`): carries no data."""

    def __repr__(self) -> str:
        return "Token()"


@dataclass(frozen=True)
class HandleRef:
    """A stateful buffer (`!coreai.handle<tensor<...>>`), named by its graph argument."""

    name: str
    tensor_type: TensorType


@dataclass
class SparseValue:
    """A `!coreai.sparse<...>` value: the non-zero values and their `ui1` mask."""

    values: np.ndarray
    mask: np.ndarray
    dense_type: TensorType = field(repr=False)


Value = np.ndarray | Token | HandleRef | SparseValue


def element_dtype(element_type: Attribute) -> np.dtype:
    """The numpy dtype holding one element of `element_type` (complex included)."""
    if isinstance(element_type, ComplexType):
        inner = element_dtype(element_type.element_type)
        return np.dtype(np.complex128 if inner.itemsize == 8 else np.complex64)
    from coreai_opt.ir.dtypes import numpy_dtype

    return numpy_dtype(element_type)


def tensor_dtype(tensor_type: Attribute) -> np.dtype:
    """The dtype of a ranked tensor type's elements."""
    assert isinstance(tensor_type, TensorType)
    return element_dtype(tensor_type.get_element_type())


def is_float(dtype: np.dtype) -> bool:
    """numpy floats and the ml_dtypes floats (bfloat16, float8_*, float4_*)."""
    return dtype.kind == "f" or (dtype.kind == "V" and dtype.names is None)


def compute_dtype(dtype: np.dtype) -> np.dtype:
    """The type a float op computes in: float32 for floats narrower than 32 bits.

    Each op rounds its result once to its result type, so an f16 program computes like
    hardware that evaluates every op in f32 and stores f16 (docs/interpreter.md).
    """
    if dtype.kind == "c":
        return dtype
    if is_float(dtype):
        return np.dtype(np.float64) if dtype == np.float64 else np.dtype(np.float32)
    return dtype


def as_compute(array: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """`array` converted to `dtype`'s compute type (no copy when it already is)."""
    array = np.asarray(array)
    compute = compute_dtype(dtype)
    if array.dtype == np.float16 and compute == np.float32:
        return float16_to_float32(array)  # numpy's own conversion is ~2.5x slower
    return array.astype(compute, copy=False)


def common_compute_dtype(*arrays: np.ndarray) -> np.dtype:
    """The dtype two operands of a comparison or mixed op are compared in."""
    dtypes = [compute_dtype(np.asarray(a).dtype) for a in arrays]
    return np.result_type(*dtypes)


def to_result(value: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """`value` rounded/converted to the op's result element type."""
    value = np.asarray(value)
    if value.dtype == dtype:
        return value
    with np.errstate(over="ignore", invalid="ignore"):
        return value.astype(dtype)


BLOCK_ELEMENTS = 1 << 16
"""Elementwise kernels that need temporaries work on blocks of this many elements."""


def by_blocks(function, x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """`function(x)` computed block by block into one result (temporaries stay block-sized)."""
    flat = x.reshape(-1)
    if flat.size <= BLOCK_ELEMENTS:
        return np.asarray(function(x)).astype(dtype, copy=False)
    out = np.empty(flat.size, dtype=dtype)
    for start in range(0, flat.size, BLOCK_ELEMENTS):
        out[start : start + BLOCK_ELEMENTS] = function(flat[start : start + BLOCK_ELEMENTS])
    return out.reshape(x.shape)


def by_rows(function, x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """`function(rows)` over blocks of rows of a 2-D array (temporaries stay block-sized)."""
    rows = max(1, BLOCK_ELEMENTS // max(1, x.shape[1]))
    out = np.empty(x.shape, dtype=dtype)
    for start in range(0, x.shape[0], rows):
        out[start : start + rows] = function(x[start : start + rows])
    return out


def format_type(tensor_type: Attribute) -> str:
    """The type as printed in IR."""
    return str(tensor_type)


def shape_matches(shape: tuple[int, ...], tensor_type: TensorType) -> bool:
    """Same rank and equal static dims (a dynamic dim matches any size)."""
    expected = tensor_type.get_shape()
    return len(shape) == len(expected) and all(
        e < 0 or e == s for s, e in zip(shape, expected, strict=True)
    )


def enum_value(op: Operation, name: str) -> str | None:
    """The keyword of an enum attribute: `mode = <constant>`, `#coreai.interpolation_mode<linear>`
    or a string attribute (the dialect's accessor)."""
    from coreai_opt.dialects.coreai import enum_value as dialect_enum_value

    return dialect_enum_value(op, name)
