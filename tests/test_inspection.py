"""Compression report: schemes, stored bytes, bits per weight and SNR, hand-checked."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from coreai_opt.inspection import bits_per_weight, compression_report
from coreai_opt.pipeline import Pipeline
from coreai_opt.program import AIProgram

WEIGHT = np.array(
    [[-2.0, 0.5, 1.0, -0.5, 0.25, 0.75, -1.25, 1.5], [0.2, 1.8, -1.5, 0.0, 0.1, -0.3, 0.9, -0.7]],
    dtype=np.float16,
)


def program_text(weight: np.ndarray) -> str:
    """One [out, in] weight used through transpose + matmul, as a dense literal."""
    out_dim, in_dim = weight.shape
    rows = ", ".join("[" + ", ".join(f"{v:.6e}" for v in row) + "]" for row in weight)
    w_type, t_type = f"tensor<{out_dim}x{in_dim}xf16>", f"tensor<{in_dim}x{out_dim}xf16>"
    return f"""module {{
  coreai.graph @main(%x: tensor<1x{in_dim}xf16>) -> (tensor<1x{out_dim}xf16>) {{
    %w = coreai.constant dense<[{rows}]> : {w_type}
    %perm = coreai.constant dense<[1, 0]> : tensor<2xui32>
    %wt = coreai.transpose %w, %perm : ({w_type}, tensor<2xui32>) -> {t_type}
    %y = coreai.batch_matmul %x, %wt : (tensor<1x{in_dim}xf16>, {t_type}) -> tensor<1x{out_dim}xf16>
    coreai.output %y : tensor<1x{out_dim}xf16>
  }}
}}
"""


def test_int8_per_tensor_bytes_bpw_and_snr():
    original = AIProgram.parse(program_text(WEIGHT))
    compressed = original.copy()
    Pipeline.parse("quantize<dtype=int8,granularity=per_tensor,weight_num_threshold=0>").run(
        compressed
    )
    report = compression_report(original, compressed)
    (entry,) = report.weights
    # data 16 x si8 + scale (1 f16) + zero point splat (1 si8) + offset splat (1 f16)
    assert entry.stored_bytes == 16 + 2 + 1 + 2
    assert entry.bits_per_weight == pytest.approx(8 * 21 / 16)
    assert entry.scheme == "int8 per_tensor sym"
    assert entry.shape == [2, 8] and entry.consumer == "coreai.transpose"
    # Independent dequantization: scale = 2/127 rounded to f16, round half to even.
    scale = np.float16(2.0 / 127)
    restored = (
        np.clip(np.rint(WEIGHT.astype(np.float32) / np.float32(scale)), -127, 127)
        * np.float32(scale)
    ).astype(np.float16)
    reference = WEIGHT.astype(np.float64)
    expected = 10 * math.log10(np.sum(reference**2) / np.sum((reference - restored) ** 2))
    assert entry.snr_db == pytest.approx(expected, abs=1e-9)
    assert report.snr_db == pytest.approx(expected, abs=1e-9)
    assert report.bytes_before == 32 and report.bytes_after == 21


def test_program_alone_and_dense_weights():
    report = bits_per_weight(AIProgram.parse(program_text(WEIGHT)))
    (entry,) = report.weights
    assert entry.scheme == "dense f16" and entry.bits_per_weight == 16 and entry.snr_db is None
    assert report.total_weights == 16


def test_sparse_palettized_scheme_and_total_snr_weighting():
    weight = np.random.default_rng(0).standard_normal((64, 256)).astype(np.float16)
    original = AIProgram.parse(program_text(weight))
    compressed = original.copy()
    Pipeline.parse("sparsify<target_sparsity=0.5>,palettize<n_bits=4>").run(compressed)
    (entry,) = compression_report(original, compressed).weights
    assert entry.scheme == "sparse 50% + palettize 4-bit per_tensor"
    # values 8192 x 4 bits + LUT 16 f16 + axis 2 bytes + mask 16384 bits
    assert entry.stored_bytes == 4096 + 32 + 2 + 2048
    assert entry.snr_db is not None and 0 < entry.snr_db < 20


def test_json_is_valid_and_documented_keys():
    original = AIProgram.parse(program_text(WEIGHT))
    compressed = original.copy()
    Pipeline.parse("palettize<n_bits=2,weight_num_threshold=0>").run(compressed)
    data = json.loads(compression_report(original, compressed).to_json())
    assert set(data) == {
        "weights",
        "total_weights",
        "bytes_before",
        "bytes_after",
        "bits_per_weight",
        "snr_db",
    }
    assert set(data["weights"][0]) == {
        "name",
        "location",
        "shape",
        "consumer",
        "original_dtype",
        "scheme",
        "stored_bytes",
        "bits_per_weight",
        "snr_db",
        "note",
    }


def test_cli_report_table_and_json(tmp_path):
    source = tmp_path / "in.mlir"
    source.write_text(program_text(WEIGHT))
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "coreai_opt.cli",
            str(source),
            "-p",
            "quantize<dtype=int4,granularity=per_tensor,weight_num_threshold=0>",
            "--report",
            "-o",
            str(tmp_path / "out.mlir"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "int4 per_tensor sym" in out.stdout and "bits/weight" in out.stdout
    json_path = tmp_path / "report.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "coreai_opt.cli",
            str(source),
            "-p",
            "optimize",
            f"--report={json_path}",
            "-o",
            str(tmp_path / "out2.mlir"),
        ],
        check=True,
    )
    assert json.loads(json_path.read_text())["weights"][0]["snr_db"] == "inf"


def test_plot_written(tmp_path):
    pytest.importorskip("matplotlib")
    from coreai_opt.inspection import plot_report

    original = AIProgram.parse(program_text(WEIGHT))
    compressed = original.copy()
    Pipeline.parse("quantize<weight_num_threshold=0>").run(compressed)
    plot_report(compression_report(original, compressed), str(tmp_path / "r.png"))
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"


def test_snr_of_non_finite_and_extreme_energies():
    from coreai_opt.inspection import snr_from_energies

    assert snr_from_energies(1.0, 0.0) == math.inf  # exact
    assert snr_from_energies(0.0, 1.0) == -math.inf  # no signal
    assert snr_from_energies(1.0, math.inf) == -math.inf  # a weight decompressing to inf
    for undefined in ((math.nan, 1.0), (1.0, math.nan), (math.inf, 1.0), (math.inf, math.inf)):
        assert snr_from_energies(*undefined) is None
    # Quotients beyond float64's range (once `math domain error`).
    assert snr_from_energies(1e-300, 1e300) == pytest.approx(-6000)
    assert snr_from_energies(1e300, 1e-300) == pytest.approx(6000)
    assert snr_from_energies(100.0, 1.0) == 20.0


def test_json_is_strict_for_every_snr():
    original = AIProgram.parse(program_text(WEIGHT))
    report = compression_report(original, original.copy())
    for value, written in ((math.inf, "inf"), (-math.inf, "-inf"), (None, None), (12.5, 12.5)):
        report.weights[0].snr_db = report.snr_db = value
        data = json.loads(report.to_json(), parse_constant=pytest.fail)
        assert data["snr_db"] == written and data["weights"][0]["snr_db"] == written
    report.snr_db = math.nan  # never produced; refused rather than written as NaN
    with pytest.raises(ValueError):
        report.to_json()


def test_unnamed_weights_have_an_snr():
    """Apple prints weights as `%0 = coreai.constant ...` (no name): the report still finds
    each compressed weight's original (the decompressed copy is matched by position)."""
    text = program_text(WEIGHT).replace("%w =", "%0 =").replace("%w,", "%0,")
    original = AIProgram.parse(text, "model.mlir")
    compressed = original.copy()
    Pipeline.parse("quantize<dtype=int8,weight_num_threshold=0>").run(compressed)
    [entry] = [w for w in compression_report(original, compressed).weights if w.shape == [2, 8]]
    assert entry.name == "model.mlir:3:5"
    assert entry.scheme.startswith("int8") and entry.snr_db is not None and entry.snr_db > 30


