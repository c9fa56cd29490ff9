"""quantize pass and quantize_weights: IR produced, decompress == numpy, API contract."""

from __future__ import annotations

import re

import ml_dtypes
import numpy as np
import pytest

from coreai_opt.coreai_utils import CompressionGranularity, DType, QScheme, quantize_weights
from coreai_opt.errors import PipelineError
from coreai_opt.numerics.quantization import (
    dequantize_blockwise,
    quantize_fp8,
    quantize_int,
    quantize_mxfp4,
)
from coreai_opt.pipeline import Pipeline
from tests.conftest import weights_by_key

INT_DTYPES = ["int2", "uint2", "int4", "uint4", "int8", "uint8"]
GRANULARITIES = {
    "per_tensor": (0, 0),
    "per_channel": (1, 0),
    "per_block": (1, 32),
    "per_grouped_channel": (32, 0),
}


def decompressed(program):
    """Weights after `decompress` (the device's view)."""
    copy = program.copy()
    Pipeline.parse("decompress").run(copy)
    return weights_by_key(copy)


def reference(weight: np.ndarray, dtype: str, qscheme: str, blocks: tuple[int, int]):
    """numpy dequantization of the numerics' output, independent of the IR."""
    if dtype.startswith(("int", "uint")):
        bits = int(dtype.lstrip("uint"))
        q = quantize_int(weight, bits, dtype.startswith("int"), qscheme == "symmetric", blocks)
    elif dtype == "fp4_e2m1fn":
        q = quantize_mxfp4(weight, blocks)
    else:
        fp8 = {"fp8_e4m3fn": ml_dtypes.float8_e4m3fn, "fp8_e5m2": ml_dtypes.float8_e5m2}[dtype]
        q = quantize_fp8(weight, fp8, blocks, mx=False)
    return dequantize_blockwise(q.data, q.scale, q.offset, None, weight.dtype)


@pytest.mark.parametrize("granularity", list(GRANULARITIES))
@pytest.mark.parametrize("qscheme", ["symmetric", "asymmetric"])
@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_integer_decompress_matches_numpy(small_program, dtype, qscheme, granularity):
    original = weights_by_key(small_program)
    before = str(small_program)
    result = quantize_weights(
        small_program, dtype=dtype, qscheme=qscheme, granularity=granularity, block_size=32
    )
    assert str(small_program) == before, "in_place=False must leave the input untouched"
    out, inp = GRANULARITIES[granularity]
    # w0 [32, 2048] feeds transpose -> matmul y: output axis 0, input axis 1.
    expected = reference(original["w0"], dtype, qscheme, (out, inp))
    np.testing.assert_array_equal(decompressed(result)["w0"], expected)


@pytest.mark.parametrize("dtype", ["fp8_e4m3fn", "fp8_e5m2"])
@pytest.mark.parametrize("granularity", ["per_tensor", "per_channel", "per_block"])
def test_fp8_decompress_matches_numpy(small_program, dtype, granularity):
    original = weights_by_key(small_program)
    result = quantize_weights(small_program, dtype=dtype, granularity=granularity)
    expected = reference(original["w0"], dtype, "symmetric", GRANULARITIES[granularity])
    np.testing.assert_array_equal(decompressed(result)["w0"], expected)


def test_mxfp8_and_mxfp4_ir_and_values(small_program):
    original = weights_by_key(small_program)
    mxfp8 = quantize_weights(
        small_program,
        dtype=DType.FP8_E4M3FN,
        granularity=CompressionGranularity.PER_BLOCK,
        scale_dtype=DType.FP8_E8M0FNU,
    )
    text = str(mxfp8)
    assert "tensor<32x2048xf8E4M3FN>" in text and "tensor<32x64xf8E8M0FNU>" in text
    q = quantize_fp8(original["w0"], ml_dtypes.float8_e4m3fn, (1, 32), mx=True)
    expected = dequantize_blockwise(q.data, q.scale, q.offset, None, np.float16)
    np.testing.assert_array_equal(decompressed(mxfp8)["w0"], expected)
    mxfp4 = quantize_weights(
        small_program, dtype="fp4_e2m1fn", granularity="per_block", block_size=32
    )
    assert "tensor<32x2048xf4E2M1FN>" in str(mxfp4)
    np.testing.assert_array_equal(
        decompressed(mxfp4)["w0"], reference(original["w0"], "fp4_e2m1fn", "symmetric", (1, 32))
    )


