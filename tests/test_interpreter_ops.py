"""Per-op semantics of the executor against numpy references and hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coreai_opt.errors import CoreAIError
from coreai_opt.interpreter import run
from coreai_opt.interpreter.elementwise import erf
from coreai_opt.program import AIProgram

from .interpreter_util import run_one, tensor_type, type_of

B = "coreai.decomposable.broadcasting_"
RNG = np.random.default_rng(0)


def normal(*shape: int, dtype=np.float32) -> np.ndarray:
    return RNG.standard_normal(shape).astype(dtype)


# --------------------------------------------------------------------------- elementwise

BINARY_FLOAT = {
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "divide": np.divide,
    "floor_divide": lambda a, b: np.floor(a / b),
    "modulo": np.fmod,
    "maximum": np.maximum,
    "minimum": np.minimum,
    "pow": lambda a, b: np.abs(a) ** b,
}


@pytest.mark.parametrize("name", sorted(BINARY_FLOAT))
def test_binary_float_broadcasts_like_numpy(name: str) -> None:
    a, b = normal(2, 1, 3), normal(4, 1)
    if name == "pow":
        a = np.abs(a)
    got = run_one(B + name, [a, b], tensor_type((2, 4, 3), np.float32))
    np.testing.assert_allclose(got, BINARY_FLOAT[name](a, b), rtol=1e-6, atol=1e-6)


def test_binary_f16_rounds_each_op_once_to_f16() -> None:
    a = np.array([1.0, 2049.0, 0.1], np.float16)
    b = np.array([2.0**-11, 1.0, 0.2], np.float16)
    got = run_one(B + "add", [a, b], tensor_type((3,), np.float16))
    expected = (a.astype(np.float32) + b.astype(np.float32)).astype(np.float16)
    assert got.dtype == np.float16
    np.testing.assert_array_equal(got, expected)


def test_integer_divide_truncates_toward_zero() -> None:
    a = np.array([7, -7, 7, -7, 6], np.int32)
    b = np.array([2, 2, -2, -2, 3], np.int32)
    got = run_one(B + "divide", [a, b], tensor_type((5,), np.int32))
    np.testing.assert_array_equal(got, [3, -3, -3, 3, 2])


def test_integer_floor_divide_and_modulo() -> None:
    a = np.array([7, -7, 7, -7], np.int32)
    b = np.array([2, 2, -2, -2], np.int32)
    t = tensor_type((4,), np.int32)
    np.testing.assert_array_equal(run_one(B + "floor_divide", [a, b], t), [3, -4, -4, 3])
    np.testing.assert_array_equal(run_one(B + "modulo", [a, b], t), [1, -1, 1, -1])


def test_integer_division_by_zero_is_an_error() -> None:
    a, b = np.array([1], np.int32), np.array([0], np.int32)
    with pytest.raises(CoreAIError, match="integer division by zero"):
        run_one(B + "divide", [a, b], tensor_type((1,), np.int32))


def test_float_modulo_keeps_the_dividend_sign() -> None:
    a = np.array([5.5, -5.5], np.float32)
    b = np.array([2.0, 2.0], np.float32)
    np.testing.assert_array_equal(run_one(B + "modulo", [a, b], type_of(a)), [1.5, -1.5])


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("greater", [False, False, True]),
        ("greater_equal", [False, True, True]),
        ("less", [True, False, False]),
        ("less_equal", [True, True, False]),
        ("equal", [False, True, False]),
        ("not_equal", [True, False, True]),
    ],
)
def test_comparisons(name: str, expected: list[bool]) -> None:
    a = np.array([1.0, 2.0, 3.0], np.float32)
    b = np.array(2.0, np.float32)
    got = run_one(B + name, [a, b], tensor_type((3,), np.bool_))
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("and", [False, False, False, True]),
        ("or", [False, True, True, True]),
        ("xor", [False, True, True, False]),
    ],
)
def test_logical(name: str, expected: list[bool]) -> None:
    a = np.array([False, False, True, True])
    b = np.array([False, True, False, True])
    np.testing.assert_array_equal(run_one(B + name, [a, b], type_of(a)), expected)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("bitwise_and", [0b1000]), ("bitwise_or", [0b1110]), ("bitwise_xor", [0b0110])],
)
def test_bitwise(name: str, expected: list[int]) -> None:
    a, b = np.array([0b1100], np.int32), np.array([0b1010], np.int32)
    np.testing.assert_array_equal(run_one(B + name, [a, b], type_of(a)), expected)


UNARY = {
    "abs": np.abs,
    "exp": np.exp,
    "log": lambda x: np.log(np.abs(x)),
    "sqrt": lambda x: np.sqrt(np.abs(x)),
    "rsqrt": lambda x: 1 / np.sqrt(np.abs(x)),
    "sin": np.sin,
    "cos": np.cos,
    "tanh": np.tanh,
    "tan": lambda x: np.tan(x.astype(np.float64)),
    "sinh": np.sinh,
    "cosh": np.cosh,
    "asin": np.arcsin,
    "acos": np.arccos,
    "atan": np.arctan,
    "asinh": np.arcsinh,
    "acosh": np.arccosh,
    "atanh": np.arctanh,
    "sign": np.sign,
    "floor": np.floor,
    "ceil": np.ceil,
    "relu": lambda x: np.maximum(x, 0),
    "sigmoid": lambda x: 1 / (1 + np.exp(-x.astype(np.float64))),
    "silu": lambda x: x / (1 + np.exp(-x.astype(np.float64))),
    "erf": np.vectorize(math.erf),
    "gelu": lambda x: x * 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2))),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_matches_reference(name: str) -> None:
    x = normal(3, 5) * 3
    if name in ("log", "sqrt", "rsqrt"):
        x = np.abs(x) + 0.1
    domain = {"asin": np.tanh, "acos": np.tanh, "atanh": np.tanh, "acosh": lambda v: np.abs(v) + 1}
    if name in domain:
        x = domain[name](x).astype(np.float32)
    got = run_one("coreai." + name, [x], type_of(x))
    np.testing.assert_allclose(got, UNARY[name](x), rtol=2e-6, atol=3e-7)


def test_gelu_tanh_approximation() -> None:
    x = np.linspace(-6, 6, 25, dtype=np.float32)
    got = run_one("coreai.gelu", [x], type_of(x), suffix=" approximate = <tanh>")
    c = math.sqrt(2 / math.pi)
    expected = 0.5 * x * (1 + np.tanh(c * (x + 0.044715 * x.astype(np.float64) ** 3)))
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)


def test_round_is_half_to_even() -> None:
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, 2.4], np.float32)
    np.testing.assert_array_equal(run_one("coreai.round", [x], type_of(x)), [0, 2, 2, 0, -2, 2])


def test_not_is_logical_for_i1_and_bitwise_for_integers() -> None:
    b = np.array([True, False])
    np.testing.assert_array_equal(run_one("coreai.not", [b], type_of(b)), [False, True])
    i = np.array([0, 5], np.int32)
    np.testing.assert_array_equal(run_one("coreai.not", [i], type_of(i)), [-1, -6])


def test_abs_of_integers() -> None:
    x = np.array([-3, 0, 4], np.int32)
    np.testing.assert_array_equal(run_one("coreai.abs", [x], type_of(x)), [3, 0, 4])


@given(st.floats(-10, 10, allow_nan=False))
def test_erf_error_bound(value: float) -> None:
    assert abs(float(erf(np.array([value]))[0]) - math.erf(value)) <= 1.5e-7
    single = np.float32(value)  # float32 evaluation: the formula's error plus rounding
    exact = math.erf(float(single))
    error = abs(float(erf(np.array([single]))[0]) - exact)
    assert error <= 2.5e-7 and (abs(value) >= 1 or error <= 2.5e-7 * abs(exact) + 1e-30)


def test_select_picks_by_condition() -> None:
    c = np.array([True, False, True])
    a, b = np.array([1.0, 2.0, 3.0], np.float32), np.array(9.0, np.float32)
    np.testing.assert_array_equal(run_one("coreai.select", [c, a, b], type_of(a)), [1, 9, 3])


# --------------------------------------------------------------------------- matmul & conv


@pytest.mark.parametrize("op", ["coreai.batch_matmul", B + "batch_matmul"])
def test_batch_matmul_broadcasts_batch_dims(op: str) -> None:
    x, y = normal(2, 1, 3, 4), normal(5, 4, 6)
    got = run_one(op, [x, y], tensor_type((2, 5, 3, 6), np.float32))
    np.testing.assert_allclose(got, np.einsum("abij,bjk->abik", x, y), rtol=1e-5, atol=1e-5)


def test_matmul_f16_accumulates_in_f32() -> None:
    x = np.full((1, 4096), 1.0, np.float16)
    y = np.full((4096, 1), 1.0, np.float16)
    got = run_one(B + "batch_matmul", [x, y], tensor_type((1, 1), np.float16))
    assert got.dtype == np.float16 and float(got[0, 0]) == 4096.0  # f16 running sums stop at 2048


def naive_conv(x, w, strides, dilations, groups):
    """Direct loops over output positions (independent of the im2col/einsum kernel)."""
    n, _, *spatial = x.shape
    o, cg, *k = w.shape
    out_sp = [
        (s - d * (kk - 1) - 1) // st + 1
        for s, kk, st, d in zip(spatial, k, strides, dilations, strict=True)
    ]
    out = np.zeros((n, o, *out_sp))
    og = o // groups
    for pos in np.ndindex(*out_sp):
        for tap in np.ndindex(*k):
            idx = tuple(
                p * st + t * d for p, t, st, d in zip(pos, tap, strides, dilations, strict=True)
            )
            for g in range(groups):
                patch = x[(slice(None), slice(g * cg, (g + 1) * cg), *idx)]
                weight = w[(slice(g * og, (g + 1) * og), slice(None), *tap)]
                out[(slice(None), slice(g * og, (g + 1) * og), *pos)] += patch @ weight.T
    return out


@pytest.mark.parametrize(
    ("strides", "dilations", "groups"),
    [([1, 1], [1, 1], 1), ([2, 1], [1, 2], 1), ([1, 2], [2, 1], 2)],
)
def test_conv2d_matches_direct_loops(strides, dilations, groups) -> None:
    x, w = normal(2, 4, 9, 8), normal(6, 4 // groups, 3, 2)
    expected = naive_conv(x, w, strides, dilations, groups)
    got = run_one(
        "coreai.conv2d",
        [x, w],
        tensor_type(expected.shape, np.float32),
        [np.array(strides, np.uint32), np.array(dilations, np.uint32), np.array(groups, np.uint32)],
    )
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_conv3d_matches_direct_loops() -> None:
    x, w = normal(1, 2, 5, 4, 4), normal(3, 2, 2, 3, 2)
    expected = naive_conv(x, w, [1, 1, 2], [1, 1, 1], 1)
    constants = [
        np.array([1, 1, 2], np.uint32),
        np.array([1, 1, 1], np.uint32),
        np.array(1, np.uint32),
    ]
    got = run_one("coreai.conv3d", [x, w], tensor_type(expected.shape, np.float32), constants)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def naive_conv_transpose(x, w, stride, dilation, padding, output_padding, groups):
    """Scatter form: every input pixel adds its weighted kernel to the output (torch semantics)."""
    n, c, h, wd = x.shape
    _, og, kh, kw = w.shape
    cg = c // groups
    full_h = (h - 1) * stride[0] + dilation[0] * (kh - 1) + 1 + output_padding[0]
    full_w = (wd - 1) * stride[1] + dilation[1] * (kw - 1) + 1 + output_padding[1]
    out = np.zeros((n, og * groups, full_h, full_w))
    for i, j, a, b in np.ndindex(h, wd, kh, kw):
        for g in range(groups):
            contrib = x[:, g * cg : (g + 1) * cg, i, j] @ w[g * cg : (g + 1) * cg, :, a, b]
            oi, oj = i * stride[0] + a * dilation[0], j * stride[1] + b * dilation[1]
            out[:, g * og : (g + 1) * og, oi, oj] += contrib
    return out[:, :, padding[0] : full_h - padding[0], padding[1] : full_w - padding[1]]


@pytest.mark.parametrize(
    ("stride", "dilation", "padding", "output_padding", "groups"),
    [
        ([2, 2], [1, 1], [1, 1], [1, 1], 1),
        ([1, 2], [2, 1], [0, 1], [0, 0], 1),
        ([2, 1], [1, 1], [0, 0], [1, 0], 2),
    ],
)
def test_conv_transpose2d_matches_scatter_reference(
    stride, dilation, padding, output_padding, groups
) -> None:
    x, w = normal(1, 4, 4, 3), normal(4, 3, 3, 2)
    expected = naive_conv_transpose(x, w, stride, dilation, padding, output_padding, groups)
    constants = [np.array(v, np.uint32) for v in (stride, dilation, padding, output_padding)]
    constants.append(np.array(groups, np.uint32))
    got = run_one(
        "coreai.conv_transpose2d", [x, w], tensor_type(expected.shape, np.float32), constants
    )
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_sum_pool_2d() -> None:
    x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    ks, one = np.array([2, 2], np.uint32), np.array([1, 1], np.uint32)
    got = run_one("coreai.sum_pool_2d", [x], tensor_type((1, 1, 2, 2), np.float32), [ks, ks, one])
    np.testing.assert_array_equal(
        got[0, 0], [[0 + 1 + 4 + 5, 2 + 3 + 6 + 7], [8 + 9 + 12 + 13, 10 + 11 + 14 + 15]]
    )


@pytest.mark.parametrize(("ceil", "expected"), [(False, [[6, 8]]), (True, [[6, 8, 9]])])
def test_max_pool_2d_ceil_mode(ceil: bool, expected) -> None:
    x = np.arange(10, dtype=np.float32).reshape(1, 1, 2, 5)
    ks, st_, one = (
        np.array([2, 2], np.uint32),
        np.array([2, 2], np.uint32),
        np.array([1, 1], np.uint32),
    )
    shape = (1, 1, 1, 3 if ceil else 2)
    got = run_one(
        "coreai.max_pool_2d", [x], tensor_type(shape, np.float32), [ks, st_, one, np.array(ceil)]
    )
    np.testing.assert_array_equal(got[0, 0], expected)


# --------------------------------------------------------------------------- reductions


@pytest.mark.parametrize(
    ("name", "reference"),
    [
        ("reduce_sum", np.sum),
        ("reduce_mean", np.mean),
        ("reduce_max", np.max),
        ("reduce_min", np.min),
        ("reduce_product", np.prod),
    ],
)
@pytest.mark.parametrize("keep", [True, False])
def test_reductions(name, reference, keep: bool) -> None:
    x = normal(2, 3, 4)
    shape = (2, 1, 1) if keep else (2,)
    got = run_one(
        "coreai." + name, [x], tensor_type(shape, np.float32), [np.array([1, -1], np.int32)]
    )
    np.testing.assert_allclose(got, reference(x, axis=(1, 2), keepdims=keep), rtol=1e-5)


def test_reduce_sum_f16_accumulates_in_f32() -> None:
    x = np.ones((1, 4096), np.float16)
    got = run_one(
        "coreai.reduce_sum", [x], tensor_type((1, 1), np.float16), [np.array([1], np.int32)]
    )
    assert float(got[0, 0]) == 4096.0


def test_argmax_first_occurrence_and_any() -> None:
    x = np.array([[1.0, 3.0, 3.0], [5.0, 0.0, 5.0]], np.float32)
    got = run_one("coreai.argmax", [x], tensor_type((2, 1), np.uint32), [np.array(1, np.int32)])
    np.testing.assert_array_equal(got, [[1], [0]])
    b = np.array([[False, False], [False, True]])
    got = run_one("coreai.any", [b], tensor_type((2, 1), np.bool_), [np.array([1], np.int32)])
    np.testing.assert_array_equal(got, [[False], [True]])


def test_softmax() -> None:
    x = normal(3, 5) * 10
    got = run_one("coreai.softmax", [x], type_of(x), [np.array(1, np.int32)])
    e = np.exp(x.astype(np.float64) - x.max(axis=1, keepdims=True))
    np.testing.assert_allclose(got, e / e.sum(axis=1, keepdims=True), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("reverse", [False, True])
def test_scan_sum(reverse: bool) -> None:
    x = np.arange(10, dtype=np.float32).reshape(2, 5)
    got = run_one(
        "coreai.scan",
        [x],
        type_of(x),
        [np.array(1, np.uint32), np.array(reverse)],
        suffix=" combiner = <sum>",
    )
    expected = np.flip(np.cumsum(np.flip(x, 1), 1), 1) if reverse else np.cumsum(x, 1)
    np.testing.assert_array_equal(got, expected)


# --------------------------------------------------------------------------- shapes


def test_reshape_transpose_expand_shrink() -> None:
    x = normal(2, 3, 4)
    got = run_one(
        "coreai.reshape", [x], tensor_type((6, 4), np.float32), [np.array([6, 4], np.uint32)]
    )
    np.testing.assert_array_equal(got, x.reshape(6, 4))
    got = run_one(
        "coreai.transpose",
        [x],
        tensor_type((4, 2, 3), np.float32),
        [np.array([2, 0, 1], np.uint32)],
    )
    np.testing.assert_array_equal(got, x.transpose(2, 0, 1))
    got = run_one(
        "coreai.expand_dims", [x], tensor_type((2, 3, 4, 1), np.float32), [np.array([-1], np.int32)]
    )
    assert got.shape == (2, 3, 4, 1)
    y = normal(2, 1, 4, 1)
    got = run_one(
        "coreai.shrink_dims", [y], tensor_type((2, 4), np.float32), [np.array([1, 3], np.int32)]
    )
    np.testing.assert_array_equal(got, y[:, 0, :, 0])


def test_shrink_dims_of_a_non_unit_dim_is_an_error() -> None:
    with pytest.raises(CoreAIError, match="cannot remove dim 0 of size 2"):
        run_one(
            "coreai.shrink_dims",
            [normal(2, 3)],
            tensor_type((3,), np.float32),
            [np.array([0], np.int32)],
        )


def test_slice_with_open_end_and_negative_begin() -> None:
    x = np.arange(24, dtype=np.float32).reshape(2, 4, 3)
    begin, end = np.array([0, -3, 0], np.int32), np.array([2147483647, 3, 2147483647], np.int32)
    stride = np.array([1, 1, 2], np.int32)
    got = run_one("coreai.slice", [x], tensor_type((2, 2, 2), np.float32), [begin, end, stride])
    np.testing.assert_array_equal(got, x[:, 1:3, ::2])


def test_slice_update() -> None:
    x, u = np.zeros((2, 4, 3), np.float32), np.ones((2, 2, 3), np.float32)
    consts = [
        np.array([0, 1, 0], np.int32),
        np.array([2, 3, 3], np.int32),
        np.array([1, 1, 1], np.int32),
    ]
    got = run_one("coreai.slice_update", [x, u], type_of(x), consts)
    expected = x.copy()
    expected[:, 1:3, :] = 1
    np.testing.assert_array_equal(got, expected)


def test_concat_axis_first_and_mixed_integer_types() -> None:
    a, b = np.array([[1, 2]], np.int32), np.array([[3]], np.uint32)
    text = (
        'module {\n coreai.graph @main(%a: tensor<1x2xsi32> {coreai.name = "a"}, '
        '%b: tensor<1x1xui32> {coreai.name = "b"}) -> (tensor<1x3xui32> {coreai.name = "r"}) {\n'
        "  %ax = coreai.constant dense<1> : tensor<si32>\n"
        "  %r = coreai.concat %ax, %a, %b : (tensor<si32>, tensor<1x2xsi32>, tensor<1x1xui32>) "
        "-> tensor<1x3xui32>\n  coreai.output %r : tensor<1x3xui32>\n }\n}\n"
    )
    got = run(AIProgram.parse(text), {"a": a, "b": b})["r"]
    assert got.dtype == np.uint32
    np.testing.assert_array_equal(got, [[1, 2, 3]])


def test_split() -> None:
    x = normal(2, 5)
    got = run_one(
        "coreai.split",
        [x],
        [tensor_type((2, 2), np.float32), tensor_type((2, 3), np.float32)],
        [np.array([2, 3], np.uint32), np.array(1, np.int32)],
    )
    np.testing.assert_array_equal(got[0], x[:, :2])
    np.testing.assert_array_equal(got[1], x[:, 2:])


@pytest.mark.parametrize(
    ("mode", "np_mode"), [("constant", "constant"), ("reflect", "reflect"), ("replicate", "edge")]
)
def test_pad(mode: str, np_mode: str) -> None:
    x = normal(2, 3)
    pads = np.array([0, 1, 2, 1], np.uint32)
    value = np.array(1.5, np.float32)
    got = run_one(
        "coreai.pad",
        [x],
        tensor_type((3, 6), np.float32),
        [pads, value],
        suffix=f" mode = <{mode}>",
    )
    kwargs = {"constant_values": 1.5} if mode == "constant" else {}
    np.testing.assert_array_equal(got, np.pad(x, [(0, 1), (2, 1)], mode=np_mode, **kwargs))


def test_tile_reverse_broadcast_to() -> None:
    x = normal(2, 3)
    got = run_one(
        "coreai.tile", [x], tensor_type((4, 3), np.float32), [np.array([2, 1], np.uint32)]
    )
    np.testing.assert_array_equal(got, np.tile(x, (2, 1)))
    got = run_one("coreai.reverse", [x], type_of(x), [np.array([0, 1], np.int32)])
    np.testing.assert_array_equal(got, x[::-1, ::-1])
    s = np.array(7.0, np.float32)
    got = run_one(
        "coreai.broadcast_to", [s], tensor_type((2, 2), np.float32), [np.array([2, 2], np.uint32)]
    )
    np.testing.assert_array_equal(got, np.full((2, 2), 7.0))


def test_broadcast_in_dims_sets_the_listed_dims() -> None:
    x = normal(1, 3)
    got = run_one(
        "coreai.broadcast_in_dims",
        [x],
        tensor_type((4, 3), np.float32),
        [np.array([4], np.uint32), np.array([0], np.int32)],
    )
    np.testing.assert_array_equal(got, np.broadcast_to(x, (4, 3)))


def test_get_shape_and_non_zero() -> None:
    x = np.array([[0.0, 1.0, 0.0], [2.0, 0.0, 3.0]], np.float32)
    np.testing.assert_array_equal(
        run_one("coreai.get_shape", [x], tensor_type((2,), np.uint32)), [2, 3]
    )
    got = run_one("coreai.non_zero", [x], tensor_type((-1, 2), np.int32))
    np.testing.assert_array_equal(got, [[0, 1], [1, 0], [1, 2]])


# --------------------------------------------------------------------------- gather / scatter


def test_gather_nd_embedding_lookup() -> None:
    table = normal(10, 4)
    ids = np.array([[[3], [0]], [[9], [-1]]], np.int32)
    got = run_one("coreai.gather_nd", [table, ids], tensor_type((2, 2, 4), np.float32))
    np.testing.assert_array_equal(got, table[ids[..., 0]])


def test_gather_nd_two_index_columns() -> None:
    data = normal(3, 4, 5)
    idx = np.array([[0, 1], [2, 3]], np.int32)
    got = run_one("coreai.gather_nd", [data, idx], tensor_type((2, 5), np.float32))
    np.testing.assert_array_equal(got, data[[0, 2], [1, 3]])


def test_gather_out_of_range_is_an_error() -> None:
    with pytest.raises(CoreAIError, match="index out of range"):
        run_one(
            "coreai.gather_nd",
            [normal(3, 2), np.array([[3]], np.int32)],
            tensor_type((1, 2), np.float32),
        )


def test_gather_along_axis_is_torch_gather() -> None:
    x = normal(3, 4)
    idx = np.array([[0, 3], [1, 1], [2, 0]], np.int32)
    got = run_one(
        "coreai.gather_along_axis",
        [x, idx],
        tensor_type((3, 2), np.float32),
        [np.array(1, np.int32)],
    )
    expected = np.array([[x[i, idx[i, j]] for j in range(2)] for i in range(3)])
    np.testing.assert_array_equal(got, expected)


def test_scatter_along_axis_replace_and_add() -> None:
    x = np.zeros((3, 2), np.float32)
    idx = np.array([[2, 0], [2, 1]], np.int32)
    val = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    got = run_one("coreai.scatter_along_axis", [x, idx, val], type_of(x), [np.array(0, np.int32)])
    np.testing.assert_array_equal(got, [[0, 2], [0, 4], [3, 0]])
    got = run_one(
        "coreai.scatter_along_axis",
        [x, idx, val],
        type_of(x),
        [np.array(0, np.int32)],
        suffix=" scatter_mode = <add>",
    )
    np.testing.assert_array_equal(got, [[0, 2], [0, 4], [4, 0]])


# --------------------------------------------------------------------------- conversions


def test_cast_semantics() -> None:
    x = np.array([1.7, -1.7, 0.0, 2.5], np.float32)
    np.testing.assert_array_equal(
        run_one("coreai.cast", [x], tensor_type((4,), np.int32)), [1, -1, 0, 2]
    )
    np.testing.assert_array_equal(
        run_one("coreai.cast", [x], tensor_type((4,), np.bool_)), [True, True, False, True]
    )
    b = np.array([True, False])
    np.testing.assert_array_equal(
        run_one("coreai.cast", [b], tensor_type((2,), np.float32)), [1, 0]
    )
    h = np.array([1 + 2**-11, 1 + 3 * 2**-11], np.float32)  # ties go to even
    np.testing.assert_array_equal(
        run_one("coreai.cast", [h], tensor_type((2,), np.float16)),
        np.array([1.0, 1 + 2**-9], np.float16),
    )


def test_complex_parts() -> None:
    re, im = normal(2, 3), normal(2, 3)
    c = run_one("coreai.create_complex", [re, im], tensor_type((2, 3), np.complex64))
    np.testing.assert_array_equal(c, re + 1j * im)
    np.testing.assert_array_equal(run_one("coreai.real_part", [c], type_of(re)), re)
    np.testing.assert_array_equal(run_one("coreai.imaginary_part", [c], type_of(re)), im)


def test_quantize_dequantize_per_channel() -> None:
    x = np.array([[0.26, -1.0], [100.0, 0.05]], np.float32)
    scale, zp = np.array([0.1, 0.5], np.float32), np.array([0, 1], np.int8)
    q = run_one(
        "coreai.quantize", [x], tensor_type((2, 2), np.int8), [scale, zp, np.array(1, np.int32)]
    )
    np.testing.assert_array_equal(q, [[3, -1], [127, 1]])  # 0.05/0.5 = 0.1 -> 0, + zp 1
    d = run_one(
        "coreai.dequantize",
        [q],
        tensor_type((2, 2), np.float32),
        [scale, zp, np.array(1, np.int32)],
    )
    np.testing.assert_allclose(d, [[0.3, -1.0], [12.7, 0.0]], rtol=1e-6)


def test_quantize_round_half_to_even() -> None:
    x = np.array([0.5, 1.5, 2.5, -2.5], np.float32)
    one, zero = np.array(1.0, np.float32), np.array(0, np.int8)
    q = run_one(
        "coreai.quantize", [x], tensor_type((4,), np.int8), [one, zero, np.array(0, np.int32)]
    )
    np.testing.assert_array_equal(q, [0, 2, 2, -2])


# --------------------------------------------------------------------------- resampling


def torch_bilinear(x: np.ndarray, scale: int) -> np.ndarray:
    """Direct per-pixel upsample_bilinear2d, align_corners=False (torch's formula)."""
    n, c, h, w = x.shape
    out = np.zeros((n, c, h * scale, w * scale))
    for i, j in np.ndindex(h * scale, w * scale):
        si, sj = max((i + 0.5) / scale - 0.5, 0), max((j + 0.5) / scale - 0.5, 0)
        i0, j0 = int(si), int(sj)
        i1, j1 = min(i0 + 1, h - 1), min(j0 + 1, w - 1)
        di, dj = si - i0, sj - j0
        out[:, :, i, j] = (
            (1 - di) * (1 - dj) * x[:, :, i0, j0]
            + (1 - di) * dj * x[:, :, i0, j1]
            + di * (1 - dj) * x[:, :, i1, j0]
            + di * dj * x[:, :, i1, j1]
        )
    return out


def test_interpolate_bilinear_matches_torch_formula() -> None:
    x = normal(1, 2, 3, 4)
    consts = [
        np.array([1, 2, 6, 8], np.int32),
        np.array([1, 1, 2, 2], np.float32),
        np.zeros(4, np.float32),
    ]
    got = run_one(
        "coreai.interpolate",
        [x],
        tensor_type((1, 2, 6, 8), np.float32),
        consts,
        suffix=" {interpolation_mode = #coreai.interpolation_mode<linear>}",
    )
    np.testing.assert_allclose(got, torch_bilinear(x, 2), rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------- properties


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.integers(1, 3), min_size=1, max_size=3),
    st.lists(st.integers(1, 3), min_size=1, max_size=3),
)
def test_broadcasting_add_matches_numpy(shape_a: list[int], shape_b: list[int]) -> None:
    try:
        out_shape = np.broadcast_shapes(tuple(shape_a), tuple(shape_b))
    except ValueError:
        return
    a = np.arange(np.prod(shape_a), dtype=np.float32).reshape(shape_a)
    b = np.arange(np.prod(shape_b), dtype=np.float32).reshape(shape_b) * 0.5
    got = run_one(B + "add", [a, b], tensor_type(out_shape, np.float32))
    np.testing.assert_array_equal(got, a + b)


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 3), st.integers(1, 2), st.integers(1, 2), st.integers(1, 2))
def test_conv2d_property_against_direct_loops(
    k: int, stride: int, dilation: int, groups: int
) -> None:
    rng = np.random.default_rng(k * 100 + stride * 10 + dilation)
    x = rng.standard_normal((1, 2 * groups, 7, 6)).astype(np.float32)
    w = rng.standard_normal((2 * groups, 2, k, k)).astype(np.float32)
    expected = naive_conv(x, w, [stride] * 2, [dilation] * 2, groups)
    consts = [
        np.array([stride] * 2, np.uint32),
        np.array([dilation] * 2, np.uint32),
        np.array(groups, np.uint32),
    ]
    got = run_one("coreai.conv2d", [x, w], tensor_type(expected.shape, np.float32), consts)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


