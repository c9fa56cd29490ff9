"""Numpy views of elements attributes, and elements attributes built from numpy arrays."""

from __future__ import annotations

import math

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
SPLAT_SCAN_CHUNK = 1 << 22
"""Bytes compared at a time when checking whether a buffer is a splat (bounded scratch)."""


class ElidedWeightError(ValueError):
    """Raised when a weight's bytes are not available (an elided resource)."""


def element_count(tensor_type: TensorType) -> int:
    """Number of elements of a static tensor type (exact: no int64 overflow)."""
    return math.prod(tensor_type.get_shape())


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
        shape = tuple(tensor_type.get_shape())
        if raw.size == dtype.itemsize and count > 1:  # a splat, expanded only now
            return expand_splat(raw.view(dtype), shape)
        if raw.size != count * dtype.itemsize:
            raise ValueError(f"dense literal holds {raw.size} bytes, {tensor_type} needs more")
        return raw.view(dtype).reshape(shape)
    raise ValueError(f"not an elements attribute: {attr}")


def expand_splat(element: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A read-only contiguous array of `shape` filled bitwise with a one-element array.

    Only a pass that needs a splat's values calls this; parsing, printing and converting
    never do. (A broadcast view would save the memory but is a trap for numerics that
    reinterpret or reshape their input.)
    """
    values = np.broadcast_to(element, shape).copy()
    values.flags.writeable = False
    return values


def dense_attr(tensor_type: Attribute, raw: bytes) -> DenseIntOrFPElementsAttr:
    """A `dense<...>` attribute over `raw`, kept as its one element when it is a splat.

    xDSL holds every element of a dense attribute; a splat held whole would make a
    `dense<1.0> : tensor<16384x32768xf16>` (a few bytes of input) cost a gigabyte. A dense
    attribute holding one element for a larger type means "every element is this one", as
    in MLIR's own storage; `elements_array` expands it when a pass asks for the values.
    """
    itemsize = tensor_type.get_element_type().compile_time_size
    first = splat_element(raw, itemsize)
    return DenseIntOrFPElementsAttr(tensor_type, BytesAttr(raw if first is None else first))


def splat_element(raw: bytes, itemsize: int) -> bytes | None:
    """The first element of `raw` when it holds two or more bitwise-equal elements."""
    if itemsize <= 0 or len(raw) <= itemsize or len(raw) % itemsize:
        return None
    data = np.frombuffer(raw, np.uint8)
    step = max(itemsize, SPLAT_SCAN_CHUNK - SPLAT_SCAN_CHUNK % itemsize)
    for start in range(0, data.size - itemsize, step):  # periodic with period `itemsize`
        stop = min(start + step, data.size - itemsize)
        if not np.array_equal(data[start + itemsize : stop + itemsize], data[start:stop]):
            return None
    return bytes(raw[:itemsize])


def is_stored_splat(attr: DenseIntOrFPElementsAttr) -> bool:
    """True when a dense attribute stands for more elements than it holds (one, repeated)."""
    itemsize = attr.get_element_type().compile_time_size
    return len(attr.data.data) == itemsize and element_count(attr.type) > 1


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
        values = array[(0,) * array.ndim] if splat else array
        data = np.ascontiguousarray(values, dtype=expected).tobytes()
        return DenseIntOrFPElementsAttr(tensor_type, BytesAttr(data))
    return DenseResourceElementsAttr.create(key, tensor_type, array_to_blob(array, tensor_type))


def is_splat(array: np.ndarray) -> bool:
    """True when every element equals the first (bitwise)."""
    if array.size and not any(array.strides):  # one element broadcast (a stored splat)
        return True
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
    dense = isinstance(attr, DenseIntOrFPElementsAttr) and count > 1
    if dense and (is_stored_splat(attr) or is_splat(elements_array(attr))):
        count = 1
    return storage_nbytes(tensor_type.get_element_type(), count)
