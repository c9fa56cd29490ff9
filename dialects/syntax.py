"""Core AI's op syntaxes: one grammar for every form Apple's printer uses.

An op is written `coreai.<name>` followed by

    items*  (`:` signature)?  trailing*

- items: operands (`%x`, `%r#1`), commas, parenthesised operand groups (`at (%b, %e)`),
  keywords (`at`, `along`, `with`, `else`, `do`), inline attributes (`mode = <constant>`,
  the value printed without its `#coreai.mode` prefix), an attribute dictionary `{...}`,
  regions `{ ... }`, and MLIR's assignment lists `(%arg = %init, ...)` naming the entry
  block arguments of the first region;
- signature: `(T, U) -> R`, `(T, U) to R`, `T -> R`, `T to R`, results in parentheses
  `-> (R, S)`, or a bare list (`: T, U` for the operands of an op without results, `: R`
  for the results of an op without operands, `: T` when every operand and result has type
  T). A handle type may be written stripped, `<tensor<...>>`, as Apple's printer does.
- trailing: regions, and keywords between them (`} do {`), after the signature.

`OpSyntax` records which form an op was read in, so it prints back the same way; the
same description declares the formats of the ops we model and the forms Apple's printer
uses for ops that were never read as text (from bytecode, or built by a pass).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum

from coreai_opt.dialects.types import CoreAIAttr, HandleType, coreai_attr
from xdsl.dialects.builtin import DictionaryAttr
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.parser import Parser, UnresolvedOperand
from xdsl.printer import Printer
from xdsl.utils.mlir_lexer import MLIRTokenKind

OPERAND = "%"
COMMA = ","
OPEN = "("
OPEN_TIGHT = "(^"
"""A group opened right after the op name, with no space: `coreai.condition(%c) ...`."""
CLOSE = ")"
ATTR_DICT = "{}"
REGION = "{region}"
ASSIGN = "assign"
KEYWORD = "kw:"
INLINE = "attr:"
"""`name = <value>`: an inline attribute printed stripped of its `#coreai.name` prefix."""


class Signature(Enum):
    """How the types follow the `:`."""

    FUNCTIONAL = "(T) -> R"
    FUNCTIONAL_TO = "(T) to R"
    BARE_ARROW = "T -> R"
    BARE_TO = "T to R"
    RESULTS = "R"
    OPERANDS = "T"
    SAME = "T*"
    NONE = ""


@dataclass(frozen=True)
class OpSyntax:
    """One textual form of an op (see the module docstring)."""

    layout: tuple[str, ...] = (OPERAND,)
    signature: Signature = Signature.FUNCTIONAL
    trailing: tuple[str, ...] = ()
    paren_result: bool = False
    """A single result printed `-> (R)`."""
    stripped_operands: frozenset[int] = frozenset()
    stripped_results: frozenset[int] = frozenset()
    separate_results: bool = False
    """Results printed `%a, %b = ` rather than MLIR's default `%r:2 = `."""

    @classmethod
    def spec(cls, text: str, **flags) -> OpSyntax:
        """An OpSyntax from its compact notation, e.g. `"% at % : (T) to R"`.

        Layout tokens: `%`, `,`, `(`, `)`, words (keywords), `name=<>` (inline attribute),
        `{}` (attribute dictionary), `{region}`, `assign`; after ` : `, one of the
        `Signature` values, then `| trailing tokens` for what follows the signature.
        """
        head, _, tail = text.partition(" : ")
        signature_text, _, trailing_text = tail.partition(" | ")
        return cls(
            layout=tuple(spec_tokens(head)),
            signature=Signature(signature_text.strip()),
            trailing=tuple(spec_tokens(trailing_text)),
            **flags,
        )

    def describe(self) -> str:
        """The compact notation of this form (inverse of `spec`)."""
        head = " ".join(token_text(token) for token in self.layout)
        text = f"{head} : {self.signature.value}".strip()
        if self.trailing:
            text += " | " + " ".join(token_text(token) for token in self.trailing)
        return text

    @property
    def region_count(self) -> int:
        """Regions the form prints."""
        return (self.layout + self.trailing).count(REGION)


SPEC_TOKEN = re.compile(r"\{region\}|\{\}|\(\^|\w+=<>|[%,()]|\w+")


