"""Error-minimising quantization parameters (``algorithm=mse``), data-free.

For every block the search picks the parameters whose *dequantized* weights have the least
squared error against the original, evaluated as the encoder will quantize (stored scale,
round half to even, clipping). The round-to-nearest (min/max) parameters are always one of
the candidates, compared on the exact error, so no block ends up worse than with RTN.

- Integer, asymmetric: the offset is continuous, stored in the float ``offset2`` with a zero
  point of 0. Grids spanning the share of the block's range that the MSE-optimal uniform
  quantizer of a Gaussian would span (for the block's size and the number of levels) are
  tried at five phases; the least-squares refit (codes fixed, scale and offset in closed
  form) of each block's best is refitted twice more. Each *step* (quantize, then the sums
  Σc, Σc², Σxc) gives both the candidate's error and the next refit.
- Integer, symmetric: RTN and clip ratios of ``max |w|``, each refitted once
  (``s = Σxc / Σc²``); the zero point stays fixed and ``offset2`` zero. The codes use the
  data type's whole range (``-2^(b-1)`` included), which RTN leaves unused.
- FP8 with a float scale: a few scale ratios. MX (FP8 and FP4): the OCP exponent or one
  below it (clipping the block's largest values), so scales stay powers of two.

All blocks of a chunk are searched at once in float32 (no per-block Python loop), laid out
as the columns of one array; chunks hold about ``CHUNK_ELEMENTS`` weights and run on the
quantizer's two threads; `quantize_int_mse` encodes a chunk while it is in memory. Blocks
spanning several chunks (per-tensor, large groups) are searched on an evenly strided sample
of their elements, then the result and RTN are compared on all elements and the better kept
per block.
"""

from __future__ import annotations

import functools
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from coreai_opt.numerics import quantization as q
from coreai_opt.numerics.finite import float_info, ml_dtype

CHUNK_ELEMENTS = 1 << 18
SAMPLE_ELEMENTS = 1 << 18
# Asymmetric: grids spanning a share of the block's range (`_asymmetric_range_ratio`) at
# these phases (in steps) are evaluated; the refit of each block's best is refitted again.
ASYMMETRIC_PHASES: tuple[float, ...] = (0.0, 0.2, -0.2, 0.4, -0.4)
ASYMMETRIC_REFITS = 1
# The MSE-optimal uniform quantizer of a unit Gaussian: its range ((levels - 1) x step) for
# 2, 4, ..., 256 levels (bits 1..8), found by numerical integration (tests check it).
GAUSSIAN_OPTIMAL_RANGE: tuple[float, ...] = (
    1.5958,
    2.9871,
    4.1021,
    5.0280,
    5.8323,
    6.5560,
    7.2222,
    7.8444,
)
# Symmetric: refits of RTN, then clip ratios of max |w| and their refits.
SYMMETRIC_RATIOS: tuple[float, ...] = (0.9, 0.8)
SYMMETRIC_REFITS = 1
SYMMETRIC_RTN_REFITS = 1
FP8_RATIOS: tuple[float, ...] = (1.0, 0.95, 0.9, 0.85)

Params = tuple[np.ndarray, np.ndarray, np.ndarray | None]
"""(scale, zero point, offset2 or None), parameter shaped, in their stored dtypes."""


# --------------------------------------------------------------------------- block columns
#
# A chunk's blocks are the *columns* of a float32 array ``(elements of a block, blocks)``, and
# every per-block parameter is a row ``(1, blocks)``. With short blocks (32 values) this is
# ~2-3x faster than one block per row: a parameter row broadcasts along the contiguous axis
# (numpy's inner loop runs over all blocks, not over 32 values at a time), and sums over a
# block are vector additions of whole rows.


# Blocks longer than this are laid out row by row (see `_gather`), and their sums accumulate
# in float64 (float32 sums of long runs lose the digits that decide between close candidates).
_LONG_BLOCK = 256


def _gather(blocked: np.ndarray) -> np.ndarray:
    """A ``(p0, b0, p1, b1, ...)`` view as float32 columns ``(elements of a block, blocks)``.

    Blocks longer than `_LONG_BLOCK` come as the transpose of a row-per-block array (the
    columns are then contiguous): numpy runs its inner loops along each block, long enough
    already, and reduces each block in one contiguous run."""
    rank = blocked.ndim // 2
    elements_first = tuple(range(1, 2 * rank, 2)) + tuple(range(0, 2 * rank, 2))
    blocks_first = tuple(range(0, 2 * rank, 2)) + tuple(range(1, 2 * rank, 2))
    n_blocks = int(np.prod(blocked.shape[0::2]))
    if int(np.prod(blocked.shape[1::2])) > _LONG_BLOCK:
        rows = np.transpose(blocked, blocks_first).reshape(n_blocks, -1)
        return np.ascontiguousarray(rows, dtype=np.float32).T
    columns = np.transpose(blocked, elements_first).reshape(-1, n_blocks)
    return np.ascontiguousarray(columns, dtype=np.float32)


