"""The `coreai` dialect: the Core AI ops that weight compression reads and writes.

Every op reads and writes Core AI's own syntax (dialects/syntax.py): the ops modelled here
declare the form Apple's printer uses (`coreai.cast %x : T to T`,
`coreai.gather_nd %x at %i : (T, U) to R`, the functional form for the rest); every other
`coreai.*` op (real programs have hundreds) parses into an `UnknownCoreAIOp` subclass that
records the form it was read in and prints back the same way; see `unknown_op_class`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import ClassVar

from coreai_opt.dialects.asm import (
    bound_result_count,
    name_end_position,
    record_syntax,
    recorded_syntax,
)
from coreai_opt.dialects.locations import op_start, take_trailing_location
from coreai_opt.dialects.names import learn_coreai_names
from coreai_opt.dialects.resources import BlobAttr, DenseResourceElementsAttr
from coreai_opt.dialects.syntax import (
    DEFAULT_SYNTAX,
    OpSyntax,
    can_print,
    parse_form,
    print_in_form,
    resolve,
)
from coreai_opt.dialects.text_state import coreai_opt_parser
from coreai_opt.dialects.types import (
    CoreAIAttr,
    HandleType,
    OpaqueCoreAIType,
    SparseTensorType,
    TokenType,
    enum_value,
)
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    ArrayAttr,
    DenseIntOrFPElementsAttr,
    DenseResourceAttr,
    DictionaryAttr,
    FunctionType,
    IntegerType,
    Signedness,
    StringAttr,
    SymbolNameConstraint,
    SymbolRefAttr,
    TensorType,
    UnitAttr,
)
from xdsl.ir import Attribute, Dialect, Operation, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    prop_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
    var_result_def,
)
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.traits import (
    ConstantLike,
    HasParent,
    IsolatedFromAbove,
    IsTerminator,
    Pure,
    SymbolOpInterface,
)
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.mlir_lexer import MLIRTokenKind

from coreai_opt.ir.dtypes import bit_width, is_float_type, storage_nbytes

DYNAMIC = DYNAMIC_INDEX

# --------------------------------------------------------------------------- helpers


def tensor_type_of(value: SSAValue, what: str) -> TensorType:
    """The value's ranked tensor type, or a verifier error naming the operand."""
    if not isinstance(value.type, TensorType):
        raise VerifyException(f"{what} must be a ranked tensor, got {value.type}")
    return value.type


def dims_compatible(a: int, b: int) -> bool:
    """Static dims must agree; a dynamic dim agrees with anything."""
    return DYNAMIC in (a, b) or a == b


def shapes_compatible(a: Sequence[int], b: Sequence[int]) -> bool:
    """Same rank and compatible dims."""
    return len(a) == len(b) and all(dims_compatible(x, y) for x, y in zip(a, b, strict=True))


def check_block_divisibility(data_shape: Sequence[int], param_shape: Sequence[int], what: str):
    """Each parameter element covers a whole block: `data[d] % param[d] == 0` on every axis."""
    for axis, (dim, blocks) in enumerate(zip(data_shape, param_shape, strict=True)):
        if dim == DYNAMIC or blocks == DYNAMIC:
            continue
        if blocks <= 0 or dim % blocks != 0:
            raise VerifyException(f"{what} dim {axis} ({blocks}) must divide the data dim ({dim})")


def constant_value(value: SSAValue) -> Attribute | None:
    """The elements attribute of the `coreai.constant` defining `value`, if any."""
    owner = value.owner
    if isinstance(owner, ConstantOp):
        return owner.value
    return None


def constant_ints(value: SSAValue) -> list[int] | None:
    """The integer contents of a small `dense<...>` constant operand, if known."""
    attr = constant_value(value)
    if not isinstance(attr, DenseIntOrFPElementsAttr):
        return None
    from coreai_opt.ir.elements import elements_array

    try:
        return [int(x) for x in elements_array(attr).reshape(-1)]
    except ValueError:
        return None


