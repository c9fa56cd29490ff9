"""Sparse values quantized with per-output-channel scales: codes, scales, exact zeros."""

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coreai_opt.numerics import pruning, sparse_quant
from coreai_opt.numerics.quantization import dequantize_blockwise, quantize_fp8, quantize_int
from coreai_opt.numerics.sparse_quant import quantize_sparse_values

E4M3 = np.dtype(ml_dtypes.float8_e4m3fn)


def densify(codes: np.ndarray, mask: np.ndarray) -> np.ndarray:
    dense = np.zeros(mask.shape, dtype=codes.dtype)
    dense[mask] = codes
    return dense


def test_hand_values() -> None:
    weight = np.array([[0.0, 2.0, -1.0, 0.0], [0.5, 0.0, 0.0, -0.25]], np.float32)
    mask = weight != 0
    codes, scale = quantize_sparse_values(weight[mask], mask, 0)
    np.testing.assert_array_equal(scale, np.float32([[2 / 127], [0.5 / 127]]))
    np.testing.assert_array_equal(codes, [127, -64, 127, -64])  # -63.5 -> -64 (half to even)
    restored = dequantize_blockwise(densify(codes, mask), scale, None, None, np.float32)
    assert (restored[~mask] == 0).all() and not np.signbit(restored[~mask]).any()


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    shape=st.sampled_from([(16, 64), (8, 4, 3, 3), (40, 24)]),
    element=st.sampled_from([None, E4M3]),
    axis=st.sampled_from([0, 1]),
    chunk=st.sampled_from([64, 1 << 17]),
    dtype=st.sampled_from([np.float16, np.float32]),
)
def test_matches_dense_per_channel_quantization_of_the_pruned_weight(
    seed: int, shape: tuple, element, axis: int, chunk: int, dtype
) -> None:
    """Independent reference: quantize the dense pruned weight per channel, keep the kept."""
    rng = np.random.default_rng(seed)
    rows = (shape[0],) + (1,) * (len(shape) - 1)
    weight = (rng.standard_t(3, shape) * rng.uniform(0.001, 0.1, rows)).astype(dtype)
    weight[0] = 0
    mask = pruning.unstructured_mask(weight, 0.5)
    pruned = np.where(mask, weight, 0).astype(dtype)
    old = sparse_quant.CHUNK_ELEMENTS
    sparse_quant.CHUNK_ELEMENTS = chunk
    try:
        codes, scale = quantize_sparse_values(weight[mask], mask, axis, element)
    finally:
        sparse_quant.CHUNK_ELEMENTS = old
    blocks = tuple(1 if a == axis else 0 for a in range(weight.ndim))
    if element is None:
        reference = quantize_int(pruned, 8, True, True, blocks)
    else:
        reference = quantize_fp8(pruned, element, blocks, mx=False)
    np.testing.assert_array_equal(scale, reference.scale)
    expected = reference.data[mask]
    np.testing.assert_array_equal(codes.view(np.uint8), expected.view(np.uint8))


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), element=st.sampled_from([None, E4M3]))
def test_mse_channel_scales_are_never_worse(seed: int, element) -> None:
    rng = np.random.default_rng(seed)
    weight = (rng.standard_t(3, (12, 64)) * rng.uniform(0.001, 0.1, (12, 1))).astype(np.float16)
    mask = pruning.unstructured_mask(weight, 0.5)
    errors = {}
    for algorithm in ("rtn", "mse"):
        codes, scale = quantize_sparse_values(weight[mask], mask, 0, element, algorithm)
        restored = dequantize_blockwise(densify(codes, mask), scale, None, None, np.float64)
        assert (restored[~mask] == 0).all()
        errors[algorithm] = np.square(np.where(mask, weight, 0) - restored).sum(axis=1)
    assert np.all(errors["mse"] <= errors["rtn"] * (1 + 1e-5) + 1e-12)


def test_mask_and_values_must_agree() -> None:
    mask = np.ones((2, 4), bool)
    with pytest.raises(ValueError, match="set bits"):
        quantize_sparse_values(np.ones(5, np.float16), mask, 0)
    with pytest.raises(ValueError, match="set bits"):
        quantize_sparse_values(np.ones(5, np.float16), mask, 1)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    shape=st.sampled_from([(5, 3), (7, 13), (16, 8), (3, 2, 5), (1, 1)]),
    start=st.integers(0, 6),
    length=st.integers(1, 7),
)
def test_packed_mask_rows_match_the_unpacked_mask(
    seed: int, shape: tuple, start: int, length: int
) -> None:
    mask = np.random.default_rng(seed).random(shape) < 0.5
    packed = np.packbits(mask.reshape(-1), bitorder="little")
    lazy = sparse_quant.PackedMask(packed, shape)
    start = min(start, shape[0] - 1)
    np.testing.assert_array_equal(lazy.rows(start, start + length), mask[start : start + length])
    assert lazy.count() == np.count_nonzero(mask)
    weight = np.where(mask, np.random.default_rng(seed).standard_normal(shape), 0)
    weight = weight.astype(np.float16)
    for axis in range(len(shape)):
        expected = quantize_sparse_values(weight[mask], mask, axis)
        got = quantize_sparse_values(weight[mask], lazy, axis)
        np.testing.assert_array_equal(got[0], expected[0])
        np.testing.assert_array_equal(got[1], expected[1])