def _scatter(columns: np.ndarray, blocked: np.ndarray) -> None:
    """Write ``(elements, blocks)`` columns (as `_gather` made them) into a blocked view,
    converted to its dtype first."""
    narrow = columns.astype(blocked.dtype, casting="unsafe")
    rank = blocked.ndim // 2
    if columns.shape[0] > _LONG_BLOCK:  # `_gather`'s transposed rows
        order = tuple(range(0, 2 * rank, 2)) + tuple(range(1, 2 * rank, 2))
        shape = tuple(blocked.shape[a] for a in order)
        np.copyto(blocked, np.transpose(narrow.T.reshape(shape), np.argsort(order)))
        return
    if _scatter_bytes_as_words(narrow, blocked):
        return
    order = tuple(range(1, 2 * rank, 2)) + tuple(range(0, 2 * rank, 2))
    transposed = tuple(blocked.shape[a] for a in order)
    np.copyto(blocked, np.transpose(narrow.reshape(transposed), np.argsort(order)))


def _scatter_bytes_as_words(columns: np.ndarray, blocked: np.ndarray) -> bool:
    """`_scatter` of 1-byte codes into row blocks of a contiguous 2-D chunk, four bytes per
    moved word (numpy transposes element by element: 4x fewer elements is ~4x faster).
    Returns False, having written nothing, where the layout does not allow it."""
    elements, blocks = columns.shape
    if not (
        np.little_endian
        and columns.itemsize == 1
        and blocked.ndim == 4
        and blocked.shape[1] == 1
        and blocked.flags.c_contiguous
        and elements % 4 == 0
    ):
        return False
    rows = blocked.reshape(blocks, elements).view(np.uint8)
    octets = columns.view(np.uint8)
    words = octets[0::4].astype(np.uint32)
    for byte in (1, 2, 3):
        words |= octets[byte::4].astype(np.uint32) << np.uint32(8 * byte)
    rows.view(np.uint32)[...] = words.T
    return True


# Adding and subtracting 1.5 * 2^23 rounds a float32 of magnitude below 2^22 to the nearest
# integer, ties to even (the FPU's rounding): several times faster than np.rint.
_ROUNDER = np.float32(1.5 * 2**23)


def _block_sums(columns: np.ndarray) -> np.ndarray:
    """Sum of each column (block): float32 for short blocks, float64 for long ones."""
    if columns.shape[0] > _LONG_BLOCK:
        return np.add.reduce(columns, axis=0, dtype=np.float64)
    return np.add.reduce(columns, axis=0)


