"""Types and attributes of the `coreai` dialect.

- `!coreai.handle<tensor<...>>`: a mutable state buffer (KV caches) passed to a graph;
- `!coreai.token`: orders reads and writes of handles;
- `!coreai.sparse<tensor<...>>`: a bitmask-sparse weight (our spelling, see docs/dialect.md);
- `#coreai.<mnemonic><...>`: every Core AI attribute (`#coreai.interpolation_mode<linear>`,
  `#coreai.composite_declaration<...>`, and the inline enums `mode = <constant>`), kept as its
  mnemonic and its body text, so any attribute Apple adds round trips unchanged.
- any other `!coreai.<name><...>` type is kept the same way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

from xdsl.dialects.builtin import StringAttr, TensorType
from xdsl.ir import Attribute, ParametrizedAttribute, TypeAttribute
from xdsl.irdl import irdl_attr_definition
from xdsl.parser import AttrParser
from xdsl.printer import Printer
from xdsl.utils.mlir_lexer import MLIRTokenKind

# --------------------------------------------------------------------------- types


@irdl_attr_definition
class HandleType(ParametrizedAttribute, TypeAttribute):
    """`!coreai.handle<T>`: a state buffer of type T that ops read and write through tokens.

    Apple's printer writes it stripped, `<T>`, inside the type lists of handle ops.
    """

    name = "coreai.handle"

    value_type: Attribute

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        with parser.in_angle_brackets():
            return (parser.parse_type(),)

    def print_parameters(self, printer: Printer) -> None:
        with printer.in_angle_brackets():
            printer.print_attribute(self.value_type)


@irdl_attr_definition
class TokenType(ParametrizedAttribute, TypeAttribute):
    """`!coreai.token`: sequences handle reads and writes (no value)."""

    name = "coreai.token"


@irdl_attr_definition
class SparseTensorType(ParametrizedAttribute, TypeAttribute):
    """`!coreai.sparse<tensor<...>>`: a bitmask-sparse value of the given dense type.

    Core AI's printed name of this type is unknown; this spelling is our choice
    (docs/dialect.md).
    """

    name = "coreai.sparse"

    dense_type: TensorType

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        with parser.in_angle_brackets():
            dense_type = parser.parse_type()
        if not isinstance(dense_type, TensorType):
            parser.raise_error(f"expected a tensor type in !coreai.sparse, got {dense_type}")
        return (dense_type,)

    def print_parameters(self, printer: Printer) -> None:
        with printer.in_angle_brackets():
            printer.print_attribute(self.dense_type)


# --------------------------------------------------------------------------- opaque bodies

SPACE_AFTER_OPENER = re.compile(r"([<(\[{])\s+")
SPACE_BEFORE_CLOSER = re.compile(r"\s+([>)\]}])")
STRING_OR_SPACE = re.compile(r'"(?:[^"\\]|\\.)*"|\s+')


def normalize_body(text: str) -> str:
    """One-line form of an attribute body: whitespace runs collapsed, none inside brackets.

    `<"rms_norm" = {\\n  input_names = [...]}>` written over several lines prints like
    the one-line text Apple's printer writes. String literals are kept verbatim.
    """
    pieces: list[str] = []
    last = 0
    for match in STRING_OR_SPACE.finditer(text):
        if match.group().startswith('"'):
            continue
        pieces.append(text[last : match.start()])
        pieces.append(" ")
        last = match.end()
    pieces.append(text[last:])
    collapsed = "".join(pieces).strip()
    return protect_strings(collapsed)


def protect_strings(text: str) -> str:
    """Drop spaces after openers and before closers, outside string literals."""
    parts = re.split(r'("(?:[^"\\]|\\.)*")', text)
    for index in range(0, len(parts), 2):
        part = SPACE_AFTER_OPENER.sub(r"\1", parts[index])
        parts[index] = SPACE_BEFORE_CLOSER.sub(r"\1", part)
    return "".join(parts)


def parse_opaque_body(parser: AttrParser) -> str:
    """The raw text of a `<...>` body (balanced brackets, strings respected), normalized."""
    if parser._current_token.kind != MLIRTokenKind.LESS:
        return ""
    start = parser._current_token.span.end
    end = parser._raw_scan_balanced(start)
    body = parser.lexer.input.content[start:end]
    parser.lexer.pos = end
    parser._parser_state.current_token = parser.lexer.lex()
    parser.parse_punctuation(">")
    return normalize_body(body)


class CoreAIAttr(ParametrizedAttribute):
    """`#coreai.<mnemonic><body>`: a Core AI attribute kept as its mnemonic and body text.

    Enum attributes (`#coreai.interpolation_mode<linear>`) have a bare word as body; an
    inline enum `mode = <constant>` is the attribute `#coreai.mode<constant>` printed
    stripped of its prefix (Apple's dialect-internal mnemonic is not printed, so we use the
    attribute's name).
    """

    name = "coreai.attr"

    body: StringAttr

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        return (StringAttr(parse_opaque_body(parser)),)

    def print_parameters(self, printer: Printer) -> None:
        if self.body.data:
            printer.print_string(f"<{self.body.data}>")

    @property
    def mnemonic(self) -> str:
        """The name after `#coreai.` (`interpolation_mode`)."""
        return self.name.removeprefix("coreai.")

    @property
    def value(self) -> str:
        """The body text (`linear` for `#coreai.interpolation_mode<linear>`)."""
        return self.body.data


class OpaqueCoreAIType(ParametrizedAttribute, TypeAttribute):
    """Any `!coreai.<name><...>` type we do not model, kept as its body text."""

    name = "coreai.type"

    body: StringAttr

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        return (StringAttr(parse_opaque_body(parser)),)

    def print_parameters(self, printer: Printer) -> None:
        if self.body.data:
            printer.print_string(f"<{self.body.data}>")


PARAMETER_FIELDS = {"__doc__": None, "__annotations__": {"body": StringAttr}}
"""Redeclares the body parameter on each per-mnemonic class: xDSL compares and hashes
attributes by the fields the class itself declares, and without it every
`#coreai.composite_declaration<...>` would equal every other (bytecode would then keep one)."""


@cache
def attribute_class(mnemonic: str) -> type[CoreAIAttr]:
    """The attribute class printed `#coreai.<mnemonic>`, created once per mnemonic."""
    class_name = "".join(part.title() for part in re.split(r"[._]", mnemonic)) + "Attr"
    return irdl_attr_definition(
        type(class_name, (CoreAIAttr,), {"name": f"coreai.{mnemonic}", **PARAMETER_FIELDS})
    )


@cache
def type_class(mnemonic: str) -> type[OpaqueCoreAIType]:
    """The type class printed `!coreai.<mnemonic>`, created once per mnemonic."""
    class_name = "".join(part.title() for part in re.split(r"[._]", mnemonic)) + "Type"
    return irdl_attr_definition(
        type(class_name, (OpaqueCoreAIType,), {"name": f"coreai.{mnemonic}", **PARAMETER_FIELDS})
    )


def coreai_attr(mnemonic: str, body: str) -> CoreAIAttr:
    """`#coreai.<mnemonic><body>`."""
    return attribute_class(mnemonic)(StringAttr(body))


def enum_value(op_or_attrs, name: str) -> str | None:
    """The value of an enum attribute of an op (`mode = <constant>` → "constant").

    Accepts an operation or an attribute dictionary; `#coreai.x<v>` attributes give `v`,
    string attributes their text; None when absent.
    """
    attributes = getattr(op_or_attrs, "attributes", op_or_attrs)
    attr = attributes.get(name)
    if isinstance(attr, CoreAIAttr):
        return attr.value
    if isinstance(attr, StringAttr):
        return attr.data
    return None
