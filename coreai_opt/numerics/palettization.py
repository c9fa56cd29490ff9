"""Palettization: fit look-up tables (LUTs) of weights, and expand them (pure numpy).

Layout, that of ``coreai.lut_to_dense``: a weight of rank K is described by ``indices``
(uint8, the weight's shape with the vector axis divided by ``V``) and a ``lut`` of shape
``[G0, ..., G(K-1), 2^n_bits, V]`` in the weight's dtype. ``G`` is 1 on every axis except the
group axis, where it is ``dim / group_size``; each output element uses the table of its block.

How the tables are found (``k = 2^n_bits`` entries, scalar case ``V = 1``):

- **One LUT for the tensor**: a histogram over the weight's values, and the globally optimal
  weighted k-means of it (`optimal_kmeans_1d`), unless ``exact=False``. For float16/bfloat16
  the histogram is exact (at most 65536 bit patterns), and so is the optimum. Float32/float64
  tensors of up to `EXACT_DISTINCT_LIMIT` (65536) values use their exact distinct values;
  larger ones are binned at float16 precision (10 mantissa bits, full float32 exponent
  range), each bin represented by the mean of its values, and the optimum over the bins
  (bins are never split, a far smaller effect than the quantization itself) is refined by
  `EXACT_REFINEMENT_PASSES` Lloyd steps on the real values, which can only lower the error.
- **One LUT per channel or group of channels**: `kmeans.fit_problems` on all groups of a batch
  at once (exact k-means of a companded coarse summary then Lloyd; for many clusters per
  point, Lloyd then an exact re-optimisation of every boundary within a window), over a
  per-group histogram (16-bit floats, groups of at least a quarter of the 65536 patterns) or
  over each group's sorted values. ``exact=True`` runs the exact programme for every group
  instead (much slower).
- Entries are rounded to the weight's dtype and every value is then assigned to the nearest
  rounded entry (ties to the upper one), so the indices are optimal for the table stored.
- Batches have a fixed size and write disjoint slices, so results do not depend on
  ``num_workers``.

NaN weights count as 0 and +-inf as the largest finite value of the dtype (the passes skip
such weights before they get here: passes/compression.py).

Vector palettization (``V > 1``, V consecutive values along the group axis share an entry):
k-means++ then Lloyd on up to `kmeans.MAX_VECTOR_FIT_POINTS` vectors per LUT, drawn with a
fixed seed; every vector is then assigned to its nearest entry.

`quantize_lut` stores LUT entries as int8 / uint8 / fp8 with one scale per LUT (never one for
the whole tensor); `dequantize_lut` is the matching ``cast`` + ``blockwise_shift_scale``.
"""

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from coreai_opt.numerics import kmeans
from coreai_opt.numerics.finite import (
    WEIGHT_DTYPE_NAMES,
    float_info,
    is_weight_dtype,
    ml_dtype,
)
from coreai_opt.numerics.quantization import limit_scale

SUPPORTED_N_BITS = (1, 2, 3, 4, 6, 8)
LUT_DTYPES = ("int8", "uint8", "fp8_e4m3fn", "fp8_e5m2")
# Zero point of uint8 LUT entries: symmetric, as unsigned symmetric quantization elsewhere
# (codes 0..254, 127 is zero).
UINT8_ZERO_POINT = 127
# Values handled per batch (bounds the temporaries: about 40 bytes per value).
BATCH_VALUES = 1 << 20
# Bound on the exact programme's argmin tables per batch (uint16 entries: 64 MiB).
EXACT_TABLE_VALUES = 1 << 25
# Maximum Lloyd iterations (most problems stop much earlier, when no boundary moves).
LLOYD_ITERATIONS = 100
# Float32/float64 tensors up to this size are clustered on their exact distinct values; larger
# ones on bins (see the module docstring), then refined by Lloyd steps on the real values.
# The exact programme on n distinct values costs O(k n log n): 14 s for a 6-bit LUT of a
# 384x1536 f32 weight, against 0.3 s binned (the same SNR to 4 decimals on MiniLM's weights).
EXACT_DISTINCT_LIMIT = 1 << 16
EXACT_REFINEMENT_PASSES = 2
# Mantissa bits dropped when binning float32/float64 values (23 - 13 = 10 kept, as float16).
_WIDE_BIN_SHIFT = 13
# Seed of the vector k-means (with the group number), so results are reproducible.
_VECTOR_SEED = 0x9A1E77E
# LUT dtype name -> ml_dtypes type name (ml_dtypes is imported only when one is used).
_FP8_DTYPES = {"fp8_e4m3fn": "float8_e4m3fn", "fp8_e5m2": "float8_e5m2"}


@dataclass(frozen=True)
class _Layout:
    """Where the LUTs of a weight sit: ``groups`` tables along ``axis``, k entries of V values."""

    shape: tuple[int, ...]
    axis: int
    groups: int
    group_size: int
    vector: int
    k: int

    @property
    def values_per_group(self) -> int:
        return self.group_size * int(np.prod(self.shape)) // self.shape[self.axis]

    @property
    def index_shape(self) -> tuple[int, ...]:
        shape = list(self.shape)
        shape[self.axis] //= self.vector
        return tuple(shape)

    @property
    def lut_shape(self) -> tuple[int, ...]:
        groups = [1] * len(self.shape)
        groups[self.axis] = self.groups
        return (*groups, self.k, self.vector)


