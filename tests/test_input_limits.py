"""Input limits (issue 15): a few bytes of input can never make the tools allocate, write
or recurse out of proportion. Each reproducer of the issue is built here from a seeded or
literal input, and must fail in one located line or succeed with bounded memory.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from coreai_opt.dialects.resources import Blob, DenseResourceElementsAttr
from xdsl.dialects.builtin import (
    BytesAttr,
    DenseIntOrFPElementsAttr,
    Float16Type,
    ModuleOp,
    TensorType,
    UnregisteredOp,
)
from xdsl.ir import Block, Region

from coreai_opt.asset import AIModelAsset
from coreai_opt.bytecode import bytecode_bytes, read_bytecode_bytes
from coreai_opt.bytecode import writer as bytecode_writer
from coreai_opt.errors import AssetError, IRError
from coreai_opt.ir.elements import elements_array, stored_nbytes
from coreai_opt.ir.text import module_to_string, parse_text
from coreai_opt.limits import (
    MAX_NESTING_DEPTH,
    MAX_RESOURCE_ALIGNMENT,
    alignment_problem,
    too_deep_offset,
)
from coreai_opt.program import AIProgram

MLIR_OPT = shutil.which("mlir-opt-22")
ONE_LINE = re.compile(r"^[^\n]+: error: [^\n]+\n$")
SMALL_PEAK = 32 << 20
"""What parsing, printing or converting one tiny hostile input may allocate (tracemalloc)."""


def run_cli(*argv: str) -> subprocess.CompletedProcess:
    """The command line, as a shell runs it."""
    return subprocess.run(
        [sys.executable, "-m", "coreai_opt.cli", *argv], capture_output=True, timeout=120
    )


def resource_text(word: str, payload: str = "FF01", type_: str = "tensor<2xi8>") -> str:
    """A program whose one constant is a blob with the given alignment word (8 hex digits)."""
    return (
        "module {\n  coreai.graph @main() {\n"
        f"    %c = coreai.constant dense_resource<w> : {type_}\n"
        "    coreai.output\n  }\n}\n\n"
        "{-#\n  dialect_resources: {\n    builtin: {\n"
        f'      w: "0x{word}{payload}"\n'
        "    }\n  }\n#-}\n"
    )


def peak_bytes(action) -> int:
    """Peak traced allocation while running `action`."""
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# --------------------------------------------------------------------------- alignment


@pytest.mark.parametrize(
    ("alignment", "problem"),
    [
        (3, "alignment 3 is not a power of two"),
        (0x80000000, "alignment 2147483648 exceeds the limit of 4096"),
        (8192, "alignment 8192 exceeds the limit of 4096"),
        (6, "alignment 6 is not a power of two"),
    ],
)
def test_text_alignment_is_checked_and_located(alignment: int, problem: str) -> None:
    """The alignment word is checked before the blob is decoded; the error points at it."""
    word = alignment.to_bytes(4, "little").hex().upper()
    with pytest.raises(IRError) as info:
        parse_text(resource_text(word), "align.mlir")
    assert str(info.value) == f"align.mlir:11:9: error: resource 'w': {problem}"


@pytest.mark.parametrize("alignment", [1, 2, 8, 64, MAX_RESOURCE_ALIGNMENT])
def test_powers_of_two_up_to_the_limit_are_kept(alignment: int) -> None:
    """Valid alignments still round trip unchanged."""
    word = alignment.to_bytes(4, "little").hex().upper()
    module, metadata = parse_text(resource_text(word))
    assert metadata.blobs["w"].alignment == alignment
    assert f'"0x{word}FF01"' in module_to_string(module, metadata)


def test_alignment_zero_is_read_as_one() -> None:
    """MLIR writes 0 for empty blobs (and reads it back): we do the same."""
    _, metadata = parse_text(resource_text("00000000", "", "tensor<0xi8>"))
    assert metadata.blobs["w"].alignment == 1
    assert alignment_problem(0) is None


def test_issue_reproducer_huge_alignment_writes_nothing(tmp_path: Path) -> None:
    """A 1 KB text file with alignment 0x80000000 used to write a 4 GB bundle: now one
    located line, exit 1, and nothing next to the output."""
    source = tmp_path / "align.mlir"
    source.write_text(resource_text("00000080") + "// padding\n" * 60)
    assert source.stat().st_size < 1100
    result = run_cli(str(source), "-o", str(tmp_path / "out.aimodel"))
    assert result.returncode == 1
    assert result.stderr.decode() == (
        f"{source}:11:9: error: resource 'w': alignment 2147483648 exceeds the limit of 4096\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["align.mlir"]


def test_issue_reproducer_alignment_3_is_not_written_back(tmp_path: Path) -> None:
    """Alignment 3 used to be accepted and printed back; mlir-opt rejects it, so do we."""
    source = tmp_path / "three.mlir"
    source.write_text(resource_text("03000000"))
    result = run_cli(str(source))
    assert result.returncode == 1 and result.stdout == b""
    assert result.stderr.decode().endswith(
        "error: resource 'w': alignment 3 is not a power of two\n"
    )


@pytest.mark.skipif(MLIR_OPT is None, reason="mlir-opt-22 (mlir-22-tools) absent")
def test_mlir_opt_also_rejects_alignment_3(tmp_path: Path) -> None:
    """The rule we follow is MLIR's own (MLIR also accepts larger powers of two; we stop at
    a page)."""
    source = tmp_path / "three.mlir"
    source.write_text(
        resource_text("03000000")
        .replace("coreai.graph @main() {", "func.func @f() {")
        .replace("coreai.constant", "arith.constant")
        .replace("coreai.output", "return")
    )
    result = subprocess.run(
        [MLIR_OPT, str(source)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 1
    assert "non-power-of-2 value: 3" in result.stderr


def blob_module(alignment: int) -> tuple[ModuleOp, object]:
    """A module holding one 2-byte blob, with `alignment` forced past the Blob check (the
    writer must also be told not to round it up to a power of two)."""
    module, metadata = parse_text(resource_text("01000000"))
    (constant,) = [op for op in module.walk() if op.name == "coreai.constant"]
    blob = constant.value.blob.data
    blob.alignment = alignment  # what a corrupt or hostile writer could have written
    return module, metadata


@pytest.mark.parametrize(
    ("alignment", "problem"),
    [(3, "alignment 3 is not a power of two"), (8192, "exceeds the limit of 4096")],
)
def test_bytecode_alignment_is_checked(alignment: int, problem: str, monkeypatch) -> None:
    """The bytecode reader applies the same rule to a blob's alignment."""
    monkeypatch.setattr(bytecode_writer, "power_of_two_alignment", lambda value: value)
    data = bytecode_bytes(*blob_module(alignment))
    with pytest.raises(AssetError, match=problem) as info:
        read_bytecode_bytes(data, "align.mlirb")
    assert "\n" not in str(info.value)


