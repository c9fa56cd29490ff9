"""The kernel table: op name -> numpy implementation, and what a kernel is handed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from xdsl.dialects.builtin import TensorType
from xdsl.ir import Operation

from coreai_opt.interpreter.values import InterpreterError, element_dtype, enum_value

if TYPE_CHECKING:
    from coreai_opt.interpreter.engine import Interpreter

Kernel = Callable[["Call"], Any]
KERNELS: dict[str, Kernel] = {}
"""Pure kernels: their value depends only on their operands (weight chains may be deferred)."""


def kernel(*names: str) -> Callable[[Kernel], Kernel]:
    """Register `fn` as the kernel of the ops `names` (full names, `coreai.` prefix included)."""

    def register(fn: Kernel) -> Kernel:
        for name in names:
            if name in KERNELS:
                raise RuntimeError(f"two kernels for {name}")
            KERNELS[name] = fn
        return fn

    return register


@dataclass
class Call:
    """One op being executed: the op, its operand values, and typed accessors."""

    interpreter: Interpreter
    op: Operation
    args: list[Any]

    def result_type(self, index: int = 0) -> TensorType:
        """The ranked tensor type of result `index`."""
        result_type = self.op.results[index].type
        if not isinstance(result_type, TensorType):
            raise self.error(f"result {index} must be a ranked tensor, got {result_type}")
        return result_type

    def dtype(self, index: int = 0) -> np.dtype:
        """numpy dtype of result `index`."""
        return element_dtype(self.result_type(index).get_element_type())

    def rank(self, index: int = 0) -> int:
        """Rank of result `index`."""
        return len(self.result_type(index).get_shape())

    def array(self, index: int) -> np.ndarray:
        """Operand `index` as a numpy array (an error if it is a token, handle, ...)."""
        value = self.args[index]
        if not isinstance(value, np.ndarray):
            raise self.error(f"operand {index} must be a tensor, got {type(value).__name__}")
        return value

    def ints(self, index: int) -> list[int]:
        """Operand `index` flattened to Python ints (axes, shapes, strides)."""
        return [int(v) for v in np.asarray(self.array(index)).reshape(-1).tolist()]

    def int(self, index: int) -> int:
        """Operand `index` as one int (a scalar or a one-element tensor)."""
        values = self.ints(index)
        if len(values) != 1:
            raise self.error(f"operand {index} must hold one integer, got {len(values)} values")
        return values[0]

    def axis(self, index: int, rank: int) -> int:
        """Operand `index` as one axis in [0, rank), negative axes counted from the end."""
        return normalise_axis(self.int(index), rank, self)

    def axes(self, index: int, rank: int) -> tuple[int, ...]:
        """Operand `index` as axes in [0, rank)."""
        return tuple(normalise_axis(a, rank, self) for a in self.ints(index))

    def enum(self, name: str, default: str | None = None) -> str | None:
        """An inline enum attribute's keyword (`mode = <constant>` -> "constant")."""
        value = enum_value(self.op, name)
        return default if value is None else value

    def error(self, message: str) -> InterpreterError:
        """An error located at the op."""
        from coreai_opt.interpreter.engine import op_location

        return InterpreterError(f"{self.op.name}: {message}", op_location(self.op))


def normalise_axis(axis: int, rank: int, call: Call) -> int:
    """`axis` in [0, rank); negative counts from the end."""
    if not -max(rank, 1) <= axis < max(rank, 1):
        raise call.error(f"axis {axis} is out of range for rank {rank}")
    return axis % max(rank, 1)