# --------------------------------------------------------------------------- ops of the other half


def test_broadcasting_where_is_torch_where() -> None:
    cond = np.array([[True], [False]])
    a, b = normal(2, 3), np.array(7.0, np.float32)
    got = run_one(B + "where", [cond, a, b], tensor_type((2, 3), np.float32))
    np.testing.assert_array_equal(got, [a[0], [7.0, 7.0, 7.0]])


def test_sum_pool_3d() -> None:
    x = np.arange(2 * 3 * 3 * 4, dtype=np.float32).reshape(1, 2, 3, 3, 4)
    ks, one = np.array([2, 2, 2], np.uint32), np.array([1, 1, 1], np.uint32)
    got = run_one(
        "coreai.sum_pool_3d", [x], tensor_type((1, 2, 2, 2, 3), np.float32), [ks, one, one]
    )
    expected = np.zeros((1, 2, 2, 2, 3), np.float32)
    for d, h, w in np.ndindex(2, 2, 3):
        expected[0, :, d, h, w] = x[0, :, d : d + 2, h : h + 2, w : w + 2].sum(axis=(1, 2, 3))
    np.testing.assert_array_equal(got, expected)


def test_sum_pool_kernel_rank_must_match_the_input() -> None:
    x = np.zeros((1, 1, 4, 4), np.float32)
    ks = np.array([2, 2, 2], np.uint32)
    with pytest.raises(CoreAIError, match=r"coreai\.sum_pool_3d: a 3-d kernel for a rank-4 input"):
        run_one("coreai.sum_pool_3d", [x], tensor_type((1, 1, 2, 2), np.float32), [ks, ks, ks])


