"""Tests for coreai_opt.numerics.pruning: exact counts, tie rules, structure, bitmask format."""

from unittest import mock

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from coreai_opt.numerics import pruning
from coreai_opt.numerics.pruning import (
    block_mask,
    dense_from_sparse,
    n_m_mask,
    pack_mask,
    sparsity,
    unpack_mask,
    unstructured_mask,
    values_from_mask,
)

FLOAT_DTYPES = [np.float16, np.float32, np.float64, ml_dtypes.bfloat16]
# Few distinct magnitudes, both signs and both zeros: ties everywhere.
F, T = False, True
TIE_HEAVY_VALUES = [-2.0, -1.0, -0.5, -0.0, 0.0, 0.5, 1.0, 2.0]


def _magnitude(weight: np.ndarray) -> np.ndarray:
    return np.abs(weight.astype(np.float64))


def _reference_unstructured(weight: np.ndarray, target_sparsity: float) -> np.ndarray:
    """Straightforward reference: stable sort by magnitude, prune the first round(n*s)."""
    order = np.argsort(_magnitude(weight).reshape(-1), kind="stable")
    keep = np.ones(weight.size, dtype=bool)
    keep[order[: round(weight.size * target_sparsity)]] = False
    return keep.reshape(weight.shape)


@st.composite
def weights(draw: st.DrawFn, max_side: int = 40) -> np.ndarray:
    dtype = draw(st.sampled_from(FLOAT_DTYPES))
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=max_side))
    if draw(st.booleans()):
        values = draw(hnp.arrays(np.float64, shape, elements=st.sampled_from(TIE_HEAVY_VALUES)))
    else:
        values = draw(
            hnp.arrays(np.float64, shape, elements=st.floats(-1e3, 1e3, allow_subnormal=False))
        )
    return values.astype(dtype)


# ---------------------------------------------------------------------------------------------
# unstructured_mask
# ---------------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    weight=weights(),
    target_sparsity=st.floats(0.0, 1.0),
    chunk=st.sampled_from([7, 64, 1 << 20]),
)
def test_unstructured_matches_stable_sort_reference(
    weight: np.ndarray, target_sparsity: float, chunk: int
) -> None:
    with mock.patch.object(pruning, "_CHUNK", chunk):
        mask = unstructured_mask(weight, target_sparsity)
    assert mask.dtype == np.bool_ and mask.shape == weight.shape
    assert np.count_nonzero(~mask) == round(weight.size * target_sparsity)
    np.testing.assert_array_equal(mask, _reference_unstructured(weight, target_sparsity))
    magnitude = _magnitude(weight)
    if mask.any() and (~mask).any():
        assert magnitude[mask].min() >= magnitude[~mask].max()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unstructured_separates_values_sharing_high_bits(dtype: type) -> None:
    # Same top 16 bits everywhere: only the later radix digits distinguish them.
    weight = (1.0 + np.arange(1000, 0, -1) * np.finfo(dtype).eps).astype(dtype)
    mask = unstructured_mask(weight, 0.3)
    assert np.flatnonzero(~mask).tolist() == list(range(700, 1000))


@pytest.mark.parametrize("target_sparsity", [0.0, 0.25, 0.5, 0.7, 1.0])
def test_unstructured_large_float16_with_many_ties(target_sparsity: float) -> None:
    rng = np.random.default_rng(0)
    weight = (rng.integers(-3, 4, size=(700, 3001)) / 2).astype(np.float16)
    with mock.patch.object(pruning, "_CHUNK", 1 << 16):
        mask = unstructured_mask(weight, target_sparsity)
    np.testing.assert_array_equal(mask, _reference_unstructured(weight, target_sparsity))


def test_unstructured_all_equal_prunes_leading_flat_indices() -> None:
    weight = np.full((300, 401), -0.125, dtype=np.float16)
    mask = unstructured_mask(weight, 0.4)
    pruned = round(weight.size * 0.4)
    assert np.flatnonzero(~mask.reshape(-1)).tolist() == list(range(pruned))


