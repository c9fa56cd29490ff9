"""Output metrics (SNR, cosine, max abs error) and seeded random inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from coreai_opt.errors import CoreAIError
from coreai_opt.interpreter import compare_outputs, random_inputs
from coreai_opt.interpreter.compare import metrics
from coreai_opt.interpreter.inputs import parse_dims
from coreai_opt.program import AIProgram


def test_metrics_hand_values() -> None:
    assert metrics(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == (math.inf, 1.0, 0.0)
    snr, cosine, max_error = metrics(np.array([1.0, 0.0]), np.array([0.0, 1.0]))
    assert snr == pytest.approx(10 * math.log10(1 / 2)) and cosine == 0.0 and max_error == 1.0
    snr, cosine, max_error = metrics(np.array([3.0, 4.0]), np.array([3.0, 3.0]))
    assert snr == pytest.approx(10 * math.log10(25 / 1))
    assert cosine == pytest.approx(21 / (5 * math.sqrt(18)))
    assert max_error == 1.0


def test_metrics_of_complex_and_integer_outputs() -> None:
    snr, cosine, _ = metrics(np.array([1 + 1j]), np.array([1 - 1j]))
    assert cosine == 0.0 and snr == pytest.approx(10 * math.log10(2 / 4))
    assert metrics(np.array([1, 2], np.int32), np.array([1, 2], np.int32))[0] == math.inf


finite = st.floats(-1e3, 1e3, allow_nan=False, width=32)


@settings(max_examples=50, deadline=None)
@given(
    arrays(np.float32, 16, elements=finite),
    arrays(np.float32, 16, elements=finite),
    st.floats(0.01, 100),
)
def test_metrics_properties(reference, noise, scale) -> None:
    candidate = reference + noise
    snr, cosine, max_error = metrics(reference, candidate)
    assert -1.0 <= cosine <= 1.0
    assert max_error == pytest.approx(float(np.max(np.abs(noise.astype(np.float64)))), abs=1e-3)
    signal = float(np.sum(reference.astype(np.float64) ** 2))
    energy = float(np.sum((candidate.astype(np.float64) - reference) ** 2))
    if signal > 0 and energy > 0:
        assert snr == pytest.approx(10 * math.log10(signal / energy), rel=1e-6, abs=1e-6)
    scaled = metrics(reference, candidate * np.float32(scale))[1]
    if np.any(candidate) and np.any(reference):
        assert scaled == pytest.approx(cosine, abs=1e-6)  # cosine ignores the scale


def test_compare_outputs_pools_samples_and_checks_names() -> None:
    refs = [{"y": np.array([1.0, 0.0])}, {"y": np.array([0.0, 1.0])}]
    cands = [{"y": np.array([1.0, 0.0])}, {"y": np.array([0.0, 0.5])}]
    result = compare_outputs(refs, cands)
    assert result.samples == 2 and result.outputs[0].max_abs_error == 0.5
    assert result.outputs[0].snr_db == pytest.approx(10 * math.log10(2 / 0.25))
    with pytest.raises(CoreAIError, match="the compressed program has no output 'y'"):
        compare_outputs(refs, [{"z": np.zeros(2)}] * 2)
    with pytest.raises(CoreAIError, match="output 'y' has shape \\[3\\]"):
        compare_outputs(refs[:1], [{"y": np.zeros(3)}])


PROGRAM = """module {
  coreai.graph @main(%x: tensor<?x3xf16> {coreai.name = "x"}, %ids: tensor<5x1xsi32> {coreai.name = "ids"}, %m: tensor<2xi1> {coreai.name = "m"}, %n: tensor<2xui32> {coreai.name = "n"}) -> (tensor<5x3xf16> {coreai.name = "y"}) {
    %r = coreai.gather_nd %x, %ids : (tensor<?x3xf16>, tensor<5x1xsi32>) -> tensor<5x3xf16>
    coreai.output %r : tensor<5x3xf16>
  }
}
"""  # noqa: E501


def test_random_inputs_follow_the_signature_and_the_seed() -> None:
    program = AIProgram.parse(PROGRAM)
    inputs = random_inputs(program, seed=1, dims={"x": 7})
    assert inputs["x"].shape == (7, 3) and inputs["x"].dtype == np.float16
    assert inputs["ids"].dtype == np.int32 and 0 <= inputs["ids"].min() <= inputs["ids"].max() < 7
    assert inputs["m"].dtype == np.bool_ and inputs["n"].dtype == np.uint32
    assert inputs["n"].min() >= 1 and inputs["n"].max() < 8
    again = random_inputs(program, seed=1, dims={"x": 7})
    assert all(np.array_equal(inputs[k], again[k]) for k in inputs)
    other = random_inputs(program, seed=2, dims={"x": 7})
    assert not np.array_equal(inputs["x"], other["x"])
    assert random_inputs(program)["x"].shape == (4, 3)


def test_parse_dims() -> None:
    assert parse_dims(["8", "x=2", "x:0=3"]) == {"*": 8, "x": 2, "x:0": 3}
    with pytest.raises(CoreAIError, match="--dim expects"):
        parse_dims(["x=-1"])


def test_compare_is_exported_at_the_top_level() -> None:
    import coreai_opt
    from coreai_opt.interpreter import compare

    assert coreai_opt.compare is compare


def test_random_index_inputs_follow_invoke_into_the_callee() -> None:
    """An integer input that a composite graph uses as gather indices gets valid indices."""
    program = AIProgram.parse(
        """
module {
  coreai.graph private noinline @lookup(%arg0: tensor<3x2xf32>, %arg1: tensor<5x1xsi32>) -> tensor<5x2xf32> {
    %0 = coreai.gather_nd %arg0 at %arg1 : (tensor<3x2xf32>, tensor<5x1xsi32>) to tensor<5x2xf32>
    coreai.output %0 : tensor<5x2xf32>
  }
  coreai.graph @main(%arg0: tensor<5x1xsi32> {coreai.name = "ids"}) -> (tensor<5x2xf32>) {
    %0 = coreai.constant dense<1.000000e+00> : tensor<3x2xf32>
    %1 = coreai.invoke @lookup(%0, %arg0)  : (tensor<3x2xf32>, tensor<5x1xsi32>) -> tensor<5x2xf32>
    coreai.output %1 : tensor<5x2xf32>
  }
}
"""  # noqa: E501
    )
    for seed in range(20):
        ids = random_inputs(program, seed=seed)["ids"]
        assert ids.min() >= 0 and ids.max() < 3
