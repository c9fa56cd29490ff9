"""Error-minimising quantization parameters (``algorithm=mse``), data-free.

For every block the search picks the parameters whose *dequantized* weights have the least
squared error against the original, evaluated as the encoder will quantize (stored scale,
round half to even, clipping). The round-to-nearest (min/max) parameters are always one of
the candidates, so no block ends up worse than with RTN.

- Integer, asymmetric: the offset is continuous, stored in the float ``offset2`` with a zero
  point of 0. From the block's own ``[min, max]``, least-squares refits (codes fixed, scale
  and offset in closed form), then "kicks" from the best so far (scale stretched, grid
  shifted), each refitted a few times.
- Integer, symmetric: RTN and clip ratios of ``max |w|``, each refitted once
  (``s = Σxc / Σc²``); the zero point stays fixed and ``offset2`` zero. The codes use the
  data type's whole range (``-2^(b-1)`` included), which RTN leaves unused.
- FP8 with a float scale: a few scale ratios. MX (FP8 and FP4): the OCP exponent or one
  below it (clipping the block's largest values), so scales stay powers of two.

All blocks of a chunk are searched at once in float32 (no per-block Python loop); chunks hold
about ``CHUNK_ELEMENTS`` weights and run on the quantizer's two threads; `quantize_int_mse`
encodes a chunk while it is in memory. Blocks spanning several chunks (per-tensor, large
groups) are searched on an evenly strided sample of their elements, then the result and RTN
are compared on all elements and the better kept per block.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from coreai_opt.numerics import quantization as q
from coreai_opt.numerics.finite import ml_dtype

CHUNK_ELEMENTS = 1 << 18
SAMPLE_ELEMENTS = 1 << 18
# Asymmetric: refits of [min, max], then kicks (scale stretch, grid shift in steps), refitted.
ASYMMETRIC_REFITS = 2
ASYMMETRIC_KICKS: tuple[tuple[float, float], ...] = (
    (0.94, 0.0),
    (1.06, 0.0),
    (1.0, 0.33),
    (1.0, -0.33),
)
ASYMMETRIC_KICK_REFITS = 3
# Symmetric: refits of RTN, then clip ratios of max |w| and their refits.
SYMMETRIC_RATIOS: tuple[float, ...] = (0.9, 0.8)
SYMMETRIC_REFITS = 1
SYMMETRIC_RTN_REFITS = 1
FP8_RATIOS: tuple[float, ...] = (1.0, 0.95, 0.9, 0.85)

Params = tuple[np.ndarray, np.ndarray, np.ndarray | None]
"""(scale, zero point, offset2 or None), parameter shaped, in their stored dtypes."""


# --------------------------------------------------------------------------- block rows


def _gather(blocked: np.ndarray) -> np.ndarray:
    """A ``(p0, b0, p1, b1, ...)`` view as float32 rows ``(blocks, elements of a block)``."""
    rank = blocked.ndim // 2
    order = tuple(range(0, 2 * rank, 2)) + tuple(range(1, 2 * rank, 2))
    n_blocks = int(np.prod(blocked.shape[0::2]))
    rows = np.transpose(blocked, order).reshape(n_blocks, -1)
    return np.ascontiguousarray(rows, dtype=np.float32)


# Adding and subtracting 1.5 * 2^23 rounds a float32 of magnitude below 2^22 to the nearest
# integer, ties to even (the FPU's rounding): several times faster than np.rint.
_ROUNDER = np.float32(1.5 * 2**23)


def _row_sums(rows: np.ndarray) -> np.ndarray:
    """Sum of each row in float64: `einsum` for short rows (numpy's reduction handles many
    short runs slowly; a BLAS matrix-vector product is faster still but starts threads on
    large chunks, which wait for each other on a loaded machine), numpy's reduction for
    long ones."""
    if rows.shape[1] > 256:
        return np.add.reduce(rows, axis=1, dtype=np.float64)
    return np.einsum("ij->i", rows).astype(np.float64)


def _row_dots(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Dot product of corresponding rows, in float64."""
    return _row_sums(a * b)


