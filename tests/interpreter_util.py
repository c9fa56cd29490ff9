"""Helpers for the executor tests: one-op programs from text, region ops built in Python."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from coreai_opt.interpreter import run
from coreai_opt.program import AIProgram

MLIR_TYPES = {
    np.dtype(np.float32): "f32",
    np.dtype(np.float16): "f16",
    np.dtype(np.float64): "f64",
    np.dtype(np.int32): "si32",
    np.dtype(np.int16): "si16",
    np.dtype(np.int8): "si8",
    np.dtype(np.uint32): "ui32",
    np.dtype(np.uint8): "ui8",
    np.dtype(np.bool_): "i1",
    np.dtype(np.complex64): "complex<f32>",
}


def tensor_type(shape: Sequence[int], dtype: np.dtype | str) -> str:
    """`tensor<2x3xf32>` for a shape and a numpy dtype (or an MLIR element type name)."""
    element = dtype if isinstance(dtype, str) else MLIR_TYPES[np.dtype(dtype)]
    dims = "".join(f"{'?' if d < 0 else d}x" for d in shape)
    return f"tensor<{dims}{element}>"


def type_of(array: np.ndarray) -> str:
    """The tensor type of an array."""
    return tensor_type(array.shape, array.dtype)


def literal(array: np.ndarray) -> str:
    """A `dense<...>` literal of a small array."""
    array = np.asarray(array)
    if array.dtype == np.bool_:
        body = str(array.tolist()).replace("True", "true").replace("False", "false")
    else:
        body = str(array.tolist())
    return f"dense<{body}> : {type_of(array)}"


def one_op(
    op: str,
    inputs: Sequence[np.ndarray],
    result_types: Sequence[str],
    constants: Sequence[np.ndarray] = (),
    suffix: str = "",
) -> str:
    """A @main running `op` on the inputs (arguments x0, x1, ...) then the constants."""
    args = ", ".join(f'%x{i}: {type_of(a)} {{coreai.name = "x{i}"}}' for i, a in enumerate(inputs))
    outs = ", ".join(f'{t} {{coreai.name = "r{i}"}}' for i, t in enumerate(result_types))
    lines = [f"    %c{i} = coreai.constant {literal(c)}" for i, c in enumerate(constants)]
    operands = [f"%x{i}" for i in range(len(inputs))] + [f"%c{i}" for i in range(len(constants))]
    types = [type_of(a) for a in inputs] + [type_of(c) for c in constants]
    names = ", ".join(f"%r{i}" for i in range(len(result_types)))
    result_list = ", ".join(result_types)
    if len(result_types) > 1:
        result_list = f"({result_list})"
        names = f"%r:{len(result_types)}"
        outputs = ", ".join(f"%r#{i}" for i in range(len(result_types)))
    else:
        outputs = "%r0"
    lines.append(
        f"    {names} = {op} {', '.join(operands)}{suffix} : ({', '.join(types)}) -> {result_list}"
    )
    lines.append(f"    coreai.output {outputs} : {', '.join(result_types)}")
    body = "\n".join(lines)
    return f"module {{\n  coreai.graph @main({args}) -> ({outs}) {{\n{body}\n  }}\n}}\n"


def run_one(
    op: str,
    inputs: Sequence[np.ndarray],
    result_types: Sequence[str] | str,
    constants: Sequence[np.ndarray] = (),
    suffix: str = "",
):
    """Run a one-op program; one array for one result, else a list."""
    types = [result_types] if isinstance(result_types, str) else list(result_types)
    program = AIProgram.parse(one_op(op, inputs, types, constants, suffix))
    outputs = run(program, {f"x{i}": a for i, a in enumerate(inputs)})
    values = [outputs[f"r{i}"] for i in range(len(types))]
    return values[0] if len(values) == 1 else values
