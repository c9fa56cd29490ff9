"""`.aimodel` bundles: `AIModelAsset`, `save_asset`, safe writes, bad bundles, the CLI."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from coreai_opt.dialects.coreai import BlockwiseShiftScaleOp

import coreai_opt
from coreai_opt.asset import AIModelAsset, save_asset
from coreai_opt.bytecode.encoding import Cursor, Section, encode_varint
from coreai_opt.bytecode.mapping import backing_mapping
from coreai_opt.bytecode.writer import BytecodeImage
from coreai_opt.cli import main
from coreai_opt.coreai_utils import quantize_weights
from coreai_opt.errors import AssetError
from coreai_opt.program import AIProgram

from .conftest import weights_by_key


def bundle_files(path: Path) -> dict[str, bytes]:
    """Every file of a bundle with its bytes."""
    return {item.name: item.read_bytes() for item in sorted(path.iterdir())}


def rehash(bundle: Path) -> None:
    """Make `main.hash` match a (deliberately damaged) `main.mlirb` again."""
    digest = hashlib.sha256((bundle / "main.mlirb").read_bytes()).digest()
    (bundle / "main.hash").write_bytes(digest)


def leftovers(directory: Path) -> list[str]:
    """Hidden staging or retired directories left next to bundles."""
    return sorted(item.name for item in directory.iterdir() if item.name.startswith("."))


@pytest.fixture
def saved(tmp_path: Path, small_program: AIProgram) -> Path:
    """The small two-layer program saved as a bundle."""
    path = tmp_path / "model.aimodel"
    small_program.save_asset(path, {"author": "tests", "license": "MIT", "task": "demo"})
    return path


# --------------------------------------------------------------------------- round trips


def test_bundle_layout_hash_and_metadata(saved: Path) -> None:
    """main.mlirb (bytecode), main.hash (raw SHA-256) and metadata.json with the keys."""
    files = bundle_files(saved)
    assert sorted(files) == ["main.hash", "main.mlirb", "metadata.json"]
    assert files["main.mlirb"][:4] == b"ML\xefR"
    assert files["main.hash"] == hashlib.sha256(files["main.mlirb"]).digest()
    metadata = json.loads(files["metadata.json"])
    assert metadata["author"] == "tests" and metadata["license"] == "MIT"
    assert metadata["model_description"] == "" and metadata["task"] == "demo"
    assert isinstance(metadata["creation_date"], int) and metadata["creation_date"] > 1.6e9


def test_load_gives_the_same_program_with_mapped_weights(
    saved: Path, small_program: AIProgram
) -> None:
    """Weights come back bit for bit, as read-only views of main.mlirb."""
    asset = AIModelAsset.load(saved)
    assert asset.metadata["task"] == "demo"
    loaded, original = weights_by_key(asset.program), weights_by_key(small_program)
    assert sorted(loaded) == sorted(original) == ["w0", "w1"]
    for key, array in original.items():
        np.testing.assert_array_equal(loaded[key], array)
        assert backing_mapping(loaded[key].reshape(-1).view(np.uint8)) is not None
        assert not loaded[key].flags.writeable


def test_program_load_accepts_bundles_and_bytecode(saved: Path, tmp_path: Path) -> None:
    """AIProgram.load reads a bundle directory, a .mlirb file, or text; save writes .mlirb."""
    from_bundle = AIProgram.load(saved)
    mlirb = tmp_path / "model.mlirb"
    from_bundle.save(mlirb)
    assert mlirb.read_bytes() == (saved / "main.mlirb").read_bytes()
    assert str(AIProgram.load(mlirb)) == str(from_bundle)


def test_lazy_export() -> None:
    """`coreai_opt.AIModelAsset` is the bundle class."""
    assert coreai_opt.AIModelAsset is AIModelAsset
    assert "AIModelAsset" in coreai_opt.__all__


def test_seed_workflow_load_compress_optimize_save(saved: Path, tmp_path: Path) -> None:
    """The workflow users follow: load, quantize a copy, optimize, save_asset, load again."""
    program = AIModelAsset.load(saved).program
    compressed = quantize_weights(coreai_program=program, dtype="int8", in_place=False)
    compressed.optimize()
    out = tmp_path / "model_int8.aimodel"
    compressed.save_asset(out)
    again = AIModelAsset.load(out)
    ops = [op for op in again.program.module.walk() if isinstance(op, BlockwiseShiftScaleOp)]
    assert len(ops) == 2
    assert again.metadata["author"] == "tests"  # carried over from the source bundle
    loaded, expected = weights_by_key(again.program), weights_by_key(compressed)
    assert sorted(loaded) == sorted(expected) and len(loaded) == 4  # data and scale x2
    for key, array in expected.items():
        np.testing.assert_array_equal(loaded[key], array)


# --------------------------------------------------------------------------- safe writes


def test_refuses_to_overwrite_unless_asked(saved: Path, small_program: AIProgram) -> None:
    """An existing bundle stays untouched without overwrite=True."""
    before = bundle_files(saved)
    with pytest.raises(AssetError, match="already exists") as info:
        small_program.save_asset(saved)
    assert info.value.where == str(saved)
    assert bundle_files(saved) == before


def test_overwrite_replaces_only_bundles(tmp_path: Path, small_program: AIProgram) -> None:
    """overwrite=True never replaces a file or a non-bundle directory."""
    plain = tmp_path / "notes.aimodel"
    plain.write_text("keep me")
    directory = tmp_path / "dir.aimodel"
    directory.mkdir()
    (directory / "data.txt").write_text("keep me too")
    for target in (plain, directory):
        with pytest.raises(AssetError, match=r"not an \.aimodel bundle"):
            save_asset(small_program, target, overwrite=True)
    assert plain.read_text() == "keep me"
    assert (directory / "data.txt").read_text() == "keep me too"


def test_saving_over_the_loaded_bundle_keeps_its_weights_readable(saved: Path) -> None:
    """Writing the new bundle fully, then swapping, leaves the old memory maps valid."""
    asset = AIModelAsset.load(saved)
    quantize_weights(coreai_program=asset.program, dtype="int8", in_place=True)
    original = AIModelAsset.load(saved)
    asset.program.save_asset(saved, overwrite=True)
    weights = weights_by_key(original.program)  # maps of the replaced main.mlirb
    assert all(np.isfinite(array.astype(np.float32)).all() for array in weights.values())
    assert leftovers(saved.parent) == []
    reloaded = AIModelAsset.load(saved)
    assert any(isinstance(op, BlockwiseShiftScaleOp) for op in reloaded.program.module.walk())


def test_interrupted_save_leaves_nothing_and_damages_nothing(
    saved: Path, small_program: AIProgram, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure half-way through the weights: no partial bundle, the old one intact."""
    before = bundle_files(saved)
    real_write = BytecodeImage.write_to

    def failing_write(self: BytecodeImage, out, hasher=None) -> None:
        out.write(b"ML\xefR partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(BytecodeImage, "write_to", failing_write)
    for target in (saved, saved.parent / "fresh.aimodel"):
        with pytest.raises(KeyboardInterrupt):
            small_program.save_asset(target, overwrite=True)
    assert bundle_files(saved) == before
    assert not (saved.parent / "fresh.aimodel").exists()
    assert leftovers(saved.parent) == []
    monkeypatch.setattr(BytecodeImage, "write_to", real_write)


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({"creation_date": "yesterday"}, "creation_date must be an integer"),
        ({"creation_date": 1.5}, "creation_date must be an integer"),
        ({"author": 3}, "author must be a string"),
        ({"blob": b"\x00"}, "not JSON-serialisable"),
    ],
)
def test_bad_metadata_is_refused_before_writing(
    tmp_path: Path, small_program: AIProgram, metadata: dict, message: str
) -> None:
    """Metadata is validated first: nothing is written."""
    with pytest.raises(AssetError, match=message):
        small_program.save_asset(tmp_path / "m.aimodel", metadata)
    assert list(tmp_path.iterdir()) == [tmp_path / "model.mlir"]


