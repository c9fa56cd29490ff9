"""Locations whose `#alias` is defined after its use, read by any xDSL parser.

MLIR prints `loc(#loc3)` on ops and defines `#loc3 = loc("model.py":2:8)` at the end of the
file. `coreai-opt`'s parser resolves such forward references itself; xDSL's (under
`xdsl-opt`) knows only the aliases defined so far. So the parse hooks of the `coreai` ops
read the trailing location of their op themselves, and the first use of an undefined alias
reads every top-level `#name = loc(...)` definition of the text once, ahead of time (each
on its own line, in file order, as MLIR prints them); xDSL later reads the same
definitions again where they are. Locations that xDSL's parser reads itself (on the module,
on ops of other dialects, on block arguments of nested regions) still need their alias
defined first under `xdsl-opt`.
"""

from __future__ import annotations

import re

from coreai_opt.dialects.asm import op_text_start, update_asm
from coreai_opt.dialects.text_state import coreai_opt_parser, per_text, source_position
from xdsl.dialects.builtin import FileLineColLoc, IntAttr, StringAttr
from xdsl.ir import Attribute, Operation
from xdsl.parser import Parser
from xdsl.utils.exceptions import ParseError
from xdsl.utils.mlir_lexer import MLIRTokenKind

ALIAS = re.compile(r"#[\w.$\-]+")
STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
LOCATION_BODY = re.compile(
    r'\((?:[^()"]++|"(?:[^"\\]|\\.)*+"|\((?:[^()"]++|"(?:[^"\\]|\\.)*+"|\([^()]*\))*\))*\)'
)
"""`loc`'s parenthesised body, three levels deep (`fused[callsite(a at b)]`), strings kept
whole."""
LOCATION_ALIAS_DEFINITION = re.compile(r"(?m)^#[\w.$\-]+[ \t]*=[ \t]*loc\(.*$")


def parse_optional_location(parser: Parser) -> Attribute | None:
    """`loc(...)` if next, read as `coreai-opt` reads it (an `#alias` may be defined further
    down; `fused<metadata>[...]` and `"f":1:2 to 3:4` ranges too, which xDSL lacks)."""
    token = parser._current_token
    if coreai_opt_parser(parser) or token.kind != MLIRTokenKind.BARE_IDENT or token.text != "loc":
        return parser.parse_optional_location()
    content = parser.lexer.input.content
    end = location_end(content, token.span.end)
    if end < 0:
        return parser.parse_optional_location()  # malformed: xDSL's parser reports it
    aliases = dict(parser.attribute_aliases)
    body = STRING.sub(lambda m: " " * len(m.group()), content[token.span.end : end])
    for use in ALIAS.finditer(body):
        if use.group() in aliases:
            continue
        later = later_location_aliases(parser)
        if use.group() not in later:
            offset = token.span.end + use.start()
            parser.raise_error(
                f"undefined location alias '{use.group()}'", offset, offset + len(use.group())
            )
        aliases[use.group()] = later[use.group()]
    return read_location(parser, token.span.start, end, aliases)


def read_location(parser: Parser, start: int, end: int, aliases: dict) -> Attribute | None:
    """The `loc(...)` at `start:end` of the parser's text, read by `coreai-opt`'s location
    parser; its errors are located in the whole text."""
    from coreai_opt.ir.text import CoreAIParser, FileMetadata

    text_input = parser.lexer.input
    reader = CoreAIParser(
        parser.ctx, text_input.content[start:end], text_input.name, FileMetadata()
    )
    reader.attribute_aliases = aliases
    try:
        location = reader.parse_optional_location()
        if reader._current_token.kind != MLIRTokenKind.EOF:
            reader.raise_error("unexpected text in a location")
    except ParseError as error:
        parser.raise_error(error.msg, start + error.span.start, start + error.span.end)
    parser._resume_from(end)
    return location


def location_end(content: str, start: int) -> int:
    """Offset just after the `(...)` that opens at `start` (strings skipped), or -1."""
    match = LOCATION_BODY.match(content, start)
    return match.end() if match is not None else -1


def op_start(parser: Parser) -> tuple[int, int] | None:
    """In a parse hook, where the op starts and how many result names it binds (None
    under our parser, which records both for every op)."""
    return None if coreai_opt_parser(parser) else op_text_start(parser)


def take_trailing_location(parser: Parser, op: Operation, start: tuple[int, int] | None) -> None:
    """Read the op's `loc(...)` in its parse hook (without one, the op is located where it
    starts, `start` from `op_start`, as `coreai-opt` locates it) and remember whether its
    results were named one by one (`%a, %b =`, printed back so), under parsers other than
    ours (which do this for every op)."""
    if start is None:
        return
    offset, result_names = start
    name, line, column = source_position(parser, offset)
    separate = result_names > 1 if len(op.results) > 1 else None
    update_asm(op, source=f"{name}:{line}:{column}", separate_results=separate)
    location = parse_optional_location(parser)
    op.location = location or FileLineColLoc(StringAttr(name), IntAttr(line), IntAttr(column))


def later_location_aliases(parser: Parser) -> dict[str, Attribute]:
    """Every top-level `#name = loc(...)` of the parser's text, read once per text."""
    return per_text(parser, "location_aliases", lambda: read_location_aliases(parser))


def read_location_aliases(parser: Parser) -> dict[str, Attribute]:
    """Parse the text's top-level location alias definitions, in order, on their own
    (with `coreai-opt`'s location parser)."""
    from coreai_opt.ir.text import CoreAIParser, FileMetadata

    text_input = parser.lexer.input
    definitions = "\n".join(LOCATION_ALIAS_DEFINITION.findall(text_input.content))
    reader = CoreAIParser(parser.ctx, definitions, text_input.name, FileMetadata())
    try:
        while reader._current_token.kind == MLIRTokenKind.HASH_IDENT:
            reader._parse_alias_def()
    except ParseError:
        pass  # the main parser reports a bad definition where it is
    return dict(reader.attribute_aliases)
