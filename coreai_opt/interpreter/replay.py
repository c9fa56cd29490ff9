"""Replay: run a graph once, keep every value of its body, then re-run only what changes.

    replay = Replay(program)
    reference = replay.record(inputs)             # outputs by name; every body value kept
    outputs = replay.replay({weight: new_array})  # only the ops downstream of `weight` run

`replay` substitutes arrays for values of the graph's body (typically a weight constant's
result) and re-executes the ops of the body that depend on them, directly or through ops
nested in their regions; every other value comes from the recorded run. Weight chains stay
deferred as in `Interpreter` (a `transpose` of a replaced weight is recomputed when its
consumer runs). Handle buffers are reset to their recorded starting contents before each
replay, so a replay computes exactly what a full run of the changed program would.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from xdsl.ir import Block, Operation, SSAValue

from coreai_opt.interpreter.engine import TERMINATORS, Interpreter, argument_names, result_names
from coreai_opt.interpreter.values import InterpreterError, Value


class Replay(Interpreter):
    """An interpreter that records one run of `@graph` and replays changes to it."""

    def __init__(self, program: Any, graph: str = "main") -> None:
        super().__init__(program)
        self.target = self.graph(graph)
        self.block: Block = self.target.body.blocks.first
        self.names = result_names(self.target)
        self.cache: dict[SSAValue, Value] | None = None
        self.initial_state: dict[str, np.ndarray] = {}
        self.overrides: dict[SSAValue, np.ndarray] = {}
        self.base: dict[SSAValue, np.ndarray] = {}

    def record(
        self, inputs: Mapping[str, Any], overrides: Mapping[SSAValue, np.ndarray] | None = None
    ) -> dict[str, np.ndarray]:
        """Run the graph on `inputs` (with `overrides` substituted, kept for every replay),
        keeping every value of its body; outputs by name."""
        names = argument_names(self.target)
        unknown = sorted(set(inputs) - set(names))
        if unknown:
            raise InterpreterError(f"unknown input '{unknown[0]}'")
        graph_name = self.target.sym_name.data
        args = [
            self.argument_value(name, arg.type, inputs, graph_name)
            for name, arg in zip(names, self.block.args, strict=True)
        ]
        self.initial_state = {key: value.copy() for key, value in self.state.items()}
        self.plan(self.block)
        self.env = dict(zip(self.block.args, args, strict=True))
        self.base = dict(overrides or {})
        self.overrides = self.base
        try:
            outputs = self.run_body(None)
        finally:
            self.overrides = {}
        self.cache = dict(self.env)
        return outputs

    def replay(self, overrides: Mapping[SSAValue, np.ndarray]) -> dict[str, np.ndarray]:
        """The graph's outputs with `overrides` substituted (on top of those recorded),
        re-running only their cone."""
        if self.cache is None:
            raise InterpreterError("replay before record: run `record(inputs)` first")
        self.state = {key: value.copy() for key, value in self.initial_state.items()}
        self.env = dict(self.cache)
        self.overrides = {**self.base, **overrides}
        try:
            return self.run_body(downstream(self.block, overrides))
        finally:
            self.overrides = {}
            self.env = {}

    def run_body(self, only: set[Operation] | None) -> dict[str, np.ndarray]:
        """Execute the body's ops in order (all, or those in `only`); outputs by name."""
        for op in self.block.ops:
            if op.name in TERMINATORS:
                values = [self.value(operand) for operand in op.operands]
                return {
                    name: value
                    for name, value in zip(self.names, values, strict=True)
                    if isinstance(value, np.ndarray)
                }
            if op in self.deferred or (only is not None and op not in only):
                continue
            for result, value in zip(op.results, self.execute(op), strict=True):
                self.env[result] = value
        raise InterpreterError("graph body has no terminator")

    def value(self, ssa: SSAValue) -> Value:
        """A substituted value when there is one, else the interpreter's."""
        if ssa in self.overrides:
            return self.overrides[ssa]
        return super().value(ssa)

    def operand_values(self, op: Operation) -> list[Value]:
        """Operand values, substituted ones never taken packed from the IR."""
        values = super().operand_values(op)
        for index, operand in enumerate(op.operands):
            if operand in self.overrides:
                values[index] = self.overrides[operand]
        return values


def top_level_op(op: Operation, block: Block) -> Operation | None:
    """The op of `block` that is `op` or holds it in a region (None outside `block`)."""
    current: Operation | None = op
    while current is not None and current.parent_block() is not block:
        current = current.parent_op()
    return current


def downstream(block: Block, values: Iterable[SSAValue]) -> set[Operation]:
    """Ops of `block` whose results depend on `values` (through nested regions too)."""
    affected: set[Operation] = set()
    pending = list(values)
    while pending:
        value = pending.pop()
        for use in value.uses:
            user = top_level_op(use.operation, block)
            if user is None or user in affected:
                continue
            affected.add(user)
            pending.extend(user.results)
    return affected
