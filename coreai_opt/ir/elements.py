"""Numpy views of elements attributes, and elements attributes built from numpy arrays."""

from __future__ import annotations

import numpy as np
from xdsl.dialects.builtin import BytesAttr, DenseIntOrFPElementsAttr, TensorType
from xdsl.ir import Attribute

from coreai_opt.dialects.resources import Blob, DenseResourceElementsAttr
from coreai_opt.ir.dtypes import (
    bit_width,
    is_signed_integer,
    is_sub_byte,
    numpy_dtype,
    storage_nbytes,
)

SMALL_LITERAL_LIMIT = 16
"""Arrays of at most this many elements are written as `dense<...>` literals."""


class ElidedWeightError(ValueError):
    """Raised when a weight's bytes are not available (an elided resource)."""


def element_count(tensor_type: TensorType) -> int:
    """Number of elements of a static tensor type."""
    return int(np.prod(tensor_type.get_shape(), dtype=np.int64))


def blob_to_array(blob: Blob, tensor_type: TensorType) -> np.ndarray:
    """Typed, shaped view (or unpacked copy for sub-byte types) of a blob's bytes."""
    element_type = tensor_type.get_element_type()
    shape = tuple(tensor_type.get_shape())
    count = element_count(tensor_type)
    expected = storage_nbytes(element_type, count)
    if blob.nbytes != expected:
        raise ValueError(f"resource holds {blob.nbytes} bytes but {tensor_type} needs {expected}")
    dtype = numpy_dtype(element_type)
    if is_sub_byte(element_type):
        from coreai_opt.numerics.packing import unpack_bits

        width = bit_width(element_type)
        signed = is_signed_integer(element_type)
        codes = unpack_bits(blob.data, width, count, signed)
        return codes.view(dtype).reshape(shape)
    return blob.data.view(dtype).reshape(shape)


def elements_array(attr: Attribute) -> np.ndarray:
    """The value of a `dense<...>` or `dense_resource<...>` attribute as a numpy array.

    Resource-backed arrays are read-only views of the blob (no copy) except for sub-byte
    element types, which are unpacked.
    """
    if isinstance(attr, DenseResourceElementsAttr):
        blob = attr.blob.data
        if blob is None:
            raise ElidedWeightError(
                f"the bytes of dense_resource<{attr.resource_handle.data}> are not available"
            )
        return blob_to_array(blob, attr.type)
    if isinstance(attr, DenseIntOrFPElementsAttr):
        tensor_type = attr.type
        dtype = numpy_dtype(tensor_type.get_element_type())
        raw = np.frombuffer(attr.data.data, dtype=np.uint8)
        count = element_count(tensor_type)
        if raw.size != count * dtype.itemsize:
            raise ValueError(f"dense literal holds {raw.size} bytes, {tensor_type} needs more")
        return raw.view(dtype).reshape(tuple(tensor_type.get_shape()))
    raise ValueError(f"not an elements attribute: {attr}")


def array_to_blob(array: np.ndarray, tensor_type: TensorType) -> Blob:
    """Pack (for sub-byte types) and wrap an array's bytes as a blob, without copying."""
    element_type = tensor_type.get_element_type()
    if is_sub_byte(element_type):
        from coreai_opt.numerics.packing import pack_bits

        codes = np.ascontiguousarray(array)
        if codes.dtype.kind not in "iu":
            codes = codes.view(np.uint8)
        return Blob(pack_bits(codes, bit_width(element_type)))
    expected = numpy_dtype(element_type)
    if array.dtype != expected:
        raise ValueError(f"array of dtype {array.dtype} cannot back {tensor_type}")
    return Blob(np.ascontiguousarray(array))


def make_elements_attr(array: np.ndarray, tensor_type: TensorType, key: str) -> Attribute:
    """An elements attribute holding `array` with type `tensor_type`.

    Small byte-addressable arrays become `dense<...>` literals (readable in tests); all
    others become `dense_resource<key>` blobs that share the array's memory.
    """
    element_type = tensor_type.get_element_type()
    literal = array.size <= SMALL_LITERAL_LIMIT and not is_sub_byte(element_type)
    splat = array.size > 0 and not is_float4(element_type) and is_splat(array)
    if literal or splat:
        expected = numpy_dtype(element_type)
        data = np.ascontiguousarray(array, dtype=expected).tobytes()
        return DenseIntOrFPElementsAttr(tensor_type, BytesAttr(data))
    return DenseResourceElementsAttr.create(key, tensor_type, array_to_blob(array, tensor_type))


def is_splat(array: np.ndarray) -> bool:
    """True when every element equals the first (bitwise)."""
    flat = array.reshape(-1)
    raw = flat.view(np.uint8).reshape(flat.size, -1) if flat.size else flat
    return bool(np.all(raw == raw[:1]))


def is_float4(element_type: Attribute) -> bool:
    """fp4 literals are not supported by xDSL's dense attribute; they always go to blobs."""
    return str(element_type) == "f4E2M1FN"


def stored_nbytes(attr: Attribute) -> int:
    """Bytes an elements attribute occupies when stored (packed; a splat counts once)."""
    tensor_type = attr.type
    count = element_count(tensor_type)
    if isinstance(attr, DenseIntOrFPElementsAttr) and count > 1 and is_splat(elements_array(attr)):
        count = 1
    return storage_nbytes(tensor_type.get_element_type(), count)
