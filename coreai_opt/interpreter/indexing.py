"""Gather and scatter kernels."""

from __future__ import annotations

import numpy as np

from coreai_opt.interpreter.registry import Call, kernel
from coreai_opt.interpreter.values import Value


def checked_indices(call: Call, indices: np.ndarray, sizes: tuple[int, ...] | int) -> np.ndarray:
    """Indices as int64, negative ones counted from the end; out of range is an error.

    `sizes` is the size each index addresses: one per last-axis column, or one for all.
    """
    if indices.dtype.kind not in "iu":
        raise call.error(f"indices must be integers, got {indices.dtype}")
    indices = indices.astype(np.int64)
    bound = np.asarray(sizes, dtype=np.int64)
    if indices.size and (np.any(indices >= bound) or np.any(indices < -bound)):
        raise call.error(f"index out of range for dims of size {np.asarray(sizes).tolist()}")
    return np.where(indices < 0, indices + bound, indices)


@kernel("coreai.gather_nd")
def gather_nd(call: Call) -> np.ndarray:
    """`gather_nd %data at %idx`: idx[..., K] addresses data's first K dims;
    result shape idx.shape[:-1] + data.shape[K:] (embedding lookups)."""
    data, indices = call.array(0), call.array(1)
    depth = indices.shape[-1] if indices.ndim else 0
    if indices.ndim == 0 or depth > data.ndim:
        raise call.error(f"indices of shape {list(indices.shape)} for data of rank {data.ndim}")
    coordinates = checked_indices(call, indices, data.shape[:depth])
    return data[tuple(np.moveaxis(coordinates, -1, 0))]


@kernel("coreai.gather_along_axis")
def gather_along_axis(call: Call) -> np.ndarray:
    """`gather_along_axis %x at %idx along %axis`: torch.gather / np.take_along_axis."""
    x, indices = call.array(0), call.array(1)
    axis = call.axis(2, x.ndim)
    return np.take_along_axis(x, checked_indices(call, indices, x.shape[axis]), axis=axis)


COMBINE_AT = {
    "update": None,
    "add": np.add,
    "sum": np.add,
    "mul": np.multiply,
    "max": np.maximum,
    "min": np.minimum,
}


def combine_rounds(flat_targets: np.ndarray) -> list[np.ndarray]:
    """Positions of the updates split into rounds in which no target repeats (in order)."""
    order = np.argsort(flat_targets, kind="stable")
    sorted_targets = flat_targets[order]
    starts = np.r_[True, sorted_targets[1:] != sorted_targets[:-1]]
    group_start = np.maximum.accumulate(np.where(starts, np.arange(len(order)), 0))
    occurrence = np.arange(len(order)) - group_start
    rank = np.empty_like(occurrence)
    rank[order] = occurrence
    return [np.flatnonzero(rank == r) for r in range(int(rank.max(initial=-1)) + 1)]


def run_combiner(call: Call, current: np.ndarray, update: np.ndarray) -> np.ndarray:
    """The scatter's combiner region applied elementwise to (current, update) arrays."""
    region = call.op.regions[0]
    call.interpreter.vectorised_regions += 1
    try:
        (value,) = call.interpreter.run_block(region.blocks.first, [current, update])
    finally:
        call.interpreter.vectorised_regions -= 1
    return np.broadcast_to(np.asarray(value), current.shape)


@kernel("coreai.scatter_nd")
def scatter_nd(call: Call) -> np.ndarray:
    """`scatter_nd %x with %u at %idx {combiner}`: x with slices idx[...] combined with u.

    The combiner region (two scalar arguments, `coreai.yield`) runs elementwise on arrays;
    repeated indices are applied in order.
    """
    x, updates, indices = call.array(0), call.array(1), call.array(2)
    depth = indices.shape[-1]
    coordinates = checked_indices(call, indices, x.shape[:depth]).reshape(-1, depth)
    slice_shape = x.shape[depth:]
    updates = np.broadcast_to(updates, (*indices.shape[:-1], *slice_shape))
    updates = updates.reshape(-1, *slice_shape)
    out = np.array(x, dtype=call.dtype())
    flat = np.ravel_multi_index(tuple(coordinates.T), x.shape[:depth])
    view = out.reshape(-1, *slice_shape)
    if not call.op.regions:
        view[flat] = updates
        return out
    for positions in combine_rounds(flat):
        targets = flat[positions]
        view[targets] = run_combiner(call, view[targets], updates[positions])
    return out


def along_axis_targets(x_shape: tuple[int, ...], indices: np.ndarray, axis: int) -> tuple:
    """Full coordinates of every element of `indices` with its value put on `axis`."""
    grids = list(np.indices(indices.shape, sparse=True))
    grids[axis] = indices
    return tuple(np.broadcast_arrays(*grids))


@kernel("coreai.scatter_along_axis")
def scatter_along_axis(call: Call) -> Value:
    """`scatter_along_axis %x, %idx, %updates, %axis` (torch.Tensor.scatter):
    out[..., idx[i], ...] = updates[i] along `axis`; `scatter_mode = <add>` etc. combine."""
    x, indices, updates = call.array(0), call.array(1), call.array(2)
    axis = call.axis(3, x.ndim)
    indices = checked_indices(call, indices, x.shape[axis])
    updates = np.broadcast_to(updates, indices.shape).astype(call.dtype(), copy=False)
    mode = call.enum("scatter_mode", "update")
    if mode not in COMBINE_AT:
        choices = ", ".join(COMBINE_AT)
        raise call.error(f"unknown scatter_mode = <{mode}> (expected one of {choices})")
    out = np.array(x, dtype=call.dtype())
    targets = along_axis_targets(x.shape, indices, axis)
    combine = COMBINE_AT[mode]
    if combine is None:
        out[targets] = updates
    else:
        combine.at(out, targets, updates)
    return out
