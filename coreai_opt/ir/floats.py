"""Float literals exactly as MLIR prints them.

MLIR prints a float attribute in `%e` style with six decimals (`2.000000e+00`) when the
value has at most six significant digits and reads back exactly; otherwise in LLVM's
shortest-natural form (`9.99999974E-6`, `3.14159274`); infinities and NaNs as the hex bit
pattern (`0xFF800000`). Both forms come from `APFloat::toString`, whose digit generation
truncates in binary before it rounds in decimal, so Python's own formatting does not match
it. This module reproduces that algorithm with exact integer arithmetic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True)
class FloatSemantics:
    """An IEEE-like binary format: significand bits (with the implicit one) and exponents."""

    precision: int
    min_exponent: int
    max_exponent: int


SEMANTICS = {
    "f16": FloatSemantics(11, -14, 15),
    "bf16": FloatSemantics(8, -126, 127),
    "f32": FloatSemantics(24, -126, 127),
    "f64": FloatSemantics(53, -1022, 1023),
    "f8E4M3FN": FloatSemantics(4, -6, 8),
    "f8E5M2": FloatSemantics(3, -14, 15),
    "f8E8M0FNU": FloatSemantics(1, -127, 127),
    "f4E2M1FN": FloatSemantics(2, 0, 2),
}


def decompose(value: float) -> tuple[bool, int, int]:
    """(negative, odd significand N, exponent e) with |value| = N * 2**e; value finite, != 0."""
    negative = math.copysign(1.0, value) < 0
    numerator, denominator = abs(value).as_integer_ratio()
    exponent = 1 - denominator.bit_length()  # denominator is a power of two
    while numerator % 2 == 0:
        numerator //= 2
        exponent += 1
    return negative, numerator, exponent


def truncate_binary(significand: int, exponent: int, precision: int) -> tuple[int, int]:
    """LLVM's first `AdjustToPrecision`: drop decimal digits by truncating division."""
    bits = significand.bit_length()
    bits_required = (precision * 196 + 58) // 59
    if bits <= bits_required:
        return significand, exponent
    removable = (bits - bits_required) * 59 // 196
    if not removable:
        return significand, exponent
    return significand // 10**removable, exponent + removable


def round_digits(digits: str, exponent: int, precision: int) -> tuple[str, int]:
    """LLVM's second `AdjustToPrecision` on most-significant-first digits (round half up)."""
    if len(digits) <= precision:
        return digits, exponent
    dropped = len(digits) - precision
    kept = digits[:precision]
    if digits[precision] < "5":
        stripped = kept.rstrip("0")
        return stripped, exponent + dropped + (len(kept) - len(stripped))
    rounded = str(int(kept) + 1)
    if len(rounded) > len(kept):  # carried through every digit: one digit of precision
        return "1", exponent + dropped + len(kept)
    stripped = rounded.rstrip("0")
    return stripped, exponent + dropped + (len(rounded) - len(stripped))


def apfloat_to_string(
    value: float,
    semantics: FloatSemantics,
    format_precision: int = 0,
    max_padding: int = 3,
    truncate_zero: bool = True,
) -> str:
    """`APFloat::toString(Str, FormatPrecision, FormatMaxPadding, TruncateZero)`."""
    if value == 0:
        sign = "-" if math.copysign(1.0, value) < 0 else ""
        if max_padding:
            return sign + "0"
        if truncate_zero:
            return sign + "0.0E+0"
        return sign + "0.0" + "0" * max(format_precision - 1, 0) + "e+00"
    negative, significand, exponent = decompose(value)
    if not format_precision:
        format_precision = 2 + semantics.precision * 59 // 196
    if exponent > 0:
        significand <<= exponent
        exponent = 0
    elif exponent < 0:
        significand *= 5**-exponent
    significand, exponent = truncate_binary(significand, exponent, format_precision)
    digits = str(significand)
    stripped = digits.rstrip("0")
    exponent += len(digits) - len(stripped)
    digits, exponent = round_digits(stripped, exponent, format_precision)
    return format_digits(negative, digits, exponent, format_precision, max_padding, truncate_zero)


def format_digits(
    negative: bool,
    digits: str,
    exponent: int,
    format_precision: int,
    max_padding: int,
    truncate_zero: bool,
) -> str:
    """Lay out `digits * 10**exponent` the way `APFloat::toString` does."""
    count = len(digits)
    if not max_padding:
        scientific = True
    elif exponent >= 0:
        scientific = exponent > max_padding or count + exponent > format_precision
    else:
        most_significant = exponent + count - 1
        scientific = most_significant < 0 and -most_significant > max_padding
    sign = "-" if negative else ""
    if scientific:
        exponent += count - 1
        mantissa = digits[0] + "." + (digits[1:] or ("0" if truncate_zero else ""))
        if not truncate_zero and format_precision > count - 1:
            mantissa += "0" * (format_precision - count + 1)
        exponent_text = str(abs(exponent))
        if not truncate_zero and len(exponent_text) < 2:
            exponent_text = "0" + exponent_text
        marker = "E" if truncate_zero else "e"
        return f"{sign}{mantissa}{marker}{'+' if exponent >= 0 else '-'}{exponent_text}"
    if exponent >= 0:
        return sign + digits + "0" * exponent
    whole = exponent + count
    if whole > 0:
        return sign + digits[:whole] + "." + digits[whole:]
    return sign + "0." + "0" * -whole + digits


def round_to_semantics(value: Fraction, semantics: FloatSemantics) -> Fraction:
    """The nearest value of `semantics` (ties to even; overflow is not an issue here)."""
    if value == 0:
        return value
    sign = -1 if value < 0 else 1
    magnitude = abs(value)
    exponent = magnitude.numerator.bit_length() - magnitude.denominator.bit_length()
    if Fraction(2) ** exponent > magnitude:
        exponent -= 1
    exponent = max(exponent, semantics.min_exponent)
    ulp = Fraction(2) ** (exponent - semantics.precision + 1)
    scaled = magnitude / ulp
    whole = scaled.numerator // scaled.denominator
    remainder = scaled - whole
    if remainder > Fraction(1, 2) or (remainder == Fraction(1, 2) and whole % 2):
        whole += 1
    return sign * whole * ulp


def mlir_float_text(value: float, type_name: str) -> str | None:
    """A float as MLIR prints it in decimal, or None when MLIR prints its bit pattern.

    MLIR falls back to hex (`hex_float_text`) for infinities, NaNs, and values whose
    natural form has no decimal point (`2097152.0` as f32 is `0x4A000000`).
    """
    semantics = SEMANTICS.get(type_name, SEMANTICS["f64"])
    if not math.isfinite(value):
        return None
    short = apfloat_to_string(value, semantics, 6, 0, False)
    if round_to_semantics(Fraction(short), semantics) == Fraction(value):
        return short
    natural = apfloat_to_string(value, semantics)
    return natural if "." in natural else None


def hex_float_text(bits: int, type_name: str) -> str:
    """`0x<bits>`, uppercase, as wide as the type (`0xFF800000` for f32 -inf)."""
    width = {"f16": 4, "bf16": 4, "f32": 8, "f64": 16}.get(type_name, 2)
    return f"0x{bits:0{width}X}"
