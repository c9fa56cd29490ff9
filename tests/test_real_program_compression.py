# ruff: noqa: E501 (Core AI IR lines are long)
"""Compression on real Core AI programs: weights passed to composite graphs through
`coreai.invoke`, convolutions beyond conv2d, weights left dense with a reason, and every
pass on every program of the real-IR corpus."""

from __future__ import annotations

import json
import logging
import re

import numpy as np
import pytest

from coreai_opt import AIProgram
from coreai_opt.inspection import compression_report
from coreai_opt.pipeline import Pipeline
from tests.test_real_ir import PROGRAMS, needs_corpus


def blob(array: np.ndarray) -> str:
    """A `dialect_resources` hex string for an f16 array."""
    return "0x02000000" + array.astype(np.float16).tobytes().hex().upper()


def program_with(body: str, **weights: np.ndarray) -> AIProgram:
    """A module plus `dialect_resources` holding `weights` by key."""
    entries = ",\n".join(f'      {key}: "{blob(value)}"' for key, value in weights.items())
    text = (
        body + "\n{-#\n  dialect_resources: {\n    builtin: {\n" + entries + "\n    }\n  }\n#-}\n"
    )
    return AIProgram.parse(text)


COMPOSITE = """module {
  coreai.graph private noinline @linear(%x: tensor<1x64xf16>, %w: tensor<32x64xf16>) -> tensor<1x32xf16> attributes {composite_decl = #coreai.composite_declaration<"linear" = {input_names = ["input", "weight"], op_attrs = {version = 1 : si64}, output_names = ["output"]}>, template_op = "linear"} {
    %p = coreai.constant dense<[1, 0]> : tensor<2xui32>
    %t = coreai.transpose %w, %p : (tensor<32x64xf16>, tensor<2xui32>) -> tensor<64x32xf16>
    %y = coreai.decomposable.broadcasting_batch_matmul %x, %t : (tensor<1x64xf16>, tensor<64x32xf16>) -> tensor<1x32xf16>
    coreai.output %y : tensor<1x32xf16>
  }
  coreai.graph private noinline @scale(%x: tensor<1x2048xf16>, %s: tensor<2048xf16>) -> tensor<1x2048xf16> {
    %y = coreai.decomposable.broadcasting_mul %x, %s : (tensor<1x2048xf16>, tensor<2048xf16>) -> tensor<1x2048xf16>
    coreai.output %y : tensor<1x2048xf16>
  }
  coreai.graph @main(%x: tensor<1x64xf16>, %z: tensor<1x2048xf16>) -> (tensor<1x32xf16>, tensor<1x2048xf16>) {
    %w = coreai.constant dense_resource<w> : tensor<32x64xf16>
    %y = coreai.invoke @linear(%x, %w)  : (tensor<1x64xf16>, tensor<32x64xf16>) -> tensor<1x32xf16>
    %s = coreai.constant dense_resource<s> : tensor<2048xf16>
    %m = coreai.invoke @scale(%z, %s)  : (tensor<1x2048xf16>, tensor<2048xf16>) -> tensor<1x2048xf16>
    coreai.output %y, %m : tensor<1x32xf16>, tensor<1x2048xf16>
  }
}"""


@pytest.fixture
def composite() -> AIProgram:
    """A weight reaching a matmul inside a composite, and one reaching a multiply."""
    rng = np.random.default_rng(3)
    return program_with(COMPOSITE, w=rng.normal(0, 0.02, (32, 64)), s=rng.normal(1, 0.1, 2048))


def quantize_op(program: AIProgram, key: str):
    """The blockwise_shift_scale that replaced constant `key`."""
    for op in program.module.walk():
        if op.name == "coreai.blockwise_shift_scale" and op.results[0].name_hint == key:
            return op
    return None


def test_weight_passed_to_a_composite_is_compressed_with_the_callees_axes(composite):
    """`%w` reaches `transpose -> matmul y` inside @linear: output axis 0, one scale a row."""
    Pipeline.parse("quantize<dtype=int8,weight_num_threshold=512>").run(composite)
    op = quantize_op(composite, "w")
    assert op is not None
    assert list(op.scale.type.get_shape()) == [32, 1]


