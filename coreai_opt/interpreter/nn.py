"""Kernels of the neural-network ops: matmul, convolution, pooling, reductions, softmax, ..."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from coreai_opt.interpreter.registry import Call, kernel
from coreai_opt.interpreter.values import as_compute, by_rows, compute_dtype

# --------------------------------------------------------------------------- matmul


@kernel("coreai.batch_matmul", "coreai.decomposable.broadcasting_batch_matmul")
def batch_matmul(call: Call) -> np.ndarray:
    """`x @ y` over the last two dims, batch dims broadcast (np.matmul, BLAS)."""
    dtype = call.dtype()
    x, y = as_compute(call.array(0), dtype), as_compute(call.array(1), dtype)
    if y.ndim == 2 and x.ndim > 2:  # a weight: one large GEMM instead of one per batch item
        return (x.reshape(-1, x.shape[-1]) @ y).reshape(*x.shape[:-1], y.shape[-1])
    return np.matmul(x, y)


# --------------------------------------------------------------------------- convolution


def windows(x: np.ndarray, kernel_shape: tuple[int, ...], strides: list[int], dilations: list[int]):
    """[N, C, *out, *kernel] view of x's sliding windows (no copy)."""
    spatial = len(kernel_shape)
    extent = [d * (k - 1) + 1 for k, d in zip(kernel_shape, dilations, strict=True)]
    if any(e > size for e, size in zip(extent, x.shape[2:], strict=True)):
        spatial_dims = list(x.shape[2:])
        raise ValueError(f"kernel extent {extent} exceeds the input's spatial dims {spatial_dims}")
    view = sliding_window_view(x, extent, axis=tuple(range(2, 2 + spatial)))
    step = (slice(None), slice(None))
    step += tuple(slice(None, None, s) for s in strides)
    step += tuple(slice(None, None, d) for d in dilations)
    return view[step]


