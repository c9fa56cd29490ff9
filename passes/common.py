"""Helpers shared by the passes: naming, locating and (re)building constants."""

from __future__ import annotations

import numpy as np
from coreai_opt.dialects.coreai import ConstantOp
from coreai_opt.dialects.resources import DenseResourceElementsAttr
from xdsl.dialects.builtin import TensorType
from xdsl.ir import Operation, SSAValue

from coreai_opt.ir.elements import make_elements_attr
from coreai_opt.ir.text import source_location


def key_hint(op: Operation, suffix: str = "") -> str:
    """A readable resource key for data derived from `op` (its resource key or SSA name)."""
    base = None
    if isinstance(op, ConstantOp) and isinstance(op.value, DenseResourceElementsAttr):
        base = op.value.resource_handle.data
    if base is None and op.results and op.results[0].name_hint:
        base = op.results[0].name_hint
    base = base or op.name.split(".")[-1]
    return f"{base}{suffix}"


def describe(op: Operation) -> str:
    """`'key' (tensor<...>)` naming a constant in diagnostics."""
    result_type = op.results[0].type if op.results else None
    return f"'{key_hint(op)}' ({result_type})"


def where(op: Operation) -> str | None:
    """`file:line:col` of an op, when it came from text."""
    return source_location(op)


def defining_constant(value: SSAValue) -> ConstantOp | None:
    """The `coreai.constant` that defines `value`, if any."""
    return value.owner if isinstance(value.owner, ConstantOp) else None


def new_constant(array: np.ndarray, tensor_type: TensorType, key: str) -> ConstantOp:
    """A `coreai.constant` holding `array` (a blob, or a literal when tiny), named `key`."""
    op = ConstantOp(make_elements_attr(array, tensor_type, key))
    op.result.name_hint = key
    return op
