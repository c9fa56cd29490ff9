"""Weights that scale: `dense_resource<key>` attributes backed by numpy arrays.

xDSL's own `DenseResourceAttr` keeps blobs as hex strings in a process-global store. Here the
attribute itself carries a `Blob` (raw bytes as a read-only numpy array, possibly a memmap),
so blob storage belongs to whatever module holds the attribute: cloning a module shares the
blobs, erasing the last constant that uses a blob frees it, and two modules never collide.
Keys are only names for printing; the printer makes them unique per module.
"""

from __future__ import annotations

import numpy as np
from xdsl.dialects.builtin import ShapedType, StringAttr, TensorType
from xdsl.ir import BuiltinAttribute, Data, TypedAttribute
from xdsl.irdl import irdl_attr_definition
from xdsl.parser import AttrParser
from xdsl.printer import Printer

from coreai_opt.limits import alignment_problem

MAX_NATURAL_ALIGNMENT = 8


class Blob:
    """Raw bytes of one resource: a read-only 1-D uint8 array (in memory or memmapped).

    Blobs compare by identity: two blobs with equal bytes are still different resources.
    """

    __slots__ = ("alignment", "data")

    def __init__(self, data: np.ndarray, alignment: int | None = None) -> None:
        """`alignment` defaults to the element size (MLIR's habit: 2 for f16, 1 for packed).

        Larger alignments make MLIR's bytecode reader reject files it reads into a heap
        buffer, so they are never chosen implicitly.
        """
        array = np.asarray(data)
        if alignment is None:
            alignment = min(max(array.dtype.itemsize, 1), MAX_NATURAL_ALIGNMENT)
        problem = alignment_problem(alignment) if alignment >= 1 else "alignment must be >= 1"
        if problem is not None:
            raise ValueError(f"invalid blob: {problem}")
        flat = array.reshape(-1).view(np.uint8)
        if flat.flags.writeable and not isinstance(flat, np.memmap):
            flat.flags.writeable = False
        self.data = flat
        self.alignment = alignment

    @property
    def nbytes(self) -> int:
        """Size of the payload in bytes (without the alignment word)."""
        return int(self.data.size)

    def __repr__(self) -> str:
        return f"Blob({self.nbytes} bytes, align {self.alignment})"


@irdl_attr_definition
class BlobAttr(Data[Blob | None]):
    """Holder of a blob inside an attribute; never printed on its own (`None` = elided)."""

    name = "coreai.blob"

    @classmethod
    def parse_parameter(cls, parser: AttrParser) -> Blob | None:
        parser.raise_error("coreai.blob cannot be written in textual IR")

    def print_parameter(self, printer: Printer) -> None:
        printer.print_string("<blob>")


@irdl_attr_definition
class DenseResourceElementsAttr(TypedAttribute, BuiltinAttribute):
    """`dense_resource<key> : tensor<...>` whose bytes live in a `Blob` carried by the attribute.

    Sub-byte element types are stored packed (coreai-ir.md §5).
    """

    name = "coreai.dense_resource"

    resource_handle: StringAttr
    type: ShapedType
    blob: BlobAttr

    @staticmethod
    def create(key: str, type: TensorType, blob: Blob | None) -> DenseResourceElementsAttr:
        """Build the attribute from a key hint, its tensor type and its blob."""
        return DenseResourceElementsAttr(StringAttr(key), type, BlobAttr(blob))

    @classmethod
    def get_type_index(cls) -> int:
        return 1

    def print_without_type(self, printer: Printer) -> None:
        key_for = getattr(printer, "resource_key_for", None)
        key = key_for(self) if key_for is not None else self.resource_handle.data
        printer.print_string(f"dense_resource<{key}>")

    def print_builtin(self, printer: Printer) -> None:
        self.print_without_type(printer)
        printer.print_string(" : ")
        printer.print_attribute(self.type)
