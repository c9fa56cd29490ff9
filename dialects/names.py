"""Teaching any xDSL context the `coreai.*` names a text uses, from the dialect's parse hooks.

A Core AI program uses hundreds of op names the dialect does not model, attributes such as
`#coreai.composite_declaration<...>` and types such as `!coreai.handle<...>`; all of them
parse generically (dialects/syntax.py, dialects/types.py) whatever their name. `coreai-opt`'s
context (`CoreAIContext`) creates the class for a name when it is looked up. xDSL's own
`Context` (under `xdsl-opt`) only knows the names a dialect lists when it is loaded, so the
first of our parse hooks to run on a text (a `coreai.graph`, usually) scans the whole text
once for `coreai.<name>`, `#coreai.<name>` and `!coreai.<name>` and loads the generic class
of every name the context does not know yet (into the tables `Context.load_op` and
`load_attr_or_type` fill).

Names only in a string or an attribute key are loaded too; that is harmless (a class that
is never used). A `#coreai.*` attribute or `!coreai.*` type that the text uses before any
`coreai` op (in a top-level alias or the module's own attributes) is read before any hook
runs, so xDSL reports it as not registered: that is a documented limitation of `xdsl-opt`.
"""

from __future__ import annotations

import re

from coreai_opt.dialects.text_state import coreai_opt_parser, per_text
from xdsl.context import Context
from xdsl.dialects.builtin import UnregisteredAttr, UnregisteredOp
from xdsl.parser import Parser

COREAI_NAME = re.compile(r"coreai\.([A-Za-z_][\w$.]*)")
"""A literal first, so the scan jumps from one `coreai.` to the next."""
NOT_A_NAME_AFTER = frozenset("$.%@^-_") | frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
)
"""Characters that make `coreai.x` part of a longer identifier (`%coreai.x`, `mycoreai.x`)."""

SIGIL_INDEX = {"": 0, "#": 1, "!": 2}
"""Op names are bare (or quoted), attributes start with `#`, types with `!`."""


def learn_coreai_names(parser: Parser) -> None:
    """Load the generic class of every `coreai` op, attribute and type name in the parser's
    text that its context does not know (once per text; a no-op for `coreai-opt`)."""
    if coreai_opt_parser(parser):
        return
    ctx = parser.ctx
    per_text(
        parser, "coreai_names", lambda: load_names(ctx, *scan_names(parser.lexer.input.content))
    )


def scan_names(text: str) -> tuple[set[str], set[str], set[str]]:
    """The op, attribute and type mnemonics (after `coreai.`) written in `text` (its
    resource section, hex only, is not scanned)."""
    found: tuple[set[str], set[str], set[str]] = (set(), set(), set())
    metadata = text.rfind("{-#")
    for match in COREAI_NAME.finditer(text, 0, metadata if metadata >= 0 else len(text)):
        start = match.start()
        sigil = text[start - 1] if start and text[start - 1] in "#!" else ""
        before = text[start - 1 - len(sigil)] if start > len(sigil) else " "
        if before in NOT_A_NAME_AFTER and (not sigil or before.isalnum() or before == "_"):
            continue  # part of a longer identifier (`->!coreai.token` is a type)
        found[SIGIL_INDEX[sigil]].add(match.group(1).rstrip("."))
    return found


def load_names(ctx: Context, ops: set[str], attributes: set[str], types: set[str]) -> None:
    """Load the generic classes for the names `ctx` does not know (or knows only as
    unregistered, when it allows unregistered dialects)."""
    from coreai_opt.dialects.coreai import unknown_op_class
    from coreai_opt.dialects.types import attribute_class, type_class

    ctx.get_optional_dialect("coreai")  # the modelled names first
    for name in sorted(ops):
        known = ctx._loaded_ops.get(f"coreai.{name}")
        if known is None or issubclass(known, UnregisteredOp):
            ctx._loaded_ops[f"coreai.{name}"] = unknown_op_class(f"coreai.{name}")
    for names, table, make in (
        (attributes, ctx._loaded_attrs, attribute_class),
        (types, ctx._loaded_types, type_class),
    ):
        for name in sorted(names):
            known = table.get(f"coreai.{name}")
            if known is None or issubclass(known, UnregisteredAttr):
                table[f"coreai.{name}"] = make(name)
