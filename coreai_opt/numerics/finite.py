"""Finiteness of weights: the fast check every compression pass runs, and what it reports.

A weight holding NaN or +-inf is never compressed (no scale, LUT or mask can represent it
faithfully, and cleaning it would silently change it): the passes skip it with a warning
built by `non_finite_reason`. Also: float16 -> float32 conversion without numpy's slow
software path (`float16_to_float32`), for the executor's float16 programs.
"""

import functools
from typing import Any

import numpy as np

# Checked by name: ml_dtypes' float8_e5m2 reports kind "f" too.
_NUMPY_FLOATS = ("float16", "float32", "float64")
WEIGHT_DTYPE_NAMES = ("float16", "bfloat16", "float32", "float64")
"""The float types a weight may have to be compressed."""
# Elements per chunk: small enough for the reductions to run from cache.
_CHUNK = 1 << 18


class NonFiniteWeightError(ValueError):
    """A weight holds NaN or +-inf, so it cannot be compressed without changing it."""


@functools.cache
def ml_dtype(name: str) -> np.dtype:
    """An ml_dtypes type by name. ml_dtypes costs ~0.9 s to import (most of a short run's
    start-up), so the numerics look its types up by name and import it on first use."""
    import ml_dtypes

    return np.dtype(getattr(ml_dtypes, name))


def is_weight_dtype(dtype: np.dtype) -> bool:
    """float16, bfloat16, float32 or float64 (checked by name: no ml_dtypes import)."""
    return np.dtype(dtype).name in WEIGHT_DTYPE_NAMES


def float_info(dtype: np.dtype) -> Any:
    """`finfo` of a float dtype: numpy's for its own floats (no ml_dtypes import), else
    ml_dtypes' (bfloat16, FP8, FP4, E8M0)."""
    if np.dtype(dtype).name in _NUMPY_FLOATS:
        return np.finfo(dtype)
    import ml_dtypes

    return ml_dtypes.finfo(dtype)


def _exponent_mask(dtype: np.dtype) -> int | None:
    """Bit pattern of an all-ones exponent (inf and NaN) of an IEEE-like float dtype."""
    if dtype.kind != "f" and dtype.name != "bfloat16":
        return None
    info = float_info(dtype)
    if dtype.itemsize * 8 != 1 + info.nexp + info.nmant:
        return None
    return ((1 << info.nexp) - 1) << info.nmant


def all_finite(weight: np.ndarray) -> bool:
    """True when no element is NaN or +-inf (float16, bfloat16, float32, float64, any shape).

    For IEEE formats this compares bit patterns with two integer maxima per chunk (no
    temporaries): a non-finite positive value has a signed pattern of at least the exponent
    mask, a non-finite negative one an unsigned pattern of at least sign | exponent mask.
    """
    weight = np.asarray(weight)
    mask = _exponent_mask(weight.dtype)
    if mask is None or not weight.flags.c_contiguous:
        return bool(all(np.isfinite(part).all() for part in _chunks(weight)))
    bits = weight.dtype.itemsize * 8
    flat = weight.reshape(-1)
    unsigned, signed = flat.view(f"u{bits // 8}"), flat.view(f"i{bits // 8}")
    negative_limit = (1 << (bits - 1)) | mask
    for start in range(0, flat.size, _CHUNK):
        part = slice(start, start + _CHUNK)
        if int(signed[part].max()) >= mask or int(unsigned[part].max()) >= negative_limit:
            return False
    return True


def _chunks(weight: np.ndarray):
    rows = weight.reshape(weight.shape[0], -1) if weight.ndim > 1 else weight.reshape(1, -1)
    step = max(1, _CHUNK // max(1, rows.shape[1]))
    for start in range(0, rows.shape[0], step):
        yield rows[start : start + step].astype(np.float64)


def non_finite_reason(weight: np.ndarray) -> str:
    """Why a weight is skipped: ``holds 1 NaN and 2 -inf values (...)``."""
    nan = pos = neg = 0
    for part in _chunks(np.asarray(weight)):
        nan += int(np.count_nonzero(np.isnan(part)))
        pos += int(np.count_nonzero(np.isposinf(part)))
        neg += int(np.count_nonzero(np.isneginf(part)))
    counts = [f"{n} {label}" for n, label in ((nan, "NaN"), (pos, "+inf"), (neg, "-inf")) if n]
    listed = counts[0] if len(counts) == 1 else ", ".join(counts[:-1]) + " and " + counts[-1]
    noun = "value" if nan + pos + neg == 1 else "values"
    return f"holds {listed} {noun} (non-finite weights are never compressed)"


_HALF_SIGN = np.uint32(0x8000)
_HALF_INF = np.uint32(0x7C00)
_FLOAT_EXPONENT = np.uint32(0x7F800000)
# float16's magnitude bits shifted into float32's place read as 2^-112 times the value
# (normal and subnormal alike): 127 - 15 = 112 exponents apart.
_HALF_TO_FLOAT_SCALE = np.float32(2.0**112)


def float16_to_float32(values: np.ndarray) -> np.ndarray:
    """A float16 array as float32, bit for bit ``values.astype(np.float32)`` (every one of
    the 65,536 float16 values, tested), ~2.5x faster on normal values and ~12x on subnormal
    ones: numpy converts float16 in software, element by element.

    The magnitude bits shifted left by 13 are a float32 of 2^-112 times the value (float16
    subnormals become float32 subnormals, exactly); one multiplication by 2^112 rescales
    them. Inf and NaN (all-ones exponent) get float32's all-ones exponent instead.
    """
    magnitude = np.asarray(values, dtype=np.float16).view(np.uint16).astype(np.uint32)
    sign = magnitude & _HALF_SIGN
    magnitude ^= sign
    inf_or_nan = None
    if magnitude.size and magnitude.max() >= _HALF_INF:
        inf_or_nan = magnitude >= _HALF_INF
    magnitude <<= np.uint32(13)
    special_bits = None if inf_or_nan is None else magnitude | _FLOAT_EXPONENT
    out = magnitude.view(np.float32)
    out *= _HALF_TO_FLOAT_SCALE
    out_bits = out.view(np.uint32)
    if special_bits is not None:
        np.copyto(out_bits, special_bits, where=inf_or_nan)
    sign <<= np.uint32(16)
    out_bits |= sign
    return out
