"""`palettize`: weights → `ui<n>` indices + look-up tables → `coreai.lut_to_dense`.

Optional steps wrap the LUT expansion:
- `lut_dtype` (int8/uint8/fp8): LUT entries quantized with one scale per LUT, restored by a
  `blockwise_shift_scale` whose parameters have one element per LUT;
- `enable_per_channel_scale`: each output channel is divided by its max |w| before
  clustering and restored by a `blockwise_shift_scale` with one scale per channel.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from coreai_opt.dialects.coreai import BlockwiseShiftScaleOp, LutToDenseOp
from coreai_opt.passes.common import key_hint, new_constant
from coreai_opt.passes.compression import (
    Candidate,
    CompressConstant,
    CompressionPass,
    SkipConstant,
)
from coreai_opt.passes.selection import WeightSelector
from xdsl.dialects.builtin import TensorType
from xdsl.ir import Operation, SSAValue

from coreai_opt.ir.dtypes import float_type_for, integer_type
from coreai_opt.options import (
    LUT_DTYPES,
    PALETTIZE_GRANULARITIES,
    PALETTIZE_NBITS,
    CompressionGranularity,
    DType,
    validate_palettize,
)
from coreai_opt.pass_options import option
from coreai_opt.pipeline import PassRun

Granularity = CompressionGranularity


@dataclass(frozen=True)
class PalettizeSettings:
    """The options resolved for one constant."""

    n_bits: int
    group_size: int  # 0 = per tensor, 1 = per channel, g = groups of g output channels
    cluster_dim: int
    per_channel_scale: bool
    lut_dtype: DType | None
    num_workers: int
    exact: bool | None
    algorithm: str = "rtn"


def settings_for(candidate: Candidate, base: PalettizeSettings) -> PalettizeSettings:
    """Sparse values are clustered per tensor, scalar, unscaled; other shapes are checked."""
    if candidate.feeds_sparse_values or candidate.rank < 2:
        return PalettizeSettings(
            base.n_bits, 0, 1, False, base.lut_dtype, base.num_workers, base.exact, base.algorithm
        )
    channels = candidate.weight.shape[candidate.output_axis]
    if base.group_size > 1 and channels % base.group_size:
        raise SkipConstant(
            f"{channels} output channels (axis {candidate.output_axis}) are not divisible by "
            f"group_size {base.group_size}"
        )
    if base.cluster_dim > 1 and channels % base.cluster_dim:
        raise SkipConstant(
            f"{channels} output channels (axis {candidate.output_axis}) are not divisible by "
            f"cluster_dim {base.cluster_dim}"
        )
    return base


def cluster(candidate: Candidate, settings: PalettizeSettings, channel_scale: np.ndarray | None):
    """Run the k-means numerics: (indices, lut) in the `lut_to_dense` layout.

    With a channel scale the numerics cluster `weight / scale`, weighting each value by
    scale² so the error is minimised on the weight itself.
    """
    from coreai_opt.numerics.palettization import palettize

    axis = candidate.output_axis
    return palettize(
        candidate.weight,
        settings.n_bits,
        group_axis=axis,
        group_size=settings.group_size,
        cluster_dim=settings.cluster_dim,
        vector_axis=axis if settings.cluster_dim > 1 else None,
        num_workers=settings.num_workers,
        exact=settings.exact,
        channel_scale=channel_scale,
    )


def lut_chain(
    candidate: Candidate,
    settings: PalettizeSettings,
    indices: np.ndarray,
    lut: np.ndarray,
    channel_scale: np.ndarray | None,
) -> list[Operation]:
    """Constants for indices/LUT/axis, `lut_to_dense`, and the LUT dequantization if any.

    A quantized LUT gets one scale per LUT, and the indices are re-assigned to the nearest
    *dequantized* entry (what the device will decode), which never lowers the SNR.
    """
    key = key_hint(candidate.op)
    weight_type: TensorType = candidate.tensor_type
    float_type = weight_type.get_element_type()
    ops: list[Operation] = []
    lut_scale = lut_zero_point = None
    if settings.lut_dtype is not None:
        from coreai_opt.numerics.palettization import (
            assign_to_lut,
            channel_scaled_limit,
            dequantize_lut,
            quantize_lut,
        )

        limit = None
        if channel_scale is not None:  # decoded entries are multiplied by the channel scale
            limit = channel_scaled_limit(
                channel_scale, lut.shape[: candidate.rank], candidate.output_axis
            )
        if settings.algorithm == "mse" and settings.cluster_dim == 1:
            from coreai_opt.numerics.palettize_search import lut_populations, quantize_lut_mse

            populations = lut_populations(indices, lut, candidate.output_axis)
            lut, lut_scale, lut_zero_point = quantize_lut_mse(
                lut, settings.lut_dtype.value, limit, populations
            )
        else:
            lut, lut_scale, lut_zero_point = quantize_lut(lut, settings.lut_dtype.value, limit)
        if settings.cluster_dim == 1 and candidate.rank >= 1:
            decoded = dequantize_lut(lut, lut_scale, lut_zero_point, candidate.weight.dtype)
            indices = assign_to_lut(candidate.weight, decoded, candidate.output_axis, channel_scale)
    index_type = TensorType(integer_type(settings.n_bits, False), indices.shape)
    indices_op = new_constant(indices, index_type, f"{key}_indices")
    lut_element = lut_element_type(settings.lut_dtype) if settings.lut_dtype else float_type
    lut_op = new_constant(lut, TensorType(lut_element, lut.shape), f"{key}_lut")
    axis_value = np.array(candidate.output_axis, dtype=np.int16)
    axis_op = new_constant(axis_value, TensorType(integer_type(16, True), []), f"{key}_axis")
    dense_type = TensorType(lut_element, weight_type.get_shape())
    expand = LutToDenseOp.create(
        operands=[indices_op.result, lut_op.result, axis_op.result], result_types=[dense_type]
    )
    expand.results[0].name_hint = f"{key}_expanded"
    ops += [indices_op, lut_op, axis_op, expand]
    if lut_scale is not None:
        param_shape = lut.shape[: candidate.rank]
        ops += shift_scale(
            expand.results[0],
            lut_scale.reshape(param_shape).astype(candidate.weight.dtype),
            lut_zero_point.reshape(param_shape),
            lut_element,
            candidate,
            f"{key}_lut",
        )
    return ops


def lut_element_type(lut_dtype: DType):
    """MLIR element type of a quantized LUT."""
    from coreai_opt.passes.quantize import data_element_type

    return data_element_type(lut_dtype)


def shift_scale(
    data: SSAValue,
    scale: np.ndarray,
    offset1: np.ndarray,
    data_element,
    candidate: Candidate,
    key: str,
) -> list[Operation]:
    """scale/offset constants and a `blockwise_shift_scale` producing the weight's type."""
    float_type = candidate.tensor_type.get_element_type()
    shape = scale.shape
    scale_op = new_constant(scale, TensorType(float_type_for(scale.dtype), shape), f"{key}_scale")
    offset1_op = new_constant(offset1, TensorType(data_element, shape), f"{key}_zero_point")
    zeros = np.zeros(shape, dtype=candidate.weight.dtype)
    offset2_op = new_constant(zeros, TensorType(float_type, shape), f"{key}_offset")
    dequant = BlockwiseShiftScaleOp(data, scale_op.result, offset1_op.result, offset2_op.result)
    dequant.result.name_hint = f"{key}_dequantized"
    return [scale_op, offset1_op, offset2_op, dequant]


