"""Shape and layout kernels: reshape, transpose, slice, concat, pad, broadcast, ..."""

from __future__ import annotations

import numpy as np

from coreai_opt.interpreter.registry import Call, kernel

INT32_MAX = 2**31 - 1


@kernel("coreai.reshape")
def reshape(call: Call) -> np.ndarray:
    """`reshape %x, %shape`: row-major reshape (one -1 entry is inferred)."""
    shape = call.ints(1)
    x = call.array(0)
    return x.reshape(shape)


@kernel("coreai.transpose")
def transpose(call: Call) -> np.ndarray:
    """`transpose %x, %perm`: result dim i is input dim perm[i] (a view)."""
    x = call.array(0)
    perm = call.axes(1, x.ndim)
    if sorted(perm) != list(range(x.ndim)):
        raise call.error(f"perm {list(perm)} is not a permutation of {x.ndim} dims")
    return np.transpose(x, perm)


@kernel("coreai.expand_dims")
def expand_dims(call: Call) -> np.ndarray:
    """`expand_dims %x, %axes`: insert size-1 dims at `axes` (positions in the result)."""
    x = call.array(0)
    axes = call.axes(1, x.ndim + len(call.ints(1)))
    return np.expand_dims(x, axes)


@kernel("coreai.shrink_dims")
def shrink_dims(call: Call) -> np.ndarray:
    """`shrink_dims %x, %axes`: remove the size-1 dims `axes`."""
    x = call.array(0)
    axes = call.axes(1, x.ndim)
    for axis in axes:
        if x.shape[axis] != 1:
            raise call.error(f"cannot remove dim {axis} of size {x.shape[axis]}")
    return np.squeeze(x, axes)


def slices(call: Call, shape: tuple[int, ...], first: int) -> tuple[slice, ...]:
    """Per-dim Python slices from the `begin, end, stride` operands at `first`."""
    begin, end, stride = (call.ints(first + i) for i in range(3))
    if not len(begin) == len(end) == len(stride) <= len(shape):
        raise call.error(
            f"begin/end/stride have {len(begin)}/{len(end)}/{len(stride)} values "
            f"for rank {len(shape)}"
        )
    if 0 in stride:
        raise call.error("slice stride must not be 0")
    bounds = zip(begin, end, stride, strict=True)
    return tuple(slice(b, None if e >= INT32_MAX else e, s) for b, e, s in bounds)


@kernel("coreai.slice")
def slice_(call: Call) -> np.ndarray:
    """`slice %x, %begin, %end, %stride`: Python slicing per dim (end >= 2^31-1: to the end)."""
    x = call.array(0)
    return x[slices(call, x.shape, 1)]


@kernel("coreai.slice_update")
def slice_update(call: Call) -> np.ndarray:
    """`slice_update %x with %u at (%begin, %end, %stride)`: x with that slice replaced by u."""
    x = call.array(0)
    out = np.array(x, dtype=call.dtype())
    window = slices(call, x.shape, 2)
    target = out[window]
    update = call.array(1)
    if update.shape != target.shape:
        shapes = f"{list(update.shape)} for a slice of {list(target.shape)}"
        raise call.error(f"update of shape {shapes}")
    out[window] = update
    return out


@kernel("coreai.concat")
def concat(call: Call) -> np.ndarray:
    """`concat %axis, %x0, %x1, ...`: joined along `axis` (the first operand)."""
    dtype = call.dtype()
    parts = [call.array(i).astype(dtype, copy=False) for i in range(1, len(call.args))]
    rank = call.rank()
    return np.concatenate(parts, axis=call.axis(0, rank))


@kernel("coreai.split")
def split(call: Call) -> list[np.ndarray]:
    """`split %x, %sizes, %axis`: consecutive pieces of the given sizes along `axis`."""
    x = call.array(0)
    sizes = call.ints(1)
    axis = call.axis(2, x.ndim)
    if sum(sizes) != x.shape[axis]:
        raise call.error(f"sizes {sizes} do not add up to dim {axis} ({x.shape[axis]})")
    return np.split(x, np.cumsum(sizes)[:-1].tolist(), axis=axis)


