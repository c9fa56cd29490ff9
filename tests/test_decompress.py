"""`decompress`: folded values against independent numpy computations of coreai-ir.md §2.

Every program is written as text with its constants in a resource section whose bytes come
from an independent packer (the LSB-first bit stream of §5), so the parser, the unpacking,
the folding patterns and the numerics are all checked together.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
from coreai_opt.dialects.coreai import ConstantOp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coreai_opt.errors import PipelineError
from coreai_opt.ir.elements import elements_array
from coreai_opt.pipeline import Pipeline
from coreai_opt.program import AIProgram

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

FLOAT_TYPES = {
    "f16": np.dtype(np.float16),
    "f32": np.dtype(np.float32),
    "bf16": np.dtype(ml_dtypes.bfloat16),
    "f8E4M3FN": np.dtype(ml_dtypes.float8_e4m3fn),
    "f8E5M2": np.dtype(ml_dtypes.float8_e5m2),
    "f8E8M0FNU": np.dtype(ml_dtypes.float8_e8m0fnu),
    "f4E2M1FN": np.dtype(ml_dtypes.float4_e2m1fn),
}
SUB_BYTE_FLOATS = {"f4E2M1FN": 4}


# --------------------------------------------------------------------------- IR building


def int_width(element: str) -> int:
    """Bits of `si<N>`/`ui<N>`."""
    return int(element[2:])


def reference_pack(codes: np.ndarray, n_bits: int) -> bytes:
    """LSB-first bit stream of the low `n_bits` of each code, last byte zero-padded."""
    flat = codes.reshape(-1).astype(np.int64) & ((1 << n_bits) - 1)
    bits = (flat[:, None] >> np.arange(n_bits)) & 1
    return np.packbits(bits.reshape(-1).astype(np.uint8), bitorder="little").tobytes()


def blob_bytes(array: np.ndarray, element: str) -> bytes:
    """The bytes a resource of `element` type holds for `array`."""
    if element in SUB_BYTE_FLOATS:
        return reference_pack(array.view(np.uint8), SUB_BYTE_FLOATS[element])
    if element in FLOAT_TYPES:
        return np.ascontiguousarray(array, dtype=FLOAT_TYPES[element]).tobytes()
    width = int_width(element)
    if width < 8:
        return reference_pack(array, width)
    signed = element.startswith("si")
    dtype = np.dtype(f"{'i' if signed else 'u'}{width // 8}")
    return np.ascontiguousarray(array, dtype=dtype).tobytes()


def tensor_type(shape: tuple[int, ...], element: str) -> str:
    """`tensor<2x3xf16>`."""
    return "tensor<" + "".join(f"{d}x" for d in shape) + element + ">"


class ProgramText:
    """Builds a one-graph program whose constants all live in a resource section."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.blobs: dict[str, bytes] = {}

    def constant(self, name: str, array: np.ndarray, element: str) -> str:
        """Add `%name = coreai.constant dense_resource<name>`; returns its type."""
        type_text = tensor_type(array.shape, element)
        self.blobs[name] = blob_bytes(array, element)
        self.lines.append(f"%{name} = coreai.constant dense_resource<{name}> : {type_text}")
        return type_text

    def op(self, line: str) -> None:
        """Add one op line."""
        self.lines.append(line)

    def text(self, result: str, result_type: str) -> str:
        """The whole program returning `%result`."""
        body = "\n".join(f"    {line}" for line in self.lines)
        entries = ",\n".join(
            f'      {key}: "0x01000000{data.hex().upper()}"' for key, data in self.blobs.items()
        )
        return (
            f"module {{\n  coreai.graph @main() -> {result_type} {{\n{body}\n"
            f"    coreai.output %{result} : {result_type}\n  }}\n}}\n"
            f"{{-#\n  dialect_resources: {{\n    builtin: {{\n{entries}\n    }}\n  }}\n#-}}\n"
        )