def _block_dots(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Dot product of corresponding columns: float32 for short blocks, float64 for long."""
    if a.shape[0] > _LONG_BLOCK:
        return np.add.reduce(a * b, axis=0, dtype=np.float64)
    return np.einsum("ij,ij->j", a, b)


def _round_clipped(
    values: np.ndarray, low: float, high: float, out: np.ndarray | None = None
) -> np.ndarray:
    """``rint(clip(values, low, high))`` (scalar bounds of magnitude below 2^22)."""
    out = np.clip(values, low, high, out=out)
    out += _ROUNDER
    out -= _ROUNDER
    return out


def _block_extremes(columns: np.ndarray, symmetric: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per-block (min, max), or (-max|x|, max|x|) for a symmetric scheme; non-finite raises."""
    if symmetric:
        high = np.maximum.reduce(np.abs(columns), axis=0)
        low = -high
    else:
        low, high = np.minimum.reduce(columns, axis=0), np.maximum.reduce(columns, axis=0)
    if not (np.isfinite(low).all() and np.isfinite(high).all()):
        raise q.NonFiniteWeightError("weight contains NaN or Inf")
    return low, high


# float16's largest value is 65504; from 65520 up (half a step above it) values round to inf.
_F16_OVERFLOW = np.float32(65520)
_EXPONENT_BITS = np.uint32(0x7F800000)
_TOP_MANTISSA_BIT = np.uint32(0x00400000)


def _round_float32_bits(values: np.ndarray, dropped_bits: int) -> np.ndarray:
    """Finite float32 values rounded, half to even, to ``23 - dropped_bits`` mantissa bits
    (a carry into the exponent is the correct result)."""
    bits = values.view(np.uint32)
    lowest_kept = (bits >> np.uint32(dropped_bits)) & np.uint32(1)
    lowest_kept += np.uint32((1 << (dropped_bits - 1)) - 1)
    lowest_kept += bits
    lowest_kept &= np.uint32(~((1 << dropped_bits) - 1) & 0xFFFFFFFF)
    return lowest_kept.view(np.float32)


def _round_to_grid(values: np.ndarray, mantissa_bits: int, min_exponent: int) -> np.ndarray:
    """Float32 values rounded, half to even, to the grid of a float format with
    ``mantissa_bits`` stored mantissa bits and smallest normal exponent ``min_exponent``
    (uniform below it: subnormals), with no upper limit (callers clip or handle overflow;
    valid below 2^(104 + mantissa_bits) in magnitude).

    A value in ``[2^e, 2^(e+1))`` is rounded by adding and subtracting ``1.5 * 2^(e + 23 -
    mantissa_bits)``, whose last bit is worth the format's step there; the rounder's bits are
    the value's exponent bits plus ``(23 - mantissa_bits) << 23`` with the top mantissa bit
    set, and at least the rounder of the subnormal step.
    """
    shift = np.uint32((23 - mantissa_bits) << 23)
    subnormal = np.float32(1.5 * 2.0 ** (min_exponent - mantissa_bits + 23))
    rounder = values.view(np.uint32) & _EXPONENT_BITS
    rounder += shift
    rounder |= _TOP_MANTISSA_BIT
    np.maximum(rounder, subnormal.view(np.uint32), out=rounder)
    magnitude = np.abs(values)
    with np.errstate(invalid="ignore", over="ignore"):
        rounded = magnitude + rounder.view(np.float32)
        rounded -= rounder.view(np.float32)
    return np.copysign(rounded, values, out=rounded)


def _round_to_float16(values: np.ndarray) -> np.ndarray:
    """Float32 values rounded to float16 (and back), overflow to inf and NaN kept."""
    rounded = _round_to_grid(values, 10, -14)
    special = ~(np.abs(values) < _F16_OVERFLOW)  # overflow, inf, NaN
    if special.any():
        overflowed = np.where(np.isnan(values), values, np.copysign(np.inf, values))
        rounded = np.where(special, overflowed.astype(np.float32), rounded)
    return rounded


def _round_to(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Float32 ``values`` rounded to ``dtype`` and back: ``values.astype(dtype)
    .astype(np.float32)`` bit for bit (round half to even, overflow to inf, NaN kept).

    float16 and bfloat16 are rounded by float32 arithmetic: numpy converts to float16 in
    software, several times slower, and the search rounds a row of parameters per candidate.
    """
    values = np.ascontiguousarray(values, dtype=np.float32)
    if dtype.itemsize >= 4:  # float32, float64: every float32 is exact
        return values
    if dtype == np.float16:
        return _round_to_float16(values)
    if dtype.name == "bfloat16":
        rounded = _round_float32_bits(values, 16)
        nan = np.isnan(values)
        return np.where(nan, values, rounded) if nan.any() else rounded
    with np.errstate(over="ignore", invalid="ignore"):
        return values.astype(dtype).astype(np.float32)


Scratch = tuple[np.ndarray, np.ndarray]
"""Two float32 work arrays shaped like a chunk's columns (reused by every evaluation)."""


@dataclass
class _Best:
    """The best candidate of every block so far (parameters are rows)."""

    error: np.ndarray
    params: list[np.ndarray]
    codes: np.ndarray | None = None
    """The encoder's codes of ``params`` (columns), when the search already computed them."""

    def offer(self, error: np.ndarray, params: Sequence[np.ndarray]) -> None:
        """Keep ``params`` for the blocks where ``error`` is strictly lower (all of them
        on the first offer to a search that starts empty)."""
        if not self.params:
            self.error, self.params = error, list(params)
            return
        better = error < self.error
        if not better.any():
            return
        self.error = np.where(better, error, self.error)
        self.params = [
            np.where(better, new, old) for new, old in zip(params, self.params, strict=True)
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
        return _round_to(values, self.storage)


def _int_scheme(n_bits: int, signed: bool, symmetric: bool, storage: np.dtype) -> _IntScheme:
    qmin, qmax = q.integer_range(n_bits, signed, symmetric=False)
    zero_point = q.symmetric_zero_point(n_bits, signed) if symmetric else None
    return _IntScheme(qmin, qmax, np.dtype(storage), zero_point)


def _int_errors(
    columns: np.ndarray,
    scale: np.ndarray,
    zero_point: np.ndarray,
    offset2: np.ndarray | None,
    scheme: _IntScheme,
    want_codes: bool = False,
    scratch: Scratch | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Squared error per block (and the codes if asked), for row parameters.

    The codes are the encoder's, ``clip(rint((x - offset2) / s) + zp)``, computed as
    ``rint(clip(x / s + (zp - offset2 / s)))`` (equal but for the last bit of a quotient at a
    tie, where both codes are equally near). Parameters that could dequantize beyond the
    storage type's maximum get an infinite error. The codes live in ``scratch[1]`` when work
    arrays are given (valid until the next evaluation with them).
    """
    first, second = (None, None) if scratch is None else scratch
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        inverse = np.float32(1) / scale
        scaled = np.multiply(columns, inverse, out=first)
        shift = zero_point if offset2 is None else zero_point - offset2 * inverse
        if shift.any():
            scaled += shift
        codes = _round_clipped(scaled, scheme.qmin, scheme.qmax, out=second)
        residual = np.subtract(codes, scaled, out=scaled)
        error = _block_dots(residual, residual) * np.square(scale[0], dtype=np.float64)
        reach = np.maximum(zero_point - scheme.qmin, scheme.qmax - zero_point)[0]
        bound = scale[0].astype(np.float64) * reach
        if offset2 is not None:
            bound = bound + np.abs(offset2[0])
    invalid = ~((bound <= scheme.limit) & (scale[0] > 0) & np.isfinite(error))
    error[invalid] = np.inf
    return error, codes if want_codes else None


def _stored_affine(
    scale: np.ndarray, low: np.ndarray, scheme: _IntScheme
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stored (scale, zero point, offset2) of ``x ≈ scale * (code - qmin) + low``; ``low``
    may stack several rows of lows for the one scale row (one offset2 row each).

    The whole offset goes to the float ``offset2`` and the zero point is 0, so the zero
    points of a searched weight are one splat constant (no storage) unless RTN wins a block.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        scale = scheme.store(scale)
        offset2 = scheme.store(low - scale * np.float32(scheme.qmin))  # x ≈ scale*code + offset2
    return scale, np.zeros_like(scale), offset2


@dataclass(frozen=True)
class _CodeSums:
    """Per-block sums of one evaluation's codes ``c`` against the values ``x`` (float64)."""

    codes: np.ndarray  # Σc
    squares: np.ndarray  # Σc²
    cross: np.ndarray  # Σxc


def _code_sums(columns: np.ndarray, codes: np.ndarray) -> _CodeSums:
    return _CodeSums(_block_sums(codes), _block_dots(codes, codes), _block_dots(columns, codes))


@dataclass
class _AffineFit:
    """One chunk's blocks under the asymmetric search: the values, their sums, work arrays.

    A *step* quantizes with given parameters and returns the error and the least-squares
    refit of ``x ≈ scale * code + offset`` for those codes, from the same three code sums.
    For up to 16 levels in blocks of at most `_LONG_BLOCK` values the error comes from the
    sums too (``Σ(x - s c - m)²`` expanded, in float64; its rounding, ~1e-5 of the error
    here, only decides between two candidates that close); otherwise from the residuals.
    """

    columns: np.ndarray
    scheme: _IntScheme
    scratch: Scratch
    value_sum: np.ndarray  # Σx
    square_sum: np.ndarray  # Σx²
    closed_form: bool

    @property
    def limit(self) -> np.float32:
        """The largest magnitude a dequantized value may take, as a float32."""
        return np.float32(self.scheme.limit)

    @classmethod
    def of(cls, columns: np.ndarray, scheme: _IntScheme) -> _AffineFit:
        closed_form = scheme.qmax - scheme.qmin < 16 and columns.shape[0] <= _LONG_BLOCK
        return cls(
            columns,
            scheme,
            (np.empty_like(columns), np.empty_like(columns)),
            _block_sums(columns),
            _block_dots(columns, columns) if closed_form else np.empty(0),
            closed_form,
        )

    def evaluate(
        self, params: Params, scaled_values: np.ndarray | None = None
    ) -> tuple[np.ndarray, _CodeSums]:
        """Error per block of ``params`` (row parameters: scale, zero point 0, offset2), and
        the sums of the codes they give (what `refit` needs). ``scaled_values``: the values
        times ``1 / scale`` when the caller has them (starts sharing a scale)."""
        scale, _, offset2 = params
        assert offset2 is not None
        scaled, codes = self.scratch
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            inverse = np.float32(1) / scale
            if scaled_values is None:
                np.multiply(self.columns, inverse, out=scaled)
                scaled -= offset2 * inverse
            else:
                np.subtract(scaled_values, offset2 * inverse, out=scaled)
            _round_clipped(scaled, self.scheme.qmin, self.scheme.qmax, out=codes)
            sums = _code_sums(self.columns, codes)
            s, m = scale[0], offset2[0]
            if self.closed_form:
                n = self.columns.shape[0]
                error = (
                    self.square_sum
                    - 2 * (s * sums.cross + m * self.value_sum)
                    + s * (s * sums.squares + 2 * m * sums.codes)
                    + n * m * m
                )
                error = np.maximum(error, 0)
            else:
                residual = np.subtract(codes, scaled, out=scaled)
                error = _block_dots(residual, residual) * np.square(s, dtype=np.float64)
            reach = np.float32(max(-self.scheme.qmin, self.scheme.qmax))
            valid = (scale[0] * reach + np.abs(offset2[0]) <= self.limit) & (scale[0] > 0)
        error[~valid] = np.inf
        return error, sums

    def refit(self, sums: _CodeSums) -> Params:
        """Least-squares (scale, offset2) of ``x ≈ scale * code + offset2`` for fixed codes,
        both rounded to the storage type."""
        n = self.columns.shape[0]
        det = n * sums.squares - sums.codes * sums.codes
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = (n * sums.cross - sums.codes * self.value_sum) / det
            offset = (self.value_sum - scale * sums.codes) / n
        scale[~(det > 0)] = np.nan
        stored = self.scheme.store(np.stack([scale, offset]).astype(np.float32))
        return stored[:1], np.zeros_like(stored[:1]), stored[1:]

    def descend(self, params: Params, steps: int, best: _Best) -> None:
        """Offer ``params`` and ``steps`` successive refits of them to ``best``."""
        for step in range(steps + 1):
            error, sums = self.evaluate(params)
            best.offer(error, params)
            if step < steps:
                params = self.refit(sums)


@functools.lru_cache(maxsize=64)
def _asymmetric_range_ratio(block_size: int, levels: int) -> float:
    """The share of a block's ``[min, max]`` the first grids span.

    For Gaussian values it is the optimal uniform quantizer's range over the expected range of
    ``block_size`` samples (Blom's approximation of the expected maximum), shrunk by 4 % (what
    the search ends at, on average, at 4 bits, for blocks of 32 and 128), and at most a third
    of a step short of the whole range: large blocks clip their tails, small ones keep their
    extremes.
    """
    bits = max(1, min(len(GAUSSIAN_OPTIMAL_RANGE), int(np.log2(levels))))
    if block_size < 2:
        return 1.0
    p = (block_size - 0.375) / (block_size + 0.25)
    expected_max = statistics.NormalDist().inv_cdf(p)
    ratio = 0.96 * GAUSSIAN_OPTIMAL_RANGE[bits - 1] / (2 * expected_max)
    return min(1 - 1 / (3 * (levels - 1)), ratio)


def _search_asymmetric(
    columns: np.ndarray, rtn: Params, scheme: _IntScheme, low: np.ndarray, high: np.ndarray
) -> _Best:
    """Grids spanning `_asymmetric_range_ratio` of each block's range at the phases
    `ASYMMETRIC_PHASES`; per block the least-squares refit of the best of them, refitted
    `ASYMMETRIC_REFITS` more times. The best candidate seen replaces RTN in the blocks where
    its exact error is lower. ``low``/``high``: block extremes (rows).

    The grids are centred on the block's midrange, or for blocks longer than `_LONG_BLOCK`
    on its mean (kept inside ``[low, high]``): in a long block the extremes are single tail
    values and say little about where the bulk lies.
    """
    fit = _AffineFit.of(columns, scheme)
    levels = scheme.qmax - scheme.qmin + 1
    ratio = np.float32(_asymmetric_range_ratio(columns.shape[0], levels))
    scale = (high - low) * (ratio / np.float32(levels - 1))
    half_span = scale * np.float32((levels - 1) / 2)
    if columns.shape[0] > _LONG_BLOCK:
        mean = (fit.value_sum / columns.shape[0]).astype(np.float32)[None, :]
        centre = np.clip(mean, low + half_span, high - half_span)
    else:
        centre = (low + high) / 2
    centred_low = centre - half_span
    best = _Best(np.full(columns.shape[1], np.inf), [])
    chosen = _Best(np.full(columns.shape[1], np.inf), [])  # code sums of each block's best start
    phases = np.array(ASYMMETRIC_PHASES, np.float32)[:, None]
    stored_scale, zero_point, offsets = _stored_affine(scale, centred_low + scale * phases, scheme)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        scaled_values = columns * (np.float32(1) / stored_scale)  # shared by the starts
    for offset2 in offsets:
        start = (stored_scale, zero_point, offset2[None, :])
        error, sums = fit.evaluate(start, scaled_values)
        best.offer(error, start)
        chosen.offer(error, (sums.codes, sums.squares, sums.cross))
    fit.descend(fit.refit(_CodeSums(*chosen.params)), ASYMMETRIC_REFITS, best)
    return _keep_rtn_unless_better(columns, best, rtn, scheme, fit.scratch)


def _keep_rtn_unless_better(
    columns: np.ndarray, best: _Best, rtn: Params, scheme: _IntScheme, scratch: Scratch
) -> _Best:
    """``best`` where its exact error is strictly below RTN's, RTN elsewhere, with the
    encoder's codes of the result (the best's exact error is measured on them)."""
    rtn_scale, rtn_zp = rtn[0].astype(np.float32), rtn[1].astype(np.float32)
    rtn_params = [rtn_scale, rtn_zp, np.zeros_like(rtn_scale)]
    rtn_error = _int_errors(columns, *rtn_params, scheme, False, scratch)[0]
    if not best.params:
        return _Best(rtn_error, rtn_params)
    codes, quotients = _encode_with_quotients(columns, best.params, scheme)
    residual = np.subtract(codes, quotients, out=quotients)
    with np.errstate(over="ignore", invalid="ignore"):
        found_error = _block_dots(residual, residual) * np.square(
            best.params[0][0], dtype=np.float64
        )
    keep_rtn = ~(found_error < rtn_error)
    if not keep_rtn.any():
        return _Best(found_error, list(best.params), codes)
    params = [
        np.where(keep_rtn, old, new) for old, new in zip(rtn_params, best.params, strict=True)
    ]
    rtn_codes = _encode_int_columns(columns, rtn_params, scheme)
    codes = np.where(keep_rtn, rtn_codes, codes)
    return _Best(np.where(keep_rtn, rtn_error, found_error), params, codes)


def _descend(
    columns: np.ndarray,
    params: Params,
    best: _Best,
    scheme: _IntScheme,
    refit: Callable[[np.ndarray], Params],
    steps: int,
    scratch: Scratch | None = None,
) -> None:
    """Offer ``params`` and ``steps`` successive refits of them to ``best`` (each step
    evaluates once: its exact error and the codes the next refit starts from)."""
    for step in range(steps + 1):
        error, codes = _int_errors(columns, *params, scheme, step < steps, scratch)
        best.offer(error, params)
        if codes is None:
            return
        params = refit(codes)


def _search_symmetric(
    columns: np.ndarray, rtn: Params, scheme: _IntScheme, amax: np.ndarray
) -> _Best:
    """RTN and a few clip ratios of ``max |w|`` (``amax``), each refitted (``s = Σxc/Σc²``)."""
    assert scheme.symmetric_zero_point is not None
    scratch = (np.empty_like(columns), np.empty_like(columns))
    zero_point = np.full((1, columns.shape[1]), scheme.symmetric_zero_point, np.float32)
    rtn_scale = rtn[0].astype(np.float32)
    no_offset = np.zeros_like(zero_point)
    best = _Best(np.full(columns.shape[1], np.inf), [rtn_scale, zero_point, no_offset])

    def refit(codes: np.ndarray) -> Params:
        centred = codes - zero_point if scheme.symmetric_zero_point else codes
        with np.errstate(divide="ignore", invalid="ignore"):
            fitted = _block_dots(columns, centred) / _block_dots(centred, centred)
        fitted = np.where(fitted > 0, fitted, np.nan)[None, :].astype(np.float32)
        return scheme.store(fitted), zero_point, no_offset

    start = (rtn_scale, zero_point, no_offset)
    _descend(columns, start, best, scheme, refit, SYMMETRIC_RTN_REFITS, scratch)
    reach = scheme.qmax - scheme.symmetric_zero_point
    for ratio in SYMMETRIC_RATIOS:
        scale = scheme.store(np.maximum(amax * np.float32(ratio / reach), np.float32(1e-30)))
        start = (scale, zero_point, no_offset)
        _descend(columns, start, best, scheme, refit, SYMMETRIC_REFITS, scratch)
    return best


def _search_int_columns(
    columns: np.ndarray,
    rtn: Params,
    scheme: _IntScheme,
    extremes: tuple[np.ndarray, np.ndarray],
) -> _Best:
    low, high = extremes
    if scheme.symmetric_zero_point is None:
        return _search_asymmetric(columns, rtn, scheme, low[None, :], high[None, :])
    return _search_symmetric(columns, rtn, scheme, high[None, :])


def _encode_int_columns(
    columns: np.ndarray, params: Sequence[np.ndarray], scheme: _IntScheme
) -> np.ndarray:
    """Codes of float32 columns for row parameters, computed exactly as the encoder
    (`quantization.quantize_with_qparams`) does: ``clip(rint((x - o2) / s) + zp)``."""
    return _encode_with_quotients(columns, params, scheme)[0]


def _encode_with_quotients(
    columns: np.ndarray, params: Sequence[np.ndarray], scheme: _IntScheme
) -> tuple[np.ndarray, np.ndarray]:
    """`_encode_int_columns`'s codes and the quotients ``(x - o2) / s`` they round."""
    scale, zero_point, offset2 = params
    with np.errstate(divide="ignore", invalid="ignore"):
        quotients = columns - offset2 if offset2.any() else columns
        quotients = np.divide(quotients, scale, out=None if quotients is columns else quotients)
    # rint: exact below 2^22; larger magnitudes stay beyond every code and clip the same
    codes = quotients + _ROUNDER
    codes -= _ROUNDER
    if zero_point.any():
        codes += zero_point
    np.clip(codes, scheme.qmin, scheme.qmax, out=codes)
    return codes, quotients


# --------------------------------------------------------------------------- float formats


def _float_errors(columns: np.ndarray, divisor: np.ndarray, element: np.dtype) -> np.ndarray:
    """Squared error per block of ``element`` codes with a float32 ``divisor`` row.

    The codes are the quotients clipped to the element type's range and rounded to its grid
    in float32 arithmetic (what ``astype(element)`` gives there, tested; ml_dtypes converts
    element by element, several times slower)."""
    info = float_info(element)
    top = np.float32(info.max)
    quotients = columns / divisor
    codes = np.clip(quotients, -top, top)
    codes = _round_to_grid(codes, int(info.nmant), int(info.minexp))
    residual = np.subtract(codes, quotients, out=codes)
    return _block_dots(residual, residual) * np.square(divisor[0], dtype=np.float64)


def _search_float_columns(
    columns: np.ndarray, rtn: Params, element: np.dtype, storage: np.dtype
) -> _Best:
    """Float scale: a few ratios of the RTN scale, stored in the weight's type."""
    rtn_scale = rtn[0]
    best = _Best(_float_errors(columns, rtn_scale.astype(np.float32), element), [rtn_scale])
    max_finite = q._max_finite(element)
    for ratio in FP8_RATIOS[1:]:
        wanted = rtn_scale.astype(np.float64) * ratio
        scale = q.limit_scale(q._store_scale(wanted, storage), max_finite)
        best.offer(_float_errors(columns, scale.astype(np.float32), element), [scale])
    return best


def _search_mx_columns(columns: np.ndarray, rtn: Params, element: np.dtype) -> _Best:
    """MX: the OCP exponent, or one below it (never below the E8M0 minimum)."""
    scale = rtn[0]
    bits = scale.view(np.uint8)
    divisor = q._divisor(scale, np.dtype(np.float32))
    best = _Best(_float_errors(columns, divisor, element), [scale])
    lowered = (
        np.maximum(bits.astype(np.int16) - 1, 0).astype(np.uint8).view(ml_dtype("float8_e8m0fnu"))
    )
    divisor = q._divisor(lowered, np.dtype(np.float32))
    best.offer(_float_errors(columns, divisor, element), [lowered])
    return best


# --------------------------------------------------------------------------- driver


BlockSearch = Callable[[np.ndarray, Params], _Best]
BlockErrors = Callable[[np.ndarray, Sequence[np.ndarray]], np.ndarray]


def _as_rows(params: Sequence[np.ndarray | None]) -> list[np.ndarray | None]:
    return [None if p is None else p.reshape(1, -1) for p in params]


def _search_blockwise(
    weight: np.ndarray,
    param_shape: tuple[int, ...],
    rtn: Callable[[], Params],
    search: BlockSearch,
    errors: BlockErrors,
    rtn_in_chunks: bool = False,
    encode: Callable[[np.ndarray, list[np.ndarray]], np.ndarray] | None = None,
    out: np.ndarray | None = None,
) -> tuple[list[np.ndarray], bool]:
    """Run ``search`` over the blocks of ``weight`` chunk by chunk.

    Returns the parameter-shaped results and whether ``out`` (the weight's shape) was filled
    with ``encode(columns, best parameters)`` chunk by chunk (not for sampled searches).
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
        found = _search_sampled(weight, layout, _as_rows(rtn()), search, errors)
        return [p.reshape(param_shape) for p in found], False
    flat_rtn = None if rtn_in_chunks else _as_rows(rtn())
    step = max(block_rows, (CHUNK_ELEMENTS // row_elements) // block_rows * block_rows)
    per_row_group = int(np.prod(layout.param_shape[1:], dtype=np.int64))
    out_view = None if out is None or encode is None else out.reshape(weight.shape)

    def work(start: int) -> list[np.ndarray]:
        blocked = layout.blocked(np.asarray(weight[start : start + step]))
        first = start // block_rows * per_row_group
        count = blocked.shape[0] * per_row_group
        chunk_rtn = None
        if flat_rtn is not None:
            chunk_rtn = tuple(None if p is None else p[:, first : first + count] for p in flat_rtn)
        columns = _gather(blocked)
        found = _search_alone_or_not(search, columns, chunk_rtn)  # type: ignore[arg-type]
        if out_view is not None and encode is not None:
            codes = encode(columns, found.params) if found.codes is None else found.codes
            _scatter(codes, layout.blocked(out_view[start : start + step]))
        return found.params

    results = q._map_chunks(work, range(0, weight.shape[0], step))  # type: ignore[arg-type]
    found = [
        np.concatenate(parts, axis=1).reshape(param_shape) for parts in zip(*results, strict=True)
    ]
    return found, out_view is not None


def _search_alone_or_not(search: BlockSearch, columns: np.ndarray, rtn: Params | None) -> _Best:
    """``search(columns, rtn)``, the same for a block whatever other blocks share its chunk.

    numpy sums the columns of a short-block chunk row by row, but a single column in one
    contiguous run (another order, other float32 roundings); a lone short block is therefore
    searched beside a copy of itself, so that it gets the result it gets in any chunk.
    """
    if columns.shape[1] != 1 or columns.shape[0] > _LONG_BLOCK:
        return search(columns, rtn)  # type: ignore[arg-type]
    pair = np.repeat(columns, 2, axis=1)
    rtn_pair = (
        None if rtn is None else tuple(None if p is None else np.repeat(p, 2, axis=1) for p in rtn)
    )
    found = search(pair, rtn_pair)  # type: ignore[arg-type]
    codes = None if found.codes is None else found.codes[:, :1]
    return _Best(found.error[:1], [p[:, :1] for p in found.params], codes)


def _search_sampled(
    weight: np.ndarray,
    layout: q._Blocking,
    flat_rtn: list[np.ndarray | None],
    search: BlockSearch,
    errors: BlockErrors,
) -> list[np.ndarray]:
    """Blocks spanning all of axis 0: search on evenly strided rows, then keep per block the
    result or RTN, whichever has the smaller error over all elements."""
    row_elements = max(1, int(np.prod(weight.shape[1:], dtype=np.int64)))
    stride = max(1, weight.shape[0] * row_elements // SAMPLE_ELEMENTS)
    sample = np.asarray(weight[::stride])
    sample_layout = q._Blocking(sample.shape, layout.param_shape)
    found = search(_gather(sample_layout.blocked(sample)), tuple(flat_rtn)).params  # type: ignore[arg-type]
    rtn = [p for p in flat_rtn if p is not None]
    found_error = np.zeros(rtn[0].shape[1])
    rtn_error = np.zeros(rtn[0].shape[1])
    step = max(1, CHUNK_ELEMENTS // row_elements)
    for start in range(0, weight.shape[0], step):
        columns = _gather(layout.blocked(np.asarray(weight[start : start + step])))
        found_error += errors(columns, found)
        rtn_error += errors(columns, flat_rtn)  # type: ignore[arg-type]
    keep_rtn = rtn_error <= found_error
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

    def search(columns: np.ndarray, chunk_rtn: Params | None) -> _Best:
        extremes = _block_extremes(columns, symmetric)
        if chunk_rtn is None:  # min/max of float32 values: what choose_qparams_int reduces
            scale, zero_point = codec.derive(*extremes)
            chunk_rtn = (scale[None, :], zero_point[None, :], None)
        return _search_int_columns(columns, chunk_rtn, scheme, extremes)

    def errors(columns: np.ndarray, params: Sequence[np.ndarray | None]) -> np.ndarray:
        scale, zp, offset2 = (None if p is None else p.astype(np.float32) for p in params)
        return _int_errors(columns, scale, zp, offset2, scheme)[0]  # type: ignore[arg-type]

    def encode(columns: np.ndarray, params: list[np.ndarray]) -> np.ndarray:
        return _encode_int_columns(columns, params, scheme)

    exact_rows = weight.dtype != np.float64  # float32 values: exact for narrower types
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

    def errors(columns: np.ndarray, params: Sequence[np.ndarray | None]) -> np.ndarray:
        return _float_errors(columns, divisor(params), element)  # type: ignore[arg-type]

    def search(columns: np.ndarray, rtn: Params) -> _Best:
        if mx:
            return _search_mx_columns(columns, rtn, element)
        return _search_float_columns(columns, rtn, element, storage)

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