def spec_tokens(text: str) -> Iterator[str]:
    """Tokens of the compact notation."""
    for token in SPEC_TOKEN.findall(text):
        if token.endswith("=<>"):
            yield INLINE + token[:-3]
        elif token == ASSIGN:
            yield ASSIGN
        elif re.fullmatch(r"\w+", token):
            yield KEYWORD + token
        else:
            yield token


def token_text(token: str) -> str:
    """A layout token in the compact notation."""
    if token.startswith(KEYWORD):
        return token[len(KEYWORD) :]
    if token.startswith(INLINE):
        return token[len(INLINE) :] + "=<>"
    return token


DEFAULT_SYNTAX = OpSyntax(layout=(OPERAND,), signature=Signature.FUNCTIONAL)
"""MLIR's functional form, `%a, %b {attrs} : (T, U) -> R`, for ops of unknown form."""


# --------------------------------------------------------------------------- parsing


@dataclass
class ParsedForm:
    """What the grammar read, before the op is built."""

    layout: list[str] = field(default_factory=list)
    trailing: list[str] = field(default_factory=list)
    operands: list[UnresolvedOperand] = field(default_factory=list)
    attributes: dict[str, Attribute] = field(default_factory=dict)
    regions: list[Region] = field(default_factory=list)
    assigned: list[Parser.UnresolvedArgument] = field(default_factory=list)
    assigned_start: int = 0
    """Index of the first operand initialising an assigned block argument."""
    operand_types: list[Attribute] = field(default_factory=list)
    result_types: list[Attribute] = field(default_factory=list)
    signature: Signature = Signature.NONE
    paren_result: bool = False
    stripped_operands: set[int] = field(default_factory=set)
    stripped_results: set[int] = field(default_factory=set)


def token_kind(parser: Parser) -> MLIRTokenKind:
    """Kind of the current token."""
    return parser._current_token.kind


def current_text(parser: Parser) -> str:
    """Text of the current token."""
    return parser._current_token.text


def peek_kinds(parser: Parser, count: int) -> list[tuple[MLIRTokenKind, str]]:
    """The kinds and texts of the next `count` tokens, without consuming them."""
    start = parser._current_token.span.start
    seen: list[tuple[MLIRTokenKind, str]] = []
    try:
        for _ in range(count):
            token = parser._current_token
            seen.append((token.kind, token.text))
            if token.kind == MLIRTokenKind.EOF:
                break
            parser._consume_token()
    finally:
        parser._resume_from(start)
    return seen


def is_keyword_token(kind: MLIRTokenKind, text: str) -> bool:
    """A bare word without dots (dotted words are op names)."""
    return kind == MLIRTokenKind.BARE_IDENT and "." not in text


RESULT_LIST_AHEAD = re.compile(r"%[\w$.\-]+(?::[0-9]+)?(?:\s*,\s*%[\w$.\-]+(?::[0-9]+)?)*\s*=(?!=)")


def starts_result_list(parser: Parser) -> bool:
    """`%a (, %b)* =` or `%a:N ... =`: the results of the next op, not operands."""
    content = parser.lexer.input.content
    return RESULT_LIST_AHEAD.match(content, parser._current_token.span.start) is not None


def brace_opens_attr_dict(parser: Parser) -> bool:
    """`{` starts an attribute dictionary (`{name = ...}`) rather than a region."""
    tokens = peek_kinds(parser, 3)
    if len(tokens) < 2:
        return True
    kind, text = tokens[1]
    if kind == MLIRTokenKind.R_BRACE:
        return True
    if kind not in (MLIRTokenKind.BARE_IDENT, MLIRTokenKind.STRING_LIT):
        return False
    follower = tokens[2][0] if len(tokens) > 2 else MLIRTokenKind.EOF
    if follower == MLIRTokenKind.EQUAL:
        return True
    # `{flag}` / `{a, b}` are unit attributes; `{coreai.yield}` is a region holding an op
    dotted = kind == MLIRTokenKind.BARE_IDENT and "." in text
    return follower in (MLIRTokenKind.COMMA, MLIRTokenKind.R_BRACE) and not dotted


def parse_inline_attribute(parser: Parser, name: str) -> Attribute:
    """The value of `name = <value>` (stripped `#coreai.name<value>`) or `name = attr`."""
    if token_kind(parser) == MLIRTokenKind.LESS:
        from coreai_opt.dialects.types import parse_opaque_body

        return coreai_attr(name, parse_opaque_body(parser))
    return parser.parse_attribute()


