"""Quantize the non-zero values of a bitmask-sparse weight with per-output-channel scales.

The values (1-D, row-major order of the set mask bits) are quantized to codes that stay in
the sparse form; the scale is applied after densification
(``blockwise_shift_scale(sparse_with_bitmask_to_dense(...), scale, 0, 0)``), so a pruned
position decodes to ``(0 - 0) * scale + 0``: exactly zero. The zero point is therefore 0
(symmetric integer codes, or FP8).

The weight is rebuilt densely one chunk of rows at a time (never a full-size copy). With the
output channels along axis 0 each chunk holds whole channels: its parameters are chosen
(min/max or the MSE search) and its values encoded at once. Along another axis the channel
ranges are reduced over all chunks first (min/max parameters).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from coreai_opt.numerics import quantization as q

CHUNK_ELEMENTS = 1 << 17


@dataclass(frozen=True)
class PackedMask:
    """A ``ui1`` mask kept packed as stored (bit i of byte k is element 8k + i, coreai-ir.md
    §5): rows are unpacked on demand, so a weight-sized bool copy is never made."""

    packed: np.ndarray
    shape: tuple[int, ...]

    @property
    def ndim(self) -> int:
        """The mask's rank."""
        return len(self.shape)

    def rows(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` (axis 0) as a bool array."""
        stop = min(stop, self.shape[0])
        row = int(np.prod(self.shape[1:], dtype=np.int64))
        first_bit, last_bit = start * row, stop * row
        chunk = self.packed[first_bit // 8 : -(-last_bit // 8)]
        bits = np.unpackbits(chunk, bitorder="little")
        offset = first_bit % 8
        flat = bits[offset : offset + last_bit - first_bit].view(bool)
        return flat.reshape((stop - start, *self.shape[1:]))

    def count(self) -> int:
        """Number of set bits (kept weights)."""
        step = max(1, CHUNK_ELEMENTS * 8 // max(1, int(np.prod(self.shape[1:], dtype=np.int64))))
        return sum(
            int(np.count_nonzero(self.rows(a, a + step))) for a in range(0, self.shape[0], step)
        )


Mask = np.ndarray | PackedMask


def _mask_rows(mask: Mask, start: int, stop: int) -> np.ndarray:
    if isinstance(mask, PackedMask):
        return mask.rows(start, stop)
    return np.asarray(mask[start:stop], dtype=bool)


def _mask_count(mask: Mask) -> int:
    return mask.count() if isinstance(mask, PackedMask) else int(np.count_nonzero(mask))


def _row_step(shape: tuple[int, ...]) -> int:
    row = max(1, int(np.prod(shape[1:], dtype=np.int64)))
    return max(1, CHUNK_ELEMENTS // row)


def _dense_chunks(values: np.ndarray, mask: Mask):
    """(rows, dense chunk in the values' dtype, chunk mask, slice of the values) per chunk."""
    step = _row_step(mask.shape)
    start = 0
    for first in range(0, mask.shape[0], step):
        rows = slice(first, min(first + step, mask.shape[0]))
        chunk_mask = _mask_rows(mask, rows.start, rows.stop)
        count = int(np.count_nonzero(chunk_mask))
        dense = np.zeros(chunk_mask.shape, dtype=values.dtype)
        dense[chunk_mask] = values[start : start + count]
        yield rows, dense, chunk_mask, slice(start, start + count)
        start += count
    if start != values.size:
        raise ValueError(f"mask has {start} set bits but there are {values.size} values")


def _channel_params(
    dense: np.ndarray, axis: int, element: np.dtype | None, algorithm: str
) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (scale, zero point) of a dense chunk holding whole channels (axis 0)."""
    from coreai_opt.numerics import search

    blocks = (1,) + (0,) * (dense.ndim - 1)
    if element is None:
        if algorithm == "mse":
            scale, zero_point, _ = search.search_qparams_int(dense, 8, True, True, blocks)
            return scale, zero_point
        return q.choose_qparams_int(dense, 8, True, True, blocks)
    if algorithm == "mse":
        return search.search_qparams_fp8(dense, element, blocks, mx=False)
    return q.choose_qparams_fp8(dense, element, blocks, mx=False)


def _derive(amax: np.ndarray, storage: np.dtype, element: np.dtype | None) -> np.ndarray:
    """Min/max scales from channel maxima, as the dense quantizers store them."""
    if element is None:
        codec = q._integer_codec(8, True, True, storage)
    else:
        codec = q._scaled_float_codec(element, storage)
    return codec.derive(-amax, amax)[0]


def _encode(
    dense: np.ndarray, scale: np.ndarray, element: np.dtype | None, algorithm: str
) -> np.ndarray:
    if element is None:
        low = -128 if algorithm == "mse" else -127
        zero = np.zeros(scale.shape, np.int8)
        return q.quantize_with_qparams(dense, scale, zero, np.int8, low, 127).data
    return q.quantize_with_qparams(dense, scale, None, element).data


def _rows_rtn(
    values: np.ndarray,
    mask: Mask,
    element: np.dtype | None,
    codes: np.ndarray,
    param_shape: tuple[int, ...],
) -> tuple[np.ndarray, np.ndarray]:
    """Min/max per-row scales straight from the values (channels along axis 0).

    The values of a row are contiguous, so a row's max |w| is a ``reduceat`` over its run
    and each value's divisor a ``repeat`` of its row's scale: no densified copy. The codes
    are computed as the dense encoder computes them (``clip(rint(w / s))``, or the FP8 cast).
    """
    rows_total = mask.shape[0]
    row = max(1, int(np.prod(mask.shape[1:], dtype=np.int64)))
    step = max(1, (8 * CHUNK_ELEMENTS) // row)
    storage = values.dtype
    compute = np.dtype(np.float64 if storage == np.float64 else np.float32)
    scales = []
    start = 0
    for first in range(0, rows_total, step):
        chunk_mask = _mask_rows(mask, first, first + step)
        counts = np.count_nonzero(chunk_mask.reshape(chunk_mask.shape[0], -1), axis=1)
        total = int(counts.sum())
        segment = np.asarray(values[start : start + total], dtype=compute)
        amax = np.zeros(counts.size, dtype=np.float64)
        filled = counts > 0
        if total:
            starts = (np.cumsum(counts) - counts)[filled]
            amax[filled] = np.maximum.reduceat(np.abs(segment), starts)
        if not np.isfinite(amax).all():
            raise q.NonFiniteWeightError("weight contains NaN or Inf")
        scale = _derive(amax, storage, element)
        divisor = np.repeat(scale.astype(compute), counts)
        scaled = segment / divisor
        if element is None:
            np.rint(scaled, out=scaled)
            np.clip(scaled, -127, 127, out=scaled)
            codes[start : start + total] = scaled
        else:
            top = q._max_finite(element)
            np.clip(scaled, -top, top, out=scaled)
            codes[start : start + total] = scaled.astype(element)
        scales.append(scale)
        start += total
    if start != values.size:
        raise ValueError(f"mask has {start} set bits but there are {values.size} values")
    return codes, np.concatenate(scales).reshape(param_shape)


def quantize_sparse_values(
    values: np.ndarray,
    mask: Mask,
    output_axis: int,
    element: npt.DTypeLike | None = None,
    algorithm: str = "rtn",
) -> tuple[np.ndarray, np.ndarray]:
    """(codes of the values, per-output-channel scale) for int8 (``element=None``) or FP8.

    ``mask``: a bool array of the dense shape, or a `PackedMask` (the stored bits).

    The scale has the mask's rank, the channel count along ``output_axis`` and 1 elsewhere,
    in the values' float dtype. ``algorithm="mse"`` searches each channel's scale (output
    axis 0; along another axis the min/max scale is used).
    """
    element = None if element is None else np.dtype(element)
    codes_dtype = np.dtype(np.int8) if element is None else element
    codes = np.empty(values.shape, dtype=codes_dtype)
    if mask.ndim == 0 or values.ndim != 1:
        raise ValueError("sparse values must be 1-D with a mask of rank >= 1")
    set_bits = _mask_count(mask)
    if set_bits != values.size:
        raise ValueError(f"mask has {set_bits} set bits but there are {values.size} values")
    param_shape = tuple(d if a == output_axis else 1 for a, d in enumerate(mask.shape))
    if output_axis == 0 and algorithm == "rtn":
        return _rows_rtn(values, mask, element, codes, param_shape)
    if output_axis == 0:
        scales = []
        for _rows, dense, chunk_mask, where in _dense_chunks(values, mask):
            scale, _ = _channel_params(dense, 0, element, algorithm)
            codes[where] = _encode(dense, scale, element, algorithm)[chunk_mask]
            scales.append(scale)
        return codes, np.concatenate(scales).reshape(param_shape)
    others = tuple(a for a in range(mask.ndim) if a != output_axis)
    amax = np.zeros(param_shape, dtype=np.float64)
    for _rows, dense, _mask, _where in _dense_chunks(values, mask):
        chunk_max = np.abs(dense).max(axis=others, keepdims=True).astype(np.float64)
        np.maximum(amax, chunk_max, out=amax)
    if not np.isfinite(amax).all():
        raise q.NonFiniteWeightError("weight contains NaN or Inf")
    scale = _derive(amax, values.dtype, element)
    for _rows, dense, chunk_mask, where in _dense_chunks(values, mask):
        codes[where] = _encode(dense, scale, element, algorithm)[chunk_mask]
    return codes, scale
