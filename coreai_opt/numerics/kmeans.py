"""Weighted one-dimensional k-means for palettization (pure numpy).

Every solver works on *sorted weighted points*. Two families:

- **Exact** (`optimal_kmeans_1d`, `optimal_kmeans_1d_rows`, `optimal_kmeans_padded`): the
  minimum weighted SSE over all partitions, by the dynamic programme over contiguous partitions
  of the sorted points (the Ckmeans.1d.dp family). Layer ``j`` (``j`` clusters) is
  ``D_j(i) = min_m D_{j-1}(m) + cost(m, i)`` with ``cost`` the SSE of points ``m..i-1`` from
  prefix sums of ``w``, ``w x`` and ``w x^2``. The argmin is monotone in ``i`` (the cost is
  Monge), so each layer is solved by divide & conquer, vectorised level by level: the midpoints
  of all current intervals, of all problems, are evaluated at once with a handful of numpy
  calls. The argmin is also bounded below by the previous layer's argmin at the same ``i``
  (Knuth). ``O(k n log n)`` work in ``O(k log n)`` numpy calls. The same programme restricted
  to a window around every boundary (`polish_bounds`) re-optimises a near-optimal partition.
- **Fast** (`fit_problems`, `lloyd_rows`): many independent problems at once, as arrays
  ``[problems, k]``. Points are kept as prefix sums (`PrefixProblems`), so a Lloyd iteration
  costs a binary search of the ``k - 1`` decision thresholds per problem plus ``O(k)``
  prefix-sum lookups, whatever the number of points. Lloyd alone stalls in poor local optima
  on small samples (0.1-0.5 dB from the optimum), so it starts from the exact k-means of a
  *coarse summary*: super-points between the quantiles of the cube-root-companded
  distribution (Panter-Dite: the optimal centroid density is proportional to ``p(x)^(1/3)``,
  so every optimal cluster spans several super-points). When that costs too much (many
  clusters for the points), Lloyd starts from the Panter-Dite quantiles and every boundary is
  then re-optimised exactly within a window of about two clusters' worth of points. Empty
  clusters take the largest point of a cluster holding several distinct values. Every problem
  follows its own trajectory, so results do not depend on how problems are batched.

16-bit floats (float16, bfloat16) have at most 65536 distinct values: `float16_codec` maps bit
patterns to order-preserving keys, so a histogram of keys turns any large problem into a
weighted problem over at most 65536 points.

Ties: a value exactly half-way between two centroids goes to the upper one, everywhere.
"""

import functools
from dataclasses import dataclass

import numpy as np

from coreai_opt.numerics.finite import float_info

# Vectors used to fit vector k-means (the rest are only assigned).
MAX_VECTOR_FIT_POINTS = 1 << 16
# Evaluations per point the coarse exact init may spend (see `coarse_size`).
COARSE_BUDGET = 2
# Windowed exact polish (see `fit_problems`): window half-width in average clusters' worth of
# points, and rounds of re-centred windows.
POLISH_REACH = 2.0
POLISH_ROUNDS = 1
# Vectors per chunk when computing vector-to-centroid distances.
_VECTOR_CHUNK = 1 << 13
# Smallest point weight, relative to its problem's total weight, that the float64 prefix sums
# of the solvers still resolve (with a few bits to spare); see `resolvable_weights`.
MIN_RELATIVE_WEIGHT = 2.0**-50


# --------------------------------------------------------------------------------------------
# 16-bit float keys
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Float16Codec:
    """Order-preserving integer keys for a 16-bit float dtype (float16 or bfloat16).

    ``key_of_pattern[p]`` is the rank of the value of bit pattern ``p`` among the distinct
    values, after cleaning: NaN counts as 0, +-inf as the largest finite magnitude and -0 as +0.
    ``value_of_key`` holds those distinct values, strictly increasing, in float64.
    """

    key_of_pattern: np.ndarray
    value_of_key: np.ndarray

    @property
    def n_keys(self) -> int:
        """Number of distinct keys."""
        return int(self.value_of_key.size)

    def keys(self, values: np.ndarray) -> np.ndarray:
        """Keys (uint16) of an array of this dtype."""
        return self.key_of_pattern[values.view(np.uint16)]

    def values(self, values: np.ndarray) -> np.ndarray:
        """Cleaned float64 values of an array of this dtype."""
        return self.value_of_key[self.key_of_pattern[values.view(np.uint16)]]


def is_float16_like(dtype: np.dtype) -> bool:
    """True for float16 and bfloat16, the dtypes `float16_codec` handles."""
    dtype = np.dtype(dtype)
    return dtype == np.dtype(np.float16) or dtype.name == "bfloat16"


@functools.cache
def float16_codec(dtype: np.dtype) -> Float16Codec:
    """The (cached) `Float16Codec` of float16 or bfloat16."""
    dtype = np.dtype(dtype)
    if not is_float16_like(dtype):
        raise ValueError(f"float16_codec needs float16 or bfloat16, got {dtype}")
    with np.errstate(invalid="ignore"):
        values = np.arange(1 << 16, dtype=np.uint16).view(dtype).astype(np.float64)
    largest = float(float_info(dtype).max)
    cleaned = np.nan_to_num(values, nan=0.0, posinf=largest, neginf=-largest) + 0.0
    distinct, keys = np.unique(cleaned, return_inverse=True)
    return Float16Codec(keys.astype(np.uint16), distinct)


