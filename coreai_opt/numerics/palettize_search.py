"""Error-minimising parameters for palettization (``palettize<algorithm=mse>``).

Two parameters of a palettized weight are chosen by min/max rules in the default path:

- the **per-channel scale** (``enable_per_channel_scale``) is each output channel's max |w|;
  with the clustering done, the least-squares scale of a channel for its indices is
  ``s = Σ w·v / Σ v²`` (``v`` the LUT value each weight decodes to), and its error
  ``Σw² − 2sΣwv + s²Σv²`` is known in closed form, so each channel keeps whichever of the
  two stored scales has the smaller error (then the indices are re-assigned to the nearest
  entry under it, which can only lower the error further);
- the **LUT quantization** (``lut_dtype``) scale of each LUT is ``max|entry| / 127`` (or the
  FP8 maximum); the search also tries a few smaller ratios and the least-squares refit of the
  codes, measuring each candidate's error on the entries weighted by how many weights use
  them, and keeps the best (the min/max scale is a candidate, so never worse on that measure).

Both work from per-(channel, entry) statistics gathered chunk by chunk with ``np.bincount``
(sums of the weights and counts), never a weight-sized float copy.
"""

from __future__ import annotations

import numpy as np

from coreai_opt.numerics import palettization as p
from coreai_opt.numerics.quantization import limit_scale

CHUNK_ELEMENTS = 1 << 20
LUT_RATIOS: tuple[float, ...] = (1.0, 0.995, 0.99, 0.98, 0.97, 0.95, 0.92, 0.9)


