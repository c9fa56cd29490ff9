"""Magnitude pruning masks and the bitmask sparse format (pure numpy).

Mask convention everywhere: a boolean array of the weight's shape, True = kept, False = pruned.

Counting rule: a pruning of ``n`` candidates at sparsity ``s`` prunes exactly ``round(n * s)`` of
them, with Python's built-in ``round`` applied to the float product ``n * s`` (round half to
even: 2.5 -> 2, 3.5 -> 4). Ties in magnitude are broken by position: among equal magnitudes the
one with the lower row-major flat index (or lower block index / lower position in the group) is
pruned first. NaN counts as larger than any finite value or infinity, so it is pruned last.

Magnitudes are compared exactly: float16/32/64 weights are ranked by their bit pattern with the
sign bit cleared (for non-negative IEEE floats the bit-pattern order is the value order, and
-0.0 equals +0.0); any other dtype (bfloat16, float8, integers) is ranked by its absolute value in
float64, which is exact for all of them. Work is done in chunks so that the extra memory is the
output mask plus a few megabytes, never a widened copy of the whole tensor.
"""

from collections.abc import Iterator
from math import isfinite

import numpy as np
import numpy.typing as npt

# Elements per chunk of streaming work: large enough to amortise Python overhead, small enough
# for the temporaries (a few bytes per element) to stay in the low megabytes.
_CHUNK = 1 << 20
_DIGIT_BITS = 16
# Up to this group size n:m ranks by pairwise column comparisons (fast for small m).
_PAIRWISE_MAX_M = 32
_NATIVE_KEY_TYPES: dict[np.dtype, type[np.unsignedinteger]] = {
    np.dtype(np.float16): np.uint16,
    np.dtype(np.float32): np.uint32,
    np.dtype(np.float64): np.uint64,
}


# ---------------------------------------------------------------------------------------------
# Parameter checks
# ---------------------------------------------------------------------------------------------


def _check_sparsity(target_sparsity: float) -> float:
    sparsity_value = float(target_sparsity)
    if not (isfinite(sparsity_value) and 0.0 <= sparsity_value <= 1.0):
        raise ValueError(f"target_sparsity must be in [0, 1], got {target_sparsity!r}")
    return sparsity_value


def _pruned_count(count: int, target_sparsity: float) -> int:
    """Number of candidates pruned: Python ``round(count * s)`` (half to even)."""
    return round(count * _check_sparsity(target_sparsity))


def _normalize_axis(axis: int, ndim: int, name: str) -> int:
    if ndim == 0:
        raise ValueError(f"{name}: cannot prune a rank-0 weight")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name} {axis} is out of range for a rank-{ndim} weight")
    return axis % ndim


def _check_mask(mask: np.ndarray) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.dtype != np.bool_:
        raise ValueError(f"mask must be a bool array, got dtype {mask.dtype}")
    return mask


# ---------------------------------------------------------------------------------------------
# Exact magnitude keys
# ---------------------------------------------------------------------------------------------


def _key_dtype(dtype: np.dtype) -> type[np.unsignedinteger]:
    return _NATIVE_KEY_TYPES.get(np.dtype(dtype), np.uint64)


def _magnitude_keys(values: np.ndarray) -> np.ndarray:
    """Unsigned integers whose order is the order of ``|values|`` (exact, ties preserved)."""
    key_type = _NATIVE_KEY_TYPES.get(values.dtype)
    if key_type is None:
        # Exact for every narrower float format and for integers up to 2**53.
        return np.abs(values.astype(np.float64)).view(np.uint64)
    sign_cleared = np.iinfo(key_type).max >> 1
    return values.view(key_type) & key_type(sign_cleared)


def _flat_chunks(size: int) -> Iterator[slice]:
    for start in range(0, size, _CHUNK):
        yield slice(start, min(start + _CHUNK, size))


