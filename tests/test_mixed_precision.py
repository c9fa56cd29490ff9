"""Mixed precision: the greedy allocation by hand, sensitivities against full runs, the
plan's bits per weight against the result's, data-free mode, errors and pipeline syntax."""

from __future__ import annotations

import math

import numpy as np
import pytest
from coreai_opt.passes.decompress import DecompressPass
from hypothesis import given, settings
from hypothesis import strategies as st

from coreai_opt.errors import PipelineError
from coreai_opt.inspection import bits_per_weight, snr_db
from coreai_opt.interpreter import random_inputs, run
from coreai_opt.ir.elements import elements_array
from coreai_opt.mixed_precision import (
    DEFAULT_CANDIDATES,
    Option,
    allocate,
    measure,
    mixed_precision,
    parse_candidates,
    relative_error,
    scheme_pass,
)
from coreai_opt.pipeline import PassRun, Pipeline
from tests.conftest import XDSL_OPT
from tests.mixed_util import mlp_program, mlp_weights

# --------------------------------------------------------------------------- allocation

HAND = {
    "A": [Option("int4", 100, 0.30), Option("int8", 200, 0.01)],
    "B": [Option("int4", 100, 0.10), Option("int8", 200, 0.02)],
    "C": [Option("int4", 50, 0.05), Option("int8", 100, 0.04)],
}
# 50 fixed bytes (weights no candidate compresses), 800 values: budget = 100 * target bytes.
# Cheapest plan: 100 + 100 + 50 + 50 = 300 bytes = 3.0 bpw.
# Error reduction per extra byte: A 0.29/100 = 2.9e-3, B 0.08/100 = 8e-4, C 0.01/50 = 2e-4.


def schemes(choice: dict[str, Option]) -> dict[str, str]:
    return {name: option.scheme for name, option in choice.items()}


def test_allocation_by_hand() -> None:
    # 4.0 bpw = 400 bytes: room 100, A is upgraded (best gain), then nothing fits.
    assert schemes(allocate(HAND, 50, 800, 4.0)) == {"A": "int8", "B": "int4", "C": "int4"}
    # 4.5 bpw = 450 bytes: after A, room 50: B needs 100, C needs 50 -> C.
    assert schemes(allocate(HAND, 50, 800, 4.5)) == {"A": "int8", "B": "int4", "C": "int8"}
    # 5.0 bpw = 500 bytes: after A, room 100: B (8e-4) before C -> B, then room 0.
    assert schemes(allocate(HAND, 50, 800, 5.0)) == {"A": "int8", "B": "int8", "C": "int4"}
    # 3.0 bpw: exactly the cheapest plan.
    assert schemes(allocate(HAND, 50, 800, 3.0)) == {"A": "int4", "B": "int4", "C": "int4"}
    # Room for everything: all int8 (550 bytes).
    assert set(schemes(allocate(HAND, 50, 800, 10.0)).values()) == {"int8"}


def test_allocation_below_the_cheapest_plan_names_the_option() -> None:
    with pytest.raises(PipelineError) as error:
        allocate(HAND, 50, 800, 2.9)
    message = str(error.value)
    assert "option 'target_bpw'" in message and "3.0000 bits/weight" in message
    assert "\n" not in message


def test_allocation_takes_a_cheaper_and_better_option_for_free() -> None:
    # x: its cheapest (pal, 10 bytes) is worst; int4 (20 bytes) is better than int8
    # (30 bytes) on this weight. With room for int8, the greedy goes to int8 (best gain per
    # byte first: int4 gains 0.5/10, int8 0.6/20), and would not go back; with room only for
    # 10 extra bytes it takes int4.
    options = {
        "x": [Option("pal", 10, 1.0), Option("int4", 20, 0.5), Option("int8", 30, 0.4)],
    }
    assert allocate(options, 0, 80, 2.0)["x"].scheme == "int4"  # 20 bytes
    assert allocate(options, 0, 80, 3.0)["x"].scheme == "int8"  # 30 bytes


@st.composite
def option_sets(draw) -> dict[str, list[Option]]:
    count = draw(st.integers(1, 5))
    result = {}
    for index in range(count):
        sizes = draw(st.lists(st.integers(1, 200), min_size=1, max_size=4, unique=True))
        errors = draw(st.lists(st.floats(0, 1), min_size=len(sizes), max_size=len(sizes)))
        pairs = enumerate(zip(sizes, errors, strict=True))
        result[f"w{index}"] = [Option(f"s{j}", size, error) for j, (size, error) in pairs]
    return result