def _round_clipped(
    values: np.ndarray, low: float, high: float, out: np.ndarray | None = None
) -> np.ndarray:
    """``rint(clip(values, low, high))`` (scalar bounds of magnitude below 2^22)."""
    out = np.clip(values, low, high, out=out)
    out += _ROUNDER
    out -= _ROUNDER
    return out


def _row_reduce(rows: np.ndarray, ufunc: np.ufunc) -> np.ndarray:
    """``ufunc.reduce(rows, axis=1)``; short rows position by position (numpy reduces many
    short contiguous runs slowly, one strided pass per position is ~2x faster)."""
    if rows.shape[1] > 64:
        return ufunc.reduce(rows, axis=1)
    out = rows[:, 0].copy()
    for position in range(1, rows.shape[1]):
        ufunc(out, rows[:, position], out=out)
    return out


Scratch = tuple[np.ndarray, np.ndarray]
"""Two float32 work arrays shaped like a chunk's rows (reused by every evaluation)."""


@dataclass
class _Best:
    """The best candidate of every block so far."""

    error: np.ndarray
    params: list[np.ndarray]

    def offer(self, error: np.ndarray, params: Sequence[np.ndarray]) -> None:
        """Keep ``params`` for the blocks where ``error`` is strictly lower."""
        better = error < self.error
        if not better.any():
            return
        self.error = np.where(better, error, self.error)
        column = better[:, None]
        self.params = [
            np.where(column, new, old) for new, old in zip(params, self.params, strict=True)
        ]


# --------------------------------------------------------------------------- integer


@dataclass(frozen=True)
class _IntScheme:
    """Code range and storage of an integer scheme searched with the MSE criterion."""

    qmin: int
    qmax: int
    storage: np.dtype
    symmetric_zero_point: int | None  # None: asymmetric

    @property
    def limit(self) -> float:
        """The largest magnitude a dequantized value may take (overflow rule)."""
        return q._max_finite(self.storage)

    def store(self, values: np.ndarray) -> np.ndarray:
        """Float32 values rounded to the storage type (and back, for evaluation)."""
        with np.errstate(over="ignore", invalid="ignore"):
            return values.astype(self.storage).astype(np.float32)


def _int_scheme(n_bits: int, signed: bool, symmetric: bool, storage: np.dtype) -> _IntScheme:
    qmin, qmax = q.integer_range(n_bits, signed, symmetric=False)
    zero_point = q.symmetric_zero_point(n_bits, signed) if symmetric else None
    return _IntScheme(qmin, qmax, np.dtype(storage), zero_point)


