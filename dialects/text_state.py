"""What the `coreai` parse hooks compute once per parsed text, whatever parser reads it.

xDSL's parser has no place for a dialect's state, so it is kept here, by the identity of
the parser's input (a weak reference checks that the identity was not reused and drops the
state with the text).
"""

from __future__ import annotations

import bisect
import re
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from xdsl.parser import Parser

T = TypeVar("T")

_STATE: dict[int, tuple[weakref.ref, dict[str, Any]]] = {}


def coreai_opt_parser(parser: Parser) -> bool:
    """True under `coreai-opt`'s own parser (its context resolves every `coreai` name and
    the parser handles locations and dense literals itself): the hooks' extra work for
    other parsers is skipped, so its speed is unchanged."""
    return getattr(parser.ctx, "resolves_coreai_names", False)


def per_text(parser: Parser, slot: str, make: Callable[[], T]) -> T:
    """The value of `slot` for the parser's text, made by `make()` the first time."""
    text_input = parser.lexer.input
    key = id(text_input)
    entry = _STATE.get(key)
    if entry is None or entry[0]() is not text_input:
        entry = (weakref.ref(text_input, lambda _: _STATE.pop(key, None)), {})
        _STATE[key] = entry
    slots = entry[1]
    if slot not in slots:
        slots[slot] = make()
    return slots[slot]


def source_position(parser: Parser, offset: int) -> tuple[str, int, int]:
    """File name, line and column (1-based) of a character offset of the parser's text."""
    content = parser.lexer.input.content
    starts = per_text(
        parser, "line_starts", lambda: [0] + [m.end() for m in re.finditer("\n", content)]
    )
    line = bisect.bisect_right(starts, offset) - 1
    return parser.lexer.input.name, line + 1, offset - starts[line] + 1
