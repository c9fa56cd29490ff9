"""1-D k-means numerics: exact DP against brute force and scikit-learn, batched Lloyd, helpers."""

import itertools

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coreai_opt.numerics import kmeans
from coreai_opt.numerics.kmeans import (
    assign_nearest,
    float16_codec,
    kmeans_vectors,
    lloyd_rows,
    optimal_kmeans_1d,
    optimal_kmeans_1d_rows,
    optimal_kmeans_padded,
    polish_bounds,
    searchsorted_rows,
)

BF16 = np.dtype(ml_dtypes.bfloat16)


# --------------------------------------------------------------------------- test helpers


def brute_force_sse(values: np.ndarray, weights: np.ndarray, k: int) -> float:
    """Minimum weighted SSE over all partitions of the sorted points into k contiguous runs."""
    n = values.size
    if n <= k:
        return 0.0
    best = np.inf
    for cuts in itertools.combinations(range(1, n), k - 1):
        edges = (0, *cuts, n)
        total = 0.0
        for start, stop in itertools.pairwise(edges):
            x, w = values[start:stop], weights[start:stop]
            mean = np.sum(w * x) / np.sum(w)
            total += float(np.sum(w * (x - mean) ** 2))
        best = min(best, total)
    return best


def weighted_sse(values: np.ndarray, weights: np.ndarray, centroids: np.ndarray) -> float:
    """SSE of assigning each value to its nearest centroid (plain loop over centroids)."""
    distances = (values[:, None] - np.sort(centroids)[None, :]) ** 2
    return float(np.sum(weights * distances.min(axis=1)))


