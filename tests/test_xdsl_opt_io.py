"""xDSL's own parser and driver (`xdsl-opt`) read real Core AI programs, run our passes and,
with `-t coreai`, print exactly what `coreai-opt` prints (docs/pipelines.md, `xdsl-opt`)."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from coreai_opt.dialects.coreai import ConstantOp
from coreai_opt.dialects.names import scan_names
from coreai_opt.dialects.resources import DenseResourceElementsAttr
from hypothesis import given, settings
from hypothesis import strategies as st
from xdsl.context import Context
from xdsl.dialects.builtin import (
    DenseResourceAttr,
    FileLineColLoc,
    FusedLoc,
    IntAttr,
    ModuleOp,
    NameLoc,
    NoneAttr,
    StringAttr,
)
from xdsl.parser import Parser
from xdsl.universe import Universe
from xdsl.utils.exceptions import ParseError
from xdsl.xdsl_opt_main import xDSLOptMain

from coreai_opt.cli import split_chunks
from coreai_opt.errors import IRError
from coreai_opt.ir.elements import elements_array
from coreai_opt.ir.pending import builtin_blob_storage, resolve_pending_resources
from coreai_opt.ir.text import blob_from_hex, parse_metadata
from coreai_opt.pipeline import Pipeline
from coreai_opt.program import AIProgram
from tests.conftest import XDSL_OPT

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("COREAI_REAL_IR", REPO.parent / "shared" / "corpus" / "real-ir"))

PIPELINES = [
    ("", ""),
    ("palettize{n_bits=4}", "palettize<n_bits=4>"),
    (
        "sparsify{target_sparsity=0.5},quantize{dtype=int8},dce",
        "sparsify<target_sparsity=0.5>,quantize<dtype=int8>,optimize",
    ),
]
"""(xdsl-opt's pipeline, coreai-opt's): parse only, a pass, passes mixed with xDSL's `dce`."""


def corpus_programs() -> list[tuple[str, str]]:
    """(`file#chunk`, text) of every corpus program, split at `// -----` lines as MLIR does."""
    if not CORPUS.is_dir():
        return []
    programs = []
    for path in sorted(CORPUS.glob("*.mlir")):
        for index, text in enumerate(split_chunks(path.read_text())):
            if "coreai." in text:
                programs.append((f"{path.name}#{index}", text))
    return programs


PROGRAMS = corpus_programs()
needs_corpus = pytest.mark.skipif(not PROGRAMS, reason=f"no real-IR corpus at {CORPUS}")


def xdsl_opt(path: Path, *arguments: str) -> str:
    """Run xDSL's driver (`xDSLOptMain`, what `xdsl-opt` runs) in this process."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        xDSLOptMain(args=[str(path), *arguments]).run()
    return out.getvalue()


def xdsl_context() -> Context:
    """A context with every dialect of the installed universe, as `xdsl-opt` builds it."""
    ctx = Context()
    for name, factory in Universe.get_multiverse().all_dialects.items():
        ctx.register_dialect(name, factory)
    return ctx


def parse_with_xdsl(text: str, ctx: Context | None = None) -> ModuleOp:
    """Parse with xDSL's plain parser (no CoreAIParser)."""
    return Parser(ctx or xdsl_context(), text, "in.mlir").parse_module()


def weight_program(values_hex: str, type_: str = "tensor<2xf16>", key: str = "w") -> str:
    """One constant read from the resource `key`, whose value is `values_hex`."""
    return f"""coreai.graph @main() -> {type_} {{
  %w = coreai.constant dense_resource<{key}> : {type_}
  coreai.output %w : {type_}
}}
{{-#
  dialect_resources: {{
    builtin: {{
      {key}: "{values_hex}"
    }}
  }}
#-}}
"""


def constants(module: ModuleOp) -> list[ConstantOp]:
    """The module's constants, in order."""
    return [op for op in module.walk() if isinstance(op, ConstantOp)]


# --------------------------------------------------------------------------- the corpus


