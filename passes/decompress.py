"""`decompress`: fold compressed constant chains back into one dense constant.

`blockwise_shift_scale`, `lut_to_dense`, `build_sparse_with_bitmask` +
`sparse_with_bitmask_to_dense` and `cast`, when all their operands are constants, are
evaluated with the reference numerics of coreai-ir.md. This is the semantics every
compression pass is tested against: `decompress(compress(w))` is what the device computes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from coreai_opt.dialects.coreai import (
    BlockwiseShiftScaleOp,
    BuildSparseWithBitmaskOp,
    CastOp,
    LutToDenseOp,
    SparseWithBitmaskToDenseOp,
)
from coreai_opt.passes.common import defining_constant, key_hint, new_constant, where
from coreai_opt.passes.optimize import erase_dead_ops
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.ir import Operation
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from coreai_opt.ir.dtypes import numpy_dtype
from coreai_opt.ir.elements import elements_array, stored_nbytes
from coreai_opt.ir.pending import resolve_pending_resources
from coreai_opt.pipeline import CoreAIPass, PassRun, current_run


def operand_arrays(op: Operation) -> list[np.ndarray] | None:
    """The numpy values of all operands, if every operand is a constant."""
    constants = [defining_constant(operand) for operand in op.operands]
    if any(c is None for c in constants):
        return None
    return [elements_array(c.value) for c in constants]


def origin_key(op: Operation) -> str:
    """Resource key for the folded result: the op's SSA name, else its data constant's key."""
    if op.results and op.results[0].name_hint:
        return op.results[0].name_hint
    source = defining_constant(op.operands[0])
    return key_hint(source if source is not None else op)


class FoldPattern(RewritePattern):
    """Base: replace `op` by a constant holding `compute(op, arrays)`."""

    def __init__(self, run: PassRun) -> None:
        self.run = run

    def fold(
        self,
        op: Operation,
        value: np.ndarray,
        rewriter: PatternRewriter,
        sources: Operation | None = None,
    ) -> None:
        """Swap `op` for a dense constant of its result type.

        `sources` is the op whose constant operands were folded (default `op` itself; for
        sparse values, the `build_sparse_with_bitmask` feeding `op`, counted as folded too).
        """
        sources = sources or op
        result_type = op.results[0].type
        assert isinstance(result_type, TensorType)
        value = np.ascontiguousarray(value, dtype=numpy_dtype(result_type.get_element_type()))
        constant = new_constant(value.reshape(result_type.get_shape()), result_type, origin_key(op))
        before = sum(
            stored_nbytes(c.value)
            for c in map(defining_constant, sources.operands)
            if c is not None
        )
        folded = 1 if sources is op else 2
        self.run.count("ops-folded", folded, "Decompression ops folded into constants")
        self.run.count("bytes-before", before, "Bytes of the folded operands")
        self.run.count("bytes-after", stored_nbytes(constant.value), "Bytes of the dense results")
        constant.location = op.location
        rewriter.replace(op, constant)


class FoldBlockwiseShiftScale(FoldPattern):
    """`(data - offset1) * scale + offset2`, block-wise."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: BlockwiseShiftScaleOp, rewriter: PatternRewriter) -> None:
        from coreai_opt.numerics.quantization import dequantize_blockwise

        arrays = operand_arrays(op)
        if arrays is None:
            return
        data, scale, offset1, offset2 = arrays
        out_dtype = numpy_dtype(op.result.type.get_element_type())
        self.fold(op, dequantize_blockwise(data, scale, offset1, offset2, out_dtype), rewriter)


class FoldLutToDense(FoldPattern):
    """Look-up-table expansion."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: LutToDenseOp, rewriter: PatternRewriter) -> None:
        from coreai_opt.numerics.palettization import lut_to_dense

        arrays = operand_arrays(op)
        if arrays is None:
            return
        indices, lut, axis = arrays
        self.fold(op, lut_to_dense(indices, lut, int(axis.reshape(-1)[0])), rewriter)


class FoldSparseToDense(FoldPattern):
    """`sparse_with_bitmask_to_dense(build_sparse_with_bitmask(values, mask))`."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: SparseWithBitmaskToDenseOp, rewriter: PatternRewriter) -> None:
        from coreai_opt.numerics.pruning import dense_from_sparse

        build = op.sparse.owner
        if not isinstance(build, BuildSparseWithBitmaskOp):
            return
        arrays = operand_arrays(build)
        if arrays is None:
            return
        values, mask = arrays
        dense = dense_from_sparse(values.reshape(-1), mask.astype(bool))
        self.fold(op, dense, rewriter, sources=build)
        if not build.result.uses:
            rewriter.erase(build)


class FoldCast(FoldPattern):
    """Element type conversion (numpy `astype`: round to nearest even between floats)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: CastOp, rewriter: PatternRewriter) -> None:
        arrays = operand_arrays(op)
        if arrays is None:
            return
        target = numpy_dtype(op.result.type.get_element_type())
        with np.errstate(over="ignore", invalid="ignore"):
            converted = arrays[0].astype(target)
        if converted.dtype.kind == "f" or target.kind == "V":
            finite_before = np.isfinite(arrays[0].astype(np.float64)).sum()
            if np.isfinite(converted.astype(np.float64)).sum() < finite_before:
                self.run.warn(f"cast to {op.result.type} overflows", where(op))
        self.fold(op, converted, rewriter)


@dataclass(frozen=True)
class DecompressPass(CoreAIPass):
    """Fold compressed weight chains (quantized, palettized, sparse, cast) into dense constants."""

    name = "decompress"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        resolve_pending_resources(ctx, op)
        run = current_run(self.name)
        patterns = [
            FoldBlockwiseShiftScale(run),
            FoldLutToDense(run),
            FoldSparseToDense(run),
            FoldCast(run),
        ]
        PatternRewriteWalker(GreedyRewritePatternApplier(patterns)).rewrite_module(op)
        erase_dead_ops(op)