def parse_assignment_list(parser: Parser, form: ParsedForm) -> None:
    """`(%arg = %init, ...)`: entry block arguments of the first region and their inits."""
    parser.parse_punctuation("(")
    form.assigned_start = len(form.operands)
    while True:
        form.assigned.append(parser.parse_argument(expect_type=False))
        parser.parse_punctuation("=")
        form.operands.append(parser.parse_unresolved_operand())
        if parser.parse_optional_punctuation(",") is None:
            break
    parser.parse_punctuation(")")


def is_assignment_list(parser: Parser) -> bool:
    """`(` `%name` `=`: an assignment list."""
    tokens = peek_kinds(parser, 3)
    return (
        len(tokens) == 3
        and tokens[1][0] == MLIRTokenKind.PERCENT_IDENT
        and (tokens[2][0] == MLIRTokenKind.EQUAL)
    )


def parse_items(parser: Parser, form: ParsedForm, name_end: int) -> None:
    """The items before the `:` (see the module docstring)."""
    depth = 0
    while True:
        kind = token_kind(parser)
        text = current_text(parser)
        if kind == MLIRTokenKind.PERCENT_IDENT:
            expected = bool(form.layout) and form.layout[-1] in (COMMA, OPEN, OPEN_TIGHT)
            if not expected and starts_result_list(parser):
                break
            form.operands.append(parser.parse_unresolved_operand())
            form.layout.append(OPERAND)
        elif kind == MLIRTokenKind.COMMA:
            parser._consume_token()
            form.layout.append(COMMA)
        elif kind == MLIRTokenKind.L_PAREN:
            if is_assignment_list(parser):
                parse_assignment_list(parser, form)
                form.layout.append(ASSIGN)
                continue
            following = peek_kinds(parser, 2)
            if len(following) < 2 or following[1][0] not in (
                MLIRTokenKind.PERCENT_IDENT,
                MLIRTokenKind.R_PAREN,
            ):
                break  # not an operand group: the caller reports what is missing
            tight = parser._current_token.span.start == name_end
            parser._consume_token()
            form.layout.append(OPEN_TIGHT if tight else OPEN)
            depth += 1
        elif kind == MLIRTokenKind.R_PAREN and depth:
            parser._consume_token()
            form.layout.append(CLOSE)
            depth -= 1
        elif is_keyword_token(kind, text):
            following = peek_kinds(parser, 2)
            next_kind = following[1][0] if len(following) > 1 else MLIRTokenKind.EOF
            if text == "loc" and next_kind == MLIRTokenKind.L_PAREN:
                break
            parser._consume_token()
            if next_kind == MLIRTokenKind.EQUAL:
                parser._consume_token()
                if text in form.attributes:
                    parser.raise_error(f"attribute '{text}' is given twice")
                form.attributes[text] = parse_inline_attribute(parser, text)
                form.layout.append(INLINE + text)
            else:
                form.layout.append(KEYWORD + text)
        elif kind == MLIRTokenKind.L_BRACE:
            if brace_opens_attr_dict(parser) and not after_keyword(form.layout):
                parse_attr_dict(parser, form)
                form.layout.append(ATTR_DICT)
            else:
                form.regions.append(parser.parse_region())
                form.layout.append(REGION)
        else:
            break
    if depth:
        parser.raise_error("expected ')' to close the operand group")


def after_keyword(layout: Sequence[str]) -> bool:
    """A `{` right after a keyword (`else {`, `do {`) opens a region."""
    return bool(layout) and layout[-1].startswith(KEYWORD)


def parse_attr_dict(parser: Parser, form: ParsedForm) -> None:
    """`{name = value, ...}`, rejecting a name already given inline."""
    for key, value in parser.parse_optional_attr_dict().items():
        if key in form.attributes:
            parser.raise_error(f"attribute '{key}' is given twice")
        form.attributes[key] = value


def parse_signature_type(parser: Parser, stripped: set[int], index: int) -> Attribute:
    """A type, or a stripped handle type `<T>` (recorded in `stripped`)."""
    if token_kind(parser) == MLIRTokenKind.LESS:
        parser._consume_token()
        inner = parser.parse_type()
        parser.parse_punctuation(">", " to close the handle type")
        stripped.add(index)
        return HandleType(inner)
    return parser.parse_type()


