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
import weakref

from xdsl.ir import Attribute, Operation
from xdsl.parser import Parser
from xdsl.utils.exceptions import ParseError
from xdsl.utils.mlir_lexer import MLIRTokenKind

ALIAS_USE = re.compile(r"\(\s*(#[\w.$\-]+)\s*\)")
"""`(#name)` right after `loc`."""
LOCATION_ALIAS_DEFINITION = re.compile(r"(?m)^#[\w.$\-]+[ \t]*=[ \t]*loc\(.*$")

_LATER: dict[int, tuple[weakref.ref, dict[str, Attribute]]] = {}
"""Location aliases read ahead, per input (by identity, checked by a weak reference)."""


def own_locations(parser: Parser) -> bool:
    """True for `coreai-opt`'s parser, which resolves later aliases on its own."""
    return getattr(parser.ctx, "resolves_coreai_names", False)


def parse_optional_location(parser: Parser) -> Attribute | None:
    """`loc(...)` if next, where `loc(#alias)` may name an alias defined further down."""
    token = parser._current_token
    if own_locations(parser) or token.kind != MLIRTokenKind.BARE_IDENT or token.text != "loc":
        return parser.parse_optional_location()
    match = ALIAS_USE.match(parser.lexer.input.content, token.span.end)
    if match is None or match.group(1) in parser.attribute_aliases:
        return parser.parse_optional_location()
    alias = match.group(1)
    location = later_location_aliases(parser).get(alias)
    if location is None:
        start = match.start(1)
        parser.raise_error(f"undefined location alias '{alias}'", start, start + len(alias))
    parser._resume_from(match.end())
    return location


def take_trailing_location(parser: Parser, op: Operation) -> None:
    """Read the op's `loc(...)` in its parse hook (only for parsers other than ours)."""
    if own_locations(parser):
        return
    location = parse_optional_location(parser)
    if location is not None:
        op.location = location


def later_location_aliases(parser: Parser) -> dict[str, Attribute]:
    """Every top-level `#name = loc(...)` of the parser's text, read once per text."""
    text_input = parser.lexer.input
    key = id(text_input)
    cached = _LATER.get(key)
    if cached is not None and cached[0]() is text_input:
        return cached[1]
    definitions = "\n".join(LOCATION_ALIAS_DEFINITION.findall(text_input.content))
    reader = Parser(parser.ctx, definitions, text_input.name)
    try:
        while reader._current_token.kind == MLIRTokenKind.HASH_IDENT:
            reader._parse_alias_def()
    except ParseError:
        pass  # the main parser reports a bad definition where it is
    aliases = dict(reader.attribute_aliases)
    _LATER[key] = (weakref.ref(text_input, lambda _: _LATER.pop(key, None)), aliases)
    return aliases
