"""The passes are xDSL ModulePasses, registered so that xDSL's own tools run them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from xdsl.context import Context
from xdsl.passes import ModulePass, PassPipeline
from xdsl.pattern_rewriter import PatternRewriteWalker
from xdsl.universe import Universe

from coreai_opt.errors import PipelineError
from coreai_opt.pipeline import PassRun, Pipeline, load_all_passes
from coreai_opt.program import AIProgram
from tests.conftest import XDSL_OPT


def hex_weight_program(rows: int = 32, columns: int = 40, seed: int = 3) -> str:
    """A transpose -> matmul program whose f16 weight is a hex `dense<...>` literal."""
    weight = (np.random.default_rng(seed).standard_normal((rows, columns)) * 0.05).astype(
        np.float16
    )
    literal = "0x" + weight.tobytes().hex().upper()
    return f"""coreai.graph @main(%x: tensor<1x{columns}xf16>) -> tensor<1x{rows}xf16> {{
  %w = coreai.constant dense<"{literal}"> : tensor<{rows}x{columns}xf16>
  %perm = coreai.constant dense<[1, 0]> : tensor<2xui32>
  %wt = coreai.transpose %w, %perm : (tensor<{rows}x{columns}xf16>, tensor<2xui32>) -> tensor<{columns}x{rows}xf16>
  %y = coreai.batch_matmul %x, %wt : (tensor<1x{columns}xf16>, tensor<{columns}x{rows}xf16>) -> tensor<1x{rows}xf16>
  coreai.output %y : tensor<1x{rows}xf16>
}}
"""  # noqa: E501


def test_the_universe_lists_the_dialect_every_pass_and_the_target() -> None:
    """`xdsl.universe` entry point: what `xdsl-opt` discovers once the project is installed."""
    universe = Universe.get_multiverse()
    assert universe.all_dialects["coreai"]().name == "coreai"
    ours = load_all_passes()
    for name, cls in ours.items():
        assert universe.all_passes[name]() is cls
        assert issubclass(cls, ModulePass)
    assert "coreai" in universe.all_targets


def test_xdsl_parse_spec_builds_the_same_passes_as_our_syntax() -> None:
    """xDSL's own pipeline parser and ours agree, option types and defaults included."""
    passes = Universe.get_multiverse().all_passes
    xdsl = PassPipeline.parse_spec(
        passes, "sparsify{target-sparsity=0.25 n_m_ratio},palettize{n_bits=2 lut_dtype=int8}"
    )
    ours = Pipeline.parse("sparsify<target_sparsity=0.25>,palettize<n_bits=2,lut_dtype=int8>")
    assert list(xdsl.passes) == ours.passes


def test_xdsl_spec_values_get_our_one_line_errors() -> None:
    """A wrong value through xDSL's parser names the pass, the option and what it expects."""
    passes = Universe.get_multiverse().all_passes
    with pytest.raises(PipelineError, match="option 'n_bits' must be one of"):
        PassPipeline.parse_spec(passes, "palettize{n_bits=5}")
    with pytest.raises(PipelineError, match="option 'target_sparsity' expects a number"):
        PassPipeline.parse_spec(passes, "sparsify{target_sparsity=lots}")


def test_a_pass_applies_like_any_module_pass() -> None:
    """`apply(ctx, module)` outside a pipeline: the pass runs, statistics go nowhere."""
    program = AIProgram.parse(hex_weight_program())
    pass_class = load_all_passes()["quantize"]
    pass_class(dtype="int4").apply(Context(), program.module)
    assert "coreai.blockwise_shift_scale" in str(program)


def test_run_records_into_the_given_pass_run() -> None:
    """`run(module, PassRun)` (how the report decompresses) fills that record."""
    program = AIProgram.parse(hex_weight_program())
    run = PassRun("palettize")
    load_all_passes()["palettize"](n_bits=2).run(program.module, run)
    assert run.statistics["constants-compressed"] == 1


def test_compression_apply_is_a_pattern_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each compression pass rewrites through xDSL's PatternRewriteWalker, once over the IR."""
    walks: list[PatternRewriteWalker] = []
    original = PatternRewriteWalker.rewrite_module

    def spy(walker: PatternRewriteWalker, module) -> bool:
        walks.append(walker)
        return original(walker, module)

    monkeypatch.setattr(PatternRewriteWalker, "rewrite_module", spy)
    for name in ("quantize", "palettize", "sparsify"):
        program = AIProgram.parse(hex_weight_program())
        walks.clear()
        Pipeline.parse(name).run(program)
        assert len(walks) == 1 and not walks[0].apply_recursively
        assert walks[0].pattern.run.statistics["constants-compressed"] == 1


def test_xdsl_opt_prints_what_coreai_opt_prints(tmp_path: Path) -> None:
    """`xdsl-opt -p 'palettize{n_bits=4}' -t coreai` writes exactly `coreai-opt`'s output."""
    source = tmp_path / "model.mlir"
    source.write_text(hex_weight_program())
    command = [*XDSL_OPT, str(source), "-p", "palettize{n_bits=4}", "-t", "coreai"]
    theirs = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    pipeline = Pipeline.parse("palettize<n_bits=4>")
    assert theirs == str(pipeline.run(AIProgram.load(source)))
    mlir = subprocess.run(command[:-2], check=True, capture_output=True, text=True).stdout
    assert "coreai.lut_to_dense %w_indices, %w_lut, %w_axis" in mlir


def test_xdsl_opt_runs_the_search_and_sparse_per_channel_options(tmp_path: Path) -> None:
    """The `algorithm` and `sparse_scale` options through `xdsl-opt` give our output."""
    source = tmp_path / "model.mlir"
    source.write_text(hex_weight_program())
    xdsl_spec = (
        "sparsify{target_sparsity=0.5},"
        "quantize{dtype=fp8_e4m3fn sparse_scale=per_channel algorithm=mse}"
    )
    command = [*XDSL_OPT, str(source), "-p", xdsl_spec, "-t", "coreai"]
    theirs = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    pipeline = Pipeline.parse(
        "sparsify<target_sparsity=0.5>,"
        "quantize<dtype=fp8_e4m3fn,sparse_scale=per_channel,algorithm=mse>"
    )
    assert Pipeline.parse(str(pipeline)) == pipeline
    assert list(
        PassPipeline.parse_spec(Universe.get_multiverse().all_passes, xdsl_spec).passes
    ) == (pipeline.passes)
    assert theirs == str(pipeline.run(AIProgram.load(source)))
    assert "tensor<32x1xf16>" in theirs