def decompress(text: str) -> tuple[np.ndarray, AIProgram]:
    """Parse, run `decompress` and return the single remaining constant's value."""
    program = AIProgram.parse(text)
    Pipeline("decompress").run(program)
    constants = list(program.constants())
    assert len(constants) == 1, str(program)
    return elements_array(constants[0].value), program


def same_bits(actual: np.ndarray, expected: np.ndarray) -> bool:
    """Bitwise equality (so -0.0 and NaN payloads count), with shape and dtype."""
    return (
        actual.shape == expected.shape
        and actual.dtype == expected.dtype
        and np.array_equal(actual.view(np.uint8), np.ascontiguousarray(expected).view(np.uint8))
    )


# --------------------------------------------------------------------------- references


def expand_blocks(params: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Repeat each parameter over its block of `shape[d] // params.shape[d]` elements."""
    out = params
    for axis, dim in enumerate(shape):
        out = np.repeat(out, dim // params.shape[axis], axis=axis)
    return out


def reference_dequantize(data, scale, offset1, offset2, out_dtype) -> np.ndarray:
    """`(data - offset1) * scale + offset2`, in float32 (float64 for f32 results), rounded once."""
    compute = np.float64 if np.dtype(out_dtype).itemsize >= 4 else np.float32
    shape = data.shape
    values = data.astype(compute) - expand_blocks(offset1.astype(compute), shape)
    values = values * expand_blocks(scale.astype(compute), shape)
    values = values + expand_blocks(offset2.astype(compute), shape)
    return values.astype(out_dtype)


def reference_lut_to_dense(indices: np.ndarray, lut: np.ndarray, axis: int) -> np.ndarray:
    """Gather each element's vector from its block's table, vectors laid along `axis`."""
    rank = indices.ndim
    groups = lut.shape[:rank]
    blocks = [np.arange(dim) // (dim // g) for dim, g in zip(indices.shape, groups, strict=True)]
    vectors = lut[(*np.ix_(*blocks), indices.astype(np.intp))]  # indices.shape + (V,)
    axis %= rank
    moved = np.moveaxis(vectors, -1, axis + 1)
    shape = list(indices.shape)
    shape[axis] *= lut.shape[-1]
    return moved.reshape(shape)


def reference_sparse(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Values scattered in row-major order of the set bits; zeros elsewhere."""
    dense = np.zeros(mask.shape, dtype=values.dtype)
    positions = np.flatnonzero(mask.reshape(-1))
    dense.reshape(-1)[positions] = values
    return dense


# --------------------------------------------------------------------------- strategies


@st.composite
def blocked_shapes(draw, max_rank: int = 3) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """A data shape and a parameter shape whose dims divide it (block-wise broadcast)."""
    rank = draw(st.integers(1, max_rank))
    shape, params = [], []
    for _ in range(rank):
        blocks = draw(st.integers(1, 3))
        size = draw(st.integers(1, 3))
        shape.append(blocks * size)
        params.append(blocks)
    return tuple(shape), tuple(params)


def integer_codes(rng: np.random.Generator, shape, element: str) -> np.ndarray:
    """Random codes over the full range of `si<N>`/`ui<N>`."""
    width = int_width(element)
    if element.startswith("si"):
        low, high = -(1 << (width - 1)), (1 << (width - 1)) - 1
        return rng.integers(low, high, size=shape, endpoint=True).astype(np.int8)
    return rng.integers(0, (1 << width) - 1, size=shape, endpoint=True).astype(np.uint8)


def random_floats(rng: np.random.Generator, shape, dtype: np.dtype, scale: float = 4.0):
    """Finite random values representable in `dtype`."""
    return (rng.standard_normal(shape) * scale).astype(np.float32).astype(dtype)


# --------------------------------------------------------------------------- blockwise_shift_scale


def test_blockwise_hand_computed() -> None:
    """Per-channel int8 with zero points: the values of the lit test, by hand."""
    program = ProgramText()
    data_t = program.constant("d", np.array([[-128, 0, 127], [10, 20, 30]]), "si8")
    scale_t = program.constant("s", np.array([[0.5], [0.25]], np.float16), "f16")
    zp_t = program.constant("z", np.array([[0], [10]]), "si8")
    bias_t = program.constant("b", np.zeros((2, 1), np.float16), "f16")
    out_t = "tensor<2x3xf16>"
    program.op(
        f"%w = coreai.blockwise_shift_scale %d, %s, %z, %b : "
        f"({data_t}, {scale_t}, {zp_t}, {bias_t}) -> {out_t}"
    )
    value, _ = decompress(program.text("w", out_t))
    assert same_bits(value, np.array([[-64.0, 0.0, 63.5], [0.0, 2.5, 5.0]], np.float16))


@SETTINGS
@given(
    shapes=blocked_shapes(),
    data_element=st.sampled_from(["si8", "ui8", "si4", "ui4", "si2", "ui2"]),
    out_element=st.sampled_from(["f16", "f32", "bf16"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_blockwise_matches_reference(shapes, data_element, out_element, seed) -> None:
    """Integer data of every width, per-block parameters, any float output type."""
    shape, param_shape = shapes
    rng = np.random.default_rng(seed)
    out_dtype = FLOAT_TYPES[out_element]
    data = integer_codes(rng, shape, data_element)
    scale = random_floats(rng, param_shape, out_dtype, 0.1)
    offset1 = integer_codes(rng, param_shape, data_element)
    offset2 = random_floats(rng, param_shape, out_dtype)

    program = ProgramText()
    types = [
        program.constant("d", data, data_element),
        program.constant("s", scale, out_element),
        program.constant("o", offset1, data_element),
        program.constant("b", offset2, out_element),
    ]
    out_t = tensor_type(shape, out_element)
    program.op(
        f"%w = coreai.blockwise_shift_scale %d, %s, %o, %b : ({', '.join(types)}) -> {out_t}"
    )
    value, _ = decompress(program.text("w", out_t))
    assert same_bits(value, reference_dequantize(data, scale, offset1, offset2, out_dtype))


@SETTINGS
@given(shapes=blocked_shapes(), data_element=st.sampled_from(["si8", "ui4"]), seed=st.integers(0))
def test_blockwise_without_offset2_is_f16_arithmetic(shapes, data_element, seed) -> None:
    """With offset2 = 0 the result is the f16 product `(data - offset1) * scale` (one rounding)."""
    shape, param_shape = shapes
    rng = np.random.default_rng(seed)
    data = integer_codes(rng, shape, data_element)
    offset1 = integer_codes(rng, param_shape, data_element)
    scale = random_floats(rng, param_shape, np.dtype(np.float16), 0.01)
    program = ProgramText()
    types = [
        program.constant("d", data, data_element),
        program.constant("s", scale, "f16"),
        program.constant("o", offset1, data_element),
        program.constant("b", np.zeros(param_shape, np.float16), "f16"),
    ]
    out_t = tensor_type(shape, "f16")
    program.op(
        f"%w = coreai.blockwise_shift_scale %d, %s, %o, %b : ({', '.join(types)}) -> {out_t}"
    )
    value, _ = decompress(program.text("w", out_t))
    shifted = (data.astype(np.int32) - expand_blocks(offset1.astype(np.int32), shape)).astype(
        np.float16
    )
    expected = shifted * expand_blocks(scale, shape)
    assert expected.dtype == np.float16
    assert same_bits(value, expected)


@SETTINGS
@given(shapes=blocked_shapes(max_rank=2), seed=st.integers(0))
def test_blockwise_mx_formats(shapes, seed) -> None:
    """fp4/fp8 data with f8E8M0FNU power-of-two scales and a float zero offset1."""
    shape, param_shape = shapes
    rng = np.random.default_rng(seed)
    for data_element in ("f4E2M1FN", "f8E4M3FN", "f8E5M2"):
        data_dtype = FLOAT_TYPES[data_element]
        data = random_floats(rng, shape, data_dtype, 2.0)
        exponents = rng.integers(-6, 6, size=param_shape)
        scale = np.ldexp(1.0, exponents).astype(ml_dtypes.float8_e8m0fnu)
        program = ProgramText()
        types = [
            program.constant("d", data, data_element),
            program.constant("s", scale, "f8E8M0FNU"),
            program.constant("o", np.zeros(param_shape, data_dtype), data_element),
            program.constant("b", np.zeros(param_shape, np.float16), "f16"),
        ]
        out_t = tensor_type(shape, "f16")
        program.op(
            f"%w = coreai.blockwise_shift_scale %d, %s, %o, %b : ({', '.join(types)}) -> {out_t}"
        )
        value, _ = decompress(program.text("w", out_t))
        expected = (
            data.astype(np.float32) * expand_blocks(scale.astype(np.float32), shape)
        ).astype(np.float16)
        assert same_bits(value, expected), data_element


# --------------------------------------------------------------------------- lut_to_dense


@st.composite
def lut_cases(draw):
    """Indices (rank 1-3), a LUT with groups dividing the dims, vector size and axis."""
    rank = draw(st.integers(1, 3))
    n_bits = draw(st.sampled_from([1, 2, 3, 4, 6, 8]))
    shape, groups = [], []
    for _ in range(rank):
        g = draw(st.integers(1, 2))
        shape.append(g * draw(st.integers(1, 3)))
        groups.append(g)
    vector = draw(st.integers(1, 3))
    axis = draw(st.integers(-rank, rank - 1))
    lut_element = draw(st.sampled_from(["f16", "f32", "bf16", "f8E4M3FN", "si8", "ui8"]))
    return tuple(shape), tuple(groups), n_bits, vector, axis, lut_element, draw(st.integers(0))


def lut_values(rng: np.random.Generator, shape, element: str) -> np.ndarray:
    """Random LUT entries of `element`."""
    if element in FLOAT_TYPES:
        return random_floats(rng, shape, FLOAT_TYPES[element])
    return integer_codes(rng, shape, element)


def lut_program(indices, lut, n_bits, axis, lut_element) -> tuple[str, str]:
    """A program folding one lut_to_dense; returns its text and the result type."""
    program = ProgramText()
    i_t = program.constant("i", indices, f"ui{n_bits}")
    l_t = program.constant("l", lut, lut_element)
    a_t = program.constant("a", np.array(axis, np.int16), "si16")
    shape = list(indices.shape)
    shape[axis % indices.ndim] *= lut.shape[-1]
    out_t = tensor_type(tuple(shape), lut_element)
    program.op(f"%w = coreai.lut_to_dense %i, %l, %a : ({i_t}, {l_t}, {a_t}) -> {out_t}")
    return program.text("w", out_t), out_t


def test_lut_to_dense_hand_computed() -> None:
    """Two groups of rows, 1-bit indices: rows 0-1 use [1, 2], rows 2-3 use [10, 20]."""
    indices = np.array([[0, 1], [1, 1], [0, 1], [1, 0]], np.uint8)
    lut = np.array([1.0, 2.0, 10.0, 20.0], np.float32).reshape(2, 1, 2, 1)
    text, _ = lut_program(indices, lut, 1, 0, "f32")
    value, _ = decompress(text)
    expected = np.array([[1, 2], [2, 2], [10, 20], [20, 10]], np.float32)
    assert same_bits(value, expected)


def test_lut_to_dense_vector_hand_computed() -> None:
    """V = 2 along axis 1: entry 0 = (1, 2), entry 1 = (3, 4)."""
    indices = np.array([[0, 1], [1, 0]], np.uint8)
    lut = np.array([1.0, 2.0, 3.0, 4.0], np.float16).reshape(1, 1, 2, 2)
    text, _ = lut_program(indices, lut, 1, -1, "f16")
    value, _ = decompress(text)
    assert same_bits(value, np.array([[1, 2, 3, 4], [3, 4, 1, 2]], np.float16))


@SETTINGS
@given(case=lut_cases())
def test_lut_to_dense_matches_reference(case) -> None:
    """Any rank, index width, grouping, vector size, axis and LUT type."""
    shape, groups, n_bits, vector, axis, lut_element, seed = case
    rng = np.random.default_rng(seed)
    indices = rng.integers(0, (1 << n_bits) - 1, size=shape, endpoint=True).astype(np.uint8)
    lut = lut_values(rng, (*groups, 1 << n_bits, vector), lut_element)
    text, _ = lut_program(indices, lut, n_bits, axis, lut_element)
    value, _ = decompress(text)
    assert same_bits(value, reference_lut_to_dense(indices, lut, axis))


# --------------------------------------------------------------------------- sparse


def sparse_program(values: np.ndarray, mask: np.ndarray, element: str) -> str:
    """A program folding build_sparse_with_bitmask + sparse_with_bitmask_to_dense."""
    program = ProgramText()
    v_t = program.constant("v", values, element)
    m_t = program.constant("m", mask.astype(np.uint8), "ui1")
    dense_t = tensor_type(mask.shape, element)
    program.op(
        f"%s = coreai.build_sparse_with_bitmask %v, %m : ({v_t}, {m_t}) -> "
        f"!coreai.sparse<{dense_t}>"
    )
    program.op(
        f"%d = coreai.sparse_with_bitmask_to_dense %s : (!coreai.sparse<{dense_t}>) -> {dense_t}"
    )
    return program.text("d", dense_t)


def test_sparse_hand_computed() -> None:
    """Values in row-major order of the set bits."""
    mask = np.array([[1, 0, 0, 1], [0, 1, 0, 0]], bool)
    values = np.array([1.0, 2.0, 3.0], np.float16)
    value, _ = decompress(sparse_program(values, mask, "f16"))
    assert same_bits(value, np.array([[1, 0, 0, 2], [0, 3, 0, 0]], np.float16))


@SETTINGS
@given(
    shape=st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple),
    element=st.sampled_from(["f16", "f32", "bf16", "f8E5M2", "si8", "ui8"]),
    density=st.floats(0.0, 1.0),
    seed=st.integers(0),
)
def test_sparse_matches_reference(shape, element, density, seed) -> None:
    """Any shape (masks of any bit count, so padded last bytes), any value type."""
    rng = np.random.default_rng(seed)
    mask = rng.random(shape) < density
    count = int(mask.sum())
    values = lut_values(rng, (count,), element)
    value, _ = decompress(sparse_program(values, mask, element))
    expected = reference_sparse(values, mask)
    assert same_bits(value, expected)
    assert not np.any(value.view(np.uint8).reshape(*shape, -1)[~mask])  # exact zeros


# --------------------------------------------------------------------------- cast


CAST_PAIRS = [
    ("f32", "f16"),
    ("f32", "bf16"),
    ("f16", "f32"),
    ("bf16", "f16"),
    ("f16", "f8E4M3FN"),
    ("f32", "f8E5M2"),
    ("f8E4M3FN", "f32"),
    ("f4E2M1FN", "f16"),
]


@SETTINGS
@given(pair=st.sampled_from(CAST_PAIRS), size=st.integers(1, 40), seed=st.integers(0))
def test_cast_between_floats_rounds_to_nearest_even(pair, size, seed) -> None:
    """Float casts follow IEEE round-to-nearest-even (ml_dtypes' conversion)."""
    source, target = pair
    rng = np.random.default_rng(seed)
    values = random_floats(rng, (size,), FLOAT_TYPES[source], 3.0)
    program = ProgramText()
    s_t = program.constant("x", values, source)
    out_t = tensor_type((size,), target)
    program.op(f"%c = coreai.cast %x : ({s_t}) -> {out_t}")
    value, _ = decompress(program.text("c", out_t))
    expected = values.astype(np.float32).astype(FLOAT_TYPES[target])
    assert same_bits(value, expected)


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
def test_cast_rounding_hand_computed() -> None:
    """0.1 -> f16 0.0999755859375 (0x2E66); 65520 -> f16 inf; 1 + 2^-11 ties to even 1.0."""
    program = ProgramText()
    s_t = program.constant("x", np.array([0.1, 65520.0, 1 + 2**-11, -0.0], np.float32), "f32")
    program.op(f"%c = coreai.cast %x : ({s_t}) -> tensor<4xf16>")
    value, _ = decompress(program.text("c", "tensor<4xf16>"))
    assert value.view(np.uint16).tolist() == [0x2E66, 0x7C00, 0x3C00, 0x8000]


@pytest.mark.parametrize("element", ["si2", "si4", "si8", "ui1", "ui3", "ui4", "ui6", "ui8"])
def test_cast_integers_to_float_is_exact(element: str) -> None:
    """Every code of a sub-byte or byte integer type converts exactly."""
    width = int_width(element)
    low = -(1 << (width - 1)) if element.startswith("si") else 0
    codes = np.arange(low, low + (1 << width))
    program = ProgramText()
    s_t = program.constant("x", codes, element)
    out_t = tensor_type(codes.shape, "f32")
    program.op(f"%c = coreai.cast %x : ({s_t}) -> {out_t}")
    value, _ = decompress(program.text("c", out_t))
    assert same_bits(value, codes.astype(np.float32))


# --------------------------------------------------------------------------- chains and plumbing


@SETTINGS
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=2).map(tuple), seed=st.integers(0))
def test_chain_sparse_of_quantized_then_cast(shape, seed) -> None:
    """cast(sparse(bss(values))) folds to the composition of the references."""
    rng = np.random.default_rng(seed)
    mask = rng.random(shape) < 0.5
    count = max(int(mask.sum()), 0)
    codes = integer_codes(rng, (count,), "si8")
    scale = np.array([0.125], np.float16)
    program = ProgramText()
    c_t = program.constant("q", codes, "si8")
    s_t = program.constant("s", scale, "f16")
    o_t = program.constant("o", np.array([3], np.int8), "si8")
    b_t = program.constant("b", np.array([1.0], np.float16), "f16")
    m_t = program.constant("m", mask.astype(np.uint8), "ui1")
    v_t = tensor_type((count,), "f16")
    dense_t = tensor_type(shape, "f16")
    out_t = tensor_type(shape, "f32")
    program.op(
        f"%v = coreai.blockwise_shift_scale %q, %s, %o, %b : ({c_t}, {s_t}, {o_t}, {b_t}) -> {v_t}"
    )
    program.op(
        f"%sp = coreai.build_sparse_with_bitmask %v, %m : ({v_t}, {m_t}) -> "
        f"!coreai.sparse<{dense_t}>"
    )
    program.op(
        f"%d = coreai.sparse_with_bitmask_to_dense %sp : (!coreai.sparse<{dense_t}>) -> {dense_t}"
    )
    program.op(f"%f = coreai.cast %d : ({dense_t}) -> {out_t}")
    value, folded = decompress(program.text("f", out_t))
    values = reference_dequantize(
        codes, scale, np.array([3], np.int8), np.array([1.0], np.float16), np.float16
    )
    expected = reference_sparse(values, mask).astype(np.float32)
    assert same_bits(value, expected)
    assert "blockwise_shift_scale" not in str(folded)
    assert "sparse" not in str(folded)


def test_runtime_operands_are_left_alone() -> None:
    """A chain fed by a graph argument is not folded, and no constant it uses is removed."""
    text = """
coreai.graph @main(%data: tensor<2x3xsi8>) -> tensor<2x3xf16> {
  %s = coreai.constant dense<[[5.000000e-01], [2.500000e-01]]> : tensor<2x1xf16>
  %o = coreai.constant dense<0> : tensor<2x1xsi8>
  %b = coreai.constant dense<0.000000e+00> : tensor<2x1xf16>
  %w = coreai.blockwise_shift_scale %data, %s, %o, %b : {types} -> tensor<2x3xf16>
  coreai.output %w : tensor<2x3xf16>
}
""".replace("{types}", "(tensor<2x3xsi8>, tensor<2x1xf16>, tensor<2x1xsi8>, tensor<2x1xf16>)")
    program = AIProgram.parse(text)
    before = str(program)
    pipeline = Pipeline("decompress")
    pipeline.run(program)
    assert str(program) == before
    assert pipeline.runs[0].statistics.get("ops-folded", 0) == 0


def test_statistics_count_folded_ops_and_bytes() -> None:
    """ops-folded counts each folded op; bytes-before/after are stored (packed) sizes."""
    program = ProgramText()
    program.constant("d", np.arange(8).reshape(2, 4) % 16, "ui4")  # 4 bytes packed
    program.constant("s", np.ones((2, 1), np.float16), "f16")  # 4
    program.constant("o", np.zeros((2, 1), np.uint8), "ui4")  # 1
    program.constant("b", np.zeros((2, 1), np.float16), "f16")  # 4
    program.op(
        "%w = coreai.blockwise_shift_scale %d, %s, %o, %b : (tensor<2x4xui4>, tensor<2x1xf16>, "
        "tensor<2x1xui4>, tensor<2x1xf16>) -> tensor<2x4xf16>"
    )
    parsed = AIProgram.parse(program.text("w", "tensor<2x4xf16>"))
    pipeline = Pipeline("decompress")
    pipeline.run(parsed)
    stats = pipeline.runs[0].statistics
    assert stats["ops-folded"] == 1
    assert stats["bytes-after"] == 16
    assert stats["bytes-before"] <= 4 + 4 + 1 + 4  # splat parameters may count once


def test_mismatched_sparse_value_count_is_a_pipeline_error() -> None:
    """Verifiers cannot see a values/mask count mismatch; folding reports it in one line."""
    program = ProgramText()
    program.constant("v", np.array([1.0, 2.0], np.float16), "f16")
    program.constant("m", np.array([1, 1, 1, 0], np.uint8), "ui1")
    program.op(
        "%s = coreai.build_sparse_with_bitmask %v, %m : (tensor<2xf16>, tensor<4xui1>) -> "
        "!coreai.sparse<tensor<4xf16>>"
    )
    program.op(
        "%d = coreai.sparse_with_bitmask_to_dense %s : (!coreai.sparse<tensor<4xf16>>) -> "
        "tensor<4xf16>"
    )
    parsed = AIProgram.parse(program.text("d", "tensor<4xf16>"))
    with pytest.raises(PipelineError) as info:
        Pipeline("decompress").run(parsed)
    assert "decompress" in str(info.value)
    assert "\n" not in str(info.value)


def test_folded_constant_is_a_constant_op_of_the_result_type() -> None:
    """The replacement is a `coreai.constant` whose type is the folded op's result type."""
    program = ProgramText()
    s_t = program.constant("x", np.arange(40, dtype=np.float32), "f32")
    program.op(f"%c = coreai.cast %x : ({s_t}) -> tensor<40xf16>")
    value, folded = decompress(program.text("c", "tensor<40xf16>"))
    (constant,) = folded.constants()
    assert isinstance(constant, ConstantOp)
    assert str(constant.result.type) == "tensor<40xf16>"
    assert same_bits(value, np.arange(40, dtype=np.float16))
    reparsed = AIProgram.parse(str(folded))
    assert same_bits(elements_array(next(reparsed.constants()).value), value)
