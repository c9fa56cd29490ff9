"""No silent weight corruption (issue 15): the reproducers, and properties at the range limits.

Every compression pass either writes a weight that decompresses to finite values within the
documented error bound (docs/quantization.md, docs/palettization.md), or leaves it alone with
a warning naming it: weights holding NaN or +-inf, and f64 weights. All inputs are seeded.
"""

from __future__ import annotations

import json
import math

import ml_dtypes
import numpy as np
import pytest
from coreai_opt.dialects.coreai import ConstantOp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coreai_opt.cli import main
from coreai_opt.inspection import compression_report
from coreai_opt.ir.elements import elements_array, make_elements_attr
from coreai_opt.numerics.quantization import (
    dequantize_blockwise,
    integer_range,
    parameter_shape,
    quantize_fp8,
    quantize_int,
    quantize_mxfp4,
)
from coreai_opt.pipeline import Pipeline
from coreai_opt.program import AIProgram
from tests.conftest import (
    constants_by_name,
    program_with_weights,
    weights_by_key,
    weights_module_text,
)

F16 = np.dtype(np.float16)
BF16 = np.dtype(ml_dtypes.bfloat16)
F32 = np.dtype(np.float32)
E4M3 = np.dtype(ml_dtypes.float8_e4m3fn)
E5M2 = np.dtype(ml_dtypes.float8_e5m2)
E2M1 = np.dtype(ml_dtypes.float4_e2m1fn)
F16_MAX = 65504.0


def issue_weight(dtype: np.dtype = F16, value: float = F16_MAX, seed: int = 15) -> np.ndarray:
    """The issue's weight: seeded N(0, 0.02) [32, 64], one element set to `value`."""
    rng = np.random.default_rng(seed)
    weight = (rng.standard_normal((32, 64)) * 0.02).astype(dtype)
    weight[3, 5] = value
    return weight


def decompressed(program: AIProgram) -> dict[str, np.ndarray]:
    """The weights as the device computes them (the `decompress` pass), by SSA name."""
    copy = program.copy()
    Pipeline.parse("decompress").run(copy)
    return constants_by_name(copy)


def run(pipeline: str, program: AIProgram) -> Pipeline:
    """Run `pipeline` (weights of any size qualify) on `program` in place."""
    passes = Pipeline.parse(pipeline)
    passes.run(program)
    return passes


def float64(array: np.ndarray) -> np.ndarray:
    return np.asarray(array).astype(np.float64)


# --------------------------------------------------------------------------- reproducers


@pytest.mark.parametrize(
    "pipeline",
    [
        "quantize<dtype=int8>",
        "quantize<dtype=int4,granularity=per_block,block_size=32>",
        "quantize<dtype=uint8,qscheme=asymmetric>",
        "quantize<dtype=fp8_e4m3fn>",
        "quantize<dtype=fp8_e5m2,granularity=per_tensor>",
        "palettize<n_bits=8,lut_dtype=int8>",
        "palettize<n_bits=4,lut_dtype=uint8,granularity=per_channel>",
        "palettize<n_bits=4,lut_dtype=fp8_e4m3fn,enable_per_channel_scale=true>",
    ],
)
def test_f16_maximum_survives_compression(pipeline: str) -> None:
    """65504 once decompressed to +inf (quantize: scale 516, 127 x 516 > 65504) or to 0
    (an int8 LUT whose 65504 entry decoded to inf, so the weight took another entry)."""
    weight = issue_weight()
    program = program_with_weights(w=weight)
    run(pipeline, program)
    assert "coreai.constant dense_resource<w>" not in str(program)  # it was compressed
    restored = float64(decompressed(program)["w"])
    assert np.isfinite(restored).all()
    assert abs(restored[3, 5] - F16_MAX) <= F16_MAX / 100