def clean_float64(values: np.ndarray) -> np.ndarray:
    """Float64 copy with NaN -> 0, +-inf -> +-largest finite value of the input dtype."""
    dtype = values.dtype
    if is_float16_like(dtype):
        return float16_codec(dtype).values(values)
    out = values.astype(np.float64)
    if not np.isfinite(out).all():
        largest = float(float_info(dtype).max) if dtype.kind == "f" else np.inf
        np.nan_to_num(out, copy=False, nan=0.0, posinf=largest, neginf=-largest)
    return out


def resolvable_weights(weights: np.ndarray) -> np.ndarray:
    """Weights ``(P, L)`` whose positive entries are at least `MIN_RELATIVE_WEIGHT` of their row.

    The solvers work on prefix sums of the weights: a weight below 2^-52 of a row's total
    vanishes from them, so a segment of such points gets weight exactly 0, cost 0/0 = NaN,
    and cluster means 0/0 (importance weights ``scale^2`` of channels 1e30 apart do this).
    Raising those weights to the floor changes the objective by far less than the sums'
    own rounding and keeps every segment's weight positive. Zero weights (absent points)
    stay zero; the input is returned unchanged when no weight is that small (always for
    counts, and for importance weights spanning less than about 2^50 / points).
    """
    floor = weights.sum(axis=-1, keepdims=True) * MIN_RELATIVE_WEIGHT
    small = (weights < floor) & (weights > 0)
    if not small.any():
        return weights
    return np.where(small, floor, weights)


# --------------------------------------------------------------------------------------------
# Row-wise binary search and nearest-centroid assignment
# --------------------------------------------------------------------------------------------


