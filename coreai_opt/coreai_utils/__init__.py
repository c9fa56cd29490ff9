"""Drop-in replacements for Apple's `coreai_opt.coreai_utils` compression functions.

Same signatures, defaults, validation order and messages (docs/api.md); each function is a
thin wrapper that builds a one- or two-pass `Pipeline` and runs it. Every argument is checked
before anything runs: the program must be an `AIProgram`, booleans `bool`, integers integral
(numpy integers are accepted), each with a one-line message naming the parameter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from coreai_opt.options import (
    CompressionGranularity,
    DType,
    QScheme,
    check_bool,
    check_integer,
    check_program,
    validate_palettize,
    validate_quantize,
    validate_sparsify,
)
from coreai_opt.pipeline import CoreAIPass, Pipeline

if TYPE_CHECKING:
    from coreai_opt.program import AIProgram

__all__ = [
    "CompressionGranularity",
    "DType",
    "QScheme",
    "palettize_weights",
    "quantize_weights",
    "sparsify_weights",
]


def check_common(weight_num_threshold: object, in_place: object) -> None:
    """The arguments every compression function shares (after Apple's own checks)."""
    check_integer(weight_num_threshold, "weight_num_threshold", 0)
    check_bool(in_place, "in_place")


def run_passes(program: AIProgram, passes: list[CoreAIPass], in_place: bool) -> AIProgram:
    """Run passes on `program` itself (`in_place`) or on a cheap copy, leaving it untouched."""
    target = program if in_place else program.copy()
    Pipeline(passes).run(target)
    return target


def quantize_weights(
    coreai_program: AIProgram,
    dtype: DType | str,
    qscheme: QScheme | str = QScheme.SYMMETRIC,
    granularity: CompressionGranularity | str = CompressionGranularity.PER_CHANNEL,
    block_size: int = 32,
    weight_num_threshold: int = 1024,
    scale_dtype: DType | str | None = None,
    in_place: bool = False,
    *,
    algorithm: str = "rtn",
) -> AIProgram:
    """Quantize eligible weights (int2/4/8, uint2/4/8, FP8, MXFP4) to `blockwise_shift_scale`.

    ``algorithm`` (keyword only, our extension): ``"rtn"`` (Apple's min/max round to
    nearest), ``"mse"`` (each block's parameters chosen to minimise the squared error) or
    ``"gptq"`` (integer dtypes; seeded random calibration inputs; for an ``.npz`` of real
    inputs use ``Pipeline.parse("quantize<algorithm=gptq,calibration=...>")``).
    """
    from coreai_opt.passes.quantize import ALGORITHMS, QuantizePass

    check_program(coreai_program)
    dtype, qscheme, granularity, scale_dtype = validate_quantize(
        dtype, qscheme, granularity, block_size, scale_dtype
    )
    check_common(weight_num_threshold, in_place)
    if algorithm not in ALGORITHMS:
        raise ValueError(f"`algorithm` must be one of {list(ALGORITHMS)}, got {algorithm!r}")
    quantize = QuantizePass(
        dtype=dtype.value,
        qscheme=qscheme.value,
        granularity=granularity.value,
        block_size=block_size,
        weight_num_threshold=weight_num_threshold,
        scale_dtype=None if scale_dtype is None else scale_dtype.value,
        algorithm=algorithm,
    )
    return run_passes(coreai_program, [quantize], in_place)


def palettize_weights(
    coreai_program: AIProgram,
    lut_dtype: DType | str | None = None,
    n_bits: int = 4,
    granularity: CompressionGranularity | str = CompressionGranularity.PER_TENSOR,
    group_size: int = 32,
    cluster_dim: int = 1,
    enable_per_channel_scale: bool = False,
    weight_num_threshold: int = 1024,
    num_kmeans_workers: int = 4,
    enable_fast_kmeans_mode: bool = True,
    rounding_precision: int = 4,
    in_place: bool = False,
) -> AIProgram:
    """Palettize eligible weights with optimal k-means look-up tables (`lut_to_dense`)."""
    from coreai_opt.passes.palettize import PalettizePass

    check_program(coreai_program)
    lut, granularity = validate_palettize(
        lut_dtype,
        n_bits,
        granularity,
        group_size,
        cluster_dim,
        enable_per_channel_scale,
        num_kmeans_workers,
    )
    check_bool(enable_fast_kmeans_mode, "enable_fast_kmeans_mode")
    check_integer(rounding_precision, "rounding_precision", 0)
    check_common(weight_num_threshold, in_place)
    palettize = PalettizePass(
        n_bits=n_bits,
        granularity=granularity.value,
        group_size=group_size,
        cluster_dim=cluster_dim,
        enable_per_channel_scale=enable_per_channel_scale,
        lut_dtype=None if lut is None else lut.value,
        weight_num_threshold=weight_num_threshold,
        num_kmeans_workers=num_kmeans_workers,
        enable_fast_kmeans_mode=enable_fast_kmeans_mode,
    )
    del rounding_precision  # accepted for compatibility: we never round weights (defect 7)
    return run_passes(coreai_program, [palettize], in_place)


def sparsify_weights(
    coreai_program: AIProgram,
    target_sparsity: float | None = 0.5,
    block_size: int | None = None,
    n_m_ratio: tuple[int, int] | None = None,
    quantize_dtype: DType | str | None = None,
    palettize_nbits: int | None = None,
    weight_num_threshold: int = 1024,
    in_place: bool = False,
) -> AIProgram:
    """Magnitude-prune eligible weights; optionally quantize or palettize the non-zeros.

    Exactly the pipeline `sparsify<...>` followed by `quantize<dtype=...>` or
    `palettize<n_bits=...>`, which compress the values feeding `build_sparse_with_bitmask`.
    """
    from coreai_opt.passes.sparsify import SparsifyPass

    check_program(coreai_program)
    q_dtype = validate_sparsify(
        target_sparsity, block_size, n_m_ratio, quantize_dtype, palettize_nbits
    )
    check_common(weight_num_threshold, in_place)
    passes: list[CoreAIPass] = [
        SparsifyPass(
            target_sparsity=target_sparsity,
            block_size=block_size,
            n_m_ratio=None if n_m_ratio is None else tuple(n_m_ratio),
            weight_num_threshold=weight_num_threshold,
        )
    ]
    passes.extend(joint_passes(q_dtype, palettize_nbits, weight_num_threshold))
    return run_passes(coreai_program, passes, in_place)


def joint_passes(
    quantize_dtype: DType | None, palettize_nbits: int | None, weight_num_threshold: int
) -> list[CoreAIPass]:
    """The pass compressing the sparse non-zeros, if any was asked for."""
    if quantize_dtype is not None:
        from coreai_opt.passes.quantize import QuantizePass

        return [QuantizePass(dtype=quantize_dtype.value, weight_num_threshold=weight_num_threshold)]
    if palettize_nbits is not None:
        from coreai_opt.passes.palettize import PalettizePass

        return [PalettizePass(n_bits=palettize_nbits, weight_num_threshold=weight_num_threshold)]
    return []
