"""Registration with xDSL's tools through the `xdsl.universe` entry point (pyproject.toml).

With the project installed, `xdsl-opt` knows the `coreai` dialect, our passes and a `coreai`
output target (the IR with its weights, as `coreai-opt` prints it):

    xdsl-opt model.mlir -p 'palettize{n_bits=4}' -t coreai

xDSL's own `mlir` target prints `dense_resource<...>` weights without their bytes. Only
`xdsl-opt` imports this module (it imports all of xDSL's dialects and passes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Dialect
from xdsl.universe import Universe
from xdsl.utils.target import Target

from coreai_opt.passes import get_all_passes


def get_coreai_dialect() -> Dialect:
    """The `coreai` dialect."""
    from coreai_opt.dialects.coreai import CoreAI

    return CoreAI


@dataclass(frozen=True)
class CoreAITarget(Target):
    """Print the module as `coreai-opt` does, weights (`dialect_resources`) included.

    `-t 'coreai{debuginfo=true}'` prints locations (`--mlir-print-debuginfo`),
    `-t 'coreai{generic=true}'` MLIR's generic form (`--print-op-generic`).
    """

    name = "coreai"

    debuginfo: bool = False
    generic: bool = False

    def emit(self, ctx: Context, module: ModuleOp, output: IO[str]) -> None:
        from coreai_opt.ir.pending import resolve_pending_resources
        from coreai_opt.ir.text import module_to_string

        resolve_pending_resources(ctx, module)
        output.write(module_to_string(module, generic=self.generic, debuginfo=self.debuginfo))


def get_coreai_target() -> type[Target]:
    """The `coreai` output target."""
    return CoreAITarget


COREAI_UNIVERSE = Universe(
    all_dialects={"coreai": get_coreai_dialect},
    all_passes=get_all_passes(),
    all_targets={"coreai": get_coreai_target},
)