def row_sse(rows: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    distances = (rows[:, :, None] - centroids[:, None, :]) ** 2
    return distances.min(axis=2).sum(axis=1)


small_problem = st.integers(1, 10).flatmap(
    lambda n: st.tuples(
        st.lists(
            st.integers(-20, 20) | st.floats(-5, 5, allow_nan=False, width=32),
            min_size=n,
            max_size=n,
            unique=True,
        ),
        st.lists(st.integers(1, 5) | st.floats(0.01, 4.0), min_size=n, max_size=n),
        st.integers(1, 4),
    )
)


# --------------------------------------------------------------------------- exact DP


def test_optimal_kmeans_hand_values() -> None:
    centroids, sse = optimal_kmeans_1d(np.array([0.0, 1, 10, 11]), np.ones(4), 2)
    np.testing.assert_allclose(centroids, [0.5, 10.5])
    assert sse == pytest.approx(1.0)
    # A heavy point pulls its centroid: (3*0 + 1)/4 = 0.25, SSE 3/16 + 9/16 + 1/2.
    centroids, sse = optimal_kmeans_1d(np.array([0.0, 1, 10, 11]), np.array([3.0, 1, 1, 1]), 2)
    np.testing.assert_allclose(centroids, [0.25, 10.5])
    assert sse == pytest.approx(1.25)
    # Three clusters: the isolated point gets its own.
    centroids, sse = optimal_kmeans_1d(np.array([0.0, 1, 2, 100]), np.ones(4), 2)
    np.testing.assert_allclose(centroids, [1.0, 100.0])
    assert sse == pytest.approx(2.0)


def test_fewer_points_than_clusters_pads_by_repetition() -> None:
    centroids, sse = optimal_kmeans_1d(np.array([-1.0, 2.0]), np.array([1.0, 5.0]), 4)
    np.testing.assert_array_equal(centroids, [-1, 2, 2, 2])
    assert sse == 0.0
    centroids, sse = optimal_kmeans_1d(np.array([3.0]), np.array([2.0]), 1)
    np.testing.assert_array_equal(centroids, [3.0])


@pytest.mark.parametrize(
    ("values", "weights", "k", "match"),
    [
        ([1.0, 0.0], [1, 1], 2, "sorted"),
        ([0.0, 0.0], [1, 1], 2, "distinct"),
        ([0.0, 1.0], [1, 0], 2, "positive"),
        ([0.0, np.nan], [1, 1], 2, "finite"),
        ([0.0, 1.0], [1, 1], 0, "k must be positive"),
        ([0.0, 1.0], [1], 2, "one length"),
    ],
)
def test_optimal_kmeans_rejects_bad_input(values, weights, k, match) -> None:
    with pytest.raises(ValueError, match=match):
        optimal_kmeans_1d(np.array(values), np.array(weights, dtype=float), k)


@settings(max_examples=300, deadline=None)
@given(small_problem)
def test_dp_equals_brute_force(problem) -> None:
    values, weights, k = problem
    order = np.argsort(values)
    x = np.asarray(values, dtype=np.float64)[order]
    w = np.asarray(weights, dtype=np.float64)[order]
    centroids, sse = optimal_kmeans_1d(x, w, k)
    expected = brute_force_sse(x, w, k)
    assert sse == pytest.approx(expected, rel=1e-9, abs=1e-9)
    assert centroids.shape == (k,)
    assert np.all(np.diff(centroids) >= 0)
    # The returned table achieves the returned SSE (nearest-centroid assignment).
    assert weighted_sse(x, w, centroids) == pytest.approx(sse, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("k", [2, 5, 16])
def test_dp_never_worse_than_sklearn(seed: int, k: int) -> None:
    cluster = pytest.importorskip("sklearn.cluster")

    rng = np.random.default_rng(seed)
    values = np.unique(np.concatenate((rng.normal(0, 1, 150), rng.standard_t(2, 50))))
    weights = rng.integers(1, 20, values.size).astype(np.float64)
    _, sse = optimal_kmeans_1d(values, weights, k)
    model = cluster.KMeans(n_clusters=k, n_init=10, random_state=seed)
    model.fit(values[:, None], sample_weight=weights)
    assert sse <= model.inertia_ * (1 + 1e-9)


def test_rows_equal_single_problems() -> None:
    rng = np.random.default_rng(1)
    rows = rng.normal(size=(5, 40))
    rows[2, :30] = 0.5  # duplicates
    centroids, sse = optimal_kmeans_1d_rows(rows, 4)
    for r in range(rows.shape[0]):
        distinct, counts = np.unique(rows[r], return_counts=True)
        _, expected_sse = optimal_kmeans_1d(distinct, counts.astype(float), 4)
        assert sse[r] == pytest.approx(expected_sse, rel=1e-9, abs=1e-12)
        assert row_sse(rows[r : r + 1], centroids[r : r + 1])[0] == pytest.approx(sse[r], abs=1e-9)


def test_rows_with_weights_and_zero_weights() -> None:
    rng = np.random.default_rng(2)
    rows = rng.normal(size=(3, 30))
    weights = rng.integers(0, 4, size=rows.shape).astype(np.float64)
    _, sse = optimal_kmeans_1d_rows(rows, 3, weights)
    for r in range(3):
        keep = weights[r] > 0
        order = np.argsort(rows[r][keep])
        _, expected = optimal_kmeans_1d(rows[r][keep][order], weights[r][keep][order], 3)
        assert sse[r] == pytest.approx(expected, rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 6))
def test_polish_with_wide_windows_is_exact(seed: int, k: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(k + 1, 40))
    x = np.sort(rng.normal(size=(2, n)), axis=1)
    w = rng.uniform(0.1, 2.0, size=x.shape)
    sizes = np.full(2, n)
    start = np.sort(rng.integers(1, n, size=(2, k + 1)), axis=1)
    polished = polish_bounds(x, w, sizes, start, np.full(2, n), rounds=1)
    exact = kmeans._optimal_bounds(x, w, sizes, k)
    means = kmeans._cluster_means(x, w, polished)
    np.testing.assert_allclose(
        kmeans._weighted_sse(x, w, polished, means),
        kmeans._weighted_sse(x, w, exact, kmeans._cluster_means(x, w, exact)),
        rtol=1e-9,
    )


def test_polish_keeps_boundaries_within_windows() -> None:
    x = np.arange(20, dtype=np.float64)[None, :]
    w = np.ones_like(x)
    bounds = np.array([[0, 2, 4, 20]])
    out = polish_bounds(x, w, np.array([20]), bounds, np.array([1]), rounds=1)
    assert out[0, 1] <= 3 and out[0, 2] <= 5
    assert out[0, 0] == 0 and out[0, 3] == 20


# --------------------------------------------------------------------------- Lloyd


def test_lloyd_rows_within_a_tenth_of_a_db_of_exact() -> None:
    rng = np.random.default_rng(3)
    rows = rng.normal(0, 0.02, size=(48, 1024)).astype(np.float16).astype(np.float64)
    signal = float(np.sum(rows**2))
    for k in (4, 16, 64):
        _, exact_sse = optimal_kmeans_1d_rows(rows, k)
        centroids = lloyd_rows(rows, k)
        ours = row_sse(rows, centroids).sum()
        gap = 10 * np.log10(ours / exact_sse.sum())
        assert 10 * np.log10(signal / ours) > 0
        assert gap < 0.1, (k, gap)


def test_lloyd_rows_is_sorted_and_batch_independent() -> None:
    rng = np.random.default_rng(4)
    rows = rng.standard_t(3, size=(12, 300))
    together = lloyd_rows(rows, 8)
    assert np.all(np.diff(together, axis=1) >= 0)
    for r in (0, 5, 11):
        np.testing.assert_array_equal(lloyd_rows(rows[r : r + 1], 8)[0], together[r])


def test_lloyd_rows_few_distinct_values_is_lossless() -> None:
    rows = np.array([[1.0, 1.0, 2.0, 5.0, 5.0, 2.0], [0.0] * 6])
    centroids = lloyd_rows(rows, 4)
    assert row_sse(rows, centroids).max() == 0.0


def test_lloyd_rows_weights_pull_centroids() -> None:
    rows = np.array([[0.0, 1.0, 10.0]])
    heavy = lloyd_rows(rows, 2, weights=np.array([[1.0, 1.0, 1.0]]))
    np.testing.assert_allclose(heavy[0], [0.5, 10.0])
    tilted = lloyd_rows(rows, 1, weights=np.array([[3.0, 1.0, 0.0]]))
    np.testing.assert_allclose(tilted[0], [0.25])


# --------------------------------------------------------------------------- helpers


def test_assign_nearest_hand_values_and_ties() -> None:
    centroids = np.array([-1.0, 0.0, 2.0])
    values = np.array([-5.0, -0.6, -0.5, -0.4, 0.9, 1.0, 1.1, 9.0])
    np.testing.assert_array_equal(assign_nearest(values, centroids), [0, 0, 1, 1, 1, 2, 2, 2])
    assert assign_nearest(values, centroids).dtype == np.uint8


def test_assign_nearest_per_row_matches_loop() -> None:
    rng = np.random.default_rng(5)
    values = rng.normal(size=(7, 50))
    centroids = np.sort(rng.normal(size=(7, 5)), axis=1)
    expected = np.stack([assign_nearest(values[r], centroids[r]) for r in range(7)])
    np.testing.assert_array_equal(assign_nearest(values, centroids), expected)
    with pytest.raises(ValueError, match="sorted"):
        assign_nearest(values[0], centroids[0, ::-1])


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 6),
    st.integers(0, 33),
    st.integers(1, 9),
    st.sampled_from(["left", "right"]),
    st.integers(0, 2**32 - 1),
)
def test_searchsorted_rows_matches_numpy(rows, length, queries, side, seed) -> None:
    rng = np.random.default_rng(seed)
    data = np.sort(rng.integers(-5, 5, size=(rows, length)).astype(float), axis=1)
    q = rng.integers(-6, 6, size=(rows, queries)).astype(float)
    expected = np.stack([np.searchsorted(data[r], q[r], side=side) for r in range(rows)])
    np.testing.assert_array_equal(searchsorted_rows(data, q, side), expected)


