"""Float literals printed exactly as MLIR prints them (coreai_opt/ir/floats.py)."""

from __future__ import annotations

import re
import shutil
import subprocess
from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coreai_opt.ir.floats import SEMANTICS, hex_float_text, mlir_float_text, round_to_semantics

MLIR_OPT = shutil.which("mlir-opt-22")
DTYPES = {"f16": np.float16, "bf16": ml_dtypes.bfloat16, "f32": np.float32, "f64": np.float64}


@pytest.mark.parametrize(
    ("value", "type_name", "text"),
    [
        (2.0, "f32", "2.000000e+00"),
        (float(np.float32(0.1)), "f32", "1.000000e-01"),
        (float(np.float32(1e-5)), "f32", "9.99999974E-6"),
        (float(np.float32(np.pi)), "f32", "3.14159274"),
        (float(np.float32(0.01)), "f32", "0.00999999977"),
        (float(np.float32(-0.0786)), "f32", "-0.0785999968"),
        (float(np.float16(0.1)), "f16", "9.997550e-02"),
        (float(np.float16(65504)), "f16", "6.550400e+04"),
        (float(ml_dtypes.float8_e4m3fn(-0.001953125)), "f8E4M3FN", "-1.953130e-03"),
        (0.0, "f32", "0.000000e+00"),
        (-0.0, "f32", "-0.000000e+00"),
        (0.5, "f64", "5.000000e-01"),
    ],
)
def test_hand_values(value: float, type_name: str, text: str) -> None:
    """Values whose MLIR spelling was read off mlir-opt."""
    assert mlir_float_text(value, type_name) == text


@pytest.mark.parametrize(
    ("value", "type_name"), [(2097152.0, "f32"), (float("inf"), "f32"), (float("nan"), "f16")]
)
def test_hex_fallback(value: float, type_name: str) -> None:
    """No decimal point in the natural form, or non-finite: MLIR prints the bit pattern."""
    assert mlir_float_text(value, type_name) is None


def test_hex_text() -> None:
    """Hex patterns are uppercase and as wide as the type."""
    assert hex_float_text(0xFF800000, "f32") == "0xFF800000"
    assert hex_float_text(0x7C00, "f16") == "0x7C00"
    assert hex_float_text(0x7F, "f8E4M3FN") == "0x7F"


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(sorted(DTYPES)),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
)
def test_printed_text_reads_back_exactly(type_name: str, raw: float) -> None:
    """Whatever is printed in decimal denotes exactly the stored value of its type."""
    with np.errstate(over="ignore"):
        value = float(np.array([raw]).astype(DTYPES[type_name])[0])
    if not np.isfinite(value):
        return
    text = mlir_float_text(value, type_name)
    if text is not None:
        assert round_to_semantics(Fraction(text), SEMANTICS[type_name]) == Fraction(value)


@pytest.mark.skipif(MLIR_OPT is None, reason="mlir-opt-22 (Debian mlir-22-tools) not installed")
def test_matches_mlir_opt_on_seeded_values(tmp_path) -> None:
    """The same spelling as mlir-opt-22 for 1,200 seeded values of four float types."""
    rng = np.random.default_rng(7)
    cases: list[tuple[str, float, int]] = []
    for type_name, dtype in DTYPES.items():
        magnitudes = 10.0 ** rng.integers(-8, 12, 300)
        with np.errstate(over="ignore"):
            values = (rng.standard_normal(300) * magnitudes).astype(dtype)
        itemsize = np.dtype(dtype).itemsize
        for value in values:
            bits = int(np.array([value]).view(f"u{itemsize}")[0])
            cases.append((type_name, float(value), bits))
    widths = {"f16": 4, "bf16": 4, "f32": 8, "f64": 16}
    lines = [f'"t.o"() {{v = 0x{b:0{widths[t]}X} : {t}}} : () -> ()' for t, _, b in cases]
    source = tmp_path / "floats.mlir"
    source.write_text("\n".join(lines))
    printed = subprocess.run(
        [MLIR_OPT, "--allow-unregistered-dialect", str(source)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    expected = re.findall(r"v = (\S+) : ", printed)
    assert len(expected) == len(cases)
    for (type_name, value, bits), text in zip(cases, expected, strict=True):
        assert (mlir_float_text(value, type_name) or hex_float_text(bits, type_name)) == text