def test_ir_types_and_scale_shapes(small_program):
    text = str(quantize_weights(small_program, dtype=DType.INT4, granularity="per_block"))
    assert "tensor<32x2048xsi4>" in text and "tensor<32x64xf16>" in text
    text = str(quantize_weights(small_program, dtype="uint8"))
    assert "tensor<32x2048xui8>" in text and "tensor<32x1xf16>" in text
    assert "dense<127> : tensor<32x1xui8>" in text  # symmetric uint8 zero point


def test_small_weights_below_threshold_are_left_alone(small_program):
    result = quantize_weights(small_program, dtype="int8", weight_num_threshold=4096)
    keys = weights_by_key(result)
    assert "w1" in keys and keys["w1"].dtype == np.float16  # 2048 elements <= 4096


def test_in_place_returns_same_object(small_program):
    assert quantize_weights(small_program, dtype="int8", in_place=True) is small_program
    assert "blockwise_shift_scale" in str(small_program)


def test_non_divisible_block_is_skipped_with_warning(small_program, caplog):
    result = quantize_weights(small_program, dtype="int8", granularity="per_block", block_size=48)
    assert any("not divisible" in r.getMessage() for r in caplog.records)
    assert "w0" in weights_by_key(result)  # w0 (2048 columns) left dense


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dtype": "int3"}, "Unsupported weight dtype"),
        ({"dtype": "fp8_e8m0fnu"}, "Unsupported weight dtype"),
        ({"dtype": "int8", "scale_dtype": "fp8_e8m0fnu"}, "scale_dtype must be None for integer"),
        ({"dtype": "fp8_e4m3fn", "qscheme": "asymmetric"}, "Asymmetric quantization is not"),
        (
            {"dtype": "fp4_e2m1fn", "granularity": "per_block", "scale_dtype": "fp8_e8m0fnu"},
            "scale_dtype must be None for FP4",
        ),
        ({"dtype": "fp4_e2m1fn"}, "DType.FP4_E2M1FN requires granularity="),
        ({"dtype": "fp8_e5m2", "scale_dtype": "int8"}, "Invalid scale_dtype"),
    ],
)
def test_validation_messages(small_program, kwargs, message):
    before = str(small_program)
    with pytest.raises(ValueError, match=re.escape(message)):
        quantize_weights(small_program, **kwargs)
    assert str(small_program) == before


def test_enums_and_strings_are_equivalent(small_program):
    a = quantize_weights(small_program, DType.INT4, QScheme.ASYMMETRIC, "per_channel")
    b = quantize_weights(small_program, "int4", "asymmetric", CompressionGranularity.PER_CHANNEL)
    assert str(a) == str(b)


def test_pipeline_option_errors():
    with pytest.raises(PipelineError, match="option 'dtype' must be one of"):
        Pipeline.parse("quantize<dtype=int3>")
    with pytest.raises(PipelineError, match="option 'block_size' expects an integer"):
        Pipeline.parse("quantize<block_size=big>")
    with pytest.raises(PipelineError, match="Asymmetric quantization is not supported"):
        Pipeline.parse("quantize<dtype=fp8_e4m3fn,qscheme=asymmetric>")


def test_grouped_channel_parameters(small_program):
    text = str(
        quantize_weights(
            small_program, dtype="int8", granularity="per_grouped_channel", block_size=16
        )
    )
    assert "tensor<2x1xf16>" in text  # 32 output channels in groups of 16