def test_unstructured_hand_examples() -> None:
    weight = np.array([[0.5, -3.0, 1.0], [-0.5, 2.0, 0.0]], dtype=np.float16)
    expected = np.array([[False, True, True], [True, True, False]])
    np.testing.assert_array_equal(unstructured_mask(weight, 2 / 6), expected)
    # Round half to even: 10 * 0.25 = 2.5 -> 2 pruned, 6 * 0.25 = 1.5 -> 2 pruned.
    assert np.count_nonzero(~unstructured_mask(np.ones(10, np.float32), 0.25)) == 2
    assert np.count_nonzero(~unstructured_mask(np.ones(6, np.float32), 0.25)) == 2
    # -0.0 and +0.0 tie: the lower index goes first.
    zeros = np.array([1.0, 0.0, -0.0], dtype=np.float16)
    np.testing.assert_array_equal(unstructured_mask(zeros, 1 / 3), [True, False, True])
    # NaN ranks above every number, so it is pruned last.
    with_nan = np.array([np.nan, 1.0, np.inf, -5.0], dtype=np.float32)
    np.testing.assert_array_equal(unstructured_mask(with_nan, 0.75), [True, False, False, False])


def test_unstructured_extremes_and_empty() -> None:
    weight = np.arange(12, dtype=np.float16).reshape(3, 4)
    assert unstructured_mask(weight, 0.0).all()
    assert not unstructured_mask(weight, 1.0).any()
    assert unstructured_mask(np.zeros((0, 5), np.float16), 0.5).shape == (0, 5)


def test_unstructured_non_contiguous_weight_uses_row_major_order() -> None:
    weight = np.arange(1, 13, dtype=np.float32).reshape(3, 4).T
    mask = unstructured_mask(weight, 0.5)
    np.testing.assert_array_equal(mask, weight > 6)


@pytest.mark.parametrize("bad", [-0.1, 1.0001, float("nan"), float("inf")])
def test_unstructured_rejects_bad_sparsity(bad: float) -> None:
    with pytest.raises(ValueError, match="target_sparsity"):
        unstructured_mask(np.ones(4, np.float16), bad)


# ---------------------------------------------------------------------------------------------
# block_mask
# ---------------------------------------------------------------------------------------------