def test_creation_date_is_kept_when_given(tmp_path: Path, small_program: AIProgram) -> None:
    """A given creation_date (epoch seconds) is written as is."""
    path = save_asset(small_program, tmp_path / "m.aimodel", {"creation_date": 1700000000})
    assert AIModelAsset.load(path).metadata["creation_date"] == 1700000000


# --------------------------------------------------------------------------- bad bundles


@pytest.mark.parametrize("missing", ["main.mlirb", "main.hash", "metadata.json"])
def test_missing_file(saved: Path, missing: str) -> None:
    """Each of the three files is required."""
    (saved / missing).unlink()
    with pytest.raises(AssetError, match=f"missing {missing}") as info:
        AIModelAsset.load(saved)
    assert info.value.where == str(saved)


def test_missing_bundle_and_wrong_kind(tmp_path: Path) -> None:
    """No such bundle, or a file where a directory is expected."""
    with pytest.raises(AssetError, match="no such bundle"):
        AIModelAsset.load(tmp_path / "nothing.aimodel")
    (tmp_path / "file.aimodel").write_text("x")
    with pytest.raises(AssetError, match="expected a directory"):
        AIModelAsset.load(tmp_path / "file.aimodel")


def test_wrong_hash(saved: Path) -> None:
    """One flipped weight byte is caught by the hash before anything is parsed."""
    main = saved / "main.mlirb"
    data = bytearray(main.read_bytes())
    data[-100] ^= 0xFF
    main.write_bytes(bytes(data))
    with pytest.raises(AssetError, match=r"does not match main\.hash") as info:
        AIModelAsset.load(saved)
    assert info.value.where == str(main)
    (saved / "main.hash").write_bytes(b"\x00" * 31)
    with pytest.raises(AssetError, match="32-byte SHA-256 digest, found 31 bytes"):
        AIModelAsset.load(saved)


