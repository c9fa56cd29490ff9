"""sparsify pass, joint compression through pipelines, and sparsify_weights."""

from __future__ import annotations

import re

import numpy as np
import pytest

from coreai_opt.coreai_utils import DType, sparsify_weights
from coreai_opt.pipeline import Pipeline
from coreai_opt.synthetic import Layer
from tests.conftest import build_program, weights_by_key


@pytest.fixture
def program(tmp_path):
    """A 64x256 and a 32x64 layer (both above the default threshold)."""
    return build_program(tmp_path, [Layer("w0", (64, 256)), Layer("w1", (32, 64))], seed=5)


def dense_weights(program):
    """Weights after decompress."""
    copy = program.copy()
    Pipeline.parse("decompress").run(copy)
    return weights_by_key(copy)


def test_unstructured_exact_count_and_values(program):
    original = weights_by_key(program)
    result = sparsify_weights(program, target_sparsity=0.3)
    assert "!coreai.sparse<tensor<64x256xf16>>" in str(result)
    dense = dense_weights(result)
    for key, weight in original.items():
        pruned = dense[key] == 0
        assert int(pruned.sum()) == round(weight.size * 0.3)
        np.testing.assert_array_equal(dense[key][~pruned], weight[~pruned])
        assert np.abs(weight[pruned]).max() <= np.abs(weight[~pruned]).min()


def test_block_structure_on_output_channels(program):
    original = weights_by_key(program)["w0"]
    dense = dense_weights(sparsify_weights(program, target_sparsity=0.5, block_size=4))["w0"]
    # w0 is [C_out, C_in] behind a transpose: output axis 0; blocks of 4 rows.
    rows_zero = np.all(dense == 0, axis=1).reshape(-1, 4)
    assert np.all(rows_zero.all(axis=1) | ~rows_zero.any(axis=1))
    assert rows_zero.all(axis=1).sum() == 8
    kept = ~np.all(dense == 0, axis=1)
    np.testing.assert_array_equal(dense[kept], original[kept])


def test_n_m_structure_along_input_axis(program):
    dense = dense_weights(sparsify_weights(program, target_sparsity=None, n_m_ratio=(2, 4)))
    groups = (dense["w0"] == 0).reshape(64, -1, 4)
    assert np.all(groups.sum(axis=-1) == 2)


@pytest.mark.parametrize("quantize_dtype", ["int8", "uint8", "fp8_e4m3fn", "fp8_e5m2"])
def test_joint_quantization_keeps_pruned_positions_zero(program, quantize_dtype):
    pruned = dense_weights(sparsify_weights(program, target_sparsity=0.5))["w0"] == 0
    result = sparsify_weights(program, target_sparsity=0.5, quantize_dtype=quantize_dtype)
    dense = dense_weights(result)["w0"]
    assert np.all(dense[pruned] == 0) and not np.any(np.signbit(dense[pruned]))
    assert pruned.sum() == 64 * 256 // 2


@pytest.mark.parametrize("n_bits", [2, 4])
def test_joint_palettization_keeps_pruned_positions_zero(program, n_bits):
    result = sparsify_weights(program, target_sparsity=0.5, palettize_nbits=n_bits)
    text = str(result)
    assert "lut_to_dense" in text and "build_sparse_with_bitmask" in text
    dense = dense_weights(result)["w0"]
    assert np.count_nonzero(dense == 0) == 64 * 256 // 2


@pytest.mark.parametrize(
    ("kwargs", "pipeline"),
    [
        ({"quantize_dtype": DType.INT8}, "sparsify<target_sparsity=0.5>,quantize<dtype=int8>"),
        ({"palettize_nbits": 4}, "sparsify<target_sparsity=0.5>,palettize<n_bits=4>"),
        ({}, "sparsify<target_sparsity=0.5>"),
    ],
)
def test_function_is_the_pipeline(program, kwargs, pipeline):
    by_function = sparsify_weights(program, target_sparsity=0.5, **kwargs)
    by_pipeline = program.copy()
    Pipeline.parse(pipeline).run(by_pipeline)
    assert str(by_function) == str(by_pipeline)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_m_ratio": (2, 4)}, "`target_sparsity` and `n_m_ratio` cannot both be set."),
        ({"target_sparsity": None}, "One of `target_sparsity` or `n_m_ratio` must be set."),
        (
            {"quantize_dtype": "int8", "palettize_nbits": 4},
            "`quantize_dtype` and `palettize_nbits` cannot both be set.",
        ),
        ({"quantize_dtype": "int4"}, "Invalid quantize_dtype"),
        ({"palettize_nbits": 5}, "Invalid palettize_nbits"),
        ({"block_size": 1}, "`block_size` must be greater than 1."),
        ({"target_sparsity": None, "n_m_ratio": (5, 4)}, "n_m_ratio"),
        ({"target_sparsity": None, "n_m_ratio": (2,)}, "n_m_ratio"),
    ],
)
def test_validation_messages(program, kwargs, message):
    before = str(program)
    with pytest.raises(ValueError, match=re.escape(message)):
        sparsify_weights(program, **kwargs)
    assert str(program) == before


def test_in_place_semantics(program):
    before = str(program)
    copy = sparsify_weights(program)
    assert copy is not program and str(program) == before
    assert sparsify_weights(program, in_place=True) is program
    assert "sparse_with_bitmask_to_dense" in str(program)


def test_sparsify_twice_does_not_prune_the_values(program, caplog):
    once = sparsify_weights(program)
    twice = sparsify_weights(once)
    assert str(once) == str(twice)
