"""The executor: runs a graph op by op over numpy values.

Weight chains (constants and pure ops whose operands are all weight chains, e.g.
`blockwise_shift_scale` -> `transpose`) are *deferred*: never run in program order, but
evaluated when a consumer needs them and dropped right after, so compressed weights stay
compressed (or memory-mapped) and at most one is expanded at a time. Every other value is
freed after its last use.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from xdsl.dialects.builtin import DictionaryAttr, ModuleOp, StringAttr, TensorType
from xdsl.ir import Block, BlockArgument, Operation, SSAValue

from coreai_opt.dialects.coreai import ConstantOp, GraphOp, HandleType, InvokeOp, TokenType
from coreai_opt.interpreter.registry import KERNELS, Call
from coreai_opt.interpreter.values import (
    HandleRef,
    InterpreterError,
    SparseValue,
    Token,
    Value,
    element_dtype,
    shape_matches,
    to_result,
)

TERMINATORS = ("coreai.output", "coreai.yield", "coreai.condition")


def op_location(op: Operation) -> str | None:
    """`file:line:col` of an op read from text; else the graph it belongs to."""
    from coreai_opt.ir.text import source_location

    where = source_location(op)
    if where:
        return where
    graph = op.parent_op()
    while graph is not None and not isinstance(graph, GraphOp):
        graph = graph.parent_op()
    return f"@{graph.sym_name.data}" if graph is not None else None


def attr_name(attrs: DictionaryAttr | None) -> str | None:
    """The `coreai.name` entry of an argument or result attribute dictionary."""
    if attrs is None:
        return None
    name = attrs.data.get("coreai.name")
    return name.data if isinstance(name, StringAttr) else None


def argument_names(graph: GraphOp) -> list[str]:
    """Input names: `coreai.name`, else the SSA name, else `arg<i>`."""
    block = graph.body.blocks.first
    attrs = graph.arg_attrs.data if graph.arg_attrs is not None else [None] * len(block.args)
    names = []
    for index, (arg, arg_attrs) in enumerate(zip(block.args, attrs, strict=True)):
        names.append(attr_name(arg_attrs) or arg.name_hint or f"arg{index}")
    return names


def result_names(graph: GraphOp) -> list[str]:
    """Output names: `coreai.name`, else `output<i>`; a repeated name gets `_<i>` appended."""
    count = len(graph.function_type.outputs.data)
    attrs = graph.res_attrs.data if graph.res_attrs is not None else [None] * count
    names: list[str] = []
    for index, res_attrs in enumerate(attrs):
        name = attr_name(res_attrs) or f"output{index}"
        names.append(f"{name}_{index}" if name in names else name)
    return names


def handle_tensor_type(value_type: Any) -> TensorType | None:
    """The buffer type inside `!coreai.handle<tensor<...>>` (None for other types)."""
    if isinstance(value_type, HandleType) and isinstance(value_type.value_type, TensorType):
        return value_type.value_type
    return None


def is_token_type(value_type: Any) -> bool:
    """`!coreai.token`."""
    return isinstance(value_type, TokenType)


def owned_bytes(values: Sequence[Any]) -> int:
    """Bytes of the distinct numpy buffers behind `values` (views counted once)."""
    seen: dict[int, int] = {}
    for value in values:
        if isinstance(value, SparseValue):
            value = value.values
        if not isinstance(value, np.ndarray):
            continue
        root = value
        while isinstance(root.base, np.ndarray):
            root = root.base
        if isinstance(root, np.memmap) or root.base is not None:
            continue  # a view of a weight blob or file, not an activation
        seen[id(root)] = root.nbytes
    return sum(seen.values())


@dataclass
class BlockPlan:
    """What to free after each op of a block, and which ops are deferred weight chains."""

    frees: dict[int, list[SSAValue]] = field(default_factory=dict)
    defined: list[SSAValue] = field(default_factory=list)


Observer = Callable[[Operation, Sequence[Value]], None]
"""Called with each op the executor runs and its operand values, before its kernel."""


class Interpreter:
    """Runs the graphs of one module. `state` holds handle buffers across runs (by name);
    `observer`, if given, sees every op run with its operand values (calibration)."""

    def __init__(
        self,
        program: Any,
        state: dict[str, np.ndarray] | None = None,
        observer: Observer | None = None,
    ) -> None:
        module = program.module if hasattr(program, "module") else program
        if not isinstance(module, ModuleOp):
            raise TypeError(f"program must be an AIProgram or a ModuleOp, got {type(program)}")
        self.module = module
        self.graphs: dict[str, GraphOp] = {
            op.sym_name.data: op for op in module.ops if isinstance(op, GraphOp)
        }
        self.state: dict[str, np.ndarray] = state if state is not None else {}
        self.env: dict[SSAValue, Value] = {}
        self.deferred: set[Operation] = set()
        self.plans: dict[Block, BlockPlan] = {}
        self.peak_activation_bytes = 0
        self.ops_run = 0
        self.vectorised_regions = 0
        """> 0 while a scalar region (a scatter combiner) runs on whole arrays."""
        self.observer = observer

    # ---- public
    def run(self, inputs: Mapping[str, Any], graph: str = "main") -> dict[str, np.ndarray]:
        """Run `@graph` on `inputs` (by argument name); outputs by result name."""
        target = self.graph(graph)
        block = target.body.blocks.first
        names = argument_names(target)
        unknown = sorted(set(inputs) - set(names))
        if unknown:
            raise InterpreterError(
                f"unknown input '{unknown[0]}' (@{graph} takes {', '.join(names) or 'nothing'})"
            )
        args = [
            self.argument_value(name, arg.type, inputs, graph)
            for name, arg in zip(names, block.args, strict=True)
        ]
        outputs = self.call_graph(target, args)
        return {
            name: value
            for name, value in zip(result_names(target), outputs, strict=True)
            if isinstance(value, np.ndarray)
        }

    def graph(self, name: str) -> GraphOp:
        """The graph `@name`, or an error listing the graphs there are."""
        if name not in self.graphs:
            known = ", ".join(f"@{g}" for g in self.graphs) or "none"
            raise InterpreterError(f"no graph @{name} in the program (graphs: {known})")
        return self.graphs[name]

    # ---- inputs
    def argument_value(
        self, name: str, arg_type: Any, inputs: Mapping[str, Any], graph: str
    ) -> Value:
        """The runtime value of one graph argument."""
        if is_token_type(arg_type):
            return Token()
        buffer_type = handle_tensor_type(arg_type)
        if buffer_type is not None:
            if name not in self.state:
                initial = inputs.get(name)
                if initial is None:
                    shape = buffer_type.get_shape()
                    if any(d < 0 for d in shape):
                        raise InterpreterError(
                            f"handle '{name}' has a dynamic shape: pass its initial value"
                        )
                    initial = np.zeros(shape, dtype=element_dtype(buffer_type.get_element_type()))
                self.state[name] = convert_input(name, initial, buffer_type, graph)
            return HandleRef(name, buffer_type)
        if not isinstance(arg_type, TensorType):
            raise InterpreterError(f"input '{name}' has unsupported type {arg_type}")
        if name not in inputs:
            raise InterpreterError(f"missing input '{name}' ({arg_type}) of @{graph}")
        return convert_input(name, inputs[name], arg_type, graph)

    # ---- execution
    def call_graph(self, graph: GraphOp, args: Sequence[Value]) -> list[Value]:
        """Run a graph body in a fresh scope; returns the values of its `coreai.output`."""
        saved, self.env = self.env, {}
        try:
            return self.run_block(graph.body.blocks.first, args)
        finally:
            self.env = saved

    def run_block(self, block: Block, args: Sequence[Value]) -> list[Value]:
        """Run a block's ops in order; returns its terminator's operand values."""
        plan = self.plan(block)
        for arg, value in zip(block.args, args, strict=True):
            self.env[arg] = value
        for arg in plan.frees.get(-1, ()):
            self.env.pop(arg, None)
        try:
            for index, op in enumerate(block.ops):
                if op.name in TERMINATORS:
                    return [self.value(operand) for operand in op.operands]
                if op in self.deferred:
                    continue
                results = self.execute(op)
                for result, value in zip(op.results, results, strict=True):
                    self.env[result] = value
                self.note_memory()
                for value in plan.frees.get(index, ()):
                    self.env.pop(value, None)
        finally:
            for value in plan.defined:
                self.env.pop(value, None)
        raise InterpreterError("block has no terminator", op_location(block.parent_op()))

    def value(self, ssa: SSAValue) -> Value:
        """An operand's value: from the scope, or evaluated now if it is a weight chain."""
        owner = ssa.owner
        if isinstance(owner, Operation) and owner in self.deferred:
            return self.execute(owner)[ssa.index]
        try:
            return self.env[ssa]
        except KeyError:
            where = op_location(owner) if isinstance(owner, Operation) else None
            message = f"value {ssa.name_hint or ssa} used before it is computed"
            raise InterpreterError(message, where) from None

    def execute(self, op: Operation) -> list[Value]:
        """Run one op: its kernel on its operand values, results checked against its types."""
        self.ops_run += 1
        if isinstance(op, ConstantOp):
            return [constant_value(op)]
        special = SPECIAL.get(op.name)
        if special is None and isinstance(op, InvokeOp):
            special = run_invoke
        kernel = special or KERNELS.get(op.name)
        if kernel is None:
            raise InterpreterError(
                f"cannot run {op.name}: the executor has no kernel for this op",
                op_location(op),
            )
        call = Call(self, op, self.operand_values(op))
        if self.observer is not None:
            self.observer(op, call.args)
        try:
            with np.errstate(divide="ignore", over="ignore", invalid="ignore", under="ignore"):
                produced = kernel(call)
        except InterpreterError:
            raise
        except (ValueError, TypeError, IndexError, ZeroDivisionError, OverflowError) as error:
            raise InterpreterError(f"{op.name} failed: {error}", op_location(op)) from None
        return check_results(op, produced, check_shapes=not self.vectorised_regions)

    def operand_values(self, op: Operation) -> list[Value]:
        """The op's operand values; a sub-byte weight stays packed for the ops that take it so."""
        from coreai_opt.interpreter.packed import PACKED_OPERANDS, packed_operand

        packed_index = PACKED_OPERANDS.get(op.name)
        values: list[Value] = []
        for index, operand in enumerate(op.operands):
            packed = packed_operand(operand) if index == packed_index else None
            values.append(packed if packed is not None else self.value(operand))
        return values

    def plan(self, block: Block) -> BlockPlan:
        """Free points and deferred weight chains of `block` (computed once)."""
        plan = self.plans.get(block)
        if plan is not None:
            return plan
        plan = BlockPlan()
        last_use: dict[SSAValue, int] = {}
        ops = list(block.ops)
        for index, op in enumerate(ops):
            if self.is_weight_chain(op):
                self.deferred.add(op)
            for used in used_values(op):
                if defined_in(used, block):
                    last_use[used] = index
        plan.defined = [*block.args, *(r for op in ops for r in op.results)]
        for arg in block.args:
            if arg not in last_use:
                plan.frees.setdefault(-1, []).append(arg)
        for index, op in enumerate(ops):
            for result in op.results:
                if result not in last_use:
                    plan.frees.setdefault(index, []).append(result)
        for used, index in last_use.items():
            plan.frees.setdefault(index, []).append(used)
        self.plans[block] = plan
        return plan

    def is_weight_chain(self, op: Operation) -> bool:
        """Constants, and pure ops without regions whose operands are all weight chains."""
        if isinstance(op, ConstantOp):
            return True
        if op.name not in KERNELS or op.regions or not op.operands:
            return False
        return all(
            isinstance(operand.owner, Operation) and operand.owner in self.deferred
            for operand in op.operands
        )

    def note_memory(self) -> None:
        """Track the peak of live activation bytes (weights and views of them excluded)."""
        live = owned_bytes(list(self.env.values()))
        self.peak_activation_bytes = max(self.peak_activation_bytes, live)


