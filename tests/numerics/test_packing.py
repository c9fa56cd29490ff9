"""Sub-byte packing (Core AI IR §5): hand-computed bytes and round-trip properties."""

import ml_dtypes
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from coreai_opt.numerics import packing
from coreai_opt.numerics.packing import SUPPORTED_BITS, pack_bits, packed_nbytes, unpack_bits


def reference_pack(values: np.ndarray, n_bits: int) -> np.ndarray:
    """Bit-by-bit LSB-first stream, straight from the spec."""
    codes = values.reshape(-1).astype(np.int64) & ((1 << n_bits) - 1)
    bits = (codes[:, None] >> np.arange(n_bits)) & 1
    return np.packbits(bits.reshape(-1).astype(np.uint8), bitorder="little")


def code_range(n_bits: int, signed: bool) -> tuple[int, int]:
    if signed:
        return -(2 ** (n_bits - 1)), 2 ** (n_bits - 1) - 1
    return 0, 2**n_bits - 1


@pytest.mark.parametrize(
    ("n_bits", "values", "expected"),
    [
        (4, [1, 2, 3], [0x21, 0x03]),
        (4, [-1], [0x0F]),
        (4, [-8, 7], [0x78]),
        (2, [1, 2, 3, 0, 3], [0x39, 0x03]),
        (2, [-1, -2, 1], [0x1B]),
        (1, [1, 0, 1, 1, 0, 0, 0, 0, 1], [0x0D, 0x01]),
        (3, [1, 2, 3, 4, 5, 6, 7, 0], [0xD1, 0x58, 0x1F]),
        (3, [7, 7, 7], [0xFF, 0x01]),
        (3, [-4, -1], [0x3C]),
        (6, [1, 63, 5], [0xC1, 0x5F, 0x00]),
        (6, [-32], [0x20]),
        (8, [1, 255, 7], [0x01, 0xFF, 0x07]),
        (8, [-1, -128], [0xFF, 0x80]),
    ],
)
def test_hand_computed_bytes(n_bits: int, values: list[int], expected: list[int]) -> None:
    packed = pack_bits(np.array(values), n_bits)
    assert packed.dtype == np.uint8
    assert packed.tolist() == expected


def test_packing_is_row_major_and_masks_to_width() -> None:
    values = np.array([[1, 2], [3, 0x1F]], dtype=np.int32)
    assert pack_bits(values, 4).tolist() == [0x21, 0xF3]
    assert pack_bits(values.T, 4).tolist() == [0x31, 0xF2]


@pytest.mark.parametrize(
    ("count", "n_bits", "expected"),
    [(0, 4, 0), (1, 4, 1), (3, 4, 2), (9, 1, 2), (8, 3, 3), (9, 3, 4), (5, 6, 4), (7, 8, 7)],
)
def test_packed_nbytes(count: int, n_bits: int, expected: int) -> None:
    assert packed_nbytes(count, n_bits) == expected


def test_unpack_hand_computed_signed_and_unsigned() -> None:
    assert unpack_bits(bytes([0x21, 0x03]), 4, 3, signed=False).tolist() == [1, 2, 3]
    assert unpack_bits(bytes([0xF8]), 4, 2, signed=True).tolist() == [-8, -1]
    assert unpack_bits(memoryview(bytes([0x3C])), 3, 2, signed=True).tolist() == [-4, -1]
    assert unpack_bits(np.array([0xC1, 0x5F, 0x00], np.uint8), 6, 3, False).tolist() == [1, 63, 5]
    assert unpack_bits(bytes([0xFF, 0x80]), 8, 2, signed=True).tolist() == [-1, -128]


def test_unpack_ignores_extra_bytes_and_returns_requested_dtype() -> None:
    unsigned = unpack_bits(bytes([0x21, 0x03, 0xAA]), 4, 3, signed=False)
    signed = unpack_bits(bytes([0x21, 0x03, 0xAA]), 4, 3, signed=True)
    assert unsigned.dtype == np.uint8
    assert signed.dtype == np.int8
    assert unsigned.tolist() == [1, 2, 3]


def test_unpack_rejects_short_buffer() -> None:
    with pytest.raises(ValueError, match="needed"):
        unpack_bits(bytes([0x21]), 4, 3, signed=False)
    with pytest.raises(ValueError, match="needed"):
        unpack_bits(bytes(2), 3, 8, signed=False)