PAD_MODES = {
    "constant": "constant",
    "reflect": "reflect",
    "replicate": "edge",
    "edge": "edge",
    "circular": "wrap",
    "symmetric": "symmetric",
}


@kernel("coreai.pad")
def pad(call: Call) -> np.ndarray:
    """`pad %x, %pads, %value mode = <m>`: pads = (before, after) per dim, leading dim first."""
    x = call.array(0)
    pads = call.ints(1)
    if len(pads) != 2 * x.ndim:
        raise call.error(f"pads has {len(pads)} values, expected {2 * x.ndim} (2 per dim)")
    if min(pads, default=0) < 0:
        raise call.error("negative pads are not supported")
    widths = [(pads[2 * i], pads[2 * i + 1]) for i in range(x.ndim)]
    mode = call.enum("mode", "constant")
    if mode not in PAD_MODES:
        raise call.error(f"unknown mode = <{mode}> (expected one of {', '.join(PAD_MODES)})")
    if mode == "constant":
        value = call.array(2).reshape(-1)[0] if len(call.args) > 2 else 0
        return np.pad(x, widths, mode="constant", constant_values=value)
    return np.pad(x, widths, mode=PAD_MODES[mode])


@kernel("coreai.tile")
def tile(call: Call) -> np.ndarray:
    """`tile %x, %reps`: x repeated reps[i] times along dim i."""
    return np.tile(call.array(0), call.ints(1))


@kernel("coreai.reverse")
def reverse(call: Call) -> np.ndarray:
    """`reverse %x, %axes`: elements in reverse order along `axes`."""
    x = call.array(0)
    return np.flip(x, call.axes(1, x.ndim))


@kernel("coreai.broadcast_to")
def broadcast_to(call: Call) -> np.ndarray:
    """`broadcast_to %x, %shape`: numpy broadcasting to `shape`."""
    return np.broadcast_to(call.array(0), call.ints(1))


@kernel("coreai.broadcast_in_dims")
def broadcast_in_dims(call: Call) -> np.ndarray:
    """`broadcast_in_dims %x, %sizes, %dims`: dim dims[i] broadcast to sizes[i], others kept."""
    x = call.array(0)
    sizes = call.ints(1)
    dims = call.axes(2, x.ndim)
    if len(sizes) != len(dims):
        raise call.error(f"{len(sizes)} sizes for {len(dims)} dims")
    shape = list(x.shape)
    for dim, size in zip(dims, sizes, strict=True):
        shape[dim] = size
    return np.broadcast_to(x, shape)


@kernel("coreai.get_shape")
def get_shape(call: Call) -> np.ndarray:
    """`get_shape %x`: the dims of x as a 1-D tensor."""
    return np.array(call.array(0).shape, dtype=call.dtype())


@kernel("coreai.non_zero")
def non_zero(call: Call) -> np.ndarray:
    """`non_zero %x`: [count, rank] coordinates of the non-zero elements, row-major order."""
    return np.argwhere(call.array(0))


RANGE_LIMIT = 2**31
"""Most elements `range` may make: a corrupt bound is an error, not a huge allocation."""


@kernel("coreai.range")
def range_(call: Call) -> np.ndarray:
    """`range %start, %end, %step` (`torch.arange`): start + i·step for every i with the
    value before `end`; counted in float64, values cast to the result's type."""
    start, end, step = (float(call.array(i).reshape(-1)[0]) for i in range(3))
    if step == 0 or not all(np.isfinite((start, end, step))):
        raise call.error(f"invalid range ({start}, {end}, {step})")
    count = max(0, int(np.ceil((end - start) / step)))
    if count > RANGE_LIMIT:
        raise call.error(f"range of {count} elements exceeds the limit of {RANGE_LIMIT}")
    dtype = call.dtype()
    if dtype.kind in "iu":
        first, stride = int(call.array(0).reshape(-1)[0]), int(call.array(2).reshape(-1)[0])
        if float(first) == start and float(stride) == step:  # exact for integer bounds
            return (first + stride * np.arange(count, dtype=np.int64)).astype(dtype)
    return (start + step * np.arange(count, dtype=np.float64)).astype(dtype)
