"""quantize<algorithm=mse> and sparse per-channel scales: IR, decompress, executor, options."""

from __future__ import annotations

import numpy as np
import pytest
from coreai_opt.passes.quantize import QuantizePass

from coreai_opt.errors import PipelineError
from coreai_opt.interpreter import random_inputs, run
from coreai_opt.numerics import search
from coreai_opt.numerics.quantization import snr_db
from coreai_opt.pipeline import Pipeline
from tests.conftest import weights_by_key


def decompressed(program):
    copy = program.copy()
    Pipeline.parse("decompress").run(copy)
    return copy, weights_by_key(copy)


@pytest.mark.parametrize(
    "spec",
    [
        "quantize<dtype=int4,qscheme=asymmetric,granularity=per_block,block_size=32,algorithm=mse>",
        "quantize<dtype=int4,granularity=per_block,block_size=32,algorithm=mse>",
        "quantize<dtype=uint8,qscheme=asymmetric,algorithm=mse>",
        "quantize<dtype=int8,granularity=per_tensor,algorithm=mse>",
        "quantize<dtype=fp8_e4m3fn,algorithm=mse>",
        "quantize<dtype=fp4_e2m1fn,granularity=per_block,algorithm=mse>",
    ],
)
def test_mse_decompress_matches_the_numerics_and_beats_rtn(small_program, spec):
    original = weights_by_key(small_program)
    searched = small_program.copy()
    Pipeline.parse(spec).run(searched)
    searched.verify()
    rtn = small_program.copy()
    Pipeline.parse(spec.replace("algorithm=mse", "algorithm=rtn")).run(rtn)
    _, ours = decompressed(searched)
    _, theirs = decompressed(rtn)
    for key in ("w0", "w1"):
        assert snr_db(original[key], ours[key]) >= snr_db(original[key], theirs[key]) - 1e-6
    if "int4" in spec and "asymmetric" in spec:
        expected = search.quantize_int_mse(original["w0"], 4, True, False, (1, 32))
        np.testing.assert_array_equal(ours["w0"], expected.dequantize(np.float16))
        assert "w0_offset" in str(searched)


def test_algorithm_option_round_trips_and_default_is_rtn(small_program):
    pipeline = Pipeline.parse("quantize<dtype=int4,algorithm=mse,sparse_scale=per_tensor>")
    assert Pipeline.parse(str(pipeline)) == pipeline
    assert "algorithm=mse" in str(pipeline)
    assert QuantizePass().algorithm == "rtn" and QuantizePass().sparse_scale == "per_tensor"
    default, explicit = small_program.copy(), small_program.copy()
    Pipeline.parse("quantize<dtype=int4>").run(default)
    Pipeline.parse("quantize<dtype=int4,algorithm=rtn>").run(explicit)
    assert str(default) == str(explicit)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("quantize<algorithm=gradient>", "algorithm"),
        ("quantize<dtype=uint8,sparse_scale=per_channel>", "sparse_scale=per_channel"),
        ("quantize<dtype=int4,sparse_scale=per_channel>", "sparse_scale=per_channel"),
        ("quantize<sparse_scale=per_row>", "sparse_scale"),
    ],
)
def test_bad_options_are_one_line_errors(spec, message):
    with pytest.raises(PipelineError, match=message) as error:
        Pipeline.parse(spec)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("dtype", ["int8", "fp8_e4m3fn", "fp8_e5m2"])