@pytest.mark.parametrize("n_bits", [0, 5, 7, 16])
def test_unsupported_widths_raise(n_bits: int) -> None:
    with pytest.raises(ValueError, match="n_bits"):
        pack_bits(np.zeros(4, np.uint8), n_bits)
    with pytest.raises(ValueError, match="n_bits"):
        unpack_bits(bytes(4), n_bits, 4, signed=False)


def test_float_input_is_rejected() -> None:
    with pytest.raises(ValueError, match="integer"):
        pack_bits(np.array([1.0, 2.0]), 4)


def test_pack_leaves_input_untouched() -> None:
    values = np.array([-1, 5, 300, 7, 2], dtype=np.int32)
    before = values.copy()
    pack_bits(values, 3)
    np.testing.assert_array_equal(values, before)


@settings(max_examples=300, deadline=None)
@given(
    n_bits=st.sampled_from(SUPPORTED_BITS),
    signed=st.booleans(),
    count=st.integers(0, 70),
    seed=st.integers(0, 2**32 - 1),
    container=st.sampled_from([np.int8, np.uint8, np.int32, np.int64]),
)
def test_round_trip_matches_reference(
    n_bits: int, signed: bool, count: int, seed: int, container: type
) -> None:
    low, high = code_range(n_bits, signed)
    assume(np.iinfo(container).min <= low and high <= np.iinfo(container).max)
    values = np.random.default_rng(seed).integers(low, high, count, endpoint=True)
    values = values.astype(container)
    packed = pack_bits(values, n_bits)
    assert packed.shape == (packed_nbytes(count, n_bits),)
    np.testing.assert_array_equal(packed, reference_pack(values, n_bits))
    restored = unpack_bits(packed, n_bits, count, signed)
    assert restored.dtype == (np.int8 if signed else np.uint8)
    np.testing.assert_array_equal(restored.astype(np.int64), values.astype(np.int64))


@settings(max_examples=60, deadline=None)
@given(
    n_bits=st.sampled_from(SUPPORTED_BITS),
    rows=st.integers(1, 7),
    cols=st.integers(1, 13),
    seed=st.integers(0, 2**32 - 1),
)
def test_round_trip_of_matrices_is_row_major(n_bits: int, rows: int, cols: int, seed: int) -> None:
    values = np.random.default_rng(seed).integers(0, 2**n_bits, (rows, cols)).astype(np.uint8)
    packed = pack_bits(values, n_bits)
    np.testing.assert_array_equal(packed, reference_pack(values, n_bits))
    restored = unpack_bits(packed.tobytes(), n_bits, values.size, signed=False)
    np.testing.assert_array_equal(restored.reshape(rows, cols), values)


@pytest.mark.parametrize("n_bits", SUPPORTED_BITS)
def test_large_odd_length_round_trip(n_bits: int) -> None:
    count = 100_003
    values = np.random.default_rng(n_bits).integers(0, 2**n_bits, count).astype(np.uint8)
    packed = pack_bits(values, n_bits)
    np.testing.assert_array_equal(packed, reference_pack(values, n_bits))
    np.testing.assert_array_equal(unpack_bits(packed, n_bits, count, signed=False), values)


def test_eight_bit_packing_of_byte_arrays_is_a_view() -> None:
    values = np.array([[-1, 2], [3, -128]], dtype=np.int8)
    packed = pack_bits(values, 8)
    assert np.shares_memory(packed, values)
    assert packed.tolist() == [0xFF, 0x02, 0x03, 0x80]


@pytest.mark.parametrize("n_bits", SUPPORTED_BITS)
@pytest.mark.parametrize("signed", [True, False])
def test_round_trip_across_chunks(
    n_bits: int, signed: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(packing, "_CHUNK_ELEMENTS", 16)
    low, high = code_range(n_bits, signed)
    for count in (1003, 1008, 17):
        values = np.random.default_rng(count).integers(low, high, count, endpoint=True)
        packed = pack_bits(values, n_bits)
        np.testing.assert_array_equal(packed, reference_pack(values, n_bits))
        np.testing.assert_array_equal(unpack_bits(packed, n_bits, count, signed), values)


def test_fp4_codes_pack_two_per_byte() -> None:
    values = np.array([6.0, -6.0, 0.5], dtype=np.float32).astype(ml_dtypes.float4_e2m1fn)
    packed = pack_bits(values, 4)
    assert packed.tolist() == [0xF7, 0x01]  # E2M1 codes 0x7, 0xF, 0x1
    restored = unpack_bits(packed, 4, 3, signed=False).view(ml_dtypes.float4_e2m1fn)
    assert restored.astype(np.float32).tolist() == [6.0, -6.0, 0.5]
