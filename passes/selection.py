"""Per-weight control: `include` / `exclude` regular expressions on the compression passes.

A weight is named by its SSA name (or source location, as the report names it), its
resource key, the kinds of the ops consuming it (`coreai.conv2d`; uses are followed
through decompression chains and `coreai.invoke`), the SSA names of those ops' results, and
the graphs it is passed to (`@layers.0.mlp`). A pattern selects the weight when it is
found (`re.search`) in any of these names; anchor it (`^w0$`) to match a whole name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from xdsl.ir import Operation

from coreai_opt.errors import PipelineError


def compile_pattern(pattern: str | None, option: str, pass_name: str) -> re.Pattern | None:
    """The compiled pattern, or a one-line error naming the pass and the option."""
    if pattern is None or pattern == "":
        return None
    try:
        return re.compile(pattern)
    except re.error as error:
        raise PipelineError(
            f"pass '{pass_name}': option '{option}' is not a valid regular expression "
            f"({error}): '{pattern}'"
        ) from None


def weight_names(op: Operation) -> list[str]:
    """Every name a selector may match for the weight defined by `op`."""
    from coreai_opt.dialects.coreai import GraphOp, InvokeOp
    from coreai_opt.passes.common import key_hint
    from coreai_opt.passes.compression import look_through

    from coreai_opt.inspection import identity

    names = [identity(op.results[0]), key_hint(op)]
    for user, _ in look_through(op.results[0]):
        names.append(user.name)
        names.extend(r.name_hint for r in user.results if r.name_hint)
        graph = user.parent_op()
        while graph is not None and not isinstance(graph, GraphOp):
            graph = graph.parent_op()
        if isinstance(graph, GraphOp):
            names.append("@" + graph.sym_name.data)
    for use in op.results[0].uses:
        if isinstance(use.operation, InvokeOp):
            names.append(f"@{use.operation.callee.root_reference.data}")
    return list(dict.fromkeys(names))


@dataclass
class WeightSelector:
    """Which weights a pass may compress (`include`, then not `exclude`)."""

    pass_name: str
    include: str | None = None
    exclude: str | None = None
    included: int = field(default=0, init=False)
    excluded: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.include_pattern = compile_pattern(self.include, "include", self.pass_name)
        self.exclude_pattern = compile_pattern(self.exclude, "exclude", self.pass_name)

    @property
    def active(self) -> bool:
        """Whether the selector restricts anything."""
        return self.include_pattern is not None or self.exclude_pattern is not None

    def selects(self, op: Operation) -> bool:
        """Whether the weight defined by `op` is to be compressed (counts the matches)."""
        if not self.active:
            return True
        names = weight_names(op)
        if self.include_pattern is not None:
            if not any(self.include_pattern.search(name) for name in names):
                return False
            self.included += 1
        if self.exclude_pattern is not None and any(
            self.exclude_pattern.search(name) for name in names
        ):
            self.excluded += 1
            return False
        return True

    def unmatched(self) -> list[str]:
        """`include '...'` / `exclude '...'` for each pattern that matched no weight."""
        found = []
        if self.include_pattern is not None and not self.included:
            found.append(f"include '{self.include}'")
        if self.exclude_pattern is not None and not self.excluded:
            found.append(f"exclude '{self.exclude}'")
        return found
