"""Block-wise weight quantization (integer, FP8, MX formats) and its reference dequantization.

Block semantics (those of ``coreai.blockwise_shift_scale``): a *block shape* has one entry per
weight axis, ``0`` meaning the whole axis and ``b > 0`` a block of ``b`` consecutive elements
along that axis. Parameter arrays (scale, offsets) have the weight's rank and shape
``dim // block`` per axis (``1`` for a whole-axis block); each parameter element covers
``dim / param_dim`` consecutive elements along every axis.

Large weights are processed in chunks of rows (axis 0) converted once to float32, so no
float32 copy of a whole tensor is ever made. When a block spans all of axis 0 the parameters
are first reduced chunk by chunk and the weight is quantized in a second pass.
"""

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from coreai_opt.numerics.finite import (
    NonFiniteWeightError,
    float_info,
    is_weight_dtype,
    ml_dtype,
)

# Elements per chunk: large enough to amortise numpy call overhead, small enough that the
# float32 temporaries of a chunk stay in cache.
CHUNK_ELEMENTS = 1 << 17
# Blocks along the last axis up to this size are reduced position by position.
_STRIDED_MAX_BLOCK = 64
# Chunks are independent and write disjoint output slices, so results do not depend on this.
NUM_THREADS = 2

FP4_EMAX = 2
_E8M0_BIAS = 127
# ml_dtypes costs ~0.9 s to import (most of a short run's start-up), so its types are looked
# up by name and the module is imported only when one of them is really used.
_FP8_EMAX_BY_NAME = {"float8_e4m3fn": 8, "float8_e5m2": 15}


def _is_fp8(dtype: np.dtype) -> bool:
    return dtype.name in _FP8_EMAX_BY_NAME


@dataclass(frozen=True)
class QuantizedTensor:
    """Quantized data with block-wise scale, ``offset1`` (zero point) and optional float
    ``offset2``, parameter shaped."""

    data: np.ndarray
    scale: np.ndarray
    offset: np.ndarray
    offset2: np.ndarray | None = None

    def dequantize(self, out_dtype: npt.DTypeLike) -> np.ndarray:
        """Reconstruct the weight as ``(data - offset) * scale + offset2`` in ``out_dtype``."""
        return dequantize_blockwise(self.data, self.scale, self.offset, self.offset2, out_dtype)


# --------------------------------------------------------------------------- block layout