def palettize_candidate(candidate: Candidate, base: PalettizeSettings) -> list[Operation]:
    """The whole replacement chain for one weight."""
    settings = settings_for(candidate, base)
    weight = candidate.weight
    channel_scale = None
    if settings.per_channel_scale:
        from coreai_opt.numerics.palettization import per_channel_scale

        # Shaped [1, .., C_out, .., 1] in the weight's dtype: the scale operand as is.
        channel_scale = per_channel_scale(weight, candidate.output_axis)
    try:
        indices, lut = cluster(candidate, settings, channel_scale)
    except ValueError as error:
        raise SkipConstant(str(error)) from None
    if channel_scale is not None and settings.algorithm == "mse" and settings.cluster_dim == 1:
        from coreai_opt.numerics.palettize_search import refit_channel_scale

        axis = candidate.output_axis
        channel_scale = refit_channel_scale(weight, indices, lut, axis, channel_scale)
    ops = lut_chain(candidate, settings, indices, lut, channel_scale)
    if channel_scale is not None:
        float_type = candidate.tensor_type.get_element_type()
        zeros = np.zeros(channel_scale.shape, dtype=weight.dtype)
        ops += shift_scale(
            ops[-1].results[0],
            channel_scale,
            zeros,
            float_type,
            candidate,
            f"{key_hint(candidate.op)}_channel",
        )
    return ops