def used_values(op: Operation) -> list[SSAValue]:
    """Operands of `op` and of every op nested in its regions."""
    values = list(op.operands)
    for region in op.regions:
        for nested in region.walk():
            values.extend(nested.operands)
    return values


def defined_in(value: SSAValue, block: Block) -> bool:
    """True if `value` is an argument of `block` or a result of one of its ops."""
    if isinstance(value, BlockArgument):
        return value.block is block
    owner = value.owner
    return isinstance(owner, Operation) and owner.parent_block() is block


def constant_value(op: ConstantOp) -> np.ndarray:
    """A constant's array (a view of its blob; sub-byte types unpacked)."""
    from coreai_opt.ir.elements import elements_array

    try:
        return elements_array(op.value)
    except ValueError as error:
        raise InterpreterError(f"coreai.constant: {error}", op_location(op)) from None


def convert_input(name: str, value: Any, arg_type: TensorType, graph: str) -> np.ndarray:
    """An input array checked against its argument type and converted to its dtype."""
    array = np.asarray(value)
    dtype = element_dtype(arg_type.get_element_type())
    if not shape_matches(array.shape, arg_type):
        raise InterpreterError(
            f"input '{name}' has shape {list(array.shape)} but @{graph} expects {arg_type}"
        )
    kinds = {"f": "fV", "V": "fV", "c": "cfV", "i": "iub", "u": "iub", "b": "b"}
    if array.dtype != dtype and array.dtype.kind not in kinds.get(dtype.kind, dtype.kind):
        raise InterpreterError(
            f"input '{name}' has dtype {array.dtype} but @{graph} expects {arg_type}"
        )
    return to_result(array, dtype)


