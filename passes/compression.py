"""What the compression passes share: which constants qualify, their channel axes, rewriting.

Eligibility (coreai-ir.md §4): a `coreai.constant` with a static tensor type and a float
element type (f16, bf16, f32), more than `weight_num_threshold` elements, every use a
consumer op (matmul x/y, transpose, gather_nd data, the weight of conv1d/2d/3d and of
transposed convolutions) or the values operand of `build_sparse_with_bitmask` (chained
compression). Uses are followed through decompression chains and through `coreai.invoke`
into the callee's uses of that parameter (composite graphs), where the axes are decided
too. A constant of at least 1e8 elements, or one with no uses, qualifies whatever consumes
it. A weight-sized float constant that does not qualify is left dense with a warning
naming the uses that keep it so. An f64 constant that would otherwise qualify is skipped
with a warning (Core AI has no f64 compression types), as is any weight holding NaN or
+-inf.

Channel axes (§3) are decided per use; all uses must agree, else a warning and (0, 1).

`CompressConstant` is the rewrite pattern of the three compression passes: it matches an
eligible `coreai.constant` (sparse values included, which is how `sparsify,palettize`
chains) and replaces it through the rewriter by the chain its subclass builds;
`CompressionPass.apply` drives it over the module with xDSL's `PatternRewriteWalker`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from coreai_opt.dialects.coreai import (
    MATMUL_OPS,
    BlockwiseShiftScaleOp,
    BuildSparseWithBitmaskOp,
    CastOp,
    ConstantOp,
    Conv2dOp,
    GatherNdOp,
    GraphOp,
    InvokeOp,
    LutToDenseOp,
    SparseWithBitmaskToDenseOp,
    TransposeOp,
)
from coreai_opt.dialects.resources import DenseResourceElementsAttr
from coreai_opt.passes.common import describe, where
from coreai_opt.passes.selection import WeightSelector
from xdsl.context import Context
from xdsl.dialects.builtin import (
    BFloat16Type,
    Float16Type,
    Float32Type,
    Float64Type,
    ModuleOp,
    TensorType,
)
from xdsl.ir import Attribute, Operation, Region, SSAValue
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriterListener,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from coreai_opt.ir.elements import ElidedWeightError, elements_array, stored_nbytes
from coreai_opt.ir.pending import resolve_pending_resources
from coreai_opt.numerics.finite import NonFiniteWeightError, all_finite, non_finite_reason
from coreai_opt.pipeline import CoreAIPass, PassRun, current_run
from coreai_opt.progress import Ticker, progress_enabled

ALWAYS_COMPRESS_ELEMENTS = 100_000_000
DEFAULT_AXES = (0, 1)
WEIGHT_FLOAT_TYPES = (Float16Type, BFloat16Type, Float32Type)
F64_REASON = (
    "f64 weights are not compressed: Core AI's compression ops have no f64 form (scales, "
    "LUTs and sparse values are f16, bf16 or f32)"
)


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


def look_through(
    value: SSAValue, calls: frozenset[GraphOp] = frozenset()
) -> list[tuple[Operation, int]]:
    """Uses of `value`, looking through chained decompression ops to their consumers, and
    through `coreai.invoke` into the callee's uses of the matching parameter (composite
    graphs: norm scales, MoE expert weights). A recursive call is itself the use."""
    found: list[tuple[Operation, int]] = []
    for use in value.uses:
        user = use.operation
        passthrough = isinstance(user, BlockwiseShiftScaleOp | CastOp | LutToDenseOp) and (
            use.index == 0
        )
        if passthrough:
            found.extend(look_through(user.results[0], calls))
        elif isinstance(user, BuildSparseWithBitmaskOp) and use.index == 0:
            for sparse_use in user.result.uses:
                if isinstance(sparse_use.operation, SparseWithBitmaskToDenseOp):
                    found.extend(look_through(sparse_use.operation.result, calls))
        elif isinstance(user, InvokeOp) and (callee := callee_parameter(user, use.index, calls)):
            graph, parameter = callee
            found.extend(look_through(parameter, calls | {graph}))
        else:
            found.append((user, use.index))
    return found


def callee_parameter(
    invoke: InvokeOp, index: int, calls: frozenset[GraphOp]
) -> tuple[GraphOp, SSAValue] | None:
    """The callee graph and its block argument that receives operand `index`, if known."""
    graph = invoke.callee_graph()
    if graph is None or graph in calls or not graph.body.blocks:
        return None
    args = graph.body.blocks.first.args
    return (graph, args[index]) if index < len(args) else None


CONV_WEIGHT_OPS = ("coreai.conv1d", "coreai.conv3d")
"""Convolutions (beside the modelled conv2d) whose operand 1 is `[C_out, C_in/groups, k...]`."""
TRANSPOSED_CONV_OPS = (
    "coreai.conv_transpose1d",
    "coreai.conv_transpose2d",
    "coreai.conv_transpose3d",
)
"""Transposed convolutions: operand 1 is `[C_in, C_out/groups, k...]`."""


def axes_for_use(user: Operation, index: int) -> tuple[int, int]:
    """(output axis, input axis), possibly negative, for one consumer of the weight."""
    if isinstance(user, MATMUL_OPS):
        return (-1, -2) if index == 1 else (-2, -1)
    if user.name in TRANSPOSED_CONV_OPS and index == 1:
        return (1, 0)
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
    if isinstance(user, Conv2dOp) or user.name in (*CONV_WEIGHT_OPS, *TRANSPOSED_CONV_OPS):
        return index == 1
    return isinstance(user, BuildSparseWithBitmaskOp) and index == 0


def non_consumer_uses(op: ConstantOp) -> list[str]:
    """`op name (operand i)` of each use that keeps a weight dense (looked through chains
    and invokes), distinct, in program order."""
    found: list[str] = []
    for user, index in look_through(op.result):
        if not is_consumer_use(user, index):
            text = f"{user.name} (operand {index})"
            if text not in found:
                found.append(text)
    return found


def dense_element_count(op: ConstantOp) -> int:
    """Elements of the weight a constant stands for (the dense size for sparse values)."""
    for use in op.result.uses:
        if isinstance(use.operation, BuildSparseWithBitmaskOp) and use.index == 0:
            dense_type = use.operation.result.type.dense_type
            return int(np.prod(dense_type.get_shape(), dtype=np.int64))
    return int(np.prod(op.result.type.get_shape(), dtype=np.int64))


def is_weight_sized(
    op: ConstantOp, threshold: int, float_types: tuple[type, ...] = WEIGHT_FLOAT_TYPES
) -> bool:
    """A static float constant above the threshold: a weight the passes consider."""
    tensor_type = op.result.type
    if not isinstance(tensor_type, TensorType) or any(d < 0 for d in tensor_type.get_shape()):
        return False
    if not isinstance(tensor_type.get_element_type(), float_types):
        return False
    return dense_element_count(op) > threshold


def is_eligible(
    op: ConstantOp, threshold: int, float_types: tuple[type, ...] = WEIGHT_FLOAT_TYPES
) -> bool:
    """A static float weight above the threshold whose uses are all consumers (§4), looked
    through decompression chains and into the graphs it is passed to."""
    if not is_weight_sized(op, threshold, float_types):
        return False
    if dense_element_count(op) >= ALWAYS_COMPRESS_ELEMENTS:
        return True
    return not non_consumer_uses(op)


def weight_identity(op: ConstantOp) -> str:
    """How the compression report names this constant's weight."""
    from coreai_opt.inspection import identity

    return identity(op.result)


