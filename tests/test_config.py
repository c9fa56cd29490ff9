"""Per-weight settings (`OptimizationConfig`): which weight takes which setting, unmatched
selectors, errors, and equality with the plain passes."""

from __future__ import annotations

import logging

import pytest
from coreai_opt.passes.palettize import PalettizePass
from coreai_opt.passes.quantize import QuantizePass

from coreai_opt.config import (
    OptimizationConfig,
    optimize_weights,
    optimize_with_runs,
    resolve,
)
from coreai_opt.inspection import bits_per_weight
from coreai_opt.pipeline import Pipeline
from tests.mixed_util import mlp_program, mlp_weights

INT8 = "quantize<dtype=int8>"
INT4 = "quantize<dtype=int4,granularity=per_block,block_size=32>"


@pytest.fixture(scope="module")
def program():
    return mlp_program(mlp_weights())


def schemes(program) -> dict[str, str]:
    return {e.name: e.scheme for e in bits_per_weight(program).weights}


def test_name_beats_type_beats_global(program) -> None:
    config = OptimizationConfig(
        global_config=INT8,
        op_type_configs={"batch_matmul": INT4},  # every weight here feeds a matmul
        op_name_configs={"w2": PalettizePass(n_bits=4), "w1": None},
    )
    compressed = optimize_weights(program, config)
    found = schemes(compressed)
    assert found["w0"].startswith("int4 per_block(32)")
    assert found["w1"] == "dense f32"
    assert found["w2"].startswith("palettize 4-bit")
    assert schemes(program)["w0"] == "dense f32"  # not in place: the input is untouched


def test_global_only_equals_the_plain_pass(program) -> None:
    config = OptimizationConfig(global_config=QuantizePass(dtype="int8"))
    plain = program.copy()
    Pipeline.parse(INT8).run(plain)
    assert str(optimize_weights(program, config)) == str(plain)


def test_op_type_spellings_and_transposed_consumers(program) -> None:
    """Op types match with or without the `coreai.` prefix; a weight used through a
    `transpose` is also selected by the op consuming the transpose."""
    for key in ("coreai.transpose", "transpose", "coreai.batch_matmul", "batch_matmul"):
        resolution = resolve(program, OptimizationConfig(op_type_configs={key: INT8}))
        assert {n for n, s in resolution.settings.items() if s} == {"w0", "w1", "w2"}
        assert resolution.unmatched == []


def test_op_name_is_a_whole_match_regex_over_weight_and_consumer_names(program) -> None:
    config = OptimizationConfig(op_name_configs={"w[01]": INT8})
    resolution = resolve(program, config)
    assert {n for n, s in resolution.settings.items() if s} == {"w0", "w1"}
    # `w` alone is not a whole name: no weight
    assert resolve(program, OptimizationConfig(op_name_configs={"w": INT8})).unmatched == [
        "op_name_configs key 'w'"
    ]
    # the SSA name of a consuming op (`%w2_t = coreai.transpose %w2`) selects the weight
    by_consumer = resolve(program, OptimizationConfig(op_name_configs={"w2_t": INT8}))
    assert {n for n, s in by_consumer.settings.items() if s} == {"w2"}


def test_first_matching_name_wins(program) -> None:
    config = OptimizationConfig(op_name_configs={"w0": INT4, "w.*": INT8})
    found = schemes(optimize_weights(program, config))
    assert found["w0"].startswith("int4") and found["w1"].startswith("int8 per_channel")


def test_unmatched_selectors_are_reported(program, caplog) -> None:
    config = OptimizationConfig(
        global_config=INT8,
        op_type_configs={"conv2d": INT4},
        op_name_configs={"q_proj": None},
    )
    with caplog.at_level(logging.WARNING, logger="coreai_opt"):
        _, runs = optimize_with_runs(program, config)
    warnings = runs[0].warnings
    assert warnings == [
        "warning: optimize_weights: op_name_configs key 'q_proj' matched no weight",
        "warning: optimize_weights: op_type_configs key 'conv2d' matched no weight",
    ]
    assert all(w in caplog.text for w in warnings)


def test_chained_setting_compresses_the_sparse_values(program) -> None:
    config = OptimizationConfig(
        op_name_configs={"w0": "sparsify<target_sparsity=0.5>,palettize<n_bits=4>"}
    )
    found = schemes(optimize_weights(program, config))
    assert found["w0"] == "sparse 50% + palettize 4-bit per_tensor"
    assert found["w1"] == "dense f32"


def test_in_place(program) -> None:
    target = program.copy()
    assert optimize_weights(target, OptimizationConfig(global_config=INT8), in_place=True) is (
        target
    )
    assert schemes(target)["w0"].startswith("int8")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (lambda: OptimizationConfig(global_config="palletize"), "global_config: unknown pass"),
        (
            lambda: OptimizationConfig(op_type_configs={"matmul": "optimize"}),
            "op_type_configs['matmul']: 'optimize' is not a compression pass",
        ),
        (lambda: OptimizationConfig(op_name_configs={"[w": INT8}), "key '[w' is not a valid"),
        (lambda: OptimizationConfig(global_config=4), "expected a compression pass"),
    ],
)
def test_bad_settings_are_one_line_errors(config, message) -> None:
    with pytest.raises(ValueError, match=None) as error:
        config()
    assert message in str(error.value) and "\n" not in str(error.value)


def test_include_inside_a_setting_is_refused(program) -> None:
    config = OptimizationConfig(global_config="quantize<dtype=int8,include=w0>")
    with pytest.raises(ValueError, match="takes no include/exclude"):
        optimize_weights(program, config)


def test_program_argument_is_checked() -> None:
    with pytest.raises(TypeError, match="must be an AIProgram"):
        optimize_weights("model.mlir", OptimizationConfig())