def check_results(op: Operation, produced: Any, check_shapes: bool = True) -> list[Value]:
    """Kernel output as a list, converted to the result types and checked against them."""
    values = list(produced) if isinstance(produced, list | tuple) else [produced]
    if len(values) != len(op.results):
        raise InterpreterError(
            f"{op.name} produced {len(values)} values for {len(op.results)} results",
            op_location(op),
        )
    checked: list[Value] = []
    for result, value in zip(op.results, values, strict=True):
        if isinstance(result.type, TensorType) and not isinstance(value, Token | HandleRef):
            value = to_result(value, element_dtype(result.type.get_element_type()))
            if check_shapes and not shape_matches(value.shape, result.type):
                raise InterpreterError(
                    f"{op.name} computed shape {list(value.shape)}, but its result type is "
                    f"{result.type}",
                    op_location(op),
                )
        checked.append(value)
    return checked


# --------------------------------------------------------------------------- control flow


def run_invoke(call: Call) -> list[Value]:
    """`coreai.invoke @g(args)`: run the callee's body (subgraphs and composites alike)."""
    op = call.op
    assert isinstance(op, InvokeOp)
    callee = op.callee.root_reference.data
    graph = call.interpreter.graphs.get(callee)
    if graph is None:
        raise call.error(f"no graph @{callee} in the program")
    return call.interpreter.call_graph(graph, call.args)