def test_bad_metadata_json(saved: Path) -> None:
    """Invalid JSON is located; a JSON array is refused."""
    (saved / "metadata.json").write_text('{"author": ')
    with pytest.raises(AssetError, match="invalid JSON") as info:
        AIModelAsset.load(saved)
    assert info.value.where.startswith(str(saved / "metadata.json") + ":1:")
    (saved / "metadata.json").write_text("[1, 2]")
    with pytest.raises(AssetError, match="must hold a JSON object"):
        AIModelAsset.load(saved)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"author": 5}', "author must be a string, got 5"),
        ('{"license": null}', "license must be a string, got None"),
        ('{"model_description": ["a"]}', "model_description must be a string, got ['a']"),
        ('{"creation_date": "2024"}', "creation_date must be an integer (epoch seconds)"),
        ('{"creation_date": true}', "creation_date must be an integer (epoch seconds)"),
        ('{"score": NaN}', "metadata key 'score' holds NaN or Infinity"),
        ('{"nested": {"x": [1, -Infinity]}}', "metadata key 'nested' holds NaN or Infinity"),
    ],
)
def test_metadata_rule_is_checked_at_load(saved: Path, text: str, message: str) -> None:
    """Issue 15: `author: 5` loaded but could not be saved again. Loading now applies the
    rule saving does, in one line naming metadata.json."""
    (saved / "metadata.json").write_text(text)
    with pytest.raises(AssetError, match=re.escape(message)) as info:
        AIModelAsset.load(saved)
    assert info.value.where == str(saved / "metadata.json")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({"score": float("nan")}, "metadata key 'score' holds NaN or Infinity"),
        ({"scores": [1.0, float("inf")]}, "metadata key 'scores' holds NaN or Infinity"),
        ({1: "one"}, "metadata keys must be strings, got 1"),
        ({"author": None}, "author must be a string, got None"),
    ],
)
def test_metadata_rule_is_checked_at_save(
    tmp_path: Path, small_program: AIProgram, metadata: dict, message: str
) -> None:
    with pytest.raises(AssetError, match=re.escape(message)):
        small_program.save_asset(tmp_path / "m.aimodel", metadata)
    assert not (tmp_path / "m.aimodel").exists()


def test_whatever_loads_saves_again(saved: Path, tmp_path: Path) -> None:
    """Custom keys of any JSON type survive a load and a save, as strict JSON."""
    custom = {"task": "demo", "tags": ["a", 1, 2.5, None, True], "extra": {"k": {"n": -3}}}
    metadata = json.loads((saved / "metadata.json").read_text()) | custom
    (saved / "metadata.json").write_text(json.dumps(metadata))
    asset = AIModelAsset.load(saved, verify_hash=False)
    again = asset.save(tmp_path / "again.aimodel")
    written = json.loads((again / "metadata.json").read_text(), parse_constant=pytest.fail)
    assert {key: written[key] for key in custom} == custom


def test_truncated_bytecode(saved: Path) -> None:
    """A cut file (with a matching hash) is a clear bytecode error naming main.mlirb."""
    main = saved / "main.mlirb"
    main.write_bytes(main.read_bytes()[:1000])
    rehash(saved)
    with pytest.raises(AssetError, match=r"invalid MLIR bytecode: .*\(at byte \d+\)") as info:
        AIModelAsset.load(saved)
    assert info.value.where == str(main)


def test_unsupported_version(saved: Path) -> None:
    """Version 7 (newer than MLIR 22 writes) is refused by name."""
    main = saved / "main.mlirb"
    data = main.read_bytes()
    main.write_bytes(data[:4] + encode_varint(7) + data[5:])
    rehash(saved)
    with pytest.raises(AssetError, match="unsupported bytecode version 7"):
        AIModelAsset.load(saved)


def resource_size_position(data: bytes) -> tuple[int, int]:
    """Position and encoded length of the first resource's size in the offset table."""
    cursor = Cursor(data)
    cursor.take(4)
    cursor.varint()
    cursor.cstring("producer")
    while not cursor.at_end():
        section_id, length = cursor.byte() & 0x7F, cursor.varint()
        if data[cursor.offset - 1 - len(encode_varint(length))] & 0x80:
            cursor.align(cursor.varint(), "section")
        body = cursor.sub(length, "section")
        if section_id == Section.RESOURCE_OFFSET:
            assert body.varint() == 0  # no external groups
            body.varint()  # builtin dialect
            body.varint()  # entry count
            body.varint()  # key
            start = body.offset
            body.varint()
            return start, body.offset - start
    raise AssertionError("no resource offset section")


