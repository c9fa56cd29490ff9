"""Replay: re-executing only what depends on a substituted value gives the outputs of a full
run of the changed program, bit for bit (MiniLM's architecture on stand-in weights: gather,
invoked layer-norm graphs, attention, a masked mean)."""

from __future__ import annotations

import numpy as np
import pytest
from coreai_opt.dialects.coreai import ConstantOp

from bench.minilm import build_program
from coreai_opt.inspection import dense_roots, identity
from coreai_opt.interpreter import InterpreterError, run
from coreai_opt.interpreter.replay import Replay, downstream
from coreai_opt.ir.elements import elements_array, make_elements_attr
from tests.test_minilm_bench import stand_in_weights


@pytest.fixture(scope="module")
def setup():
    program = build_program(stand_in_weights(), 2, 8)
    rng = np.random.default_rng(1)
    inputs = {
        "input_ids": rng.integers(0, 40, size=(2, 8)).astype(np.int32),
        "attention_mask": np.array([[1] * 8, [1] * 5 + [0] * 3], np.int32),
    }
    return program, inputs


def with_weight(program, name: str, array: np.ndarray):
    """A copy of `program` whose weight `name` holds `array`."""
    copy = program.copy()
    for op in copy.module.walk():
        if isinstance(op, ConstantOp) and op.result.name_hint == name:
            op.value = make_elements_attr(array, op.result.type, name)
    return copy


@pytest.mark.parametrize(
    "name",
    [
        "embeddings_word_embeddings_weight",
        "encoder_layer_0_attention_self_query_weight",
        "encoder_layer_3_intermediate_dense_weight",
        "encoder_layer_5_output_dense_weight",
        "encoder_layer_2_output_LayerNorm_weight",  # passed into an invoked graph
    ],
)
def test_replay_equals_a_full_run(setup, name) -> None:
    program, inputs = setup
    replay = Replay(program)
    recorded = replay.record(inputs)
    assert all(np.array_equal(recorded[k], v) for k, v in run(program, inputs).items())
    roots = {identity(v): v for v, _ in dense_roots(program)}
    weight = elements_array(roots[name].owner.value)
    changed = (weight * 1.25 + 0.01).astype(weight.dtype)
    replayed = replay.replay({roots[name]: changed})
    full = run(with_weight(program, name, changed), inputs)
    assert replayed.keys() == full.keys()
    for key in full:
        assert np.array_equal(replayed[key], full[key])
        assert not np.array_equal(replayed[key], recorded[key])
    # the recording is untouched: a replay with nothing substituted gives it back
    again = replay.replay({})
    assert all(np.array_equal(again[k], recorded[k]) for k in recorded)


def test_downstream_is_the_dependent_cone(setup) -> None:
    program, _ = setup
    block = Replay(program).block  # @main's body
    roots = {identity(v): v for v, _ in dense_roots(program)}
    last = downstream(block, [roots["encoder_layer_5_output_dense_weight"]])
    first = downstream(block, [roots["encoder_layer_0_attention_self_query_weight"]])
    # the last layer's cone, but for its own weight's transpose, lies inside the first's
    assert len(last - first) == 1 and next(iter(last - first)).name == "coreai.transpose"
    assert len(last) < len(first) / 4
    assert all(op.parent_block() is block for op in first)


def test_replay_before_record_is_an_error(setup) -> None:
    program, _ = setup
    with pytest.raises(InterpreterError, match="replay before record"):
        Replay(program).replay({})


def test_replay_on_top_of_recorded_substitutions(setup) -> None:
    """Values substituted at record time stay substituted in every replay."""
    program, inputs = setup
    roots = {identity(v): v for v, _ in dense_roots(program)}
    first, second = (
        "encoder_layer_1_attention_self_value_weight",
        "encoder_layer_4_output_dense_weight",
    )
    arrays = {}
    for name in (first, second):
        weight = elements_array(roots[name].owner.value)
        arrays[name] = (weight * 0.75).astype(weight.dtype)
    replay = Replay(program)
    recorded = replay.record(inputs, {roots[first]: arrays[first]})
    only_first = run(with_weight(program, first, arrays[first]), inputs)
    assert all(np.array_equal(recorded[k], only_first[k]) for k in only_first)
    both = run(
        with_weight(with_weight(program, first, arrays[first]), second, arrays[second]), inputs
    )
    replayed = replay.replay({roots[second]: arrays[second]})
    assert all(np.array_equal(replayed[k], both[k]) for k in both)