class FunctionalTypeOp(IRDLOperation):
    """Base of the modelled ops written `coreai.<op> <operands> : <types>`.

    Any Core AI form parses (dialects/syntax.py); the op prints in `SYNTAX`, the form
    Apple's printer uses for it (MLIR's functional form unless a subclass says otherwise).
    """

    SYNTAX: ClassVar[OpSyntax] = DEFAULT_SYNTAX

    @classmethod
    def parse(cls, parser: Parser) -> FunctionalTypeOp:
        learn_coreai_names(parser)
        start = op_start(parser)
        name_end = name_end_position(parser)
        form = parse_form(parser, bound_result_count(parser, cls.name), name_end)
        if form.regions:
            parser.raise_error(f"{cls.name} takes no regions")
        op = cls.build_from_parts(resolve(parser, form), form.result_types, form.attributes)
        take_trailing_location(parser, op, start)
        return op

    @classmethod
    def build_from_parts(
        cls,
        operands: Sequence[SSAValue],
        result_types: Sequence[Attribute],
        attributes: dict[str, Attribute],
    ) -> FunctionalTypeOp:
        """Create the op from parsed parts (subclasses with variadic shapes override)."""
        op_def = cls.get_irdl_definition()
        properties = {
            name: attributes.pop(name) for name in list(attributes) if name in op_def.properties
        }
        return cls.create(
            operands=operands,
            result_types=result_types,
            attributes=attributes,
            properties=properties,
        )

    def print(self, printer: Printer) -> None:
        syntax = self.SYNTAX if can_print(self.SYNTAX, self) else DEFAULT_SYNTAX
        print_in_form(printer, self, syntax)


# --------------------------------------------------------------------------- structure


VISIBILITIES = ("private", "public", "nested")


@irdl_op_definition
class GraphOp(IRDLOperation):
    """`coreai.graph [private] [noinline] @name(%arg: T {attrs}, ...) -> (R {attrs}) {...}`.

    A function; `attributes {...}` after the results holds graph attributes such as a
    composite graph's `composite_decl = #coreai.composite_declaration<...>`.
    """

    name = "coreai.graph"

    body = region_def()
    sym_name = prop_def(SymbolNameConstraint())
    function_type = prop_def(FunctionType)
    sym_visibility = opt_prop_def(StringAttr)
    noinline = opt_prop_def(UnitAttr)
    arg_attrs = opt_prop_def(ArrayAttr[DictionaryAttr])
    res_attrs = opt_prop_def(ArrayAttr[DictionaryAttr])

    traits = traits_def(IsolatedFromAbove(), SymbolOpInterface())

    RESERVED: ClassVar[tuple[str, ...]] = (
        "sym_name",
        "function_type",
        "sym_visibility",
        "noinline",
        "arg_attrs",
        "res_attrs",
    )

    @classmethod
    def parse(cls, parser: Parser) -> GraphOp:
        from coreai_opt.dialects.graph_syntax import parse_graph

        learn_coreai_names(parser)
        start = op_start(parser)
        op = parse_graph(cls, parser)
        take_trailing_location(parser, op, start)
        return op

    def print(self, printer: Printer) -> None:
        from coreai_opt.dialects.graph_syntax import print_graph

        print_graph(self, printer)

    @property
    def is_private(self) -> bool:
        """Private graphs (composite implementations) are only called through invoke."""
        return self.sym_visibility is not None and self.sym_visibility.data == "private"

    @property
    def composite_name(self) -> str | None:
        """The composite op a graph implements (`rms_norm`), from its `composite_decl`."""
        decl = self.attributes.get("composite_decl")
        if isinstance(decl, CoreAIAttr):
            match = decl.value.split('"')
            return match[1] if len(match) > 2 else None
        return None

    def verify_(self) -> None:
        if not self.body.blocks:
            raise VerifyException("coreai.graph must have a body")
        block_types = tuple(arg.type for arg in self.body.blocks.first.args)
        if block_types != self.function_type.inputs.data:
            raise VerifyException("graph arguments do not match the graph's input types")
        if self.sym_visibility is not None and self.sym_visibility.data not in VISIBILITIES:
            raise VerifyException(
                f"visibility must be one of {', '.join(VISIBILITIES)}, got "
                f"'{self.sym_visibility.data}'"
            )