@pytest.mark.parametrize(
    ("start", "end", "step", "dtype", "expected"),
    [
        (0, 5, 1, np.int32, [0, 1, 2, 3, 4]),  # torch.arange(0, 5)
        (2, -3, -2, np.int32, [2, 0, -2]),  # torch.arange(2, -3, -2)
        (0, 8, 2, np.float32, [0.0, 2.0, 4.0, 6.0]),
        (0.5, 2.0, 0.5, np.float32, [0.5, 1.0, 1.5]),
        (3, 3, 1, np.int32, []),
    ],
)
def test_range_is_torch_arange(start, end, step, dtype, expected) -> None:
    bounds = [
        np.array(v, np.float32 if isinstance(v, float) else np.int32) for v in (start, end, step)
    ]
    got = run_one("coreai.range", bounds, tensor_type((-1,), dtype))
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, np.array(expected, dtype))


def test_range_with_a_zero_step_is_an_error() -> None:
    bounds = [np.array(v, np.int32) for v in (0, 4, 0)]
    with pytest.raises(CoreAIError, match=r"coreai.range: invalid range \(0.0, 4.0, 0.0\)"):
        run_one("coreai.range", bounds, tensor_type((-1,), np.int32))


def test_sort_and_argsort_are_stable_torch_sort() -> None:
    # torch.sort(x, dim=1, descending=d, stable=True): ties keep their input order, NaN is largest
    x = np.array([[3.0, 1.0, 3.0, np.nan, 2.0], [0.0, -1.0, 0.0, 5.0, -1.0]], np.float32)
    axis = np.array(1, np.int32)
    for descending, order in (
        (True, [[3, 0, 2, 4, 1], [3, 0, 2, 1, 4]]),
        (False, [[1, 4, 0, 2, 3], [1, 4, 0, 2, 3]]),
    ):
        flags = [np.array(descending), np.array(True)]
        indices = run_one("coreai.argsort", [x], tensor_type((2, 5), np.int32), [axis, *flags])
        values = run_one("coreai.sort", [x], tensor_type((2, 5), np.float32), [axis, *flags])
        np.testing.assert_array_equal(indices, order)
        np.testing.assert_array_equal(values, np.take_along_axis(x, np.array(order), axis=1))


def test_interpolate_nearest_neighbor_repeats_pixels() -> None:
    # torch.nn.functional.interpolate(x, scale_factor=2, mode="nearest")
    x = np.arange(4, dtype=np.float32).reshape(1, 1, 2, 2)
    consts = [
        np.array([1, 1, 4, 4], np.int32),
        np.array([1, 1, 2, 2], np.float32),
        np.zeros(4, np.float32),
    ]
    got = run_one(
        "coreai.interpolate",
        [x],
        tensor_type((1, 1, 4, 4), np.float32),
        consts,
        suffix=" {interpolation_mode = #coreai.interpolation_mode<nearest_neighbor>}",
    )
    np.testing.assert_array_equal(got[0, 0], np.repeat(np.repeat(x[0, 0], 2, 0), 2, 1))