@pytest.mark.parametrize("dtype", [np.dtype(np.float16), BF16])
def test_float16_codec_orders_and_cleans(dtype) -> None:
    codec = float16_codec(dtype)
    assert np.all(np.diff(codec.value_of_key) > 0)
    special = np.array([np.nan, -0.0, 0.0, np.inf, -np.inf, 1.5, -2.0], dtype=np.float32)
    keys = codec.keys(special.astype(dtype))
    largest = float(ml_dtypes.finfo(dtype).max)
    np.testing.assert_array_equal(
        codec.value_of_key[keys], [0.0, 0.0, 0.0, largest, -largest, 1.5, -2.0]
    )
    patterns = np.arange(1 << 16, dtype=np.uint16).view(dtype)
    finite = np.isfinite(patterns.astype(np.float32))
    order = np.argsort(patterns[finite].astype(np.float64), kind="stable")
    assert np.all(np.diff(codec.keys(patterns[finite][order]).astype(int)) >= 0)


def test_optimal_padded_handles_mixed_sizes() -> None:
    x = np.array([[0.0, 1.0, 2.0, 3.0], [5.0, 6.0, 6.0, 6.0], [7.0, 7.0, 7.0, 7.0]])
    w = np.array([[1.0, 1, 1, 1], [1.0, 2, 0, 0], [0.0, 0, 0, 0]])
    centroids, sse = optimal_kmeans_padded(x, w, np.array([4, 2, 0]), 2)
    np.testing.assert_allclose(centroids[0], [0.5, 2.5])
    np.testing.assert_allclose(centroids[1], [5.0, 6.0])
    np.testing.assert_allclose(centroids[2], [0.0, 0.0])
    np.testing.assert_allclose(sse, [1.0, 0.0, 0.0])