@irdl_op_definition
class OutputOp(IRDLOperation):
    """`coreai.output %a, %b : type, type`: returns the graph's results."""

    name = "coreai.output"

    values = var_operand_def()

    traits = traits_def(IsTerminator(), HasParent(GraphOp))

    @classmethod
    def parse(cls, parser: Parser) -> OutputOp:
        """`attr-dict (operands : types)?`, then its location (dialects/locations.py)."""
        start = op_start(parser)
        attributes = parser.parse_optional_attr_dict()
        values: list[SSAValue] = []
        if parser._current_token.kind == MLIRTokenKind.PERCENT_IDENT:
            operands = parser.parse_comma_separated_list(
                parser.Delimiter.NONE, parser.parse_unresolved_operand
            )
            parser.parse_punctuation(":")
            type_pos = parser.pos
            types = parser.parse_comma_separated_list(parser.Delimiter.NONE, parser.parse_type)
            values = parser.resolve_operands(operands, types, type_pos)
        op = cls.create(operands=values, attributes=attributes)
        take_trailing_location(parser, op, start)
        return op

    def print(self, printer: Printer) -> None:
        printer.print_op_attributes(self.attributes)
        if self.values:
            printer.print_string(" ")
            printer.print_list(self.values, printer.print_operand)
            printer.print_string(" : ")
            printer.print_list(self.values.types, printer.print_attribute)

    def __init__(self, values: Sequence[SSAValue]) -> None:
        super().__init__(operands=[values])

    def verify_(self) -> None:
        graph = self.parent_op()
        assert isinstance(graph, GraphOp)
        expected = graph.function_type.outputs.data
        if tuple(self.values.types) != expected:
            raise VerifyException(
                f"output types ({', '.join(map(str, self.values.types))}) do not match the "
                f"graph's result types ({', '.join(map(str, expected))})"
            )


@irdl_op_definition
class InvokeOp(IRDLOperation):
    """`coreai.invoke @g(%a, %b)  : (T, U) -> R`: calls another graph.

    Apple's printer puts two spaces before the colon; so do we.
    """

    name = "coreai.invoke"

    callee = prop_def(SymbolRefAttr)
    arguments = var_operand_def()
    res = var_result_def()

    @classmethod
    def parse(cls, parser: Parser) -> InvokeOp:
        learn_coreai_names(parser)
        start = op_start(parser)
        if parser._current_token.text[:1] != "@":
            parser.raise_error("expected the callee graph (@name)")
        callee = parser.parse_attribute()
        if not isinstance(callee, SymbolRefAttr):
            parser.raise_error(f"expected the callee graph (@name), got {callee}")
        operands = parser.parse_comma_separated_list(
            parser.Delimiter.PAREN, parser.parse_unresolved_operand
        )
        attributes = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        type_pos = parser.pos
        function_type = parser.parse_function_type()
        values = parser.resolve_operands(operands, function_type.inputs.data, type_pos)
        op = cls.create(
            operands=values,
            result_types=function_type.outputs.data,
            properties={"callee": callee},
            attributes=attributes,
        )
        take_trailing_location(parser, op, start)
        return op

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_attribute(self.callee)
        printer.print_string("(")
        printer.print_list(self.arguments, printer.print_operand)
        printer.print_string(")")
        if self.attributes:
            printer.print_string(" ")
            printer.print_attribute(DictionaryAttr(dict(sorted(self.attributes.items()))))
            printer.print_string(" : ")
        else:
            printer.print_string("  : ")
        printer.print_function_type(self.operand_types, self.result_types)

    def callee_graph(self) -> GraphOp | None:
        """The graph this invoke calls, if it is in the same module."""
        from xdsl.traits import SymbolTable

        graph = SymbolTable.lookup_symbol(self, self.callee)
        return graph if isinstance(graph, GraphOp) else None

    def verify_(self) -> None:
        from xdsl.traits import SymbolTable

        graph = SymbolTable.lookup_symbol(self, self.callee)
        if graph is None:
            return  # the callee may live in a module this one is linked with
        if not isinstance(graph, GraphOp):
            raise VerifyException(f"'{self.callee}' is a {graph.name}, not a coreai.graph")
        signature = graph.function_type
        if tuple(self.arguments.types) != signature.inputs.data:
            raise VerifyException(
                f"arguments ({', '.join(map(str, self.arguments.types))}) do not match "
                f"{self.callee}'s inputs ({', '.join(map(str, signature.inputs.data))})"
            )
        if tuple(self.res.types) != signature.outputs.data:
            raise VerifyException(
                f"results ({', '.join(map(str, self.res.types))}) do not match "
                f"{self.callee}'s results ({', '.join(map(str, signature.outputs.data))})"
            )