def test_blobs_refuse_bad_alignments() -> None:
    """The API cannot build a blob we could not read back."""
    with pytest.raises(ValueError, match="alignment 3 is not a power of two"):
        Blob(np.zeros(4, np.uint8), 3)
    with pytest.raises(ValueError, match="exceeds the limit of 4096"):
        Blob(np.zeros(4, np.uint8), 8192)


# --------------------------------------------------------------------------- splats


HUGE_SPLAT = (
    "coreai.graph @main() -> tensor<16384x32768xf16> {\n"
    "  %c = coreai.constant dense<1.0> : tensor<16384x32768xf16>\n"
    "  coreai.output %c : tensor<16384x32768xf16>\n"
    "}\n"
)


def test_issue_reproducer_huge_splat_prints_without_expanding() -> None:
    """`dense<1.0> : tensor<16384x32768xf16>` (1 GiB if expanded) stays one element through
    text, bytecode (a few hundred bytes) and back, in a few MB."""
    holder: dict = {}

    def round_trip() -> None:
        module, metadata = parse_text(HUGE_SPLAT)
        holder["data"] = bytecode_bytes(module, metadata)
        module, metadata = read_bytecode_bytes(holder["data"])
        holder["text"] = module_to_string(module, metadata)

    assert peak_bytes(round_trip) < SMALL_PEAK
    assert len(holder["data"]) < 400
    assert "dense<1.000000e+00> : tensor<16384x32768xf16>" in holder["text"]
    assert parse_text(holder["text"])[0].is_structurally_equivalent(parse_text(HUGE_SPLAT)[0])


def test_issue_reproducer_bytecode_splat_through_the_command_line(tmp_path: Path) -> None:
    """The 277-byte bytecode file of the issue prints as text at once (it took 96 s, 22 GB)."""
    module, metadata = parse_text(HUGE_SPLAT)
    source = tmp_path / "splat.mlirb"
    source.write_bytes(bytecode_bytes(module, metadata))
    result = run_cli(str(source))
    assert result.returncode == 0, result.stderr
    assert b"coreai.constant dense<1.000000e+00> : tensor<16384x32768xf16>" in result.stdout


@pytest.mark.parametrize(
    "literal", ['"0x003C"', "1.0", "0x3C00"], ids=["hex-string", "float", "bit-pattern"]
)
def test_every_splat_spelling_stays_one_element(literal: str) -> None:
    """A hex string of one element, a float and a bit pattern are all kept as one element."""
    text = f'"t.op"() {{v = dense<{literal}> : tensor<65536x65536xf16>}} : () -> ()\n'
    module, _ = parse_text(text)
    attr = next(iter(module.ops)).attributes["v"]
    assert attr.data.data == b"\x00\x3c"
    assert stored_nbytes(attr) == 2