def already_compressed(op: ConstantOp) -> bool:
    """A float constant that is part of a compressed weight (a LUT, scale or sparse values),
    or only feeds one: not a weight to warn about."""
    from coreai_opt.dialects.coreai import COMPRESSION_OPS

    return bool(op.result.uses) and all(
        isinstance(use.operation, COMPRESSION_OPS) and use.index != 0 for use in op.result.uses
    )


def release_weight_pages(value: Attribute) -> None:
    """Drop the resident pages of a memory-mapped weight once it has been replaced.

    Bundles map their weights from disk; without this every weight a pass has read would
    stay resident until the pass ends (a model larger than RAM could not be compressed).
    """
    if isinstance(value, DenseResourceElementsAttr) and value.blob.data is not None:
        from coreai_opt.bytecode.mapping import release_pages

        release_pages(value.blob.data.data)


def shared_weight_key(candidate: Candidate) -> tuple | None:
    """What makes two constants the same weight to compress: the same resource blob, read
    as the same type with the same axes (e.g. the `main` and `prefill` graphs of one LLM).
    Compressing it once keeps one copy of the compressed data, as the input had one."""
    blob = getattr(getattr(candidate.op.value, "blob", None), "data", None)
    if blob is None:
        return None
    return (
        id(blob),
        candidate.op.result.type,
        candidate.output_axis,
        candidate.input_axis,
        candidate.feeds_sparse_values,
    )