def test_issue_report_of_the_f16_maximum_is_finite(tmp_path) -> None:
    """`--report` on the int8 case: exit 0, strict JSON with a finite SNR."""
    source, report = tmp_path / "w.mlir", tmp_path / "r.json"
    source.write_text(weights_module_text({"w": issue_weight()}))
    argv = [
        str(source),
        "-p",
        "quantize<dtype=int8>",
        f"--report={report}",
        "-o",
        str(tmp_path / "out.mlir"),
    ]
    assert main(argv) == 0
    data = json.loads(report.read_text(), parse_constant=pytest.fail)
    assert math.isfinite(data["weights"][0]["snr_db"]) and math.isfinite(data["snr_db"])


@pytest.mark.parametrize("planted", [-np.inf, np.inf, np.nan])
@pytest.mark.parametrize(
    "pipeline",
    [
        "quantize<dtype=int8>",
        "quantize<dtype=fp4_e2m1fn,granularity=per_block,block_size=32>",
        "palettize<n_bits=4>",
        "palettize<n_bits=8,lut_dtype=int8,granularity=per_channel>",
        "palettize<enable_per_channel_scale=true>",
        "palettize<n_bits=2,cluster_dim=2>",
        "sparsify<target_sparsity=0.5>",
        "sparsify<n_m_ratio=(2,4)>",
        "sparsify<target_sparsity=0.5,block_size=2>",
    ],
)
def test_non_finite_weights_are_skipped_by_every_pass(pipeline: str, planted: float) -> None:
    """One -inf once gave the LUT {-3.4e38, 0} and turned every other value into 0; NaN was
    silently replaced. Now the weight is left bit for bit as it was, with a warning."""
    bad, good = issue_weight(value=planted), issue_weight(value=0.5, seed=16)
    program = program_with_weights(bad=bad, good=good)
    passes = run(pipeline, program)
    warnings = passes.runs[0].warnings
    assert len(warnings) == 1 and "skipping constant 'bad' (tensor<32x64xf16>)" in warnings[0]
    assert "non-finite weights are never compressed" in warnings[0]
    assert passes.runs[0].statistics["constants-skipped"] == 1
    kept = weights_by_key(program)
    assert kept["bad"].tobytes() == bad.tobytes()
    assert "good" not in kept  # the finite weight was compressed


def test_issue_report_of_a_skipped_infinite_weight(tmp_path) -> None:
    """The issue's `SNR nan`: a skipped weight holding -inf has no SNR (JSON null)."""
    source, report = tmp_path / "w.mlir", tmp_path / "r.json"
    weights = {"bad": issue_weight(value=-np.inf), "good": issue_weight(value=0.5, seed=16)}
    source.write_text(weights_module_text(weights))
    argv = [str(source), "-p", "palettize", f"--report={report}", "-o", str(tmp_path / "out.mlir")]
    assert main(argv) == 0
    data = json.loads(report.read_text(), parse_constant=pytest.fail)
    by_name = {entry["name"]: entry for entry in data["weights"]}
    assert by_name["bad"]["snr_db"] is None and by_name["bad"]["scheme"] == "dense f16"
    assert by_name["good"]["snr_db"] > 15 and data["snr_db"] == by_name["good"]["snr_db"]
    assert set(by_name) == {"bad", "good"}
    assert by_name["bad"]["note"].startswith("left dense: holds 1 -inf value")
    alone = tmp_path / "alone.mlir"
    alone.write_text(weights_module_text({"bad": weights["bad"]}))
    argv = [str(alone), "-p", "palettize", f"--report={report}", "-o", str(tmp_path / "o.mlir")]
    assert main(argv) == 0
    assert json.loads(report.read_text(), parse_constant=pytest.fail)["snr_db"] is None


