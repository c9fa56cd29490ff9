"""palettize pass and palettize_weights: IR, decompress == numpy, Apple's defects avoided."""

from __future__ import annotations

import re

import numpy as np
import pytest

from coreai_opt.coreai_utils import CompressionGranularity, DType, palettize_weights
from coreai_opt.numerics.palettization import lut_to_dense, palettize, per_channel_scale
from coreai_opt.numerics.quantization import dequantize_blockwise, snr_db
from coreai_opt.pipeline import Pipeline
from coreai_opt.synthetic import Layer
from tests.conftest import build_program, weights_by_key


@pytest.fixture
def program(tmp_path):
    """A 32x2048 f16 weight behind transpose (output axis 0) and a 64x32 one."""
    return build_program(tmp_path, [Layer("w0", (32, 2048)), Layer("w1", (64, 32))], seed=11)


def decompressed(program):
    """Weights after decompress."""
    copy = program.copy()
    Pipeline.parse("decompress").run(copy)
    return weights_by_key(copy)


@pytest.mark.parametrize(
    ("granularity", "group", "lut_shape"),
    [
        ("per_tensor", 0, "1x1x16x1xf16"),
        ("per_channel", 1, "32x1x16x1xf16"),
        ("per_grouped_channel", 16, "2x1x16x1xf16"),
    ],
)
def test_lut_shapes_and_decompress_equals_numpy(program, granularity, group, lut_shape):
    original = weights_by_key(program)["w0"]
    result = palettize_weights(program, n_bits=4, granularity=granularity, group_size=16)
    text = str(result)
    assert f"tensor<{lut_shape}>" in text and "tensor<32x2048xui4>" in text
    indices, lut = palettize(original, 4, group_axis=0, group_size=group, num_workers=1)
    np.testing.assert_array_equal(decompressed(result)["w0"], lut_to_dense(indices, lut, 0))


@pytest.mark.parametrize("n_bits", [1, 2, 3, 4, 6, 8])
def test_every_bit_width_packs_and_decodes(program, n_bits):
    original = weights_by_key(program)["w0"]
    result = palettize_weights(program, n_bits=n_bits)
    assert f"tensor<32x2048xui{n_bits}>" in str(result)
    restored = decompressed(result)["w0"]
    assert len(np.unique(restored.view(np.uint16))) <= 2**n_bits  # f16 np.sort is buggy here
    assert snr_db(original, restored) > 5.5 * n_bits - 2


def test_vector_palettization(program):
    original = weights_by_key(program)["w0"]
    result = palettize_weights(program, n_bits=4, cluster_dim=2)
    text = str(result)
    assert "tensor<16x2048xui4>" in text and "tensor<1x1x16x2xf16>" in text
    restored = decompressed(result)["w0"]
    assert restored.shape == original.shape and snr_db(original, restored) > 8  # 2 bits/value


def test_per_channel_scale_restores_each_channel(program):
    original = weights_by_key(program)["w0"]
    result = palettize_weights(program, n_bits=4, enable_per_channel_scale=True)
    text = str(result)
    assert "tensor<32x1xf16>" in text  # one scale per output channel
    scale = per_channel_scale(original, 0)
    indices, lut = palettize(original, 4, group_axis=0, group_size=0, channel_scale=scale)
    zeros = np.zeros_like(scale)
    expected = dequantize_blockwise(lut_to_dense(indices, lut, 0), scale, zeros, zeros, np.float16)
    np.testing.assert_array_equal(decompressed(result)["w0"], expected)


@pytest.mark.parametrize("lut_dtype", ["int8", "uint8", "fp8_e4m3fn", "fp8_e5m2"])
def test_lut_dtype_has_one_scale_per_lut(program, lut_dtype):
    original = weights_by_key(program)["w0"]
    result = palettize_weights(
        program, lut_dtype=lut_dtype, granularity="per_channel", enable_per_channel_scale=True
    )
    text = str(result)
    assert re.search(
        r"%w0_lut_scale = coreai.constant dense_resource<\w+> : tensor<32x1xf16>", text
    )
    restored = decompressed(result)["w0"]
    # Apple gives every channel channel 0's scale: rows would differ wildly in magnitude.
    assert snr_db(original, restored) > 15


def test_heavy_tailed_per_channel_scale_beats_plain_per_tensor(tmp_path):
    program = build_program(tmp_path, [Layer("w0", (64, 1024))], seed=2, distribution="heavy")
    original = weights_by_key(program)["w0"]
    plain = decompressed(palettize_weights(program, n_bits=4))["w0"]
    scaled = decompressed(palettize_weights(program, n_bits=4, enable_per_channel_scale=True))["w0"]
    assert snr_db(original, scaled) > snr_db(original, plain)


def test_result_independent_of_workers(program):
    one = palettize_weights(program, granularity="per_channel", num_kmeans_workers=1)
    four = palettize_weights(program, granularity="per_channel", num_kmeans_workers=4)
    assert str(one) == str(four)


def test_grouped_not_divisible_is_skipped_with_warning(program, caplog):
    result = palettize_weights(program, granularity="per_grouped_channel", group_size=24)
    assert any("not divisible by group_size 24" in r.getMessage() for r in caplog.records)
    assert weights_by_key(result)["w0"].dtype == np.float16


def test_in_place_and_untouched_input(program):
    before = str(program)
    copy = palettize_weights(program)
    assert str(program) == before and copy is not program
    assert palettize_weights(program, in_place=True) is program


def test_positional_call_keeps_apples_parameter_order(program):
    by_position = palettize_weights(program, None, 2, CompressionGranularity.PER_CHANNEL)
    by_name = palettize_weights(program, n_bits=2, granularity="per_channel")
    assert str(by_position) == str(by_name)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"enable_per_channel_scale": True, "cluster_dim": 2},
            "`enable_per_channel_scale=True` is not supported with `cluster_dim > 1`.",
        ),
        ({"lut_dtype": "int4"}, "`lut_dtype` must be one of"),
        ({"lut_dtype": DType.FP8_E8M0FNU}, "`lut_dtype` must be one of"),
        ({"n_bits": 5}, "`n_bits` must be one of [1, 2, 3, 4, 6, 8], got 5"),
        ({"granularity": "per_block"}, "`granularity` must be one of"),
    ],
)
def test_validation_messages(program, kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        palettize_weights(program, **kwargs)
