"""What the parser remembers about how an op was written, so it prints back the same way.

Each parsed op carries an `AsmInfo`: the form it was read in (`OpSyntax`), whether its
results were named one by one (`%a, %b = ...`) or as a group (`%r:2 = ...`), whether a
graph's single result was parenthesised, and where in the text it was (for diagnostics).
None of this is IR: passes never look at it, and ops built by passes have none (they
print in their class's form).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from coreai_opt.dialects.syntax import OpSyntax
from xdsl.ir import Operation
from xdsl.parser import Parser

ASM_INFO = "_coreai_asm"


@dataclass(slots=True)
class AsmInfo:
    """How one op was written (every field optional)."""

    syntax: OpSyntax | None = None
    separate_results: bool | None = None
    paren_results: bool | None = None
    source: str | None = None
    """`file:line:col` where the op was read."""


def asm_info(op: Operation) -> AsmInfo | None:
    """The op's AsmInfo, if it was parsed from text."""
    return op.__dict__.get(ASM_INFO)


def update_asm(op: Operation, **fields) -> None:
    """Set some AsmInfo fields of `op`."""
    info = op.__dict__.get(ASM_INFO)
    if info is None:
        op.__dict__[ASM_INFO] = AsmInfo(**fields)
        return
    for name, value in fields.items():
        setattr(info, name, value)


def record_syntax(op: Operation, syntax: OpSyntax) -> None:
    """Remember the form `op` was read in."""
    update_asm(op, syntax=syntax)


def recorded_syntax(op: Operation) -> OpSyntax | None:
    """The form `op` was read in, if any."""
    info = asm_info(op)
    return info.syntax if info is not None else None


def copy_asm(original: Operation, copy: Operation) -> None:
    """Give every op of `copy` (a clone of `original`) its original's AsmInfo."""
    for old, new in zip(original.walk(), copy.walk(), strict=True):
        info = old.__dict__.get(ASM_INFO)
        if info is not None:
            new.__dict__[ASM_INFO] = replace(info)


RESULT_LIST = re.compile(r"(%[\w$.\-]+(?::\d+)?(?:\s*,\s*%[\w$.\-]+(?::\d+)?)*)\s*=\s*$")
TRAILING_NAME = re.compile(r"[A-Za-z_][\w$.]*$")


def op_name_start(parser: Parser) -> int:
    """Offset where the op name being parsed starts (the parser is just past it)."""
    content = parser.lexer.input.content
    end = name_end_position(parser)
    match = TRAILING_NAME.search(content, max(0, end - 256), end)
    return match.start() if match else end


def op_text_start(parser: Parser) -> tuple[int, int]:
    """Where the op being parsed starts (its result list, else its name), and how many
    names its result list has (`%a, %b:2 =` has 2)."""
    content = parser.lexer.input.content
    start = op_name_start(parser)
    match = RESULT_LIST.search(content, max(0, start - 4096), start)
    if match is None:
        return start, 0
    return match.start(), len(re.split(r"\s*,\s*", match.group(1)))


def name_end_position(parser: Parser) -> int:
    """Offset right after the op name being parsed (the parser is at the next token)."""
    content = parser.lexer.input.content
    position = parser._current_token.span.start
    while position > 0 and content[position - 1].isspace():
        position -= 1
    return position


def bound_result_count(parser: Parser, op_name: str) -> int:
    """How many results the text binds for the op being parsed (`%a, %b:2 =` → 3).

    CoreAIParser records the result list it read; a plain xDSL parser (under `xdsl-opt`)
    has no such record, so the text before the op name is read instead.
    """
    stack = getattr(parser, "result_lists", None)
    if stack:
        return sum(size for _, size in stack[-1])
    content = parser.lexer.input.content
    start = op_name_start(parser)
    head = content[max(0, start - 4096) : start]
    match = RESULT_LIST.search(head)
    if match is None:
        return 0
    total = 0
    for name in re.split(r"\s*,\s*", match.group(1)):
        size = name.partition(":")[2]
        total += int(size) if size else 1
    return total