@settings(max_examples=200, deadline=None)
@given(option_sets(), st.integers(0, 100), st.floats(0.5, 40))
def test_allocation_properties(options, fixed, target) -> None:
    """Within budget; never worse than the cheapest plan; no single remaining upgrade fits
    and lowers the error (the greedy stops only when none is left)."""
    total = 100
    budget = target * total / 8
    cheapest = {n: min(o, key=lambda x: (x.bytes, x.error)) for n, o in options.items()}
    floor = fixed + sum(o.bytes for o in cheapest.values())
    if floor > budget:
        with pytest.raises(PipelineError):
            allocate(options, fixed, total, target)
        return
    choice = allocate(options, fixed, total, target)
    used = fixed + sum(o.bytes for o in choice.values())
    assert used <= budget + 1e-9
    assert sum(o.error for o in choice.values()) <= sum(o.error for o in cheapest.values())
    for name, current in choice.items():
        for option in options[name]:
            fits = used - current.bytes + option.bytes <= budget
            assert not (fits and option.error < current.error)


# --------------------------------------------------------------------------- sweep


@pytest.fixture(scope="module")
def program():
    return mlp_program(mlp_weights())


CANDIDATES = "int8|int4_b32|pal4"


def test_sensitivity_equals_a_full_run_of_the_singly_compressed_program(program) -> None:
    """The replayed error of (weight, scheme) equals the error of the whole program with
    only that weight compressed by the pass, run from scratch."""
    inputs = [random_inputs(program, seed=s) for s in range(2)]
    sweep = measure(program, CANDIDATES, inputs=inputs, weight_num_threshold=0)
    assert set(sweep.options) == {"w0", "w1", "w2"}  # the bias feeds an add: no weight
    references = [run(program, sample) for sample in inputs]
    passes = parse_candidates(CANDIDATES, 0)
    for name in ("w0", "w2"):
        for option in sweep.options[name]:
            from dataclasses import replace

            single = program.copy()
            Pipeline([replace(passes[option.scheme], include=f"^{name}$")]).run(single)
            outputs = [run(single, sample) for sample in inputs]
            y = np.concatenate([r["y"] for r in references]).astype(np.float64)
            z = np.concatenate([o["y"] for o in outputs]).astype(np.float64)
            expected = np.sum((y - z) ** 2) / np.sum(y**2)
            assert option.error == pytest.approx(expected, rel=1e-9, abs=1e-15)
            entry = next(e for e in bits_per_weight(single).weights if e.name == name)
            assert option.bytes == entry.stored_bytes


def test_plan_json_is_strict() -> None:
    import json

    from coreai_opt.mixed_precision import Plan, PlannedWeight

    weights = [PlannedWeight("w", 8, "int8", 8, math.inf, [Option("int8", 8, math.inf)])]
    data = json.loads(json.dumps(Plan(8.0, weights, 0, 8, False).to_dict(), allow_nan=False))
    assert data["weights"][0]["sensitivity"] == "inf"
    assert data["weights"][0]["options"]["int8"] == {"bytes": 8, "error": "inf"}
    assert data["bits_per_weight"] == 8.0


def test_relative_error_by_hand() -> None:
    references = [{"a": np.array([3.0, 4.0]), "n": np.array([1, 2])}]
    outputs = [{"a": np.array([3.0, 3.0]), "n": np.array([9, 9])}]
    assert relative_error(references, outputs) == pytest.approx(1 / 25)  # integers ignored
    two = [{"a": np.array([1.0]), "b": np.array([2.0])}]
    assert relative_error(two, [{"a": np.array([0.0]), "b": np.array([2.0])}]) == 0.5
    assert relative_error(two, [{"a": np.array([0.0]), "b": np.array([2.0])}], ["b"]) == 0.0


def test_outputs_option_selects_the_measured_outputs(program) -> None:
    everything = measure(program, "int8|pal4", samples=1)
    only_y = measure(program, "int8|pal4", samples=1, outputs="y")
    assert everything.options == only_y.options  # y is the only output
    with pytest.raises(PipelineError) as error:
        measure(program, "int8|pal4", samples=1, outputs="z|w")
    assert "option 'outputs' 'z|w' matches no output of @main (outputs: y)" in str(error.value)


@pytest.mark.parametrize("data_free", [False, True])
@pytest.mark.parametrize("target", [5.0, 6.5, 8.5])
def test_plan_bits_per_weight_equal_the_result(program, data_free, target) -> None:
    result = mixed_precision(
        program, target, CANDIDATES, samples=2, data_free=data_free, weight_num_threshold=0
    )
    assert result.plan.bits_per_weight == result.bits_per_weight
    assert result.plan.bits_per_weight <= target
    report = bits_per_weight(result.program)
    schemes = {e.name: e.scheme for e in report.weights}
    for planned in result.plan.weights:
        expected = {"int8": "int8 per_channel", "int4_b32": "int4 per_block(32)"}.get(
            planned.scheme, "palettize 4-bit"
        )
        assert schemes[planned.name].startswith(expected)
    assert bits_per_weight(program).bits_per_weight == 32  # the input is untouched


