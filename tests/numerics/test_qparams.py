"""Choosing quantization parameters and quantizing with given ones (torchao-style split).

The digests below were computed by the code before the split (one fused routine per
format), on the seeded weights that `case_weight` makes: the split must keep every byte.
"""

import hashlib

import ml_dtypes
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from coreai_opt.numerics import quantization
from coreai_opt.numerics.finite import NonFiniteWeightError
from coreai_opt.numerics.quantization import (
    QuantizedTensor,
    choose_qparams_fp8,
    choose_qparams_int,
    choose_qparams_mxfp4,
    integer_range,
    quantize_fp8,
    quantize_int,
    quantize_mxfp4,
    quantize_with_qparams,
)

E4M3 = np.dtype(ml_dtypes.float8_e4m3fn)
E5M2 = np.dtype(ml_dtypes.float8_e5m2)
E2M1 = np.dtype(ml_dtypes.float4_e2m1fn)
E8M0 = np.dtype(ml_dtypes.float8_e8m0fnu)

# (kind, weight dtype, shape, block shape, arguments, digest of data/scale/offset)
REFERENCE = [
    ("int", "float16", (64, 96), (1, 32), (8, True, True), "d13f93fad93ccadd"),
    ("int", "float16", (64, 96), (1, 32), (4, True, False), "bf23d36041220e3f"),
    ("int", "float16", (64, 96), (1, 32), (4, False, True), "f4addf13a60f3f75"),
    ("int", "float16", (64, 96), (1, 32), (2, False, False), "42fc4cc607d6e397"),
    ("fp8", "float16", (64, 96), (1, 32), ("float8_e4m3fn", False), "bae682c1b36d0b73"),
    ("fp8", "float16", (64, 96), (1, 32), ("float8_e5m2", False), "2baa7928b4851ac6"),
    ("fp8", "float16", (64, 96), (1, 32), ("float8_e4m3fn", True), "a4815dcadfda7c20"),
    ("mxfp4", "float16", (64, 96), (1, 32), (), "39d4702c1afb72f3"),
    ("int", "float16", (64, 96), (1, 0), (8, True, True), "e14eda802fa292a5"),
    ("int", "float16", (64, 96), (1, 0), (4, True, False), "3c75fdce10a221c3"),
    ("int", "float16", (64, 96), (1, 0), (4, False, True), "27025584da0fab6d"),
    ("int", "float16", (64, 96), (1, 0), (2, False, False), "5515a145e377dff1"),
    ("fp8", "float16", (64, 96), (1, 0), ("float8_e4m3fn", False), "c36600c1a3602653"),
    ("fp8", "float16", (64, 96), (1, 0), ("float8_e5m2", False), "4736fa4f130a0ccc"),
    ("fp8", "float16", (64, 96), (1, 0), ("float8_e4m3fn", True), "29c8bad5f7fea901"),
    ("mxfp4", "float16", (64, 96), (1, 0), (), "e0fd61da14a43892"),
    ("int", "float16", (64, 96), (0, 0), (8, True, True), "69ef9a4c44e5e2e7"),
    ("int", "float16", (64, 96), (0, 0), (4, True, False), "08baa680e4ee133d"),
    ("int", "float16", (64, 96), (0, 0), (4, False, True), "d669e3f83f023fcc"),
    ("int", "float16", (64, 96), (0, 0), (2, False, False), "3be27bb0b31a4877"),
    ("fp8", "float16", (64, 96), (0, 0), ("float8_e4m3fn", False), "be83b518fcd34561"),
    ("fp8", "float16", (64, 96), (0, 0), ("float8_e5m2", False), "e15a6ef87c50fc7b"),
    ("fp8", "float16", (64, 96), (0, 0), ("float8_e4m3fn", True), "fc0706a1c2257b0f"),
    ("mxfp4", "float16", (64, 96), (0, 0), (), "582f72e085a00ee8"),
    ("int", "float16", (64, 96), (16, 0), (8, True, True), "8157977d7bf921ee"),
    ("int", "float16", (64, 96), (16, 0), (4, True, False), "3a6e47f4deb17367"),
    ("int", "float16", (64, 96), (16, 0), (4, False, True), "171e7fc7d66c0ed3"),
    ("int", "float16", (64, 96), (16, 0), (2, False, False), "32a79f0c1b1849d7"),
    ("fp8", "float16", (64, 96), (16, 0), ("float8_e4m3fn", False), "5171a9a775688da8"),
    ("fp8", "float16", (64, 96), (16, 0), ("float8_e5m2", False), "68cc1d4c9ad023aa"),
    ("fp8", "float16", (64, 96), (16, 0), ("float8_e4m3fn", True), "a8ab9630e9582d05"),
    ("mxfp4", "float16", (64, 96), (16, 0), (), "118a3c22df82cc3a"),
    ("int", "float16", (6, 4, 3, 3), (1, 0, 0, 0), (8, True, True), "2e0d8c4daaaa9808"),
    ("int", "float16", (6, 4, 3, 3), (1, 0, 0, 0), (4, True, False), "cd8dfec9505bc2b0"),
    ("int", "float16", (6, 4, 3, 3), (1, 0, 0, 0), (4, False, True), "85fe54ab6e625209"),
    ("int", "float16", (6, 4, 3, 3), (1, 0, 0, 0), (2, False, False), "105a9441284b0b89"),
    ("fp8", "float16", (6, 4, 3, 3), (1, 0, 0, 0), ("float8_e4m3fn", False), "43c3cf357210acad"),
    ("fp8", "float16", (6, 4, 3, 3), (1, 0, 0, 0), ("float8_e5m2", False), "265f175f6559bb98"),
    ("int", "bfloat16", (64, 96), (1, 32), (8, True, True), "251333b0b435a489"),
    ("int", "bfloat16", (64, 96), (1, 32), (4, True, False), "466eefb3d58722a6"),
    ("int", "bfloat16", (64, 96), (1, 32), (4, False, True), "29b1c8d5cd3bc781"),
    ("int", "bfloat16", (64, 96), (1, 32), (2, False, False), "8f0baeba782fbe91"),
    ("fp8", "bfloat16", (64, 96), (1, 32), ("float8_e4m3fn", False), "556ca15cc4e5cf01"),
    ("fp8", "bfloat16", (64, 96), (1, 32), ("float8_e5m2", False), "e04a9ccc2b2a91b3"),
    ("fp8", "bfloat16", (64, 96), (1, 32), ("float8_e4m3fn", True), "df4eca2856c54fb3"),
    ("mxfp4", "bfloat16", (64, 96), (1, 32), (), "b7e27fe32831a2db"),
    ("int", "bfloat16", (64, 96), (1, 0), (8, True, True), "215c6baabb2c5904"),
    ("int", "bfloat16", (64, 96), (1, 0), (4, True, False), "a4bfef8649e73e51"),
    ("int", "bfloat16", (64, 96), (1, 0), (4, False, True), "1d060d217a2bbcf5"),
    ("int", "bfloat16", (64, 96), (1, 0), (2, False, False), "2ed0815edcb1d9de"),
    ("fp8", "bfloat16", (64, 96), (1, 0), ("float8_e4m3fn", False), "97835b01b4d96545"),
    ("fp8", "bfloat16", (64, 96), (1, 0), ("float8_e5m2", False), "598b0985c1cc1a26"),
    ("fp8", "bfloat16", (64, 96), (1, 0), ("float8_e4m3fn", True), "c8908cb824e9da45"),
    ("mxfp4", "bfloat16", (64, 96), (1, 0), (), "41c7f9ef9ab14e56"),
    ("int", "bfloat16", (64, 96), (0, 0), (8, True, True), "181d6fa9d88fb89d"),
    ("int", "bfloat16", (64, 96), (0, 0), (4, True, False), "917d48423d10d4a9"),
    ("int", "bfloat16", (64, 96), (0, 0), (4, False, True), "265f79c90ac62ba0"),
    ("int", "bfloat16", (64, 96), (0, 0), (2, False, False), "72af865b32db41c9"),
    ("fp8", "bfloat16", (64, 96), (0, 0), ("float8_e4m3fn", False), "cfada894a72165b7"),
    ("fp8", "bfloat16", (64, 96), (0, 0), ("float8_e5m2", False), "5f4959aec9e42e26"),
    ("fp8", "bfloat16", (64, 96), (0, 0), ("float8_e4m3fn", True), "92a4f90273af1f57"),
    ("mxfp4", "bfloat16", (64, 96), (0, 0), (), "c81e6cacefd839bc"),
    ("int", "bfloat16", (64, 96), (16, 0), (8, True, True), "9edd40e69491aa34"),
    ("int", "bfloat16", (64, 96), (16, 0), (4, True, False), "5732f8218f86d6d9"),
    ("int", "bfloat16", (64, 96), (16, 0), (4, False, True), "bd5143e17d3a2df2"),
    ("int", "bfloat16", (64, 96), (16, 0), (2, False, False), "4c5da35d61697d02"),
    ("fp8", "bfloat16", (64, 96), (16, 0), ("float8_e4m3fn", False), "6620c6142d312f9d"),
    ("fp8", "bfloat16", (64, 96), (16, 0), ("float8_e5m2", False), "ab3dec71fecf1a00"),
    ("fp8", "bfloat16", (64, 96), (16, 0), ("float8_e4m3fn", True), "7ac07c0760da078a"),
    ("mxfp4", "bfloat16", (64, 96), (16, 0), (), "37eaf31f4f1aa2ed"),
    ("int", "bfloat16", (6, 4, 3, 3), (1, 0, 0, 0), (8, True, True), "41c22c9441640dcd"),
    ("int", "bfloat16", (6, 4, 3, 3), (1, 0, 0, 0), (4, True, False), "e1c7e46e2638304c"),
    ("int", "bfloat16", (6, 4, 3, 3), (1, 0, 0, 0), (4, False, True), "d8f5f75f739bb0d4"),
    ("int", "bfloat16", (6, 4, 3, 3), (1, 0, 0, 0), (2, False, False), "4c12fe345802b770"),
    ("fp8", "bfloat16", (6, 4, 3, 3), (1, 0, 0, 0), ("float8_e4m3fn", False), "c75987cd2584d45c"),
    ("fp8", "bfloat16", (6, 4, 3, 3), (1, 0, 0, 0), ("float8_e5m2", False), "7ede425651384cfd"),
    ("int", "float32", (64, 96), (1, 32), (8, True, True), "d85da7f388c6e275"),
    ("int", "float32", (64, 96), (1, 32), (4, True, False), "844712dedb9ea461"),
    ("int", "float32", (64, 96), (1, 32), (4, False, True), "0355b372a5fc59e0"),
    ("int", "float32", (64, 96), (1, 32), (2, False, False), "24f472f31e79da30"),
    ("fp8", "float32", (64, 96), (1, 32), ("float8_e4m3fn", False), "fde8fa5eb491017f"),
    ("fp8", "float32", (64, 96), (1, 32), ("float8_e5m2", False), "bf2c0f43aa4a0d1b"),
    ("fp8", "float32", (64, 96), (1, 32), ("float8_e4m3fn", True), "df00e5e8de42fe12"),
    ("mxfp4", "float32", (64, 96), (1, 32), (), "80ea9e5fc107926a"),
    ("int", "float32", (64, 96), (1, 0), (8, True, True), "b0b28ad398d0f8b8"),
    ("int", "float32", (64, 96), (1, 0), (4, True, False), "b2c37e6abe348875"),
    ("int", "float32", (64, 96), (1, 0), (4, False, True), "978dd8362bcfcc3c"),
    ("int", "float32", (64, 96), (1, 0), (2, False, False), "424eeea8226a737b"),
    ("fp8", "float32", (64, 96), (1, 0), ("float8_e4m3fn", False), "991565bcc30a0e28"),
    ("fp8", "float32", (64, 96), (1, 0), ("float8_e5m2", False), "10605e78eec114fe"),
    ("fp8", "float32", (64, 96), (1, 0), ("float8_e4m3fn", True), "73c58235e909c383"),
    ("mxfp4", "float32", (64, 96), (1, 0), (), "de5b059f456ceaa7"),
    ("int", "float32", (64, 96), (0, 0), (8, True, True), "111dbd1dc5c09d39"),
    ("int", "float32", (64, 96), (0, 0), (4, True, False), "838e0447f4751121"),
    ("int", "float32", (64, 96), (0, 0), (4, False, True), "98d3f5840788c51d"),
    ("int", "float32", (64, 96), (0, 0), (2, False, False), "0ebbe27713c20b81"),
    ("fp8", "float32", (64, 96), (0, 0), ("float8_e4m3fn", False), "aa37d84f2131e37b"),
    ("fp8", "float32", (64, 96), (0, 0), ("float8_e5m2", False), "04149297e1b83f41"),
    ("fp8", "float32", (64, 96), (0, 0), ("float8_e4m3fn", True), "23ada06e0faeb90c"),
    ("mxfp4", "float32", (64, 96), (0, 0), (), "17bc7318cb768bfe"),
    ("int", "float32", (64, 96), (16, 0), (8, True, True), "d381bf42f228c770"),
    ("int", "float32", (64, 96), (16, 0), (4, True, False), "5df61eba4f002c06"),
    ("int", "float32", (64, 96), (16, 0), (4, False, True), "7751d58a2d9529a1"),
    ("int", "float32", (64, 96), (16, 0), (2, False, False), "f885fe2e544f76c4"),
    ("fp8", "float32", (64, 96), (16, 0), ("float8_e4m3fn", False), "7bab96c7b6043ac8"),
    ("fp8", "float32", (64, 96), (16, 0), ("float8_e5m2", False), "14ba2c6ed116232e"),
    ("fp8", "float32", (64, 96), (16, 0), ("float8_e4m3fn", True), "f7ff89d78072d18d"),
    ("mxfp4", "float32", (64, 96), (16, 0), (), "0c8643bab2443427"),
    ("int", "float32", (6, 4, 3, 3), (1, 0, 0, 0), (8, True, True), "008777112ea8dcb0"),
    ("int", "float32", (6, 4, 3, 3), (1, 0, 0, 0), (4, True, False), "55413ecb667eb2e3"),
    ("int", "float32", (6, 4, 3, 3), (1, 0, 0, 0), (4, False, True), "2aa89011e702a4d8"),
    ("int", "float32", (6, 4, 3, 3), (1, 0, 0, 0), (2, False, False), "8cd43582a2454031"),
    ("fp8", "float32", (6, 4, 3, 3), (1, 0, 0, 0), ("float8_e4m3fn", False), "1764f54c4e084ead"),
    ("fp8", "float32", (6, 4, 3, 3), (1, 0, 0, 0), ("float8_e5m2", False), "af576a7419cdcaef"),
]