def _normalise_axis(axis: int, rank: int, name: str) -> int:
    if isinstance(axis, bool) or not isinstance(axis, int | np.integer) or not -rank <= axis < rank:
        raise ValueError(f"`{name}` must be an axis in [{-rank}, {rank - 1}], got {axis!r}")
    return int(axis) % rank


def _check_weight(weight: np.ndarray) -> None:
    if not is_weight_dtype(weight.dtype):
        allowed = list(WEIGHT_DTYPE_NAMES)
        raise ValueError(f"Unsupported weight dtype {weight.dtype}: must be one of {allowed}")
    if weight.ndim == 0 or weight.size == 0:
        raise ValueError(f"weight must have rank >= 1 and elements, got shape {weight.shape}")


def _layout(
    shape: tuple[int, ...],
    n_bits: int,
    group_axis: int,
    group_size: int,
    cluster_dim: int,
    vector_axis: int | None,
) -> _Layout:
    if isinstance(n_bits, bool) or n_bits not in SUPPORTED_N_BITS:
        raise ValueError(f"`n_bits` must be one of {list(SUPPORTED_N_BITS)}, got {n_bits!r}")
    axis = _normalise_axis(group_axis, len(shape), "group_axis")
    dim = shape[axis]
    if isinstance(group_size, bool) or not isinstance(group_size, int | np.integer):
        raise ValueError(f"`group_size` must be a non-negative integer, got {group_size!r}")
    if group_size < 0 or (group_size > 0 and dim % group_size):
        raise ValueError(
            f"`group_size` must be 0 (one LUT) or divide the group axis size {dim}, "
            f"got {group_size}"
        )
    size = dim if group_size == 0 else int(group_size)
    if isinstance(cluster_dim, bool) or not isinstance(cluster_dim, int | np.integer):
        raise ValueError(f"`cluster_dim` must be a positive integer, got {cluster_dim!r}")
    if cluster_dim < 1 or size % cluster_dim:
        raise ValueError(
            f"`cluster_dim` must be a positive divisor of the channels per LUT ({size}), "
            f"got {cluster_dim}"
        )
    if vector_axis is not None and _normalise_axis(vector_axis, len(shape), "vector_axis") != axis:
        raise ValueError(
            f"`vector_axis` must be the group axis {axis} (or None), got {vector_axis!r}"
        )
    return _Layout(tuple(shape), axis, dim // size, size, int(cluster_dim), 1 << n_bits)


def _check_channel_scale(scale: np.ndarray, layout: _Layout) -> np.ndarray:
    """Per-channel scale as a positive float64 vector along the group axis."""
    dim = layout.shape[layout.axis]
    scale = np.asarray(scale)
    expected = tuple(dim if i == layout.axis else 1 for i in range(len(layout.shape)))
    if scale.shape not in (expected, (dim,)):
        raise ValueError(f"channel_scale must have shape {expected} or ({dim},), got {scale.shape}")
    flat = scale.astype(np.float64).reshape(dim)
    if not (np.isfinite(flat).all() and (flat > 0).all()):
        raise ValueError("channel_scale must be finite and positive")
    return flat


def _run(work: Callable[[int], None], count: int, num_workers: int) -> None:
    """Run ``work(i)`` for ``i < count``; tasks write disjoint outputs, so order is irrelevant."""
    if num_workers <= 1 or count <= 1:
        for i in range(count):
            work(i)
        return
    with ThreadPoolExecutor(max_workers=min(num_workers, count)) as pool:
        for _ in pool.map(work, range(count)):
            pass


class _Rows:
    """Channel rows of a weight (group axis first), optionally divided by a channel scale."""

    def __init__(self, weight: np.ndarray, axis: int, scale: np.ndarray | None) -> None:
        self.moved = np.moveaxis(weight, axis, 0)
        self.dtype = weight.dtype
        self.scale = scale
        self.width = weight.size // weight.shape[axis]

    def __len__(self) -> int:
        return self.moved.shape[0]

    def block(self, start: int, stop: int) -> np.ndarray:
        """Rows ``[start, stop)`` as a 2-D array of the weight's dtype (divided by the scale)."""
        rows = self.moved[start:stop].reshape(stop - start, self.width)
        if self.scale is None:
            return rows
        scale = self.scale[start:stop, None]
        if self.dtype == np.float64:
            return rows / scale
        return (rows.astype(np.float32) / scale.astype(np.float32)).astype(self.dtype)

    def importance(self, start: int, stop: int) -> np.ndarray | None:
        """Per-value weight of the clustering, ``scale^2`` per row, shape (rows, width)."""
        if self.scale is None:
            return None
        square = self.scale[start:stop, None] ** 2
        return np.broadcast_to(square, (stop - start, self.width))

    def row_chunks(self, rows_per_chunk: int) -> list[tuple[int, int]]:
        step = max(1, rows_per_chunk)
        return [(a, min(a + step, len(self))) for a in range(0, len(self), step)]


def palettize(
    weight: np.ndarray,
    n_bits: int,
    group_axis: int,
    group_size: int,
    cluster_dim: int = 1,
    vector_axis: int | None = None,
    num_workers: int = 1,
    exact: bool | None = None,
    channel_scale: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Fit LUTs of ``2^n_bits`` entries to ``weight``: ``(indices uint8, lut)``.

    ``group_size``: 0 one LUT for the tensor, 1 one per channel of ``group_axis``, g one per g
    consecutive channels. ``cluster_dim`` V > 1 clusters vectors of V consecutive values along
    ``vector_axis`` (which must be the group axis). ``exact``: None picks the exact programme
    for one LUT and the fast batched fit for many; True/False forces exact/fast everywhere.
    ``channel_scale`` (V = 1 only; shape ``[.., C, ..]`` or ``(C,)``, e.g. `per_channel_scale`):
    palettize ``weight / channel_scale``, weighting each value by ``scale^2`` so the error is
    minimised on the weight itself; decode as ``lut_to_dense(...) * channel_scale``.
    Shapes: see the module docstring (``coreai.lut_to_dense`` layout).
    """
    weight = np.asarray(weight)
    _check_weight(weight)
    layout = _layout(weight.shape, n_bits, group_axis, group_size, cluster_dim, vector_axis)
    scale = None
    if channel_scale is not None:
        if layout.vector > 1:
            raise ValueError("`channel_scale` is not supported with `cluster_dim > 1`.")
        scale = _check_channel_scale(channel_scale, layout)
    rows = _Rows(weight, layout.axis, scale)
    indices = np.empty(layout.index_shape, dtype=np.uint8)
    out_rows = np.moveaxis(indices, layout.axis, 0)
    if layout.vector > 1:
        tables = _palettize_vectors(rows, layout, out_rows)
    elif layout.groups == 1:
        tables = _palettize_tensor(rows, layout.k, exact is not False, out_rows, num_workers)
    else:
        tables = _palettize_groups(rows, layout, bool(exact), out_rows, num_workers)
    lut = tables.astype(weight.dtype).reshape(layout.lut_shape)
    return indices, lut


# --------------------------------------------------------------------------------------------
# One LUT for the whole tensor
# --------------------------------------------------------------------------------------------


def _round_table(centroids: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Entries rounded to the weight dtype, back in float64, sorted along the last axis."""
    return np.sort(np.asarray(centroids).astype(dtype).astype(np.float64), axis=-1)


def _index_table(grid: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Nearest-entry index (uint8) of every grid value for sorted entries ``table (..., k)``."""
    mids = 0.5 * (table[..., 1:] + table[..., :-1])
    inner = np.searchsorted(grid, mids, side="left")
    lead = table.shape[:-1]
    edges = np.concatenate(
        (np.zeros((*lead, 1), np.intp), inner, np.full((*lead, 1), grid.size)), axis=-1
    )
    labels = np.broadcast_to(np.arange(table.shape[-1], dtype=np.uint8), table.shape)
    return np.repeat(labels.reshape(-1), np.diff(edges, axis=-1).reshape(-1)).reshape(
        *lead, grid.size
    )


def _fit_histogram(grid: np.ndarray, weights: np.ndarray, k: int, exact: bool) -> np.ndarray:
    """Centroids (k,) of one weighted histogram over a sorted grid."""
    present = weights > 0
    if exact:
        return kmeans.optimal_kmeans_1d(grid[present], weights[present], k)[0]
    samples = int(np.count_nonzero(present))
    problems = kmeans.prefix_problems_grid(grid[present], weights[present][None, :], samples)
    return kmeans.fit_problems(problems, k, LLOYD_ITERATIONS)[0]


def _palettize_tensor(
    rows: _Rows, k: int, exact: bool, out_rows: np.ndarray, num_workers: int
) -> np.ndarray:
    """The table ``(k,)`` of the whole tensor; writes the indices (chunks in parallel)."""
    chunks = rows.row_chunks(BATCH_VALUES // rows.width)
    if kmeans.is_float16_like(rows.dtype):
        codec = kmeans.float16_codec(rows.dtype)
        weights = _histogram16(rows, chunks, codec)
        table = _round_table(_fit_histogram(codec.value_of_key, weights, k, exact), rows.dtype)
        by_pattern = _index_table(codec.value_of_key, table)[codec.key_of_pattern]

        def assign(i: int) -> None:
            start, stop = chunks[i]
            patterns = rows.block(start, stop).view(np.uint16)
            out_rows[start:stop] = by_pattern[patterns].reshape(out_rows[start:stop].shape)

    else:
        if rows.width * len(rows) <= EXACT_DISTINCT_LIMIT:
            points, weights = _distinct_values(rows)
            centroids = _fit_histogram(points, weights, k, exact)
        else:
            points, weights = _wide_histogram(rows, chunks)
            centroids = _fit_histogram(points, weights, k, exact)
            for _ in range(EXACT_REFINEMENT_PASSES):
                centroids = _refine_on_values(rows, chunks, np.sort(centroids))
        table = _round_table(centroids, rows.dtype)
        mids = 0.5 * (table[1:] + table[:-1])

        def assign(i: int) -> None:
            start, stop = chunks[i]
            values = kmeans.clean_float64(rows.block(start, stop))
            labels = np.searchsorted(mids, values, side="right").astype(np.uint8)
            out_rows[start:stop] = labels.reshape(out_rows[start:stop].shape)

    _run(assign, len(chunks), num_workers)
    return table


def _histogram16(
    rows: _Rows, chunks: Sequence[tuple[int, int]], codec: kmeans.Float16Codec
) -> np.ndarray:
    """Histogram over the codec's keys (counts, or sums of importance weights)."""
    if rows.scale is None:
        # Count bit patterns, then merge the patterns of one key (+-0): no per-value lookup.
        by_pattern = np.zeros(1 << 16, dtype=np.int64)
        for start, stop in chunks:
            patterns = rows.block(start, stop).view(np.uint16).reshape(-1)
            by_pattern += np.bincount(patterns, minlength=1 << 16)
        return np.bincount(codec.key_of_pattern, weights=by_pattern, minlength=codec.n_keys)
    sums = np.zeros(codec.n_keys)
    for start, stop in chunks:
        keys = codec.keys(rows.block(start, stop)).reshape(-1)
        importance = rows.importance(start, stop)
        sums += np.bincount(keys, weights=importance.reshape(-1), minlength=codec.n_keys)
    return sums


def _distinct_values(rows: _Rows) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values and their total weights (a small float32/float64 tensor)."""
    values = kmeans.clean_float64(rows.block(0, len(rows)))
    importance = rows.importance(0, len(rows))
    distinct, inverse = np.unique(values.reshape(-1), return_inverse=True)
    weights = None if importance is None else importance.reshape(-1)
    return distinct, np.bincount(inverse, weights=weights, minlength=distinct.size).astype(float)


def _refine_on_values(
    rows: _Rows, chunks: Sequence[tuple[int, int]], centroids: np.ndarray
) -> np.ndarray:
    """One Lloyd step on the real values: every centroid becomes the mean of its cell."""
    k = centroids.size
    mids = 0.5 * (centroids[1:] + centroids[:-1])
    weight_sum, value_sum = np.zeros(k), np.zeros(k)
    for start, stop in chunks:
        values = kmeans.clean_float64(rows.block(start, stop))
        importance = rows.importance(start, stop)
        w = np.ones_like(values) if importance is None else importance
        labels = np.searchsorted(mids, values, side="right").reshape(-1)
        weight_sum += np.bincount(labels, weights=w.reshape(-1), minlength=k)
        value_sum += np.bincount(labels, weights=(w * values).reshape(-1), minlength=k)
    filled = weight_sum > 0
    return np.where(filled, value_sum / np.where(filled, weight_sum, 1.0), centroids)


def _wide_keys(values: np.ndarray) -> np.ndarray:
    """Order-preserving bin keys of float64 values at float16 precision (float32 exponents)."""
    bits = values.astype(np.float32).view(np.uint32)
    negative = bits >> 31 == 1
    ordered = np.where(negative, ~bits, bits | np.uint32(1 << 31))
    return ordered >> np.uint32(_WIDE_BIN_SHIFT)


def _wide_histogram(
    rows: _Rows, chunks: Sequence[tuple[int, int]]
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted bin means and bin weights of float32/float64 values."""
    size = 1 << (32 - _WIDE_BIN_SHIFT)
    weight_sum = np.zeros(size)
    value_sum = np.zeros(size)
    for start, stop in chunks:
        values = kmeans.clean_float64(rows.block(start, stop))
        importance = rows.importance(start, stop)
        w = np.ones_like(values) if importance is None else importance
        keys = _wide_keys(values).reshape(-1)
        weight_sum += np.bincount(keys, weights=w.reshape(-1), minlength=size)
        value_sum += np.bincount(keys, weights=(w * values).reshape(-1), minlength=size)
    present = weight_sum > 0
    means = value_sum[present] / weight_sum[present]
    # Bins are value-ordered, but rounding may make neighbouring means equal: merge those.
    distinct, inverse = np.unique(means, return_inverse=True)
    return distinct, np.bincount(inverse, weights=weight_sum[present])


# --------------------------------------------------------------------------------------------
# One LUT per channel / group of channels
# --------------------------------------------------------------------------------------------


def _palettize_groups(
    rows: _Rows, layout: _Layout, exact: bool, out_rows: np.ndarray, num_workers: int
) -> np.ndarray:
    """Tables ``(groups, k)``, fitted batch by batch (in parallel); writes the indices."""
    values = layout.values_per_group
    use_grid = (
        kmeans.is_float16_like(rows.dtype) and values * 4 >= kmeans.float16_codec(rows.dtype).n_keys
    )
    span = max(values, kmeans.float16_codec(rows.dtype).n_keys) if use_grid else values
    per_batch = max(1, BATCH_VALUES // span)
    if exact:  # the programme keeps (k + 1) argmin tables of every point of every group
        per_batch = max(1, min(per_batch, EXACT_TABLE_VALUES // ((layout.k + 1) * span)))
    batches = [(g, min(g + per_batch, layout.groups)) for g in range(0, layout.groups, per_batch)]
    tables = np.empty((layout.groups, layout.k))
    fit = _fit_batch_grid if use_grid else _fit_batch_sorted

    def work(i: int) -> None:
        first, last = batches[i]
        start, stop = first * layout.group_size, last * layout.group_size
        block = rows.block(start, stop).reshape(last - first, values)
        importance = rows.importance(start, stop)
        if importance is not None and layout.group_size > 1:
            importance = importance.reshape(last - first, values)
        else:
            importance = None
        table, labels = fit(block, importance, layout.k, exact)
        tables[first:last] = table
        out_rows[start:stop] = labels.reshape(out_rows[start:stop].shape)

    _run(work, len(batches), num_workers)
    return tables


def _exact_on_points(points: np.ndarray, weights: np.ndarray, k: int) -> np.ndarray:
    """Exact centroids (B, k) of weighted point sets ``(B, L)`` (zero weights allowed)."""
    present = weights > 0
    order = np.argsort(~present, axis=1, kind="stable")
    centroids, _ = kmeans.optimal_kmeans_padded(
        np.take_along_axis(points, order, axis=1),
        np.take_along_axis(weights, order, axis=1),
        present.sum(axis=1),
        k,
    )
    return centroids


def _fit_batch_grid(
    block: np.ndarray, importance: np.ndarray | None, k: int, exact: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Tables and labels of a batch of groups of a 16-bit float, via per-group histograms.

    The histograms live on the values present in the batch (zero-weight points change
    nothing, see `kmeans.PrefixProblems`).
    """
    codec = kmeans.float16_codec(block.dtype)
    count = block.shape[0]
    keys = codec.keys(block)
    present = np.zeros(codec.n_keys, dtype=bool)
    present[keys.reshape(-1)] = True
    position = np.cumsum(present, dtype=np.intp) - 1
    grid = codec.value_of_key[present]
    flat = position[keys]
    flat += (np.arange(count, dtype=np.intp) * grid.size)[:, None]
    flat = flat.reshape(-1)
    w = None if importance is None else np.ascontiguousarray(importance).reshape(-1)
    hist = np.bincount(flat, weights=w, minlength=count * grid.size).reshape(count, grid.size)
    hist = hist.astype(np.float64, copy=False)
    if exact:
        centroids = _exact_on_points(np.broadcast_to(grid, hist.shape), hist, k)
    else:
        problems = kmeans.prefix_problems_grid(grid, hist, block.shape[1], importance is None)
        centroids = kmeans.fit_problems(problems, k, LLOYD_ITERATIONS)
    table = _round_table(centroids, block.dtype)
    labels = _index_table(grid, table).reshape(-1)[flat]
    return table, labels.reshape(block.shape)


def _fit_batch_sorted(
    block: np.ndarray, importance: np.ndarray | None, k: int, exact: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Tables and labels of a batch of groups, via each group's sorted values."""
    if kmeans.is_float16_like(block.dtype):
        codec = kmeans.float16_codec(block.dtype)
        keys = codec.keys(block)
        order = np.argsort(keys, axis=1, kind="stable")
        points = codec.value_of_key[np.take_along_axis(keys, order, axis=1)]
    else:
        values = kmeans.clean_float64(block)
        order = np.argsort(values, axis=1, kind="stable")
        points = np.take_along_axis(values, order, axis=1)
    weights = None if importance is None else np.take_along_axis(importance, order, axis=1)
    problems = kmeans.prefix_problems_sorted(points, weights)
    if exact:
        ones = np.ones_like(points) if weights is None else weights
        centroids = _exact_on_points(points, ones, k)
    else:
        centroids = kmeans.fit_problems(problems, k, LLOYD_ITERATIONS)
    table = _round_table(centroids, block.dtype)
    edges = problems.bounds(table)
    labels_sorted = np.repeat(
        np.tile(np.arange(k, dtype=np.uint8), block.shape[0]), np.diff(edges, axis=1).reshape(-1)
    ).reshape(block.shape)
    labels = np.empty(block.shape, dtype=np.uint8)
    np.put_along_axis(labels, order, labels_sorted, axis=1)
    return table, labels


# --------------------------------------------------------------------------------------------
# Vector palettization
# --------------------------------------------------------------------------------------------


def _vector_block(rows: _Rows, layout: _Layout, first: int, last: int) -> np.ndarray:
    """Vectors ``(n, V)`` of index rows ``[first, last)`` (index row i = channels iV..iV+V-1)."""
    v = layout.vector
    block = rows.block(first * v, last * v).reshape(last - first, v, rows.width)
    return kmeans.clean_float64(np.ascontiguousarray(block.transpose(0, 2, 1))).reshape(-1, v)


def _vector_sample(
    rows: _Rows, layout: _Layout, chunks: list[tuple[int, int]], rng: np.random.Generator
) -> np.ndarray:
    """Up to `kmeans.MAX_VECTOR_FIT_POINTS` vectors of a group, drawn with ``rng``."""
    first = chunks[0][0]
    count = (chunks[-1][1] - first) * rows.width
    if count > kmeans.MAX_VECTOR_FIT_POINTS:
        chosen = np.sort(rng.choice(count, kmeans.MAX_VECTOR_FIT_POINTS, replace=False))
    else:
        chosen = np.arange(count)
    sample = []
    for a, b in chunks:
        lo, hi = (a - first) * rows.width, (b - first) * rows.width
        picked = chosen[(chosen >= lo) & (chosen < hi)] - lo
        sample.append(_vector_block(rows, layout, a, b)[picked])
    return np.concatenate(sample)


def _palettize_vectors(rows: _Rows, layout: _Layout, out_rows: np.ndarray) -> np.ndarray:
    """Vector tables ``(groups, k, V)``, one group at a time; writes the indices."""
    v, k = layout.vector, layout.k
    index_rows = layout.group_size // v
    rows_per_chunk = max(1, BATCH_VALUES // (rows.width * v))
    tables = np.empty((layout.groups, k, v))
    for group in range(layout.groups):
        first, last = group * index_rows, (group + 1) * index_rows
        chunks = [(a, min(a + rows_per_chunk, last)) for a in range(first, last, rows_per_chunk)]
        seed = (_VECTOR_SEED, group)
        sample = _vector_sample(rows, layout, chunks, np.random.default_rng(seed))
        centroids = kmeans.kmeans_vectors(sample, k, seed=seed)
        table = centroids.astype(rows.dtype).astype(np.float64)
        for a, b in chunks:
            labels = kmeans.assign_nearest_vectors(_vector_block(rows, layout, a, b), table)
            out_rows[a:b] = labels.reshape(out_rows[a:b].shape)
        tables[group] = table
    return tables


# --------------------------------------------------------------------------------------------
# Assignment to a given LUT, expansion, scales
# --------------------------------------------------------------------------------------------


def _check_lut(indices_shape: tuple[int, ...], lut: np.ndarray) -> tuple[int, int]:
    """Validate a LUT against an index shape; returns (entries, V)."""
    rank = len(indices_shape)
    if lut.ndim != rank + 2:
        raise ValueError(
            f"lut must have rank {rank + 2} ([G0..G{rank - 1}, entries, V]), got shape {lut.shape}"
        )
    for d, (size, groups) in enumerate(zip(indices_shape, lut.shape[:rank], strict=True)):
        if groups < 1 or size % groups:
            raise ValueError(
                f"lut has {groups} blocks on axis {d}, which does not divide the size {size}"
            )
    entries, vector = lut.shape[rank], lut.shape[rank + 1]
    if entries < 1 or vector < 1:
        raise ValueError(f"lut needs at least one entry and V >= 1, got shape {lut.shape}")
    return entries, vector


def lut_to_dense(indices: np.ndarray, lut: np.ndarray, axis: int = 0) -> np.ndarray:
    """Reference semantics of ``coreai.lut_to_dense``: expand indices through their blocks' LUTs.

    ``indices``: integers, rank K >= 1; ``lut``: ``[G0, ..., G(K-1), entries, V]`` with
    ``indices.shape[i] % G[i] == 0``. Element p uses ``lut[p // (D / G), index, :]``; with
    V > 1 the V values of one vector are consecutive along ``axis``. Result: the LUT's dtype,
    the indices' shape with ``shape[axis] *= V``. Raises ValueError on inconsistent inputs.
    """
    indices = np.asarray(indices)
    lut = np.asarray(lut)
    if indices.dtype.kind not in "iu":
        raise ValueError(f"indices must be integers, got {indices.dtype}")
    if indices.ndim == 0:
        raise ValueError("indices must have rank >= 1")
    rank = indices.ndim
    entries, vector = _check_lut(indices.shape, lut)
    axis = _normalise_axis(axis, rank, "axis")
    if indices.size and (int(indices.min()) < 0 or int(indices.max()) >= entries):
        raise ValueError(f"indices must lie in [0, {entries - 1}]")
    table = lut.reshape(-1, vector)
    split = (*indices.shape[: axis + 1], vector, *indices.shape[axis + 1 :])
    dense = np.empty(split, dtype=lut.dtype)
    # (indices' shape..., V) view of the result: vector components last.
    by_index = np.moveaxis(dense, axis + 1, -1)
    per_row = max(1, indices.size // max(1, indices.shape[0]))
    step = max(1, BATCH_VALUES // per_row)
    for start in range(0, indices.shape[0], step):
        stop = min(start + step, indices.shape[0])
        flat = _block_ids(indices.shape, lut.shape[:rank], start, stop) * entries
        flat = flat + indices[start:stop]
        by_index[start:stop] = table[flat]
    dense_shape = list(indices.shape)
    dense_shape[axis] *= vector
    return dense.reshape(dense_shape)


def _block_ids(
    shape: tuple[int, ...], groups: tuple[int, ...], start: int, stop: int
) -> np.ndarray:
    """Row-major LUT block number of every position of ``shape[start:stop, ...]`` (broadcast)."""
    rank = len(shape)
    ids = np.zeros((1,) * rank, dtype=np.intp)
    for d in range(rank):
        positions = np.arange(start, stop) if d == 0 else np.arange(shape[d])
        expand = [1] * rank
        expand[d] = positions.size
        ids = ids * groups[d] + (positions // (shape[d] // groups[d])).reshape(expand)
    return ids


def assign_to_lut(
    weight: np.ndarray,
    lut: np.ndarray,
    group_axis: int,
    channel_scale: np.ndarray | None = None,
) -> np.ndarray:
    """Indices (uint8) of the nearest entry of each block's LUT, for a given ``lut``.

    ``lut`` has the `palettize` layout (LUT blocks along ``group_axis`` only; V > 1 vectors
    along it). Use it to re-assign after changing the LUT, e.g. to the dequantized entries of
    `quantize_lut`. With ``channel_scale`` the weight is divided by it first. Ties go to the
    upper (scalar) or first (vector) entry.
    """
    weight = np.asarray(weight)
    lut = np.asarray(lut)
    _check_weight(weight)
    axis = _normalise_axis(group_axis, weight.ndim, "group_axis")
    if lut.ndim != weight.ndim + 2:
        raise ValueError(f"lut must have rank {weight.ndim + 2}, got shape {lut.shape}")
    groups, entries, vector = lut.shape[axis], lut.shape[-2], lut.shape[-1]
    if any(lut.shape[d] != 1 for d in range(weight.ndim) if d != axis):
        raise ValueError(f"lut may only have blocks along axis {axis}, got shape {lut.shape}")
    dim = weight.shape[axis]
    if dim % (groups * vector):
        raise ValueError(f"{groups} LUTs of {vector}-vectors do not tile axis size {dim}")
    if entries > 256:
        raise ValueError(f"uint8 indices allow at most 256 entries, got {entries}")
    layout = _Layout(weight.shape, axis, groups, dim // groups, vector, entries)
    scale = None if channel_scale is None else _check_channel_scale(channel_scale, layout)
    rows = _Rows(weight, axis, scale)
    tables = lut.astype(np.float64).reshape(groups, entries, vector)
    indices = np.empty(layout.index_shape, dtype=np.uint8)
    out_rows = np.moveaxis(indices, axis, 0)
    index_rows = layout.group_size // vector
    for group in range(groups):
        first, last = group * index_rows, (group + 1) * index_rows
        step = max(1, BATCH_VALUES // (rows.width * vector))
        for a in range(first, last, step):
            b = min(a + step, last)
            vectors = _vector_block(rows, layout, a, b)
            labels = _nearest_entry(vectors, tables[group])
            out_rows[a:b] = labels.reshape(out_rows[a:b].shape)
    return indices


def _nearest_entry(vectors: np.ndarray, table: np.ndarray) -> np.ndarray:
    if table.shape[1] > 1:
        return kmeans.assign_nearest_vectors(vectors, table)
    order = np.argsort(table[:, 0], kind="stable")
    sorted_index = kmeans.assign_nearest(vectors[:, 0], table[order, 0])
    return order[sorted_index].astype(np.uint8)


def per_channel_scale(weight: np.ndarray, output_axis: int) -> np.ndarray:
    """Max ``|w|`` of every output channel, in the weight's dtype (1 for all-zero channels).

    Shape: the weight's rank, 1 on every axis but ``output_axis`` (ready to broadcast, and the
    ``scale`` operand of ``blockwise_shift_scale``). NaN is ignored; an infinite maximum
    counts as 1.
    """
    weight = np.asarray(weight)
    _check_weight(weight)
    axis = _normalise_axis(output_axis, weight.ndim, "output_axis")
    rows = _Rows(weight, axis, None)
    largest = np.empty(len(rows))
    for start, stop in rows.row_chunks(BATCH_VALUES // rows.width):
        block = np.abs(rows.block(start, stop).astype(np.float32))
        largest[start:stop] = np.fmax.reduce(block, axis=1)
    largest[~np.isfinite(largest) | (largest == 0)] = 1.0
    shape = [1] * weight.ndim
    shape[axis] = weight.shape[axis]
    return largest.astype(weight.dtype).reshape(shape)


def channel_scaled_limit(
    channel_scale: np.ndarray, lut_groups: Sequence[int], axis: int
) -> np.ndarray:
    """Per-LUT bound on decoded entries that a per-channel scale then multiplies.

    Decoded entries are rounded to the weight dtype (that of ``channel_scale``) and then
    multiplied by the scale of every channel the LUT covers; the bound is the largest value
    ``v`` of that dtype with ``v * scale <= max`` for all of them, so the product is finite.
    ``channel_scale``: ``[1, .., C, .., 1]``; ``lut_groups``: the LUT's block counts
    ``[1, .., G, .., 1]`` (G divides C) along ``axis``. Returns float64 of shape ``lut_groups``.
    """
    channel_scale = np.asarray(channel_scale)
    groups = int(lut_groups[axis])
    per_group = channel_scale.astype(np.float64).reshape(groups, -1).max(axis=1)
    largest = np.full(groups, _max_finite(channel_scale.dtype), dtype=channel_scale.dtype)
    return limit_scale(largest, per_group).astype(np.float64).reshape(tuple(lut_groups))


def _max_finite(dtype: np.dtype) -> float:
    return float(float_info(dtype).max)


# --------------------------------------------------------------------------------------------
# Quantized LUT entries
# --------------------------------------------------------------------------------------------


def _lut_dtype_name(dtype: object) -> str:
    name = str(getattr(dtype, "value", dtype)).lower()
    if name not in LUT_DTYPES:
        raise ValueError(f"`lut_dtype` must be one of {list(LUT_DTYPES)}, got {dtype!r}")
    return name


def quantize_lut(
    lut: np.ndarray, dtype: object, limit: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quantize LUT entries with one scale per LUT: ``(q, scale, zero_point)``.

    ``dtype``: "int8" (symmetric, codes -127..127, zero point 0), "uint8" (symmetric, codes
    0..254, zero point `UINT8_ZERO_POINT` = 127), "fp8_e4m3fn" / "fp8_e5m2" (scaled so the
    largest magnitude is the format's maximum, zero point 0.0; round to nearest even).
    ``lut``: ``[G0, ..., G(K-1), entries, V]``; ``q`` has that shape; ``scale`` (the LUT's
    float dtype) and ``zero_point`` (``q``'s dtype) have shape ``[G0, ..., G(K-1)]``, the
    ``blockwise_shift_scale`` parameters of the expanded tensor. Entries are quantized with
    the scale as stored, so `dequantize_lut` reproduces what the program computes.

    Every code dequantizes to at most ``limit`` in magnitude (per LUT, shape
    ``[G0, ..., G(K-1)]``; default the largest finite value of the LUT's dtype): a scale
    whose largest code would exceed it is lowered (`quantization.limit_scale`), so no
    finite LUT ever decodes to infinity.
    """
    name = _lut_dtype_name(dtype)
    lut = np.asarray(lut)
    if lut.ndim < 2 or not is_weight_dtype(lut.dtype):
        raise ValueError(f"lut must be a float array of rank >= 2, got {lut.dtype} {lut.shape}")
    values = kmeans.clean_float64(lut)
    magnitude = np.abs(values).max(axis=(-2, -1), keepdims=True)
    if name in _FP8_DTYPES:
        target = ml_dtype(_FP8_DTYPES[name])
        top = float(float_info(target).max)
    else:
        target = np.dtype(np.int8 if name == "int8" else np.uint8)
        top = 127.0
    scale = np.where(magnitude > 0, magnitude / top, 1.0).astype(lut.dtype)
    tiny = float(float_info(lut.dtype).smallest_subnormal)
    scale = np.where(scale.astype(np.float64) > 0, scale, np.asarray(tiny, lut.dtype))
    params_shape = lut.shape[:-2]
    if limit is not None:
        limit = np.asarray(limit, dtype=np.float64).reshape(*params_shape, 1, 1)
    scale = limit_scale(scale, top, limit)
    scaled = np.clip(values / scale.astype(np.float64), -top, top)
    if name in _FP8_DTYPES:
        q = scaled.astype(target)
        zero = np.zeros(params_shape, dtype=target)
    elif name == "int8":
        q = np.rint(scaled).astype(np.int8)
        zero = np.zeros(params_shape, dtype=np.int8)
    else:
        q = (np.rint(scaled) + UINT8_ZERO_POINT).astype(np.uint8)
        zero = np.full(params_shape, UINT8_ZERO_POINT, dtype=np.uint8)
    return q, scale.reshape(params_shape), zero


def dequantize_lut(
    q: np.ndarray, scale: np.ndarray, zero_point: np.ndarray, dtype: object | None = None
) -> np.ndarray:
    """``(q - zero_point) * scale`` per LUT, rounded once to ``dtype`` (default: the scale's)."""
    q = np.asarray(q)
    scale = np.asarray(scale)
    if q.ndim < 2 or q.shape[:-2] != scale.shape or np.shape(zero_point) != scale.shape:
        raise ValueError(
            f"scale and zero_point must have shape {q.shape[:-2]}, got "
            f"{scale.shape} and {np.shape(zero_point)}"
        )
    out_dtype = scale.dtype if dtype is None else np.dtype(dtype)
    shift = np.asarray(zero_point).astype(np.float64)[..., None, None]
    product = (q.astype(np.float64) - shift) * scale.astype(np.float64)[..., None, None]
    return product.astype(out_dtype)
