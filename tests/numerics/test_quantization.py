"""Block-wise quantization numerics: hand values, properties and plain reimplementations."""

import itertools
import math
from collections.abc import Iterator

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coreai_opt.numerics import quantization
from coreai_opt.numerics.quantization import (
    dequantize_blockwise,
    expand_blockwise,
    integer_range,
    parameter_shape,
    quantize_fp8,
    quantize_int,
    quantize_mxfp4,
    snr_db,
    symmetric_zero_point,
)

E4M3 = np.dtype(ml_dtypes.float8_e4m3fn)
E5M2 = np.dtype(ml_dtypes.float8_e5m2)
E2M1 = np.dtype(ml_dtypes.float4_e2m1fn)
E8M0 = np.dtype(ml_dtypes.float8_e8m0fnu)
BF16 = np.dtype(ml_dtypes.bfloat16)
WEIGHT_DTYPES = [np.dtype(np.float16), BF16, np.dtype(np.float32)]
HAND = np.array([[-2, 0.5, 1, -0.5], [0.2, 1.8, -1.5, 0]], dtype=np.float32)
FP4_GRID = np.array([0, 0.5, 1, 1.5, 2, 3, 4, 6])


# --------------------------------------------------------------------------- test helpers


def repeat_blocks(params: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Independent block broadcast: np.repeat along every axis."""
    for axis, dim in enumerate(shape):
        params = np.repeat(params, dim // params.shape[axis], axis=axis)
    return params


def blocks_of(shape: tuple[int, ...], block_shape: tuple[int, ...]) -> Iterator[tuple]:
    """(parameter index, slices of the weight) for every block."""
    sizes = [dim if block == 0 else block for dim, block in zip(shape, block_shape, strict=True)]
    counts = [dim // size for dim, size in zip(shape, sizes, strict=True)]
    for index in itertools.product(*(range(c) for c in counts)):
        yield index, tuple(slice(i * s, (i + 1) * s) for i, s in zip(index, sizes, strict=True))


def floor_log2(value: float) -> int:
    exponent = math.floor(math.log2(value))
    if 2.0**exponent > value:
        exponent -= 1
    if 2.0 ** (exponent + 1) <= value:
        exponent += 1
    return exponent


def round_to_fp4(values: np.ndarray) -> np.ndarray:
    """Round to the E2M1 grid, ties to the even code (values already within ±6)."""
    distance = np.abs(np.abs(values)[..., None] - FP4_GRID)
    candidates = distance == distance.min(axis=-1, keepdims=True)
    even = candidates & (np.arange(FP4_GRID.size) % 2 == 0)
    code = np.where(even.any(axis=-1), even.argmax(axis=-1), candidates.argmax(axis=-1))
    return np.sign(values) * FP4_GRID[code]


def reference_mx(
    weight: np.ndarray, element: np.dtype, emax: int, block_shape: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Plain per-block OCP MX quantization: (decoded data, decoded scale) in float64."""
    w = weight.astype(np.float64)
    max_finite = float(ml_dtypes.finfo(element).max)
    shape = parameter_shape(weight.shape, block_shape)
    scale = np.empty(shape)
    data = np.empty(w.shape)
    for index, where in blocks_of(weight.shape, block_shape):
        amax = float(np.abs(w[where]).max())
        exponent = 0 if amax == 0 else min(max(floor_log2(amax) - emax, -127), 127)
        scale[index] = 2.0**exponent
        scaled = np.clip(w[where] / 2.0**exponent, -max_finite, max_finite)
        if element == E2M1:
            data[where] = round_to_fp4(scaled)
        else:
            data[where] = scaled.astype(element).astype(np.float64)
    return data, scale


def reference_int(
    weight: np.ndarray, n_bits: int, signed: bool, symmetric: bool, block_shape: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Plain per-block integer quantization: (codes, stored scale, zero point)."""
    qmin, qmax = integer_range(n_bits, signed, symmetric)
    tiny = float(ml_dtypes.finfo(weight.dtype).tiny)
    w = weight.astype(np.float64)
    shape = parameter_shape(weight.shape, block_shape)
    scale = np.empty(shape, dtype=weight.dtype)
    zero_point = np.empty(shape, dtype=np.int64)
    for index, where in blocks_of(weight.shape, block_shape):
        block = w[where]
        if symmetric:
            raw = np.abs(block).max() / (2 ** (n_bits - 1) - 1)
        else:
            raw = (max(block.max(), 0) - min(block.min(), 0)) / (qmax - qmin)
        scale[index] = np.asarray(max(raw, tiny) if raw > 0 else 1.0).astype(weight.dtype)
        if symmetric:
            zero_point[index] = symmetric_zero_point(n_bits, signed)
        else:
            low = min(block.min(), 0)
            zero_point[index] = np.clip(np.rint(qmin - low / float(scale[index])), qmin, qmax)
    divided = weight.astype(np.float32) / repeat_blocks(scale, w.shape).astype(np.float32)
    codes = np.clip(np.rint(divided) + repeat_blocks(zero_point, w.shape), qmin, qmax)
    return codes.astype(np.int64), scale, zero_point


def decoded(quantized: quantization.QuantizedTensor) -> np.ndarray:
    """(data - offset) * scale in float64 with the independent block broadcast."""
    shape = quantized.data.shape
    data = quantized.data.astype(np.float64)
    offset = repeat_blocks(quantized.offset.astype(np.float64), shape)
    return (data - offset) * repeat_blocks(quantized.scale.astype(np.float64), shape)


def random_weight(seed: int, shape: tuple[int, ...], dtype: np.dtype, std: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    weight = rng.normal(0.0, std, shape)
    if rng.random() < 0.5:  # some all-zero rows exercise the zero-range guard
        weight[rng.integers(0, shape[0])] = 0.0
    return weight.astype(dtype)


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Force many chunks (and the two-phase path) on small tensors."""
    monkeypatch.setattr(quantization, "CHUNK_ELEMENTS", 40)


# --------------------------------------------------------------------------- hand-computed


def test_int8_symmetric_per_tensor_hand_values() -> None:
    q = quantize_int(HAND, 8, signed=True, symmetric=True, block_shape=(0, 0))
    assert q.scale.shape == (1, 1)
    assert q.scale.dtype == np.float32
    assert q.scale[0, 0] == pytest.approx(2 / 127, rel=1e-7)
    assert q.data.dtype == np.int8
    assert q.data.tolist() == [[-127, 32, 64, -32], [13, 114, -95, 0]]
    assert q.offset.tolist() == [[0]]


def test_int8_asymmetric_per_tensor_hand_values() -> None:
    q = quantize_int(HAND, 8, signed=True, symmetric=False, block_shape=(0, 0))
    assert q.scale[0, 0] == pytest.approx(3.8 / 255, rel=1e-6)
    assert q.scale[0, 0] == pytest.approx(0.0149020, abs=1e-7)
    assert q.offset.tolist() == [[6]]
    assert q.offset.dtype == np.int8
    assert q.data.tolist() == [[-128, 40, 73, -28], [19, 127, -95, 6]]


def test_uint8_asymmetric_zero_point_134() -> None:
    q = quantize_int(HAND, 8, signed=False, symmetric=False, block_shape=(0, 0))
    assert q.offset.dtype == np.uint8
    assert q.offset.tolist() == [[134]]
    assert q.data.dtype == np.uint8
    assert q.data[0, 0] == 0  # -2 is the range minimum


def test_uint8_symmetric_zero_point_127() -> None:
    q = quantize_int(HAND, 8, signed=False, symmetric=True, block_shape=(1, 0))
    assert q.offset.tolist() == [[127], [127]]
    assert q.data.tolist()[0] == [0, 159, 191, 95]
    assert q.data.max() <= 254


@pytest.mark.parametrize(
    ("n_bits", "signed", "symmetric", "expected"),
    [
        (8, True, True, (-127, 127)),
        (8, True, False, (-128, 127)),
        (8, False, True, (0, 254)),
        (8, False, False, (0, 255)),
        (4, True, True, (-7, 7)),
        (4, False, True, (0, 14)),
        (2, True, False, (-2, 1)),
        (2, False, False, (0, 3)),
    ],
)
def test_integer_range(n_bits: int, signed: bool, symmetric: bool, expected: tuple) -> None:
    assert integer_range(n_bits, signed, symmetric) == expected


def test_symmetric_zero_points() -> None:
    assert [symmetric_zero_point(b, False) for b in (2, 4, 8)] == [1, 7, 127]
    assert symmetric_zero_point(8, True) == 0


def test_mxfp8_hand_values_saturate() -> None:
    q = quantize_fp8(HAND, E4M3, (1, 0), mx=True)
    assert q.scale.dtype == E8M0
    assert q.scale.astype(np.float64).ravel().tolist() == [2.0**-7, 2.0**-8]
    # 1.8 / 2^-8 = 460.8 lies above E4M3's 448: saturate instead of becoming NaN.
    assert q.data.astype(np.float64).tolist() == [[-256, 64, 128, -64], [52, 448, -384, 0]]
    assert q.offset.dtype == E4M3
    assert not q.offset.astype(np.float64).any()


def test_mxfp4_hand_values_round_half_even() -> None:
    q = quantize_mxfp4(HAND, (1, 4))
    assert q.scale.astype(np.float64).ravel().tolist() == [0.5, 0.25]
    assert q.data.dtype == E2M1
    assert q.data.astype(np.float64).tolist() == [[-4, 1, 2, -1], [1, 6, -6, 0]]
    ties = np.array([[6, 0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5]], dtype=np.float32)
    q = quantize_mxfp4(ties, (1, 8))
    assert q.scale.astype(np.float64).tolist() == [[1.0]]
    assert q.data.astype(np.float64).tolist() == [[6, 0, 1, 1, 2, 2, 4, 4]]


def test_fp8_per_channel_scale_is_amax_over_max_finite() -> None:
    for element, max_finite in ((E4M3, 448.0), (E5M2, 57344.0)):
        q = quantize_fp8((HAND * 100).astype(np.float16), element, (1, 0), mx=False)
        assert q.scale.dtype == np.float16
        expected = (np.array([[200.0], [180.0]]) / max_finite).astype(np.float16)
        np.testing.assert_array_equal(q.scale, expected)
        assert q.data.dtype == element
        assert np.abs(q.data.astype(np.float64)).max() <= max_finite


def test_fp8_scale_below_float16_normal_range_is_clamped() -> None:
    # 2 / 57344 underflows float16's normal range; E5M2 data absorbs the larger scale.
    weight = HAND.astype(np.float16)
    q = quantize_fp8(weight, E5M2, (1, 0), mx=False)
    np.testing.assert_array_equal(q.scale, np.full((2, 1), np.finfo(np.float16).smallest_normal))
    assert snr_db(weight, q.dequantize(np.float16)) > 20


def test_scale_is_rounded_before_quantizing() -> None:
    """Codes must be computed with the stored (float16) scale, not the exact one."""
    scale_stored = np.float32(np.float16(2 / 127))
    candidates = np.arange(0, 2, 2**-10, dtype=np.float16).astype(np.float32)
    exact = np.rint(candidates.astype(np.float64) / (2 / 127))
    stored = np.rint(candidates / scale_stored)
    differing = candidates[exact != stored]
    assert differing.size > 0
    weight = np.array([2.0, differing[0]], dtype=np.float16)
    q = quantize_int(weight, 8, signed=True, symmetric=True, block_shape=(0,))
    assert q.scale[0] == np.float16(2 / 127)
    assert q.data[1] == stored[exact != stored][0]


# --------------------------------------------------------------------------- integer properties

GRANULARITIES = ["per_tensor", "per_channel_axis0", "per_channel_axis1", "per_block", "grouped"]


def block_shape_for(granularity: str, block: int) -> tuple[int, int]:
    return {
        "per_tensor": (0, 0),
        "per_channel_axis0": (1, 0),
        "per_channel_axis1": (0, 1),
        "per_block": (1, block),
        "grouped": (block, 0),
    }[granularity]


@settings(max_examples=150, deadline=None)
@given(
    n_bits=st.sampled_from([2, 4, 8]),
    signed=st.booleans(),
    symmetric=st.booleans(),
    granularity=st.sampled_from(GRANULARITIES),
    dtype=st.sampled_from(WEIGHT_DTYPES),
    rows=st.integers(1, 5),
    cols=st.integers(1, 5),
    block=st.sampled_from([2, 4]),
    std=st.sampled_from([1e-3, 0.02, 1.0, 30.0]),
    seed=st.integers(0, 2**32 - 1),
)
def test_integer_quantization_error_within_half_scale(
    n_bits: int,
    signed: bool,
    symmetric: bool,
    granularity: str,
    dtype: np.dtype,
    rows: int,
    cols: int,
    block: int,
    std: float,
    seed: int,
) -> None:
    weight = random_weight(seed, (4 * rows, 4 * cols), dtype, std)
    block_shape = block_shape_for(granularity, block)
    q = quantize_int(weight, n_bits, signed, symmetric, block_shape)
    qmin, qmax = integer_range(n_bits, signed, symmetric)
    params = parameter_shape(weight.shape, block_shape)

    assert q.data.dtype == (np.int8 if signed else np.uint8)
    assert q.scale.shape == q.offset.shape == params
    assert q.scale.dtype == dtype
    assert q.offset.dtype == q.data.dtype
    assert qmin <= q.data.min() and q.data.max() <= qmax
    assert (q.scale.astype(np.float64) > 0).all()
    if symmetric:
        assert (q.offset == symmetric_zero_point(n_bits, signed)).all()
    else:
        assert qmin <= q.offset.min() and q.offset.max() <= qmax

    w = weight.astype(np.float64)
    scale = repeat_blocks(q.scale.astype(np.float64), w.shape)
    offset = repeat_blocks(q.offset.astype(np.float64), w.shape)
    error = np.abs(w - decoded(q))
    inside = (w >= (qmin - offset) * scale) & (w <= (qmax - offset) * scale)
    assert (error[inside] <= scale[inside] * (0.5 + 1e-5)).all()
    clipped = q.data[~inside].astype(np.int64)
    assert np.isin(clipped, [qmin, qmax]).all()
    assert (decoded(q)[w == 0] == 0).all()  # zero is always exactly representable

    # The range is covered: scale is the range over the code span, rounded to the storage type.
    eps = float(ml_dtypes.finfo(dtype).eps)
    for index, where in blocks_of(weight.shape, block_shape):
        block_w = w[where]
        if symmetric:
            ideal = np.abs(block_w).max() / (2 ** (n_bits - 1) - 1)
        else:
            ideal = (max(block_w.max(), 0) - min(block_w.min(), 0)) / (qmax - qmin)
        stored = float(q.scale[index])
        if ideal == 0:
            assert stored == 1.0
        elif ideal >= float(ml_dtypes.finfo(dtype).tiny):
            assert abs(stored - ideal) <= eps * ideal


@pytest.mark.parametrize("granularity", GRANULARITIES)
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.usefixtures("small_chunks")
def test_chunked_integer_matches_plain_reference(
    granularity: str, threads: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(quantization, "NUM_THREADS", threads)
    weight = random_weight(7, (24, 16), np.dtype(np.float16), 0.05)
    block_shape = block_shape_for(granularity, 4)
    for n_bits, signed, symmetric in itertools.product((4, 8), (True, False), (True, False)):
        q = quantize_int(weight, n_bits, signed, symmetric, block_shape)
        codes, scale, zero_point = reference_int(weight, n_bits, signed, symmetric, block_shape)
        np.testing.assert_array_equal(q.data.astype(np.int64), codes)
        np.testing.assert_array_equal(q.scale, scale)
        np.testing.assert_array_equal(q.offset.astype(np.int64), zero_point)


@pytest.mark.parametrize("n_bits", [2, 4, 8])
@pytest.mark.parametrize("signed", [True, False])
@pytest.mark.parametrize("symmetric", [True, False])
def test_zero_tensor(n_bits: int, signed: bool, symmetric: bool) -> None:
    weight = np.zeros((4, 8), dtype=np.float16)
    q = quantize_int(weight, n_bits, signed, symmetric, (1, 4))
    assert (q.scale == 1).all()
    np.testing.assert_array_equal(q.data, q.offset.repeat(4, axis=1))
    assert not dequantize_blockwise(q.data, q.scale, q.offset, None, np.float16).any()


def test_zero_tensor_fp_formats() -> None:
    weight = np.zeros((2, 32), dtype=np.float32)
    for q in (
        quantize_fp8(weight, E4M3, (1, 32), mx=True),
        quantize_fp8(weight, E5M2, (1, 0), mx=False),
        quantize_mxfp4(weight, (1, 32)),
    ):
        assert np.isfinite(q.scale.astype(np.float64)).all()
        assert not q.data.astype(np.float64).any()


def test_underflowing_scale_is_clamped_to_smallest_normal() -> None:
    weight = np.array([[1e-6, -5e-7, 0.0, 2e-7]], dtype=np.float16)
    q = quantize_int(weight, 8, signed=True, symmetric=True, block_shape=(1, 0))
    assert q.scale[0, 0] == np.finfo(np.float16).smallest_normal
    assert np.isfinite(decoded(q)).all()


def test_bfloat16_weight_keeps_bfloat16_scale() -> None:
    weight = random_weight(3, (8, 64), BF16, 0.02)
    q = quantize_int(weight, 4, signed=True, symmetric=True, block_shape=(1, 32))
    assert q.scale.dtype == BF16
    assert snr_db(weight, q.dequantize(BF16)) > 15


# --------------------------------------------------------------------------- floating point


@settings(max_examples=60, deadline=None)
@given(
    element=st.sampled_from([E4M3, E5M2, E2M1]),
    dtype=st.sampled_from(WEIGHT_DTYPES),
    block_shape=st.sampled_from([(1, 32), (1, 8), (2, 16), (0, 32), (1, 0)]),
    std=st.sampled_from([1e-4, 0.02, 1.0, 1000.0]),
    seed=st.integers(0, 2**32 - 1),
)
def test_mx_matches_plain_reference(
    element: np.dtype, dtype: np.dtype, block_shape: tuple[int, int], std: float, seed: int
) -> None:
    if dtype == np.float16:
        std = min(std, 100.0)
    weight = random_weight(seed, (6, 64), dtype, std)
    if element == E2M1:
        q = quantize_mxfp4(weight, block_shape)
        emax = 2
    else:
        q = quantize_fp8(weight, element, block_shape, mx=True)
        emax = {E4M3: 8, E5M2: 15}[element]
    data, scale = reference_mx(weight, element, emax, block_shape)
    assert q.data.dtype == element
    assert q.scale.dtype == E8M0
    np.testing.assert_array_equal(q.data.astype(np.float64), data)
    np.testing.assert_array_equal(q.scale.astype(np.float64), scale)


@settings(max_examples=40, deadline=None)
@given(
    element=st.sampled_from([E4M3, E5M2, E2M1]),
    std=st.sampled_from([1e-3, 0.02, 5.0]),
    seed=st.integers(0, 2**32 - 1),
)
def test_mx_scales_are_ocp_powers_of_two(element: np.dtype, std: float, seed: int) -> None:
    weight = random_weight(seed, (4, 96), np.dtype(np.float32), std)
    if element == E2M1:
        q, emax = quantize_mxfp4(weight, (1, 32)), 2
    else:
        q, emax = quantize_fp8(weight, element, (1, 32), mx=True), {E4M3: 8, E5M2: 15}[element]
    assert (q.scale.view(np.uint8) != 255).all()  # 0xFF is E8M0's NaN
    scale = q.scale.astype(np.float64)
    exponent = np.log2(scale)
    np.testing.assert_array_equal(exponent, np.round(exponent))
    np.testing.assert_array_equal(scale, 2.0 ** (q.scale.view(np.uint8).astype(np.int64) - 127))
    amax = np.abs(weight.astype(np.float64)).reshape(4, 3, 32).max(axis=-1)
    nonzero = amax > 0
    ratio = amax[nonzero] / scale[nonzero]
    assert ((ratio >= 2.0**emax) & (ratio < 2.0 ** (emax + 1))).all()


@pytest.mark.usefixtures("small_chunks")
@pytest.mark.parametrize("element", [E4M3, E5M2])
@pytest.mark.parametrize("block_shape", [(0, 0), (1, 0), (0, 1), (4, 0), (1, 8)])
def test_chunked_fp8_matches_plain_reference(element: np.dtype, block_shape: tuple) -> None:
    weight = random_weight(11, (16, 16), np.dtype(np.float16), 0.3)
    q = quantize_fp8(weight, element, block_shape, mx=False)
    max_finite = float(ml_dtypes.finfo(element).max)
    expected_scale = np.empty(q.scale.shape, np.float16)
    for index, where in blocks_of(weight.shape, block_shape):
        amax = np.abs(weight[where].astype(np.float64)).max()
        expected_scale[index] = np.float16(max(amax / max_finite, 2.0**-14))
    np.testing.assert_array_equal(q.scale, expected_scale)
    divided = weight.astype(np.float32) / repeat_blocks(expected_scale, weight.shape).astype(
        np.float32
    )
    expected = np.clip(divided, -max_finite, max_finite).astype(element)
    np.testing.assert_array_equal(q.data.view(np.uint8), expected.view(np.uint8))
    assert snr_db(weight, q.dequantize(np.float16)) > 20


@pytest.mark.usefixtures("small_chunks")
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("block_shape", [(0, 0), (1, 0), (1, 4)])
def test_non_finite_weights_raise(bad: float, block_shape: tuple) -> None:
    weight = np.ones((8, 8), dtype=np.float32)
    weight[5, 3] = bad
    quantizers = [
        lambda w: quantize_int(w, 8, True, True, block_shape),
        lambda w: quantize_int(w, 4, False, False, block_shape),
        lambda w: quantize_fp8(w, E4M3, block_shape, mx=False),
        lambda w: quantize_fp8(w, E5M2, block_shape, mx=True),
        lambda w: quantize_mxfp4(w, block_shape),
    ]
    for quantize in quantizers:
        with pytest.raises(ValueError, match="NaN or Inf"):
            quantize(weight)


# --------------------------------------------------------------------------- validation


def test_non_divisible_block_raises_naming_the_axis() -> None:
    weight = np.ones((4, 30), dtype=np.float16)
    with pytest.raises(ValueError, match="axis 1"):
        quantize_int(weight, 4, True, True, (1, 32))
    with pytest.raises(ValueError, match="axis 0"):
        quantize_mxfp4(np.ones((6, 32), np.float16), (4, 32))
    with pytest.raises(ValueError, match="rank"):
        quantize_int(weight, 8, True, True, (1,))


def test_invalid_inputs_raise() -> None:
    with pytest.raises(ValueError, match="dtype"):
        quantize_int(np.ones((2, 2), np.int32), 8, True, True, (0, 0))
    with pytest.raises(ValueError, match="fp8_dtype"):
        quantize_fp8(np.ones((2, 2), np.float16), E2M1, (0, 0), mx=False)
    with pytest.raises(ValueError, match="n_bits"):
        integer_range(1, True, True)


def test_parameter_shape() -> None:
    assert parameter_shape((8, 64), (1, 32)) == (8, 2)
    assert parameter_shape((8, 64), (0, 0)) == (1, 1)
    assert parameter_shape((8, 64, 3), (4, 0, 3)) == (2, 1, 1)


# --------------------------------------------------------------------------- dequantization


def test_dequantize_hand_values_with_both_offsets() -> None:
    data = np.array([[1, 2, 3, 4], [5, 6, 7, 8]], dtype=np.int8)
    scale = np.array([[0.5], [2.0]], dtype=np.float32)
    offset1 = np.array([[1], [0]], dtype=np.int8)
    offset2 = np.array([[0.25], [0.0]], dtype=np.float32)
    out = dequantize_blockwise(data, scale, offset1, offset2, np.float32)
    assert out.dtype == np.float32
    assert out.tolist() == [[0.25, 0.75, 1.25, 1.75], [10, 12, 14, 16]]


def test_dequantize_block_broadcast_matches_repeat() -> None:
    rng = np.random.default_rng(5)
    data = rng.integers(0, 16, (6, 8, 4)).astype(np.uint8)
    scale = rng.random((3, 2, 1)).astype(np.float16)
    offset1 = rng.integers(0, 16, (3, 2, 1)).astype(np.uint8)
    offset2 = rng.random((3, 2, 1)).astype(np.float16)
    out = dequantize_blockwise(data, scale, offset1, offset2, np.float16)
    expected = (
        (data.astype(np.float32) - repeat_blocks(offset1, data.shape).astype(np.float32))
        * repeat_blocks(scale, data.shape).astype(np.float32)
        + repeat_blocks(offset2, data.shape).astype(np.float32)
    ).astype(np.float16)
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(
        expand_blockwise(scale, data.shape), repeat_blocks(scale, (6, 8, 4))
    )


@pytest.mark.parametrize("out_dtype", [np.dtype(np.float16), BF16, np.dtype(np.float32)])
def test_dequantize_is_the_correctly_rounded_product(
    out_dtype: np.dtype, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(quantization, "CHUNK_ELEMENTS", 16)  # chunks inside one block
    rng = np.random.default_rng(9)
    data = rng.integers(-128, 128, (32, 8)).astype(np.int8)
    scale = (rng.random((2, 1)) * 1e-2).astype(out_dtype)
    out = dequantize_blockwise(data, scale, np.zeros((2, 1), np.int8), None, out_dtype)
    exact = data.astype(np.float64) * repeat_blocks(scale.astype(np.float64), data.shape)
    np.testing.assert_array_equal(out, exact.astype(out_dtype))


def test_dequantize_fp8_data_with_e8m0_scale() -> None:
    data = np.array([[1.5, -448], [0.25, 3]], dtype=np.float32).astype(E4M3)
    scale = np.array([[2.0**-10], [2.0**5]], dtype=np.float32).astype(E8M0)
    out = dequantize_blockwise(data, scale, np.zeros((2, 1), E4M3), None, np.float16)
    assert out.dtype == np.float16
    assert out.tolist() == [[1.5 * 2**-10, -448 * 2**-10], [8.0, 96.0]]


def test_dequantize_validates_shapes() -> None:
    data = np.zeros((4, 6), np.int8)
    with pytest.raises(ValueError, match="rank"):
        dequantize_blockwise(data, np.ones((4,), np.float16), None, None, np.float16)
    with pytest.raises(ValueError, match="axis 1"):
        dequantize_blockwise(data, np.ones((4, 4), np.float16), None, None, np.float16)
    with pytest.raises(ValueError, match="offset1"):
        dequantize_blockwise(
            data, np.ones((4, 1), np.float16), np.zeros((1, 1), np.int8), None, np.float16
        )


def test_dequantize_does_not_modify_float_data() -> None:
    data = np.array([[1.0, 2.0]], dtype=np.float32)
    before = data.copy()
    dequantize_blockwise(data, np.full((1, 1), 2.0), np.ones((1, 1)), None, np.float32)
    np.testing.assert_array_equal(data, before)


# --------------------------------------------------------------------------- snr


def test_snr_db() -> None:
    assert snr_db(np.array([1.0, 1.0]), np.array([1.0, 0.0])) == pytest.approx(10 * math.log10(2))
    assert snr_db(np.ones(5, np.float16), np.ones(5, np.float16)) == math.inf
    with pytest.raises(ValueError, match="shape"):
        snr_db(np.ones(3), np.ones(4))


# --------------------------------------------------------------------------- overflow rule


def test_limit_scale_hand_values() -> None:
    # 65504 / 127 = 515.78 rounds to 516 in f16, and 127 * 516 = 65532 > 65504; the largest
    # f16 keeping 127 * s <= 65504 is 515.5 (f16 spacing 0.5 in [512, 1024)).
    scale = np.array([516.0, 1.0], dtype=np.float16)
    limited = quantization.limit_scale(scale, 127)
    np.testing.assert_array_equal(limited, np.array([515.5, 1.0], dtype=np.float16))
    assert limited.dtype == np.float16
    assert scale[0] == 516.0  # the input is not modified
    unchanged = np.array([515.5], dtype=np.float16)
    assert quantization.limit_scale(unchanged, 127) is unchanged
    # bf16: 3.3895e38 / 127 rounds up; the result is the bf16 just below the exact quotient.
    top = float(ml_dtypes.finfo(BF16).max)
    bf16 = np.array([top / 127], dtype=np.float64).astype(BF16)
    limited = quantization.limit_scale(bf16, 127).astype(np.float64)[0]
    assert 127 * limited <= top
    next_up = (np.array([limited]).astype(BF16).view(np.uint16) + 1).view(BF16)
    assert 127 * float(next_up.astype(np.float64)[0]) > top
    # Per-element reach and an explicit limit.
    scale = np.array([2.0, 2.0, 2.0], dtype=np.float32)
    limited = quantization.limit_scale(scale, np.array([1.0, 3.0, 4.0]), limit=6.0)
    np.testing.assert_array_equal(limited, [2.0, 2.0, 1.5])
    # float64 scales: the float64 product must stay finite.
    huge = np.array([np.finfo(np.float64).max / 100], dtype=np.float64)
    assert np.isfinite(quantization.limit_scale(huge, 127) * 127).all()


@pytest.mark.parametrize("dtype", WEIGHT_DTYPES)
def test_scale_at_the_weight_maximum_keeps_every_code_finite(dtype: np.dtype) -> None:
    """The issue's case: a weight at its type's maximum must not decompress to infinity."""
    top = float(ml_dtypes.finfo(dtype).max)
    weight = random_weight(21, (4, 64), dtype, 0.02)
    weight[0, 5], weight[1, 7], weight[2, :] = top, -top, top
    weight[3, ::2], weight[3, 1::2] = -top, top
    for n_bits, signed, symmetric in itertools.product((2, 4, 8), (True, False), (True, False)):
        qmin, qmax = integer_range(n_bits, signed, symmetric)
        for block_shape in ((0, 0), (1, 0), (1, 32), (2, 0)):
            q = quantize_int(weight, n_bits, signed, symmetric, block_shape)
            scale = q.scale.astype(np.float64)
            offset = q.offset.astype(np.float64)
            reach = np.maximum(offset - qmin, qmax - offset)  # every code, not only the used
            assert (reach * scale <= top).all(), (n_bits, signed, symmetric, block_shape)
            restored = q.dequantize(dtype).astype(np.float64)
            assert np.isfinite(restored).all()
            step = repeat_blocks(scale, weight.shape)[0, 5]
            assert np.abs(restored[0, 5] - top) <= 1.5 * step  # one step more at most
    for element in (E4M3, E5M2):
        q = quantize_fp8(weight, element, (1, 0), mx=False)
        assert (q.scale.astype(np.float64) * float(ml_dtypes.finfo(element).max) <= top).all()
        assert np.isfinite(q.dequantize(dtype).astype(np.float64)).all()
        mx = quantize_fp8(weight, element, (1, 32), mx=True)
        assert np.isfinite(mx.dequantize(dtype).astype(np.float64)).all()
    assert np.isfinite(quantize_mxfp4(weight, (1, 32)).dequantize(dtype).astype(np.float64)).all()


def test_asymmetric_block_wider_than_the_type_maximum() -> None:
    """[-65504, 65504] in f16: 256 codes cannot cover it with finite values at both ends;
    the scale gives way (every code stays finite) and the far end is clipped by one step."""
    weight = np.array([[-65504.0, -1.0, 0.0, 1.0, 65504.0, 30000.0]], dtype=np.float16)
    q = quantize_int(weight, 8, signed=True, symmetric=False, block_shape=(0, 0))
    scale, zero = float(q.scale[0, 0]), int(q.offset[0, 0])
    assert max(zero + 128, 127 - zero) * scale <= 65504
    restored = q.dequantize(np.float16).astype(np.float64)
    assert np.isfinite(restored).all()
    error = np.abs(restored - weight.astype(np.float64))
    assert error.max() <= 1.5 * scale


def test_asymmetric_scale_and_zero_point_are_chosen_together_at_the_maximum() -> None:
    """Lowering the scale and re-deriving the zero point could run away (each lower scale
    moved the zero point up, which needed a lower scale...) and end far beyond the bound:
    bf16 [-max, 1.87e38] under int8 asymmetric clipped 1.87e38 by 1.3 times the bound."""
    top = float(ml_dtypes.finfo(BF16).max)
    weight = np.array([[-top, 1.8662129847551738e38, 0.0, 1e37]], dtype=np.float64).astype(BF16)
    q = quantize_int(weight, 8, signed=True, symmetric=False, block_shape=(0, 0))
    scale, zero = float(q.scale[0, 0]), float(q.offset[0, 0])
    assert max(zero + 128, 127 - zero) * scale <= top
    ulp = float((q.scale.view(np.uint16) + 1).view(BF16).astype(np.float64)[0, 0]) - scale
    restored = q.dequantize(BF16).astype(np.float64)
    error = np.abs(restored - weight.astype(np.float64)).max()
    assert error <= scale / 2 + 255 * ulp + scale  # the span exceeds the type's maximum
