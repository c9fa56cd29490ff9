"""Sub-byte packing of integer codes (Core AI IR §5).

Elements are packed flat in row-major order into an LSB-first bit stream: element ``i``
occupies bits ``[i * n, (i + 1) * n)`` of the stream, bit ``j`` of the stream is bit
``j % 8`` of byte ``j // 8``, and the last byte is zero padded. Signed values are stored as
their two's complement masked to ``n`` bits.

Implementation: ``g = 8 / gcd(8, n)`` consecutive elements fill exactly ``g * n / 8`` bytes.
Each group of ``g`` one-byte codes is viewed as one little-endian ``g``-byte word and
compacted with ``log2(g)`` shift/mask steps (lanes of ``L`` bits holding ``k`` useful bits are
merged pairwise into lanes of ``2L`` bits holding ``2k`` bits), which keeps everything
vectorised (1 bit uses ``np.packbits``). Unpacking runs the same steps backwards, or, when a
group is a single byte (1, 2, 4 bits), looks every byte up in a 256-entry table.
"""

import functools
import math

import numpy as np

SUPPORTED_BITS: tuple[int, ...] = (1, 2, 3, 4, 6, 8)

_BytesLike = np.ndarray | bytes | bytearray | memoryview


@functools.cache
def _byte_floats() -> frozenset[np.dtype]:
    """One-byte float types whose raw codes may be packed.

    E2M1 keeps its 4-bit code in the low nibble, so ``pack_bits(fp4_data, 4)`` stores two
    codes per byte. ml_dtypes is imported on first use: loading it costs ~0.9 s.
    """
    import ml_dtypes

    return frozenset(
        np.dtype(t)
        for t in (
            ml_dtypes.float4_e2m1fn,
            ml_dtypes.float8_e4m3fn,
            ml_dtypes.float8_e5m2,
            ml_dtypes.float8_e8m0fnu,
        )
    )


# Elements per chunk (a multiple of every group size): keeps temporaries small and in cache.
_CHUNK_ELEMENTS = 1 << 18


def _check_bits(n_bits: int) -> None:
    if n_bits not in SUPPORTED_BITS:
        raise ValueError(f"n_bits must be one of {list(SUPPORTED_BITS)}, got {n_bits}")


def _group_layout(n_bits: int) -> tuple[int, int]:
    """Return (elements per group, bytes per group) of the packed stream."""
    elements = 8 // math.gcd(8, n_bits)
    return elements, elements * n_bits // 8


def _lane_pattern(lane_bits: int, useful_bits: int, word_bytes: int) -> int:
    """Mask selecting the low ``useful_bits`` of every ``lane_bits``-wide lane of a word."""
    lane_mask = (1 << useful_bits) - 1
    return sum(lane_mask << shift for shift in range(0, 8 * word_bytes, lane_bits))


def packed_nbytes(count: int, n_bits: int) -> int:
    """Number of bytes holding ``count`` packed ``n_bits``-bit elements."""
    _check_bits(n_bits)
    if count < 0:
        raise ValueError(f"count must be non-negative, got {count}")
    return (count * n_bits + 7) // 8


def _compact(codes: np.ndarray, n_bits: int) -> np.ndarray:
    """Pack whole groups of one-byte codes (length a multiple of the group size)."""
    if n_bits == 1:
        return np.packbits(codes & np.uint8(1), bitorder="little")
    elements, group_bytes = _group_layout(n_bits)
    word_type = np.dtype(f"<u{elements}")
    word = codes.view(word_type) & word_type.type(_lane_pattern(8, n_bits, elements))
    lane_bits, useful_bits = 8, n_bits
    while lane_bits < 8 * elements:
        shift = lane_bits - useful_bits
        keep = _lane_pattern(2 * lane_bits, useful_bits, elements)
        if shift >= useful_bits:
            # The low lane shifted by `shift` vanishes: one OR, then one mask.
            word |= word >> word_type.type(shift)
            word &= word_type.type(keep | keep << useful_bits)
        else:
            moved = (word >> word_type.type(shift)) & word_type.type(keep << useful_bits)
            word &= word_type.type(keep)
            word |= moved
        lane_bits, useful_bits = 2 * lane_bits, 2 * useful_bits
    if group_bytes == 1:
        return word.astype(np.uint8)
    return word.view(np.uint8).reshape(-1, elements)[:, :group_bytes].reshape(-1)


