"""Seeded random inputs from a graph's signature (for `coreai-opt run/compare --random-inputs`).

- floats: standard normal; complex: normal real and imaginary parts; i1: fair coin;
- integers: uniform in [1, 8), except integers that feed the indices of a gather or scatter
  (directly or through reshape / expand_dims / cast / broadcast ops): uniform in [0, n) with n
  the size of the dims they index;
- dynamic dims: `dims["x:0"]`, else `dims["x"]` (every dynamic dim of input x), else
  `dims["*"]`, else DEFAULT_DIM; the leading dims of `scatter_nd` indices otherwise take
  the updates' static sizes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from xdsl.dialects.builtin import TensorType
from xdsl.ir import Operation, SSAValue

from coreai_opt.interpreter.engine import Interpreter, argument_names
from coreai_opt.interpreter.values import InterpreterError, element_dtype, is_float

DEFAULT_DIM = 4
PASS_THROUGH = {
    "coreai.reshape",
    "coreai.expand_dims",
    "coreai.shrink_dims",
    "coreai.cast",
    "coreai.broadcast_in_dims",
    "coreai.broadcast_to",
    "coreai.transpose",
}
INDEX_OPERAND = {
    "coreai.gather_nd": 1,
    "coreai.gather_along_axis": 1,
    "coreai.scatter_nd": 2,
    "coreai.scatter_along_axis": 1,
}


def parse_dims(specs: Sequence[str]) -> dict[str, int]:
    """`["8", "x=2", "x:0=3"]` -> `{"*": 8, "x": 2, "x:0": 3}`; a bad spec is an error."""
    dims: dict[str, int] = {}
    for spec in specs:
        key, _, size = spec.rpartition("=")
        key = key or "*"
        try:
            value = int(size)
        except ValueError:
            value = -1
        if value < 0:
            raise InterpreterError(f"--dim expects SIZE, NAME=SIZE or NAME:AXIS=SIZE, got '{spec}'")
        dims[key] = value
    return dims


def dynamic_size(dims: Mapping[str, int], name: str, axis: int) -> int:
    """The size chosen for dynamic dim `axis` of input `name`."""
    for key in (f"{name}:{axis}", name, "*"):
        if key in dims:
            return dims[key]
    return DEFAULT_DIM


def index_bound(use_op: Operation, shapes: Mapping[SSAValue, tuple[int, ...]], default: int) -> int:
    """Exclusive upper bound of the indices `use_op` reads (the smallest dim they address)."""
    data = use_op.operands[0]
    data_shape = shapes.get(data)
    if data_shape is None and isinstance(data.type, TensorType):
        data_shape = tuple(d if d >= 0 else default for d in data.type.get_shape())
    if not data_shape:
        return default
    if use_op.name in ("coreai.gather_nd", "coreai.scatter_nd"):
        depth = use_op.operands[INDEX_OPERAND[use_op.name]].type.get_shape()[-1]
        addressed = data_shape[: depth if depth > 0 else 1]
        return max(1, min(addressed))
    axis_value = use_op.operands[3 if use_op.name == "coreai.scatter_along_axis" else 2]
    from coreai_opt.dialects.coreai import constant_ints

    axis = (constant_ints(axis_value) or [0])[0]
    return max(1, data_shape[axis % len(data_shape)])


def index_uses(value: SSAValue) -> list[Operation]:
    """Gathers and scatters whose index operand is `value` (through pass-through ops)."""
    found: list[Operation] = []
    pending, seen = [value], set()
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        for use in current.uses:
            op = use.operation
            if op.name in PASS_THROUGH and use.index == 0:
                pending.extend(op.results)
            elif INDEX_OPERAND.get(op.name) == use.index:
                found.append(op)
            elif op.name == "coreai.invoke":
                pending.extend(callee_arguments(op, use.index))
    return found


def callee_arguments(invoke: Operation, index: int) -> list[SSAValue]:
    """The parameter of the graph `invoke` calls that receives operand `index` (a composite
    graph can be where an input is used as indices)."""
    from xdsl.traits import SymbolTable

    callee = invoke.properties.get("callee") or invoke.attributes.get("callee")
    graph = SymbolTable.lookup_symbol(invoke, callee) if callee is not None else None
    body = getattr(graph, "body", None)
    if body is None or not body.blocks or index >= len(body.blocks.first.args):
        return []
    return [body.blocks.first.args[index]]


def scatter_index_shape(
    arg: SSAValue, shape: tuple[int, ...], dims: Mapping[str, int], name: str
) -> tuple[int, ...]:
    """Dynamic dims of scatter_nd indices take the updates' static sizes (unless --dim set)."""
    sized = list(shape)
    for use in arg.uses:
        if use.operation.name != "coreai.scatter_nd" or use.index != 2:
            continue
        updates = use.operation.operands[1].type
        if not isinstance(updates, TensorType):
            continue
        for axis, dim in enumerate(arg.type.get_shape()[:-1]):
            chosen = f"{name}:{axis}" in dims or name in dims
            if dim < 0 and not chosen and axis < len(updates.get_shape()):
                size = updates.get_shape()[axis]
                sized[axis] = size if size >= 0 else sized[axis]
    return tuple(sized)


def random_array(rng: np.random.Generator, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """One seeded random tensor of `dtype`."""
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    if dtype.kind == "c":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    if is_float(dtype):
        return rng.standard_normal(shape).astype(np.float32).astype(dtype)
    return rng.integers(1, 8, size=shape).astype(dtype)


def random_inputs(
    program: Any, graph: str = "main", seed: int = 0, dims: Mapping[str, int] | None = None
) -> dict[str, np.ndarray]:
    """Seeded inputs for every tensor argument of `@graph` (handles and tokens excluded)."""
    dims = dict(dims or {})
    default = dims.get("*", DEFAULT_DIM)
    target = Interpreter(program).graph(graph)
    block = target.body.blocks.first
    rng = np.random.default_rng(seed)
    inputs: dict[str, np.ndarray] = {}
    shapes: dict[SSAValue, tuple[int, ...]] = {}
    index_args = []
    for name, arg in zip(argument_names(target), block.args, strict=True):
        if not isinstance(arg.type, TensorType):
            continue
        shape = tuple(
            d if d >= 0 else dynamic_size(dims, name, axis)
            for axis, d in enumerate(arg.type.get_shape())
        )
        shapes[arg] = shape
        dtype = element_dtype(arg.type.get_element_type())
        uses = index_uses(arg) if dtype.kind in "iu" else []
        if uses:
            index_args.append((name, arg, shape, dtype, uses))
        else:
            inputs[name] = random_array(rng, shape, dtype)
    for name, arg, shape, dtype, uses in index_args:
        shape = scatter_index_shape(arg, shape, dims, name)
        bound = min(index_bound(op, shapes, default) for op in uses)
        inputs[name] = rng.integers(0, bound, size=shape).astype(dtype)
    return inputs