def test_weight_feeding_a_non_consumer_is_left_dense_with_the_reason(composite, caplog):
    """`%s` only feeds broadcasting_mul inside @scale: dense, warned, in the report."""
    original = composite.copy()
    pipeline = Pipeline.parse("quantize<dtype=int8,weight_num_threshold=512>")
    with caplog.at_level(logging.WARNING, logger="coreai_opt"):
        pipeline.run(composite)
    assert quantize_op(composite, "s") is None
    assert any(
        "'s' (tensor<2048xf16>) is left dense: it feeds "
        "coreai.decomposable.broadcasting_mul (operand 1)" in record.getMessage()
        for record in caplog.records
    )
    (run,) = pipeline.runs
    assert run.statistics["constants-left-dense"] == 1
    report = compression_report(original, composite, run.left_dense)
    notes = {entry.name: entry.note for entry in report.weights}
    assert notes["s"].startswith("left dense: feeds coreai.decomposable.broadcasting_mul")
    assert notes["w"] == ""
    assert json.loads(report.to_json())["weights"][1]["note"] == notes["s"]


def test_constants_of_a_compressed_chain_are_not_reported_as_left_dense(composite, caplog):
    """Palettizing a quantized program: the LUT/scales are not weights to warn about."""
    Pipeline.parse("quantize<dtype=int8,weight_num_threshold=16>").run(composite)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="coreai_opt"):
        Pipeline.parse("palettize<n_bits=4,weight_num_threshold=16>").run(composite)
    left_dense = [r.getMessage() for r in caplog.records if "left dense" in r.getMessage()]
    assert len(left_dense) == 1
    assert "'s' (tensor<2048xf16>)" in left_dense[0]


def test_recursive_invoke_terminates() -> None:
    """A graph passing the weight to itself: the recursive call is the (non-consumer) use."""
    body = """module {
  coreai.graph @loop(%w: tensor<64x64xf16>) -> tensor<64x64xf16> {
    %r = coreai.invoke @loop(%w)  : (tensor<64x64xf16>) -> tensor<64x64xf16>
    coreai.output %r : tensor<64x64xf16>
  }
  coreai.graph @main() -> tensor<64x64xf16> {
    %w = coreai.constant dense_resource<w> : tensor<64x64xf16>
    %r = coreai.invoke @loop(%w)  : (tensor<64x64xf16>) -> tensor<64x64xf16>
    coreai.output %r : tensor<64x64xf16>
  }
}"""
    program = program_with(body, w=np.ones((64, 64)))
    Pipeline.parse("quantize<dtype=int8>").run(program)
    assert quantize_op(program, "w") is None


@pytest.mark.parametrize(
    ("op", "weight_shape", "scale_shape"),
    [
        ("conv3d", (8, 4, 3, 3, 3), [8, 1, 1, 1, 1]),
        ("conv_transpose2d", (4, 8, 3, 3), [1, 8, 1, 1]),
    ],
)
def test_convolutions_beyond_conv2d_are_consumers(op, weight_shape, scale_shape) -> None:
    """conv3d's weight is [C_out, C_in, k...]; a transposed conv's is [C_in, C_out, k...]."""
    spatial = len(weight_shape) - 2
    w_type = "x".join(map(str, weight_shape))
    operands = "%x, %k, %st, %st, %g" if op == "conv3d" else "%x, %k, %st, %st, %st, %st, %g"
    vec = f"tensor<{spatial}xui32>"
    types = (
        f"tensor<1x4x{'x'.join(['6'] * spatial)}xf16>, tensor<{w_type}xf16>, {vec}, {vec}, "
        + (f"{vec}, {vec}, " if op != "conv3d" else "")
        + "tensor<ui32>"
    )
    body = f"""module {{
  coreai.graph @main(%x: tensor<1x4x{"x".join(["6"] * spatial)}xf16>) -> tensor<1x8x{"x".join(["4"] * spatial)}xf16> {{
    %k = coreai.constant dense_resource<k> : tensor<{w_type}xf16>
    %st = coreai.constant dense<1> : {vec}
    %g = coreai.constant dense<1> : tensor<ui32>
    %c = coreai.{op} {operands} : ({types}) -> tensor<1x8x{"x".join(["4"] * spatial)}xf16>
    coreai.output %c : tensor<1x8x{"x".join(["4"] * spatial)}xf16>
  }}
}}"""
    program = program_with(body, k=np.random.default_rng(0).normal(0, 0.1, weight_shape))
    Pipeline.parse("quantize<dtype=int8,weight_num_threshold=64>").run(program)
    quantized = quantize_op(program, "k")
    assert quantized is not None
    assert list(quantized.scale.type.get_shape()) == scale_shape


