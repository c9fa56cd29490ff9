"""Weights expanded a slab of rows at a time.

`blockwise_shift_scale` and `lut_to_dense` of a resource-backed constant receive a
`PackedConstant` instead of an array: its rows are read (sub-byte codes unpacked) one slab
at a time, so expanding a weight holds the dense result and one slab's temporaries, never a
one-byte-per-element copy of packed codes or full-size float temporaries.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from xdsl.ir import SSAValue

from coreai_opt.dialects.coreai import ConstantOp
from coreai_opt.dialects.resources import DenseResourceElementsAttr

SLAB_ELEMENTS = 1 << 18
"""Elements expanded at a time."""

PACKED_OPERANDS = {"coreai.blockwise_shift_scale": 0, "coreai.lut_to_dense": 0}
"""Ops whose operand at this position may stay packed."""


@dataclass(frozen=True)
class PackedConstant:
    """A resource-backed constant read by slabs of rows (sub-byte codes unpacked per slab)."""

    op: ConstantOp

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.op.result.type.get_shape())

    @property
    def width(self) -> int:
        from coreai_opt.ir.dtypes import bit_width

        return bit_width(self.op.result.type.get_element_type())

    def row_size(self) -> int:
        """Elements in one slice along axis 0."""
        return math.prod(self.shape[1:])

    def row_alignment(self) -> int:
        """Rows per byte-aligned slab boundary."""
        bits = self.row_size() * self.width
        return 8 // math.gcd(bits, 8) if bits else 1

    def rows(self, start: int, stop: int) -> np.ndarray:
        """Values of rows [start, stop) (start on a `row_alignment` boundary), unpacked."""
        from coreai_opt.ir.dtypes import is_signed_integer, is_sub_byte, numpy_dtype
        from coreai_opt.numerics.packing import unpack_bits

        element_type = self.op.result.type.get_element_type()
        if not is_sub_byte(element_type):
            from coreai_opt.ir.elements import elements_array

            return elements_array(self.op.value)[start:stop]
        first_bit = start * self.row_size() * self.width
        assert first_bit % 8 == 0, "slabs start on byte boundaries"
        count = (stop - start) * self.row_size()
        data = np.asarray(self.op.value.blob.data.data)[first_bit // 8 :]
        codes = unpack_bits(data, self.width, count, is_signed_integer(element_type))
        return codes.view(numpy_dtype(element_type)).reshape((stop - start, *self.shape[1:]))

    def slabs(self, group_rows: int) -> Iterator[tuple[int, int]]:
        """Row ranges of about SLAB_ELEMENTS codes, on multiples of `group_rows`."""
        rows = self.shape[0]
        align = math.lcm(self.row_alignment(), group_rows)
        step = max(align, SLAB_ELEMENTS // max(self.row_size(), 1) // align * align)
        for start in range(0, rows, step):
            yield start, min(start + step, rows)


def packed_operand(value: SSAValue) -> PackedConstant | None:
    """`value` as a PackedConstant when it is a resource of static rank >= 1 with its bytes."""
    from coreai_opt.ir.dtypes import bit_width

    owner = value.owner
    if not isinstance(owner, ConstantOp) or not isinstance(owner.value, DenseResourceElementsAttr):
        return None
    shape = owner.result.type.get_shape()
    if owner.value.blob.data is None or not shape or any(d < 0 for d in shape):
        return None
    try:
        bit_width(owner.result.type.get_element_type())
    except ValueError:
        return None
    return PackedConstant(owner)


def group_rows(rows: int, groups: int) -> int:
    """Rows one parameter block covers along axis 0 (1 when a single block covers all)."""
    return rows // groups if groups > 1 else 1


def rows_of(param: np.ndarray, start: int, stop: int, per_block: int) -> np.ndarray:
    """The parameter blocks of data rows [start, stop) (all of it for a single block)."""
    if param.shape[0] == 1:
        return param
    return param[start // per_block : stop // per_block]


def expand_by_slabs(
    packed: PackedConstant,
    out: np.ndarray,
    groups: int,
    expand: Callable[[np.ndarray, int, int], np.ndarray],
    out_rows_per_row: int = 1,
) -> np.ndarray:
    """Fill `out` slab by slab with `expand(codes, start, stop)`."""
    per_block = group_rows(packed.shape[0], groups)
    for start, stop in packed.slabs(per_block):
        scale = out_rows_per_row
        out[start * scale : stop * scale] = expand(packed.rows(start, stop), start, stop)
    return out
