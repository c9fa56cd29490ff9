"""`AIProgram`: parse/load/save/copy/optimize/verify and its weights."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from coreai_opt.dialects.coreai import ConstantOp
from coreai_opt.dialects.resources import DenseResourceElementsAttr
from hypothesis import given, settings
from hypothesis import strategies as st

import coreai_opt.program as program_module
from coreai_opt.errors import IRError
from coreai_opt.ir.elements import elements_array
from coreai_opt.pipeline import Pipeline
from coreai_opt.program import AIProgram

TEXT = """module {
  coreai.graph @main(%x: tensor<1x4xf32>) -> tensor<1x2xf32> {
    %w = coreai.constant dense_resource<w> : tensor<2x4xf32>
    %dead = coreai.constant dense_resource<dead> : tensor<2xf32>
    %perm = coreai.constant dense<[1, 0]> : tensor<2xui32>
    %wt = coreai.transpose %w, %perm : (tensor<2x4xf32>, tensor<2xui32>) -> tensor<4x2xf32>
    %y = coreai.batch_matmul %x, %wt : (tensor<1x4xf32>, tensor<4x2xf32>) -> tensor<1x2xf32>
    coreai.output %y : tensor<1x2xf32>
  }
}

{-#
  dialect_resources: {
    builtin: {
      w: "0x040000000000803F000000400000404000008040000000BF0000C0BF000020C1000080C1",
      dead: "0x040000000000803F00000040"
    }
  }
#-}
"""

W_VALUES = [[1.0, 2.0, 3.0, 4.0], [-0.5, -1.5, -10.0, -16.0]]


def resource_blobs(program: AIProgram) -> list:
    """The Blob objects of every resource-backed constant, in program order."""
    return [
        op.value.blob.data
        for op in program.constants()
        if isinstance(op.value, DenseResourceElementsAttr)
    ]


# --------------------------------------------------------------------------- construction


def test_parse_and_str_round_trip() -> None:
    """`str(program)` is the canonical text."""
    program = AIProgram.parse(TEXT)
    assert str(program) == TEXT
    first = next(program.constants())
    assert elements_array(first.value).tolist() == W_VALUES


def test_load_reads_a_file(tmp_path: Path) -> None:
    """`load` gives the same program as `parse` of the file's text."""
    path = tmp_path / "model.mlir"
    path.write_text(TEXT)
    assert str(AIProgram.load(path)) == TEXT
    assert str(AIProgram.load(str(path))) == TEXT


def test_load_missing_file_is_a_one_line_error(tmp_path: Path) -> None:
    """A missing file names the path; no traceback-shaped message."""
    missing = tmp_path / "nope.mlir"
    with pytest.raises(IRError) as info:
        AIProgram.load(missing)
    assert str(info.value) == f"{missing}: error: no such file"


def test_parse_verifies_unless_asked_not_to() -> None:
    """`verify=False` accepts IR the verifiers reject; `verify()` then reports it."""
    bad = TEXT.replace("tensor<4x2xf32>\n    %y", "tensor<2x4xf32>\n    %y").replace(
        "(tensor<1x4xf32>, tensor<4x2xf32>)", "(tensor<1x4xf32>, tensor<2x4xf32>)"
    )
    with pytest.raises(IRError, match=r"^bad\.mlir:6:5: error: 'coreai\.transpose' op"):
        AIProgram.parse(bad, name="bad.mlir")
    program = AIProgram.parse(bad, name="bad.mlir", verify=False)
    with pytest.raises(IRError, match=r"^bad\.mlir:6:5: "):
        program.verify()


# --------------------------------------------------------------------------- copy


def test_copy_shares_blob_arrays() -> None:
    """`copy()` is cheap: the same read-only Blob objects, not copies of the bytes."""
    program = AIProgram.parse(TEXT)
    duplicate = program.copy()
    originals, copies = resource_blobs(program), resource_blobs(duplicate)
    assert len(originals) == 2
    assert all(a is b for a, b in zip(originals, copies, strict=True))
    assert all(not blob.data.flags.writeable for blob in originals)
    assert duplicate.module is not program.module


def test_changes_to_a_copy_leave_the_original_untouched() -> None:
    """Passes run in place on the copy; the original's text and bytes do not move."""
    program = AIProgram.parse(TEXT)
    before = str(program)
    duplicate = program.copy()
    Pipeline("cast-to-fp16,optimize").run(duplicate)
    assert "f32" not in str(duplicate).split("{-#")[0]
    assert "dead" not in str(duplicate)
    assert str(program) == before
    assert elements_array(next(program.constants()).value).dtype == np.float32


def test_in_place_writes_to_shared_weights_are_refused() -> None:
    """Shared blobs are read-only, so no one can change the original through a copy."""
    duplicate = AIProgram.parse(TEXT).copy()
    weights = elements_array(next(duplicate.constants()).value)
    with pytest.raises(ValueError):
        weights[0, 0] = 42.0


def test_copy_of_a_copy_prints_the_same() -> None:
    """Copies print identically to their source."""
    program = AIProgram.parse(TEXT)
    assert str(program.copy().copy()) == str(program)


# --------------------------------------------------------------------------- save


def test_save_writes_the_text(tmp_path: Path) -> None:
    """`save` writes exactly `str(program)`; generic output reloads to the same program."""
    program = AIProgram.parse(TEXT)
    path = tmp_path / "out.mlir"
    program.save(path)
    assert path.read_text() == TEXT
    program.save(tmp_path / "generic.mlir", generic=True)
    generic = (tmp_path / "generic.mlir").read_text()
    assert '"coreai.graph"()' in generic
    assert str(AIProgram.load(tmp_path / "generic.mlir")) == TEXT


def test_save_replaces_an_existing_file(tmp_path: Path) -> None:
    """Saving over a file replaces it whole."""
    path = tmp_path / "out.mlir"
    path.write_text("x" * 100_000)
    AIProgram.parse(TEXT).save(path)
    assert path.read_text() == TEXT


def failing_print(module, stream, *args, **kwargs) -> None:
    """Writes part of the output, then fails (a crash or a full disk mid-save)."""
    stream.write(b"module {\n  coreai.graph @partial")
    raise OSError("disk full")


def test_failed_save_leaves_no_partial_file(tmp_path: Path, monkeypatch) -> None:
    """Nothing is left at the destination, nor any temporary file."""
    monkeypatch.setattr(program_module, "print_module", failing_print)
    path = tmp_path / "out.mlir"
    with pytest.raises(OSError, match="disk full"):
        AIProgram.parse(TEXT).save(path)
    assert os.listdir(tmp_path) == []


def test_failed_save_keeps_the_existing_file(tmp_path: Path, monkeypatch) -> None:
    """An existing file is untouched (same bytes, same inode) when a save fails."""
    path = tmp_path / "out.mlir"
    path.write_text("previous contents\n")
    inode = path.stat().st_ino
    monkeypatch.setattr(program_module, "print_module", failing_print)
    with pytest.raises(OSError):
        AIProgram.parse(TEXT).save(path)
    assert path.read_text() == "previous contents\n"
    assert path.stat().st_ino == inode
    assert os.listdir(tmp_path) == ["out.mlir"]


def test_save_into_a_missing_directory_is_a_one_line_error(tmp_path: Path) -> None:
    """No directory is created, and the error names the path."""
    target = tmp_path / "missing" / "out.mlir"
    with pytest.raises(IRError, match="output directory does not exist"):
        AIProgram.parse(TEXT).save(target)
    assert not target.parent.exists()


@settings(max_examples=25, deadline=None)
@given(
    shape=st.lists(st.integers(1, 6), min_size=1, max_size=3).map(tuple),
    seed=st.integers(0),
    alignment=st.sampled_from([1, 2, 16, 64]),
)
def test_save_load_keeps_every_weight_bit(tmp_path_factory, shape, seed, alignment) -> None:
    """Random f16 bit patterns (NaNs and infinities included) survive save and load."""
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 1 << 16, size=shape, dtype=np.uint16)
    type_text = "tensor<" + "".join(f"{d}x" for d in shape) + "f16>"
    word = alignment.to_bytes(4, "little").hex()
    text = (
        f"coreai.graph @g() -> {type_text} {{\n"
        f"  %w = coreai.constant dense_resource<w> : {type_text}\n"
        f"  coreai.output %w : {type_text}\n}}\n"
        f"{{-#\n  dialect_resources: {{\n    builtin: {{\n"
        f'      w: "0x{word}{bits.tobytes().hex()}"\n'
        "    }\n  }\n#-}\n"
    )
    path = tmp_path_factory.mktemp("save") / "w.mlir"
    AIProgram.parse(text).save(path)
    loaded = AIProgram.load(path)
    (constant,) = loaded.constants()
    assert elements_array(constant.value).view(np.uint16).tolist() == bits.tolist()
    assert constant.value.blob.data.alignment == alignment