@needs_corpus
@pytest.mark.parametrize(
    "pipeline",
    [
        "quantize<dtype=int8,weight_num_threshold=16>",
        "quantize<dtype=int4,granularity=per_block,block_size=2,weight_num_threshold=16>",
        "palettize<n_bits=2,weight_num_threshold=16>",
        "sparsify<target_sparsity=0.5,weight_num_threshold=16>,palettize<n_bits=2>",
        "decompress",
    ],
)
def test_every_pass_runs_on_every_real_program(pipeline: str) -> None:
    """Passes run and the result verifies and re-parses, on LLM, stateful and composite
    programs alike."""
    for name, text in PROGRAMS:
        program = AIProgram.parse(text, name)
        Pipeline.parse(pipeline).run(program)
        AIProgram.parse(str(program), name)


TWO_ENTRY_POINTS = """module {
  coreai.graph @main(%x: tensor<1x64xf16>) -> (tensor<1x32xf16>) {
    %w = coreai.constant dense_resource<shared> : tensor<32x64xf16>
    %p = coreai.constant dense<[1, 0]> : tensor<2xui32>
    %t = coreai.transpose %w, %p : (tensor<32x64xf16>, tensor<2xui32>) -> tensor<64x32xf16>
    %y = coreai.decomposable.broadcasting_batch_matmul %x, %t : (tensor<1x64xf16>, tensor<64x32xf16>) -> tensor<1x32xf16>
    coreai.output %y : tensor<1x32xf16>
  }
  coreai.graph @prefill(%x: tensor<1x64xf16>) -> (tensor<1x32xf16>) {
    %w = coreai.constant dense_resource<shared> : tensor<32x64xf16>
    %p = coreai.constant dense<[1, 0]> : tensor<2xui32>
    %t = coreai.transpose %w, %p : (tensor<32x64xf16>, tensor<2xui32>) -> tensor<64x32xf16>
    %y = coreai.decomposable.broadcasting_batch_matmul %x, %t : (tensor<1x64xf16>, tensor<64x32xf16>) -> tensor<1x32xf16>
    coreai.output %y : tensor<1x32xf16>
  }
}"""


@pytest.mark.parametrize(
    "pipeline",
    [
        "quantize<dtype=int4,granularity=per_block,block_size=16>",
        "palettize<n_bits=4>",
        "sparsify<target_sparsity=0.5>,palettize<n_bits=2>",
    ],
)
def test_a_weight_two_graphs_share_is_compressed_once(pipeline: str) -> None:
    """Two entry points reading one resource (an LLM's `main` and `prefill`): the output
    keeps one copy of the compressed weight, both graphs use it, and its values are those
    of compressing either constant alone."""
    from coreai_opt.interpreter import run

    weight = np.random.default_rng(3).standard_normal((32, 64)).astype(np.float16)
    program = program_with(TWO_ENTRY_POINTS, shared=weight)
    Pipeline.parse(pipeline.replace(">", ",weight_num_threshold=0>")).run(program)
    text = str(program)
    resources = text[text.index("{-#") :]
    main, prefill = text.split("coreai.graph @prefill")
    keys = set(re.findall(r"dense_resource<([\w.]+)>", main))
    assert keys == set(re.findall(r"dense_resource<([\w.]+)>", prefill))
    assert resources.count("0x") == len(keys)  # each compressed blob once
    alone = program_with(TWO_ENTRY_POINTS.split("  coreai.graph @prefill")[0] + "}", shared=weight)
    Pipeline.parse(pipeline.replace(">", ",weight_num_threshold=0>")).run(alone)
    x = {"x": np.random.default_rng(4).standard_normal((1, 64)).astype(np.float16)}
    expected = run(alone, x)
    for graph in ("main", "prefill"):
        got = run(program, x, graph=graph)
        assert all(np.array_equal(got[k], expected[k]) for k in expected)