def _kth_smallest_key(flat: np.ndarray, rank: int) -> tuple[int, int]:
    """Radix-select the key of the ``rank``-th smallest magnitude (1-based).

    Returns ``(threshold_key, ties_to_prune)``: the ``rank`` smallest are every element whose key
    is below ``threshold_key`` plus the first ``ties_to_prune`` elements equal to it. One
    streaming histogram pass per 16-bit digit of the key (one pass for float16).
    """
    key_bits = np.dtype(_key_dtype(flat.dtype)).itemsize * 8
    prefix = 0
    remaining = rank
    for level in range(key_bits // _DIGIT_BITS):
        shift = key_bits - _DIGIT_BITS * (level + 1)
        histogram = np.zeros(1 << _DIGIT_BITS, dtype=np.int64)
        for chunk in _flat_chunks(flat.size):
            keys = _magnitude_keys(flat[chunk])
            if level > 0:
                keys = keys[(keys >> (shift + _DIGIT_BITS)) == prefix]
            digits = keys if key_bits == _DIGIT_BITS else (keys >> shift) & ((1 << _DIGIT_BITS) - 1)
            histogram += np.bincount(digits.astype(np.intp), minlength=1 << _DIGIT_BITS)
        cumulative = np.cumsum(histogram)
        digit = int(np.searchsorted(cumulative, remaining, side="left"))
        if digit > 0:
            remaining -= int(cumulative[digit - 1])
        prefix = (prefix << _DIGIT_BITS) | digit
    return prefix, remaining


def _threshold_mask(flat: np.ndarray, threshold_key: int, ties_to_prune: int) -> np.ndarray:
    """Keep keys above the threshold, and the ties at it after the first ``ties_to_prune``."""
    threshold = _key_dtype(flat.dtype)(threshold_key)
    mask = np.empty(flat.size, dtype=np.bool_)
    for chunk in _flat_chunks(flat.size):
        keys = _magnitude_keys(flat[chunk])
        if ties_to_prune == 0:
            np.greater_equal(keys, threshold, out=mask[chunk])
            continue
        np.greater(keys, threshold, out=mask[chunk])
        tie_positions = np.flatnonzero(keys == threshold)
        if tie_positions.size <= ties_to_prune:
            ties_to_prune -= tie_positions.size
            continue
        mask[chunk][tie_positions[ties_to_prune:]] = True
        ties_to_prune = 0
    return mask


# ---------------------------------------------------------------------------------------------
# Masks
# ---------------------------------------------------------------------------------------------


def unstructured_mask(weight: np.ndarray, target_sparsity: float) -> np.ndarray:
    """Magnitude-prune exactly ``round(weight.size * target_sparsity)`` values (ties by flat index).

    O(n) radix select on exact magnitude keys; extra memory is the mask plus chunk temporaries
    (a non-C-contiguous ``weight`` is first copied to row-major order).
    """
    weight = np.asarray(weight)
    flat = weight.reshape(-1)
    pruned = _pruned_count(flat.size, target_sparsity)
    if pruned == 0:
        return np.ones(weight.shape, dtype=np.bool_)
    if pruned == flat.size:
        return np.zeros(weight.shape, dtype=np.bool_)
    threshold_key, ties_to_prune = _kth_smallest_key(flat, pruned)
    return _threshold_mask(flat, threshold_key, ties_to_prune).reshape(weight.shape)


def _channel_sum_squares(weight: np.ndarray, axis: int) -> np.ndarray:
    """Float64 sum of squares of every slice along ``axis``, streamed in bounded chunks."""
    channels = weight.shape[axis]
    outer = int(np.prod(weight.shape[:axis], dtype=np.int64))
    inner = int(np.prod(weight.shape[axis + 1 :], dtype=np.int64))
    grid = weight.reshape(outer, channels, inner)
    sums = np.zeros(channels, dtype=np.float64)
    rows_per_chunk = max(1, _CHUNK // max(1, channels * inner))
    for start in range(0, outer, rows_per_chunk):
        block = grid[start : start + rows_per_chunk]
        channel_step = max(1, _CHUNK // max(1, block.shape[0] * inner))
        for first in range(0, channels, channel_step):
            part = block[:, first : first + channel_step].astype(np.float64)
            sums[first : first + channel_step] += np.einsum("ijk,ijk->j", part, part)
    return sums


def block_mask(
    weight: np.ndarray, target_sparsity: float, block_size: int, output_axis: int
) -> np.ndarray:
    """Prune exactly ``round(n_blocks * s)`` blocks of ``block_size`` consecutive output channels.

    Blocks are ranked by their L2 norm (computed in float64); ties prune the lower block index
    first. Raises ValueError when the output dimension is not divisible by ``block_size``.
    """
    weight = np.asarray(weight)
    axis = _normalize_axis(output_axis, weight.ndim, "output_axis")
    if block_size < 1:
        raise ValueError(f"block_size must be a positive integer, got {block_size}")
    channels = weight.shape[axis]
    if channels % block_size != 0:
        raise ValueError(
            f"output dimension {channels} (axis {output_axis}) is not divisible by "
            f"block_size {block_size}"
        )
    n_blocks = channels // block_size
    pruned = _pruned_count(n_blocks, target_sparsity)
    block_energy = _channel_sum_squares(weight, axis).reshape(n_blocks, block_size).sum(axis=1)
    kept_blocks = np.ones(n_blocks, dtype=np.bool_)
    kept_blocks[np.argsort(block_energy, kind="stable")[:pruned]] = False
    channel_shape = [1] * weight.ndim
    channel_shape[axis] = channels
    kept_channels = np.repeat(kept_blocks, block_size).reshape(channel_shape)
    return np.broadcast_to(kept_channels, weight.shape).copy()


def _keep_largest_in_groups(keys: np.ndarray, n: int) -> np.ndarray:
    """Mask of an (R, m, inner) key array with the n smallest along axis 1 pruned.

    Ties prune the lower position along axis 1 first.
    """
    m = keys.shape[1]
    if m > _PAIRWISE_MAX_M:
        order = np.argsort(keys, axis=1, kind="stable")
        keep = np.ones(keys.shape, dtype=np.bool_)
        np.put_along_axis(keep, order[:, :n], False, axis=1)
        return keep
    # Rank of each position within its group = how many positions precede it in (key, position)
    # order; one vectorized comparison per position pair, on contiguous slices.
    positions = np.ascontiguousarray(keys.transpose(1, 0, 2))
    rank = np.zeros(positions.shape, dtype=np.uint8)
    for first in range(m):
        for second in range(first + 1, m):
            first_is_smaller = positions[first] <= positions[second]
            rank[second] += first_is_smaller
            rank[first] += ~first_is_smaller
    return (rank >= n).transpose(1, 0, 2)


def n_m_mask(weight: np.ndarray, n: int, m: int, input_axis: int) -> np.ndarray:
    """Prune the ``n`` smallest magnitudes of every ``m`` consecutive values along ``input_axis``.

    Ties prune the earlier position first. Raises ValueError when the input dimension is not
    divisible by ``m`` or ``not 0 <= n <= m``.
    """
    weight = np.asarray(weight)
    axis = _normalize_axis(input_axis, weight.ndim, "input_axis")
    if m < 1 or not 0 <= n <= m:
        raise ValueError(f"n:m ratio must satisfy 0 <= n <= m and m >= 1, got {n}:{m}")
    width = weight.shape[axis]
    if width % m != 0:
        raise ValueError(f"input dimension {width} (axis {input_axis}) is not divisible by m={m}")
    mask = np.ones(weight.shape, dtype=np.bool_)
    if n == 0 or weight.size == 0:
        return mask
    # (groups, m, inner) views of the row-major layout: no transposed copy of the weight.
    inner = int(np.prod(weight.shape[axis + 1 :], dtype=np.int64))
    groups = weight.reshape(-1, m, inner)
    group_mask = mask.reshape(groups.shape)
    groups_per_chunk = max(1, _CHUNK // (m * inner))
    for start in range(0, groups.shape[0], groups_per_chunk):
        chunk = slice(start, start + groups_per_chunk)
        group_mask[chunk] = _keep_largest_in_groups(_magnitude_keys(groups[chunk]), n)
    return mask


# ---------------------------------------------------------------------------------------------
# Bitmask sparse format
# ---------------------------------------------------------------------------------------------


def values_from_mask(weight: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Kept values of ``weight`` as a 1-D array in row-major order (``weight[mask]``)."""
    weight = np.asarray(weight)
    mask = _check_mask(mask)
    if mask.shape != weight.shape:
        raise ValueError(f"mask shape {mask.shape} does not match weight shape {weight.shape}")
    flat = weight.reshape(-1)
    flat_mask = mask.reshape(-1)
    values = np.empty(int(np.count_nonzero(flat_mask)), dtype=weight.dtype)
    written = 0
    # np.extract per chunk is several times faster than boolean indexing on random masks.
    for chunk in _flat_chunks(flat.size):
        kept = np.extract(flat_mask[chunk], flat[chunk])
        values[written : written + kept.size] = kept
        written += kept.size
    return values


def dense_from_sparse(
    values: np.ndarray, mask: np.ndarray, dtype: npt.DTypeLike = None
) -> np.ndarray:
    """Reference ``coreai.sparse_with_bitmask_to_dense``: ``values`` scattered where mask is set.

    Positions where the mask is False are exactly +0. ``dtype`` defaults to the values' dtype.
    Raises ValueError if ``values`` is not 1-D or its length differs from the set-bit count.
    """
    values = np.asarray(values)
    mask = _check_mask(mask)
    if values.ndim != 1:
        raise ValueError(f"values must be 1-D, got shape {values.shape}")
    kept = int(np.count_nonzero(mask))
    if values.size != kept:
        raise ValueError(f"got {values.size} values for a mask with {kept} set bits")
    dense = np.zeros(mask.shape, dtype=values.dtype if dtype is None else dtype)
    dense[mask] = values
    return dense


def pack_mask(mask: np.ndarray) -> np.ndarray:
    """Pack a bool mask as ``ui1``: flat row-major, bit i of byte k is element 8k+i."""
    mask = _check_mask(mask)
    return np.packbits(mask.reshape(-1), bitorder="little")


def unpack_mask(packed: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Inverse of :func:`pack_mask`; rejects a wrong byte count or non-zero padding bits."""
    packed = np.asarray(packed)
    if packed.dtype != np.uint8 or packed.ndim != 1:
        raise ValueError(f"packed mask must be 1-D uint8, got {packed.dtype} {packed.shape}")
    count = int(np.prod(shape, dtype=np.int64))
    expected_bytes = (count + 7) // 8
    if packed.size != expected_bytes:
        raise ValueError(
            f"packed mask has {packed.size} bytes, expected {expected_bytes} for shape {shape}"
        )
    if count % 8 and packed[-1] >> (count % 8):
        raise ValueError("packed mask has non-zero padding bits in its last byte")
    bits = np.unpackbits(packed, count=count, bitorder="little")
    return bits.view(np.bool_).reshape(shape)


def sparsity(mask: np.ndarray) -> float:
    """Fraction of pruned (False) entries; 0.0 for an empty mask."""
    mask = _check_mask(mask)
    if mask.size == 0:
        return 0.0
    return 1.0 - np.count_nonzero(mask) / mask.size