def _expand(packed: np.ndarray, n_bits: int) -> np.ndarray:
    """Unpack whole groups of packed bytes into one unsigned byte per element."""
    elements, group_bytes = _group_layout(n_bits)
    word_type = np.dtype(f"<u{elements}")
    if group_bytes == 1:
        word = packed.astype(word_type)
    else:
        padded = np.zeros((packed.size // group_bytes, elements), dtype=np.uint8)
        padded[:, :group_bytes] = packed.reshape(-1, group_bytes)
        word = padded.reshape(-1).view(word_type)
    lane_bits, useful_bits = 8 * elements, n_bits * elements
    while lane_bits > 8:
        lane_bits, useful_bits = lane_bits // 2, useful_bits // 2
        low = _lane_pattern(2 * lane_bits, useful_bits, elements)
        high = low << lane_bits
        moved = (word << word_type.type(lane_bits - useful_bits)) & word_type.type(high)
        word &= word_type.type(low)
        word |= moved
    return word.view(np.uint8)


def _as_code_bytes(values: np.ndarray) -> np.ndarray:
    """Flatten an integer array to one byte per element (two's complement wrap)."""
    array = np.asarray(values)
    is_integer = np.issubdtype(array.dtype, np.integer) or array.dtype == np.bool_
    if not (is_integer or array.dtype in _byte_floats()):
        raise ValueError(
            f"pack_bits expects an integer (or 1-byte float code) array, got dtype {array.dtype}"
        )
    flat = np.ascontiguousarray(array).reshape(-1)
    if flat.dtype.itemsize == 1:
        return flat.view(np.uint8)
    return flat.astype(np.uint8)


def pack_bits(values: np.ndarray, n_bits: int) -> np.ndarray:
    """Pack integer codes (row-major, LSB first, zero padded) into a 1-D uint8 array.

    1-byte float arrays (fp8, fp4 E2M1) are packed by their raw codes; unpack them with
    ``unpack_bits(..., signed=False).view(dtype)``.

    For ``n_bits == 8`` the result is a uint8 view of ``values`` when it already is a
    contiguous one-byte array (no copy).
    """
    _check_bits(n_bits)
    codes = _as_code_bytes(values)
    if n_bits == 8:
        return codes
    elements, _ = _group_layout(n_bits)
    out = np.empty(packed_nbytes(codes.size, n_bits), dtype=np.uint8)
    whole = codes.size - codes.size % elements
    for start in range(0, whole, _CHUNK_ELEMENTS):
        stop = min(start + _CHUNK_ELEMENTS, whole)
        out[start * n_bits // 8 : stop * n_bits // 8] = _compact(codes[start:stop], n_bits)
    if whole < codes.size:
        tail = np.zeros(elements, dtype=np.uint8)
        tail[: codes.size - whole] = codes[whole:]
        head = whole * n_bits // 8
        out[head:] = _compact(tail, n_bits)[: out.size - head]
    return out


def _as_byte_array(packed: _BytesLike) -> np.ndarray:
    if isinstance(packed, np.ndarray):
        return np.ascontiguousarray(packed).reshape(-1).view(np.uint8)
    return np.frombuffer(packed, dtype=np.uint8)


def _sign_extend(codes: np.ndarray, n_bits: int) -> np.ndarray:
    """Reinterpret ``n_bits``-bit two's complement codes held in uint8 as int8, in place."""
    if n_bits == 8:
        return codes.view(np.int8)
    sign = 1 << (n_bits - 1)
    np.bitwise_xor(codes, np.uint8(sign), out=codes)
    signed = codes.view(np.int8)
    np.subtract(signed, np.int8(sign), out=signed)
    return signed


@functools.cache
def _byte_table(n_bits: int, signed: bool) -> np.ndarray:
    """Codes of every possible byte, one word per byte (widths with 1-byte groups)."""
    elements, _ = _group_layout(n_bits)
    codes = _expand(np.arange(256, dtype=np.uint8), n_bits)
    if signed:
        codes = _sign_extend(codes, n_bits).view(np.uint8)
    table = codes.view(f"<u{elements}")
    table.flags.writeable = False  # shared by every call through the cache
    return table


def _decode_groups(packed: np.ndarray, n_bits: int, signed: bool) -> np.ndarray:
    """Codes (as raw bytes) of whole packed groups."""
    _, group_bytes = _group_layout(n_bits)
    if group_bytes == 1:
        # A 256-entry lookup table turns each byte into its codes in one gather.
        return np.take(_byte_table(n_bits, signed), packed).view(np.uint8)
    codes = _expand(packed, n_bits)
    return _sign_extend(codes, n_bits).view(np.uint8) if signed else codes


def unpack_bits(packed: _BytesLike, n_bits: int, count: int, signed: bool) -> np.ndarray:
    """Inverse of :func:`pack_bits`: ``count`` codes as int8 (sign extended) or uint8."""
    needed = packed_nbytes(count, n_bits)
    data = _as_byte_array(packed)
    if data.size < needed:
        raise ValueError(
            f"packed buffer holds {data.size} bytes, {needed} are needed for "
            f"{count} {n_bits}-bit elements"
        )
    if n_bits == 8:
        codes = data[:count].copy()
        return codes.view(np.int8) if signed else codes
    elements, group_bytes = _group_layout(n_bits)
    groups = -(-count // elements)
    full_groups = needed // group_bytes
    codes = np.empty(groups * elements, dtype=np.uint8)
    step = _CHUNK_ELEMENTS // elements
    for start in range(0, full_groups, step):
        stop = min(start + step, full_groups)
        chunk = data[start * group_bytes : stop * group_bytes]
        codes[start * elements : stop * elements] = _decode_groups(chunk, n_bits, signed)
    if full_groups < groups:  # the stream ends inside a multi-byte group
        last = np.zeros(group_bytes, dtype=np.uint8)
        last[: needed - full_groups * group_bytes] = data[full_groups * group_bytes : needed]
        codes[full_groups * elements :] = _decode_groups(last, n_bits, signed)
    return codes[:count].view(np.int8) if signed else codes[:count]