def test_table_keeps_the_end_of_long_names():
    """A weight named by its location keeps `file:line:col`; an op name its last word."""
    from coreai_opt.inspection import tail

    assert tail("short", 24) == "short"
    assert tail("/a/very/long/path/to/model.mlir:120:5", 24) == "\u2026ath/to/model.mlir:120:5"
    assert len(tail("coreai.decomposable.broadcasting_mul", 22)) == 22


def test_weights_at_or_below_the_threshold_say_so():
    """A weight the passes skip for its size is not silently dense: the report says why."""
    original = AIProgram.parse(program_text(WEIGHT))
    compressed = original.copy()
    pipeline = Pipeline.parse("quantize<dtype=int8,weight_num_threshold=16>")
    pipeline.run(compressed)
    left = {name: reason for run in pipeline.runs for name, reason in run.left_dense.items()}
    report = compression_report(original, compressed, left)
    [entry] = [w for w in report.weights if w.name == "w"]
    assert entry.scheme == "dense f16"
    assert entry.note == "left dense: 16 elements, not more than weight_num_threshold=16"


def test_sparse_per_channel_scale_scheme_and_bytes():
    weight = np.random.default_rng(1).standard_normal((64, 256)).astype(np.float16)
    original = AIProgram.parse(program_text(weight))
    compressed = original.copy()
    Pipeline.parse(
        "sparsify<target_sparsity=0.5>,quantize<dtype=int8,sparse_scale=per_channel>"
    ).run(compressed)
    (entry,) = compression_report(original, compressed).weights
    assert entry.scheme == "sparse 50% + int8 per_channel sym"
    # codes 8192 x si8 + mask 16384 bits + 64 f16 scales + zero point and offset splats
    assert entry.stored_bytes == 8192 + 2048 + 128 + 1 + 2


def test_total_snr_leaves_out_unchanged_weights():
    """A huge constant the pipeline leaves alone (an attention mask of -3.4e38) adds signal
    and no noise: it must not enter the total (it once made MiniLM's total 742 dB)."""
    text = program_text(WEIGHT).replace(
        "%y = coreai.batch_matmul %x, %wt",
        "%mask = coreai.constant dense<-3.4e+38> : tensor<1x2xf16>\n"
        "    %z = coreai.batch_matmul %x, %wt",
    )
    text = text.replace(
        "coreai.output %y",
        "%y = coreai.decomposable.broadcasting_add %z, %mask : "
        "(tensor<1x2xf16>, tensor<1x2xf16>) -> tensor<1x2xf16>\n    coreai.output %y",
    )
    original = AIProgram.parse(text.replace("dense<-3.4e+38>", "dense<-6.0e+04>"))
    compressed = original.copy()
    Pipeline.parse("quantize<dtype=int4,granularity=per_tensor,weight_num_threshold=0>").run(
        compressed
    )
    report = compression_report(original, compressed)
    weight_entry = next(e for e in report.weights if e.shape == [2, 8])
    mask_entry = next(e for e in report.weights if e.shape == [1, 2])
    assert mask_entry.snr_db == math.inf and 0 < weight_entry.snr_db < 40
    assert report.snr_db == pytest.approx(weight_entry.snr_db, abs=1e-9)
    unchanged = compression_report(original, original.copy())
    assert unchanged.snr_db == math.inf