def test_resource_pointing_outside_the_file(saved: Path) -> None:
    """A resource size past the end of the resource section is refused before mapping."""
    main = saved / "main.mlirb"
    data = bytearray(main.read_bytes())
    position, length = resource_size_position(bytes(data))
    largest = (1 << (7 * length)) - 1  # the same number of varint bytes
    data[position : position + length] = encode_varint(largest)
    main.write_bytes(bytes(data))
    rehash(saved)
    with pytest.raises(AssetError, match="points outside the file") as info:
        AIModelAsset.load(saved)
    assert info.value.where == str(main)


def test_absurd_section_size(saved: Path) -> None:
    """A section claiming 2**62 bytes is refused without trying to read it."""
    main = saved / "main.mlirb"
    data = main.read_bytes()
    header_end = data.index(b"\0", 5) + 1
    assert data[header_end + 1] & 1  # the first section's length is a one-byte varint
    patched = data[: header_end + 1] + encode_varint(1 << 62) + data[header_end + 2 :]
    main.write_bytes(patched)
    rehash(saved)
    with pytest.raises(AssetError, match="claims 4611686018427387904 bytes"):
        AIModelAsset.load(saved)


def test_invalid_ir_in_bytecode_names_the_file(tmp_path: Path) -> None:
    """Verifier errors in a bundle are reported against main.mlirb, with the op's location."""
    text = """coreai.graph @main(%x: tensor<2xf16>) -> tensor<2xf32> {
  coreai.output %x : tensor<2xf16>
}
"""
    path = save_asset(AIProgram.parse(text, "bad.mlir", verify=False), tmp_path / "b.aimodel")
    with pytest.raises(
        AssetError, match=r"invalid IR: .*output types .* \(at bad.mlir:2:3\)"
    ) as info:
        AIModelAsset.load(path)
    assert info.value.where == str(path / "main.mlirb")
    assert AIModelAsset.load(path, verify=False).program is not None


# --------------------------------------------------------------------------- the CLI


def run_cli(*argv: str) -> int:
    """`coreai-opt` in process."""
    return main([str(arg) for arg in argv])


def test_cli_text_to_bundle_to_bundle(tmp_path: Path, small_program: AIProgram, capsys) -> None:
    """`-o x.aimodel` writes a bundle; a bundle input selects bytecode; text to stdout."""
    text = tmp_path / "model.mlir"
    first, second = tmp_path / "a.aimodel", tmp_path / "b.aimodel"
    assert run_cli(text, "-o", first) == 0
    assert run_cli(first, "-p", "quantize<dtype=int8>", "-o", second) == 0
    assert run_cli(second) == 0
    out = capsys.readouterr().out
    assert "coreai.blockwise_shift_scale" in out and out.startswith("module {")
    assert run_cli(second, "-o", first) == 0  # the CLI replaces an existing bundle
    assert bundle_files(first)["main.mlirb"] == bundle_files(second)["main.mlirb"]


def test_cli_emit_bytecode(tmp_path: Path, small_program: AIProgram, capsysbinary) -> None:
    """--emit-bytecode writes a bare .mlirb to -o or stdout; bytecode on stdin reads back."""
    text = tmp_path / "model.mlir"
    mlirb = tmp_path / "model.mlirb"
    assert run_cli(text, "--emit-bytecode", "-o", mlirb) == 0
    assert run_cli(text, "--emit-bytecode") == 0
    assert capsysbinary.readouterr().out == mlirb.read_bytes()
    assert run_cli(mlirb, "-o", tmp_path / "back.mlir") == 0
    assert AIProgram.load(tmp_path / "back.mlir").weight_bytes() == small_program.weight_bytes()


def test_cli_errors_are_one_line(tmp_path: Path, saved: Path, capsys) -> None:
    """A corrupt bundle is one error line and exit code 1; nothing is written."""
    (saved / "main.hash").write_bytes(b"\x00" * 32)
    out = tmp_path / "out.aimodel"
    assert run_cli(saved, "-o", out) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "does not match main.hash" in error
    assert not out.exists()
    assert run_cli(saved, "--split-input-file") == 1
    assert "--split-input-file" in capsys.readouterr().err


def test_saved_file_is_readable_by_others(saved: Path) -> None:
    """Bundle directories and files get normal permissions (not a temp dir's 0700)."""
    umask = os.umask(0)
    os.umask(umask)
    assert saved.stat().st_mode & 0o777 == 0o777 & ~umask
    assert (saved / "main.mlirb").stat().st_mode & 0o777 == 0o666 & ~umask
