"""Fuzzing the bytecode reader with mutated valid files.

Whatever the damage (flipped bytes, truncation, insertions, deletions, absurd varints), the
reader either returns a module or raises one clear `AssetError` naming the file; verifying
the module raises at most an `IRError`. It never crashes, hangs (hypothesis deadline) or
allocates much (tracemalloc peak: splats stay one element, every size is checked).
"""

from __future__ import annotations

import tempfile
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from xdsl.dialects.builtin import BytesAttr, DenseIntOrFPElementsAttr, Float32Type, TensorType

from coreai_opt.bytecode import bytecode_bytes, read_bytecode, read_bytecode_bytes
from coreai_opt.errors import AssetError, IRError
from coreai_opt.ir.text import module_to_string, parse_text, verify_module

from .test_bytecode import MLIR_WRITTEN, PROGRAM

PEAK_LIMIT = 64 << 20
FUZZ = settings(
    max_examples=150,
    deadline=2000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def ours() -> bytes:
    """A file we write: properties, literals, an unknown op and an aligned blob."""
    module, metadata = parse_text(PROGRAM)
    return bytecode_bytes(module, metadata)


SEEDS = {"ours": ours(), "mlir-opt-22": MLIR_WRITTEN}


@st.composite
def mutated(draw) -> bytes:
    """A seed file damaged in one to three ways."""
    data = bytearray(SEEDS[draw(st.sampled_from(sorted(SEEDS)))])
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "huge", "byte"]))
        if not data:
            break
        position = draw(st.integers(min_value=0, max_value=len(data) - 1))
        if kind == "flip":
            data[position] ^= 1 << draw(st.integers(min_value=0, max_value=7))
        elif kind == "byte":
            data[position] = draw(st.integers(min_value=0, max_value=255))
        elif kind == "truncate":
            del data[position:]
        elif kind == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del data[position : position + draw(st.integers(min_value=1, max_value=8))]
        else:  # a 9-byte varint holding a huge value, or a 4-byte one near 2**27
            data[position : position + 1] = draw(
                st.sampled_from(
                    [b"\x00" + b"\xff" * 8, b"\x00" + b"\x7f" + b"\xff" * 7, b"\xf8\xff\xff\xff"]
                )
            )
    return bytes(data)


def read_and_verify(read) -> None:
    """Read, verify and print; only our one-line errors may escape."""
    try:
        module, metadata = read()
    except AssetError as error:
        assert error.message.startswith("invalid MLIR bytecode: "), error.message
        assert "\n" not in str(error)
        return
    try:
        verify_module(module)
    except IRError as error:
        assert "\n" not in str(error)
        return
    module_to_string(module, metadata)


@FUZZ
@given(mutated())
def test_mutated_bytes_fail_cleanly(data: bytes) -> None:
    """In-memory reads of damaged files, with a bound on the memory they may take."""
    tracemalloc.start()
    try:
        read_and_verify(lambda: read_bytecode_bytes(data, "fuzz.mlirb"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < PEAK_LIMIT


@settings(max_examples=60, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_files_fail_cleanly(data: bytes) -> None:
    """The file path (pread + memory maps) behaves the same and names the file."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "fuzz.mlirb"
        path.write_bytes(data)
        try:
            read_bytecode(path)
        except AssetError as error:
            assert error.where == str(path)
            assert error.message.startswith("invalid MLIR bytecode: ")


@pytest.mark.parametrize("cut", [0, 3, 4, 5, 16, 17, 40, -200, -1])
def test_every_truncation_point_is_an_error(cut: int) -> None:
    """Cutting the file anywhere in its structure is reported, never read as valid."""
    data = SEEDS["ours"]
    with pytest.raises(AssetError, match="invalid MLIR bytecode"):
        read_bytecode_bytes(data[:cut], "cut.mlirb")


def test_absurd_splats_stay_one_element() -> None:
    """A tiny file may declare a splat of 2**40 elements: read, printed and written back
    holding one element, never expanded."""
    module, metadata = parse_text('"test.op"() {v = dense<1.0> : tensor<2xf32>} : () -> ()\n')
    op = next(iter(module.ops))
    huge_type = TensorType(Float32Type(), [1 << 20, 1 << 20])
    op.attributes["v"] = DenseIntOrFPElementsAttr(huge_type, BytesAttr(b"\x00\x00\x80\x3f"))
    data = bytecode_bytes(module, metadata)
    assert len(data) < 400
    tracemalloc.start()
    try:
        module, metadata = read_bytecode_bytes(data, "splat.mlirb")
        assert next(iter(module.ops)).attributes["v"].data.data == b"\x00\x00\x80\x3f"
        text = module_to_string(module, metadata)
        assert bytecode_bytes(module, metadata) == data
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "dense<1.000000e+00> : tensor<1048576x1048576xf32>" in text
    assert peak < PEAK_LIMIT