# --------------------------------------------------------------------------- constants


@irdl_op_definition
class ConstantOp(IRDLOperation):
    """`coreai.constant dense<...> : tensor<...>` (or `dense_resource<key>`): a weight."""

    name = "coreai.constant"

    value = prop_def(DenseIntOrFPElementsAttr | DenseResourceElementsAttr | DenseResourceAttr)
    """A `DenseResourceAttr` is a pending reference read by xDSL's own parser, replaced by
    a `DenseResourceElementsAttr` before any pass looks at it (coreai_opt/ir/pending.py)."""
    result = result_def(TensorType)

    traits = traits_def(Pure(), ConstantLike())

    def __init__(self, value: DenseIntOrFPElementsAttr | DenseResourceElementsAttr) -> None:
        super().__init__(properties={"value": value}, result_types=[value.type])

    @classmethod
    def parse(cls, parser: Parser) -> ConstantOp:
        learn_coreai_names(parser)
        start = op_start(parser)
        attributes = parser.parse_optional_attr_dict()
        pos = parser.pos
        value = parse_constant_value(parser)
        if not isinstance(
            value, DenseIntOrFPElementsAttr | DenseResourceElementsAttr | DenseResourceAttr
        ):
            parser.raise_error(
                "coreai.constant expects a dense<...> or dense_resource<...> value", pos
            )
        op = cls(value)
        op.attributes |= attributes
        take_trailing_location(parser, op, start)
        return op

    def print(self, printer: Printer) -> None:
        printer.print_op_attributes(self.attributes)
        printer.print_string(" ")
        printer.print_attribute(self.value)

    def verify_(self) -> None:
        value_type = self.value.type
        if value_type != self.result.type:
            raise VerifyException(
                f"value type {value_type} does not match result type {self.result.type}"
            )
        if not isinstance(value_type, TensorType):
            raise VerifyException(f"constant value must be a tensor, got {value_type}")
        if isinstance(self.value, DenseResourceElementsAttr):
            verify_blob_size(self.value)


def parse_constant_value(parser: Parser) -> Attribute:
    """The value of a constant; a `dense<...>` literal read with MLIR's semantics by any
    xDSL parser (xDSL's own reads `dense<0xFF800000> : tensor<f32>` as an integer, MLIR
    as the bits of -inf). `coreai-opt`'s parser does that for every attribute already."""
    from coreai_opt.ir.text import parse_dense_elements

    token = parser._current_token
    if token.text != "dense" or coreai_opt_parser(parser):
        return parser.parse_attribute()
    parser._consume_token()
    return parse_dense_elements(parser, None)


def verify_blob_size(attr: DenseResourceElementsAttr) -> None:
    """A resource's byte count must match its type (sub-byte types packed)."""
    blob = attr.blob.data
    shape = attr.type.get_shape()
    if blob is None or any(d == DYNAMIC for d in shape):
        return
    count = 1
    for dim in shape:
        count *= dim
    needed = storage_nbytes(attr.type.get_element_type(), count)
    if blob.nbytes != needed:
        raise VerifyException(
            f"dense_resource<{attr.resource_handle.data}> holds {blob.nbytes} bytes but "
            f"{attr.type} needs {needed}"
        )


# --------------------------------------------------------------------------- compression