@pytest.mark.parametrize("algorithm", ["rtn", "mse"])
def test_sparse_per_channel_scale(small_program, dtype, algorithm):
    original = weights_by_key(small_program)
    program = small_program.copy()
    spec = (
        f"sparsify<target_sparsity=0.5>,"
        f"quantize<dtype={dtype},sparse_scale=per_channel,algorithm={algorithm}>"
    )
    Pipeline.parse(spec).run(program)
    program.verify()
    text = str(program)
    assert "tensor<32x1xf16>" in text  # one scale per output channel of w0 [32, 2048]
    assert "-> !coreai.sparse<tensor<32x2048x" + ("si8" if dtype == "int8" else "f8") in text
    dense_program, dense = decompressed(program)
    per_tensor = small_program.copy()
    Pipeline.parse(f"sparsify<target_sparsity=0.5>,quantize<dtype={dtype}>").run(per_tensor)
    _, shared = decompressed(per_tensor)
    for key in ("w0", "w1"):
        pruned = shared[key] == 0
        assert np.count_nonzero(pruned) >= original[key].size // 2
        # pruned positions decode to exactly +0, kept ones are close to the original
        assert not np.signbit(dense[key][pruned]).any() and (dense[key][pruned] == 0).all()
        assert snr_db(original[key] * ~pruned, dense[key]) > 10
        assert (
            snr_db(original[key] * ~pruned, dense[key])
            >= snr_db(original[key] * ~pruned, shared[key]) - 0.05
        )
    inputs = random_inputs(program, seed=0)
    for name, value in run(program, inputs).items():
        np.testing.assert_array_equal(value, run(dense_program, inputs)[name])


def test_sparse_per_channel_gains_on_heavy_tailed_rows(tmp_path):
    from tests.conftest import Layer, build_program

    program = build_program(tmp_path, [Layer("w0", (64, 512))], seed=5)
    weight = weights_by_key(program)["w0"]
    rng = np.random.default_rng(1)
    heavy = (rng.standard_t(3, weight.shape) * rng.uniform(1e-3, 0.1, (64, 1))).astype(np.float16)
    text = str(program)
    for op in program.constants():
        if op.result.name_hint == "w0":
            from coreai_opt.ir.elements import make_elements_attr

            op.value = make_elements_attr(heavy, op.result.type, "w0")
    assert text != str(program)
    results = {}
    for scale in ("per_tensor", "per_channel"):
        copy = program.copy()
        Pipeline.parse(f"sparsify,quantize<dtype=int8,sparse_scale={scale}>").run(copy)
        _, dense = decompressed(copy)
        kept = dense["w0"] != 0
        results[scale] = snr_db(heavy * kept, dense["w0"])
    assert results["per_channel"] > results["per_tensor"] + 5


def test_quantize_weights_takes_the_algorithm_keyword(small_program):
    from coreai_opt.coreai_utils import quantize_weights

    searched = quantize_weights(
        small_program, "int4", "asymmetric", "per_block", 32, algorithm="mse"
    )
    piped = small_program.copy()
    Pipeline.parse(
        "quantize<dtype=int4,qscheme=asymmetric,granularity=per_block,algorithm=mse>"
    ).run(piped)
    assert str(searched) == str(piped)
    default = quantize_weights(small_program, "int4", "asymmetric", "per_block", 32)
    assert str(default) != str(searched)
    with pytest.raises(ValueError, match="`algorithm` must be one of"):
        quantize_weights(small_program, "int4", algorithm="gptq-ish")


@pytest.mark.parametrize(
    "options",
    [
        "n_bits=4,enable_per_channel_scale=true",
        "n_bits=4,lut_dtype=int8,enable_per_channel_scale=true",
        "n_bits=2,lut_dtype=fp8_e4m3fn,granularity=per_grouped_channel,group_size=16",
    ],
)
def test_palettize_mse_is_not_worse_than_rtn(small_program, options):
    original = weights_by_key(small_program)
    results = {}
    for algorithm in ("rtn", "mse"):
        program = small_program.copy()
        pipeline = Pipeline.parse(f"palettize<{options},algorithm={algorithm}>")
        assert Pipeline.parse(str(pipeline)) == pipeline
        pipeline.run(program)
        program.verify()
        _, dense = decompressed(program)
        results[algorithm] = [snr_db(original[k], dense[k]) for k in ("w0", "w1")]
    for ours, theirs in zip(results["mse"], results["rtn"], strict=True):
        assert ours >= theirs - 1e-3
