"""What the compression passes share: which constants qualify, their channel axes, rewriting.

Eligibility (coreai-ir.md §4): a `coreai.constant` with a static tensor type and a float
element type (f16, bf16, f32), more than `weight_num_threshold` elements, every use a
consumer op (matmul x/y, transpose, gather_nd data, conv2d weight) or the values operand of
`build_sparse_with_bitmask` (chained compression). A constant of at least 1e8 elements, or
one with no uses, qualifies whatever consumes it.

Channel axes (§3) are decided per use; all uses must agree, else a warning and (0, 1).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from coreai_opt.dialects.coreai import (
    MATMUL_OPS,
    BlockwiseShiftScaleOp,
    BuildSparseWithBitmaskOp,
    CastOp,
    ConstantOp,
    Conv2dOp,
    GatherNdOp,
    LutToDenseOp,
    SparseWithBitmaskToDenseOp,
    TransposeOp,
)
from coreai_opt.dialects.resources import DenseResourceElementsAttr
from coreai_opt.passes.common import describe, where
from xdsl.dialects.builtin import (
    BFloat16Type,
    Float16Type,
    Float32Type,
    ModuleOp,
    TensorType,
)
from xdsl.ir import Attribute, Operation, SSAValue

from coreai_opt.ir.elements import ElidedWeightError, elements_array, stored_nbytes
from coreai_opt.pipeline import PassRun

ALWAYS_COMPRESS_ELEMENTS = 100_000_000
DEFAULT_AXES = (0, 1)
WEIGHT_FLOAT_TYPES = (Float16Type, BFloat16Type, Float32Type)


@dataclass(frozen=True)
class Candidate:
    """A constant chosen for compression, with its weight and channel axes (non-negative)."""

    op: ConstantOp
    weight: np.ndarray
    output_axis: int
    input_axis: int
    feeds_sparse_values: bool

    @property
    def tensor_type(self) -> TensorType:
        """The constant's tensor type."""
        return self.op.result.type

    @property
    def rank(self) -> int:
        """The weight's rank."""
        return self.weight.ndim


class SkipConstant(Exception):
    """Raised inside a pass to skip one constant with a reason (logged as a warning)."""


# --------------------------------------------------------------------------- axes


def look_through(value: SSAValue) -> list[tuple[Operation, int]]:
    """Uses of `value`, looking through chained decompression ops to their consumers."""
    found: list[tuple[Operation, int]] = []
    for use in value.uses:
        user = use.operation
        passthrough = isinstance(user, BlockwiseShiftScaleOp | CastOp | LutToDenseOp) and (
            use.index == 0
        )
        if passthrough:
            found.extend(look_through(user.results[0]))
        elif isinstance(user, BuildSparseWithBitmaskOp) and use.index == 0:
            for sparse_use in user.result.uses:
                if isinstance(sparse_use.operation, SparseWithBitmaskToDenseOp):
                    found.extend(look_through(sparse_use.operation.result))
        else:
            found.append((user, use.index))
    return found


def axes_for_use(user: Operation, index: int) -> tuple[int, int]:
    """(output axis, input axis), possibly negative, for one consumer of the weight."""
    if isinstance(user, MATMUL_OPS):
        return (-1, -2) if index == 1 else (-2, -1)
    if isinstance(user, TransposeOp) and index == 0:
        users = [(u.operation, u.index) for u in user.result.uses]
        if users and all(isinstance(u, MATMUL_OPS) and i == 1 for u, i in users):
            return (-2, -1)
        if users and all(isinstance(u, MATMUL_OPS) and i == 0 for u, i in users):
            return (-1, -2)
    return DEFAULT_AXES


def channel_axes(value: SSAValue, rank: int) -> tuple[tuple[int, int], bool]:
    """Non-negative (output, input) axes of a weight; the flag is False when uses disagree."""
    if rank < 2:
        return (0, 0), True
    decided = {
        (out % rank, inp % rank)
        for user, index in look_through(value)
        for out, inp in [axes_for_use(user, index)]
    }
    if len(decided) > 1:
        return DEFAULT_AXES, False
    return (decided.pop() if decided else DEFAULT_AXES), True


# --------------------------------------------------------------------------- eligibility


def is_consumer_use(user: Operation, index: int) -> bool:
    """Uses through which a weight may be compressed (§4)."""
    if isinstance(user, (*MATMUL_OPS, TransposeOp)):
        return True
    if isinstance(user, GatherNdOp):
        return index == 0
    if isinstance(user, Conv2dOp):
        return index == 1
    return isinstance(user, BuildSparseWithBitmaskOp) and index == 0