def convolution(
    x: np.ndarray, weight: np.ndarray, strides: list[int], dilations: list[int], groups: int
) -> np.ndarray:
    """N-d cross-correlation, NC* layout, weight [C_out, C_in / groups, *kernel], no padding."""
    spatial = x.ndim - 2
    if weight.ndim != x.ndim:
        raise ValueError(f"weight rank {weight.ndim} does not match input rank {x.ndim}")
    if len(strides) != spatial or len(dilations) != spatial:
        raise ValueError(f"expected {spatial} strides and dilations")
    batch, channels = x.shape[:2]
    out_channels = weight.shape[0]
    if groups < 1 or channels % groups or out_channels % groups:
        raise ValueError(f"groups={groups} must divide C_in={channels} and C_out={out_channels}")
    if weight.shape[1] * groups != channels:
        expected = weight.shape[1] * groups
        raise ValueError(f"weight expects {expected} input channels, got {channels}")
    view = windows(x, weight.shape[2:], strides, dilations)
    out_spatial = view.shape[2 : 2 + spatial]
    grouped = view.reshape(batch, groups, channels // groups, *out_spatial, *weight.shape[2:])
    w = weight.reshape(groups, out_channels // groups, *weight.shape[1:])
    letters = "hijklm"[:spatial]
    taps = "pqrstu"[:spatial]
    out = np.einsum(f"ngc{letters}{taps},goc{taps}->ngo{letters}", grouped, w, optimize=True)
    return out.reshape(batch, out_channels, *out_spatial)


def conv_kernel(call: Call) -> np.ndarray:
    """`conv{2,3}d %x, %w, %strides, %dilations, %groups` (padding is an explicit pad op)."""
    dtype = call.dtype()
    x, w = as_compute(call.array(0), dtype), as_compute(call.array(1), dtype)
    return convolution(x, w, call.ints(2), call.ints(3), call.int(4))


kernel("coreai.conv1d", "coreai.conv2d", "coreai.conv3d")(conv_kernel)


def transposed_convolution(
    x: np.ndarray,
    weight: np.ndarray,
    strides: list[int],
    dilations: list[int],
    padding: list[int],
    output_padding: list[int],
    groups: int,
) -> np.ndarray:
    """torch's conv_transpose: weight [C_in, C_out / groups, *kernel].

    Computed as a convolution of the stride-dilated, padded input with the flipped kernel.
    """
    spatial = x.ndim - 2
    batch, channels = x.shape[:2]
    kernel_shape = weight.shape[2:]
    if channels % groups or weight.shape[0] != channels:
        raise ValueError(f"weight expects {weight.shape[0]} input channels, got {channels}")
    dilated_shape = [(n - 1) * s + 1 for n, s in zip(x.shape[2:], strides, strict=True)]
    dilated = np.zeros((batch, channels, *dilated_shape), dtype=x.dtype)
    dilated[(slice(None), slice(None), *(slice(None, None, s) for s in strides))] = x
    widths = [(0, 0), (0, 0)]
    for k, d, p, extra in zip(kernel_shape, dilations, padding, output_padding, strict=True):
        edge = d * (k - 1) - p
        widths.append((edge, edge + extra))
    crop = tuple(slice(max(-a, 0), None if b >= 0 else b) for a, b in widths)
    padded = np.pad(dilated, [(max(a, 0), max(b, 0)) for a, b in widths])[crop]
    in_per_group = channels // groups
    out_per_group = weight.shape[1]
    flipped = np.flip(weight, axis=tuple(range(2, 2 + spatial)))
    regrouped = flipped.reshape(groups, in_per_group, out_per_group, *kernel_shape)
    regrouped = np.swapaxes(regrouped, 1, 2).reshape(
        groups * out_per_group, in_per_group, *kernel_shape
    )
    return convolution(padded, regrouped, [1] * spatial, dilations, groups)


@kernel("coreai.conv_transpose1d", "coreai.conv_transpose2d", "coreai.conv_transpose3d")
def conv_transpose(call: Call) -> np.ndarray:
    """`conv_transpose2d %x, %w, %strides, %dilations, %padding, %output_padding, %groups`."""
    dtype = call.dtype()
    x, w = as_compute(call.array(0), dtype), as_compute(call.array(1), dtype)
    return transposed_convolution(
        x, w, call.ints(2), call.ints(3), call.ints(4), call.ints(5), call.int(6)
    )


# --------------------------------------------------------------------------- pooling


@kernel("coreai.sum_pool_1d", "coreai.sum_pool_2d", "coreai.sum_pool_3d")
def sum_pool(call: Call) -> np.ndarray:
    """`sum_pool_Nd %x, %kernel, %strides, %dilations`: window sums (no padding)."""
    x = as_compute(call.array(0), call.dtype())
    kernel_shape = tuple(call.ints(1))
    if len(kernel_shape) != x.ndim - 2:
        raise call.error(f"a {len(kernel_shape)}-d kernel for a rank-{x.ndim} input")
    view = windows(x, kernel_shape, call.ints(2), call.ints(3))
    return view.sum(axis=tuple(range(-len(kernel_shape), 0)))


@kernel("coreai.max_pool_2d")
def max_pool(call: Call) -> np.ndarray:
    """`max_pool_2d %x, %kernel, %strides, %dilations, %ceil_mode` (torch.nn.MaxPool2d)."""
    x = as_compute(call.array(0), call.dtype())
    kernel_shape, strides, dilations = call.ints(1), call.ints(2), call.ints(3)
    ceil_mode = len(call.args) > 4 and bool(call.array(4).reshape(-1)[0])
    if ceil_mode:
        extra = []
        for size, k, s, d in zip(x.shape[2:], kernel_shape, strides, dilations, strict=True):
            extent = d * (k - 1) + 1
            out = -(-(size - extent) // s) + 1
            if (out - 1) * s >= size:  # the last window must start inside the input
                out -= 1
            extra.append((out - 1) * s + extent - size)
        low = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
        x = np.pad(x, [(0, 0), (0, 0), *((0, e) for e in extra)], constant_values=low)
    view = windows(x, tuple(kernel_shape), strides, dilations)
    return view.max(axis=(-2, -1))


# --------------------------------------------------------------------------- reductions


def reduction(call: Call, reduce) -> np.ndarray:
    """Reduce operand 0 over the axes of operand 1; keepdims when the result keeps the rank."""
    x = call.array(0)
    axes = call.axes(1, x.ndim) if len(call.args) > 1 else tuple(range(x.ndim))
    keep = call.rank() == x.ndim
    return reduce(as_compute(x, call.dtype()), axes, keep)


REDUCTIONS = {
    "reduce_sum": lambda x, a, k: np.sum(x, axis=a, keepdims=k),
    "reduce_mean": lambda x, a, k: np.mean(x, axis=a, keepdims=k),
    "reduce_max": lambda x, a, k: np.max(x, axis=a, keepdims=k),
    "reduce_min": lambda x, a, k: np.min(x, axis=a, keepdims=k),
    "reduce_product": lambda x, a, k: np.prod(x, axis=a, keepdims=k),
}


def reduction_kernel(name: str) -> None:
    """Register `coreai.<name>`."""
    function = REDUCTIONS[name]

    @kernel("coreai." + name)
    def run(call: Call) -> np.ndarray:
        return reduction(call, function)

    run.__doc__ = f"`{name}` over the given axes."


for _name in REDUCTIONS:
    reduction_kernel(_name)


@kernel("coreai.any", "coreai.all")
def any_all(call: Call) -> np.ndarray:
    """`any`/`all` of truth values over the given axes."""
    x = call.array(0).astype(bool)
    axes = call.axes(1, x.ndim)
    keep = call.rank() == x.ndim
    function = np.any if call.op.name == "coreai.any" else np.all
    return function(x, axis=axes, keepdims=keep)


@kernel("coreai.argmax", "coreai.argmin")
def arg_extreme(call: Call) -> np.ndarray:
    """Index of the first maximum (minimum) along one axis; NaN counts as the maximum."""
    x = call.array(0)
    axis = call.axis(1, x.ndim)
    keep = call.rank() == x.ndim and x.ndim > 0
    function = np.argmax if call.op.name == "coreai.argmax" else np.argmin
    compute = x.astype(compute_dtype(x.dtype), copy=False)
    return function(compute, axis=axis, keepdims=keep)


def sort_order(call: Call, x: np.ndarray, axis: int) -> np.ndarray:
    """Stable order along `axis`: ascending, or descending when operand 2 is true; equal
    elements keep their input order either way and NaN counts as the largest value
    (`torch.sort(stable=True)`)."""
    descending = len(call.args) > 2 and bool(call.array(2).reshape(-1)[0])
    if not descending:
        return np.argsort(x, axis=axis, kind="stable")
    flipped = np.flip(x, axis=axis)
    order = np.argsort(flipped, axis=axis, kind="stable")
    return x.shape[axis] - 1 - np.flip(order, axis=axis)


@kernel("coreai.sort", "coreai.argsort")
def sort(call: Call) -> np.ndarray:
    """`sort %x, %axis, %descending, %stable` → the sorted values; `argsort` (same operands)
    → their indices in the result's integer type. Sorting is always stable (the fourth
    operand, `stable`, cannot change a stable sort's answer)."""
    x = call.array(0)
    axis = call.axis(1, x.ndim)
    order = sort_order(call, x, axis)
    if call.op.name == "coreai.argsort":
        return order.astype(call.dtype())
    return np.take_along_axis(as_compute(x, call.dtype()), order, axis=axis)


@kernel("coreai.softmax")
def softmax(call: Call) -> np.ndarray:
    """`softmax %x, %axis`: exp(x - max) / sum, in float32 for narrower floats."""
    x = as_compute(call.array(0), call.dtype())
    axis = call.axis(1, x.ndim)
    last = np.moveaxis(x, axis, -1)
    rows = np.ascontiguousarray(last).reshape(-1, max(1, x.shape[axis]) if x.size else 1)
    out = by_rows(softmax_rows, rows, x.dtype).reshape(last.shape)
    return np.moveaxis(out, -1, axis)


def softmax_rows(rows: np.ndarray) -> np.ndarray:
    """Softmax of each row of a 2-D array."""
    shifted = rows - np.max(rows, axis=1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= np.sum(shifted, axis=1, keepdims=True)
    return shifted


SCAN_COMBINERS = {
    "sum": np.cumsum,
    "product": np.cumprod,
    "prod": np.cumprod,
    "max": np.maximum.accumulate,
    "min": np.minimum.accumulate,
}


@kernel("coreai.scan")
def scan(call: Call) -> np.ndarray:
    """`scan %x, %axis, %reverse combiner = <sum>`: inclusive prefix combination (cumsum)."""
    x = as_compute(call.array(0), call.dtype())
    axis = call.axis(1, x.ndim)
    backwards = len(call.args) > 2 and bool(call.array(2).reshape(-1)[0])
    combiner = call.enum("combiner", "sum")
    if combiner not in SCAN_COMBINERS:
        choices = ", ".join(SCAN_COMBINERS)
        raise call.error(f"unknown combiner = <{combiner}> (expected one of {choices})")
    if backwards:
        x = np.flip(x, axis)
    out = SCAN_COMBINERS[combiner](x, axis=axis)
    return np.flip(out, axis) if backwards else out


# --------------------------------------------------------------------------- resampling


def linear_axis(x: np.ndarray, axis: int, size: int, scale: float, offset: float) -> np.ndarray:
    """Linear resampling of one axis, half-pixel centres (torch align_corners=False)."""
    length = x.shape[axis]
    source = (np.arange(size, dtype=np.float64) + 0.5) / scale - 0.5 + offset
    source = np.clip(source, 0.0, length - 1)
    low = np.floor(source).astype(np.int64)
    high = np.minimum(low + 1, length - 1)
    weight = (source - low).astype(x.dtype)
    shape = [1] * x.ndim
    shape[axis] = size
    weight = weight.reshape(shape)
    return np.take(x, low, axis=axis) * (1 - weight) + np.take(x, high, axis=axis) * weight


def nearest_axis(x: np.ndarray, axis: int, size: int, scale: float, offset: float) -> np.ndarray:
    """Nearest resampling of one axis: source = floor(dst / scale + offset) (torch 'nearest')."""
    length = x.shape[axis]
    source = np.floor(np.arange(size, dtype=np.float64) / scale + offset).astype(np.int64)
    return np.take(x, np.clip(source, 0, length - 1), axis=axis)


RESAMPLERS = {
    "linear": linear_axis,
    "bilinear": linear_axis,
    "nearest_neighbor": nearest_axis,
    "nearest": nearest_axis,
}
"""`#coreai.interpolation_mode<...>` values: Apple's converter prints `linear` and
`nearest_neighbor`; `bilinear` and `nearest` are accepted as synonyms."""


@kernel("coreai.interpolate")
def interpolate(call: Call) -> np.ndarray:
    """`interpolate %x, %sizes, %scales, %offsets {interpolation_mode}`, one axis at a time."""
    if len(call.args) != 4 or call.array(3).dtype == np.bool_:
        raise call.error("expects operands (x, output sizes, scales, offsets)")
    x = as_compute(call.array(0), call.dtype())
    sizes = call.ints(1)
    scales = call.array(2).astype(np.float64).reshape(-1)
    offsets = call.array(3).astype(np.float64).reshape(-1)
    if not len(sizes) == len(scales) == len(offsets) == x.ndim:
        raise call.error(f"sizes, scales and offsets need {x.ndim} values each")
    mode = call.enum("interpolation_mode", "linear")
    resample = RESAMPLERS.get(mode)
    if resample is None:
        raise call.error(f"unknown interpolation_mode {mode} (expected linear or nearest_neighbor)")
    for axis in range(x.ndim):
        if sizes[axis] == x.shape[axis] and scales[axis] == 1.0 and offsets[axis] == 0.0:
            continue
        x = resample(x, axis, sizes[axis], float(scales[axis]), float(offsets[axis]))
    return x
