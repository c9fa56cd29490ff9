"""Limits on what an input may declare, checked before anything is built from it.

A small file must not be able to make the tools allocate or write gigabytes, nor exhaust
Python's stack: resource alignments and nesting depths are bounded here (docs/dialect.md,
"Input limits"). Sizes are bounded by the input itself: a blob or a dense literal must hold
the bytes its type needs, and a splat stays one element however large its type.
"""

from __future__ import annotations

import re

MAX_RESOURCE_ALIGNMENT = 4096
"""Largest alignment a resource blob (text or bytecode) may ask for: a page.

MLIR accepts any power of two, but an alignment word is the one size in a file that is not
backed by bytes: `0x80000000` in a 1 KB file would pad the bytecode written from it to 4 GB.
Real programs use 1 to 64.
"""

MAX_NESTING_DEPTH = 64
"""Deepest nesting of brackets in textual IR, of regions and of attributes in bytecode, and
of arrays and objects in `metadata.json`. Parsing and printing recurse, and at this depth
they stay well inside Python's default recursion limit."""

MAX_INTEGER_WIDTH = (1 << 24) - 1
"""Widest integer type (`i16777215`), as in MLIR; a wider one costs time and memory out of
all proportion to the few bytes that declare it."""

MAX_DIMENSION = (1 << 63) - 1
"""Largest tensor dimension: MLIR stores dimensions as int64 ("invalid dimension")."""

IR_TOKENS = re.compile(r'[(\[{<)\]}>"]|//|->|[#!][A-Za-z_][\w.$\-]*')
JSON_TOKENS = re.compile(r'[\[{\]}"]')
CLOSER_OF = {"(": ")", "[": "]", "{": "}", "<": ">"}
ALIAS_DEFINITION = re.compile(r"[ \t]*=")


def alignment_problem(alignment: int) -> str | None:
    """Why a blob's alignment is unacceptable, or None. Zero means "unspecified" (read as 1,
    as MLIR writes it for empty blobs)."""
    if alignment & (alignment - 1):
        return f"alignment {alignment} is not a power of two"
    if alignment > MAX_RESOURCE_ALIGNMENT:
        return f"alignment {alignment} exceeds the limit of {MAX_RESOURCE_ALIGNMENT}"
    return None


def too_deep_offset(
    text: str, limit: int = MAX_NESTING_DEPTH, pattern: re.Pattern[str] = IR_TOKENS
) -> int | None:
    """Offset of the first bracket (or alias use) nested more than `limit` deep, else None."""
    return NestingScan(text, limit, pattern).run()


class NestingScan:
    """One pass over IR text (or JSON) that tracks how deeply brackets nest.

    Strings (with backslash escapes) and `//` comments are skipped; `->` is not a bracket.
    A `<` never closed is dropped when its enclosing bracket closes, so a stray `<` or `>`
    cannot add up across a file; real mismatches are left to the parser to report.
    Attribute and type aliases (`#a = [...]`, `!t = ...`, top-level, one line unless inside
    brackets) nest too: a use of `#a` counts as deep as `#a`'s own brackets.
    """

    def __init__(self, text: str, limit: int, pattern: re.Pattern[str]) -> None:
        self.text = text
        self.limit = limit
        self.pattern = pattern
        self.stack: list[str] = []
        self.alias_depths: dict[str, int] = {}
        self.defining: str | None = None
        self.defined_depth = 0
        self.definition_end = -1

    def run(self) -> int | None:
        """Scan the whole text; the offset of the first too-deep token, or None."""
        position = 0
        while (match := self.pattern.search(self.text, position)) is not None:
            token, start, position = match.group(), match.start(), match.end()
            if self.defining is not None and not self.stack and start > self.definition_end:
                self.finish_definition()
            if token == "//":
                newline = self.text.find("\n", position)
                position = len(self.text) if newline < 0 else newline + 1
            elif token == '"':
                position = string_end(self.text, position)
            elif token in CLOSER_OF:
                self.stack.append(token)
                if not self.reached(len(self.stack)):
                    return start
            elif token[0] in "#!":
                if not self.stack and (definition := ALIAS_DEFINITION.match(self.text, position)):
                    self.start_definition(token, definition.end())
                elif not self.reached(len(self.stack) + self.alias_depths.get(token, 0)):
                    return start
            elif token != "->":
                close_bracket(self.stack, token)
                if not self.stack:
                    self.definition_end = self.line_end(position)
        return None

    def reached(self, depth: int) -> bool:
        """Record a depth; False when it exceeds the limit."""
        self.defined_depth = max(self.defined_depth, depth)
        return depth <= self.limit

    def start_definition(self, alias: str, body: int) -> None:
        """`#alias =` at top level: its body runs to the end of the line (or its brackets)."""
        self.finish_definition()
        self.defining, self.defined_depth = alias, 0
        self.definition_end = self.line_end(body)

    def finish_definition(self) -> None:
        """Remember how deep the alias just defined nests."""
        if self.defining is not None:
            self.alias_depths[self.defining] = self.defined_depth
        self.defining = None

    def line_end(self, position: int) -> int:
        """Offset of the newline ending the line holding `position`."""
        newline = self.text.find("\n", position)
        return len(self.text) if newline < 0 else newline


def close_bracket(stack: list[str], closer: str) -> None:
    """Pop the bracket `closer` closes; unclosed `<` inside it go too, a stray `>` is ignored."""
    if closer == ">":
        if stack and stack[-1] == "<":
            stack.pop()
        return
    while stack and stack[-1] == "<":
        stack.pop()
    if stack and CLOSER_OF[stack[-1]] == closer:
        stack.pop()


def string_end(text: str, position: int) -> int:
    """Offset just after the `"` closing a string whose body starts at `position`."""
    while True:
        quote = text.find('"', position)
        if quote < 0:
            return len(text)
        backslashes = 0
        while text[quote - 1 - backslashes] == "\\":
            backslashes += 1
        if backslashes % 2 == 0:
            return quote + 1
        position = quote + 1
