"""`sparsify`: magnitude pruning → non-zero values + `ui1` mask → bitmask-sparse ops.

Chained with `quantize` or `palettize`, the later pass compresses the values constant that
feeds `build_sparse_with_bitmask` (per tensor, over the non-zeros only), which is exactly
the joint representation `sparsify_weights(quantize_dtype=..., palettize_nbits=...)` makes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from coreai_opt.dialects.coreai import (
    BuildSparseWithBitmaskOp,
    SparseTensorType,
    SparseWithBitmaskToDenseOp,
)
from coreai_opt.passes.common import key_hint, new_constant
from coreai_opt.passes.compression import (
    Candidate,
    CompressConstant,
    CompressionPass,
    SkipConstant,
)
from coreai_opt.passes.selection import WeightSelector
from xdsl.dialects.builtin import TensorType
from xdsl.ir import Operation

from coreai_opt.ir.dtypes import integer_type
from coreai_opt.options import validate_sparsify
from coreai_opt.pass_options import option
from coreai_opt.pipeline import PassRun


def prune_mask(
    candidate: Candidate,
    target_sparsity: float | None,
    block_size: int | None,
    n_m_ratio: tuple[int, int] | None,
) -> np.ndarray:
    """The keep-mask (True = kept) for one weight, per the chosen structure."""
    from coreai_opt.numerics import pruning

    weight = candidate.weight
    try:
        if n_m_ratio is not None:
            n, m = n_m_ratio
            return pruning.n_m_mask(weight, n, m, candidate.input_axis)
        assert target_sparsity is not None
        if block_size is not None:
            return pruning.block_mask(weight, target_sparsity, block_size, candidate.output_axis)
        return pruning.unstructured_mask(weight, target_sparsity)
    except ValueError as error:
        raise SkipConstant(str(error)) from None


def build_sparse_chain(candidate: Candidate, mask: np.ndarray) -> list[Operation]:
    """values + mask constants, `build_sparse_with_bitmask`, `sparse_with_bitmask_to_dense`."""
    from coreai_opt.numerics.pruning import values_from_mask

    weight_type: TensorType = candidate.tensor_type
    element = weight_type.get_element_type()
    values = values_from_mask(candidate.weight, mask)
    key = key_hint(candidate.op)
    values_op = new_constant(values, TensorType(element, values.shape), f"{key}_values")
    mask_op = new_constant(mask, TensorType(integer_type(1, False), mask.shape), f"{key}_mask")
    build = BuildSparseWithBitmaskOp.create(
        operands=[values_op.result, mask_op.result],
        result_types=[SparseTensorType(weight_type)],
    )
    build.result.name_hint = f"{key}_sparse"
    dense = SparseWithBitmaskToDenseOp.create(operands=[build.result], result_types=[weight_type])
    return [values_op, mask_op, build, dense]


class SparsifyConstant(CompressConstant):
    """A weight → non-zero values + `ui1` mask → bitmask-sparse ops."""

    def __init__(self, sparsify: SparsifyPass, run: PassRun) -> None:
        super().__init__(sparsify, run)
        self.sparsity = sparsify.sparsity()
        self.block_size = sparsify.block_size
        self.n_m_ratio = sparsify.n_m_ratio

    def compress(self, candidate: Candidate) -> list[Operation]:
        if candidate.feeds_sparse_values:
            raise SkipConstant("already the values of a sparse weight")
        mask = prune_mask(candidate, self.sparsity, self.block_size, self.n_m_ratio)
        pruned = int(mask.size - np.count_nonzero(mask))
        self.run.count("weights-pruned", pruned, "Weights pruned")
        return build_sparse_chain(candidate, mask)


@dataclass(frozen=True)
class SparsifyPass(CompressionPass):
    """Magnitude-prune weights (unstructured, output-channel blocks, or n:m) to bitmask sparsity."""

    name = "sparsify"

    target_sparsity: float | None = option(
        None, "Fraction of weights pruned (none = 0.5, or n:m when n_m_ratio is set)"
    )
    block_size: int | None = option(None, "Prune blocks of this many consecutive output channels")
    n_m_ratio: tuple[int, int] | None = option(
        None, "(n,m): prune the n smallest of every m along the input axis"
    )
    weight_num_threshold: int = option(1024, "Only weights with more elements are compressed")
    include: str | None = option(None, "Compress only weights whose names match this regex")
    exclude: str | None = option(None, "Never compress weights whose names match this regex")

    def __post_init__(self) -> None:
        self.check_option_types()
        WeightSelector(self.name, self.include, self.exclude)  # a bad regex fails here
        validate_sparsify(self.sparsity(), self.block_size, self.n_m_ratio, None, None)

    def sparsity(self) -> float | None:
        """The effective target sparsity: 0.5 unless given or n:m is asked for."""
        if self.target_sparsity is None and self.n_m_ratio is None:
            return 0.5
        return self.target_sparsity

    def pattern(self, run: PassRun) -> SparsifyConstant:
        return SparsifyConstant(self, run)