def parse_type_group(parser: Parser, stripped: set[int]) -> tuple[list[Attribute], bool]:
    """`(T, U)` (possibly empty) or a bare `T` (`, U`)*; the flag tells the parentheses."""
    types: list[Attribute] = []
    if parser.parse_optional_punctuation("(") is not None:
        if parser.parse_optional_punctuation(")") is None:
            while True:
                types.append(parse_signature_type(parser, stripped, len(types)))
                if parser.parse_optional_punctuation(",") is None:
                    break
            parser.parse_punctuation(")", " to close the type list")
        return types, True
    types.append(parse_signature_type(parser, stripped, 0))
    return types, False


def parse_signature(parser: Parser, form: ParsedForm, bound_results: int) -> None:
    """Everything after `:` up to the trailing regions."""
    start = parser.pos
    first, parenthesised = parse_type_group(parser, form.stripped_operands)
    arrow = parser.parse_optional_punctuation("->") is not None
    to = not arrow and parser.parse_optional_keyword("to") is not None
    if arrow or to:
        if not parenthesised and len(first) != 1:
            parser.raise_error("expected one operand type before the arrow")
        form.operand_types = first
        results, form.paren_result = parse_type_group(parser, form.stripped_results)
        form.result_types = results
        if not form.paren_result and len(results) != 1:
            parser.raise_error("expected result types in parentheses")
        if parenthesised:
            form.signature = Signature.FUNCTIONAL if arrow else Signature.FUNCTIONAL_TO
        else:
            form.signature = Signature.BARE_ARROW if arrow else Signature.BARE_TO
        return
    if parenthesised:
        parser.raise_error("expected '->' or 'to' after the operand types")
    while parser.parse_optional_punctuation(",") is not None:
        first.append(parse_signature_type(parser, form.stripped_operands, len(first)))
    if token_kind(parser) == MLIRTokenKind.ARROW or current_text(parser) == "to":
        parser.raise_error("several operand types before the arrow must be in parentheses")
    if not form.operands:
        form.result_types, form.signature = first, Signature.RESULTS
        form.stripped_results, form.stripped_operands = form.stripped_operands, set()
    elif bound_results == 0:
        form.operand_types, form.signature = first, Signature.OPERANDS
    elif len(first) == 1:
        form.operand_types = [first[0]] * len(form.operands)
        form.result_types = [first[0]] * bound_results
        form.signature = Signature.SAME
    else:
        parser.raise_error("expected '->' between the operand and result types", start, parser.pos)


def parse_trailing(parser: Parser, form: ParsedForm) -> None:
    """Regions (and keywords between them) after the signature."""
    while True:
        kind, text = token_kind(parser), current_text(parser)
        if kind == MLIRTokenKind.L_BRACE:
            form.regions.append(parse_region_for(parser, form))
            form.trailing.append(REGION)
        elif is_keyword_token(kind, text) and text != "loc":
            following = peek_kinds(parser, 2)
            if len(following) < 2 or following[1][0] != MLIRTokenKind.L_BRACE:
                return
            parser._consume_token()
            form.trailing.append(KEYWORD + text)
        else:
            return


def parse_region_for(parser: Parser, form: ParsedForm) -> Region:
    """A trailing region; the first one takes the assignment list's arguments."""
    if form.assigned and not form.regions:
        start = form.assigned_start
        types = form.operand_types[start : start + len(form.assigned)]
        arguments = [arg.resolve(type_) for arg, type_ in zip(form.assigned, types, strict=True)]
        return parser.parse_region(arguments)
    return parser.parse_region()


def parse_form(parser: Parser, bound_results: int, name_end: int) -> ParsedForm:
    """Read an op in any Core AI form; operands stay unresolved."""
    form = ParsedForm()
    parse_items(parser, form, name_end)
    if parser.parse_optional_punctuation(":") is not None:
        type_pos = parser.pos
        parse_signature(parser, form, bound_results)
        if form.signature != Signature.RESULTS and len(form.operand_types) != len(form.operands):
            parser.raise_error(
                f"expected {len(form.operands)} operand types, got {len(form.operand_types)}",
                type_pos,
                parser.pos,
            )
    elif form.operands or token_kind(parser) == MLIRTokenKind.L_PAREN:
        parser.raise_error("expected ':' before the types")
    if form.assigned and REGION in form.layout:
        parser.raise_error("a region after an assignment list must follow the signature")
    parse_trailing(parser, form)
    if form.assigned and not form.trailing:
        parser.raise_error("an assignment list needs a region after the signature")
    return form


def resolve(parser: Parser, form: ParsedForm) -> list[SSAValue]:
    """The operand values, typed by the signature."""
    return [
        parser.resolve_operand(operand, type_)
        for operand, type_ in zip(form.operands, form.operand_types, strict=True)
    ]