def clone_chain(ops: list[Operation]) -> list[Operation]:
    """Detached copies of a compressed chain; its constants share the original's blobs."""
    mapping: dict = {}
    return [op.clone(value_mapper=mapping) for op in ops]


# --------------------------------------------------------------------------- the pattern


class CompressConstant(RewritePattern, ABC):
    """Replace each eligible weight constant by the chain `compress` builds (last op = the
    weight), counting it in the pass's statistics.

    `compress` raises SkipConstant to leave a constant alone with a warning. A weight
    holding NaN or +-inf is always skipped: checked here first unless
    `numerics_check_finite` says the numerics raise NonFiniteWeightError themselves
    (quantization sees every value's range anyway, so its check is free).
    """

    numerics_check_finite: ClassVar[bool] = False

    def __init__(self, compression: CompressionPass, run: PassRun) -> None:
        self.run = run
        self.threshold = compression.weight_num_threshold
        self.selector = WeightSelector(compression.name, compression.include, compression.exclude)
        self.ticker: Ticker | None = None
        self.compressed: dict[tuple, tuple[Attribute, list[Operation]]] = {}
        """Chains built for weights held in a resource blob, by `shared_weight_key`."""

    @abstractmethod
    def compress(self, candidate: Candidate) -> list[Operation]:
        """The ops replacing the candidate's constant; the last one yields the weight."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ConstantOp, rewriter: PatternRewriter) -> None:
        candidate = self.candidate(op)
        if candidate is None:
            return
        self.rewrite_candidate(op, candidate, rewriter)

    def rewrite_candidate(
        self, op: ConstantOp, candidate: Candidate, rewriter: PatternRewriter
    ) -> None:
        """Compress one chosen constant (shared blobs once), or skip it with a warning."""
        shared = shared_weight_key(candidate)
        if shared is not None and shared in self.compressed:  # a blob another constant reads
            self.replace(op, clone_chain(self.compressed[shared][1]), rewriter)
            return
        try:
            if not self.numerics_check_finite and not all_finite(candidate.weight):
                raise NonFiniteWeightError
            new_ops = self.compress(candidate)
        except NonFiniteWeightError:
            self.skip(op, non_finite_reason(candidate.weight))
            return
        except SkipConstant as reason:
            self.skip(op, str(reason))
            return
        original = op.value
        self.replace(op, new_ops, rewriter)
        if shared is not None:
            self.compressed[shared] = (original, new_ops)  # keeps the blob (and its id) alive

    def candidate(self, op: ConstantOp) -> Candidate | None:
        """`op` with its weight and axes when it is to be compressed; else None, after the
        warning and statistics saying why not (ambiguous axes warn, then use (0, 1))."""
        sized = is_weight_sized(op, self.threshold, (*WEIGHT_FLOAT_TYPES, Float64Type))
        if sized and self.ticker is not None:
            self.ticker.tick()
        run = self.run
        if sized and not self.selector.selects(op):
            run.count("constants-not-selected", 1, "Weights excluded by include/exclude")
            return None
        if is_eligible(op, self.threshold, (Float64Type,)):
            self.skip(op, F64_REASON)
            return None
        if not is_weight_sized(op, self.threshold):
            if is_weight_sized(op, 0) and not already_compressed(op):  # a report note, no warning
                count = dense_element_count(op)
                run.leave_dense(
                    weight_identity(op),
                    f"{count} element{'' if count == 1 else 's'}, not more than "
                    f"weight_num_threshold={self.threshold}",
                )
            return None
        if not is_eligible(op, self.threshold):
            if not already_compressed(op):
                reason = f"feeds {', '.join(non_consumer_uses(op))}, not a weight consumer"
                run.warn(f"constant {describe(op)} is left dense: it {reason}", where(op))
                run.leave_dense(weight_identity(op), reason)
                run.count("constants-left-dense", 1, "Weight-sized constants left dense")
            return None
        try:
            weight = elements_array(op.value)
        except ElidedWeightError as error:
            self.skip(op, str(error))
            return None
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
        return Candidate(op, weight, output_axis, input_axis, feeds_sparse)

    def skip(self, op: ConstantOp, reason: str) -> None:
        """Leave an eligible constant dense, with a warning naming it and the reason."""
        self.run.warn(f"skipping constant {describe(op)}: {reason}", where(op))
        self.run.leave_dense(weight_identity(op), reason)
        self.run.count("constants-skipped", 1, "Eligible constants skipped (see warnings)")

    def replace(self, op: ConstantOp, new_ops: list[Operation], rewriter: PatternRewriter) -> None:
        """Swap `op` for `new_ops` (placed before it, at its location) and count the bytes."""
        result = new_ops[-1].results[0]
        if result.type != op.result.type:
            raise AssertionError(
                f"compressed chain yields {result.type}, expected {op.result.type}"
            )
        for new_op in new_ops:
            new_op.location = op.location
        result.name_hint = op.result.name_hint
        original = op.value
        rewriter.replace(op, new_ops, [result])
        self.run.count("constants-compressed", 1, "Weight constants compressed")
        self.run.count("bytes-before", stored_nbytes(original), "Weight bytes before compression")
        after = sum(stored_nbytes(o.value) for o in new_ops if isinstance(o, ConstantOp))
        self.run.count("bytes-after", after, "Bytes of the compressed constants")
        release_weight_pages(original)

    def start(self, module: ModuleOp) -> None:
        """Show progress over the module's weight-sized constants (on a terminal only)."""
        if progress_enabled():
            sized = (*WEIGHT_FLOAT_TYPES, Float64Type)
            total = sum(
                isinstance(op, ConstantOp) and is_weight_sized(op, self.threshold, sized)
                for op in module.walk()
            )
            self.ticker = Ticker(self.run.pass_name, total)

    def finish(self, region: Region, listener: PatternRewriterListener) -> bool:
        """After the walk: report include/exclude patterns that matched no weight."""
        if self.ticker is not None:
            self.ticker.close()
        for pattern in self.selector.unmatched():
            self.run.warn(f"{self.run.pass_name}: {pattern} matched no weight")
        return False


@dataclass(frozen=True)
class CompressionPass(CoreAIPass, ABC):
    """Base of `quantize`, `palettize` and `sparsify`: a walk of the module with the pass's
    pattern. Subclasses declare the `weight_num_threshold`, `include` and `exclude` options
    the pattern reads."""

    @abstractmethod
    def pattern(self, run: PassRun) -> CompressConstant:
        """The pattern compressing one constant, recording into `run`."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        resolve_pending_resources(ctx, op)
        pattern = self.pattern(current_run(self.name))
        pattern.start(op)
        walker = PatternRewriteWalker(
            pattern, apply_recursively=False, post_walk_func=pattern.finish
        )
        walker.rewrite_module(op)
