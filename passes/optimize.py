"""`optimize`: remove dead constants and other dead pure ops (xDSL's dead-code elimination)."""

from __future__ import annotations

from dataclasses import dataclass

from coreai_opt.dialects.coreai import ConstantOp
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.pattern_rewriter import PatternRewriterListener, PatternRewriteWalker
from xdsl.transforms.dead_code_elimination import RemoveUnusedOperations

from coreai_opt.ir.elements import stored_nbytes
from coreai_opt.ir.pending import resolve_pending_resources
from coreai_opt.pipeline import CoreAIPass, PassRun, current_run


def erase_dead_ops(module: ModuleOp, run: PassRun | None = None) -> int:
    """Erase dead pure ops, users before producers (so chains go in one walk); returns how
    many. An op is dead when xDSL says so: no used results, no side effects it knows of
    (unknown ops and graphs, symbols, are never dead), not a terminator."""
    removed: list[Operation] = []

    def on_removal(op: Operation) -> None:
        removed.append(op)
        if run is not None and isinstance(op, ConstantOp):
            run.count("constants-removed", 1, "Dead constants removed")
            run.count("bytes-removed", stored_nbytes(op.value), "Weight bytes removed")

    listener = PatternRewriterListener(operation_removal_handler=[on_removal])
    PatternRewriteWalker(
        RemoveUnusedOperations(), apply_recursively=True, walk_reverse=True, listener=listener
    ).rewrite_module(module)
    return len(removed)


@dataclass(frozen=True)
class OptimizePass(CoreAIPass):
    """Remove dead constants and other dead pure ops; graph signatures are kept."""

    name = "optimize"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        resolve_pending_resources(ctx, op)
        run = current_run(self.name)
        run.count("ops-removed", erase_dead_ops(op, run), "Dead pure ops removed")