@pytest.mark.parametrize("granularity", ["per_tensor", "per_channel", "per_grouped_channel"])
@pytest.mark.parametrize("exact", ["true", "false"])
def test_per_channel_scale_of_a_weight_holding_1e30(granularity: str, exact: str) -> None:
    """Was `internal error: IndexError` in kmeans._segment_argmin: importance weights scale^2
    1e60 apart vanished from the DP's prefix sums (0/0 costs)."""
    weight = issue_weight(F32, 1e30)
    program = program_with_weights(w=weight)
    run(
        f"palettize<enable_per_channel_scale=true,granularity={granularity},group_size=4,"
        f"enable_fast_kmeans_mode={exact}>",
        program,
    )
    restored = float64(decompressed(program)["w"])
    assert np.isfinite(restored).all()
    assert abs(restored[3, 5] - 1e30) <= 1e30 * 1e-6
    others = np.delete(np.arange(32), 3)  # the rows without 1e30 are still palettized well
    error = restored[others] - float64(weight)[others]
    assert np.sqrt(np.mean(error**2)) < 0.02 / 4


def old_int8_output(weight: np.ndarray) -> AIProgram:
    """What `quantize<dtype=int8>` wrote before the fix: row 3's scale 516 (127 x 516 > 65504)."""
    program = program_with_weights(w=weight)
    run("quantize<dtype=int8>", program)
    (scale_op,) = [op for op in program.constants() if op.result.name_hint == "w_scale"]
    scale = elements_array(scale_op.value).copy()
    scale[3, 0] = 516.0
    assert isinstance(scale_op, ConstantOp)
    scale_op.value = make_elements_attr(scale, scale_op.result.type, "w_scale")
    return program


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
def test_report_of_a_weight_decompressing_to_inf() -> None:
    """Was `ValueError: math domain error`; the SNR is -inf, written "-inf" in strict JSON."""
    weight = issue_weight()
    original, compressed = program_with_weights(w=weight), old_int8_output(weight)
    assert np.isinf(float64(decompressed(compressed)["w"])).any()
    report = compression_report(original, compressed)
    assert report.weights[0].snr_db == -math.inf and report.snr_db == -math.inf
    assert "-inf" in report.table()
    data = json.loads(report.to_json(), parse_constant=pytest.fail)
    assert data["weights"][0]["snr_db"] == "-inf" and data["snr_db"] == "-inf"


@pytest.mark.parametrize(
    "pipeline",
    ["quantize<dtype=int8>", "palettize<n_bits=4>", "sparsify<target_sparsity=0.5>"],
)
def test_f64_weights_are_skipped_with_a_warning(pipeline: str) -> None:
    """f64 weights were silently left alone; Core AI has no f64 scale, LUT or sparse type."""
    wide = issue_weight(np.dtype(np.float64), 0.5)
    program = program_with_weights(wide=wide, good=issue_weight(value=0.5, seed=16))
    passes = run(pipeline, program)
    (warning,) = passes.runs[0].warnings
    assert "skipping constant 'wide' (tensor<32x64xf64>): f64 weights are not compressed" in (
        warning
    )
    kept = weights_by_key(program)
    assert kept["wide"].tobytes() == wide.tobytes() and "good" not in kept


# --------------------------------------------------------------------------- properties


