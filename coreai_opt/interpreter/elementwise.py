"""Elementwise kernels: broadcasting binary arithmetic, comparisons, logic, unary math."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from coreai_opt.interpreter.registry import Call, kernel
from coreai_opt.interpreter.values import as_compute, by_blocks, common_compute_dtype, is_float

BROADCASTING = "coreai.decomposable.broadcasting_"


def integer_divisor_check(call: Call, divisor: np.ndarray) -> None:
    """Integer division by zero has no answer: an error, not numpy's silent 0."""
    if divisor.dtype.kind in "iu" and not np.all(divisor):
        raise call.error("integer division by zero")


def truncating_divide(call: Call, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`/`: true division for floats; for integers, the quotient rounded toward zero."""
    if a.dtype.kind in "fcV":
        return a / b
    integer_divisor_check(call, b)
    quotient = np.floor_divide(a, b)
    remainder = a - quotient * b
    return quotient + ((remainder != 0) & ((a < 0) != (b < 0)))


def floor_divide(call: Call, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`floor(a / b)` (Python's and torch.floor_divide's rounding)."""
    if a.dtype.kind in "iu":
        integer_divisor_check(call, b)
    return np.floor_divide(a, b)


def fmod(call: Call, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """C `fmod`: the remainder has the sign of the dividend (torch.fmod)."""
    if a.dtype.kind in "iu":
        integer_divisor_check(call, b)
    return np.fmod(a, b)


def power(call: Call, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`a ** b`; integer powers with a negative exponent are an error."""
    if a.dtype.kind in "iu" and b.dtype.kind in "iu" and np.any(b < 0):
        raise call.error("integer power with a negative exponent")
    return np.power(a, b)


ARITHMETIC: dict[str, Callable[[Call, np.ndarray, np.ndarray], np.ndarray]] = {
    "add": lambda c, a, b: a + b,
    "sub": lambda c, a, b: a - b,
    "mul": lambda c, a, b: a * b,
    "divide": truncating_divide,
    "floor_divide": floor_divide,
    "modulo": fmod,
    "pow": power,
    "maximum": lambda c, a, b: np.maximum(a, b),
    "minimum": lambda c, a, b: np.minimum(a, b),
    "bitwise_and": lambda c, a, b: np.bitwise_and(a, b),
    "bitwise_or": lambda c, a, b: np.bitwise_or(a, b),
    "bitwise_xor": lambda c, a, b: np.bitwise_xor(a, b),
}

COMPARISONS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "greater": np.greater,
    "greater_equal": np.greater_equal,
    "less": np.less,
    "less_equal": np.less_equal,
    "equal": np.equal,
    "not_equal": np.not_equal,
}

LOGICAL: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "and": np.logical_and,
    "or": np.logical_or,
    "xor": np.logical_xor,
}


def arithmetic_kernel(name: str) -> None:
    """Register `broadcasting_<name>`: operands converted to the result's compute type."""
    function = ARITHMETIC[name]

    @kernel(BROADCASTING + name)
    def run(call: Call) -> np.ndarray:
        dtype = call.dtype()
        a, b = (as_compute(call.array(i), dtype) for i in (0, 1))
        return function(call, a, b)

    run.__doc__ = f"`{name}` with numpy broadcasting, computed in the result's type."


def comparison_kernel(name: str) -> None:
    """Register `broadcasting_<name>`: compared in the operands' common type, result i1."""
    function = COMPARISONS[name]

    @kernel(BROADCASTING + name)
    def run(call: Call) -> np.ndarray:
        a, b = call.array(0), call.array(1)
        common = common_compute_dtype(a, b)
        return function(as_compute(a, common), as_compute(b, common))

    run.__doc__ = f"`{name}` comparison with broadcasting."


def logical_kernel(name: str) -> None:
    """Register `broadcasting_<name>`: logic on truth values (non-zero is true)."""
    function = LOGICAL[name]

    @kernel(BROADCASTING + name)
    def run(call: Call) -> np.ndarray:
        return function(call.array(0).astype(bool), call.array(1).astype(bool))

    run.__doc__ = f"logical `{name}` with broadcasting."


for _name in ARITHMETIC:
    arithmetic_kernel(_name)
for _name in COMPARISONS:
    comparison_kernel(_name)
for _name in LOGICAL:
    logical_kernel(_name)


# --------------------------------------------------------------------------- unary

ERF_P = 0.3275911
ERF_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


ERF_SERIES = tuple((-1) ** n / (math.factorial(n) * (2 * n + 1)) for n in range(13))
ERF_SERIES_LIMIT = 1.0


def erf(x: np.ndarray) -> np.ndarray:
    """Error function: Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7) for |x| >= 1, the
    Maclaurin series (13 terms) below, where 7.1.26 would lose relative accuracy.

    Evaluated in x's float type (float32 for narrower floats), in place where possible.
    """
    out = erf_abramowitz_stegun(x)
    small = np.abs(x) < ERF_SERIES_LIMIT
    if small.any():
        near = x[small].astype(out.dtype)
        square = near * near
        series = np.full_like(near, ERF_SERIES[-1])
        for coefficient in ERF_SERIES[-2::-1]:
            series *= square
            series += coefficient
        out[small] = near * series * (2.0 / math.sqrt(math.pi))
    return out


def erf_abramowitz_stegun(x: np.ndarray) -> np.ndarray:
    """A&S 7.1.26 alone: absolute error <= 1.5e-7 (plus float32 rounding); relative accuracy
    is lost near 0, which does not matter inside gelu, where 1 + erf is what counts."""
    dtype = np.float64 if x.dtype == np.float64 else np.float32
    z = np.abs(x, dtype=dtype)
    t = np.multiply(z, ERF_P, dtype=dtype)
    t += 1.0
    np.reciprocal(t, out=t)
    a1, a2, a3, a4, a5 = ERF_A
    polynomial = t * a5
    for coefficient in (a4, a3, a2, a1):
        polynomial += coefficient
        polynomial *= t
    np.square(z, out=z)
    np.negative(z, out=z)
    np.exp(z, out=z)
    polynomial *= z
    np.subtract(1.0, polynomial, out=polynomial)
    return np.copysign(polynomial, x, out=polynomial)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """`1 / (1 + exp(-x))` (exp overflow gives the exact limit 0)."""
    return 1.0 / (1.0 + np.exp(-x))


GELU_TANH_C = np.sqrt(2.0 / np.pi)


def gelu(call: Call) -> np.ndarray:
    """`x * Phi(x)`; `approximate = <tanh>`: torch's tanh approximation."""
    x = as_compute(call.array(0), call.dtype())
    mode = call.enum("approximate", "none")
    if mode == "tanh":
        return by_blocks(gelu_tanh, x, x.dtype)
    if mode not in ("none", "exact"):
        raise call.error(f"unknown approximate = <{mode}> (expected none or tanh)")
    return by_blocks(gelu_erf, x, x.dtype)


def gelu_tanh(x: np.ndarray) -> np.ndarray:
    """torch's `gelu(approximate="tanh")`."""
    return 0.5 * x * (1.0 + np.tanh(GELU_TANH_C * (x + 0.044715 * x**3)))


def gelu_erf(x: np.ndarray) -> np.ndarray:
    """`0.5 x (1 + erf(x / sqrt 2))`."""
    phi = erf_abramowitz_stegun(x * np.asarray(1 / np.sqrt(2.0), x.dtype))
    phi += 1.0
    phi *= x
    phi *= 0.5
    return phi


kernel("coreai.gelu")(gelu)


def logical_not(x: np.ndarray) -> np.ndarray:
    """Logical not of booleans, bitwise not of integers."""
    return np.logical_not(x) if x.dtype == np.bool_ else np.invert(x)


def round_half_even(x: np.ndarray) -> np.ndarray:
    """Round to nearest, ties to even (torch.round); integers unchanged."""
    return np.rint(x) if is_float(x.dtype) or x.dtype.kind == "c" else x


def absolute(x: np.ndarray) -> np.ndarray:
    """|x|; for complex inputs the modulus."""
    return np.abs(x)


UNARY: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "abs": absolute,
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "rsqrt": lambda x: 1.0 / np.sqrt(x),
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "tanh": np.tanh,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "asin": np.arcsin,
    "acos": np.arccos,
    "atan": np.arctan,
    "asinh": np.arcsinh,
    "acosh": np.arccosh,
    "atanh": np.arctanh,
    "sign": np.sign,
    "erf": lambda x: erf(x).astype(x.dtype),
    "floor": np.floor,
    "ceil": np.ceil,
    "round": round_half_even,
    "not": logical_not,
    "relu": lambda x: np.maximum(x, np.zeros((), x.dtype)),
    "sigmoid": sigmoid,
    "silu": lambda x: x * sigmoid(x),
}


def unary_kernel(name: str) -> None:
    """Register `coreai.<name>`: applied in the result's compute type."""
    function = UNARY[name]

    @kernel("coreai." + name)
    def run(call: Call) -> np.ndarray:
        x = call.array(0)
        dtype = call.dtype()
        if x.dtype.kind == "c" and dtype.kind != "c":
            return function(x)
        x = as_compute(x, dtype)
        return by_blocks(function, x, x.dtype)

    run.__doc__ = f"elementwise `{name}`."


for _name in UNARY:
    unary_kernel(_name)


@kernel("coreai.select", "coreai.where", BROADCASTING + "where")
def select(call: Call) -> np.ndarray:
    """`select %cond, %a, %b`: a where cond is true, else b (broadcasting)."""
    dtype = call.dtype()
    on_true, on_false = as_compute(call.array(1), dtype), as_compute(call.array(2), dtype)
    return np.where(call.array(0).astype(bool), on_true, on_false)