LUT_ELEMENT_TYPES = "ui8, si8, f8E5M2, f8E4M3FN, bf16, f16, f32"
SPARSE_VALUE_TYPES = LUT_ELEMENT_TYPES


def is_lut_element_type(element_type: Attribute) -> bool:
    """Element types a LUT or sparse values tensor may have."""
    if isinstance(element_type, IntegerType):
        return element_type.width.data == 8 and (
            element_type.signedness.data != Signedness.SIGNLESS
        )
    return str(element_type) in {"f8E5M2", "f8E4M3FN", "bf16", "f16", "f32"}


def is_unsigned(element_type: Attribute, widths: Sequence[int]) -> bool:
    """`ui<N>` with N in `widths`."""
    return (
        isinstance(element_type, IntegerType)
        and element_type.signedness.data == Signedness.UNSIGNED
        and element_type.width.data in widths
    )


@irdl_op_definition
class BlockwiseShiftScaleOp(FunctionalTypeOp):
    """`out = (data - offset1) * scale + offset2`, parameters broadcast block-wise."""

    name = "coreai.blockwise_shift_scale"

    data = operand_def(TensorType)
    scale = operand_def(TensorType)
    offset1 = operand_def(TensorType)
    offset2 = operand_def(TensorType)
    result = result_def(TensorType)

    traits = traits_def(Pure())

    def __init__(
        self, data: SSAValue, scale: SSAValue, offset1: SSAValue, offset2: SSAValue
    ) -> None:
        data_type = tensor_type_of(data, "data")
        out_element = tensor_type_of(offset2, "offset2").get_element_type()
        super().__init__(
            operands=[data, scale, offset1, offset2],
            result_types=[TensorType(out_element, data_type.get_shape())],
        )

    def verify_(self) -> None:
        data = tensor_type_of(self.data, "data")
        scale = tensor_type_of(self.scale, "scale")
        offset1 = tensor_type_of(self.offset1, "offset1")
        offset2 = tensor_type_of(self.offset2, "offset2")
        out = tensor_type_of(self.result, "result")
        param_shape = scale.get_shape()
        for name, param in (("offset1", offset1), ("offset2", offset2)):
            if not shapes_compatible(param.get_shape(), param_shape):
                raise VerifyException(
                    f"{name} shape {list(param.get_shape())} must equal scale shape "
                    f"{list(param_shape)}"
                )
        if len(param_shape) != len(data.get_shape()):
            raise VerifyException(
                f"scale rank {len(param_shape)} must equal data rank {len(data.get_shape())}"
            )
        check_block_divisibility(data.get_shape(), param_shape, "scale")
        if offset1.get_element_type() != data.get_element_type():
            raise VerifyException(
                f"offset1 element type {offset1.get_element_type()} must be the data's "
                f"({data.get_element_type()})"
            )
        out_element = offset2.get_element_type()
        if not is_float_type(out_element):
            raise VerifyException(f"offset2 must have a float element type, got {out_element}")
        scale_element = scale.get_element_type()
        if scale_element != out_element and str(scale_element) != "f8E8M0FNU":
            raise VerifyException(
                f"scale element type {scale_element} must be {out_element} or f8E8M0FNU"
            )
        if out.get_element_type() != out_element:
            raise VerifyException(
                f"result element type {out.get_element_type()} must be offset2's ({out_element})"
            )
        if not shapes_compatible(out.get_shape(), data.get_shape()):
            raise VerifyException(
                f"result shape {list(out.get_shape())} must equal data shape "
                f"{list(data.get_shape())}"
            )


