"""`quantize`: weights → data/scale/offset constants → `coreai.blockwise_shift_scale`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from coreai_opt.dialects.coreai import (
    BlockwiseShiftScaleOp,
    BuildSparseWithBitmaskOp,
    ConstantOp,
    SparseTensorType,
    SparseWithBitmaskToDenseOp,
)
from coreai_opt.passes.common import defining_constant, key_hint, new_constant
from coreai_opt.passes.compression import (
    Candidate,
    CompressConstant,
    CompressionPass,
    SkipConstant,
    channel_axes,
    release_weight_pages,
)
from coreai_opt.passes.selection import WeightSelector
from xdsl.dialects.builtin import TensorType
from xdsl.ir import Attribute, Operation
from xdsl.pattern_rewriter import PatternRewriter
from xdsl.rewriter import InsertPoint

from coreai_opt.errors import PipelineError
from coreai_opt.ir.dtypes import float_type_for, integer_type
from coreai_opt.ir.elements import elements_array, stored_nbytes
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

if TYPE_CHECKING:
    from coreai_opt.numerics.sparse_quant import PackedMask

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


ALGORITHMS = ("rtn", "mse", "gptq")
GPTQ_PARAMS = ("rtn", "mse")
"""`gptq_params`: round-to-nearest's group parameters (default) or the MSE search's."""
SPARSE_SCALES = ("per_tensor", "per_channel")
SPARSE_PER_CHANNEL_DTYPES = (DType.INT8, DType.FP8_E4M3FN, DType.FP8_E5M2)


def quantize_array(
    weight: np.ndarray, dtype: DType, symmetric: bool, blocks, mx: bool, algorithm: str = "rtn"
):
    """Run the numerics for one weight; returns the QuantizedTensor.

    ``algorithm="mse"`` chooses each block's parameters by the error-minimising search
    (coreai_opt/numerics/search.py); ``"rtn"`` is min/max round-to-nearest.
    """
    from coreai_opt.numerics import quantization as q

    if algorithm == "mse":
        from coreai_opt.numerics import search

        if dtype.is_int():
            signed = dtype.value.startswith("int")
            return search.quantize_int_mse(weight, dtype.n_bits, signed, symmetric, blocks)
        if dtype == DType.FP4_E2M1FN:
            return search.quantize_mxfp4_mse(weight, blocks)
        return search.quantize_fp8_mse(weight, element_dtype(dtype), blocks, mx)
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
    offset2: np.ndarray | None = None,
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
    if offset2 is None:
        offset2 = np.zeros(param_shape, dtype=candidate.weight.dtype)
    offset2_op = new_constant(offset2, TensorType(float_type, param_shape), f"{key}_offset")
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
        self.algorithm = quantize.algorithm
        self.sparse_per_channel = quantize.sparse_scale == "per_channel"

    def rewrite_candidate(
        self, op: ConstantOp, candidate: Candidate, rewriter: PatternRewriter
    ) -> None:
        """Sparse values with `sparse_scale=per_channel` get the scale after densifying."""
        site = sparse_site(op) if candidate.feeds_sparse_values else None
        if self.sparse_per_channel and site is not None:
            from coreai_opt.numerics.finite import non_finite_reason

            try:
                self.rewrite_sparse(op, candidate, site, rewriter)
            except NonFiniteWeightError:
                self.skip(op, non_finite_reason(candidate.weight))
            except ValueError as error:
                self.skip(op, str(error))
            return
        super().rewrite_candidate(op, candidate, rewriter)

    def rewrite_sparse(
        self,
        op: ConstantOp,
        candidate: Candidate,
        site: tuple[BuildSparseWithBitmaskOp, ConstantOp, list[SparseWithBitmaskToDenseOp]],
        rewriter: PatternRewriter,
    ) -> None:
        """values → int8/FP8 codes; build → to_dense (codes) → per-channel blockwise_shift_scale."""
        from coreai_opt.numerics.sparse_quant import quantize_sparse_values

        build, mask_op, dense_ops = site
        mask = stored_mask(mask_op)
        (output_axis, _), _agreed = channel_axes(dense_ops[0].result, mask.ndim)
        element = None if self.dtype.is_int() else element_dtype(self.dtype)
        codes, scale = quantize_sparse_values(
            candidate.weight, mask, output_axis, element, self.algorithm
        )
        new_ops = sparse_scale_chain(op, build, dense_ops[0], codes, scale, self.dtype)
        weight = new_ops[-1].results[0]
        for new_op in new_ops:
            new_op.location = build.location
        rewriter.insert(new_ops, InsertPoint.before(build))
        for dense in dense_ops:
            rewriter.replace_all_uses_with(dense.result, weight)
            rewriter.erase(dense)
        rewriter.erase(build)
        original = op.value
        rewriter.erase(op)
        self.run.count("constants-compressed", 1, "Weight constants compressed")
        self.run.count("bytes-before", stored_nbytes(original), "Weight bytes before compression")
        after = sum(stored_nbytes(o.value) for o in new_ops if isinstance(o, ConstantOp))
        self.run.count("bytes-after", after, "Bytes of the compressed constants")
        self.run.count("sparse-per-channel", 1, "Sparse values quantized with per-channel scales")
        release_weight_pages(original)

    def compress(self, candidate: Candidate) -> list[Operation]:
        blocks = block_shape_for(candidate, self.granularity, self.block_size)
        try:
            quantized = quantize_array(
                candidate.weight, self.dtype, self.symmetric, blocks, self.mx, self.algorithm
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
            offset2=quantized.offset2,
        )


def sparse_scale_chain(
    values_op: ConstantOp,
    build: BuildSparseWithBitmaskOp,
    dense: SparseWithBitmaskToDenseOp,
    codes: np.ndarray,
    scale: np.ndarray,
    dtype: DType,
) -> list[Operation]:
    """codes constant → `build_sparse_with_bitmask` (same mask) → `sparse_with_bitmask_to_dense`
    → `blockwise_shift_scale` by the per-channel scale with zero offsets (last op)."""
    data_type = data_element_type(dtype)
    float_type = values_op.result.type.get_element_type()
    dense_type = TensorType(data_type, dense.result.type.get_shape())
    key = key_hint(values_op)
    codes_op = new_constant(codes, TensorType(data_type, codes.shape), f"{key}_data")
    new_build = BuildSparseWithBitmaskOp.create(
        operands=[codes_op.result, build.mask], result_types=[SparseTensorType(dense_type)]
    )
    new_build.result.name_hint = build.result.name_hint
    new_dense = SparseWithBitmaskToDenseOp.create(
        operands=[new_build.result], result_types=[dense_type]
    )
    new_dense.result.name_hint = f"{key}_dense"
    param_shape = scale.shape
    scale_op = new_constant(
        scale, TensorType(float_type_for(scale.dtype), param_shape), f"{key}_scale"
    )
    zero_point = np.zeros(param_shape, dtype=codes.dtype)
    zp_op = new_constant(zero_point, TensorType(data_type, param_shape), f"{key}_zero_point")
    zeros = np.zeros(param_shape, dtype=scale.dtype)
    offset_op = new_constant(zeros, TensorType(float_type, param_shape), f"{key}_offset")
    dequant = BlockwiseShiftScaleOp(
        new_dense.result, scale_op.result, zp_op.result, offset_op.result
    )
    dequant.result.name_hint = dense.result.name_hint
    return [codes_op, new_build, new_dense, scale_op, zp_op, offset_op, dequant]


def stored_mask(mask_op: ConstantOp) -> np.ndarray | PackedMask:
    """The mask of a sparse weight: its stored bits when it is a resource (no bool copy of
    the dense shape), else the decoded array."""
    from coreai_opt.dialects.resources import DenseResourceElementsAttr

    from coreai_opt.numerics.sparse_quant import PackedMask

    value = mask_op.value
    if isinstance(value, DenseResourceElementsAttr) and value.blob.data is not None:
        packed = np.asarray(value.blob.data.data, dtype=np.uint8).reshape(-1)
        return PackedMask(packed, tuple(mask_op.result.type.get_shape()))
    return elements_array(value)


def sparse_site(
    op: ConstantOp,
) -> tuple[BuildSparseWithBitmaskOp, ConstantOp, list[SparseWithBitmaskToDenseOp]] | None:
    """(build op, mask constant, to_dense ops) when `op` is only the values of one sparse
    weight whose mask is a constant and whose sparse value is only densified; else None."""
    uses = list(op.result.uses)
    if len(uses) != 1 or uses[0].index != 0:
        return None
    build = uses[0].operation
    if not isinstance(build, BuildSparseWithBitmaskOp):
        return None
    mask_op = defining_constant(build.mask)
    dense_ops = [use.operation for use in build.result.uses]
    if mask_op is None or not dense_ops:
        return None
    if not all(isinstance(d, SparseWithBitmaskToDenseOp) for d in dense_ops):
        return None
    return build, mask_op, dense_ops  # type: ignore[return-value]


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
        "rtn",
        "Parameters: rtn (min/max round-to-nearest, Apple's), mse (error-minimising search) "
        "or gptq (calibration data, integer dtypes)",
        ALGORITHMS,
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
    gptq_params: str = option(
        "rtn",
        "gptq: group parameters of rtn (round-to-nearest) or mse (the search: float offset2)",
        GPTQ_PARAMS,
    )
    refit: bool = option(
        False,
        "gptq: refit scales (gptq_params=mse: and offsets) to the codes by least squares on "
        "the layer error",
    )
    refit_rounds: int = option(
        1, "gptq: sweeps, each followed by the refit (later ones keep the refitted parameters)"
    )
    sparse_scale: str = option(
        "per_tensor",
        "Sparse values: per_tensor scale (Apple's form) or per_channel scale after densifying",
        SPARSE_SCALES,
    )

    def __post_init__(self) -> None:
        self.check_option_types()
        if self.sparse_scale == "per_channel" and self.dtype not in {
            d.value for d in SPARSE_PER_CHANNEL_DTYPES
        }:
            raise PipelineError(
                f"quantize: sparse_scale=per_channel needs dtype int8, fp8_e4m3fn or "
                f"fp8_e5m2 (signed codes with a zero offset keep pruned weights 0), got "
                f"dtype={self.dtype}"
            )
        if self.sparse_scale == "per_channel" and self.scale_dtype is not None:
            raise PipelineError(
                "quantize: sparse_scale=per_channel takes no scale_dtype (MX scales are per block)"
            )
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