def usable_workers(requested: int) -> int:
    """Threads beyond the cores only add memory (results never depend on the count)."""
    return max(1, min(requested, os.cpu_count() or 1))


class PalettizeConstant(CompressConstant):
    """A weight → `ui<n>` indices + LUTs → `coreai.lut_to_dense` (+ optional scales)."""

    def __init__(self, palettize: PalettizePass, run: PassRun) -> None:
        super().__init__(palettize, run)
        self.settings = palettize.validated()

    def compress(self, candidate: Candidate) -> list[Operation]:
        return palettize_candidate(candidate, self.settings)


@dataclass(frozen=True)
class PalettizePass(CompressionPass):
    """Palettize weights with optimal k-means look-up tables (`lut_to_dense`)."""

    name = "palettize"

    n_bits: int = option(4, "Bits per index (LUT of 2^n_bits entries)", PALETTIZE_NBITS)
    granularity: str = option(
        "per_tensor", "LUT sharing", tuple(g.value for g in PALETTIZE_GRANULARITIES)
    )
    group_size: int = option(32, "Output channels per LUT (per_grouped_channel)")
    cluster_dim: int = option(1, "Values per LUT entry (vector palettization along output axis)")
    enable_per_channel_scale: bool = option(False, "Normalise each output channel by max |w|")
    lut_dtype: str | None = option(
        None, "Quantize LUT entries (one scale per LUT)", tuple(d.value for d in LUT_DTYPES)
    )
    weight_num_threshold: int = option(1024, "Only weights with more elements are compressed")
    include: str | None = option(None, "Compress only weights whose names match this regex")
    exclude: str | None = option(None, "Never compress weights whose names match this regex")
    num_kmeans_workers: int = option(4, "Threads for clustering (results never depend on it)")
    enable_fast_kmeans_mode: bool = option(
        True, "Batched Lloyd for many small LUTs (within 0.1 dB); false = exact DP everywhere"
    )
    algorithm: str = option(
        "rtn",
        "LUT-quantization and per-channel scales: rtn (max |w|) or mse (least squared error)",
        ("rtn", "mse"),
    )

    def __post_init__(self) -> None:
        self.check_option_types()
        WeightSelector(self.name, self.include, self.exclude)  # a bad regex fails here
        self.validated()

    def validated(self) -> PalettizeSettings:
        """Check the options (api.md messages) and resolve them."""
        lut, granularity = validate_palettize(
            self.lut_dtype,
            self.n_bits,
            self.granularity,
            self.group_size,
            self.cluster_dim,
            self.enable_per_channel_scale,
            self.num_kmeans_workers,
        )
        group = {
            Granularity.PER_TENSOR: 0,
            Granularity.PER_CHANNEL: 1,
            Granularity.PER_GROUPED_CHANNEL: self.group_size,
        }[granularity]
        return PalettizeSettings(
            self.n_bits,
            group,
            self.cluster_dim,
            self.enable_per_channel_scale,
            lut,
            usable_workers(self.num_kmeans_workers),
            None if self.enable_fast_kmeans_mode else True,
            self.algorithm,
        )

    def pattern(self, run: PassRun) -> PalettizeConstant:
        return PalettizeConstant(self, run)