def test_a_pass_that_needs_a_splat_gets_every_value() -> None:
    """The weight layer expands a splat when asked: contiguous, read-only, bitwise."""
    module, _ = parse_text('"t.op"() {v = dense<-0.0> : tensor<64x32xf16>} : () -> ()\n')
    values = elements_array(next(iter(module.ops)).attributes["v"])
    assert values.shape == (64, 32) and values.flags.c_contiguous
    assert not values.flags.writeable
    assert np.all(values.view(np.uint16) == 0x8000)


def test_written_out_splats_are_kept_as_one_element_too() -> None:
    """A literal list or full hex whose elements are all equal is stored once, printed as
    the splat it is, and -0.0 stays distinct from 0.0."""
    module, _ = parse_text(
        '"t.op"() {a = dense<[2.0, 2.0, 2.0]> : tensor<3xf32>,'
        " b = dense<[0.0, -0.0]> : tensor<2xf32>} : () -> ()\n"
    )
    op = next(iter(module.ops))
    assert len(op.attributes["a"].data.data) == 4
    assert len(op.attributes["b"].data.data) == 8
    text = module_to_string(module)
    assert "a = dense<2.000000e+00> : tensor<3xf32>" in text
    assert "b = dense<[0.000000e+00, -0.000000e+00]> : tensor<2xf32>" in text


def test_a_whole_splat_built_through_xdsl_prints_without_unpacking() -> None:
    """A splat held whole (xDSL's own constructors expand them) prints one element."""
    module, _ = parse_text('"t.op"() : () -> ()\n')
    op = next(iter(module.ops))
    whole = np.full(1 << 22, 1.0, np.float16).tobytes()
    op.attributes["v"] = DenseIntOrFPElementsAttr(
        TensorType(Float16Type(), [1 << 22]), BytesAttr(whole)
    )
    text = module_to_string(module)
    assert "v = dense<1.000000e+00> : tensor<4194304xf16>" in text


def test_bytecode_i1_splats_stay_one_byte() -> None:
    """MLIR's i1 splat (one 0xFF byte) is read as one element and written back the same."""
    module, metadata = parse_text(
        '"t.op"() {v = dense<true> : tensor<1000000x1000xi1>} : () -> ()\n'
    )
    attr = next(iter(module.ops)).attributes["v"]
    assert len(attr.data.data) == 1
    data = bytecode_bytes(module, metadata)
    assert len(data) < 300
    back, back_metadata = read_bytecode_bytes(data)
    assert len(next(iter(back.ops)).attributes["v"].data.data) == 1
    assert module_to_string(back, back_metadata) == module_to_string(module, metadata)


def test_non_numeric_splats_are_bounded() -> None:
    """xDSL expands splats of types numpy cannot hold (index): those are bounded up front."""
    with pytest.raises(IRError, match="would expand to 8000000000 bytes") as info:
        parse_text('"t.op"() {v = dense<1> : tensor<1000000000xindex>} : () -> ()\n', "idx.mlir")
    assert str(info.value).startswith("idx.mlir:1:")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('"t.op"() {v = 1 : i99999999999} : () -> ()\n', "integer bitwidth is limited"),
        (
            '"t.op"() {v = dense<1.0> : tensor<99999999999999999999xf32>} : () -> ()\n',
            "invalid dimension",
        ),
        ('"t.op"() {v = dense<1.0> : tensor<?xf32>} : () -> ()\n', "should have a static shape"),
    ],
    ids=["integer-width", "dimension", "dynamic"],
)
def test_declared_sizes_are_checked(text: str, message: str) -> None:
    """Integer widths (`i99999999999` took 24 GB) and dimensions past int64 are refused
    as MLIR refuses them."""
    with pytest.raises(IRError, match=message) as info:
        parse_text(text, "sizes.mlir")
    assert ONE_LINE.match(str(info.value) + "\n")
    assert str(info.value).startswith("sizes.mlir:1:")


# --------------------------------------------------------------------------- nesting


def nested_regions(depth: int) -> str:
    """`depth` generic ops, each inside the region of the previous one."""
    return '"t.a"() ({\n' * depth + "}) : () -> ()\n" * depth


def test_issue_reproducer_140_nested_regions() -> None:
    """140 nested regions used to raise RecursionError."""
    with pytest.raises(IRError) as info:
        parse_text(nested_regions(140), "deep.mlir")
    assert str(info.value) == (
        f"deep.mlir:32:10: error: nested too deeply (the limit is {MAX_NESTING_DEPTH} levels "
        "of brackets, the module's included)"
    )