# --------------------------------------------------------------------------- optimize & friends


def test_optimize_removes_dead_constants_in_place() -> None:
    """`optimize()` returns the program itself, without the dead constant and its blob."""
    program = AIProgram.parse(TEXT)
    assert program.optimize() is program
    names = [op.result.name_hint for op in program.constants()]
    assert names == ["w", "perm"]
    assert "dead" not in str(program)
    assert "@main(%x: tensor<1x4xf32>) -> tensor<1x2xf32>" in str(program)


def test_constants_and_weight_bytes() -> None:
    """Constants in program order; weight bytes are the stored payload sizes."""
    program = AIProgram.parse(TEXT)
    constants = list(program.constants())
    assert all(isinstance(op, ConstantOp) for op in constants)
    assert [op.result.name_hint for op in constants] == ["w", "dead", "perm"]
    assert program.weight_bytes() == 32 + 8 + 8


def test_weight_bytes_counts_packed_sub_byte_sizes() -> None:
    """A 5-element ui4 resource occupies 3 bytes."""
    text = """coreai.graph @g() -> tensor<5xui4> {
  %w = coreai.constant dense_resource<q> : tensor<5xui4>
  coreai.output %w : tensor<5xui4>
}
{-#
  dialect_resources: {
    builtin: {
      q: "0x01000000214305"
    }
  }
#-}
"""
    program = AIProgram.parse(text)
    assert program.weight_bytes() == 3
    assert elements_array(next(program.constants()).value).tolist() == [1, 2, 3, 4, 5]


