"""`coreai.graph`'s syntax, as Apple's printer writes it:

    coreai.graph [private|public|nested] [noinline] @name(
        %arg0: T {arg attrs} [loc(...)], ...) [-> R | -> (R {res attrs}, ...)]
        [attributes {composite_decl = ..., template_op = "..."}] { body }

The signature may span several lines. Whether a single result was parenthesised is
remembered, so a graph prints back as it was read (Apple writes `-> (R {coreai.name = ...})`
for public graphs and `-> R` for composite implementations).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from coreai_opt.dialects.asm import asm_info, update_asm
from coreai_opt.dialects.locations import parse_optional_location
from xdsl.dialects.builtin import (
    ArrayAttr,
    DictionaryAttr,
    FunctionType,
    StringAttr,
    UnitAttr,
)
from xdsl.dialects.utils.format import print_func_argument
from xdsl.ir import Attribute, Region
from xdsl.parser import Parser
from xdsl.printer import Printer

if TYPE_CHECKING:
    from coreai_opt.dialects.coreai import GraphOp


def parse_argument(parser: Parser) -> tuple[Parser.Argument, dict[str, Attribute]]:
    """`%arg: T {attrs} loc(...)`."""
    argument = parser.parse_argument()
    attributes = parser.parse_optional_dictionary_attr_dict()
    location = parse_optional_location(parser)
    if location is not None:
        argument.location = location
    return argument, attributes


def parse_result(parser: Parser) -> tuple[Attribute, dict[str, Attribute]]:
    """`R {attrs}`."""
    return parser.parse_type(), parser.parse_optional_dictionary_attr_dict()


def parse_results(parser: Parser) -> tuple[list[tuple[Attribute, dict]], bool]:
    """`-> R` or `-> (R {attrs}, ...)`; the flag tells whether parentheses were used."""
    if parser.parse_optional_punctuation("->") is None:
        return [], False
    if parser.parse_optional_punctuation("(") is None:
        return [(parser.parse_type(), {})], False
    results: list[tuple[Attribute, dict]] = []
    if parser.parse_optional_punctuation(")") is None:
        results.append(parse_result(parser))
        while parser.parse_optional_punctuation(",") is not None:
            results.append(parse_result(parser))
        parser.parse_punctuation(")", " to close the graph's results")
    return results, True


def dictionaries(entries: list[dict[str, Attribute]]) -> ArrayAttr[DictionaryAttr] | None:
    """Per-argument attribute dictionaries, or None when all are empty."""
    if not any(entries):
        return None
    return ArrayAttr(DictionaryAttr(entry) for entry in entries)


def parse_graph(cls: type[GraphOp], parser: Parser) -> GraphOp:
    """The whole `coreai.graph` op (after its name)."""
    visibility = parser.parse_optional_keyword_in(("private", "public", "nested"))
    noinline = parser.parse_optional_keyword("noinline") is not None
    name = parser.parse_symbol_name()
    arguments = parser.parse_comma_separated_list(
        parser.Delimiter.PAREN, lambda: parse_argument(parser)
    )
    results, parenthesised = parse_results(parser)
    extra = parser.parse_optional_attr_dict_with_keyword(cls.RESERVED)
    region = parser.parse_optional_region([argument for argument, _ in arguments])
    properties: dict[str, Attribute] = {
        "sym_name": name,
        "function_type": FunctionType.from_lists(
            [argument.type for argument, _ in arguments], [type_ for type_, _ in results]
        ),
    }
    if visibility is not None:
        properties["sym_visibility"] = StringAttr(visibility)
    if noinline:
        properties["noinline"] = UnitAttr()
    if (arg_attrs := dictionaries([attrs for _, attrs in arguments])) is not None:
        properties["arg_attrs"] = arg_attrs
    if (res_attrs := dictionaries([attrs for _, attrs in results])) is not None:
        properties["res_attrs"] = res_attrs
    op = cls.create(
        properties=properties,
        attributes=dict(extra.data) if extra is not None else {},
        regions=[region if region is not None else Region()],
    )
    update_asm(op, paren_results=parenthesised)
    return op


def sorted_dictionary(attributes: dict[str, Attribute]) -> DictionaryAttr:
    """MLIR keeps dictionary entries sorted by name; so does our printing."""
    return DictionaryAttr(dict(sorted(attributes.items())))


def print_graph(op: GraphOp, printer: Printer) -> None:
    """The whole `coreai.graph` op (after its name)."""
    if op.sym_visibility is not None:
        printer.print_string(f" {op.sym_visibility.data}")
    if op.noinline is not None:
        printer.print_string(" noinline")
    printer.print_string(" ")
    printer.print_symbol_name(op.sym_name.data)
    printer.print_string("(")
    block = op.body.blocks.first
    arg_attrs = list(op.arg_attrs.data) if op.arg_attrs is not None else []
    if block is not None:
        for index, argument in enumerate(block.args):
            if index:
                printer.print_string(", ")
            attrs = arg_attrs[index] if index < len(arg_attrs) else None
            print_func_argument(printer, argument, sorted_dictionary(attrs.data) if attrs else None)
    printer.print_string(")")
    print_results(op, printer)
    if op.attributes:
        printer.print_string(" attributes ")
        printer.print_attribute(sorted_dictionary(dict(op.attributes)))
    if block is not None:
        printer.print_string(" ")
        printer.print_region(op.body, print_entry_block_args=False, print_empty_block=False)


def print_results(op: GraphOp, printer: Printer) -> None:
    """`-> R` or `-> (R {attrs}, ...)` (parenthesised as read; MLIR's rule otherwise)."""
    outputs = op.function_type.outputs.data
    if not outputs:
        return
    res_attrs = list(op.res_attrs.data) if op.res_attrs is not None else []
    info = asm_info(op)
    recorded = info.paren_results if info is not None else None
    has_attrs = any(entry.data for entry in res_attrs)
    paren = len(outputs) != 1 or has_attrs or bool(recorded)
    printer.print_string(" -> ")
    if paren:
        printer.print_string("(")
    for index, type_ in enumerate(outputs):
        if index:
            printer.print_string(", ")
        printer.print_attribute(type_)
        attrs = res_attrs[index] if index < len(res_attrs) else None
        if attrs is not None and attrs.data:
            printer.print_string(" ")
            printer.print_attribute(sorted_dictionary(attrs.data))
    if paren:
        printer.print_string(")")