@needs_corpus
@pytest.mark.parametrize(("name", "text"), PROGRAMS, ids=[name for name, _ in PROGRAMS])
def test_xdsl_opt_prints_what_coreai_opt_prints(name: str, text: str, tmp_path: Path) -> None:
    """Every corpus program, alone, through xDSL's driver: parse only, one of our passes,
    and ours mixed with xDSL's `dce`; `-t coreai` equals coreai-opt's output byte for byte."""
    path = tmp_path / "program.mlir"
    path.write_text(text)
    for xdsl_pipeline, our_pipeline in PIPELINES:
        ours = str(Pipeline.parse(our_pipeline).run(AIProgram.parse(text, name=str(path))))
        assert xdsl_opt(path, "-p", xdsl_pipeline, "-t", "coreai") == ours, xdsl_pipeline


EXAMPLES = sorted((REPO / "examples").glob("*.mlir"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[path.name for path in EXAMPLES])
def test_xdsl_opt_runs_the_repository_examples(path: Path) -> None:
    """The examples the README uses (weights in `dialect_resources`) run under xdsl-opt."""
    for xdsl_pipeline, our_pipeline in [
        *PIPELINES,
        ("quantize{dtype=int8}", "quantize<dtype=int8>"),
    ]:
        ours = str(Pipeline.parse(our_pipeline).run(AIProgram.load(path)))
        assert xdsl_opt(path, "-p", xdsl_pipeline, "-t", "coreai") == ours, xdsl_pipeline


@needs_corpus
def test_xdsl_opt_split_input_file_as_a_command(tmp_path: Path) -> None:
    """The installed command, `--split-input-file`, on a whole corpus file: the same chunks
    as `coreai-opt --split-input-file` (only the separator lines differ)."""
    source = CORPUS / "construct_probes.mlir"
    command = [*XDSL_OPT, str(source), "--split-input-file", "-p", "palettize{n_bits=4}"]
    theirs = subprocess.run(
        [*command, "-t", "coreai"], check=True, capture_output=True, text=True
    ).stdout
    coreai_opt = [sys.executable, "-m", "coreai_opt.cli", str(source), "--split-input-file"]
    ours = subprocess.run(
        [*coreai_opt, "-p", "palettize<n_bits=4>"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert [c.strip() for c in split_chunks(theirs)] == [c.strip() for c in split_chunks(ours)]
    assert len(split_chunks(ours)) == 25


# --------------------------------------------------------------------------- pending weights


def test_a_constant_holds_a_pending_reference_until_resolved() -> None:
    """xDSL's parser gives `DenseResourceAttr`; resolving decodes the stored hex once."""
    ctx = xdsl_context()
    module = parse_with_xdsl(weight_program("0x02000000003C00C0"), ctx)
    (constant,) = constants(module)
    assert isinstance(constant.value, DenseResourceAttr)
    module.verify()  # xdsl-opt verifies before the first pass
    resolve_pending_resources(ctx, module)
    assert isinstance(constant.value, DenseResourceElementsAttr)
    assert constant.value.blob.data.alignment == 2
    np.testing.assert_array_equal(elements_array(constant.value), np.array([1.0, -2.0], "f2"))
    assert not builtin_blob_storage(ctx)  # left empty for the next module


def test_constants_naming_one_resource_share_its_blob() -> None:
    """Like coreai-opt: one key, one blob (compression then stores it once)."""
    text = weight_program("0x02000000003C00C0").replace(
        "  coreai.output",
        "  %v = coreai.constant dense_resource<w> : tensor<2xf16>\n  coreai.output",
    )
    ctx = xdsl_context()
    module = parse_with_xdsl(text, ctx)
    resolve_pending_resources(ctx, module)
    first, second = constants(module)
    assert first.value.blob.data is second.value.blob.data


def test_each_module_reads_its_own_resources_under_a_reused_key() -> None:
    """xDSL's storage outlives a module; resolving empties it, so the next module's `w` is
    its own (xDSL would otherwise rename the second `w` and lose its bytes)."""
    ctx = xdsl_context()
    for values, expected in (("0x02000000003C", [1.0]), ("0x020000000040", [2.0])):
        module = parse_with_xdsl(weight_program(values, "tensor<1xf16>"), ctx)
        resolve_pending_resources(ctx, module)
        (constant,) = constants(module)
        assert constant.value.resource_handle.data == "w"
        np.testing.assert_array_equal(elements_array(constant.value), np.array(expected, "f2"))


def test_a_resource_missing_from_the_file_is_elided_as_in_coreai_opt() -> None:
    """No bytes for a key: an elided weight, printed as coreai-opt prints it."""
    text = """coreai.graph @main() -> tensor<2xf16> {
  %w = coreai.constant dense_resource<gone> : tensor<2xf16>
  coreai.output %w : tensor<2xf16>
}
"""
    ctx = xdsl_context()
    module = parse_with_xdsl(text, ctx)
    resolve_pending_resources(ctx, module)
    (constant,) = constants(module)
    assert constant.value.blob.data is None
    from coreai_opt.ir.text import module_to_string

    assert module_to_string(module) == str(AIProgram.parse(text))


BAD_RESOURCES = [
    ("0x02000000003CZZ40", "tensor<2xf16>"),  # not hex
    ("0x03000000003C0040", "tensor<2xf16>"),  # alignment not a power of two
    ("0x00200000003C0040", "tensor<2xf16>"),  # alignment over the limit
    ("0x02000000003C004", "tensor<2xf16>"),  # odd number of digits (invalid hex)
    ("0x020000", "tensor<2xf16>"),  # no whole alignment word
    ("0x02000000003C0040", "tensor<3xf16>"),  # 4 bytes for 6
]


@pytest.mark.parametrize(("values", "type_"), BAD_RESOURCES)
def test_bad_resources_get_coreai_opts_message(values: str, type_: str) -> None:
    """The same checks and words as coreai-opt's reader (located at the constant)."""
    text = weight_program(values, type_)
    with pytest.raises(IRError) as ours:
        AIProgram.parse(text)
    ctx = xdsl_context()
    module = parse_with_xdsl(text, ctx)
    with pytest.raises(IRError) as theirs:
        resolve_pending_resources(ctx, module)
    assert theirs.value.message == ours.value.message
    assert theirs.value.where == "in.mlir:2:3"  # where the op starts, as coreai-opt says
    assert not builtin_blob_storage(ctx)


def metadata_blob(text: str):
    """The streaming reader's result for one builtin resource holding `text`."""
    section = f'{{-# dialect_resources: {{builtin: {{w: "{text}"}}}} #-}}'.encode()
    return parse_metadata(io.BytesIO(section), 0, "in.mlir").blobs["w"]


@settings(max_examples=200, deadline=None)
@given(
    data=st.binary(max_size=64),
    alignment=st.sampled_from([1, 2, 4, 8, 16, 64]),
    lower=st.booleans(),
)
def test_in_memory_hex_decodes_like_the_streaming_reader(
    data: bytes, alignment: int, lower: bool
) -> None:
    """`blob_from_hex` (xdsl-opt's path) and the streaming reader agree on valid blobs."""
    digits = (alignment.to_bytes(4, "little") + data).hex()
    text = "0x" + (digits if lower else digits.upper())
    blob = blob_from_hex("w", text)
    assert blob.alignment == alignment and bytes(blob.data) == data
    streamed = metadata_blob(text)
    assert streamed.alignment == blob.alignment and bytes(streamed.data) == bytes(blob.data)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789abcdefABCDEFxZ", max_size=24))
def test_in_memory_hex_fails_like_the_streaming_reader(digits: str) -> None:
    """On any value, both readers accept it with the same bytes or refuse it with the
    same message."""
    text = "0x" + digits
    try:
        streamed = metadata_blob(text)
    except IRError as error:
        with pytest.raises(ValueError) as refused:
            blob_from_hex("w", text)
        assert str(refused.value) == error.message
        return
    blob = blob_from_hex("w", text)
    assert (blob.alignment, bytes(blob.data)) == (streamed.alignment, bytes(streamed.data))


# --------------------------------------------------------------------------- names, literals


def test_scan_names_sorts_ops_attributes_and_types() -> None:
    """Bare or quoted names are ops, `#` attributes, `!` types; SSA and symbol names and
    longer identifiers are not names."""
    text = (
        '%a = coreai.exp %x : !coreai.token {k = #coreai.mode<x>} "coreai.pad"() '
        "%coreai.x @coreai.sym mycoreai.no coreai.decomposable.add. ->!coreai.handle"
    )
    assert scan_names(text) == ({"exp", "pad", "decomposable.add"}, {"mode"}, {"token", "handle"})


def test_unknown_names_parse_generically_and_compare_by_body() -> None:
    """Attributes no Python class was written for: equal exactly when their bodies are
    (MLIR's rule, which bytecode's attribute table relies on), and the same classes as
    coreai-opt's parser uses."""
    text = """coreai.graph @main(%x: !coreai.novel<4>) -> !coreai.novel<4> attributes {
    a = #coreai.decl<"one" = {k = 1}>, b = #coreai.decl<"two" = {k = 1}>,
    c = #coreai.decl<"one" = {k = 1}>} {
  %y = coreai.brand_new %x along %x : (!coreai.novel<4>, !coreai.novel<4>) to !coreai.novel<4>
  coreai.output %y : !coreai.novel<4>
}
"""
    graph = next(iter(parse_with_xdsl(text).ops))
    a, b, c = (graph.attributes[key] for key in "abc")
    assert a != b and a == c and hash(a) == hash(c)
    ours = next(iter(AIProgram.parse(text).module.ops))
    assert type(ours.attributes["a"]) is type(a) and ours.attributes["a"] == a


def test_hex_float_literals_are_bit_patterns_under_xdsl() -> None:
    """`dense<0xFF800000> : tensor<f32>` is -inf in MLIR (xDSL alone reads an integer)."""
    text = """coreai.graph @main() -> tensor<f32> {
  %c = coreai.constant dense<0xFF800000> : tensor<f32>
  coreai.output %c : tensor<f32>
}
"""
    (constant,) = constants(parse_with_xdsl(text))
    assert elements_array(constant.value).item() == -np.inf


# --------------------------------------------------------------------------- locations


def file_line_col(name: str, line: int, column: int) -> FileLineColLoc:
    """`loc("name":line:column)`."""
    return FileLineColLoc(StringAttr(name), IntAttr(line), IntAttr(column))


def test_a_location_alias_may_be_defined_after_its_use() -> None:
    """Our ops' parse hooks read their location, looking ahead for the alias."""
    text = """coreai.graph @main(%a: tensor<2xf32> loc(#arg)) -> tensor<2xf32> {
  %r = coreai.relu %a : (tensor<2xf32>) -> tensor<2xf32> loc(#relu)
  %e = coreai.exp %r : tensor<2xf32> -> tensor<2xf32> loc(fused[#relu, "a#b"])
  coreai.output %e : tensor<2xf32>
}
#relu = loc("model.py":7:3)
#arg = loc("model.py":1:1)
"""
    graph = next(iter(parse_with_xdsl(text).ops))
    relu, exp, output = graph.body.blocks.first.ops
    assert relu.location == file_line_col("model.py", 7, 3)
    assert exp.location == FusedLoc(
        (file_line_col("model.py", 7, 3), NameLoc(StringAttr("a#b"), NoneAttr())), NoneAttr()
    )
    assert output.location == file_line_col("in.mlir", 4, 3)  # none written: where it is
    assert graph.body.blocks.first.args[0].location == file_line_col("model.py", 1, 1)


def test_coreai_opts_location_forms_on_coreai_ops() -> None:
    """`fused<metadata>[...]` and ranges, which xDSL's location parser lacks, read on
    `coreai` ops and graph arguments as `coreai-opt` reads them."""
    text = """coreai.graph @main(%a: tensor<2xf32> loc(fused<"arg">[unknown])) -> tensor<2xf32> {
  %e = coreai.exp %a : tensor<2xf32> -> tensor<2xf32> loc("model.py":3:4 to 5:6)
  coreai.output %e : tensor<2xf32> loc(fused<{k = 1 : i64}>["model.py":9:0])
}
"""
    graph = next(iter(parse_with_xdsl(text).ops))
    ours = next(iter(AIProgram.parse(text).module.ops))
    for theirs, mine in zip(graph.walk(), ours.walk(), strict=True):
        if not isinstance(theirs, type(graph)):
            assert theirs.location == mine.location
    assert graph.body.blocks.first.args[0].location == ours.body.blocks.first.args[0].location
    assert graph.body.blocks.first.first_op.location == file_line_col("model.py", 3, 4)


def test_an_undefined_location_alias_is_named() -> None:
    """An alias defined nowhere: one located error naming it."""
    text = """coreai.graph @main(%a: tensor<2xf32>) -> tensor<2xf32> {
  %r = coreai.relu %a : (tensor<2xf32>) -> tensor<2xf32> loc(#nowhere)
  coreai.output %r : tensor<2xf32>
}
"""
    with pytest.raises(ParseError, match="undefined location alias '#nowhere'") as error:
        parse_with_xdsl(text)
    assert error.value.span.start == text.index("#nowhere")