def digest(quantized: QuantizedTensor) -> str:
    """Short sha256 of dtype, shape and bytes of data, scale and offset."""
    h = hashlib.sha256()
    for array in (quantized.data, quantized.scale, quantized.offset):
        h.update(str(array.dtype).encode())
        h.update(str(array.shape).encode())
        h.update(np.ascontiguousarray(array).tobytes())
    return h.hexdigest()[:16]


def case_weight(seed: int, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """Heavy-tailed rows with random scales and one all-zero row."""
    rng = np.random.default_rng(seed)
    rows = (shape[0],) + (1,) * (len(shape) - 1)
    weight = rng.standard_t(3, shape) * rng.uniform(0.001, 0.05, rows)
    weight[1] = 0
    return weight.astype(getattr(ml_dtypes, dtype, None) or np.dtype(dtype))


def run_fused(kind: str, weight: np.ndarray, blocks: tuple, args: tuple) -> QuantizedTensor:
    if kind == "int":
        return quantize_int(weight, *args, blocks)
    if kind == "fp8":
        return quantize_fp8(weight, np.dtype(getattr(ml_dtypes, args[0])), blocks, args[1])
    return quantize_mxfp4(weight, blocks)


def run_composed(kind: str, weight: np.ndarray, blocks: tuple, args: tuple) -> QuantizedTensor:
    if kind == "int":
        n_bits, signed, symmetric = args
        scale, zero_point = choose_qparams_int(weight, n_bits, signed, symmetric, blocks)
        dtype = np.int8 if signed else np.uint8
        low, high = integer_range(n_bits, signed, symmetric)
        return quantize_with_qparams(weight, scale, zero_point, dtype, low, high)
    if kind == "fp8":
        element = np.dtype(getattr(ml_dtypes, args[0]))
        scale, zero_point = choose_qparams_fp8(weight, element, blocks, args[1])
        return quantize_with_qparams(weight, scale, zero_point, element)
    scale, zero_point = choose_qparams_mxfp4(weight, blocks)
    return quantize_with_qparams(weight, scale, zero_point, E2M1)


@pytest.mark.parametrize("chunk", [quantization.CHUNK_ELEMENTS, 40])
def test_outputs_are_byte_identical_to_the_code_before_the_split(
    chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(quantization, "CHUNK_ELEMENTS", chunk)
    for index, (kind, dtype, shape, blocks, args, expected) in enumerate(REFERENCE):
        weight = case_weight(index, shape, dtype)
        assert digest(run_fused(kind, weight, blocks, args)) == expected, REFERENCE[index]
        assert digest(run_composed(kind, weight, blocks, args)) == expected, REFERENCE[index]


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    rows=st.sampled_from([1, 4, 8]),
    cols=st.sampled_from([8, 16, 32]),
    blocks=st.sampled_from([(1, 8), (1, 0), (0, 0), (4, 0)]),
    chunk=st.sampled_from([16, 1 << 17]),
    kind=st.sampled_from(["int8", "uint4-asym", "int2-asym", "e4m3", "mxe5m2", "mxfp4"]),
)
def test_fused_equals_composition(
    seed: int, rows: int, cols: int, blocks: tuple, chunk: int, kind: str
) -> None:
    args = {
        "int8": ("int", (8, True, True)),
        "uint4-asym": ("int", (4, False, False)),
        "int2-asym": ("int", (2, True, False)),
        "e4m3": ("fp8", ("float8_e4m3fn", False)),
        "mxe5m2": ("fp8", ("float8_e5m2", True)),
        "mxfp4": ("mxfp4", ()),
    }[kind]
    assume(rows % max(blocks[0], 1) == 0)
    weight = np.random.default_rng(seed).standard_normal((rows, cols)).astype(np.float16)
    old = quantization.CHUNK_ELEMENTS
    quantization.CHUNK_ELEMENTS = chunk
    try:
        fused = run_fused(args[0], weight, blocks, args[1])
        composed = run_composed(args[0], weight, blocks, args[1])
    finally:
        quantization.CHUNK_ELEMENTS = old
    assert digest(fused) == digest(composed)


def test_quantize_with_given_integer_parameters_hand_values() -> None:
    weight = np.array([[-1.0, 0.26, 0.74, 3.0], [0.5, -0.5, 0.25, -0.25]], np.float32)
    scale = np.array([[0.5], [0.25]], np.float32)
    zero_point = np.array([[2], [0]], np.int8)
    q = quantize_with_qparams(weight, scale, zero_point, np.int8, -3, 3)
    # row 0: x/0.5 = -2, 0.52, 1.48, 6 -> rint -2, 1, 1, 6 -> +2 -> 0, 3, 3, 8 -> clip 3
    # row 1: x/0.25 = 2, -2, 1, -1
    np.testing.assert_array_equal(q.data, [[0, 3, 3, 3], [2, -2, 1, -1]])
    assert q.data.dtype == np.int8 and q.offset.dtype == np.int8
    np.testing.assert_array_equal(q.scale, scale)
    np.testing.assert_array_equal(
        q.dequantize(np.float32), [[-1, 0.5, 0.5, 0.5], [0.5, -0.5, 0.25, -0.25]]
    )


def test_quantize_with_given_parameters_rounds_half_to_even() -> None:
    weight = np.array([0.5, 1.5, 2.5, -0.5, -2.5], np.float32)
    q = quantize_with_qparams(weight, np.array([1.0], np.float32), None, np.int8)
    np.testing.assert_array_equal(q.data, [0, 2, 2, 0, -2])
    np.testing.assert_array_equal(q.offset, [0])


def test_quantize_with_e8m0_scale_divides_by_its_power_of_two() -> None:
    weight = np.array([[1.0, -3.0, 5.0, 100.0]], np.float32)
    scale = np.array([[128 + 0]], np.uint8).view(E8M0)  # 2^1
    q = quantize_with_qparams(weight, scale, None, E2M1)
    # 0.5, -1.5, 2.5 -> 2 (ties to even), 50 -> saturates at 6
    np.testing.assert_array_equal(q.data.astype(np.float32), [[0.5, -1.5, 2.0, 6.0]])


def test_quantize_with_a_float_scale_to_fp8_keeps_negative_zero() -> None:
    weight = np.array([[-0.0, 1e-30, 448.0 * 3]], np.float32)
    q = quantize_with_qparams(weight, np.array([[2.0]], np.float32), None, E4M3)
    assert np.signbit(q.data.astype(np.float32)[0, 0])
    np.testing.assert_array_equal(q.data.astype(np.float32)[0, 1:], [0.0, 448.0])


def test_quantize_with_qparams_rejects_bad_parameters() -> None:
    weight = np.ones((2, 4), np.float32)
    scale = np.ones((2, 1), np.float32)
    with pytest.raises(ValueError, match="scale rank"):
        quantize_with_qparams(weight, np.ones(2, np.float32), None, np.int8)
    with pytest.raises(ValueError, match="zero point shape"):
        quantize_with_qparams(weight, scale, np.zeros((1, 1), np.int8), np.int8)
    with pytest.raises(ValueError, match="does not divide"):
        quantize_with_qparams(weight, np.ones((2, 3), np.float32), None, np.int8)
    with pytest.raises(ValueError, match="positive and finite"):
        quantize_with_qparams(weight, np.zeros((2, 1), np.float32), None, np.int8)
    with pytest.raises(ValueError, match="does not fit"):
        quantize_with_qparams(weight, scale, None, np.int8, -200, 3)
    with pytest.raises(ValueError, match="dtype must be"):
        quantize_with_qparams(weight, scale, None, np.int16)
    with pytest.raises(NonFiniteWeightError):
        quantize_with_qparams(np.full((2, 4), np.nan, np.float32), scale, None, np.int8)


def stored(value: float, divisor: float) -> np.float32:
    """A float32 weight divided in float64, rounded once to float32 (how scales are made)."""
    return np.float32(np.float64(np.float32(value)) / divisor)


def test_choose_qparams_hand_values() -> None:
    weight = np.array([[-2.0, 0.5, 1.0, -0.5], [0.2, 1.8, -1.5, 0.0]], np.float32)
    scale, zero_point = choose_qparams_int(weight, 8, True, True, (1, 0))
    np.testing.assert_array_equal(scale[:, 0], [stored(2, 127), stored(1.8, 127)])
    np.testing.assert_array_equal(zero_point, [[0], [0]])
    scale, zero_point = choose_qparams_int(weight, 8, False, False, (0, 0))
    expected = np.float32((np.float64(np.float32(1.8)) + 2) / 255)
    np.testing.assert_array_equal(scale, [[expected]])
    assert zero_point[0, 0] == 134  # rint(0 + 2 / 0.0149...) = rint(134.2)
    scale, _ = choose_qparams_fp8(weight, E4M3, (1, 0), mx=False)
    np.testing.assert_array_equal(scale[:, 0], [stored(2, 448), stored(1.8, 448)])
    scale, zero_point = choose_qparams_mxfp4(weight, (1, 4))
    # floor(log2 2) - 2 = -1; floor(log2 1.8) - 2 = -2
    np.testing.assert_array_equal(scale.view(np.uint8)[:, 0], [126, 125])
    assert zero_point.dtype == E2M1