def spacing(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Gap between |value| (rounded to `dtype`) and the next magnitude of `dtype` (float64)."""
    magnitude = np.abs(float64(values)).astype(dtype)
    bits = np.dtype(f"u{dtype.itemsize}")
    up = (magnitude.view(bits) + bits.type(1)).view(dtype)
    down = (np.maximum(magnitude.view(bits), 1) - bits.type(1)).view(dtype)
    with np.errstate(invalid="ignore"):
        gap = float64(up) - float64(magnitude)
    below = float64(magnitude) - float64(down)  # at the maximum the next value up is inf
    return np.where(np.isfinite(gap), gap, below)


def element_gap(scaled: np.ndarray, element: np.dtype) -> np.ndarray:
    """Spacing of an 8/4-bit float format at |scaled| (its subnormal spacing below normals)."""
    info = ml_dtypes.finfo(element)
    magnitude = np.maximum(np.abs(scaled), float(info.smallest_normal))
    exponent = np.floor(np.log2(magnitude))
    return 2.0 ** (exponent - info.nmant)


def repeat_blocks(params: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    for axis, dim in enumerate(shape):
        params = np.repeat(params, dim // params.shape[axis], axis=axis)
    return params


@st.composite
def limit_weights(draw, dtypes=(F16, BF16, F32)) -> np.ndarray:
    """Weights at the limits of their type: across the whole range, tiny subnormals, or mixed
    magnitudes, with planted +-max, the value below max, the smallest subnormal and zeros."""
    dtype = draw(st.sampled_from(dtypes))
    rows, cols = draw(st.sampled_from([2, 4, 8])), draw(st.sampled_from([32, 64]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    info = ml_dtypes.finfo(dtype)
    top, tiny = float(info.max), float(info.smallest_subnormal)
    kind = draw(st.sampled_from(["range", "subnormal", "mixed"]))
    if kind == "range":
        values = rng.uniform(-top, top, (rows, cols))
    elif kind == "subnormal":
        values = rng.integers(-40, 41, (rows, cols)) * tiny
    else:
        exponents = rng.uniform(math.log10(tiny), math.log10(top), (rows, cols))
        values = rng.standard_normal((rows, cols)) * 10.0**exponents
    below_top = float((np.array([top], dtype).view(f"u{dtype.itemsize}") - 1).view(dtype)[0])
    specials = [top, -top, below_top, -below_top, tiny, -tiny, 0.0]
    for _ in range(draw(st.integers(0, 6))):
        values[rng.integers(rows), rng.integers(cols)] = specials[rng.integers(len(specials))]
    return np.clip(values, -top, top).astype(dtype)


BLOCKS = {
    "per_tensor": (0, 0),
    "per_channel": (1, 0),
    "per_block": (1, 32),
    "per_grouped_channel": (2, 0),
}
INTEGER_SCHEMES = [
    (bits, signed, symmetric)
    for bits in (2, 4, 8)
    for signed in (True, False)
    for symmetric in (True, False)
]


def block_span(weight: np.ndarray, blocks: tuple[int, int]) -> np.ndarray:
    """max(0, max w) - min(0, min w) of every block, expanded to the weight's shape."""
    w = float64(weight)
    params = parameter_shape(w.shape, blocks)
    blocked = w.reshape(params[0], w.shape[0] // params[0], params[1], w.shape[1] // params[1])
    hi = np.maximum(blocked.max(axis=(1, 3)), 0)
    lo = np.minimum(blocked.min(axis=(1, 3)), 0)
    return repeat_blocks(hi - lo, w.shape)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    weight=limit_weights(),
    scheme=st.sampled_from(INTEGER_SCHEMES),
    granularity=st.sampled_from(list(BLOCKS)),
)
def test_integer_quantization_at_the_range_limits(weight, scheme, granularity) -> None:
    """Finite, and |w - w_hat| <= s/2 + (qmax - qmin) ulp(s) (+ s for an asymmetric block
    spanning more than the type's maximum), + half a spacing of the weight type (rounding)."""
    n_bits, signed, symmetric = scheme
    blocks = BLOCKS[granularity]
    q = quantize_int(weight, n_bits, signed, symmetric, blocks)
    restored = float64(dequantize_blockwise(q.data, q.scale, q.offset, None, weight.dtype))
    assert np.isfinite(restored).all()
    qmin, qmax = integer_range(n_bits, signed, symmetric)
    top = float(ml_dtypes.finfo(weight.dtype).max)
    scale = repeat_blocks(float64(q.scale), weight.shape)
    offset = repeat_blocks(float64(q.offset), weight.shape)
    assert (np.maximum(offset - qmin, qmax - offset) * scale <= top).all()  # every code
    bound = scale / 2 + (qmax - qmin) * repeat_blocks(spacing(q.scale, weight.dtype), weight.shape)
    if not symmetric:
        bound += np.where(block_span(weight, blocks) > top, scale, 0.0)
    bound += spacing(restored, weight.dtype) / 2
    error = np.abs(float64(weight) - restored)
    assert (error <= bound * (1 + 1e-9)).all(), float((error / bound).max())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    weight=limit_weights(),
    element=st.sampled_from([E4M3, E5M2]),
    granularity=st.sampled_from(list(BLOCKS)),
)
def test_fp8_quantization_at_the_range_limits(weight, element, granularity) -> None:
    """Finite, and |w - w_hat| <= s gap(|w|/s) / 2 + E ulp(s) (E the format's maximum), +
    half a spacing of the weight type."""
    q = quantize_fp8(weight, element, BLOCKS[granularity], mx=False)
    restored = float64(dequantize_blockwise(q.data, q.scale, q.offset, None, weight.dtype))
    assert np.isfinite(restored).all()
    largest = float(ml_dtypes.finfo(element).max)
    scale = repeat_blocks(float64(q.scale), weight.shape)
    assert (largest * scale <= float(ml_dtypes.finfo(weight.dtype).max)).all()
    scaled = np.minimum(np.abs(float64(weight)) / scale, largest)
    bound = scale * element_gap(scaled, element) / 2
    bound += largest * repeat_blocks(spacing(q.scale, weight.dtype), weight.shape)
    bound += spacing(restored, weight.dtype) / 2
    error = np.abs(float64(weight) - restored)
    assert (error <= bound * (1 + 1e-9)).all(), float((error / bound).max())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    weight=limit_weights(),
    element=st.sampled_from([E4M3, E5M2, E2M1]),
    granularity=st.sampled_from(list(BLOCKS)),
)
def test_mx_quantization_at_the_range_limits(weight, element, granularity) -> None:
    """MX (E8M0 scales): finite, and the OCP bound: half a gap of the element format at
    |w| / 2^e inside the format's range, saturation (|w| - E 2^e) beyond it."""
    blocks = BLOCKS["per_block"] if element == E2M1 else BLOCKS[granularity]
    if element == E2M1:
        q = quantize_mxfp4(weight, blocks)
    else:
        q = quantize_fp8(weight, element, blocks, mx=True)
    restored = float64(dequantize_blockwise(q.data, q.scale, q.offset, None, weight.dtype))
    assert np.isfinite(restored).all()
    largest = float(ml_dtypes.finfo(element).max)
    scale = repeat_blocks(float64(q.scale), weight.shape)
    magnitude = np.abs(float64(weight))
    scaled = magnitude / scale
    inside = scale * element_gap(np.minimum(scaled, largest), element) / 2
    bound = np.where(scaled <= largest, inside, magnitude - largest * scale + inside)
    bound += spacing(restored, weight.dtype) / 2
    error = np.abs(magnitude * np.sign(float64(weight)) - restored)
    assert (error <= bound * (1 + 1e-9)).all(), float((error / bound).max())