def test_issue_reproducer_1000_nested_brackets() -> None:
    """1,000 nested brackets used to raise RecursionError."""
    text = '"t.a"() {v = ' + "[" * 1000 + "1" + "]" * 1000 + "} : () -> ()\n"
    with pytest.raises(IRError) as info:
        parse_text(text, "deep.mlir")
    assert str(info.value).startswith("deep.mlir:1:76: error: nested too deeply")


def test_nesting_at_the_limit_works_everywhere() -> None:
    """At the limit, parsing, printing, cloning and bytecode both ways all work."""
    depth = MAX_NESTING_DEPTH - 2  # the attribute dictionary and the module are two more
    text = '"t.a"() {v = ' + "[" * depth + "1" + "]" * depth + "} : () -> ()\n"
    module, metadata = parse_text(text)
    printed = module_to_string(module, metadata)
    assert parse_text(printed)[0].is_structurally_equivalent(module)
    back, _ = read_bytecode_bytes(bytecode_bytes(module, metadata))
    assert back.is_structurally_equivalent(module.clone())
    regions, _ = parse_text("module {\n" + nested_regions(MAX_NESTING_DEPTH // 2 - 1) + "}\n")
    assert module_to_string(regions).count('"t.a"') == MAX_NESTING_DEPTH // 2 - 1


def test_alias_chains_count_as_nesting() -> None:
    """`#a1 = [#a0]`, `#a2 = [#a1]`, ... nests without nesting brackets: counted too."""
    aliases = "".join(f"#a{i} = [#a{i - 1}]\n" if i else "#a0 = [1]\n" for i in range(200))
    with pytest.raises(IRError, match="nested too deeply") as info:
        parse_text(aliases + '"t.a"() {v = #a199} : () -> ()\n', "alias.mlir")
    assert str(info.value).startswith(f"alias.mlir:{MAX_NESTING_DEPTH}:")


def test_the_nesting_scan_ignores_strings_comments_and_arrows() -> None:
    """Only real brackets count."""
    assert too_deep_offset('"[[[[[[" // ((((((\n' * 100 + "a -> b\n" * 100, limit=2) is None
    assert too_deep_offset("(((", limit=2) == 2
    assert too_deep_offset("(a < b) " * 100, limit=2) is None  # a stray `<` closes with `)`


def test_bytecode_regions_nested_too_deeply() -> None:
    """A bytecode file nesting 140 regions (built directly: text cannot say it) is refused
    in one line."""
    inner = UnregisteredOp.with_name("t.a").create()
    for _ in range(140):
        inner = UnregisteredOp.with_name("t.a").create(regions=[Region(Block([inner]))])
    data = bytecode_bytes(ModuleOp([inner]))
    with pytest.raises(AssetError, match="regions nested too deeply") as info:
        read_bytecode_bytes(data, "deep.mlirb")
    assert "\n" not in str(info.value)


# --------------------------------------------------------------------------- metadata.json


def bundle_with_metadata(tmp_path: Path, text: str) -> Path:
    """A valid bundle whose metadata.json holds `text`."""
    bundle = tmp_path / "m.aimodel"
    AIProgram.parse("coreai.graph @main() {\n  coreai.output\n}\n").save_asset(bundle)
    (bundle / "metadata.json").write_text(text)
    return bundle


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, "metadata.json is nested too deeply"),
        ('{"author": "x", "n": ' + "7" * 5000 + "}", "an integer has more than 4300 digits"),
        ('{"a": ' * 65 + "1" + "}" * 65, "metadata.json is nested too deeply"),
    ],
    ids=["deep-array", "huge-integer", "deep-object"],
)
def test_hostile_metadata_is_one_asset_error(tmp_path: Path, text: str, message: str) -> None:
    """Deep nesting and huge integers used to escape as RecursionError / ValueError."""
    bundle = bundle_with_metadata(tmp_path, text)
    with pytest.raises(AssetError, match=message) as info:
        AIModelAsset.load(bundle)
    assert "\n" not in str(info.value)
    assert str(bundle / "metadata.json") in str(info.value)


def test_metadata_within_the_limit_loads(tmp_path: Path) -> None:
    """Nesting up to the limit is fine."""
    value = {"author": "a", "custom": json.loads("[" * 60 + "]" * 60)}
    bundle = bundle_with_metadata(tmp_path, json.dumps(value))
    assert AIModelAsset.load(bundle).metadata["custom"] == value["custom"]


def test_stored_splat_dense_resource_is_untouched() -> None:
    """Blob-backed weights are not affected by splat handling (they are never compacted)."""
    module, _ = parse_text(resource_text("01000000", "0101"))
    (constant,) = [op for op in module.walk() if op.name == "coreai.constant"]
    assert isinstance(constant.value, DenseResourceElementsAttr)
    assert constant.value.blob.data.nbytes == 2