def test_block_mask_hand_example() -> None:
    # Output channels are rows; blocks {0,1} energy 1+1=2, {2,3} energy 9+0=9, {4,5} energy 8.
    weight = np.array([[1, 0], [0, -1], [3, 0], [0, 0], [2, 2], [0, 0]], dtype=np.float16)
    np.testing.assert_array_equal(
        block_mask(weight, 0.5, 2, 0), np.repeat([[False], [True], [False]], 2, 0).repeat(2, 1)
    )
    np.testing.assert_array_equal(
        block_mask(weight.T, 0.4, 2, -1), np.tile([F, F, T, T, T, T], (2, 1))
    )


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    n_blocks=st.integers(1, 9),
    block_size=st.integers(1, 4),
    target_sparsity=st.floats(0.0, 1.0),
    chunk=st.sampled_from([5, 1 << 20]),
)
def test_block_mask_structure(
    data: st.DataObject, n_blocks: int, block_size: int, target_sparsity: float, chunk: int
) -> None:
    rank = data.draw(st.integers(1, 3))
    output_axis = data.draw(st.sampled_from([0, -1, rank // 2]))
    shape = list(data.draw(hnp.array_shapes(min_dims=rank, max_dims=rank, max_side=5)))
    shape[output_axis] = n_blocks * block_size
    elements = st.sampled_from(TIE_HEAVY_VALUES) | st.floats(-8, 8, width=16)
    weight = data.draw(hnp.arrays(np.float16, shape, elements=elements))

    with mock.patch.object(pruning, "_CHUNK", chunk):
        mask = block_mask(weight, target_sparsity, block_size, output_axis)

    channel_first = np.moveaxis(mask, output_axis, 0).reshape(n_blocks, -1)
    kept_blocks = channel_first.all(axis=1)
    assert np.array_equal(kept_blocks, channel_first.any(axis=1)), "blocks must be all or nothing"
    assert np.count_nonzero(~kept_blocks) == round(n_blocks * target_sparsity)
    squares = np.moveaxis(weight.astype(np.float64) ** 2, output_axis, 0)
    energy = squares.reshape(n_blocks, -1).sum(axis=1)
    expected_kept = np.ones(n_blocks, dtype=bool)
    expected_kept[np.argsort(energy, kind="stable")[: round(n_blocks * target_sparsity)]] = False
    np.testing.assert_array_equal(kept_blocks, expected_kept)


def test_block_mask_rejects_indivisible_output_dim() -> None:
    weight = np.ones((6, 10), np.float16)
    with pytest.raises(ValueError, match=r"output dimension 10 .* not divisible by block_size 4"):
        block_mask(weight, 0.5, 4, -1)
    with pytest.raises(ValueError, match="target_sparsity"):
        block_mask(weight, 2.0, 2, 0)
    with pytest.raises(ValueError, match="output_axis"):
        block_mask(weight, 0.5, 2, 2)


# ---------------------------------------------------------------------------------------------
# n_m_mask
# ---------------------------------------------------------------------------------------------


def test_n_m_mask_hand_example() -> None:
    weight = np.array([[3, -1, 2, 0.5, 4, 4, 4, 4]], dtype=np.float16)
    np.testing.assert_array_equal(n_m_mask(weight, 2, 4, -1), [[T, F, T, F, F, F, T, T]])
    np.testing.assert_array_equal(
        n_m_mask(weight.T, 2, 4, 0), np.array([[T, F, T, F, F, F, T, T]]).T
    )


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    m=st.sampled_from([1, 2, 3, 4, 8, 16, 32, 33, 40]),
    groups_along_axis=st.integers(1, 3),
    chunk=st.sampled_from([50, 1 << 20]),
)
def test_n_m_mask_prunes_n_smallest_per_group(
    data: st.DataObject, m: int, groups_along_axis: int, chunk: int
) -> None:
    n = data.draw(st.integers(0, m))
    rank = data.draw(st.integers(1, 3))
    input_axis = data.draw(st.sampled_from([0, -1, rank // 2]))
    shape = list(data.draw(hnp.array_shapes(min_dims=rank, max_dims=rank, max_side=4)))
    shape[input_axis] = groups_along_axis * m
    elements = st.sampled_from(TIE_HEAVY_VALUES) | st.floats(-8, 8, width=16)
    weight = data.draw(hnp.arrays(np.float16, shape, elements=elements))

    with mock.patch.object(pruning, "_CHUNK", chunk):
        mask = n_m_mask(weight, n, m, input_axis)

    group_mask = np.moveaxis(mask, input_axis, -1).reshape(-1, m)
    group_magnitude = np.moveaxis(_magnitude(weight), input_axis, -1).reshape(-1, m)
    assert (np.count_nonzero(~group_mask, axis=1) == n).all()
    order = np.argsort(group_magnitude, axis=1, kind="stable")
    expected = np.ones_like(group_mask)
    np.put_along_axis(expected, order[:, :n], False, axis=1)
    np.testing.assert_array_equal(group_mask, expected)


def test_n_m_mask_rejects_bad_inputs() -> None:
    weight = np.ones((4, 6), np.float16)
    with pytest.raises(ValueError, match=r"input dimension 6 .* not divisible by m=4"):
        n_m_mask(weight, 2, 4, -1)
    with pytest.raises(ValueError, match="n:m"):
        n_m_mask(weight, 3, 2, -1)
    with pytest.raises(ValueError, match="n:m"):
        n_m_mask(weight, -1, 2, -1)


# ---------------------------------------------------------------------------------------------
# Bitmask sparse format
# ---------------------------------------------------------------------------------------------


def test_pack_mask_hand_example() -> None:
    mask = np.array([[T, F, T], [T, F, F], [F, F, T]])
    # Bits LSB first: elements 0..7 -> 0b00001101 = 13, element 8 -> byte 1 = 0b1.
    np.testing.assert_array_equal(pack_mask(mask), np.array([13, 1], dtype=np.uint8))
    np.testing.assert_array_equal(unpack_mask(np.array([13, 1], np.uint8), (3, 3)), mask)


@given(hnp.arrays(np.bool_, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=20)))
def test_pack_unpack_round_trip(mask: np.ndarray) -> None:
    packed = pack_mask(mask)
    assert packed.dtype == np.uint8 and packed.shape == ((mask.size + 7) // 8,)
    np.testing.assert_array_equal(unpack_mask(packed, mask.shape), mask)


def test_unpack_mask_validates() -> None:
    with pytest.raises(ValueError, match="expected 2"):
        unpack_mask(np.zeros(3, np.uint8), (3, 3))
    with pytest.raises(ValueError, match="padding"):
        unpack_mask(np.array([0, 2], np.uint8), (9,))
    with pytest.raises(ValueError, match="uint8"):
        unpack_mask(np.zeros(2, np.int8), (9,))
    with pytest.raises(ValueError, match="bool"):
        pack_mask(np.ones(4, np.uint8))


def test_values_and_dense_hand_example() -> None:
    weight = np.array([[1.5, -2.0], [3.0, -0.25]], dtype=np.float16)
    mask = np.array([[T, F], [T, T]])
    values = values_from_mask(weight, mask)
    np.testing.assert_array_equal(values, np.array([1.5, 3.0, -0.25], np.float16))
    assert values.dtype == np.float16
    dense = dense_from_sparse(values, mask, np.float32)
    np.testing.assert_array_equal(dense, [[1.5, 0.0], [3.0, -0.25]])
    assert dense.dtype == np.float32 and not np.signbit(dense[0, 1])


@settings(max_examples=150, deadline=None)
@given(weight=weights(), target_sparsity=st.floats(0.0, 1.0), chunk=st.sampled_from([3, 1 << 20]))
def test_dense_from_sparse_inverts_values_from_mask(
    weight: np.ndarray, target_sparsity: float, chunk: int
) -> None:
    mask = unstructured_mask(weight, target_sparsity)
    with mock.patch.object(pruning, "_CHUNK", chunk):
        values = values_from_mask(weight, mask)
    assert values.shape == (np.count_nonzero(mask),)
    dense = dense_from_sparse(values, mask)
    assert dense.dtype == weight.dtype
    # Bit-exact kept values (including -0.0), and pruned positions are exactly +0.
    bits = dense.view(f"u{dense.itemsize}")
    np.testing.assert_array_equal(bits[mask], weight.view(bits.dtype)[mask])
    assert (bits[~mask] == 0).all()
    np.testing.assert_array_equal(dense, weight * mask)


def test_dense_from_sparse_validates() -> None:
    mask = np.array([T, F, T])
    with pytest.raises(ValueError, match="3 values for a mask with 2 set bits"):
        dense_from_sparse(np.ones(3, np.float16), mask)
    with pytest.raises(ValueError, match="1-D"):
        dense_from_sparse(np.ones((1, 2), np.float16), mask)
    with pytest.raises(ValueError, match="bool"):
        dense_from_sparse(np.ones(2, np.float16), mask.astype(np.uint8))
    with pytest.raises(ValueError, match="shape"):
        values_from_mask(np.ones(4, np.float16), mask)


def test_sparsity() -> None:
    assert sparsity(np.array([[T, F], [F, F]])) == 0.75
    assert sparsity(np.ones(5, bool)) == 0.0
    assert sparsity(np.zeros(0, bool)) == 0.0