@irdl_op_definition
class LutToDenseOp(FunctionalTypeOp):
    """Palettization: each index selects an entry of its block's look-up table."""

    name = "coreai.lut_to_dense"

    indices = operand_def(TensorType)
    lut = operand_def(TensorType)
    axis = operand_def(TensorType)
    result = result_def(TensorType)

    traits = traits_def(Pure())

    def verify_(self) -> None:
        indices = tensor_type_of(self.indices, "indices")
        lut = tensor_type_of(self.lut, "lut")
        axis = tensor_type_of(self.axis, "axis")
        out = tensor_type_of(self.result, "result")
        index_type = indices.get_element_type()
        if not is_unsigned(index_type, (1, 2, 3, 4, 6, 8)):
            raise VerifyException(
                f"indices must be ui1, ui2, ui3, ui4, ui6 or ui8, got {index_type}"
            )
        rank = len(indices.get_shape())
        lut_shape = lut.get_shape()
        if len(lut_shape) != rank + 2:
            raise VerifyException(
                f"lut must have rank {rank + 2} (indices rank + 2), got {len(lut_shape)}"
            )
        entries = 2 ** bit_width(index_type)
        if lut_shape[rank] not in (DYNAMIC, entries):
            raise VerifyException(
                f"lut must have {entries} entries for {index_type} indices, got {lut_shape[rank]}"
            )
        check_block_divisibility(indices.get_shape(), lut_shape[:rank], "lut")
        if not is_lut_element_type(lut.get_element_type()):
            raise VerifyException(
                f"lut element type must be one of {LUT_ELEMENT_TYPES}, got {lut.get_element_type()}"
            )
        if axis.get_shape() or str(axis.get_element_type()) != "si16":
            raise VerifyException(f"axis must be tensor<si16>, got {axis}")
        if out.get_element_type() != lut.get_element_type():
            raise VerifyException(
                f"result element type {out.get_element_type()} must be the lut's "
                f"({lut.get_element_type()})"
            )
        self.verify_result_shape(indices, out, lut_shape[-1])

    def verify_result_shape(self, indices: TensorType, out: TensorType, vector: int) -> None:
        """Result = indices' shape with `shape[axis] *= V`."""
        expected = list(indices.get_shape())
        axis_values = constant_ints(self.axis)
        rank = len(expected)
        if axis_values is not None and rank and not -rank <= axis_values[0] < rank:
            raise VerifyException(f"axis {axis_values[0]} is out of range for rank {rank}")
        if vector != 1:
            if axis_values is None:
                return
            axis = axis_values[0] % rank if rank else 0
            if expected[axis] != DYNAMIC:
                expected[axis] *= vector
        if not shapes_compatible(out.get_shape(), expected):
            raise VerifyException(
                f"result shape {list(out.get_shape())} must be {expected} "
                f"(indices shape, axis dim times vector size {vector})"
            )


@irdl_op_definition
class BuildSparseWithBitmaskOp(FunctionalTypeOp):
    """Packs non-zero `values` (row-major order of set mask bits) and a `ui1` mask."""

    name = "coreai.build_sparse_with_bitmask"

    values = operand_def(TensorType)
    mask = operand_def(TensorType)
    result = result_def(SparseTensorType)

    traits = traits_def(Pure())

    def verify_(self) -> None:
        values = tensor_type_of(self.values, "values")
        mask = tensor_type_of(self.mask, "mask")
        if len(values.get_shape()) != 1:
            raise VerifyException(f"values must be 1-D, got {values}")
        if not is_lut_element_type(values.get_element_type()):
            raise VerifyException(
                f"values element type must be one of {SPARSE_VALUE_TYPES}, got "
                f"{values.get_element_type()}"
            )
        if not is_unsigned(mask.get_element_type(), (1,)):
            raise VerifyException(f"mask must have element type ui1, got {mask}")
        assert isinstance(self.result.type, SparseTensorType)
        dense = self.result.type.dense_type
        expected = TensorType(values.get_element_type(), mask.get_shape())
        if dense != expected:
            raise VerifyException(f"result must be !coreai.sparse<{expected}>, got {dense}")


@irdl_op_definition
class SparseWithBitmaskToDenseOp(FunctionalTypeOp):
    """Expands a bitmask-sparse value: zeros where the mask is 0."""

    name = "coreai.sparse_with_bitmask_to_dense"

    sparse = operand_def(SparseTensorType)
    result = result_def(TensorType)

    traits = traits_def(Pure())

    def verify_(self) -> None:
        assert isinstance(self.sparse.type, SparseTensorType)
        if self.result.type != self.sparse.type.dense_type:
            raise VerifyException(
                f"result type {self.result.type} must be {self.sparse.type.dense_type}"
            )


