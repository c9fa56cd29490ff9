"""`cast-to-fp16`: fp32 weights and graph types become f16 (the usual step before compression)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from coreai_opt.dialects.coreai import CastOp, ConstantOp, GraphOp
from coreai_opt.passes.common import describe, key_hint, new_constant, where
from coreai_opt.passes.compression import release_weight_pages
from xdsl.context import Context
from xdsl.dialects.builtin import Float16Type, Float32Type, FunctionType, ModuleOp, TensorType
from xdsl.ir import Attribute, Operation
from xdsl.rewriter import Rewriter

from coreai_opt.ir.elements import elements_array, stored_nbytes
from coreai_opt.ir.pending import resolve_pending_resources
from coreai_opt.pipeline import CoreAIPass, PassRun, current_run

F16_MAX = float(np.finfo(np.float16).max)


def to_f16_type(type_: Attribute) -> Attribute:
    """`tensor<...xf32>` → `tensor<...xf16>`; other types unchanged."""
    if isinstance(type_, TensorType) and isinstance(type_.get_element_type(), Float32Type):
        return TensorType(Float16Type(), type_.get_shape())
    return type_


def convert_constant(op: ConstantOp, run: PassRun) -> None:
    """Replace an f32 constant by its f16 rounding (values beyond ±65504 saturate)."""
    values_attr = op.value
    values = elements_array(values_attr)
    if np.any(np.isfinite(values) & (np.abs(values) > F16_MAX)):
        run.warn(f"constant {describe(op)} has values beyond the f16 range: saturated", where(op))
        values = np.where(np.isfinite(values), np.clip(values, -F16_MAX, F16_MAX), values)
    half = values.astype(np.float16)
    replacement = new_constant(half, to_f16_type(op.result.type), key_hint(op))
    replacement.location = op.location
    replacement.attributes |= op.attributes
    run.count("constants-converted", 1, "f32 constants converted to f16")
    run.count("bytes-before", stored_nbytes(op.value), "Bytes of the converted constants before")
    run.count("bytes-after", stored_nbytes(replacement.value), "Bytes of those constants after")
    op.parent_block().insert_op_before(replacement, op)
    op.result.replace_all_uses_with(replacement.result)
    replacement.result.name_hint = op.result.name_hint
    op.detach()
    op.erase()
    release_weight_pages(values_attr)


def retype(op: Operation) -> None:
    """Turn f32 tensor results, block arguments and graph signatures into f16."""
    values = list(op.results) + [
        arg for region in op.regions for block in region.blocks for arg in block.args
    ]
    for value in values:
        new_type = to_f16_type(value.type)
        if new_type != value.type:
            name = value.name_hint
            Rewriter.replace_value_with_new_type(value, new_type).name_hint = name
    if isinstance(op, GraphOp):
        signature = op.function_type
        op.function_type = FunctionType.from_lists(
            [to_f16_type(t) for t in signature.inputs.data],
            [to_f16_type(t) for t in signature.outputs.data],
        )


def drop_identity_casts(module: ModuleOp, run: PassRun) -> None:
    """Casts whose source and target are now the same type disappear."""
    for op in list(module.walk()):
        if isinstance(op, CastOp) and op.input.type == op.result.type:
            op.result.replace_all_uses_with(op.input)
            op.detach()
            op.erase()
            run.count("casts-removed", 1, "Casts made redundant")


@dataclass(frozen=True)
class CastToFp16Pass(CoreAIPass):
    """Convert fp32 weight constants and all f32 tensor types (graph signatures too) to f16."""

    name = "cast-to-fp16"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        resolve_pending_resources(ctx, op)
        run = current_run(self.name)
        for inner in list(op.walk()):
            if isinstance(inner, ConstantOp) and inner.result.type != to_f16_type(
                inner.result.type
            ):
                convert_constant(inner, run)
            else:
                retype(inner)
        drop_identity_casts(op, run)
