"""The non-finite check every compression pass runs: bit tricks against np.isfinite."""

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coreai_opt.numerics import finite
from coreai_opt.numerics.finite import all_finite, non_finite_reason

DTYPES = [
    np.dtype(np.float16),
    np.dtype(ml_dtypes.bfloat16),
    np.dtype(np.float32),
    np.dtype(np.float64),
]
SPECIALS = [np.nan, np.inf, -np.inf, -np.nan]


@settings(max_examples=200, deadline=None)
@given(
    dtype=st.sampled_from(DTYPES),
    size=st.integers(1, 3000),
    planted=st.lists(st.tuples(st.integers(0, 2999), st.sampled_from(SPECIALS)), max_size=3),
    edges=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_all_finite_matches_isfinite(dtype, size, planted, edges, seed) -> None:
    rng = np.random.default_rng(seed)
    with np.errstate(over="ignore"):  # large magnitudes overflow f16: more infinities
        weight = (rng.standard_normal(size) * 10.0 ** rng.integers(-8, 8)).astype(dtype)
    if edges:  # the largest finite values of both signs, and signed zeros, are finite
        top = float(ml_dtypes.finfo(dtype).max)
        weight[rng.integers(0, size, 4)] = [top, -top, 0.0, -0.0]
    for position, value in planted:
        weight[position % size] = value
    expected = bool(np.isfinite(weight.astype(np.float64)).all())
    assert all_finite(weight.reshape(1, -1)) == expected


def test_all_finite_every_chunk_and_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(finite, "_CHUNK", 7)
    for dtype in DTYPES:
        weight = np.zeros((5, 9), dtype=dtype)
        assert all_finite(weight)
        for position in (0, 6, 7, 44):
            for value in SPECIALS:
                bad = weight.copy()
                bad.reshape(-1)[position] = value
                assert not all_finite(bad)
                assert not all_finite(bad.T)  # not contiguous: the plain path
                assert not all_finite(bad[None])
    assert all_finite(np.zeros((0, 4), dtype=np.float16))
    assert all_finite(np.float32(1.0).reshape(()))


def test_reason_counts_each_kind() -> None:
    weight = np.array([[np.nan, 1.0, np.inf], [-np.inf, np.nan, 0.0]], dtype=np.float16)
    assert non_finite_reason(weight) == (
        "holds 2 NaN, 1 +inf and 1 -inf values (non-finite weights are never compressed)"
    )
    one = np.array([1.0, -np.inf], dtype=ml_dtypes.bfloat16)
    assert non_finite_reason(one) == "holds 1 -inf value (non-finite weights are never compressed)"


def test_float16_to_float32_is_astype_bit_for_bit_on_every_value() -> None:
    every = np.arange(1 << 16, dtype=np.uint16).view(np.float16)  # incl. inf, NaN payloads
    np.testing.assert_array_equal(
        finite.float16_to_float32(every).view(np.uint32), every.astype(np.float32).view(np.uint32)
    )


@pytest.mark.parametrize(
    "values",
    [
        np.float16(-2.5),
        np.zeros((0, 3), np.float16),
        np.arange(24, dtype=np.float16).reshape(2, 3, 4),
        np.arange(40, dtype=np.float16).reshape(5, 8)[:, ::3],  # not contiguous
    ],
)
def test_float16_to_float32_keeps_shapes(values: np.ndarray) -> None:
    converted = finite.float16_to_float32(values)
    assert converted.dtype == np.float32 and converted.shape == np.shape(values)
    np.testing.assert_array_equal(converted, np.asarray(values).astype(np.float32))
