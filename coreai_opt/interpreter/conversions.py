"""Type conversion, complex numbers, activation quantization and the weight decompression ops."""

from __future__ import annotations

import numpy as np
from xdsl.dialects.builtin import TensorType

from coreai_opt.interpreter.packed import PackedConstant, expand_by_slabs, group_rows, rows_of
from coreai_opt.interpreter.registry import Call, kernel
from coreai_opt.interpreter.values import SparseValue, compute_dtype, to_result


@kernel("coreai.cast")
def cast(call: Call) -> np.ndarray:
    """`cast %x : A to B`: numpy `astype` (floats round to nearest even, floats to integers
    truncate toward zero, non-zero to i1 is true)."""
    x = call.array(0)
    dtype = call.dtype()
    if dtype == np.bool_:
        return x != 0
    return to_result(x, dtype)


@kernel("coreai.create_complex")
def create_complex(call: Call) -> np.ndarray:
    """`create_complex %re, %im`: re + i im."""
    dtype = call.dtype()
    out = np.empty(np.broadcast_shapes(call.array(0).shape, call.array(1).shape), dtype=dtype)
    out.real, out.imag = call.array(0), call.array(1)
    return out


@kernel("coreai.real_part")
def real_part(call: Call) -> np.ndarray:
    """Real part of a complex tensor."""
    return np.real(call.array(0))


@kernel("coreai.imaginary_part")
def imaginary_part(call: Call) -> np.ndarray:
    """Imaginary part of a complex tensor."""
    return np.imag(call.array(0))


# --------------------------------------------------------------------------- quantization


def channel_view(param: np.ndarray, rank: int, axis: int) -> np.ndarray:
    """A per-tensor (one value) or per-channel (along `axis`) parameter, broadcastable."""
    if param.size == 1:
        return param.reshape(())
    shape = [1] * rank
    shape[axis] = param.size
    return param.reshape(shape)


def quantization_parameters(call: Call, rank: int):
    """(scale, zero_point, float offset, axis) of the 4- and 5-operand forms."""
    if len(call.args) == 4:
        scale, zero_point, axis_index = call.array(1), call.array(2), 3
        offset = None
    elif len(call.args) == 5:
        scale, zero_point, offset, axis_index = call.array(1), call.array(2), call.array(3), 4
    else:
        raise call.error("expects (x, scale, zero_point[, offset], axis)")
    per_channel = any(p is not None and p.size > 1 for p in (scale, zero_point, offset))
    axis = call.axis(axis_index, rank) if per_channel else 0  # per tensor: axis unused
    params = (scale, zero_point, offset)
    views = [None if p is None else channel_view(p, rank, axis) for p in params]
    return views[0], views[1], views[2]


def saturate(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Clamp to `dtype`'s range (integers) or largest finite value (floats, fp8)."""
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return np.clip(np.rint(values), info.min, info.max)
    import ml_dtypes

    largest = float(ml_dtypes.finfo(dtype).max)
    return np.clip(values, -largest, largest)


@kernel("coreai.quantize")
def quantize(call: Call) -> np.ndarray:
    """`quantize %x, %scale, %zero_point[, %offset], %axis`:
    q = saturate(round((x - offset) / scale) + zero_point), round half to even."""
    x = call.array(0)
    scale, zero_point, offset = quantization_parameters(call, x.ndim)
    work = x.astype(np.float32 if x.dtype.itemsize <= 4 else np.float64)
    if offset is not None:
        work = work - offset.astype(work.dtype)
    dtype = call.dtype()
    scaled = work / scale.astype(work.dtype)
    if dtype.kind in "iu":
        scaled = np.rint(scaled)
    return saturate(scaled + zero_point.astype(work.dtype), dtype)


@kernel("coreai.dequantize")
def dequantize(call: Call) -> np.ndarray:
    """`dequantize %q, %scale, %zero_point[, %offset], %axis`: (q - zero_point) * scale + offset."""
    q = call.array(0)
    scale, zero_point, offset = quantization_parameters(call, q.ndim)
    work_dtype = compute_dtype(call.dtype())
    out = (q.astype(work_dtype) - zero_point.astype(work_dtype)) * scale.astype(work_dtype)
    return out if offset is None else out + offset.astype(work_dtype)


# --------------------------------------------------------------------------- compression


@kernel("coreai.blockwise_shift_scale")
def blockwise_shift_scale(call: Call) -> np.ndarray:
    """`(data - offset1) * scale + offset2`, parameters broadcast block-wise (coreai-ir.md §2).

    Packed sub-byte data is unpacked and expanded a slab of rows at a time."""
    from coreai_opt.numerics.quantization import dequantize_blockwise

    data = call.args[0]
    scale, offset1, offset2 = (call.array(i) for i in (1, 2, 3))
    dtype = call.dtype()
    if not isinstance(data, PackedConstant):
        return dequantize_blockwise(call.array(0), scale, offset1, offset2, dtype)
    if scale.ndim != len(data.shape) or data.shape[0] % scale.shape[0]:
        return dequantize_blockwise(call.array(0), scale, offset1, offset2, dtype)
    per_block = group_rows(data.shape[0], scale.shape[0])

    def expand(codes: np.ndarray, start: int, stop: int) -> np.ndarray:
        params = (rows_of(p, start, stop, per_block) for p in (scale, offset1, offset2))
        return dequantize_blockwise(codes, *params, dtype)

    return expand_by_slabs(data, np.empty(data.shape, dtype), scale.shape[0], expand)


@kernel("coreai.lut_to_dense")
def lut_to_dense(call: Call) -> np.ndarray:
    """Each index selects an entry of its block's look-up table (coreai-ir.md §2).

    Packed sub-byte indices are unpacked and expanded a slab of rows at a time."""
    from coreai_opt.numerics.palettization import lut_to_dense as expand_lut

    indices, lut, axis = call.args[0], call.array(1), call.int(2)
    if not isinstance(indices, PackedConstant):
        return expand_lut(call.array(0), lut, axis)
    rank = len(indices.shape)
    vector = lut.shape[-1]
    along_rows = vector > 1 and axis % rank == 0
    if lut.ndim != rank + 2 or indices.shape[0] % lut.shape[0]:
        return expand_lut(call.array(0), lut, axis)
    per_block = group_rows(indices.shape[0], lut.shape[0])
    out = np.empty(call.result_type().get_shape(), dtype=lut.dtype)

    def expand(codes: np.ndarray, start: int, stop: int) -> np.ndarray:
        return expand_lut(codes, rows_of(lut, start, stop, per_block), axis)

    return expand_by_slabs(indices, out, lut.shape[0], expand, vector if along_rows else 1)


@kernel("coreai.build_sparse_with_bitmask")
def build_sparse(call: Call) -> SparseValue:
    """Pairs the non-zero values with their mask (expanded by sparse_with_bitmask_to_dense)."""
    result_type = call.op.results[0].type
    dense_type = getattr(result_type, "dense_type", None)
    if not isinstance(dense_type, TensorType):
        raise call.error(f"result must be a !coreai.sparse type, got {result_type}")
    return SparseValue(call.array(0).reshape(-1), call.array(1), dense_type)


@kernel("coreai.sparse_with_bitmask_to_dense")
def sparse_to_dense(call: Call) -> np.ndarray:
    """Values scattered in row-major order of the set mask bits, zero elsewhere."""
    from coreai_opt.numerics.pruning import dense_from_sparse

    sparse = call.args[0]
    if not isinstance(sparse, SparseValue):
        raise call.error("operand must come from coreai.build_sparse_with_bitmask")
    return dense_from_sparse(sparse.values, sparse.mask.astype(bool))