def syntax_of(form: ParsedForm, separate_results: bool) -> OpSyntax:
    """The OpSyntax recording how `form` was written."""
    return OpSyntax(
        layout=tuple(form.layout),
        signature=form.signature,
        trailing=tuple(form.trailing),
        paren_result=form.paren_result,
        stripped_operands=frozenset(form.stripped_operands),
        stripped_results=frozenset(form.stripped_results),
        separate_results=separate_results,
    )


# --------------------------------------------------------------------------- printing


def fit_layout(layout: Sequence[str], operand_count: int) -> list[str] | None:
    """The layout stretched to `operand_count` operands, or None if it cannot fit.

    A layout with one comma-separated run of operands (`%, %, %`) stretches or shrinks
    that run; any other layout must have exactly as many operands as the op.
    """
    have = layout.count(OPERAND)
    if have == operand_count:
        return list(layout)
    runs = operand_runs(layout)
    if len(runs) != 1:
        return None
    start, end = runs[0]
    wanted = operand_count - (have - ((end - start) // 2 + 1))
    if wanted < 0:
        return None
    run: list[str] = []
    for index in range(wanted):
        if index:
            run.append(COMMA)
        run.append(OPERAND)
    return list(layout[:start]) + run + list(layout[end + 1 :])


def operand_runs(layout: Sequence[str]) -> list[tuple[int, int]]:
    """(first, last) indices of each maximal `%` (`,` `%`)* run."""
    runs: list[tuple[int, int]] = []
    index = 0
    while index < len(layout):
        if layout[index] != OPERAND:
            index += 1
            continue
        start = index
        while (
            index + 2 < len(layout)
            and layout[index + 1] == COMMA
            and (layout[index + 2] == OPERAND)
        ):
            index += 2
        runs.append((start, index))
        index += 1
    return runs


def signature_fits(syntax: OpSyntax, op: Operation) -> bool:
    """Whether the op's types can be written in the form's signature."""
    operands, results = len(op.operands), len(op.results)
    match syntax.signature:
        case Signature.BARE_ARROW | Signature.BARE_TO:
            return operands == 1  # several results print parenthesised: `T -> (U, V)`
        case Signature.RESULTS:
            return operands == 0 and results > 0
        case Signature.OPERANDS:
            return results == 0 and operands > 0
        case Signature.SAME:
            types = {*op.operand_types, *op.result_types}
            return operands > 0 and results > 0 and len(types) == 1
        case Signature.NONE:
            return operands == 0 and results == 0
    return True


def fits(syntax: OpSyntax, op: Operation) -> bool:
    """Whether `op` can be printed in `syntax` (operand, region and type counts agree)."""
    if ASSIGN in syntax.layout:
        return False  # assignment lists are printed only for the op that was read with one
    if fit_layout(syntax.layout, len(op.operands)) is None:
        return False
    return syntax.region_count == len(op.regions) and signature_fits(syntax, op)


def fits_assigned(syntax: OpSyntax, op: Operation) -> bool:
    """The same check for a form with an assignment list (its operands are the inits)."""
    plain = syntax.layout.count(OPERAND)
    regions = [r for r in op.regions]
    if syntax.region_count != len(regions) or not regions or not regions[0].blocks:
        return False
    assigned = len(regions[0].blocks.first.args)
    return plain + assigned == len(op.operands) and signature_fits(syntax, op)


@dataclass
class FormPrinter:
    """Prints one op in a given form (everything after the op name)."""

    printer: Printer
    op: Operation
    syntax: OpSyntax
    printed_attributes: set[str] = field(default_factory=set)

    def print(self) -> None:
        """The whole form."""
        if ASSIGN in self.syntax.layout:
            layout = list(self.syntax.layout)
        else:
            layout = fit_layout(self.syntax.layout, len(self.op.operands)) or []
        operands = iter(self.op.operands)
        regions = iter(self.op.regions)
        self.print_items(layout, operands, regions)
        if ATTR_DICT not in layout:
            self.print_remaining_attributes()
        self.print_signature()
        self.print_items(self.syntax.trailing, operands, regions)

    def print_items(self, items: Sequence[str], operands: Iterator, regions: Iterator) -> None:
        """Layout or trailing items, substituting operands and regions in order."""
        previous = ""
        for item in items:
            p = self.printer
            if item == OPERAND:
                p.print_string("" if previous in (OPEN, OPEN_TIGHT) else " ")
                p.print_operand(next(operands))
            elif item == COMMA:
                p.print_string(",")
            elif item == OPEN:
                p.print_string(" (")
            elif item == OPEN_TIGHT:
                p.print_string("(")
            elif item == CLOSE:
                p.print_string(")")
            elif item == ATTR_DICT:
                self.print_remaining_attributes()
            elif item == REGION:
                p.print_string(" ")
                region = next(regions)
                skip_args = ASSIGN in self.syntax.layout and region is self.op.regions[0]
                p.print_region(region, print_entry_block_args=not skip_args)
            elif item == ASSIGN:
                self.print_assignments(operands)
            elif item.startswith(KEYWORD):
                p.print_string(" " + item[len(KEYWORD) :])
            elif item.startswith(INLINE):
                self.print_inline(item[len(INLINE) :])
            previous = item

    def print_inline(self, name: str) -> None:
        """`name = <value>` when the op holds that attribute as `#coreai.name<value>`."""
        attr = self.op.attributes.get(name)
        if attr is None:
            return
        self.printed_attributes.add(name)
        self.printer.print_string(f" {name} = ")
        if isinstance(attr, CoreAIAttr) and attr.mnemonic == name:
            self.printer.print_string(f"<{attr.value}>")
        else:
            self.printer.print_attribute(attr)

    def print_assignments(self, operands: Iterator) -> None:
        """`(%arg = %init, ...)` from the first region's entry block arguments."""
        block: Block = self.op.regions[0].blocks.first
        self.printer.print_string(" (")
        for index, arg in enumerate(block.args):
            if index:
                self.printer.print_string(", ")
            self.printer.print_ssa_value(arg)
            self.printer.print_string(" = ")
            self.printer.print_operand(next(operands))
        self.printer.print_string(")")

    def print_remaining_attributes(self) -> None:
        """Attributes not printed inline, as `{...}` (sorted, as MLIR does)."""
        rest = {
            name: value
            for name, value in self.op.attributes.items()
            if name not in self.printed_attributes
        }
        if rest:
            self.printer.print_string(" ")
            self.printer.print_attribute(DictionaryAttr(dict(sorted(rest.items()))))
            self.printed_attributes.update(rest)

    def print_signature(self) -> None:
        """`: ...` in the form's signature style."""
        p, syntax, op = self.printer, self.syntax, self.op
        operand_types, result_types = list(op.operand_types), list(op.result_types)
        match syntax.signature:
            case Signature.NONE:
                return
            case Signature.RESULTS:
                p.print_string(" : ")
                self.print_types(result_types, syntax.stripped_results)
                return
            case Signature.OPERANDS:
                p.print_string(" : ")
                self.print_types(operand_types, syntax.stripped_operands)
                return
            case Signature.SAME:
                p.print_string(" : ")
                p.print_attribute(operand_types[0])
                return
        p.print_string(" : ")
        bare = syntax.signature in (Signature.BARE_ARROW, Signature.BARE_TO)
        if not bare:
            p.print_string("(")
        self.print_types(operand_types, syntax.stripped_operands)
        if not bare:
            p.print_string(")")
        to = syntax.signature in (Signature.FUNCTIONAL_TO, Signature.BARE_TO)
        p.print_string(" to " if to else " -> ")
        paren = len(result_types) != 1 or syntax.paren_result
        if paren:
            p.print_string("(")
        self.print_types(result_types, syntax.stripped_results)
        if paren:
            p.print_string(")")

    def print_types(self, types: Sequence[Attribute], stripped: frozenset[int]) -> None:
        """A comma-separated type list, handles stripped where the form strips them."""
        for index, type_ in enumerate(types):
            if index:
                self.printer.print_string(", ")
            if index in stripped and isinstance(type_, HandleType):
                self.printer.print_string("<")
                self.printer.print_attribute(type_.value_type)
                self.printer.print_string(">")
            else:
                self.printer.print_attribute(type_)


def print_in_form(printer: Printer, op: Operation, syntax: OpSyntax) -> None:
    """Print `op` (after its name) in `syntax`; the caller checked that it fits."""
    FormPrinter(printer, op, syntax).print()


def can_print(syntax: OpSyntax, op: Operation) -> bool:
    """Whether `op` fits `syntax` (assignment-list forms included)."""
    if ASSIGN in syntax.layout:
        return fits_assigned(syntax, op)
    return fits(syntax, op)