@irdl_op_definition
class CastOp(FunctionalTypeOp):
    """Element type conversion (shape unchanged)."""

    name = "coreai.cast"
    SYNTAX: ClassVar[OpSyntax] = OpSyntax.spec("% : T to R")

    input = operand_def(TensorType)
    result = result_def(TensorType)

    traits = traits_def(Pure())

    def verify_(self) -> None:
        source = tensor_type_of(self.input, "input")
        target = tensor_type_of(self.result, "result")
        if not shapes_compatible(source.get_shape(), target.get_shape()):
            raise VerifyException(
                f"cast must keep the shape: {list(source.get_shape())} vs "
                f"{list(target.get_shape())}"
            )


# --------------------------------------------------------------------------- consumers


@irdl_op_definition
class TransposeOp(FunctionalTypeOp):
    """`coreai.transpose %x, %perm`: permutes dims by a `tensor<Nxui32>` constant."""

    name = "coreai.transpose"

    input = operand_def(TensorType)
    perm = operand_def(TensorType)
    result = result_def(TensorType)

    traits = traits_def(Pure())

    def verify_(self) -> None:
        source = tensor_type_of(self.input, "input")
        perm_type = tensor_type_of(self.perm, "perm")
        rank = len(source.get_shape())
        if list(perm_type.get_shape()) not in ([rank], [DYNAMIC]):
            raise VerifyException(f"perm must be tensor<{rank}xui32>, got {perm_type}")
        perm = constant_ints(self.perm)
        if perm is None:
            return
        if sorted(perm) != list(range(rank)):
            raise VerifyException(f"perm {perm} is not a permutation of {rank} dims")
        expected = [source.get_shape()[p] for p in perm]
        out = tensor_type_of(self.result, "result")
        if not shapes_compatible(out.get_shape(), expected):
            raise VerifyException(f"result shape {list(out.get_shape())} must be {expected}")


class MatmulLikeOp(FunctionalTypeOp):
    """Base of the batched matmuls: operand 0 = x, operand 1 = y."""

    x = operand_def(TensorType)
    y = operand_def(TensorType)
    result = result_def(TensorType)

    traits = traits_def(Pure())

    def verify_(self) -> None:
        x = tensor_type_of(self.x, "x").get_shape()
        y = tensor_type_of(self.y, "y").get_shape()
        if len(x) < 2 or len(y) < 2:
            raise VerifyException("matmul operands must have rank >= 2")
        if not dims_compatible(x[-1], y[-2]):
            raise VerifyException(f"contracting dims differ: x has {x[-1]}, y has {y[-2]}")


@irdl_op_definition
class BatchMatmulOp(MatmulLikeOp):
    """Batched matrix product `x @ y`."""

    name = "coreai.batch_matmul"


@irdl_op_definition
class BroadcastingBatchMatmulOp(MatmulLikeOp):
    """Batched matrix product with broadcasting batch dims."""

    name = "coreai.decomposable.broadcasting_batch_matmul"


@irdl_op_definition
class Conv2dOp(FunctionalTypeOp):
    """2-D convolution; `weight` is `[C_out, C_in/groups, kH, kW]`."""

    name = "coreai.conv2d"

    input = operand_def(TensorType)
    weight = operand_def(TensorType)
    strides = operand_def(TensorType)
    dilations = operand_def(TensorType)
    groups = operand_def(TensorType)
    result = result_def(TensorType)

    traits = traits_def(Pure())

    def verify_(self) -> None:
        if len(tensor_type_of(self.weight, "weight").get_shape()) != 4:
            raise VerifyException("conv2d weight must have rank 4")


@irdl_op_definition
class GatherNdOp(FunctionalTypeOp):
    """Gathers slices of `data` at `indices` (embedding lookups)."""

    name = "coreai.gather_nd"
    SYNTAX: ClassVar[OpSyntax] = OpSyntax.spec("% at % : (T) to R")

    data = operand_def(TensorType)
    indices = operand_def(TensorType)
    result = result_def(TensorType)

    traits = traits_def(Pure())