def searchsorted_rows(
    sorted_rows: np.ndarray,
    queries: np.ndarray,
    side: str = "left",
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """`np.searchsorted` applied row by row: ``sorted_rows (R, L)``, ``queries (R, Q)``.

    With ``rows`` (indices into ``sorted_rows``), query row i searches ``sorted_rows[rows[i]]``.
    A branchless binary search over all rows at once (``log2 L`` vectorised steps).
    """
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    count_rows, length = sorted_rows.shape
    if rows is None:
        rows = np.arange(count_rows, dtype=np.intp)
    if queries.ndim != 2 or queries.shape[0] != rows.size:
        raise ValueError(f"queries must have shape ({rows.size}, Q), got {queries.shape}")
    count = np.zeros(queries.shape, dtype=np.intp)
    if length == 0:
        return count
    flat = np.ascontiguousarray(sorted_rows).reshape(-1)
    last = (rows.astype(np.intp) * length - 1)[:, None]
    step = 1 << (length.bit_length() - 1)
    while step:
        candidate = count + step
        probe = flat[last + np.minimum(candidate, length)]
        below = probe < queries if side == "left" else probe <= queries
        below &= candidate <= length
        count += step * below
        step >>= 1
    return count


def _index_dtype(k: int) -> np.dtype:
    return np.dtype(np.uint8) if k <= 256 else np.dtype(np.intp)


def assign_nearest(values: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Index of the nearest centroid for every value (ties go to the upper centroid).

    ``centroids`` must be sorted (non-decreasing). Either ``centroids (k,)`` with ``values`` of
    any shape, or one table per row: ``centroids (R, k)`` with ``values (R, N)``. The result is
    uint8 when ``k <= 256``.
    """
    centroids = np.asarray(centroids, dtype=np.float64)
    values = np.asarray(values)
    k = centroids.shape[-1]
    if k == 0:
        raise ValueError("assign_nearest needs at least one centroid")
    if np.any(np.diff(centroids, axis=-1) < 0):
        raise ValueError("assign_nearest needs sorted centroids")
    mids = 0.5 * (centroids[..., 1:] + centroids[..., :-1])
    if centroids.ndim == 1:
        return np.searchsorted(mids, values.astype(np.float64), side="right").astype(
            _index_dtype(k)
        )
    if centroids.ndim != 2 or values.ndim != 2 or values.shape[0] != centroids.shape[0]:
        raise ValueError(
            f"per-row assignment needs values (R, N) and centroids (R, k), "
            f"got {values.shape} and {centroids.shape}"
        )
    return searchsorted_rows(mids, values.astype(np.float64), side="right").astype(_index_dtype(k))


# --------------------------------------------------------------------------------------------
# Exact dynamic programme
# --------------------------------------------------------------------------------------------


def _prefix_sums(values: np.ndarray, axis_len: int) -> np.ndarray:
    """Row-wise prefix sums with a leading zero column: (P, L) -> (P, L + 1)."""
    out = np.zeros((values.shape[0], axis_len + 1))
    np.cumsum(values, axis=1, out=out[:, 1:])
    return out


def _normalised(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-row centred and scaled values, weights summing to 1 (keeps the DP well conditioned)."""
    total = w.sum(axis=1, keepdims=True)
    total[total == 0] = 1.0
    w = w / total
    centred = x - (w * x).sum(axis=1, keepdims=True)
    spread = np.sqrt((w * centred * centred).sum(axis=1, keepdims=True))
    spread[spread == 0] = 1.0
    return centred / spread, w


def _segment_argmin(
    cum_w: np.ndarray,
    cum_x: np.ndarray,
    a: np.ndarray,
    end: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """For every segment s: the leftmost m in [lo_s, hi_s] minimising the layer cost at end_s.

    ``cost(m) = a[m] - (X[end] - X[m])^2 / (W[end] - W[m])`` (flat prefix indices), where
    ``a[m] = D(m) - Q[m]``: the cost of the best split at ``m`` minus ``Q[end]``, which is
    exactly the next layer's ``a[end]``. Returns (argmin, min cost).
    """
    length = hi - lo + 1
    start = np.cumsum(length) - length
    m = np.arange(int(start[-1] + length[-1])) + np.repeat(lo - start, length)
    dx = np.repeat(cum_x[end], length)
    dx -= cum_x[m]
    dw = np.repeat(cum_w[end], length)
    dw -= cum_w[m]
    dx *= dx
    dx /= dw
    cost = a[m]
    cost -= dx
    seg_min = np.minimum.reduceat(cost, start)
    hits = np.flatnonzero(cost == np.repeat(seg_min, length))
    return m[hits[np.searchsorted(hits, start)]], seg_min


@dataclass
class _Layer:
    """Inputs and outputs of one DP layer (j clusters) over all problems."""

    a_in: np.ndarray  # flat: D_{j-1}(m) - Q[m] at the previous layer's ends
    a_out: np.ndarray  # flat: D_j(i) - Q[i], written at this layer's ends
    ends: tuple[np.ndarray, np.ndarray]  # per problem: ends i in [lo, hi]
    splits: tuple[np.ndarray, np.ndarray]  # per problem: splits m in [lo, hi] (and m < i)
    argmins: np.ndarray  # (P, width): local argmin of end lo + t at [p, t]
    lower: np.ndarray | None = None  # flat: previous layer's argmins (Knuth lower bound)
    lower_out: np.ndarray | None = None  # flat: where to record this layer's argmins


def _solve_layer(cum_w: np.ndarray, cum_x: np.ndarray, stride: int, layer: _Layer) -> None:
    """One DP layer for every problem, by vectorised divide & conquer on the monotone argmin.

    Problem p occupies flat prefix indices ``p * stride + [0, n_p]``. All midpoints of all
    open intervals are solved at once, then each interval splits in two.
    """
    problem = np.arange(layer.ends[0].size, dtype=np.intp)
    i_lo, i_hi = layer.ends[0].astype(np.intp), layer.ends[1].astype(np.intp)
    m_lo, m_hi = layer.splits[0].astype(np.intp), layer.splits[1].astype(np.intp)
    first_end = layer.ends[0].astype(np.intp)
    split_lo, split_hi = m_lo.copy(), m_hi.copy()
    width = layer.argmins.shape[1]
    while problem.size:
        mid = (i_lo + i_hi) >> 1
        base = problem * stride
        end = base + mid
        lo = m_lo
        if layer.lower is not None:
            known = (mid >= split_lo[problem]) & (mid <= split_hi[problem])
            lo = np.where(known, np.maximum(m_lo, layer.lower[end]), m_lo)
        hi = np.minimum(m_hi, mid - 1)
        lo = np.minimum(lo, hi)
        best, best_cost = _segment_argmin(cum_w, cum_x, layer.a_in, end, base + lo, base + hi)
        best -= base
        layer.a_out[end] = best_cost
        layer.argmins.reshape(-1)[problem * width + mid - first_end[problem]] = best
        if layer.lower_out is not None:
            layer.lower_out[end] = best
        left, right = mid > i_lo, mid < i_hi
        problem = np.concatenate((problem[left], problem[right]))
        i_lo, i_hi = (
            np.concatenate((i_lo[left], mid[right] + 1)),
            np.concatenate((mid[left] - 1, i_hi[right])),
        )
        m_lo, m_hi = (
            np.concatenate((m_lo[left], best[right])),
            np.concatenate((best[left], m_hi[right])),
        )


def _full_windows(n: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Boundary ranges of the unrestricted DP: ``b_j`` in ``[j, n - (k - j)]``, ``b_k = n``."""
    j = np.arange(k + 1)[None, :]
    lo = np.broadcast_to(j, (n.size, k + 1)).copy()
    hi = n[:, None] - (k - j)
    lo[:, k] = n
    return lo, hi


def _optimal_bounds(
    x: np.ndarray,
    w: np.ndarray,
    n: np.ndarray,
    k: int,
    windows: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Boundaries ``(P, k + 1)`` of the optimal partition of each row's first ``n[p]`` points.

    ``x``, ``w``: ``(P, L)`` sorted values and positive weights (entries past ``n[p]`` must have
    zero weight); requires ``k <= n[p]``. Cluster c of problem p is ``[b[p, c], b[p, c + 1])``.
    With ``windows = (lo, hi)``, each ``(P, k + 1)`` and strictly increasing along j, the
    optimum among partitions with ``lo[:, j] <= b_j <= hi[:, j]``.
    """
    problems, length = x.shape
    stride = length + 1
    xn, wn = _normalised(x, w)
    cum_w = _prefix_sums(wn, length).reshape(-1)
    cum_x = _prefix_sums(wn * xn, length).reshape(-1)
    n = n.astype(np.intp)
    knuth = windows is None
    lo, hi = _full_windows(n, k) if windows is None else windows
    width = int((hi - lo).max()) + 1
    argmins = np.zeros((k + 1, problems, width), np.uint16 if length <= 1 << 16 else np.int32)
    with np.errstate(divide="ignore", invalid="ignore"):
        a_in = -cum_x * cum_x / cum_w
    a_out = np.empty_like(a_in)
    lower = np.zeros(problems * stride, np.intp) if knuth else None
    lower_out = np.zeros(problems * stride, np.intp) if knuth else None
    for j in range(2, k + 1):
        layer = _Layer(
            a_in,
            a_out,
            (lo[:, j], hi[:, j]),
            (lo[:, j - 1], hi[:, j - 1]),
            argmins[j],
            lower if j > 2 else None,
            lower_out,
        )
        _solve_layer(cum_w, cum_x, stride, layer)
        a_in, a_out = a_out, a_in
        lower, lower_out = lower_out, lower
    bounds = np.zeros((problems, k + 1), dtype=np.intp)
    bounds[:, k] = n
    rows = np.arange(problems)
    for j in range(k, 1, -1):
        bounds[:, j - 1] = argmins[j][rows, bounds[:, j] - lo[:, j]]
    return bounds


def _valid_bounds(bounds: np.ndarray, n: np.ndarray, k: int) -> np.ndarray:
    """Strictly increasing boundaries with every cluster non-empty: ``b_j`` in ``[j, n-(k-j)]``."""
    j = np.arange(k + 1)[None, :]
    shifted = np.clip(bounds - j, 0, (n - k)[:, None])
    shifted = np.maximum.accumulate(shifted, axis=1)
    out = shifted + j
    out[:, 0], out[:, k] = 0, n
    return out


def polish_bounds(
    x: np.ndarray,
    w: np.ndarray,
    n: np.ndarray,
    bounds: np.ndarray,
    radius: np.ndarray,
    rounds: int,
) -> np.ndarray:
    """Exact re-optimisation of every boundary within ``radius[p]`` points of its position.

    Repeats (at most ``rounds`` times, each problem on its own) until the optimum within the
    windows no longer moves. Inputs as in `optimal_kmeans_padded`; requires ``n > k``.
    """
    k = bounds.shape[1] - 1
    j = np.arange(k + 1)[None, :]
    bounds = _valid_bounds(bounds, n, k)
    active = np.arange(bounds.shape[0])
    for _ in range(rounds):
        current, sizes, reach = bounds[active], n[active], radius[active, None]
        lo = np.maximum.accumulate(np.maximum(current - reach, j) - j, axis=1) + j
        hi = np.maximum(np.minimum(current + reach, sizes[:, None] - (k - j)), lo)
        lo[:, 0] = hi[:, 0] = 0
        lo[:, k] = hi[:, k] = sizes
        found = _optimal_bounds(x[active], w[active], sizes, k, (lo, hi))
        moved = (found != current).any(axis=1)
        bounds[active[moved]] = found[moved]
        active = active[moved]
        if active.size == 0:
            break
    return bounds


def _labels_from_bounds(bounds: np.ndarray, length: int) -> np.ndarray:
    """Cluster label ``(P, L)`` of every point; padding past the last cluster gets label k."""
    problems, k = bounds.shape[0], bounds.shape[1] - 1
    counts = np.diff(bounds, axis=1, append=np.full((problems, 1), length))
    labels = np.repeat(np.tile(np.arange(k + 1), problems), counts.reshape(-1))
    return labels.reshape(problems, length)


def _cluster_means(x: np.ndarray, w: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Weighted mean of each cluster ``(P, k)`` (clusters must have positive weight)."""
    shift = x[:, :1]
    cum_w = _prefix_sums(w, x.shape[1])
    cum_x = _prefix_sums(w * (x - shift), x.shape[1])
    sum_w = np.diff(np.take_along_axis(cum_w, bounds, axis=1), axis=1)
    sum_x = np.diff(np.take_along_axis(cum_x, bounds, axis=1), axis=1)
    return shift + sum_x / sum_w


def _weighted_sse(
    x: np.ndarray, w: np.ndarray, bounds: np.ndarray, centroids: np.ndarray
) -> np.ndarray:
    """Weighted SSE ``(P,)`` of each problem for the partition ``bounds`` (direct, two-pass)."""
    labels = _labels_from_bounds(bounds, x.shape[1])
    padded = np.concatenate((centroids, np.zeros((x.shape[0], 1))), axis=1)
    residual = x - np.take_along_axis(padded, labels, axis=1)
    return (w * residual * residual).sum(axis=1)


def _trivial_centroids(x: np.ndarray, n: np.ndarray, k: int) -> np.ndarray:
    """Centroids when a problem has at most k points: the points, padded with the last one."""
    if x.shape[1] == 0:
        return np.zeros((x.shape[0], k))
    take = np.minimum(np.arange(k)[None, :], np.maximum(n[:, None] - 1, 0))
    out = np.take_along_axis(x, np.minimum(take, x.shape[1] - 1), axis=1)
    out[n == 0] = 0.0
    return out


def optimal_kmeans_padded(
    x: np.ndarray, w: np.ndarray, n: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Exact weighted k-means of many problems: ``(centroids (P, k), sse (P,))``.

    Row p holds ``n[p]`` sorted points with positive weights, then zero-weight padding.
    Problems with at most k points get their points as centroids (padded by repetition).
    """
    x = np.asarray(x, dtype=np.float64)
    w = resolvable_weights(np.asarray(w, dtype=np.float64))
    n = np.asarray(n, dtype=np.intp)
    centroids = _trivial_centroids(x, n, k)
    sse = np.zeros(x.shape[0])
    hard = np.flatnonzero(n > k)
    if hard.size == 0:
        return centroids, sse
    hx, hw = x[hard], w[hard]
    if k == 1:
        bounds = np.stack((np.zeros_like(hard), n[hard]), axis=1)
    else:
        bounds = _optimal_bounds(hx, hw, n[hard], k)
    means = _cluster_means(hx, hw, bounds)
    centroids[hard] = means
    sse[hard] = _weighted_sse(hx, hw, bounds, means)
    return centroids, sse


def optimal_kmeans_1d(values: np.ndarray, weights: np.ndarray, k: int) -> tuple[np.ndarray, float]:
    """Globally optimal weighted 1-D k-means: ``(sorted centroids (k,), weighted SSE)``.

    ``values`` must be sorted, distinct and finite, ``weights`` positive. With fewer distinct
    values than k the table repeats the last value (unused entries are harmless).
    """
    values = np.asarray(values, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    if values.ndim != 1 or weights.shape != values.shape:
        raise ValueError(
            f"values and weights must be 1-D of one length, got {values.shape}, {weights.shape}"
        )
    if k < 1:
        raise ValueError(f"k must be positive, got {k}")
    if not (np.isfinite(values).all() and np.isfinite(weights).all()):
        raise ValueError("values and weights must be finite")
    if np.any(np.diff(values) <= 0):
        raise ValueError("values must be sorted and distinct")
    if np.any(weights <= 0):
        raise ValueError("weights must be positive")
    centroids, sse = optimal_kmeans_padded(
        values[None, :], weights[None, :], np.array([values.size]), k
    )
    return centroids[0], float(sse[0])


def optimal_kmeans_1d_rows(
    rows: np.ndarray, k: int, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Exact k-means of every row of ``rows (R, N)``: ``(centroids (R, k), sse (R,))``.

    Optional non-negative ``weights (R, N)``. Cost ``O(R k N log N)``: meant for references
    and moderate sizes; `lloyd_rows` is the fast path.
    """
    x, w = _sorted_rows(rows, weights)
    positive = w > 0
    n = positive.sum(axis=1)
    if not positive.all():
        order = np.argsort(~positive, axis=1, kind="stable")
        x = np.take_along_axis(x, order, axis=1)
        w = np.take_along_axis(w, order, axis=1)
    return optimal_kmeans_padded(x, w, n, k)


def _sorted_rows(rows: np.ndarray, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    rows = np.asarray(rows)
    if rows.ndim != 2:
        raise ValueError(f"rows must be 2-D, got shape {rows.shape}")
    x = clean_float64(rows)
    if weights is None:
        return np.sort(x, axis=1), np.ones_like(x)
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape != rows.shape or np.any(weights < 0):
        raise ValueError("weights must be non-negative with the shape of rows")
    order = np.argsort(x, axis=1, kind="stable")
    return np.take_along_axis(x, order, axis=1), np.take_along_axis(weights, order, axis=1)


# --------------------------------------------------------------------------------------------
# Batched Lloyd on prefix sums
# --------------------------------------------------------------------------------------------


class PrefixProblems:
    """Many weighted 1-D problems as prefix sums over their sorted points.

    ``points (P, L)`` are sorted per row; with ``grid`` set, every row shares the points of
    ``points[0]`` (a histogram over one value grid, zero weights allowed). ``weights`` None
    means unit weights. Sums are taken on values centred by ``shift (P, 1)``, a data point
    that does not depend on zero-weight points, so adding or removing those changes nothing.
    """

    def __init__(
        self,
        points: np.ndarray,
        shift: np.ndarray,
        weights: np.ndarray | None,
        grid: bool,
        samples: int | None = None,
        counts: bool = False,
    ) -> None:
        problems, length = points.shape
        if weights is not None and not counts:  # counts (>= 1 each) always resolve
            weights = resolvable_weights(weights)
        self.points, self.shift, self.grid = points, shift, grid
        self.weights = weights
        # Size of every problem for the cost heuristics, the same for all problems of a
        # tensor (never the batch's grid length), so no result depends on the batching.
        self.samples = length if samples is None else samples
        if weights is None:
            self.cum_w = np.broadcast_to(
                np.arange(length + 1, dtype=np.float64), (problems, length + 1)
            )
            self.cum_x = _prefix_sums(points - shift, length)
        else:
            self.cum_w = _prefix_sums(weights, length)
            self.cum_x = _prefix_sums(weights * (points - shift), length)

    @property
    def length(self) -> int:
        """Points per problem."""
        return self.points.shape[1]

    @functools.cached_property
    def cum_xx(self) -> np.ndarray:
        """Prefix sums of ``w (x - shift)^2`` (computed when first needed)."""
        centred = self.points - self.shift
        centred *= centred
        if self.weights is not None:
            centred *= self.weights
        return _prefix_sums(centred, self.length)

    def compact(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(x, w, n)``: positive-weight points first, the input of `optimal_kmeans_padded`."""
        if self.weights is None:
            points = np.ascontiguousarray(self.points)
            return points, np.ones_like(points), np.full(points.shape[0], self.length)
        present = self.weights > 0
        order = np.argsort(~present, axis=1, kind="stable")
        x = np.take_along_axis(self.points, order, axis=1)
        n = present.sum(axis=1)
        # Padding repeats the last point (zero weight), so rows stay sorted.
        last = np.take_along_axis(x, np.maximum(n - 1, 0)[:, None], axis=1)
        x = np.where(np.arange(self.length)[None, :] < n[:, None], x, last)
        return x, np.take_along_axis(self.weights, order, axis=1), n

    def count_below(self, thresholds: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """Number of points below each threshold: ``(P', Q) -> (P', Q)``, for problems ``rows``."""
        if self.grid:
            return np.searchsorted(self.points[0], thresholds, side="left")
        return searchsorted_rows(self.points, thresholds, "left", rows)

    def bounds(self, centroids: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """Cluster boundaries ``(P', k + 1)`` of the nearest-centroid partition."""
        mids = 0.5 * (centroids[:, 1:] + centroids[:, :-1])
        inner = self.count_below(mids, rows)
        edge = np.full((centroids.shape[0], 1), self.length)
        return np.concatenate((np.zeros_like(edge), inner, edge), axis=1)

    def cluster_sums(
        self, bounds: np.ndarray, rows: np.ndarray | None = None, squares: bool = False
    ) -> tuple[np.ndarray, ...]:
        """Per-cluster weight and centred sum (and sum of squares), each ``(P', k)``."""
        if rows is None:
            rows = np.arange(bounds.shape[0], dtype=np.intp)
        flat = (rows.astype(np.intp) * (self.length + 1))[:, None] + bounds
        cums = (self.cum_x, self.cum_xx) if squares else (self.cum_x,)
        sums = [np.diff(cum.reshape(-1)[flat], axis=1) for cum in cums]
        if self.weights is None:
            sum_w = np.diff(bounds, axis=1).astype(np.float64)
        else:
            sum_w = np.diff(self.cum_w.reshape(-1)[flat], axis=1)
        return (sum_w, *sums)

    def extent(self, bounds: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions of the first and last positive-weight point of every cluster ``(P', k)``.

        For an empty cluster, last < first.
        """
        if self.weights is None:
            return bounds[:, :-1], bounds[:, 1:] - 1
        flat = self.cum_w.reshape(-1)[(rows * (self.length + 1))[:, None] + bounds]
        first = searchsorted_rows(self.cum_w, flat[:, :-1], "right", rows) - 1
        last = searchsorted_rows(self.cum_w, flat[:, 1:], "left", rows) - 1
        return first, last

    def value_at(self, positions: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Point values at (clipped) ``positions (P', Q)`` of problems ``rows``."""
        positions = np.clip(positions, 0, self.length - 1)
        if self.grid:
            return self.points[0][positions]
        return self.points.reshape(-1)[(rows * self.length)[:, None] + positions]


def prefix_problems_sorted(x: np.ndarray, w: np.ndarray | None = None) -> PrefixProblems:
    """`PrefixProblems` of rows already sorted, ``x (P, L)``, optional weights ``(P, L)``."""
    problems, length = x.shape
    shift = x[:, length // 2 : length // 2 + 1] if length else np.zeros((problems, 1))
    return PrefixProblems(x, shift, w, grid=False)


def prefix_problems_grid(
    grid: np.ndarray, weights: np.ndarray, samples: int, counts: bool = False
) -> PrefixProblems:
    """`PrefixProblems` of histograms ``weights (P, L)`` over one sorted value ``grid (L,)``.

    ``samples``: the number of values each histogram summarises (drives the cost heuristics);
    ``counts``: the weights are counts, which `resolvable_weights` never changes.
    """
    problems, length = weights.shape
    cum = np.cumsum(weights, axis=1)
    middle = searchsorted_rows(cum, 0.5 * cum[:, -1:], side="left")
    shift = grid[np.minimum(middle, length - 1)] if length else np.zeros((problems, 1))
    points = np.broadcast_to(grid, (problems, length))
    return PrefixProblems(points, shift, weights, grid=True, samples=samples, counts=counts)


def companded_quantiles(problems: PrefixProblems, fractions: np.ndarray, pieces: int) -> np.ndarray:
    """Values ``(P, F)`` at ``fractions`` of the cube-root-companded distribution of each problem.

    The density is estimated from ``pieces`` equal-mass quantile pieces: piece t of width
    ``d_t`` and mass ``1/pieces`` has companded measure ``(1 / (pieces d_t))^(1/3) d_t``, i.e.
    proportional to ``d_t^(2/3)``.
    """
    cum = problems.cum_w[:, 1:]
    count, length = cum.shape
    total = problems.cum_w[:, -1:]
    levels = total * (np.arange(1, pieces) / pieces)[None, :]
    if problems.weights is None:
        # Unit weights: the first point whose cumulative count reaches t is ceil(t) - 1.
        inner = np.ceil(levels).astype(np.intp) - 1
        low, high = np.zeros((count, 1), np.intp), np.full((count, 1), length - 1)
    else:
        low = searchsorted_rows(cum, np.zeros((count, 1)), side="right")
        high = searchsorted_rows(cum, total, side="left")
        inner = searchsorted_rows(cum, levels, side="left")
    positions = np.clip(np.concatenate((low, inner, high), axis=1), 0, length - 1)
    quantiles = np.take_along_axis(problems.points, positions, axis=1)
    width = np.diff(quantiles, axis=1)
    measure = width ** (2.0 / 3.0)
    companded = np.concatenate((np.zeros((count, 1)), np.cumsum(measure, axis=1)), axis=1)
    targets = companded[:, -1:] * fractions[None, :]
    piece = np.minimum(searchsorted_rows(companded[:, 1:], targets, side="left"), pieces - 1)
    piece_measure = np.take_along_axis(measure, piece, axis=1)
    fraction = (targets - np.take_along_axis(companded, piece, axis=1)) / np.where(
        piece_measure > 0, piece_measure, 1.0
    )
    start = np.take_along_axis(quantiles, piece, axis=1)
    return start + np.clip(fraction, 0.0, 1.0) * np.take_along_axis(width, piece, axis=1)


def _density_pieces(resolution: int, length: int) -> int:
    """Quantile pieces for the density estimate: ``4 x resolution``, at least 4 points each."""
    return int(np.clip(4 * resolution, 16, max(16, length // 4)))


def panter_dite_init(problems: PrefixProblems, k: int) -> np.ndarray:
    """Initial centroids ``(P, k)``: the ``(c + 1/2) / k`` companded quantiles (Panter-Dite)."""
    fractions = (np.arange(k) + 0.5) / k
    return companded_quantiles(problems, fractions, _density_pieces(k, problems.samples))


def coarse_size(k: int, points: int) -> int:
    """Super-points of the coarse exact init (0: none) for k clusters over ``points`` points.

    At most ``8k``; the coarse DP costs about ``k M log2 M`` evaluations, kept within
    `COARSE_BUDGET` per point of the problem so it never dominates; below ``2k`` it is skipped.
    """
    size = min(8 * k, points)
    while size >= 2 * k and k * size * np.log2(size) > COARSE_BUDGET * points:
        size //= 2
    return size if size >= 2 * k and k > 1 else 0


def coarse_optimal_init(problems: PrefixProblems, k: int, size: int) -> np.ndarray:
    """Initial centroids ``(P, k)``: exact k-means of ``size`` super-points per problem.

    Super-points are the weighted means of the points between consecutive ``1/size``
    quantiles of the companded distribution, so every optimal cluster spans several of them
    and the coarse optimum fixes how many clusters go where; Lloyd then refines it.
    """
    fractions = np.arange(1, size) / size
    cuts = problems.count_below(
        companded_quantiles(problems, fractions, _density_pieces(size, problems.samples))
    )
    edge = np.full((cuts.shape[0], 1), problems.length)
    sum_w, sum_x = problems.cluster_sums(np.concatenate((np.zeros_like(edge), cuts, edge), 1))
    filled = sum_w > 0
    means = problems.shift + sum_x / np.where(filled, sum_w, 1.0)
    order = np.argsort(~filled, axis=1, kind="stable")
    centroids, _ = optimal_kmeans_padded(
        np.take_along_axis(means, order, axis=1),
        np.take_along_axis(sum_w, order, axis=1),
        filled.sum(axis=1),
        k,
    )
    return centroids


def fit_problems(problems: PrefixProblems, k: int, iterations: int = 100) -> np.ndarray:
    """Near-optimal k-means ``(P, k)`` of every problem.

    Exact k-means of a companded coarse summary then Lloyd; when the coarse step would cost
    too much (many clusters for the points), Panter-Dite quantiles then Lloyd, then every
    boundary is re-optimised exactly within `POLISH_REACH` clusters' worth of points.
    """
    size = coarse_size(k, problems.samples)
    init = coarse_optimal_init(problems, k, size) if size else panter_dite_init(problems, k)
    centroids = lloyd_refine(problems, init, iterations)
    if size or k == 1:
        return centroids
    return polish_centroids(problems, centroids, k)


def polish_centroids(problems: PrefixProblems, centroids: np.ndarray, k: int) -> np.ndarray:
    """`polish_bounds` applied to the nearest-centroid partitions of ``centroids (P, k)``."""
    x, w, n = problems.compact()
    hard = np.flatnonzero(n > k)
    if hard.size == 0:
        return centroids
    x, w, n = x[hard], w[hard], n[hard]
    mids = 0.5 * (centroids[hard, 1:] + centroids[hard, :-1])
    inner = searchsorted_rows(x, mids, side="left")
    edge = n[:, None]
    bounds = np.concatenate((np.zeros_like(edge), inner, edge), axis=1)
    radius = np.ceil(POLISH_REACH * n / k).astype(np.intp)
    bounds = polish_bounds(x, w, n, bounds, radius, POLISH_ROUNDS)
    out = centroids.copy()
    out[hard] = _cluster_means(x, w, bounds)
    return out


def _reseed_empty(
    problems: PrefixProblems,
    centroids: np.ndarray,
    bounds: np.ndarray,
    rows: np.ndarray,
    sum_w: np.ndarray,
) -> None:
    """Give empty clusters work (in place), for the problems ``rows`` at ``bounds``.

    Each empty cluster takes the largest point of a cluster holding at least two distinct
    values, largest SSE first, at most one per cluster; the next Lloyd step splits it.
    """
    need = np.flatnonzero((sum_w <= 0).any(axis=1))
    if need.size == 0:
        return
    edges, ids = bounds[need], rows[need]
    first, last = problems.extent(edges, ids)
    low, high = problems.value_at(first, ids), problems.value_at(last, ids)
    sum_w, sum_x, sum_xx = problems.cluster_sums(edges, ids, squares=True)
    empty = sum_w <= 0
    splittable = ~empty & (high > low)
    spread = sum_xx - sum_x * sum_x / np.where(empty, 1.0, sum_w)
    donors = np.argsort(np.where(splittable, -spread, np.inf), axis=1, kind="stable")
    receivers = np.argsort(~empty, axis=1, kind="stable")
    moves = np.minimum(empty.sum(axis=1), splittable.sum(axis=1))
    c = centroids[need]
    for e in range(int(moves.max())):
        active = np.flatnonzero(moves > e)
        donor = donors[active, e]
        c[active, receivers[active, e]] = high[active, donor]
    centroids[need] = c


def lloyd_refine(problems: PrefixProblems, centroids: np.ndarray, iterations: int) -> np.ndarray:
    """Lloyd iterations from ``centroids (P, k)`` until no boundary moves (at most ``iterations``).

    Returns sorted centroids. Each problem stops on its own (only the still-moving ones are
    iterated), so its result does not depend on the other problems.
    """
    centroids = np.sort(np.asarray(centroids, dtype=np.float64), axis=1)
    active = np.arange(centroids.shape[0], dtype=np.intp)
    previous = np.full((centroids.shape[0], centroids.shape[1] + 1), -1, dtype=np.intp)
    for _ in range(iterations):
        bounds = problems.bounds(centroids[active], active)
        moved = (bounds != previous[active]).any(axis=1)
        active, bounds = active[moved], bounds[moved]
        if active.size == 0:
            break
        previous[active] = bounds
        sum_w, sum_x = problems.cluster_sums(bounds, active)
        filled = sum_w > 0
        current = centroids[active]
        updated = np.where(
            filled, problems.shift[active] + sum_x / np.where(filled, sum_w, 1.0), current
        )
        if not filled.all():
            _reseed_empty(problems, updated, bounds, active, sum_w)
        updated.sort(axis=1)
        centroids[active] = updated
    return centroids


def problem_sse(problems: PrefixProblems, centroids: np.ndarray) -> np.ndarray:
    """Weighted SSE ``(P,)`` of the nearest-centroid partition for ``centroids (P, k)``."""
    sum_w, sum_x, sum_xx = problems.cluster_sums(problems.bounds(centroids), squares=True)
    offset = centroids - problems.shift
    return (sum_xx - 2 * offset * sum_x + offset * offset * sum_w).sum(axis=1)


def lloyd_rows(
    rows: np.ndarray, k: int, iterations: int = 100, weights: np.ndarray | None = None
) -> np.ndarray:
    """Batched 1-D k-means of every row of ``rows (R, N)``: sorted centroids ``(R, k)``.

    `fit_problems` (see the module docstring), with at most ``iterations`` Lloyd iterations.
    Optional non-negative ``weights (R, N)``.
    """
    if k < 1:
        raise ValueError(f"k must be positive, got {k}")
    x, w = _sorted_rows(rows, weights)
    problems = prefix_problems_sorted(x, None if weights is None else w)
    if x.shape[1] == 0:
        return np.zeros((x.shape[0], k))
    return fit_problems(problems, k, iterations)


# --------------------------------------------------------------------------------------------
# Vector k-means (cluster_dim > 1)
# --------------------------------------------------------------------------------------------


def assign_nearest_vectors(vectors: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Nearest centroid (Euclidean) of every vector: ``(N, V)``, ``(k, V)`` -> ``(N,)``."""
    vectors = np.asarray(vectors, dtype=np.float64)
    centroids = np.asarray(centroids, dtype=np.float64)
    out = np.empty(vectors.shape[0], dtype=_index_dtype(centroids.shape[0]))
    norms = (centroids * centroids).sum(axis=1)
    for start in range(0, vectors.shape[0], _VECTOR_CHUNK):
        chunk = vectors[start : start + _VECTOR_CHUNK]
        distance = norms[None, :] - 2.0 * (chunk @ centroids.T)
        out[start : start + chunk.shape[0]] = np.argmin(distance, axis=1)
    return out


def _kmeans_plus_plus(points: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    centroids = np.empty((k, points.shape[1]))
    centroids[0] = points[rng.integers(points.shape[0])]
    nearest = ((points - centroids[0]) ** 2).sum(axis=1)
    for c in range(1, k):
        total = nearest.sum()
        if total <= 0:
            centroids[c:] = centroids[0]
            break
        pick = min(int(np.searchsorted(np.cumsum(nearest), rng.random() * total)), len(points) - 1)
        centroids[c] = points[pick]
        np.minimum(nearest, ((points - centroids[c]) ** 2).sum(axis=1), out=nearest)
    return centroids


def kmeans_vectors(
    vectors: np.ndarray, k: int, seed: int | tuple[int, ...] = 0, iterations: int = 100
) -> np.ndarray:
    """Vector k-means (k-means++ then Lloyd) of ``vectors (N, V)``: centroids ``(k, V)``.

    Deterministic for a given seed. At most `MAX_VECTOR_FIT_POINTS` vectors, drawn with the
    seed, are used for fitting. With at most k vectors, the vectors themselves (padded by
    repetition) are returned.
    """
    vectors = np.asarray(vectors, dtype=np.float64)
    count = vectors.shape[0]
    if count <= k:
        if count == 0:
            return np.zeros((k, vectors.shape[1]))
        return vectors[np.minimum(np.arange(k), count - 1)]
    rng = np.random.default_rng(seed)
    if count > MAX_VECTOR_FIT_POINTS:
        chosen = np.sort(rng.choice(count, MAX_VECTOR_FIT_POINTS, replace=False))
        points = vectors[chosen]
    else:
        points = vectors
    centroids = _kmeans_plus_plus(points, k, rng)
    labels = None
    for _ in range(iterations):
        new_labels = assign_nearest_vectors(points, centroids)
        if labels is not None and np.array_equal(labels, new_labels):
            break
        labels = new_labels
        weight = np.bincount(labels, minlength=k).astype(np.float64)
        for d in range(points.shape[1]):
            sums = np.bincount(labels, weights=points[:, d], minlength=k)
            centroids[:, d] = np.where(weight > 0, sums / np.maximum(weight, 1.0), centroids[:, d])
    return centroids
