"""A numpy reference executor for Core AI programs (docs/interpreter.md).

    from coreai_opt.interpreter import run
    outputs = run(program, {"x": x}, graph="main")   # {"out": array, ...}

`compare(original, compressed, inputs)` runs two programs on the same inputs and measures
each output's SNR, cosine similarity and max abs error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from coreai_opt.interpreter import conversions, elementwise, indexing, nn, shapes  # noqa: F401
from coreai_opt.interpreter.compare import Comparison, OutputComparison, compare, compare_outputs
from coreai_opt.interpreter.engine import Interpreter, argument_names, result_names
from coreai_opt.interpreter.inputs import random_inputs
from coreai_opt.interpreter.registry import KERNELS
from coreai_opt.interpreter.values import InterpreterError


def run(
    program: Any,
    inputs: Mapping[str, Any],
    graph: str = "main",
    state: dict[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Run `@graph` of `program` (an AIProgram or ModuleOp) on `inputs` keyed by argument name.

    Returns the graph's tensor outputs keyed by result name. `state` holds the buffers of
    `!coreai.handle` arguments by name: read at the start (missing ones start as zeros or
    as the input of that name) and updated in place by `write_handle`.
    """
    return Interpreter(program, state).run(inputs, graph)


def supported_ops() -> list[str]:
    """Names of every op the executor can run."""
    from coreai_opt.interpreter.engine import SPECIAL

    return sorted({*KERNELS, *SPECIAL, "coreai.constant", "coreai.invoke"})


__all__ = [
    "Comparison",
    "Interpreter",
    "InterpreterError",
    "OutputComparison",
    "argument_names",
    "compare",
    "compare_outputs",
    "random_inputs",
    "result_names",
    "run",
    "supported_ops",
]