def _int_errors(
    rows: np.ndarray,
    scale: np.ndarray,
    zero_point: np.ndarray,
    offset2: np.ndarray | None,
    scheme: _IntScheme,
    want_codes: bool = False,
    scratch: Scratch | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Squared error per block (and the codes if asked), for column parameters.

    The codes are the encoder's, ``clip(rint((x - offset2) / s) + zp)``, computed as
    ``rint(clip(x / s + (zp - offset2 / s)))`` (equal but for the last bit of a quotient at a
    tie, where both codes are equally near). Parameters that could dequantize beyond the
    storage type's maximum get an infinite error. The codes live in ``scratch[1]`` when work
    arrays are given (valid until the next evaluation with them).
    """
    first, second = (None, None) if scratch is None else scratch
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        inverse = np.float32(1) / scale
        scaled = np.multiply(rows, inverse, out=first)
        shift = zero_point if offset2 is None else zero_point - offset2 * inverse
        if shift.any():
            scaled += shift
        codes = _round_clipped(scaled, scheme.qmin, scheme.qmax, out=second)
        residual = np.subtract(codes, scaled, out=scaled)
        error = _row_sums(np.square(residual, out=residual)) * np.square(
            scale[:, 0], dtype=np.float64
        )
        reach = np.maximum(zero_point - scheme.qmin, scheme.qmax - zero_point)[:, 0]
        bound = scale[:, 0].astype(np.float64) * reach
        if offset2 is not None:
            bound = bound + np.abs(offset2[:, 0])
    invalid = ~((bound <= scheme.limit) & (scale[:, 0] > 0) & np.isfinite(error))
    error[invalid] = np.inf
    return error, codes if want_codes else None


def _stored_affine(
    scale: np.ndarray, low: np.ndarray, scheme: _IntScheme
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stored (scale, zero point, offset2) of ``x ≈ scale * (code - qmin) + low``.

    The whole offset goes to the float ``offset2`` and the zero point is 0, so the zero
    points of a searched weight are one splat constant (no storage) unless RTN wins a block.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        scale = scheme.store(scale)
        offset2 = scheme.store(low - scale * scheme.qmin)  # x ≈ scale * code + offset2
    return scale, np.zeros_like(scale), offset2


def _asymmetric_refit(
    rows: np.ndarray, codes: np.ndarray, row_sum: np.ndarray, scheme: _IntScheme
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least-squares (scale, shift) of ``x ≈ scale * code + shift`` for fixed codes."""
    n = rows.shape[1]
    code_sum = _row_sums(codes)
    code_sq = _row_dots(codes, codes)
    cross = _row_dots(rows, codes)
    det = n * code_sq - code_sum * code_sum
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = (n * cross - code_sum * row_sum) / det
        shift = (row_sum - scale * code_sum) / n
    scale = np.where(det > 0, scale, np.nan)[:, None].astype(np.float32)
    low = (shift[:, None] + scale * scheme.qmin).astype(np.float32)
    return _stored_affine(scale, low, scheme)


def _descend(
    rows: np.ndarray,
    params: Params,
    best: _Best,
    scheme: _IntScheme,
    refit: Callable[[np.ndarray], Params],
    steps: int,
    scratch: Scratch | None = None,
) -> None:
    """Offer ``params`` and ``steps`` successive least-squares refits of them to ``best``
    (each step evaluates once: its error and the codes the next refit starts from)."""
    for step in range(steps + 1):
        error, codes = _int_errors(rows, *params, scheme, step < steps, scratch)
        best.offer(error, params)
        if codes is None:
            return
        params = refit(codes)


def _search_asymmetric(
    rows: np.ndarray, rtn: Params, scheme: _IntScheme, low: np.ndarray, high: np.ndarray
) -> _Best:
    """RTN; the block's own [min, max] (the offset need not make 0 a code) refitted by least
    squares; then kicks (the best scale stretched or its grid shifted, centred on the
    block), each refitted in turn. The best of all is kept. ``low``/``high``: row extremes."""
    scratch = (np.empty_like(rows), np.empty_like(rows))
    rtn_scale, rtn_zp = rtn[0].astype(np.float32), rtn[1].astype(np.float32)
    no_offset = np.zeros_like(rtn_scale)
    best = _Best(np.full(rows.shape[0], np.inf), [rtn_scale, rtn_zp, no_offset])
    row_sum = _row_sums(rows)

    def refit(codes: np.ndarray) -> Params:
        return _asymmetric_refit(rows, codes, row_sum, scheme)

    _descend(rows, (rtn_scale, rtn_zp, no_offset), best, scheme, refit, 0, scratch)
    steps = np.float32(scheme.qmax - scheme.qmin)
    start = _stored_affine((high - low) / steps, low, scheme)  # [min, max], zero not forced
    _descend(rows, start, best, scheme, refit, ASYMMETRIC_REFITS, scratch)
    centre = (low + high) / 2
    half_steps = np.float32((scheme.qmax - scheme.qmin) / 2)
    for stretch, shift in ASYMMETRIC_KICKS:
        scale = best.params[0]
        stretched = scale * np.float32(stretch)
        kicked_low = centre - stretched * half_steps + scale * np.float32(shift)
        start = _stored_affine(stretched, kicked_low, scheme)
        _descend(rows, start, best, scheme, refit, ASYMMETRIC_KICK_REFITS, scratch)
    return best


def _search_symmetric(rows: np.ndarray, rtn: Params, scheme: _IntScheme, amax: np.ndarray) -> _Best:
    """RTN and a few clip ratios of ``max |w|`` (``amax``), each refitted (``s = Σxc/Σc²``)."""
    assert scheme.symmetric_zero_point is not None
    scratch = (np.empty_like(rows), np.empty_like(rows))
    zero_point = np.full((rows.shape[0], 1), scheme.symmetric_zero_point, np.float32)
    rtn_scale = rtn[0].astype(np.float32)
    no_offset = np.zeros_like(zero_point)
    best = _Best(np.full(rows.shape[0], np.inf), [rtn_scale, zero_point, no_offset])

    def refit(codes: np.ndarray) -> Params:
        centred = codes - zero_point if scheme.symmetric_zero_point else codes
        with np.errstate(divide="ignore", invalid="ignore"):
            fitted = _row_dots(rows, centred) / _row_dots(centred, centred)
        fitted = np.where(fitted > 0, fitted, np.nan)[:, None]
        return scheme.store(fitted), zero_point, no_offset

    start = (rtn_scale, zero_point, no_offset)
    _descend(rows, start, best, scheme, refit, SYMMETRIC_RTN_REFITS, scratch)
    reach = scheme.qmax - scheme.symmetric_zero_point
    for ratio in SYMMETRIC_RATIOS:
        scale = scheme.store(np.maximum(amax * np.float32(ratio / reach), 1e-30))
        start = (scale, zero_point, no_offset)
        _descend(rows, start, best, scheme, refit, SYMMETRIC_REFITS, scratch)
    return best


def _row_extremes(rows: np.ndarray, symmetric: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per-row (min, max), or (-max|x|, max|x|) for a symmetric scheme; non-finite raises."""
    if symmetric:
        high = _row_reduce(np.abs(rows), np.maximum)
        low = -high
    else:
        low, high = _row_reduce(rows, np.minimum), _row_reduce(rows, np.maximum)
    if not (np.isfinite(low).all() and np.isfinite(high).all()):
        raise q.NonFiniteWeightError("weight contains NaN or Inf")
    return low, high


def _search_int_rows(
    rows: np.ndarray, rtn: Params, scheme: _IntScheme, extremes: tuple[np.ndarray, np.ndarray]
) -> _Best:
    low, high = extremes
    if scheme.symmetric_zero_point is None:
        return _search_asymmetric(rows, rtn, scheme, low[:, None], high[:, None])
    return _search_symmetric(rows, rtn, scheme, high[:, None])


def _encode_int_rows(
    rows: np.ndarray, params: Sequence[np.ndarray], scheme: _IntScheme
) -> np.ndarray:
    """Codes of float32 rows for column parameters, computed exactly as the encoder
    (`quantization.quantize_with_qparams`) does: ``clip(rint((x - o2) / s) + zp)``."""
    scale, zero_point, offset2 = params
    with np.errstate(divide="ignore", invalid="ignore"):
        values = rows - offset2 if offset2.any() else rows
        values = values / scale
    # rint: exact below 2^22; larger magnitudes stay beyond every code and clip the same
    values += _ROUNDER
    values -= _ROUNDER
    values += zero_point
    np.clip(values, scheme.qmin, scheme.qmax, out=values)
    return values


# --------------------------------------------------------------------------- float formats


def _float_errors(rows: np.ndarray, divisor: np.ndarray, element: np.dtype) -> np.ndarray:
    """Squared error per block of ``element`` codes with a float32 ``divisor`` column."""
    top = np.float32(q._max_finite(element))
    scaled = rows / divisor
    np.clip(scaled, -top, top, out=scaled)
    residual = scaled.astype(element).astype(np.float32)
    residual -= rows / divisor
    return _row_dots(residual, residual) * np.square(divisor[:, 0], dtype=np.float64)


def _search_float_rows(
    rows: np.ndarray, rtn: Params, element: np.dtype, storage: np.dtype
) -> _Best:
    """Float scale: a few ratios of the RTN scale, stored in the weight's type."""
    rtn_scale = rtn[0]
    best = _Best(_float_errors(rows, rtn_scale.astype(np.float32), element), [rtn_scale])
    max_finite = q._max_finite(element)
    for ratio in FP8_RATIOS[1:]:
        wanted = rtn_scale.astype(np.float64) * ratio
        scale = q.limit_scale(q._store_scale(wanted, storage), max_finite)
        best.offer(_float_errors(rows, scale.astype(np.float32), element), [scale])
    return best


def _search_mx_rows(rows: np.ndarray, rtn: Params, element: np.dtype) -> _Best:
    """MX: the OCP exponent, or one below it (never below the E8M0 minimum)."""
    scale = rtn[0]
    bits = scale.view(np.uint8)
    best = _Best(_float_errors(rows, q._divisor(scale, np.dtype(np.float32)), element), [scale])
    lowered = (
        np.maximum(bits.astype(np.int16) - 1, 0).astype(np.uint8).view(ml_dtype("float8_e8m0fnu"))
    )
    divisor = q._divisor(lowered, np.dtype(np.float32))
    best.offer(_float_errors(rows, divisor, element), [lowered])
    return best


# --------------------------------------------------------------------------- driver


RowSearch = Callable[[np.ndarray, Params], _Best]
RowErrors = Callable[[np.ndarray, Sequence[np.ndarray]], np.ndarray]


def _columns(params: Sequence[np.ndarray | None]) -> list[np.ndarray | None]:
    return [None if p is None else p.reshape(-1, 1) for p in params]


def _search_blockwise(
    weight: np.ndarray,
    param_shape: tuple[int, ...],
    rtn: Callable[[], Params],
    search: RowSearch,
    errors: RowErrors,
    rtn_in_chunks: bool = False,
    encode: Callable[[np.ndarray, list[np.ndarray]], np.ndarray] | None = None,
    out: np.ndarray | None = None,
) -> tuple[list[np.ndarray], bool]:
    """Run ``search`` over the blocks of ``weight`` chunk by chunk.

    Returns the parameter-shaped results and whether ``out`` (the weight's shape) was filled
    with ``encode(rows, best parameters)`` chunk by chunk (not for sampled searches).
    ``rtn()`` gives the RTN parameters (parameter shaped) every search starts from; with
    ``rtn_in_chunks`` the search derives them from each chunk itself (the same values, one
    pass over the weight less) and gets None. ``errors`` gives the squared error per block of
    given parameters (used for sampled searches).
    """
    weight = weight.reshape(1) if weight.ndim == 0 else weight
    layout = q._Blocking(weight.shape, param_shape if param_shape else (1,))
    row_elements = max(1, int(np.prod(weight.shape[1:], dtype=np.int64)))
    block_rows = layout.blocks[0]
    if block_rows * row_elements > CHUNK_ELEMENTS and layout.param_shape[0] == 1:
        found = _search_sampled(weight, layout, _columns(rtn()), search, errors)
        return [p.reshape(param_shape) for p in found], False
    flat_rtn = None if rtn_in_chunks else _columns(rtn())
    step = max(block_rows, (CHUNK_ELEMENTS // row_elements) // block_rows * block_rows)
    per_row_group = int(np.prod(layout.param_shape[1:], dtype=np.int64))
    out_view = None if out is None or encode is None else out.reshape(weight.shape)

    def work(start: int) -> list[np.ndarray]:
        blocked = layout.blocked(np.asarray(weight[start : start + step]))
        first = start // block_rows * per_row_group
        count = blocked.shape[0] * per_row_group
        chunk_rtn = None
        if flat_rtn is not None:
            chunk_rtn = tuple(None if p is None else p[first : first + count] for p in flat_rtn)
        rows = _gather(blocked)
        params = search(rows, chunk_rtn).params  # type: ignore[arg-type]
        if out_view is not None and encode is not None:
            _scatter(encode(rows, params), layout.blocked(out_view[start : start + step]))
        return params

    results = q._map_chunks(work, range(0, weight.shape[0], step))  # type: ignore[arg-type]
    found = [np.concatenate(parts).reshape(param_shape) for parts in zip(*results, strict=True)]
    return found, out_view is not None


def _scatter(rows: np.ndarray, blocked: np.ndarray) -> None:
    """Write ``(blocks, elements)`` rows (as `_gather` made them) into a blocked view."""
    rank = blocked.ndim // 2
    order = tuple(range(0, 2 * rank, 2)) + tuple(range(1, 2 * rank, 2))
    transposed = tuple(blocked.shape[a] for a in order)
    np.copyto(blocked, np.transpose(rows.reshape(transposed), np.argsort(order)), "unsafe")


def _search_sampled(
    weight: np.ndarray,
    layout: q._Blocking,
    flat_rtn: list[np.ndarray | None],
    search: RowSearch,
    errors: RowErrors,
) -> list[np.ndarray]:
    """Blocks spanning all of axis 0: search on evenly strided rows, then keep per block the
    result or RTN, whichever has the smaller error over all elements."""
    row_elements = max(1, int(np.prod(weight.shape[1:], dtype=np.int64)))
    stride = max(1, weight.shape[0] * row_elements // SAMPLE_ELEMENTS)
    sample = np.asarray(weight[::stride])
    sample_layout = q._Blocking(sample.shape, layout.param_shape)
    found = search(_gather(sample_layout.blocked(sample)), tuple(flat_rtn)).params  # type: ignore[arg-type]
    rtn = [p for p in flat_rtn if p is not None]
    found_error = np.zeros(rtn[0].shape[0])
    rtn_error = np.zeros(rtn[0].shape[0])
    step = max(1, CHUNK_ELEMENTS // row_elements)
    for start in range(0, weight.shape[0], step):
        rows = _gather(layout.blocked(np.asarray(weight[start : start + step])))
        found_error += errors(rows, found)
        rtn_error += errors(rows, flat_rtn)  # type: ignore[arg-type]
    keep_rtn = (rtn_error <= found_error)[:, None]
    merged = []
    for new, old in zip(found, flat_rtn[: len(found)], strict=True):
        kept = np.zeros_like(new) if old is None else old.astype(new.dtype)  # RTN: no offset2
        merged.append(np.where(keep_rtn, kept, new))
    return merged


def _search_int(
    weight: np.ndarray,
    n_bits: int,
    signed: bool,
    symmetric: bool,
    block_shape: Sequence[int],
    out: np.ndarray | None = None,
) -> tuple[Params, bool]:
    """`search_qparams_int`, also encoding into ``out`` when it can (see `_search_blockwise`)."""
    q._check_weight(weight)
    if weight.size == 0:
        raise ValueError(f"cannot quantize an empty weight of shape {weight.shape}")
    param_shape = q.parameter_shape(weight.shape, block_shape)
    scheme = _int_scheme(n_bits, signed, symmetric, weight.dtype)
    codec = q._integer_codec(n_bits, signed, symmetric, weight.dtype)

    def rtn() -> Params:
        scale, zero_point = q.choose_qparams_int(weight, n_bits, signed, symmetric, block_shape)
        return scale, zero_point, None

    def search(rows: np.ndarray, chunk_rtn: Params | None) -> _Best:
        extremes = _row_extremes(rows, symmetric)
        if chunk_rtn is None:  # min/max of float32 rows: what choose_qparams_int reduces
            scale, zero_point = codec.derive(*extremes)
            chunk_rtn = (scale[:, None], zero_point[:, None], None)
        return _search_int_rows(rows, chunk_rtn, scheme, extremes)

    def errors(rows: np.ndarray, params: Sequence[np.ndarray | None]) -> np.ndarray:
        scale, zp, offset2 = (None if p is None else p.astype(np.float32) for p in params)
        return _int_errors(rows, scale, zp, offset2, scheme)[0]  # type: ignore[arg-type]

    def encode(rows: np.ndarray, params: list[np.ndarray]) -> np.ndarray:
        return _encode_int_rows(rows, params, scheme)

    exact_rows = weight.dtype != np.float64  # the rows are float32: exact for narrower types
    found, encoded = _search_blockwise(
        weight,
        param_shape,
        rtn,
        search,
        errors,
        exact_rows,
        encode if exact_rows else None,
        out,
    )
    data_dtype = np.dtype(np.int8 if signed else np.uint8)
    params = (
        found[0].astype(weight.dtype),
        found[1].astype(data_dtype),
        found[2].astype(weight.dtype),
    )
    return params, encoded


def search_qparams_int(
    weight: np.ndarray, n_bits: int, signed: bool, symmetric: bool, block_shape: Sequence[int]
) -> Params:
    """(scale, zero point, offset2) per block minimising the dequantized squared error.

    Quantize with ``quantize_with_qparams(weight, scale, zero_point, int8/uint8,
    *integer_range(n_bits, signed, symmetric=False), offset2=offset2)``, or use
    :func:`quantize_int_mse`.
    """
    return _search_int(weight, n_bits, signed, symmetric, block_shape)[0]


def quantize_int_mse(
    weight: np.ndarray, n_bits: int, signed: bool, symmetric: bool, block_shape: Sequence[int]
) -> q.QuantizedTensor:
    """Integer quantization with :func:`search_qparams_int`'s parameters.

    Equal to ``quantize_with_qparams(weight, *search_qparams_int(...), ...)``; the codes are
    encoded while each chunk is still in memory where the layout allows (one conversion of
    the weight less).
    """
    data = np.empty(weight.shape, dtype=np.int8 if signed else np.uint8)
    params, encoded = _search_int(weight, n_bits, signed, symmetric, block_shape, data)
    scale, zero_point, offset2 = params
    low, high = q.integer_range(n_bits, signed, symmetric=False)
    offset2_or_none = offset2 if offset2.any() else None
    if encoded:
        return q.QuantizedTensor(data, scale, zero_point, offset2_or_none)
    return q.quantize_with_qparams(
        weight, scale, zero_point, data.dtype, low, high, offset2=offset2_or_none
    )


def search_qparams_fp8(
    weight: np.ndarray, fp8_dtype: npt.DTypeLike, block_shape: Sequence[int], mx: bool
) -> tuple[np.ndarray, np.ndarray]:
    """FP8 (scale, zero point) per block minimising the squared error (MX: E8M0 scales)."""
    element = np.dtype(fp8_dtype)
    scale, zero_point = q.choose_qparams_fp8(weight, element, block_shape, mx)
    return _search_float(weight, scale, zero_point, element, mx)


def search_qparams_mxfp4(
    weight: np.ndarray, block_shape: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """MXFP4 (E8M0 scale, zero point) per block: the OCP exponent or one below it."""
    scale, zero_point = q.choose_qparams_mxfp4(weight, block_shape)
    return _search_float(weight, scale, zero_point, ml_dtype("float4_e2m1fn"), mx=True)


def _search_float(
    weight: np.ndarray, scale: np.ndarray, zero_point: np.ndarray, element: np.dtype, mx: bool
) -> tuple[np.ndarray, np.ndarray]:
    storage = weight.dtype

    def divisor(params: Sequence[np.ndarray]) -> np.ndarray:
        return q._divisor(params[0], np.dtype(np.float32))

    def errors(rows: np.ndarray, params: Sequence[np.ndarray | None]) -> np.ndarray:
        return _float_errors(rows, divisor(params), element)  # type: ignore[arg-type]

    if mx:
        search: RowSearch = lambda rows, rtn: _search_mx_rows(rows, rtn, element)  # noqa: E731
    else:
        search = lambda rows, rtn: _search_float_rows(rows, rtn, element, storage)  # noqa: E731
    found, _ = _search_blockwise(
        weight, scale.shape, lambda: (scale, zero_point, None), search, errors
    )
    return found[0].astype(scale.dtype), zero_point


def quantize_fp8_mse(
    weight: np.ndarray, fp8_dtype: npt.DTypeLike, block_shape: Sequence[int], mx: bool
) -> q.QuantizedTensor:
    """FP8 quantization with :func:`search_qparams_fp8`'s parameters."""
    scale, zero_point = search_qparams_fp8(weight, fp8_dtype, block_shape, mx)
    return q.quantize_with_qparams(weight, scale, zero_point, fp8_dtype)


def quantize_mxfp4_mse(weight: np.ndarray, block_shape: Sequence[int]) -> q.QuantizedTensor:
    """MXFP4 quantization with :func:`search_qparams_mxfp4`'s parameters."""
    scale, zero_point = search_qparams_mxfp4(weight, block_shape)
    return q.quantize_with_qparams(weight, scale, zero_point, ml_dtype("float4_e2m1fn"))