# --------------------------------------------------------------------------- known bugs


@pytest.mark.parametrize("axis", [5, -3])
def test_vector_lut_axis_out_of_range_is_rejected(axis: int) -> None:
    """An axis outside [-rank, rank) is invalid IR, reported by the verifier."""
    text = f"""coreai.graph @g() -> tensor<2x4xf16> {{
  %i = coreai.constant dense<[[0, 1], [1, 0]]> : tensor<2x2xui1>
  %l = coreai.constant dense<[[[[1.0, 2.0], [3.0, 4.0]]]]> : tensor<1x1x2x2xf16>
  %a = coreai.constant dense<{axis}> : tensor<si16>
  %w = coreai.lut_to_dense %i, %l, %a : (tensor<2x2xui1>, tensor<1x1x2x2xf16>, tensor<si16>) -> tensor<2x4xf16>
  coreai.output %w : tensor<2x4xf16>
}}
"""  # noqa: E501
    raised = False
    try:
        AIProgram.parse(text, name="x.mlir")
    except IRError as error:
        raised = str(error).startswith("x.mlir:5:3: error: 'coreai.lut_to_dense' op")
    assert raised


def test_saved_files_follow_the_umask(tmp_path) -> None:
    """Atomic saves must not leave mkstemp's 0600 mode on the result."""
    import os
    import stat

    program = AIProgram.parse("module {\n}\n")
    mask = os.umask(0o022)
    try:
        program.save(tmp_path / "out.mlir")
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "out.mlir").stat().st_mode) == 0o644


def test_saving_to_a_device_writes_through_it(tmp_path) -> None:
    """`-o /dev/null` must write to the device, never rename a file over it."""
    import stat
    from pathlib import Path

    AIProgram.parse("module {\n}\n").save(Path("/dev/null"))
    assert stat.S_ISCHR(Path("/dev/null").stat().st_mode)
