"""Compression enums and option validation, shared by the passes and `coreai_utils`.

Messages keep the wording of Apple's `coreai_opt` (docs/api.md) so users' regexes match.
"""

from __future__ import annotations

import numbers
import os
import sys
from enum import Enum, StrEnum
from typing import Any

from coreai_opt.errors import ArgumentTypeError


class DType(StrEnum):
    """Target element types of compressed weights."""

    INT2 = "int2"
    UINT2 = "uint2"
    INT4 = "int4"
    UINT4 = "uint4"
    INT8 = "int8"
    UINT8 = "uint8"
    FP4_E2M1FN = "fp4_e2m1fn"
    FP8_E4M3FN = "fp8_e4m3fn"
    FP8_E5M2 = "fp8_e5m2"
    FP8_E8M0FNU = "fp8_e8m0fnu"

    def is_int(self) -> bool:
        """True for the integer dtypes."""
        return "int" in self.value

    def is_fp8(self) -> bool:
        """True for the 8-bit float dtypes."""
        return self.value.startswith("fp8")

    @property
    def n_bits(self) -> int:
        """Bits per element."""
        digits = "".join(ch for ch in self.value.split("_")[0] if ch.isdigit())
        return int(digits)


class QScheme(StrEnum):
    """Symmetric or asymmetric (zero point) quantization."""

    SYMMETRIC = "symmetric"
    ASYMMETRIC = "asymmetric"


class CompressionGranularity(StrEnum):
    """How many weights share one set of compression parameters."""

    PER_TENSOR = "per_tensor"
    PER_CHANNEL = "per_channel"
    PER_BLOCK = "per_block"
    PER_GROUPED_CHANNEL = "per_grouped_channel"


QUANTIZE_DTYPES = (
    DType.INT2,
    DType.UINT2,
    DType.INT4,
    DType.UINT4,
    DType.INT8,
    DType.UINT8,
    DType.FP8_E4M3FN,
    DType.FP8_E5M2,
    DType.FP4_E2M1FN,
)
LUT_DTYPES = (DType.INT8, DType.UINT8, DType.FP8_E4M3FN, DType.FP8_E5M2)
SPARSE_QUANTIZE_DTYPES = LUT_DTYPES
PALETTIZE_NBITS = (1, 2, 3, 4, 6, 8)
PALETTIZE_GRANULARITIES = (
    CompressionGranularity.PER_TENSOR,
    CompressionGranularity.PER_CHANNEL,
    CompressionGranularity.PER_GROUPED_CHANNEL,
)


def shown(value: Any) -> str:
    """`repr` of a value for a message, numpy scalars shown as the Python value they hold."""
    if isinstance(value, tuple | list):
        inner = ", ".join(shown(v) for v in value)
        return (
            f"({inner}{',' if len(value) == 1 else ''})"
            if isinstance(value, tuple)
            else f"[{inner}]"
        )
    item = getattr(value, "item", None)
    if type(value).__module__ == "numpy" and callable(item):
        return repr(item())
    return repr(value)


