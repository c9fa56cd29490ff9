"""The forms Apple's printer uses for Core AI ops we do not model.

An op read from text prints in the form it was read in; this table is for ops that were
never text (read from MLIR bytecode or an `.aimodel` bundle), so they print as Apple's
tools print them. It only matters for output fidelity: an op missing here prints in MLIR's
functional form, which every Core AI reader accepts as well. Forms are written in
`OpSyntax.spec` notation and come from Apple's printed IR (apple/coreai-torch tests).
"""

from __future__ import annotations

from functools import cache

from coreai_opt.dialects.syntax import OpSyntax

BARE_UNARY = [
    "abs",
    "acos",
    "acosh",
    "asin",
    "asinh",
    "atan",
    "atanh",
    "ceil",
    "cos",
    "cosh",
    "erf",
    "exp",
    "floor",
    "get_shape",
    "log",
    "non_zero",
    "not",
    "round",
    "rsqrt",
    "sign",
    "sin",
    "sinh",
    "sqrt",
    "tan",
    "tanh",
]

SPECS: dict[str, str] = {
    **{name: "% : T -> R" for name in BARE_UNARY},
    "gelu": "% approximate=<> : T -> R",
    "expand_dims": "%, % : (T) to R",
    "shrink_dims": "%, % : (T) to R",
    "gather_along_axis": "% at % along % : (T) to R",
    "slice_update": "% with % at (%, %, %) : (T) to R",
    "scatter_nd": "% with % at % {region} : (T) to R",
    "pad": "%, %, % mode=<> : (T) -> R",
    "scan": "%, %, % combiner=<> : (T) -> R",
    "scatter_along_axis": "%, %, %, % scatter_mode=<> : (T) -> R",
    "if": "% {region} else {region} : T -> R",
    "while": "% {region} do {region} : (T) -> R",
    "condition": "%, % : T",
    "yield": "% : T",
    "create_token": " : R",
}

FLAGS: dict[str, dict] = {
    "read_handle": {"stripped_operands": frozenset({0}), "separate_results": True},
    "write_handle": {"stripped_operands": frozenset({0})},
}


@cache
def apple_syntax(op_name: str) -> OpSyntax | None:
    """The form Apple's printer uses for `coreai.<name>`, if it is not the functional one."""
    name = op_name.removeprefix("coreai.")
    if name in SPECS:
        return OpSyntax.spec(SPECS[name], **FLAGS.get(name, {}))
    if name in FLAGS:
        return OpSyntax.spec("%, % : (T) -> R", **FLAGS[name])
    return None
