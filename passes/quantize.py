"""`quantize`: weights → data/scale/offset constants → `coreai.blockwise_shift_scale`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from coreai_opt.dialects.coreai import BlockwiseShiftScaleOp
from coreai_opt.passes.common import key_hint, new_constant
from coreai_opt.passes.compression import (
    Candidate,
    CompressConstant,
    CompressionPass,
    SkipConstant,
)
from coreai_opt.passes.selection import WeightSelector
from xdsl.dialects.builtin import TensorType
from xdsl.ir import Attribute, Operation

from coreai_opt.ir.dtypes import float_type_for, integer_type
from coreai_opt.numerics.finite import NonFiniteWeightError
from coreai_opt.options import (
    QUANTIZE_DTYPES,
    CompressionGranularity,
    DType,
    QScheme,
    validate_quantize,
)
from coreai_opt.pass_options import option
from coreai_opt.pipeline import PassRun

Granularity = CompressionGranularity


def block_shape_for(
    candidate: Candidate, granularity: Granularity, block_size: int
) -> tuple[int, ...]:
    """Block size per axis (0 = whole axis) for a granularity (coreai-ir.md §3)."""
    rank, out_axis, in_axis = candidate.rank, candidate.output_axis, candidate.input_axis
    blocks = [0] * rank
    if candidate.feeds_sparse_values or granularity == Granularity.PER_TENSOR:
        return tuple(blocks)
    if granularity == Granularity.PER_GROUPED_CHANNEL:
        blocks[out_axis] = block_size
    else:
        blocks[out_axis] = 1
    if granularity == Granularity.PER_BLOCK:
        if rank < 2 or in_axis == out_axis:
            raise SkipConstant("per-block quantization needs a weight of rank >= 2")
        blocks[in_axis] = block_size
    check_divisible(candidate.weight.shape, blocks)
    return tuple(blocks)


def check_divisible(shape: tuple[int, ...], blocks: list[int]) -> None:
    """Every blocked axis must be a whole number of blocks."""
    for axis, (dim, block) in enumerate(zip(shape, blocks, strict=True)):
        if block and dim % block:
            raise SkipConstant(f"dim {axis} ({dim}) is not divisible by block size {block}")


def quantize_array(weight: np.ndarray, dtype: DType, symmetric: bool, blocks, mx: bool):
    """Run the numerics for one weight; returns the QuantizedTensor."""
    from coreai_opt.numerics import quantization as q

    if dtype.is_int():
        return q.quantize_int(
            weight, dtype.n_bits, dtype.value.startswith("int"), symmetric, blocks
        )
    if dtype == DType.FP4_E2M1FN:
        return q.quantize_mxfp4(weight, blocks)
    return q.quantize_fp8(weight, element_dtype(dtype), blocks, mx)


def element_dtype(dtype: DType) -> np.dtype:
    """numpy dtype of fp8/fp4 data."""
    import ml_dtypes

    return np.dtype(
        {
            DType.FP8_E4M3FN: ml_dtypes.float8_e4m3fn,
            DType.FP8_E5M2: ml_dtypes.float8_e5m2,
            DType.FP4_E2M1FN: ml_dtypes.float4_e2m1fn,
            DType.FP8_E8M0FNU: ml_dtypes.float8_e8m0fnu,
        }[dtype]
    )


def data_element_type(dtype: DType) -> Attribute:
    """MLIR element type of the quantized data (`si4`, `ui8`, `f8E4M3FN`, ...)."""
    if dtype.is_int():
        return integer_type(dtype.n_bits, dtype.value.startswith("int"))
    return float_type_for(element_dtype(dtype))


def build_dequant_chain(
    candidate: Candidate,
    data: np.ndarray,
    data_type: Attribute,
    scale: np.ndarray,
    offset: np.ndarray,
    suffix: str = "",
) -> list[Operation]:
    """Constants for data/scale/offset1/offset2 and the `blockwise_shift_scale` using them."""
    weight_type: TensorType = candidate.tensor_type
    float_type = weight_type.get_element_type()
    param_shape = scale.shape
    key = key_hint(candidate.op, suffix)
    data_op = new_constant(data, TensorType(data_type, data.shape), f"{key}_data")
    scale_op = new_constant(
        scale, TensorType(float_type_for(scale.dtype), param_shape), f"{key}_scale"
    )
    offset1_op = new_constant(offset, TensorType(data_type, param_shape), f"{key}_zero_point")
    zeros = np.zeros(param_shape, dtype=candidate.weight.dtype)
    offset2_op = new_constant(zeros, TensorType(float_type, param_shape), f"{key}_offset")
    dequant = BlockwiseShiftScaleOp(
        data_op.result, scale_op.result, offset1_op.result, offset2_op.result
    )
    return [data_op, scale_op, offset1_op, offset2_op, dequant]


class QuantizeConstant(CompressConstant):
    """A weight → data/scale/offset constants → `coreai.blockwise_shift_scale`."""

    numerics_check_finite = True

    def __init__(self, quantize: QuantizePass, run: PassRun) -> None:
        super().__init__(quantize, run)
        self.dtype, qscheme, self.granularity, scale_dtype = validate_quantize(
            quantize.dtype,
            quantize.qscheme,
            quantize.granularity,
            quantize.block_size,
            quantize.scale_dtype,
        )
        self.block_size = quantize.block_size
        self.symmetric = qscheme == QScheme.SYMMETRIC
        self.mx = scale_dtype == DType.FP8_E8M0FNU or self.dtype == DType.FP4_E2M1FN

    def compress(self, candidate: Candidate) -> list[Operation]:
        blocks = block_shape_for(candidate, self.granularity, self.block_size)
        try:
            quantized = quantize_array(
                candidate.weight, self.dtype, self.symmetric, blocks, self.mx
            )
        except NonFiniteWeightError:
            raise
        except ValueError as error:
            raise SkipConstant(str(error)) from None
        return build_dequant_chain(
            candidate,
            quantized.data,
            data_element_type(self.dtype),
            quantized.scale,
            quantized.offset,
        )


@dataclass(frozen=True)
class QuantizePass(CompressionPass):
    """Quantize weights to int2/4/8, uint2/4/8, FP8 or MXFP4 (`blockwise_shift_scale`)."""

    name = "quantize"

    dtype: str = option("int8", "Target dtype", choices=tuple(d.value for d in QUANTIZE_DTYPES))
    qscheme: str = option(
        "symmetric", "Quantization scheme", choices=tuple(q.value for q in QScheme)
    )
    granularity: str = option(
        "per_channel", "Parameter sharing", choices=tuple(g.value for g in Granularity)
    )
    block_size: int = option(32, "Block size (per_block) or group size (per_grouped_channel)")
    weight_num_threshold: int = option(1024, "Only weights with more elements are compressed")
    include: str | None = option(None, "Compress only weights whose names match this regex")
    exclude: str | None = option(None, "Never compress weights whose names match this regex")
    scale_dtype: str | None = option(
        None, "Scale dtype: none (weight's float type) or fp8_e8m0fnu (MX)", ("fp8_e8m0fnu",)
    )
    algorithm: str = option(
        "rtn", "rtn (round to nearest) or gptq (calibration data, integer dtypes)", ("rtn", "gptq")
    )
    calibration: str | None = option(
        None, "gptq: .npz of calibration inputs by argument name (none: random inputs)"
    )
    calibration_samples: int | None = option(
        None, "gptq: random samples to make (default 8), or the file's samples to use"
    )
    calibration_seed: int = option(0, "gptq: seed of the random calibration inputs")
    calibration_mask: str | None = option(
        None, "gptq: input marking real tokens (e.g. attention_mask): padding rows not counted"
    )
    damp: float = option(0.01, "gptq: diagonal damping, a fraction of the mean of diag(H)")
    act_order: bool = option(False, "gptq: quantize columns in decreasing diag(H) order")
    clip_search: bool = option(
        False, "gptq: choose group ranges by a clip search (errors weighted by diag H)"
    )
    sequential: bool = option(
        False, "gptq: each weight's statistics taken with the earlier weights quantized"
    )

    def __post_init__(self) -> None:
        self.check_option_types()
        WeightSelector(self.name, self.include, self.exclude)  # a bad regex fails here
        validate_quantize(
            self.dtype, self.qscheme, self.granularity, self.block_size, self.scale_dtype
        )
        from coreai_opt.passes.gptq import validate_gptq_options

        validate_gptq_options(self)

    def pattern(self, run: PassRun) -> QuantizeConstant:
        if self.algorithm == "gptq":
            from coreai_opt.passes.gptq import GptqQuantizeConstant

            return GptqQuantizeConstant(self, run)
        return QuantizeConstant(self, run)