def run_if(call: Call) -> list[Value]:
    """`coreai.if %pred {then} else {else}`: the yielded values of the branch taken."""
    if len(call.op.regions) != 2:
        raise call.error("expects a then and an else region")
    predicate = np.asarray(call.array(0))
    if predicate.size != 1:
        raise call.error(f"predicate must hold one value, got shape {list(predicate.shape)}")
    region = call.op.regions[0 if bool(predicate.reshape(-1)[0]) else 1]
    return call.interpreter.run_block(region.blocks.first, [])


MAX_WHILE_ITERATIONS = 10_000_000


def run_while(call: Call) -> list[Value]:
    """`scf.while`-like loop: regions[0] computes `coreai.condition %pred, %args`;
    while pred holds, regions[1] maps args to the next loop values (`coreai.yield`)."""
    if len(call.op.regions) != 2:
        raise call.error("expects a condition region and a body region")
    before, after = (region.blocks.first for region in call.op.regions)
    interpreter = call.interpreter
    values: list[Value] = list(call.args)
    for _ in range(MAX_WHILE_ITERATIONS):
        condition = interpreter.run_block(before, values)
        if not condition:
            raise call.error("the condition region must end in coreai.condition %pred, ...")
        predicate, forwarded = np.asarray(condition[0]), condition[1:]
        if not bool(predicate.reshape(-1)[0]):
            return forwarded
        values = interpreter.run_block(after, forwarded)
    raise call.error(f"loop did not end within {MAX_WHILE_ITERATIONS} iterations")


def run_create_token(call: Call) -> Token:
    """`coreai.create_token`: a fresh ordering token."""
    return Token()


def handle_of(call: Call, index: int) -> HandleRef:
    """Operand `index` as a handle."""
    value = call.args[index]
    if not isinstance(value, HandleRef):
        raise call.error(f"operand {index} must be a handle, got {type(value).__name__}")
    return value


def run_read_handle(call: Call) -> tuple[np.ndarray, Token]:
    """`read_handle %h, %token -> (value, token)`: the buffer's current contents."""
    handle = handle_of(call, 0)
    return call.interpreter.state[handle.name], Token()


def run_write_handle(call: Call) -> Token:
    """`write_handle %h, %value, %token -> token`: replace the buffer's contents."""
    handle = handle_of(call, 0)
    value = call.array(1)
    if not shape_matches(value.shape, handle.tensor_type):
        raise call.error(f"value of shape {list(value.shape)} does not fit {handle.tensor_type}")
    dtype = element_dtype(handle.tensor_type.get_element_type())
    call.interpreter.state[handle.name] = np.array(value, dtype=dtype)
    return Token()


SPECIAL = {
    "coreai.if": run_if,
    "coreai.while": run_while,
    "coreai.create_token": run_create_token,
    "coreai.read_handle": run_read_handle,
    "coreai.write_handle": run_write_handle,
}
