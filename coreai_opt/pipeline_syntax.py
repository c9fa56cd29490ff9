"""Our pipeline syntax, translated into xDSL's pass-pipeline spec for xDSL's parser.

    sparsify<target_sparsity=0.5>,builtin.module(palettize{n-bits=4 lut_dtype=none})
    -> sparsify{target_sparsity="0.5"},palettize{n-bits="4" lut_dtype}

`xdsl.utils.arg_spec.parse_pipeline` then reads the spec. This shim only covers what xDSL's
syntax lacks or reads differently: `<...>` option lists, commas between options (xDSL reads
`k=1,2` as a tuple), the `builtin.module(...)` anchor, `none`, single quotes, bare values
holding regular-expression characters (`^w[0-3]$`), brackets in values (tuples `(2,4)`),
and the stricter checks (an option given twice, a stray comma, a key without a value), each
reported at its column. Every value is handed over as one quoted string; the pass converts
it to the option's type, splitting tuples (`coreai_opt.pass_options.spec_value`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from coreai_opt.errors import PipelineError

ANCHORS = ("builtin.module", "module", "any")
NONE_WORDS = ("none", "null")
NAME = re.compile(r"[\w.-]+")


class Translator:
    """A scanner of the pipeline text that emits the equivalent xDSL spec.

    `resolve` maps each pass name to its registered spelling (or raises for an unknown
    pass), so an unknown pass is reported where it is met, before what follows it.
    """

    def __init__(self, text: str, resolve: Callable[[str], str]) -> None:
        self.text = text
        self.resolve = resolve
        self.pos = 0

    def error(self, message: str, pos: int | None = None) -> PipelineError:
        """A PipelineError pointing at the current column (or at `pos`)."""
        column = (self.pos if pos is None else pos) + 1
        return PipelineError(f"{message} at column {column} of '{self.text}'")

    def accept(self, literal: str) -> bool:
        """Skip whitespace; consume `literal` if it is next."""
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1
        if self.text.startswith(literal, self.pos):
            self.pos += len(literal)
            return True
        return False

    def at_end_or(self, closer: str | None) -> bool:
        """Whether only `closer` (or the end of the text) comes next."""
        self.accept("")
        return self.pos >= len(self.text) or (closer is not None and self.text[self.pos] == closer)

    def name(self, what: str) -> str:
        """A pass or option name."""
        self.accept("")
        match = NAME.match(self.text, self.pos)
        if match is None:
            raise self.error(f"expected {what}")
        self.pos = match.end()
        return match.group()

    def value(self, closer: str) -> str:
        """An option value: bare text up to a separator, quotes and brackets kept whole."""
        self.accept("")
        start, depth, quote = self.pos, 0, None
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if quote and char == "\\":
                self.pos += 1  # skip the escaped character (a quote or a backslash)
            elif quote:
                quote = None if char == quote else quote
            elif char in "\"'":
                quote = char
            elif char in "([":
                depth += 1
            elif char in ")]" and depth:
                depth -= 1
            elif depth == 0 and (char in (closer, ",") or char.isspace()):
                break
            self.pos += 1
        if start == self.pos:
            raise self.error("expected an option value")
        return self.text[start : self.pos]

    def options(self, closer: str, pass_name: str) -> list[str]:
        """`key=value` pairs (commas or spaces between them) up to `closer`, as xDSL items."""
        items: list[str] = []
        seen: set[str] = set()
        while not self.accept(closer):
            if self.pos >= len(self.text):
                raise self.error(f"missing '{closer}'")
            self.accept("")
            start = self.pos
            key = self.name("an option name")
            if not self.accept("="):
                raise self.error(f"expected '=' after option '{key}'")
            if key.replace("-", "_") in seen:
                raise self.error(f"pass '{pass_name}': option '{key}' is given twice", start)
            seen.add(key.replace("-", "_"))
            value = xdsl_value(self.value(closer))
            items.append(key if value is None else f"{key}={value}")
            if self.accept(",") and (self.at_end_or(closer) or self.text[self.pos] == ","):
                raise self.error("expected an option name after ','")
            if self.pos >= len(self.text):
                raise self.error(f"missing '{closer}'")
        return items

    def pass_list(self, closer: str | None) -> list[str]:
        """Comma-separated passes up to `closer` (or the end), anchors flattened."""
        specs: list[str] = []
        while not self.at_end_or(closer):
            pass_name = self.name("a pass name")
            if pass_name in ANCHORS and self.accept("("):
                specs.extend(self.pass_list(")"))
            else:
                items = []
                for opener, option_closer in (("<", ">"), ("{", "}")):
                    if self.accept(opener):
                        items = self.options(option_closer, pass_name)
                        break
                name = self.resolve(pass_name)
                specs.append(f"{name}{{{' '.join(items)}}}" if items else name)
            if self.accept(","):
                if self.at_end_or(closer):
                    raise self.error("expected a pass name after ','")
            elif closer is not None and not self.at_end_or(closer):
                raise self.error(f"expected ',' or '{closer}'")
            elif closer is None and not self.at_end_or(None):
                raise self.error("expected ',' between passes")
            else:
                break
        if closer is not None and not self.accept(closer):
            raise self.error(f"expected ',' or '{closer}'")
        return specs


def xdsl_value(raw: str) -> str | None:
    """xDSL's spelling of one value: quoted text (the pass converts it), None for `none`."""
    if raw.lower() in NONE_WORDS:
        return None
    text = raw
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
        text = re.sub(r"\\([\\" + raw[0] + "])", r"\1", raw[1:-1])
    if re.search(r"[\r\f\v]", text):
        raise PipelineError(f"option values cannot hold \\r, \\f or \\v characters: {raw!r}")
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def to_xdsl_spec(text: str, resolve: Callable[[str], str]) -> str:
    """The xDSL pass-pipeline spec equivalent to our pipeline `text` (see `Translator`)."""
    return ",".join(Translator(text, resolve).pass_list(None))