def test_more_bits_never_plan_more_error(program) -> None:
    sweep = measure(program, CANDIDATES, samples=1, weight_num_threshold=0)
    totals = [sum(w.sensitivity for w in sweep.plan(target).weights) for target in (4.5, 5.5, 7, 9)]
    assert totals == sorted(totals, reverse=True)


def test_data_free_errors_are_the_weights_relative_errors(program) -> None:
    """Data-free sensitivity = Σ(w−ŵ)²/Σw² = 10^(−SNR/10) of the decompressed weight, times
    the weight's share of all weight values (64·96 of 14,368: w0, w1, w2 and the bias)."""
    sweep = measure(program, CANDIDATES, data_free=True, weight_num_threshold=0)
    passes = parse_candidates(CANDIDATES, 0)
    original = {op.result.name_hint: elements_array(op.value) for op in program.constants()}
    for option in sweep.options["w1"]:
        compressed = program.copy()
        Pipeline([passes[option.scheme]]).run(compressed)
        DecompressPass().run(compressed.module, PassRun("decompress"))
        restored = next(
            elements_array(op.value)
            for op in compressed.constants()
            if tuple(op.result.type.get_shape()) == (64, 96)
        )
        expected = 10 ** (-snr_db(original["w1"], restored) / 10) * (64 * 96) / 14_368
        assert option.error == pytest.approx(expected, rel=1e-9)
    assert all(math.isfinite(o.error) for opts in sweep.options.values() for o in opts)


def test_data_free_runs_a_program_the_executor_cannot(program) -> None:
    text = str(program).replace("coreai.gelu", "coreai.no_such_op")
    from coreai_opt.program import AIProgram

    broken = AIProgram.parse(text)
    pipeline = Pipeline.parse("mixed-precision<target_bpw=6,candidates=int8|pal4,data_free=true>")
    pipeline.run(broken)
    assert pipeline.runs[0].details["plan"].bits_per_weight <= 6
    with pytest.raises(PipelineError, match="data_free=true"):
        Pipeline.parse("mixed-precision<target_bpw=6,candidates=int8|pal4>").run(
            AIProgram.parse(text)
        )


# --------------------------------------------------------------------------- the pass


def test_pass_records_the_plan_and_the_result(program, tmp_path) -> None:
    inputs = random_inputs(program, seed=3)
    np.savez(tmp_path / "in.npz", **inputs)
    compressed = program.copy()
    pipeline = Pipeline.parse(
        f"mixed-precision<target_bpw=6,candidates={CANDIDATES},inputs={tmp_path / 'in.npz'}>"
    )
    pipeline.run(compressed)
    record = pipeline.runs[0]
    plan = record.details["plan"]
    assert record.details["result_bpw"] == plan.bits_per_weight
    assert record.statistics["plan-bits-per-weight"] == record.statistics["result-bits-per-weight"]
    assert record.statistics["weights-planned"] == 3  # w0, w1, w2 (the bias is under 1024)
    assert "plan: 3 weights" in plan.table()
    direct = mixed_precision(program, 6, CANDIDATES, inputs=inputs)
    assert direct.plan.schemes() == plan.schemes()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("mixed-precision<target_bpw=1>", "option 'target_bpw' (1) is below the cheapest plan"),
        ("mixed-precision<candidates=int5>", "option 'candidates' has an unknown scheme 'int5'"),
        ("mixed-precision<candidates=pal5>", "unknown scheme 'pal5'"),
        ("mixed-precision<target_bpw=0>", "option 'target_bpw' must be a positive number"),
        ("mixed-precision<samples=0>", "option 'samples' must be at least 1"),
        ("mixed-precision<inputs=/no/such.npz>", "option 'inputs'"),
        ('mixed-precision<include="[w">', "option 'include' is not a valid regular expression"),
        ('mixed-precision<outputs="(y">', "option 'outputs' is not a valid regular expression"),
    ],
)
def test_errors_are_one_line_naming_the_option(program, text, message) -> None:
    with pytest.raises(PipelineError) as error:
        Pipeline.parse(text).run(program.copy())
    assert message in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize(
    "text",
    [
        "mixed-precision<target_bpw=4.75,candidates=int8|pal6|int4_b32|pal4,inputs=in.npz,"
        "samples=2,seed=3,data_free=false>",
        "mixed-precision<target_bpw=5,data_free=true,include=^w[01]$,exclude=w1>",
        "mixed-precision<outputs=sentence_embedding|logits,graph=prefill>",
        'mixed-precision{target_bpw=4.5 candidates="int8|pal4_g16"}',
        "cast-to-fp16,mixed-precision<target_bpw=4.5>,optimize",
    ],
)
def test_pipeline_round_trip(text) -> None:
    pipeline = Pipeline.parse(text)
    assert Pipeline.parse(str(pipeline)) == pipeline