LUT_PIPELINES = st.builds(
    lambda bits, granularity, lut, scale: (
        f"palettize<n_bits={bits},granularity={granularity},group_size=2,lut_dtype={lut},"
        f"enable_per_channel_scale={scale},weight_num_threshold=0>"
    ),
    st.sampled_from([1, 2, 3, 4, 8]),
    st.sampled_from(["per_tensor", "per_channel", "per_grouped_channel"]),
    st.sampled_from(["none", "int8", "uint8", "fp8_e4m3fn", "fp8_e5m2"]),
    st.sampled_from(["false", "true"]),
)


def nearest_entry_slack(
    weight: np.ndarray, restored: np.ndarray, cells: list[np.ndarray], channel: np.ndarray
) -> float:
    """How far (beyond rounding) some weight is from its nearest used entry: <= 0 when every
    value decodes to the nearest of the entries its LUT (and channel) decodes to."""
    w, r = float64(weight), float64(restored)
    worst = -math.inf
    for rows in cells:
        entries = np.unique(r[rows])
        values, got = w[rows].reshape(-1, 1), r[rows].reshape(-1)
        best = np.abs(values - entries[None, :]).min(axis=1)
        # Rounding slack: the value divided by its channel scale, and the decoded entry, are
        # each rounded to the weight type before and after the assignment.
        scale = channel[rows].reshape(-1)
        slack = 2 * scale * spacing(values.reshape(-1) / scale, weight.dtype)
        slack += 2 * spacing(np.maximum(np.abs(values.reshape(-1)), np.abs(got)), weight.dtype)
        excess = np.abs(values.reshape(-1) - got) - best - slack
        worst = max(worst, float(excess.max()))
    return worst


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(weight=limit_weights(dtypes=(F16, BF16)), pipeline=LUT_PIPELINES)
def test_palettization_at_the_range_limits(weight, pipeline) -> None:
    """Through the pass and `decompress`: finite, and every value decodes to the nearest
    entry of its LUT as decoded (after LUT quantization and the per-channel scale)."""
    program = program_with_weights(w=weight)
    passes = run(pipeline, program)
    assert passes.runs[0].warnings == []
    restored = decompressed(program)["w"]
    assert restored.dtype == weight.dtype
    assert np.isfinite(float64(restored)).all()
    rows = weight.shape[0]
    if "per_channel_scale=true" in pipeline:
        channel = np.abs(float64(weight)).max(axis=1, keepdims=True)
        channel = np.where(channel > 0, channel, 1.0) * np.ones_like(float64(weight))
        cells = [np.arange(rows) == r for r in range(rows)]
    else:
        channel = np.ones_like(float64(weight))
        group = {"per_tensor": rows, "per_channel": 1, "per_grouped_channel": 2}[
            pipeline.split("granularity=")[1].split(",")[0]
        ]
        cells = [np.arange(rows) // group == g for g in range(rows // group)]
    assert nearest_entry_slack(weight, restored, cells, channel) <= 0


PLANTED_PIPELINES = [
    "quantize<dtype=int4,granularity=per_block,block_size=32,weight_num_threshold=0>",
    "quantize<dtype=uint8,qscheme=asymmetric,weight_num_threshold=0>",
    "quantize<dtype=fp8_e5m2,scale_dtype=fp8_e8m0fnu,weight_num_threshold=0>",
    "palettize<n_bits=3,weight_num_threshold=0>",
    "palettize<n_bits=4,granularity=per_channel,lut_dtype=int8,weight_num_threshold=0>",
    "palettize<n_bits=2,enable_per_channel_scale=true,weight_num_threshold=0>",
    "sparsify<target_sparsity=0.75,weight_num_threshold=0>",
    "sparsify<n_m_ratio=(1,4),weight_num_threshold=0>",
]


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    weight=limit_weights(dtypes=(F16, BF16)),
    planted=st.lists(st.sampled_from([np.nan, np.inf, -np.inf]), min_size=1, max_size=4),
    pipeline=st.sampled_from(PLANTED_PIPELINES),
    seed=st.integers(0, 2**32 - 1),
)
def test_planted_non_finite_weights_are_skipped_never_altered(
    weight, planted, pipeline, seed
) -> None:
    rng = np.random.default_rng(seed)
    bad = weight.copy()
    for value in planted:
        bad[rng.integers(bad.shape[0]), rng.integers(bad.shape[1])] = value
    program = program_with_weights(bad=bad, good=weight)
    passes = run(pipeline, program)
    (warning,) = passes.runs[0].warnings
    assert "skipping constant 'bad'" in warning and "never compressed" in warning
    kept = weights_by_key(program)
    assert kept["bad"].tobytes() == bad.tobytes() and "good" not in kept
    assert np.isfinite(float64(decompressed(program)["good"])).all()