def test_kmeans_vectors_finds_separated_clusters_deterministically() -> None:
    rng = np.random.default_rng(6)
    centres = np.array([[0.0, 0.0], [0.0, 10.0], [10.0, 0.0], [10.0, 10.0]])
    vectors = np.repeat(centres, 50, axis=0) + rng.normal(0, 0.1, size=(200, 2))
    found = kmeans_vectors(vectors, 4, seed=3)
    order = np.lexsort(np.round(found).T[::-1])
    np.testing.assert_allclose(found[order], centres, atol=0.1)
    np.testing.assert_array_equal(kmeans_vectors(vectors, 4, seed=3), found)
    np.testing.assert_array_equal(kmeans_vectors(vectors[:3], 4)[3], vectors[2])


def test_resolvable_weights_floor_only_unresolvable_weights() -> None:
    counts = np.array([[1.0, 5.0, 0.0, 2.0]])
    assert kmeans.resolvable_weights(counts) is counts
    extreme = np.array([[1e60, 1e-3, 0.0, 2e-3], [1.0, 1.0, 1.0, 1.0]])
    floored = kmeans.resolvable_weights(extreme)
    floor = 1e60 * kmeans.MIN_RELATIVE_WEIGHT
    np.testing.assert_array_equal(floored[0], [1e60 + 0.0, floor, 0.0, floor])
    np.testing.assert_array_equal(floored[1], extreme[1])


@pytest.mark.parametrize("k", [2, 4, 16])
def test_weights_beyond_float64_resolution_do_not_break_the_solvers(k: int) -> None:
    """Importance weights 1e60 apart (channel scales 1e30 apart) once made a segment weigh
    exactly 0 in the prefix sums: 0/0 costs and an IndexError in the DP."""
    rng = np.random.default_rng(30)
    values = np.sort(rng.uniform(-1, 1, 200))
    weights = np.where(np.arange(200) % 3 == 0, 1e60, 1e-3)
    centroids, sse = kmeans.optimal_kmeans_1d(values, weights, k)
    assert np.isfinite(centroids).all() and np.isfinite(sse)
    assert np.all(np.diff(centroids) >= 0)
    heavy = values[weights > 1]
    # The heavy points decide the optimum: the light ones weigh < 2^-150 of the total.
    expected, _ = kmeans.optimal_kmeans_1d(heavy, np.ones(heavy.size), k)
    np.testing.assert_allclose(centroids, expected, rtol=1e-9, atol=1e-12)
    rows = np.tile(values, (3, 1))
    lloyd = kmeans.lloyd_rows(rows, k, weights=np.tile(weights, (3, 1)))
    assert np.isfinite(lloyd).all()