def is_integer(value: Any) -> bool:
    """A Python or numpy integer, but not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_integer(value: Any, name: str, minimum: int | None = None) -> int:
    """`value` as an int; ArgumentTypeError for a non-integer, ValueError below `minimum`."""
    kind = {None: "an integer", 0: "a non-negative integer", 1: "a positive integer"}.get(
        minimum, f"an integer >= {minimum}"
    )
    if not is_integer(value):
        raise ArgumentTypeError(f"`{name}` must be {kind}, got {shown(value)}")
    if minimum is not None and value < minimum:
        raise ValueError(f"`{name}` must be {kind}, got {shown(value)}")
    return int(value)


def check_bool(value: Any, name: str) -> bool:
    """`value` as a bool: only `True`/`False` (or a numpy bool); never a string or a number."""
    numpy = sys.modules.get("numpy")
    if isinstance(value, bool) or (numpy is not None and isinstance(value, numpy.bool_)):
        return bool(value)
    raise ArgumentTypeError(f"`{name}` must be a bool (True or False), got {shown(value)}")


def check_number(value: Any, name: str) -> float:
    """`value` as a float: an int or float (numpy's too), never a bool or a string."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    raise ArgumentTypeError(f"`{name}` must be a number, got {shown(value)}")


def check_program(program: Any) -> None:
    """The program argument must be an AIProgram; the message says how to get one."""
    from coreai_opt.program import AIProgram

    if isinstance(program, AIProgram):
        return
    if program is None:
        hint = "got None; load one with AIProgram.load(path)"
    elif isinstance(program, str | os.PathLike):
        path = os.fspath(program)
        hint = f"got the path {path!r}; load it first with AIProgram.load({path!r})"
    elif hasattr(program, "program") and isinstance(program.program, AIProgram):
        hint = f"got {type(program).__name__}; pass its `.program`"
    elif type(program).__name__ == "ModuleOp":
        hint = "got an xDSL ModuleOp; wrap it as AIProgram(module)"
    else:
        hint = f"got {type(program).__name__}; load one with AIProgram.load(path)"
    raise ArgumentTypeError(f"`coreai_program` must be an AIProgram, {hint}")


def not_an_integer(value: Any) -> str:
    """` (a float, not an integer)` after a message quoting a value of the wrong type."""
    return "" if is_integer(value) else f" ({type(value).__name__}, not an integer)"


def as_enum(enum_type: type[Enum], value: Any, name: str) -> Any:
    """Accept an enum member or its string value (any case); else a ValueError naming it."""
    if value is None or isinstance(value, enum_type):
        return value
    if isinstance(value, str):
        for member in enum_type:
            if value.lower() in (member.value, member.name.lower()):
                return member
    allowed = ", ".join(m.value for m in enum_type)
    raise ValueError(f"`{name}` must be one of [{allowed}], got {shown(value)}")


def lookup(enum_type: type[Enum], value: Any, allowed: tuple) -> Any:
    """The member of `allowed` that `value` names (enum or string), or None if none does."""
    try:
        member = as_enum(enum_type, value, "")
    except ValueError:
        return None
    return member if member in allowed else None


def validate_quantize(
    dtype: Any, qscheme: Any, granularity: Any, block_size: int, scale_dtype: Any
) -> tuple[DType, QScheme, CompressionGranularity, DType | None]:
    """Check quantize options in Apple's order; returns them as enums."""
    try:
        dtype = as_enum(DType, dtype, "dtype")
    except ValueError:
        raise ValueError(f"Unsupported weight dtype {dtype!r}") from None
    if dtype not in QUANTIZE_DTYPES:
        supported = ", ".join(d.value for d in QUANTIZE_DTYPES)
        raise ValueError(f"Unsupported weight dtype {dtype}; supported: [{supported}]")
    qscheme = as_enum(QScheme, qscheme, "qscheme")
    granularity = as_enum(CompressionGranularity, granularity, "granularity")
    scale_dtype = as_enum(DType, scale_dtype, "scale_dtype")
    if dtype.is_int() and scale_dtype is not None:
        raise ValueError(f"scale_dtype must be None for integer dtype {dtype}, got {scale_dtype}")
    if not dtype.is_int() and qscheme == QScheme.ASYMMETRIC:
        raise ValueError(f"Asymmetric quantization is not supported for FP dtype {dtype}")
    if dtype == DType.FP4_E2M1FN:
        if scale_dtype is not None:
            raise ValueError(
                f"scale_dtype must be None for FP4 dtype {dtype} (E8M0 scales are implied)"
            )
        if granularity != CompressionGranularity.PER_BLOCK or block_size != 32:
            raise ValueError(
                "DType.FP4_E2M1FN requires granularity=CompressionGranularity.PER_BLOCK and "
                f"block_size=32 (MXFP4), got granularity={granularity}, block_size={block_size}"
            )
    if dtype.is_fp8() and scale_dtype not in (None, DType.FP8_E8M0FNU):
        raise ValueError(
            f"Invalid scale_dtype {scale_dtype} for FP8 weight dtype {dtype}: "
            "must be None or fp8_e8m0fnu"
        )
    check_block_size(granularity, block_size)
    return dtype, qscheme, granularity, scale_dtype


def check_block_size(granularity: CompressionGranularity, block_size: int) -> None:
    """An integer always; blocks and groups need a positive size."""
    needs_size = granularity in (
        CompressionGranularity.PER_BLOCK,
        CompressionGranularity.PER_GROUPED_CHANNEL,
    )
    check_integer(block_size, "block_size", 1 if needs_size else None)


def validate_palettize(
    lut_dtype: Any,
    n_bits: int,
    granularity: Any,
    group_size: int,
    cluster_dim: int,
    enable_per_channel_scale: bool,
    num_kmeans_workers: int,
) -> tuple[DType | None, CompressionGranularity]:
    """Check palettize options in Apple's order; returns the enums."""
    check_integer(cluster_dim, "cluster_dim", 1)
    check_bool(enable_per_channel_scale, "enable_per_channel_scale")
    if enable_per_channel_scale and cluster_dim > 1:
        raise ValueError("`enable_per_channel_scale=True` is not supported with `cluster_dim > 1`.")
    lut = None if lut_dtype is None else lookup(DType, lut_dtype, LUT_DTYPES)
    if lut_dtype is not None and lut is None:
        allowed_luts = [d.value for d in LUT_DTYPES]
        raise ValueError(f"`lut_dtype` must be one of {allowed_luts} or None, got {lut_dtype!r}")
    if not is_integer(n_bits) or n_bits not in PALETTIZE_NBITS:
        error = ValueError if is_integer(n_bits) else ArgumentTypeError
        allowed = list(PALETTIZE_NBITS)
        raise error(
            f"`n_bits` must be one of {allowed}, got {shown(n_bits)}{not_an_integer(n_bits)}"
        )
    requested = granularity
    granularity = lookup(CompressionGranularity, requested, PALETTIZE_GRANULARITIES)
    if granularity is None:
        allowed_granularities = [g.value for g in PALETTIZE_GRANULARITIES]
        raise ValueError(f"`granularity` must be one of {allowed_granularities}, got {requested!r}")
    grouped = granularity == CompressionGranularity.PER_GROUPED_CHANNEL
    check_integer(group_size, "group_size", 1 if grouped else None)
    check_integer(num_kmeans_workers, "num_kmeans_workers", 1)
    return lut, granularity


def validate_sparsify(
    target_sparsity: float | None,
    block_size: int | None,
    n_m_ratio: tuple[int, int] | None,
    quantize_dtype: Any,
    palettize_nbits: int | None,
) -> DType | None:
    """Check sparsify options in Apple's order; returns the quantize dtype as an enum."""
    if target_sparsity is not None and n_m_ratio is not None:
        raise ValueError("`target_sparsity` and `n_m_ratio` cannot both be set.")
    if target_sparsity is None and n_m_ratio is None:
        raise ValueError("One of `target_sparsity` or `n_m_ratio` must be set.")
    if quantize_dtype is not None and palettize_nbits is not None:
        raise ValueError("`quantize_dtype` and `palettize_nbits` cannot both be set.")
    q_dtype = (
        None if quantize_dtype is None else lookup(DType, quantize_dtype, SPARSE_QUANTIZE_DTYPES)
    )
    if quantize_dtype is not None and q_dtype is None:
        allowed_q = [d.value for d in SPARSE_QUANTIZE_DTYPES]
        raise ValueError(f"Invalid quantize_dtype {quantize_dtype!r}: must be one of {allowed_q}")
    if palettize_nbits is not None and (
        not is_integer(palettize_nbits) or palettize_nbits not in PALETTIZE_NBITS
    ):
        error = ValueError if is_integer(palettize_nbits) else ArgumentTypeError
        raise error(
            f"Invalid palettize_nbits {shown(palettize_nbits)}: must be one of "
            f"{list(PALETTIZE_NBITS)}{not_an_integer(palettize_nbits)}"
        )
    if target_sparsity is not None:
        sparsity = check_number(target_sparsity, "target_sparsity")
        if not 0.0 <= sparsity <= 1.0:
            raise ValueError(f"`target_sparsity` must be in [0, 1], got {shown(target_sparsity)}")
    if block_size is not None:
        if not is_integer(block_size):
            raise ArgumentTypeError(
                f"`block_size` must be greater than 1 (an integer or None), got {shown(block_size)}"
            )
        if block_size <= 1:
            raise ValueError("`block_size` must be greater than 1.")
    if n_m_ratio is not None:
        check_n_m_ratio(n_m_ratio)
    return q_dtype


def check_n_m_ratio(n_m_ratio: Any) -> None:
    """`n_m_ratio` is a pair of integers with 0 < n <= m."""
    if not isinstance(n_m_ratio, tuple | list) or len(n_m_ratio) != 2:
        raise ValueError(
            f"`n_m_ratio` must be a tuple of two integers (n, m), got {shown(n_m_ratio)}"
        )
    n, m = n_m_ratio
    if not all(is_integer(v) for v in (n, m)):
        raise ArgumentTypeError(f"`n_m_ratio` must hold integers, got {shown(n_m_ratio)}")
    if not 0 < n <= m:
        raise ValueError(f"`n_m_ratio` (n, m) must satisfy 0 < n <= m, got {shown(n_m_ratio)}")
