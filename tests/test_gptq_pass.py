"""quantize<algorithm=gptq>: calibration through the executor, the IR, options and errors."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from coreai_opt.errors import PipelineError
from coreai_opt.interpreter import Interpreter, run
from coreai_opt.numerics.gptq import IntegerScheme, gptq_quantize
from coreai_opt.numerics.quantization import dequantize_blockwise
from coreai_opt.pipeline import Pipeline
from coreai_opt.program import AIProgram
from tests.conftest import XDSL_OPT, weights_by_key

TOKENS, IN, HIDDEN, OUT, VOCAB = 64, 64, 96, 48, 40
GPTQ = "quantize<dtype=int4,granularity=per_block,block_size=16,algorithm=gptq"


def resource(name: str, array: np.ndarray) -> str:
    """A dialect resource entry holding `array` (f32)."""
    blob = (4).to_bytes(4, "little") + np.ascontiguousarray(array, np.float32).tobytes()
    return f'      {name}: "0x{blob.hex().upper()}"'


def mlp_text(seed: int = 0, literals: bool = False) -> str:
    """x -> x @ w1 (w1 [in, hidden] used directly: output axis 1) -> relu -> @ w2ᵀ (w2
    [out, hidden] behind a transpose, a PyTorch Linear); an embedding table read by
    gather_nd beside it. Weights are resources, or hex `dense<...>` literals (for xdsl-opt)."""
    rng = np.random.default_rng(seed)
    w1 = rng.standard_normal((IN, HIDDEN)) * 0.1
    w2 = rng.standard_normal((OUT, HIDDEN)) * 0.1
    table = rng.standard_normal((VOCAB, IN)) * 0.1
    f32 = "xf32>"
    x_t, h_t, y_t = (
        f"tensor<{TOKENS}x{IN}{f32}",
        f"tensor<{TOKENS}x{HIDDEN}{f32}",
        (f"tensor<{TOKENS}x{OUT}{f32}"),
    )
    w1_t, w2_t, w2t_t = (
        f"tensor<{IN}x{HIDDEN}{f32}",
        f"tensor<{OUT}x{HIDDEN}{f32}",
        f"tensor<{HIDDEN}x{OUT}{f32}",
    )
    table_t, e_t = f"tensor<{VOCAB}x{IN}{f32}", f"tensor<4x{IN}{f32}"
    text = f"""module {{
  coreai.graph @main(%x: {x_t} {{coreai.name = "x"}}, %ids: tensor<4x1xsi32> {{coreai.name = "ids"}}) -> ({y_t} {{coreai.name = "y"}}, {e_t} {{coreai.name = "e"}}) {{
    %perm = coreai.constant dense<[1, 0]> : tensor<2xui32>
    %w1 = coreai.constant dense_resource<w1> : {w1_t}
    %h = coreai.batch_matmul %x, %w1 : ({x_t}, {w1_t}) -> {h_t}
    %r = coreai.relu %h : ({h_t}) -> {h_t}
    %w2 = coreai.constant dense_resource<w2> : {w2_t}
    %w2_t = coreai.transpose %w2, %perm : ({w2_t}, tensor<2xui32>) -> {w2t_t}
    %y = coreai.batch_matmul %r, %w2_t : ({h_t}, {w2t_t}) -> {y_t}
    %table = coreai.constant dense_resource<table> : {table_t}
    %e = coreai.gather_nd %table at %ids : ({table_t}, tensor<4x1xsi32>) to {e_t}
    coreai.output %y, %e : {y_t}, {e_t}
  }}
}}
{{-#
  dialect_resources: {{
    builtin: {{
{resource("w1", w1)},
{resource("w2", w2)},
{resource("table", table)}
    }}
  }}
#-}}
"""  # noqa: E501
    if literals:
        for name, array in (("w1", w1), ("w2", w2), ("table", table)):
            hex_bytes = np.ascontiguousarray(array, np.float32).tobytes().hex().upper()
            text = text.replace(f"dense_resource<{name}>", f'dense<"0x{hex_bytes}">')
        text = text.split("{-#")[0]  # and no relu: xdsl-opt's universe lacks it
        text = re.sub(r"\n *%r = coreai.relu[^\n]*", "", text).replace("%r,", "%h,")
    return text


def correlated_inputs(samples: int, seed: int = 1) -> list[dict[str, np.ndarray]]:
    """Activations with correlated features of unequal scales (GPTQ's use case)."""
    rng = np.random.default_rng(seed)
    mix = np.eye(IN) + 0.6 * rng.standard_normal((IN, IN))
    scales = rng.uniform(0.1, 3, IN)
    return [
        {
            "x": ((rng.standard_normal((TOKENS, IN)) * scales) @ mix).astype(np.float32),
            "ids": rng.integers(0, VOCAB, (4, 1)).astype(np.int32),
        }
        for _ in range(samples)
    ]


@pytest.fixture
def mlp() -> AIProgram:
    return AIProgram.parse(mlp_text())


def save_samples(path: Path, samples: list[dict[str, np.ndarray]]) -> Path:
    """Samples with a leading sample axis per input."""
    np.savez(path, **{name: np.stack([s[name] for s in samples]) for name in samples[0]})
    return path


def gram(batches: list[np.ndarray]) -> np.ndarray:
    """2 Σ XᵀX as the pass accumulates it: float32 products per run, summed in float64."""
    total = np.zeros((batches[0].shape[1],) * 2)
    for x in batches:
        x = x.astype(np.float32)
        total += x.T @ x
    return 2 * total


def output_error(program: AIProgram, reference: AIProgram, samples: list[dict]) -> float:
    """Σ ‖y − y_ref‖² over the samples."""
    total = 0.0
    for sample in samples:
        y, y_ref = run(program, sample)["y"], run(reference, sample)["y"]
        total += float(np.sum((y.astype(np.float64) - y_ref) ** 2))
    return total


# --------------------------------------------------------------------------- results


def test_gptq_lowers_the_output_error_and_keeps_rtns_ir(mlp: AIProgram, tmp_path: Path) -> None:
    samples = correlated_inputs(4)
    path = save_samples(tmp_path / "cal.npz", samples)
    gptq, rtn = mlp.copy(), mlp.copy()
    pipeline = Pipeline.parse(f"{GPTQ},calibration={path}>")
    pipeline.run(gptq)
    Pipeline.parse("quantize<dtype=int4,granularity=per_block,block_size=16>").run(rtn)
    stats = pipeline.runs[0].statistics
    assert stats["gptq-weights"] == 2 and stats["gptq-fallbacks"] == 1  # the gather table
    assert stats["calibration-tokens"] == 4 * TOKENS
    # the same ops and types as round-to-nearest: only the constants' contents differ
    strip = re.compile(r"dense_resource<[^>]*>|0x[0-9A-F]+")
    assert strip.sub("", str(gptq)).split("{-#")[0] == strip.sub("", str(rtn)).split("{-#")[0]
    assert "coreai.blockwise_shift_scale" in str(gptq)
    # the table has the RTN codes, the matmul weights GPTQ's, and GPTQ's output is better
    assert np.array_equal(weights_by_key(gptq)["table_data"], weights_by_key(rtn)["table_data"])
    assert not np.array_equal(weights_by_key(gptq)["w1_data"], weights_by_key(rtn)["w1_data"])
    assert output_error(gptq, mlp, samples) < 0.7 * output_error(rtn, mlp, samples)
    held_out = correlated_inputs(6, seed=1)[4:]
    assert output_error(gptq, mlp, held_out) < output_error(rtn, mlp, held_out)


def test_the_first_layer_is_gptq_on_the_inputs_statistics(mlp: AIProgram, tmp_path: Path):
    """w1 is used as matmul y ([in, out]): its statistics are xᵀx over the input's rows,
    and GPTQ sees it as [out, in]; checked against the numerics called directly."""
    samples = correlated_inputs(3)
    compressed = mlp.copy()
    path = save_samples(tmp_path / "cal.npz", samples)
    Pipeline.parse(f"{GPTQ},calibration={path},sequential=false>").run(compressed)
    w1 = weights_by_key(mlp)["w1"]
    expected = gptq_quantize(
        w1.T, gram([s["x"] for s in samples]), IntegerScheme(4, True, True, (1, 16))
    )
    stored = weights_by_key(compressed)
    np.testing.assert_array_equal(stored["w1_data"], expected.data.T)
    np.testing.assert_array_equal(stored["w1_scale"], expected.scale.T)


def test_sequential_statistics_see_the_earlier_layer_quantized(mlp: AIProgram) -> None:
    """With sequential=true the second layer's statistics come from relu(x @ ŵ1); without,
    from relu(x @ w1): the two differ, and each matches the numerics on its activations."""
    samples = correlated_inputs(2)
    spec = f"{GPTQ},calibration_samples=2,calibration_seed=5"
    results = {}
    for sequential in (True, False):
        program = mlp.copy()
        pipeline = Pipeline.parse(f"{spec},sequential={str(sequential).lower()}>")
        pipeline.run(program)
        results[sequential] = (program, pipeline.runs[0].statistics)
    from coreai_opt.interpreter import random_inputs

    samples = [random_inputs(mlp, seed=5 + i) for i in range(2)]
    stored = weights_by_key(results[True][0])
    w1_hat = dequantize_blockwise(
        stored["w1_data"],
        stored["w1_scale"],
        None,
        None,
        np.float32,  # zero points 0
    )
    w2 = weights_by_key(mlp)["w2"]
    for sequential, w1 in ((True, w1_hat), (False, weights_by_key(mlp)["w1"])):
        hidden = [np.maximum(s["x"] @ w1, 0) for s in samples]
        expected = gptq_quantize(w2, gram(hidden), IntegerScheme(4, True, True, (1, 16)))
        got = weights_by_key(results[sequential][0])["w2_data"]
        assert np.array_equal(got, expected.data), sequential
    # sequential: one round per stage (w1, then w2) of both samples; else one round
    assert results[True][1]["calibration-runs"] == 4
    assert results[False][1]["calibration-runs"] == 2


@pytest.mark.parametrize("refit", [False, True])
def test_search_parameters_give_the_searchs_ir(mlp: AIProgram, tmp_path: Path, refit) -> None:
    """gptq_params=mse: the matmul weights are GPTQ with the search's parameters on their
    statistics (float offset2 per block, as algorithm=mse stores; refitted with refit=true),
    the gather table is algorithm=mse's with a warning saying so, and the output error on
    the calibration samples is below the search's alone."""
    samples = correlated_inputs(4)
    path = save_samples(tmp_path / "cal.npz", samples)
    spec = (
        f"{GPTQ},qscheme=asymmetric,calibration={path},act_order=true,gptq_params=mse,"
        f"refit={str(refit).lower()}>"
    )
    gptq, searched = mlp.copy(), mlp.copy()
    pipeline = Pipeline.parse(spec)
    pipeline.run(gptq)
    mse = "quantize<dtype=int4,granularity=per_block,block_size=16,qscheme=asymmetric"
    Pipeline.parse(f"{mse},algorithm=mse>").run(searched)
    stats = pipeline.runs[0].statistics
    assert stats["gptq-weights"] == 2 and stats["gptq-fallbacks"] == 1
    (warning,) = pipeline.runs[0].warnings
    assert "'table'" in warning and "(its consumer coreai.gather_nd is not a matmul)" in warning
    assert warning.endswith("quantized with the MSE search")
    strip = re.compile(r"dense_resource<[^>]*>|0x[0-9A-F]+")
    assert strip.sub("", str(gptq)).split("{-#")[0] == strip.sub("", str(searched)).split("{-#")[0]
    ours, theirs = weights_by_key(gptq), weights_by_key(searched)
    for key in ("table_data", "table_scale", "table_offset"):
        np.testing.assert_array_equal(ours[key], theirs[key])
    w1 = weights_by_key(mlp)["w1"]
    scheme = IntegerScheme(4, True, False, (1, 16), search=True, refit=refit)
    expected = gptq_quantize(w1.T, gram([s["x"] for s in samples]), scheme, act_order=True)
    assert expected.offset2 is not None and expected.offset2.any()
    np.testing.assert_array_equal(ours["w1_data"], expected.data.T)
    np.testing.assert_array_equal(ours["w1_scale"], expected.scale.T)
    np.testing.assert_array_equal(ours["w1_offset"], expected.offset2.T)
    assert output_error(gptq, mlp, samples) < 0.7 * output_error(searched, mlp, samples)
    decompressed = gptq.copy()
    Pipeline.parse("decompress").run(decompressed)
    sample = samples[0]
    assert np.allclose(run(gptq, sample)["y"], run(decompressed, sample)["y"])


def test_the_refit_of_round_to_nearest_parameters_keeps_rtns_ir(mlp, tmp_path) -> None:
    """refit=true with gptq_params=rtn moves scales only: the same constants as without
    (integer zero points, zero offsets), the same codes, other scales."""
    samples = correlated_inputs(3)
    path = save_samples(tmp_path / "cal.npz", samples)
    spec = f"{GPTQ},qscheme=asymmetric,calibration={path},act_order=true"
    plain, refitted = mlp.copy(), mlp.copy()
    Pipeline.parse(f"{spec}>").run(plain)
    Pipeline.parse(f"{spec},refit=true>").run(refitted)
    strip = re.compile(r"dense_resource<[^>]*>|0x[0-9A-F]+")
    assert strip.sub("", str(plain)).split("{-#")[0] == strip.sub("", str(refitted)).split("{-#")[0]
    ours, theirs = weights_by_key(refitted), weights_by_key(plain)
    for key in ("w1_data", "w1_zero_point", "w2_data", "w2_zero_point"):
        np.testing.assert_array_equal(ours[key], theirs[key])
    assert not np.array_equal(ours["w1_scale"], theirs["w1_scale"])
    assert "w1_offset" not in ours  # a splat of zeros, as round-to-nearest writes it
    assert output_error(refitted, mlp, samples) < output_error(plain, mlp, samples)


def test_sequential_runs_see_the_search_parameters(mlp: AIProgram, tmp_path: Path) -> None:
    """sequential=true with gptq_params=mse: the second weight's statistics come from the
    first one as stored (codes, scale and offset2)."""
    samples = correlated_inputs(2)
    path = save_samples(tmp_path / "cal.npz", samples)
    program = mlp.copy()
    spec = f"{GPTQ},qscheme=asymmetric,calibration={path},gptq_params=mse,sequential=true>"
    Pipeline.parse(spec).run(program)
    stored = weights_by_key(program)
    zero_point = stored.get("w1_zero_point")  # a splat literal (no resource) when all zero
    w1_hat = dequantize_blockwise(
        stored["w1_data"], stored["w1_scale"], zero_point, stored["w1_offset"], np.float32
    )
    hidden = [np.maximum(s["x"] @ w1_hat, 0) for s in samples]
    scheme = IntegerScheme(4, True, False, (1, 16), search=True)
    expected = gptq_quantize(weights_by_key(mlp)["w2"], gram(hidden), scheme)
    np.testing.assert_array_equal(stored["w2_data"], expected.data)


@pytest.mark.parametrize("granularity", ["per_tensor", "per_channel", "per_grouped_channel"])
@pytest.mark.parametrize("dtype,qscheme", [("int8", "symmetric"), ("uint4", "asymmetric")])
def test_every_integer_scheme_runs_and_decompresses(mlp, granularity, dtype, qscheme) -> None:
    program = mlp.copy()
    spec = (
        f"quantize<dtype={dtype},qscheme={qscheme},granularity={granularity},block_size=16,"
        "algorithm=gptq,act_order=true,calibration_samples=2>"
    )
    Pipeline.parse(spec).run(program)
    decompressed = program.copy()
    Pipeline.parse("decompress").run(decompressed)
    sample = correlated_inputs(1)[0]
    assert np.allclose(run(program, sample)["y"], run(decompressed, sample)["y"])
    snr = 10 * np.log10(
        np.sum(run(mlp, sample)["y"] ** 2)
        / np.sum((run(mlp, sample)["y"] - run(program, sample)["y"]) ** 2)
    )
    assert snr > (25 if dtype == "int8" else 8)


def test_samples_by_key_and_by_leading_axis_give_the_same_result(mlp, tmp_path) -> None:
    samples = correlated_inputs(2)
    by_axis = save_samples(tmp_path / "axis.npz", samples)
    by_key = tmp_path / "keys.npz"
    np.savez(by_key, **{f"{k}/{i}": v for i, s in enumerate(samples) for k, v in s.items()})
    texts = []
    for path in (by_axis, by_key):
        program = mlp.copy()
        Pipeline.parse(f"{GPTQ},calibration={path}>").run(program)
        texts.append(str(program))
    assert texts[0] == texts[1]
    first = mlp.copy()
    Pipeline.parse(f"{GPTQ},calibration={by_axis},calibration_samples=1>").run(first)
    assert str(first) != texts[0]  # only the first sample


# --------------------------------------------------------------------------- options and errors


def test_options_round_trip_and_list() -> None:
    text = (
        f'{GPTQ},calibration="cal dir/c.npz",calibration_samples=3,calibration_seed=2,'
        "damp=0.05,act_order=true,sequential=false,gptq_params=mse,refit=true,refit_rounds=3>"
    )
    pipeline = Pipeline.parse(text)
    assert Pipeline.parse(str(pipeline)) == pipeline
    (quantize,) = pipeline.passes
    assert quantize.calibration == "cal dir/c.npz" and quantize.damp == 0.05
    assert quantize.gptq_params == "mse" and quantize.refit and quantize.refit_rounds == 3
    assert "gptq_params" not in str(Pipeline.parse(f"{GPTQ},gptq_params=rtn>"))  # the default
    assert str(Pipeline.parse("quantize<algorithm=rtn>")) == "quantize"
    listing = subprocess.run(
        [sys.executable, "-m", "coreai_opt.cli", "--list-passes"], capture_output=True, text=True
    ).stdout
    for name in ("algorithm", "calibration", "damp", "act_order", "sequential", "gptq_params"):
        assert name in listing
    for name in ("refit", "refit_rounds"):
        assert name in listing


@pytest.mark.parametrize(
    "options, message",
    [
        ("algorithm=gptq,dtype=fp8_e4m3fn", "algorithm=gptq needs an integer dtype"),
        ("algorithm=gptq,damp=-1", "option 'damp' must be a number in [0, 1], got -1"),
        ("algorithm=gptq,calibration_samples=0", "'calibration_samples' must be at least 1"),
        ("calibration=c.npz", "option 'calibration' needs algorithm=gptq"),
        ("act_order=true", "option 'act_order' needs algorithm=gptq"),
        ("calibration_mask=m", "option 'calibration_mask' needs algorithm=gptq"),
        ("clip_search=true", "option 'clip_search' needs algorithm=gptq"),
        ("gptq_params=mse", "option 'gptq_params' needs algorithm=gptq"),
        ("algorithm=mse,gptq_params=mse", "option 'gptq_params' needs algorithm=gptq"),
        ("algorithm=gptq,gptq_params=best", "'gptq_params' must be one of [rtn, mse]"),
        ("refit=true", "option 'refit' needs algorithm=gptq"),
        ("refit_rounds=2", "option 'refit_rounds' needs algorithm=gptq"),
        ("algorithm=gptq,refit_rounds=2", "option 'refit_rounds' needs refit=true"),
        ("algorithm=gptq,refit=true,refit_rounds=0", "'refit_rounds' must be at least 1, got 0"),
        (
            "algorithm=gptq,refit=true,granularity=per_grouped_channel",
            "option 'refit' needs granularity per_channel or per_block (parameters of one row), "
            "got per_grouped_channel",
        ),
        (
            "algorithm=gptq,gptq_params=mse,clip_search=true",
            "option 'clip_search' cannot be combined with gptq_params=mse",
        ),
        ("algorithm=awq", "option 'algorithm' must be one of [rtn, mse, gptq], got 'awq'"),
    ],
)
def test_bad_options_are_one_line_errors(options: str, message: str) -> None:
    with pytest.raises(PipelineError, match=re.escape(message)):
        Pipeline.parse(f"quantize<{options}>")


def calibration_error(mlp: AIProgram, path: Path) -> str:
    with pytest.raises(PipelineError) as error:
        Pipeline.parse(f"{GPTQ},calibration={path}>").run(mlp.copy())
    text = str(error.value)
    assert "\n" not in text
    return text


def test_calibration_file_errors(mlp: AIProgram, tmp_path: Path) -> None:
    missing = tmp_path / "missing.npz"
    assert calibration_error(mlp, missing) == (
        f"error: pass 'quantize' failed: calibration={missing}: no such file"
    )
    garbage = tmp_path / "garbage.npz"
    garbage.write_text("not a zip")
    assert "not a readable .npz file" in calibration_error(mlp, garbage)
    unknown = tmp_path / "unknown.npz"
    np.savez(unknown, z=np.zeros((TOKENS, IN), np.float32))
    assert "unknown input 'z' (@main takes x, ids)" in calibration_error(mlp, unknown)
    shape = tmp_path / "shape.npz"
    np.savez(shape, x=np.zeros((TOKENS, 3), np.float32), ids=np.zeros((4, 1), np.int32))
    assert "input 'x' has shape [64, 3]" in calibration_error(mlp, shape)
    lacking = tmp_path / "lacking.npz"
    np.savez(lacking, x=np.zeros((TOKENS, IN), np.float32))
    assert "missing input 'ids'" in calibration_error(mlp, lacking)


def test_the_command_line_error_is_one_line(tmp_path: Path) -> None:
    source = tmp_path / "mlp.mlir"
    source.write_text(mlp_text())
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "coreai_opt.cli",
            str(source),
            "-p",
            f"{GPTQ},calibration={tmp_path / 'none.npz'}>",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: pass 'quantize' failed: calibration={tmp_path / 'none.npz'}: no such file"
    ]


@pytest.mark.parametrize("params", ["rtn", "mse refit=true refit_rounds=2"])
def test_xdsl_opt_spelling(tmp_path: Path, params: str) -> None:
    source = tmp_path / "mlp.mlir"
    source.write_text(mlp_text(literals=True))
    command = [
        *XDSL_OPT,
        str(source),
        "-p",
        "quantize{dtype=int4 granularity=per_block block_size=16 algorithm=gptq "
        f"calibration_samples=2 gptq_params={params}}}",
        "-t",
        "coreai",
    ]
    theirs = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    spec = f"{GPTQ},calibration_samples=2,gptq_params={params.replace(' ', ',')}>"
    ours = Pipeline.parse(spec).run(AIProgram.load(source))
    assert theirs == str(ours)


def test_observer_sees_every_op_with_its_operands(mlp: AIProgram) -> None:
    seen: list[tuple[str, list]] = []
    interpreter = Interpreter(mlp, observer=lambda op, args: seen.append((op.name, list(args))))
    sample = correlated_inputs(1)[0]
    interpreter.run(sample)
    names = [name for name, _ in seen]
    assert names == [
        "coreai.batch_matmul",
        "coreai.relu",
        "coreai.transpose",
        "coreai.batch_matmul",
        "coreai.gather_nd",
    ]
    np.testing.assert_array_equal(seen[0][1][0], sample["x"])
    np.testing.assert_array_equal(seen[0][1][1], weights_by_key(mlp)["w1"])


def test_a_weight_on_the_left_of_a_matmul(tmp_path: Path) -> None:
    """`W @ x` (W [out, in] as operand x of the matmul, x [in, tokens]): the statistics are
    over x's columns."""
    rng = np.random.default_rng(3)
    weight = rng.standard_normal((OUT, IN)) * 0.1
    w_t, x_t, y_t = (
        f"tensor<{OUT}x{IN}xf32>",
        f"tensor<{IN}x{TOKENS}xf32>",
        f"tensor<{OUT}x{TOKENS}xf32>",
    )
    text = f"""module {{
  coreai.graph @main(%x: {x_t} {{coreai.name = "x"}}) -> ({y_t} {{coreai.name = "y"}}) {{
    %w = coreai.constant dense_resource<w> : {w_t}
    %y = coreai.batch_matmul %w, %x : ({w_t}, {x_t}) -> {y_t}
    coreai.output %y : {y_t}
  }}
}}
{{-#
  dialect_resources: {{
    builtin: {{
{resource("w", weight)}
    }}
  }}
#-}}
"""
    program = AIProgram.parse(text)
    samples = [{"x": s["x"].T.copy()} for s in correlated_inputs(2)]
    path = save_samples(tmp_path / "cal.npz", samples)
    Pipeline.parse(f"{GPTQ},calibration={path}>").run(program)
    expected = gptq_quantize(
        weight.astype(np.float32),
        gram([s["x"].T for s in samples]),
        IntegerScheme(4, True, True, (1, 16)),
    )
    np.testing.assert_array_equal(weights_by_key(program)["w_data"], expected.data)


def masked_program() -> AIProgram:
    """x [2, 32, IN] @ w1 [IN, HIDDEN]; `m` [2, 32] marks real tokens (unused by the graph)."""
    rng = np.random.default_rng(5)
    weight = rng.standard_normal((IN, HIDDEN)) * 0.1
    x_t, w_t, y_t = (
        f"tensor<2x32x{IN}xf32>",
        f"tensor<{IN}x{HIDDEN}xf32>",
        f"tensor<2x32x{HIDDEN}xf32>",
    )
    return AIProgram.parse(f"""module {{
  coreai.graph @main(%x: {x_t} {{coreai.name = "x"}}, %m: tensor<2x32xsi32> {{coreai.name = "m"}}) -> ({y_t} {{coreai.name = "y"}}) {{
    %w = coreai.constant dense_resource<w> : {w_t}
    %y = coreai.batch_matmul %x, %w : ({x_t}, {w_t}) -> {y_t}
    coreai.output %y : {y_t}
  }}
}}
{{-#
  dialect_resources: {{
    builtin: {{
{resource("w", weight)}
    }}
  }}
#-}}
""")  # noqa: E501


def test_the_calibration_mask_leaves_padding_rows_out(tmp_path: Path) -> None:
    program = masked_program()
    rng = np.random.default_rng(6)
    samples = []
    for length in (20, 9):
        x = correlated_inputs(1, seed=length)[0]["x"].reshape(2, 32, IN)
        mask = np.zeros((2, 32), np.int32)
        mask[0, :length], mask[1, : length // 2] = 1, 1
        x[mask == 0] = rng.standard_normal((int((mask == 0).sum()), IN)) * 50  # "padding"
        samples.append({"x": x, "m": mask})
    path = save_samples(tmp_path / "cal.npz", samples)
    masked, unmasked = program.copy(), program.copy()
    Pipeline.parse(f"{GPTQ},calibration={path},calibration_mask=m>").run(masked)
    Pipeline.parse(f"{GPTQ},calibration={path}>").run(unmasked)
    weight = weights_by_key(program)["w"]
    scheme = IntegerScheme(4, True, True, (1, 16))
    expected = gptq_quantize(weight.T, gram([s["x"][s["m"] != 0] for s in samples]), scheme)
    np.testing.assert_array_equal(weights_by_key(masked)["w_data"], expected.data.T)
    assert not np.array_equal(weights_by_key(unmasked)["w_data"], expected.data.T)
    with pytest.raises(PipelineError, match=r"calibration_mask=mask: no such input .* takes x, m"):
        Pipeline.parse(f"{GPTQ},calibration={path},calibration_mask=mask>").run(program.copy())
