"""`optimize`: remove dead constants and other dead pure ops."""

from __future__ import annotations

from dataclasses import dataclass

from coreai_opt.dialects.coreai import ConstantOp
from xdsl.dialects.builtin import ModuleOp, UnregisteredOp
from xdsl.ir import Operation
from xdsl.traits import Pure

from coreai_opt.ir.elements import stored_nbytes
from coreai_opt.pipeline import CoreAIPass, PassRun, register_pass


def is_dead(op: Operation) -> bool:
    """A pure op whose results are all unused (graph signatures are never touched)."""
    if isinstance(op, UnregisteredOp) or not op.results:
        return False
    if not op.has_trait(Pure, value_if_unregistered=False):
        return False
    return all(not result.uses for result in op.results)


def erase_dead_ops(module: ModuleOp, run: PassRun | None = None) -> int:
    """Erase dead pure ops (users before producers, so chains go in one sweep)."""
    erased = 0
    for op in reversed(list(module.walk())):
        if not is_dead(op):
            continue
        if run is not None and isinstance(op, ConstantOp):
            run.count("constants-removed", 1, "Dead constants removed")
            run.count("bytes-removed", stored_nbytes(op.value), "Weight bytes removed")
        op.detach()
        op.erase()
        erased += 1
    return erased


@register_pass
@dataclass(frozen=True)
class OptimizePass(CoreAIPass):
    """Remove dead constants and other dead pure ops; graph signatures are kept."""

    name = "optimize"

    def run(self, module: ModuleOp, run: PassRun) -> None:
        run.count("ops-removed", erase_dead_ops(module, run), "Dead pure ops removed")