# --------------------------------------------------------------------------- unknown ops


class UnknownCoreAIOp(Operation):
    """Any `coreai.*` op this tool does not model: kept as is, never assumed pure.

    A plain (non-IRDL) operation, so any operands, results, attributes, regions survive.
    It prints in the form it was read in; an op that was not read as text (from bytecode,
    or built by a pass) prints in the form Apple's printer uses for it (dialects/forms.py),
    else in the form its class learned from the text it read, else in MLIR's functional
    form; one with properties, successors or unknown-form regions in MLIR's generic form.
    """

    traits = traits_def()
    learned_syntax: ClassVar[OpSyntax | None] = None

    @classmethod
    def parse(cls, parser: Parser) -> UnknownCoreAIOp:
        learn_coreai_names(parser)
        start = op_start(parser)
        name_end = name_end_position(parser)
        bound = bound_result_count(parser, cls.name)
        form = parse_form(parser, bound, name_end)
        op = cls.create(
            operands=resolve(parser, form),
            result_types=form.result_types,
            attributes=form.attributes,
            regions=form.regions,
        )
        from coreai_opt.dialects.syntax import syntax_of

        syntax = syntax_of(form, separate_results=False)
        record_syntax(op, syntax)
        if cls.learned_syntax is None:
            cls.learned_syntax = syntax
        take_trailing_location(parser, op, start)
        return op

    def print(self, printer: Printer) -> None:
        syntax = self.printing_syntax()
        assert syntax is not None, "ops without a printable form print generically"
        print_in_form(printer, self, syntax)

    def printing_syntax(self) -> OpSyntax | None:
        """The form to print this op in (None: MLIR's generic form)."""
        from coreai_opt.dialects.forms import apple_syntax

        if self.properties or self.successors:
            return None
        for syntax in (recorded_syntax(self), apple_syntax(self.name), self.learned_syntax):
            if syntax is not None and can_print(syntax, self):
                return syntax
        if not self.regions and can_print(DEFAULT_SYNTAX, self):
            return DEFAULT_SYNTAX
        return None

    @classmethod
    def has_trait(cls, trait, *, value_if_unregistered: bool = True) -> bool:
        """Like MLIR's unregistered ops: any trait may hold (callers choose the default)."""
        return value_if_unregistered

    def needs_generic_form(self) -> bool:
        """No Core AI form fits (properties, successors, regions of unknown form)."""
        return self.printing_syntax() is None


@cache
def unknown_op_class(op_name: str) -> type[Operation]:
    """A class for the unmodelled op `op_name`, created once per name."""
    class_name = "".join(part.title() for part in op_name.replace(".", "_").split("_")) + "Op"
    return type(class_name, (UnknownCoreAIOp,), {"name": op_name, "__doc__": None})


KNOWN_OPS: list[type[Operation]] = [
    GraphOp,
    OutputOp,
    InvokeOp,
    ConstantOp,
    BlockwiseShiftScaleOp,
    LutToDenseOp,
    BuildSparseWithBitmaskOp,
    SparseWithBitmaskToDenseOp,
    CastOp,
    TransposeOp,
    BatchMatmulOp,
    BroadcastingBatchMatmulOp,
    Conv2dOp,
    GatherNdOp,
]

CoreAI = Dialect(
    "coreai",
    KNOWN_OPS,
    [SparseTensorType, HandleType, TokenType, BlobAttr, DenseResourceElementsAttr],
)

MATMUL_OPS = (BatchMatmulOp, BroadcastingBatchMatmulOp)
COMPRESSION_OPS = (
    BlockwiseShiftScaleOp,
    LutToDenseOp,
    BuildSparseWithBitmaskOp,
    SparseWithBitmaskToDenseOp,
    CastOp,
)

__all__ = [op.__name__ for op in KNOWN_OPS] + [
    "CoreAI",
    "CoreAIAttr",
    "HandleType",
    "OpaqueCoreAIType",
    "SparseTensorType",
    "TokenType",
    "UnknownCoreAIOp",
    "enum_value",
    "unknown_op_class",
]