def dense_element_count(op: ConstantOp) -> int:
    """Elements of the weight a constant stands for (the dense size for sparse values)."""
    for use in op.result.uses:
        if isinstance(use.operation, BuildSparseWithBitmaskOp) and use.index == 0:
            dense_type = use.operation.result.type.dense_type
            return int(np.prod(dense_type.get_shape(), dtype=np.int64))
    return int(np.prod(op.result.type.get_shape(), dtype=np.int64))


def is_eligible(op: ConstantOp, threshold: int) -> bool:
    """A static float weight above the threshold whose uses are all consumers (§4)."""
    tensor_type = op.result.type
    if not isinstance(tensor_type, TensorType) or any(d < 0 for d in tensor_type.get_shape()):
        return False
    if not isinstance(tensor_type.get_element_type(), WEIGHT_FLOAT_TYPES):
        return False
    count = dense_element_count(op)
    if count <= threshold:
        return False
    if count >= ALWAYS_COMPRESS_ELEMENTS:
        return True
    return all(is_consumer_use(use.operation, use.index) for use in op.result.uses)


def candidates(module: ModuleOp, threshold: int, run: PassRun) -> Iterator[Candidate]:
    """Eligible constants with their weights and axes (ambiguous axes warn, then (0, 1))."""
    for op in list(module.walk()):
        if not isinstance(op, ConstantOp) or not is_eligible(op, threshold):
            continue
        try:
            weight = elements_array(op.value)
        except ElidedWeightError as error:
            run.warn(f"skipping constant {describe(op)}: {error}", where(op))
            run.count("constants-skipped", 1, "Eligible constants skipped (see warnings)")
            continue
        (output_axis, input_axis), agreed = channel_axes(op.result, weight.ndim)
        if not agreed:
            run.warn(
                f"constant {describe(op)} has uses that disagree on its channel axes; "
                "using output axis 0, input axis 1",
                where(op),
            )
        feeds_sparse = any(
            isinstance(use.operation, BuildSparseWithBitmaskOp) for use in op.result.uses
        )
        yield Candidate(op, weight, output_axis, input_axis, feeds_sparse)


def compress_all(
    module: ModuleOp,
    threshold: int,
    run: PassRun,
    compress: Callable[[Candidate], list[Operation]],
) -> None:
    """Replace every eligible constant by the ops `compress` builds (last op = the weight).

    `compress` raises SkipConstant to leave a constant alone with a warning.
    """
    from coreai_opt.progress import progress

    for candidate in progress(list(candidates(module, threshold, run)), run.pass_name):
        op = candidate.op
        try:
            new_ops = compress(candidate)
        except SkipConstant as reason:
            run.warn(f"skipping constant {describe(op)}: {reason}", where(op))
            run.count("constants-skipped", 1, "Eligible constants skipped (see warnings)")
            continue
        original = op.value
        replace_constant(op, new_ops, run)
        release_weight_pages(original)


def release_weight_pages(value: Attribute) -> None:
    """Drop the resident pages of a memory-mapped weight once it has been replaced.

    Bundles map their weights from disk; without this every weight a pass has read would
    stay resident until the pass ends (a model larger than RAM could not be compressed).
    """
    if isinstance(value, DenseResourceElementsAttr) and value.blob.data is not None:
        from coreai_opt.bytecode.mapping import release_pages

        release_pages(value.blob.data.data)


def replace_constant(op: ConstantOp, new_ops: list[Operation], run: PassRun) -> None:
    """Insert `new_ops` before `op`, redirect its uses to the last one, erase it."""
    block = op.parent_block()
    assert block is not None
    for new_op in new_ops:
        new_op.location = op.location
        block.insert_op_before(new_op, op)
    result = new_ops[-1].results[0]
    if result.type != op.result.type:
        raise AssertionError(f"compressed chain yields {result.type}, expected {op.result.type}")
    result.name_hint = op.result.name_hint
    op.result.replace_all_uses_with(result)
    run.count("constants-compressed", 1, "Weight constants compressed")
    run.count("bytes-before", stored_nbytes(op.value), "Weight bytes before compression")
    after = sum(stored_nbytes(o.value) for o in new_ops if isinstance(o, ConstantOp))
    run.count("bytes-after", after, "Bytes of the compressed constants")
    op.detach()
    op.erase()