def test_options_reach_the_pass() -> None:
    (mixed,) = Pipeline.parse(
        "mixed-precision<target_bpw=4.75,candidates=int8|pal6,samples=3,seed=7,data_free=true>"
    ).passes
    assert (mixed.target_bpw, mixed.candidates, mixed.samples, mixed.seed, mixed.data_free) == (
        4.75,
        "int8|pal6",
        3,
        7,
        True,
    )
    assert str(mixed) == (
        "mixed-precision<target_bpw=4.75,candidates=int8|pal6,samples=3,seed=7,data_free=true>"
    )


def test_include_and_exclude_limit_the_weights_planned(program) -> None:
    result = mixed_precision(program, 20, CANDIDATES, exclude="^w1$", weight_num_threshold=0)
    assert {w.name for w in result.plan.weights} == {"w0", "w2"}
    schemes = {e.name: e.scheme for e in bits_per_weight(result.program).weights}
    assert schemes["w1"] == "dense f32"


# --------------------------------------------------------------------------- drivers


def test_command_line_report_shows_the_plan_and_the_result(program, tmp_path, capsys) -> None:
    import json

    from coreai_opt.cli import main

    source = tmp_path / "mlp.mlir"
    source.write_text(str(program))
    pipeline = f"mixed-precision<target_bpw=6,candidates={CANDIDATES},samples=2>"
    code = main([str(source), "-p", pipeline, "--report", "-o", str(tmp_path / "out.mlir")])
    out = capsys.readouterr().out
    assert code == 0
    plan_line = next(line for line in out.splitlines() if line.startswith("plan: 3 weights"))
    total_line = next(line for line in out.splitlines() if line.startswith("total: 4 weights"))
    planned = float(plan_line.split(", ")[-1].split(" bits/weight")[0])
    assert f"{planned:.2f} bits/weight" in total_line
    report = tmp_path / "r.json"
    code = main([str(source), "-p", pipeline, f"--report={report}", "-o", "/dev/null"])
    data = json.loads(report.read_text())
    (plan,) = data["mixed_precision"]
    assert plan["bits_per_weight"] == pytest.approx(data["bits_per_weight"], abs=1e-12)
    assert {w["name"] for w in plan["weights"]} == {"w0", "w1", "w2"}
    assert set(plan["weights"][0]["options"]) == {"int8", "int4_b32", "pal4"}


def test_command_line_target_error_is_one_line(program, tmp_path, capsys) -> None:
    from coreai_opt.cli import main

    source = tmp_path / "mlp.mlir"
    source.write_text(str(program))
    code = main([str(source), "-p", "mixed-precision<target_bpw=2>", "-o", "/dev/null"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and "option 'target_bpw' (2) is below the cheapest plan" in err


def test_xdsl_opt_runs_the_pass(tmp_path) -> None:
    import subprocess

    program = mlp_program(mlp_weights(), extras=False)
    source = tmp_path / "mlp.mlir"
    source.write_text(str(program))
    command = [
        *XDSL_OPT,
        str(source),
        "-p",
        'mixed-precision{target_bpw=6 candidates="int8|pal4" data_free=true}',
        "-t",
        "coreai",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    ours = program.copy()
    Pipeline.parse("mixed-precision<target_bpw=6,candidates=int8|pal4,data_free=true>").run(ours)
    assert result.stdout.strip() == str(ours).strip()


@pytest.mark.parametrize(
    ("name", "pipeline"),
    [
        ("int8", "quantize"),
        ("int4_b32", "quantize<dtype=int4,granularity=per_block>"),
        ("int4_b32_mse", "quantize<dtype=int4,granularity=per_block,algorithm=mse>"),
        (
            "int4_b32_asym_mse",
            "quantize<dtype=int4,qscheme=asymmetric,granularity=per_block,algorithm=mse>",
        ),
        ("uint8_asym", "quantize<dtype=uint8,qscheme=asymmetric>"),
        ("int8_b16", "quantize<granularity=per_block,block_size=16>"),
        ("pal6", "palettize<n_bits=6>"),
        ("pal4_g16", "palettize<granularity=per_grouped_channel,group_size=16>"),
    ],
)
def test_candidate_names_stand_for_these_passes(name: str, pipeline: str) -> None:
    assert str(scheme_pass(name)) == pipeline


def test_the_default_candidates_are_known_schemes() -> None:
    names = parse_candidates(DEFAULT_CANDIDATES)
    assert list(names) == ["int8", "pal6", "int4_b32_mse", "pal4", "int4_b32_asym_mse"]
