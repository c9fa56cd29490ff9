"""palettize<algorithm=mse> numerics: channel-scale refit and LUT-scale search."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from coreai_opt.numerics import palettization as p
from coreai_opt.numerics.palettize_search import (
    channel_entry_stats,
    lut_populations,
    quantize_lut_mse,
    refit_channel_scale,
)


def test_channel_entry_stats_hand_values() -> None:
    weight = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], np.float32)
    indices = np.array([[0, 1, 1], [1, 1, 0]], np.uint8)
    sums, counts, squares = channel_entry_stats(weight, indices, 0, 2)
    np.testing.assert_array_equal(sums, [[1, 5], [6, 9]])
    np.testing.assert_array_equal(counts, [[1, 2], [1, 2]])
    np.testing.assert_array_equal(squares, [14, 77])
    sums, counts, squares = channel_entry_stats(weight, indices, 1, 2)  # channels = columns
    np.testing.assert_array_equal(sums, [[1, 4], [0, 7], [6, 3]])
    np.testing.assert_array_equal(counts, [[1, 1], [0, 2], [1, 1]])
    np.testing.assert_array_equal(squares, [17, 29, 45])


def test_refit_channel_scale_is_the_least_squares_scale() -> None:
    # channel 0: w = [1, 2, 3] decoding to v = [0.5, 1, 1]: s = (0.5 + 2 + 3) / 2.25 = 2.444
    weight = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]], np.float32)
    indices = np.array([[0, 1, 1], [0, 0, 0]], np.uint8)
    lut = np.array([0.5, 1.0], np.float32).reshape(1, 1, 2, 1)
    scale = np.array([[3.0], [1.0]], np.float32)
    fitted = refit_channel_scale(weight, indices, lut, 0, scale)
    assert fitted.dtype == np.float32 and fitted.shape == (2, 1)
    np.testing.assert_allclose(fitted[0, 0], 5.5 / 2.25, rtol=1e-6)
    assert fitted[1, 0] == 1.0  # an all-zero channel keeps its scale


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), axis=st.sampled_from([0, 1]), tail=st.sampled_from([3, 50]))
def test_refit_channel_scale_never_raises_a_channel_error(seed: int, axis: int, tail: int) -> None:
    rng = np.random.default_rng(seed)
    weight = (rng.standard_t(tail, (16, 24)) * rng.uniform(0.01, 1, (16, 1))).astype(np.float16)
    scale = p.per_channel_scale(weight, axis)
    indices, lut = p.palettize(weight, 2, group_axis=axis, group_size=0, channel_scale=scale)
    fitted = refit_channel_scale(weight, indices, lut, axis, scale)
    decoded = p.lut_to_dense(indices, lut, axis).astype(np.float64)
    w = weight.astype(np.float64)
    other = 1 - axis
    before = np.square(w - decoded * scale.astype(np.float64)).sum(axis=other)
    after = np.square(w - decoded * fitted.astype(np.float64)).sum(axis=other)
    assert np.all(after <= before * (1 + 1e-9) + 1e-12)


def test_lut_populations_per_group() -> None:
    indices = np.array([[0, 1], [1, 1], [0, 0], [1, 0]], np.uint8)
    lut = np.zeros((2, 1, 2, 1), np.float32)  # two LUTs of two entries, groups of 2 rows
    np.testing.assert_array_equal(lut_populations(indices, lut, 0)[:, 0], [[1, 3], [3, 1]])


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    dtype=st.sampled_from(["int8", "uint8", "fp8_e4m3fn", "fp8_e5m2"]),
)
def test_lut_search_is_never_worse_on_the_weighted_error(seed: int, dtype: str) -> None:
    rng = np.random.default_rng(seed)
    lut = (rng.standard_t(3, (3, 1, 16, 1)) * 0.05).astype(np.float16)
    populations = rng.integers(0, 1000, (3, 1, 16)).astype(np.float64)
    q0, s0, z0 = p.quantize_lut(lut, dtype)
    q, s, z = quantize_lut_mse(lut, dtype, None, populations)
    assert q.dtype == q0.dtype and s.dtype == s0.dtype and s.shape == s0.shape
    np.testing.assert_array_equal(z, z0)

    def weighted(q_, s_):
        decoded = p.dequantize_lut(q_, s_, z0, np.float64)
        return (populations[..., None] * np.square(lut.astype(np.float64) - decoded)).sum(
            axis=(-2, -1)
        )

    assert np.all(weighted(q, s) <= weighted(q0, s0) * (1 + 1e-12) + 1e-18)
    assert np.isfinite(p.dequantize_lut(q, s, z)).all()