@dataclass(frozen=True)
class _Blocking:
    """Resolved block layout of a tensor shape against a parameter shape."""

    shape: tuple[int, ...]
    param_shape: tuple[int, ...]

    @property
    def blocks(self) -> tuple[int, ...]:
        return tuple(d // p for d, p in zip(self.shape, self.param_shape, strict=True))

    @property
    def reduce_axes(self) -> tuple[int, ...]:
        return tuple(range(1, 2 * len(self.shape), 2))

    def blocked(self, rows: np.ndarray) -> np.ndarray:
        """View a chunk from :meth:`row_chunks` as ``(p0, b0, p1, b1, ...)``."""
        block_rows = min(rows.shape[0], self.blocks[0])
        interleaved = [rows.shape[0] // block_rows, block_rows]
        for p, b in zip(self.param_shape[1:], self.blocks[1:], strict=True):
            interleaved += [p, b]
        return rows.reshape(interleaved)

    def broadcastable(self, params: np.ndarray) -> np.ndarray:
        """View parameters as ``(p0, 1, p1, 1, ...)`` to broadcast against :meth:`blocked`."""
        return params.reshape([n for p in params.shape for n in (p, 1)])

    def param_rows(self, rows: slice) -> slice:
        """Parameter rows used by a chunk from :meth:`row_chunks`."""
        first = rows.start // self.blocks[0]
        return slice(first, first + max(1, (rows.stop - rows.start) // self.blocks[0]))

    def row_chunks(self, whole_blocks: bool) -> list[slice]:
        """Slices of axis 0 of about CHUNK_ELEMENTS elements.

        A chunk is either a run of whole axis-0 blocks or lies inside one block; with
        ``whole_blocks`` it is always whole blocks, however large.
        """
        n_rows, block_rows = self.shape[0], self.blocks[0]
        row_elements = max(1, int(np.prod(self.shape[1:], dtype=np.int64)))
        step = max(1, CHUNK_ELEMENTS // row_elements)
        if whole_blocks or step >= block_rows:
            step = max(block_rows, step - step % block_rows)
            return [slice(r, min(r + step, n_rows)) for r in range(0, n_rows, step)]
        return [
            slice(r, min(r + step, start + block_rows))
            for start in range(0, n_rows, block_rows)
            for r in range(start, start + block_rows, step)
        ]


def parameter_shape(shape: Sequence[int], block_shape: Sequence[int]) -> tuple[int, ...]:
    """Parameter shape for ``block_shape`` (0 = whole axis); ValueError if a block misfits."""
    if len(block_shape) != len(shape):
        raise ValueError(
            f"block shape {tuple(block_shape)} has {len(block_shape)} entries, "
            f"the weight has rank {len(shape)}"
        )
    params = []
    for axis, (dim, block) in enumerate(zip(shape, block_shape, strict=True)):
        if block < 0:
            raise ValueError(f"block size {block} along axis {axis} must be >= 0")
        if block == 0:
            params.append(1)
        elif dim % block != 0:
            raise ValueError(
                f"block size {block} along axis {axis} does not divide dimension {dim}"
            )
        else:
            params.append(dim // block)
    return tuple(params)


def _blocking_for(shape: Sequence[int], param_shape: Sequence[int]) -> _Blocking:
    """Validate a parameter shape against a data shape (blockwise_shift_scale rule)."""
    if len(param_shape) != len(shape):
        raise ValueError(
            f"parameter shape {tuple(param_shape)} must have the rank of data shape {tuple(shape)}"
        )
    for axis, (dim, p) in enumerate(zip(shape, param_shape, strict=True)):
        if p <= 0 or dim % p != 0:
            raise ValueError(
                f"parameter dimension {p} along axis {axis} does not divide data dimension {dim}"
            )
    return _Blocking(tuple(shape), tuple(param_shape))


def expand_blockwise(params: np.ndarray, data_shape: Sequence[int]) -> np.ndarray:
    """Materialise parameters at full ``data_shape`` by block-wise repetition."""
    blocking = _blocking_for(data_shape, params.shape)
    interleaved = [n for p, b in zip(params.shape, blocking.blocks, strict=True) for n in (p, b)]
    expanded = np.broadcast_to(blocking.broadcastable(params), interleaved)
    return expanded.reshape(tuple(data_shape))


def _map_chunks(work: Callable[[slice], object], chunks: Sequence[slice]) -> list[object]:
    """Run ``work`` over chunks, on a small thread pool when there are several."""
    if NUM_THREADS <= 1 or len(chunks) <= 1:
        return [work(chunk) for chunk in chunks]
    with ThreadPoolExecutor(max_workers=NUM_THREADS) as pool:
        return list(pool.map(work, chunks))


# --------------------------------------------------------------------------- generic engine


def _compute_dtype(dtype: np.dtype) -> np.dtype:
    return np.dtype(np.float64 if dtype == np.float64 else np.float32)


def _check_weight(weight: np.ndarray) -> None:
    if not is_weight_dtype(weight.dtype):
        raise ValueError(
            f"weight dtype must be one of float16, bfloat16, float32, float64; got {weight.dtype}"
        )


@dataclass(frozen=True)
class _Codec:
    """How to derive block parameters from block ranges, and the code range of the data.

    ``derive(lo, hi)`` maps per-block minima/maxima (compute dtype) to the stored (scale,
    zero point). Encoding is ``clip(round?(x / divisor) + zero_point, low, high)`` cast to
    ``data_dtype`` (see :func:`quantize_with_qparams`).
    """

    data_dtype: np.dtype
    symmetric: bool
    derive: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
    low: float
    high: float
    round_to_integer: bool


def _reduce_blocks(blocked: np.ndarray, ufunc: np.ufunc, axes: tuple[int, ...]) -> np.ndarray:
    """Reduce each block of a ``(p0, b0, ..., pk, bk)`` view with ``ufunc`` (max or min)."""
    block, blocks_per_row = blocked.shape[-1], blocked.shape[-2]
    if 1 < block <= _STRIDED_MAX_BLOCK and blocks_per_row > 1:
        # numpy reduces many short contiguous runs slowly; combining the b-th element of
        # every block at once (one long strided loop per position) is several times faster.
        inner = blocked[..., 0].copy()
        for position in range(1, block):
            ufunc(inner, blocked[..., position], out=inner)
        return ufunc.reduce(inner, axis=axes[:-1])
    return ufunc.reduce(blocked, axis=axes)


def _block_range(
    blocked: np.ndarray, axes: tuple[int, ...], symmetric: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Per-block (min, max); symmetric schemes only need max|w|, returned as (-amax, amax)."""
    if symmetric:
        hi = _reduce_blocks(np.abs(blocked), np.maximum, axes)
        lo = -hi
    else:
        lo = _reduce_blocks(blocked, np.minimum, axes)
        hi = _reduce_blocks(blocked, np.maximum, axes)
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
        raise NonFiniteWeightError("weight contains NaN or Inf")
    return lo, hi


def _divisor(scale: np.ndarray, compute: np.dtype) -> np.ndarray:
    """What the data are divided by: the stored scale, or ``2^e`` for an E8M0 scale."""
    if scale.dtype.name == "float8_e8m0fnu":
        exponent = scale.view(np.uint8).astype(np.int32) - _E8M0_BIAS
        return np.ldexp(compute.type(1), exponent).astype(compute)
    return scale.astype(compute)


def _zero_point(offset: np.ndarray | None, compute: np.dtype) -> np.ndarray | None:
    """The zero point in the compute dtype, or None when every block's is zero."""
    if offset is None:
        return None
    converted = np.asarray(offset).astype(compute)
    return converted if converted.any() else None


def _encode(
    blocked: np.ndarray,
    divisor: np.ndarray,
    zero_point: np.ndarray | None,
    codec: _Codec,
    out: np.ndarray,
    offset2: np.ndarray | None = None,
) -> None:
    if offset2 is not None:
        blocked = blocked - offset2
    values = blocked / divisor
    if codec.round_to_integer:
        np.rint(values, out=values)
    if zero_point is not None:
        values += zero_point
    np.clip(values, codec.low, codec.high, out=values)
    np.copyto(out, values, casting="unsafe")


@dataclass(frozen=True)
class _Layout:
    """A weight (rank 0 viewed as rank 1), its blocking and its compute dtype."""

    weight: np.ndarray
    blocking: _Blocking
    compute: np.dtype

    def load(self, rows: slice) -> np.ndarray:
        """Rows of the weight in the compute dtype, viewed block-wise."""
        return self.blocking.blocked(np.asarray(self.weight[rows], dtype=self.compute, order="C"))


def _layout(weight: np.ndarray, param_shape: Sequence[int]) -> _Layout:
    """Check a weight and resolve its block layout against ``param_shape``."""
    _check_weight(weight)
    if weight.size == 0:
        raise ValueError(f"cannot quantize an empty weight of shape {weight.shape}")
    compute = _compute_dtype(weight.dtype)
    if weight.ndim == 0:
        return _Layout(weight.reshape(1), _Blocking((1,), (1,)), compute)
    return _Layout(weight, _blocking_for(weight.shape, param_shape), compute)


def _two_phase(blocking: _Blocking) -> bool:
    """Whether the blocks span all of axis 0 over several chunks (reduce first, then encode)."""
    return blocking.param_shape[0] == 1 and len(blocking.row_chunks(False)) > 1


def _choose_blockwise(
    weight: np.ndarray, block_shape: Sequence[int], codec: _Codec
) -> tuple[np.ndarray, np.ndarray]:
    """Stored (scale, zero point) of every block, from the block ranges, chunk by chunk."""
    _check_weight(weight)
    param_shape = parameter_shape(weight.shape, block_shape)
    layout = _layout(weight, param_shape)
    blocking, axes = layout.blocking, layout.blocking.reduce_axes
    if _two_phase(blocking):
        ranges = _map_chunks(
            lambda rows: _block_range(layout.load(rows), axes, codec.symmetric),
            blocking.row_chunks(False),
        )
        lo = np.minimum.reduce([r[0] for r in ranges])
        hi = np.maximum.reduce([r[1] for r in ranges])
        scale, offset = codec.derive(lo, hi)
    else:
        results = _map_chunks(
            lambda rows: codec.derive(*_block_range(layout.load(rows), axes, codec.symmetric)),
            blocking.row_chunks(True),
        )
        scale = np.concatenate([r[0] for r in results])
        offset = np.concatenate([r[1] for r in results])
    return scale.reshape(param_shape), offset.reshape(param_shape)


def _quantize_blockwise(
    weight: np.ndarray, block_shape: Sequence[int], codec: _Codec
) -> QuantizedTensor:
    """``quantize_with_qparams(weight, *choose(weight))``, fused chunk by chunk.

    When every chunk holds whole blocks, a chunk is loaded once: its parameters are chosen
    and its data encoded with them (the same arithmetic as the two public steps, so the
    same bytes). Otherwise the parameters are reduced over all chunks first.
    """
    _check_weight(weight)
    param_shape = parameter_shape(weight.shape, block_shape)
    layout = _layout(weight, param_shape)
    if _two_phase(layout.blocking):
        scale, offset = _choose_blockwise(weight, block_shape, codec)
        return _quantize_with(weight, scale, offset, codec, check_finite=False)
    blocking, compute = layout.blocking, layout.compute
    data = np.empty(weight.shape, dtype=codec.data_dtype)
    data_view = data.reshape(layout.weight.shape)

    def fused(rows: slice) -> tuple[np.ndarray, np.ndarray]:
        values = layout.load(rows)
        scale, offset = codec.derive(*_block_range(values, blocking.reduce_axes, codec.symmetric))
        divisor = blocking.broadcastable(_divisor(scale, compute))
        zero_point = _zero_point(offset, compute)
        if zero_point is not None:
            zero_point = blocking.broadcastable(zero_point)
        _encode(values, divisor, zero_point, codec, blocking.blocked(data_view[rows]))
        return scale, offset

    results = _map_chunks(fused, blocking.row_chunks(True))
    scale = np.concatenate([r[0] for r in results]).reshape(param_shape)
    offset = np.concatenate([r[1] for r in results]).reshape(param_shape)
    return QuantizedTensor(data, scale, offset)


def _quantize_with(
    weight: np.ndarray,
    scale: np.ndarray,
    offset: np.ndarray | None,
    codec: _Codec,
    check_finite: bool = True,
    offset2: np.ndarray | None = None,
) -> QuantizedTensor:
    """Encode ``weight`` with given block parameters, chunk by chunk along axis 0."""
    layout = _layout(weight, scale.shape if weight.ndim else (1,))
    blocking, compute = layout.blocking, layout.compute
    divisor_all = _divisor(scale.reshape(blocking.param_shape), compute)
    if not (np.isfinite(divisor_all).all() and (divisor_all > 0).all()):
        raise ValueError("scales must be positive and finite")
    offset_all = None if offset is None else np.asarray(offset).reshape(blocking.param_shape)
    zero_point_all = _zero_point(offset_all, compute)
    offset2_all = None
    if offset2 is not None:
        offset2_all = _zero_point(np.asarray(offset2).reshape(blocking.param_shape), compute)
    data = np.empty(weight.shape, dtype=codec.data_dtype)
    data_view = data.reshape(layout.weight.shape)

    def work(rows: slice) -> None:
        params = blocking.param_rows(rows)
        divisor = blocking.broadcastable(divisor_all[params])
        zero_point = None
        if zero_point_all is not None:
            zero_point = blocking.broadcastable(zero_point_all[params])
        values = layout.load(rows)
        if check_finite and not np.isfinite(values).all():
            raise NonFiniteWeightError("weight contains NaN or Inf")
        shift = None
        if offset2_all is not None:
            shift = blocking.broadcastable(offset2_all[params])
        _encode(values, divisor, zero_point, codec, blocking.blocked(data_view[rows]), shift)

    _map_chunks(work, blocking.row_chunks(False))
    if offset is None:
        offset = np.zeros(scale.shape, dtype=codec.data_dtype)
    offset = np.asarray(offset).astype(codec.data_dtype)
    return QuantizedTensor(data, scale, offset, None if offset2 is None else np.asarray(offset2))


def quantize_with_qparams(
    weight: np.ndarray,
    scale: np.ndarray,
    zero_point: np.ndarray | None,
    dtype: npt.DTypeLike,
    quant_min: float | None = None,
    quant_max: float | None = None,
    offset2: np.ndarray | None = None,
) -> QuantizedTensor:
    """Quantize ``weight`` with given block parameters (chosen here or elsewhere).

    ``scale`` (and ``zero_point``, None for zeros) have the weight's rank, each element
    covering one block (the shape gives the block layout, as for ``blockwise_shift_scale``).
    ``dtype`` is the data dtype: ``int8``/``uint8`` (codes rounded half to even and clipped
    to ``[quant_min, quant_max]``, default the dtype's whole range; use
    :func:`integer_range` for narrower codes), or an FP8/FP4 format (values rounded by the
    format, saturated at its largest finite value). An ``E8M0`` scale divides by its power
    of two. A float ``offset2`` (scale shaped) is subtracted before dividing. The result
    dequantizes as ``(data - zero_point) * scale + offset2``.
    """
    data_dtype = np.dtype(dtype)
    if data_dtype in (np.dtype(np.int8), np.dtype(np.uint8)):
        info = np.iinfo(data_dtype)
        low = float(info.min if quant_min is None else quant_min)
        high = float(info.max if quant_max is None else quant_max)
        if not info.min <= low <= high <= info.max:
            raise ValueError(f"code range [{low:g}, {high:g}] does not fit {data_dtype}")
        codec = _Codec(data_dtype, True, _no_derive, low, high, round_to_integer=True)
    elif _is_fp8(data_dtype) or data_dtype.name == "float4_e2m1fn":
        top = _max_finite(data_dtype)
        low = -top if quant_min is None else max(-top, quant_min)
        high = top if quant_max is None else min(top, quant_max)
        codec = _Codec(data_dtype, True, _no_derive, low, high, round_to_integer=False)
    else:
        raise ValueError(f"dtype must be int8, uint8, an FP8 or the FP4 format, got {data_dtype}")
    if weight.ndim and scale.ndim != weight.ndim:
        raise ValueError(f"scale rank {scale.ndim} differs from weight rank {weight.ndim}")
    if zero_point is not None and np.shape(zero_point) != scale.shape:
        raise ValueError(
            f"zero point shape {np.shape(zero_point)} differs from scale shape {scale.shape}"
        )
    if offset2 is not None and np.shape(offset2) != scale.shape:
        raise ValueError(
            f"offset2 shape {np.shape(offset2)} differs from scale shape {scale.shape}"
        )
    return _quantize_with(weight, scale, zero_point, codec, offset2=offset2)


def _no_derive(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    raise AssertionError("parameters are given")  # pragma: no cover


def _store_scale(scale: np.ndarray, storage: np.dtype) -> np.ndarray:
    """Round float64 scales to ``storage``: zero ranges give 1, underflow the smallest normal."""
    scale = np.where(scale == 0, 1.0, scale)
    scale = np.maximum(scale, float(float_info(storage).tiny))
    return scale.astype(storage)


def _next_below(values: np.ndarray) -> np.ndarray:
    """The next representable value towards zero of positive finite floats (any float dtype)."""
    bits = np.dtype(f"u{values.dtype.itemsize}")
    return (values.view(bits) - bits.type(1)).view(values.dtype)


def limit_scale(
    scale: np.ndarray, reach: float | np.ndarray, limit: float | np.ndarray | None = None
) -> np.ndarray:
    """Scales (positive, in their storage dtype) lowered until ``reach * scale <= limit``.

    ``reach`` is the largest ``|code - zero point|`` that a scale multiplies and ``limit``
    (default: the largest finite value of the scale's dtype) the largest magnitude the
    dequantized value may take, so every code dequantizes to a finite value. A scale that
    breaks the rule becomes the largest value of its dtype that keeps it; the others are
    returned unchanged (the same array when none changes). The products are exact in
    float64 for 16- and 32-bit scales; for float64 scales they are float64 products, i.e.
    what a float64 dequantization computes.
    """
    storage = scale.dtype
    top = _max_finite(storage) if limit is None else limit
    reach64 = np.asarray(reach, dtype=np.float64)
    with np.errstate(over="ignore"):  # a float64 product may overflow: that breaks the rule
        over = ~(scale.astype(np.float64) * reach64 <= top)
        if not over.any():
            return scale
        wanted = np.broadcast_to(np.asarray(top, dtype=np.float64) / reach64, scale.shape)
        lowered = np.minimum(wanted[over].astype(storage), scale[over])
        reach_over = np.broadcast_to(reach64, scale.shape)[over]
        top_over = np.broadcast_to(np.asarray(top, dtype=np.float64), scale.shape)[over]
        while True:
            still = ~(lowered.astype(np.float64) * reach_over <= top_over)
            if not still.any():
                break
            lowered[still] = _next_below(lowered[still])
    out = scale.copy()
    out[over] = lowered
    return out


# --------------------------------------------------------------------------- integer


def integer_range(n_bits: int, signed: bool, symmetric: bool) -> tuple[int, int]:
    """Smallest and largest code of an ``n_bits`` integer quantization scheme."""
    if not 2 <= n_bits <= 8:
        raise ValueError(f"n_bits must be in [2, 8], got {n_bits}")
    if signed:
        high = 2 ** (n_bits - 1) - 1
        return (-high if symmetric else -high - 1), high
    return 0, (2**n_bits - 2 if symmetric else 2**n_bits - 1)


def symmetric_zero_point(n_bits: int, signed: bool) -> int:
    """Zero point of symmetric quantization: 0 signed, ``2^(b-1) - 1`` unsigned."""
    return 0 if signed else 2 ** (n_bits - 1) - 1


def _integer_codec(n_bits: int, signed: bool, symmetric: bool, storage: np.dtype) -> _Codec:
    qmin, qmax = integer_range(n_bits, signed, symmetric)
    data_dtype = np.dtype(np.int8 if signed else np.uint8)

    reach = 2 ** (n_bits - 1) - 1  # largest |code - zero point| of symmetric codes

    def derive_symmetric(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        amax = np.maximum(-lo.astype(np.float64), hi)
        scale = limit_scale(_store_scale(amax / reach, storage), reach)
        zp = symmetric_zero_point(n_bits, signed)
        return scale, np.full(scale.shape, zp, dtype=data_dtype)

    def derive_asymmetric(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lo = np.minimum(lo.astype(np.float64), 0.0)
        hi = np.maximum(hi.astype(np.float64), 0.0)
        scale = _store_scale((hi - lo) / (qmax - qmin), storage)
        scale, zp = _finite_asymmetric(scale, lo, hi, qmin, qmax)
        return scale, zp.astype(data_dtype)

    derive = derive_symmetric if symmetric else derive_asymmetric
    return _Codec(data_dtype, symmetric, derive, qmin, qmax, round_to_integer=True)


def _asymmetric_zero_point(scale: np.ndarray, lo: np.ndarray, qmin: int, qmax: int) -> np.ndarray:
    return np.clip(np.rint(qmin - lo / scale.astype(np.float64)), qmin, qmax)


def _finite_asymmetric(
    scale: np.ndarray, lo: np.ndarray, hi: np.ndarray, qmin: int, qmax: int
) -> tuple[np.ndarray, np.ndarray]:
    """Stored scales and zero points such that every code in [qmin, qmax] dequantizes finite.

    Blocks whose usual (scale, zero point) already obey the rule keep them. The others (a
    block's range reaching within a step of the type's maximum) choose both together: with
    ``a = zp - qmin`` codes below zero and ``b = qmax - zp`` above, the scale must cover
    ``-lo / a`` and ``hi / b`` and may not exceed ``max / max(a, b)``; of the two integer
    splits next to the ideal ``a = (qmax - qmin) * -lo / (hi - lo)``, the one clipping least.
    """
    zp = _asymmetric_zero_point(scale, lo, qmin, qmax)
    over = ~(
        scale.astype(np.float64) * np.maximum(zp - qmin, qmax - zp) <= _max_finite(scale.dtype)
    )
    if not over.any():
        return scale, zp
    fitted_scale, fitted_zp = _fit_at_the_maximum(lo[over], hi[over], qmin, qmax, scale.dtype)
    scale, zp = scale.copy(), zp.copy()
    scale[over], zp[over] = fitted_scale, fitted_zp
    return scale, zp


def _fit_at_the_maximum(
    lo: np.ndarray, hi: np.ndarray, qmin: int, qmax: int, storage: np.dtype
) -> tuple[np.ndarray, np.ndarray]:
    """(scale, zero point) of blocks whose usual choice breaks the rule (see above)."""
    steps = qmax - qmin
    ideal = steps * -lo / (hi - lo)
    best_error = np.full(lo.shape, np.inf)
    best_scale = np.zeros(lo.shape, dtype=storage)
    best_below = np.zeros(lo.shape)
    for below in (np.floor(ideal), np.ceil(ideal)):
        below = np.clip(below, 0, steps)
        above = steps - below
        with np.errstate(divide="ignore", invalid="ignore"):
            cover = np.maximum(
                np.where(below > 0, -lo / below, np.where(lo < 0, np.inf, 0.0)),
                np.where(above > 0, hi / above, np.where(hi > 0, np.inf, 0.0)),
            )
        reach = np.maximum(below, above)
        wanted = np.minimum(cover, _max_finite(storage) / reach)
        stored = limit_scale(wanted.astype(storage), reach)
        step = stored.astype(np.float64)
        clipped = np.maximum(
            np.maximum(-lo - below * step, 0.0), np.maximum(hi - above * step, 0.0)
        )
        error = clipped + step / 2
        better = error < best_error
        best_error = np.where(better, error, best_error)
        best_scale = np.where(better, stored, best_scale)
        best_below = np.where(better, below, best_below)
    return best_scale, qmin + best_below


def choose_qparams_int(
    weight: np.ndarray, n_bits: int, signed: bool, symmetric: bool, block_shape: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Min/max (scale, zero point) per block of integer quantization, as stored.

    The scale has the weight's float dtype (already rounded to it), the zero point the
    data dtype (``int8`` signed, ``uint8`` unsigned); both are parameter shaped.
    """
    _check_weight(weight)
    codec = _integer_codec(n_bits, signed, symmetric, weight.dtype)
    return _choose_blockwise(weight, block_shape, codec)


def quantize_int(
    weight: np.ndarray, n_bits: int, signed: bool, symmetric: bool, block_shape: Sequence[int]
) -> QuantizedTensor:
    """Integer block-wise quantization, round half to even, with the stored scale.

    Equal to ``quantize_with_qparams(weight, *choose_qparams_int(...), int8/uint8,
    *integer_range(...))``, computed in one pass over the weight where it can.
    """
    _check_weight(weight)
    codec = _integer_codec(n_bits, signed, symmetric, weight.dtype)
    return _quantize_blockwise(weight, block_shape, codec)


# --------------------------------------------------------------------------- floating point


def _max_finite(dtype: np.dtype) -> float:
    return float(float_info(dtype).max)


def _scaled_float_codec(element: np.dtype, storage: np.dtype) -> _Codec:
    """Per-block float scale ``amax / max_finite(element)`` stored in the weight dtype."""
    max_finite = _max_finite(element)

    def derive(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        amax = np.maximum(-lo.astype(np.float64), hi)
        scale = limit_scale(_store_scale(amax / max_finite, storage), max_finite)
        return scale, np.zeros(scale.shape, dtype=element)

    return _Codec(element, True, derive, -max_finite, max_finite, round_to_integer=False)


def _mx_codec(element: np.dtype, emax_element: int, storage: np.dtype) -> _Codec:
    """OCP MX: shared exponent ``floor(log2(amax)) - emax_element`` stored as E8M0.

    Never overflows: with ``amax`` in ``[2^E, 2^(E+1))`` the largest dequantized value is
    ``max_finite(element) * 2^(E - emax_element)``, at most ``1.75 * 2^E``, and every weight
    dtype's maximum exceeds ``1.99 * 2^E`` for any exponent E of its finite values.
    """
    max_finite = _max_finite(element)

    def derive(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        amax = np.maximum(-lo, hi)
        # frexp gives amax = m * 2^e with m in [0.5, 1): floor(log2(amax)) = e - 1, exactly.
        exponent = np.frexp(amax)[1].astype(np.int32) - 1 - emax_element
        exponent = np.where(amax == 0, 0, np.clip(exponent, -_E8M0_BIAS, _E8M0_BIAS))
        scale = (exponent + _E8M0_BIAS).astype(np.uint8).view(ml_dtype("float8_e8m0fnu"))
        return scale, np.zeros(scale.shape, dtype=element)

    return _Codec(element, True, derive, -max_finite, max_finite, round_to_integer=False)


def _fp8_codec(weight: np.ndarray, fp8_dtype: npt.DTypeLike, mx: bool) -> _Codec:
    _check_weight(weight)
    element = np.dtype(fp8_dtype)
    if not _is_fp8(element):
        raise ValueError(f"fp8_dtype must be float8_e4m3fn or float8_e5m2, got {element}")
    if mx:
        return _mx_codec(element, _FP8_EMAX_BY_NAME[element.name], weight.dtype)
    return _scaled_float_codec(element, weight.dtype)


def choose_qparams_fp8(
    weight: np.ndarray, fp8_dtype: npt.DTypeLike, block_shape: Sequence[int], mx: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Per-block (scale, zero point) of FP8: ``amax / max_finite`` in the weight's dtype, or
    with ``mx`` the OCP power of two as ``E8M0``; the zero point is float zero."""
    return _choose_blockwise(weight, block_shape, _fp8_codec(weight, fp8_dtype, mx))


def quantize_fp8(
    weight: np.ndarray, fp8_dtype: npt.DTypeLike, block_shape: Sequence[int], mx: bool
) -> QuantizedTensor:
    """FP8 (E4M3FN / E5M2) quantization; ``mx`` selects power-of-two E8M0 scales.

    Equal to ``quantize_with_qparams(weight, *choose_qparams_fp8(...), fp8_dtype)``.
    """
    return _quantize_blockwise(weight, block_shape, _fp8_codec(weight, fp8_dtype, mx))


def choose_qparams_mxfp4(
    weight: np.ndarray, block_shape: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Per-block OCP MXFP4 parameters: ``E8M0`` scale and float zero point."""
    _check_weight(weight)
    codec = _mx_codec(ml_dtype("float4_e2m1fn"), FP4_EMAX, weight.dtype)
    return _choose_blockwise(weight, block_shape, codec)


def quantize_mxfp4(weight: np.ndarray, block_shape: Sequence[int]) -> QuantizedTensor:
    """MXFP4: E2M1 elements with E8M0 block scales (OCP procedure).

    Equal to ``quantize_with_qparams(weight, *choose_qparams_mxfp4(...), float4_e2m1fn)``.
    """
    _check_weight(weight)
    return _quantize_blockwise(
        weight, block_shape, _mx_codec(ml_dtype("float4_e2m1fn"), FP4_EMAX, weight.dtype)
    )


# --------------------------------------------------------------------------- dequantization


def dequantize_blockwise(
    data: np.ndarray,
    scale: np.ndarray,
    offset1: np.ndarray | None,
    offset2: np.ndarray | None,
    out_dtype: npt.DTypeLike,
) -> np.ndarray:
    """Reference ``coreai.blockwise_shift_scale``: ``(data - offset1) * scale + offset2``.

    Parameters broadcast block-wise. Computed in float32 (float64 for a float32/float64
    result) and rounded once to ``out_dtype``; ``None`` offsets mean zeros.
    """
    out_dtype = np.dtype(out_dtype)
    for name, param in (("offset1", offset1), ("offset2", offset2)):
        if param is not None and param.shape != scale.shape:
            raise ValueError(f"{name} shape {param.shape} differs from scale shape {scale.shape}")
    if data.ndim == 0:
        params = (p if p is None else p.reshape(1) for p in (scale, offset1, offset2))
        return dequantize_blockwise(data.reshape(1), *params, out_dtype).reshape(())
    blocking = _blocking_for(data.shape, scale.shape)
    compute = np.dtype(np.float64 if out_dtype.itemsize >= 4 else np.float32)
    out = np.empty(data.shape, dtype=out_dtype)
    if data.size == 0:
        return out

    def nonzero_offset(param: np.ndarray | None) -> np.ndarray | None:
        if param is None:
            return None
        converted = np.asarray(param, dtype=compute)
        return converted if converted.any() else None

    scale_c = np.asarray(scale, dtype=compute)
    offset1_c, offset2_c = nonzero_offset(offset1), nonzero_offset(offset2)

    def work(rows: slice) -> None:
        params = blocking.param_rows(rows)
        values = blocking.blocked(data[rows].astype(compute, order="C"))
        if offset1_c is not None:
            values -= blocking.broadcastable(offset1_c[params])
        values *= blocking.broadcastable(scale_c[params])
        if offset2_c is not None:
            values += blocking.broadcastable(offset2_c[params])
        np.copyto(blocking.blocked(out[rows]), values, casting="unsafe")

    _map_chunks(work, blocking.row_chunks(False))
    return out


def snr_db(original: np.ndarray, reconstructed: np.ndarray) -> float:
    """Signal-to-noise ratio ``10 log10(sum w^2 / sum (w - w_hat)^2)`` in float64."""
    if original.shape != reconstructed.shape:
        raise ValueError(f"shape mismatch: {original.shape} vs {reconstructed.shape}")
    flat_a, flat_b = original.reshape(-1), reconstructed.reshape(-1)
    signal = noise = 0.0
    for start in _flat_chunks(flat_a.size):
        a = flat_a[start].astype(np.float64)
        diff = a - flat_b[start].astype(np.float64)
        signal += float(np.dot(a, a))
        noise += float(np.dot(diff, diff))
    if noise == 0:
        return float("inf")
    if signal == 0:
        return float("-inf")
    return float(10 * np.log10(signal / noise))


def _flat_chunks(size: int) -> Iterable[slice]:
    return (slice(i, min(i + CHUNK_ELEMENTS, size)) for i in range(0, size, CHUNK_ELEMENTS))