def channel_entry_stats(
    weight: np.ndarray | None, indices: np.ndarray, axis: int, entries: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per output channel and LUT entry: (Σ w, count), and per channel Σ w², in float64.

    ``axis`` is the output-channel axis; shapes ``(C, entries)``, ``(C, entries)``, ``(C,)``.
    Without a weight only the counts are gathered (the sums stay zero).
    """
    channels = indices.shape[axis]
    sums = np.zeros(channels * entries)
    counts = np.zeros(channels * entries)
    squares = np.zeros(channels)
    row = max(1, int(np.prod(indices.shape[1:], dtype=np.int64)))
    step = max(1, CHUNK_ELEMENTS // row)
    shape = [1] * indices.ndim
    shape[axis] = -1
    for start in range(0, indices.shape[0], step):
        idx = np.asarray(indices[start : start + step], dtype=np.intp)
        if axis == 0:
            channel = np.arange(start, start + idx.shape[0]).reshape(shape)
        else:
            channel = np.arange(channels).reshape(shape)
        channel = np.broadcast_to(channel, idx.shape).ravel()
        keys = channel * entries + idx.ravel()
        counts += np.bincount(keys, minlength=counts.size)
        if weight is None:
            continue
        w = np.asarray(weight[start : start + step], dtype=np.float64).ravel()
        sums += np.bincount(keys, weights=w, minlength=sums.size)
        squares += np.bincount(channel, weights=np.square(w), minlength=channels)
    return sums.reshape(channels, entries), counts.reshape(channels, entries), squares


def _lut_per_channel(lut: np.ndarray, axis: int, channels: int) -> np.ndarray:
    """``(C, entries)`` float64 LUT values each channel decodes with (scalar LUTs)."""
    groups = lut.shape[axis]
    tables = lut.astype(np.float64).reshape(groups, lut.shape[-2])
    return np.repeat(tables, channels // groups, axis=0)


def _channel_products(
    weight: np.ndarray, indices: np.ndarray, values: np.ndarray, axis: int, shared: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per channel ``Σ w·v``, ``Σ v²`` and ``Σ w²`` (float64), ``v = values[channel, index]``
    (``shared``: every channel has the same table).

    Row chunks: each weight's decoded value is gathered from its channel's table (never a
    weight-sized copy); long rows are summed by numpy's reductions (a BLAS matrix-vector
    product would start threads that wait for each other on a loaded machine).
    """
    channels, entries = values.shape
    cross, energy, squares = np.zeros(channels), np.zeros(channels), np.zeros(channels)
    row = max(1, int(np.prod(weight.shape[1:], dtype=np.int64)))
    step = max(1, CHUNK_ELEMENTS // row)
    flat = values.astype(np.float32).reshape(-1)
    for start in range(0, weight.shape[0], step):
        w = np.moveaxis(np.asarray(weight[start : start + step], dtype=np.float32), axis, 0)
        idx = np.moveaxis(np.asarray(indices[start : start + step]), axis, 0)
        w = w.reshape(w.shape[0], -1)
        idx = idx.reshape(w.shape)
        first = start if axis == 0 else 0
        if shared:
            v = flat[:entries][idx]
        else:
            offsets = (np.arange(first, first + w.shape[0]) * entries)[:, None]
            v = flat[idx + offsets]
        target = slice(first, first + w.shape[0])
        cross[target] += np.add.reduce(w * v, axis=1)
        energy[target] += np.add.reduce(np.square(v), axis=1)
        squares[target] += np.add.reduce(np.square(w), axis=1)
    return cross, energy, squares


def refit_channel_scale(
    weight: np.ndarray,
    indices: np.ndarray,
    lut: np.ndarray,
    axis: int,
    channel_scale: np.ndarray,
) -> np.ndarray:
    """Per-channel scales (same shape and dtype) with the smaller squared error per channel:
    the given (max |w|) one or the least-squares one for these indices and LUT."""
    values = _lut_per_channel(lut, axis, weight.shape[axis])
    shared = lut.shape[axis] == 1
    cross, energy, squares = _channel_products(weight, indices, values, axis, shared)
    old = channel_scale.reshape(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        fitted = np.where(energy > 0, cross / energy, np.nan)
    usable = np.isfinite(fitted) & (fitted > 0)
    reach = np.abs(values).max(axis=1)
    stored = np.where(usable, fitted, 1.0).astype(old.dtype)
    stored = limit_scale(stored, np.maximum(reach, 1e-300).astype(np.float64))

    def error(scale: np.ndarray) -> np.ndarray:
        s = scale.astype(np.float64)
        return squares - 2 * s * cross + s * s * energy

    better = usable & (error(stored) < error(old))
    return np.where(better, stored, old).reshape(channel_scale.shape)


def lut_populations(indices: np.ndarray, lut: np.ndarray, axis: int) -> np.ndarray:
    """How many weights use each entry of each LUT: shape ``lut.shape[:-1]``."""
    entries = lut.shape[-2]
    channels = indices.shape[axis]
    groups = lut.shape[axis]
    _, counts, _ = channel_entry_stats(None, indices, axis, entries)
    per_group = counts.reshape(groups, channels // groups, entries).sum(axis=1)
    return per_group.reshape(lut.shape[:-1])


def quantize_lut_mse(
    lut: np.ndarray,
    dtype: object,
    limit: np.ndarray | None,
    populations: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`palettization.quantize_lut` with each LUT's scale searched: ``(q, scale, zero point)``.

    Candidates: the min/max scale times `LUT_RATIOS` and the population-weighted
    least-squares refit of the min/max codes; the error of a candidate is
    ``Σ population · (entry − decoded)²`` over its LUT (vector entries summed).
    """
    q0, scale0, zero = p.quantize_lut(lut, dtype, limit)
    values = lut.astype(np.float64)
    weights = populations[..., None].astype(np.float64)

    def decode(q: np.ndarray, scale: np.ndarray) -> np.ndarray:
        return p.dequantize_lut(q, scale, zero, np.float64)

    def error(q: np.ndarray, scale: np.ndarray) -> np.ndarray:
        return (weights * np.square(values - decode(q, scale))).sum(axis=(-2, -1))

    best_q, best_scale, best_error = q0, scale0, error(q0, scale0)
    centred = q0.astype(np.float64) - zero.astype(np.float64)[..., None, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        refit = (weights * values * centred).sum(axis=(-2, -1)) / (weights * centred * centred).sum(
            axis=(-2, -1)
        )
    candidates = [scale0.astype(np.float64) * r for r in LUT_RATIOS[1:]]
    candidates.append(np.where(np.isfinite(refit) & (refit > 0), refit, scale0))
    for wanted in candidates:
        stored = wanted.astype(scale0.dtype)
        if not (stored.astype(np.float64) > 0).all():
            stored = np.where(stored.astype(np.float64) > 0, stored, scale0)
        q, scale = _encode_lut(values, stored, dtype, zero, limit)
        candidate_error = error(q, scale)
        better = candidate_error < best_error
        best_error = np.where(better, candidate_error, best_error)
        best_scale = np.where(better, scale, best_scale)
        best_q = np.where(better[..., None, None], q, best_q)
    return best_q, best_scale, zero


def _encode_lut(
    values: np.ndarray,
    scale: np.ndarray,
    dtype: object,
    zero: np.ndarray,
    limit: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """LUT codes for given scales, encoded as `quantize_lut` does (same rounding and range)."""
    name = str(getattr(dtype, "value", dtype)).lower()
    if name in p._FP8_DTYPES:
        target = p._FP8_DTYPES[name]
        top = p._max_finite(target)
    else:
        top = 127.0
    bound = None if limit is None else np.asarray(limit, dtype=np.float64).reshape(scale.shape)
    scale = limit_scale(scale, top, bound)
    scaled = np.clip(values / scale.astype(np.float64)[..., None, None], -top, top)
    if name in p._FP8_DTYPES:
        return scaled.astype(target), scale
    codes = np.rint(scaled) + zero.astype(np.float64)[..., None, None]
    return codes.astype(zero.dtype), scale
