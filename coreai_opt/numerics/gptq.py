"""GPTQ: integer quantization that feeds each column's rounding error forward (Frantar et al.).

The weight is seen as ``W [rows, cols]``: rows are output channels, columns the input axis
the layer contracts with its activations ``X [tokens, cols]``. GPTQ minimises
``‖(W − Ŵ) Xᵀ‖²`` column by column: after column ``j`` is rounded, its error is spread over
the columns not yet rounded through ``H⁻¹`` (``H = 2 XᵀX``), so they absorb what ``j`` lost.

- ``H`` is damped by ``damp · mean(diag H)`` on the diagonal; columns whose input never
  varies (``H_jj = 0``, *dead*) get ``H_jj = 1``: they are rounded to nearest, and neither
  receive nor spread error (their weights are kept, not zeroed, so inputs the calibration
  never showed still see them).
- The upper Cholesky factor ``U`` of ``H⁻¹`` (``H⁻¹ = UᵀU``) gives the updates: column
  ``j``'s error ``(w_j − ŵ_j) / U_jj`` times row ``U_j,j+1:``. Columns are processed in
  *lazy batches* (128 columns, a multiple of the group size): the error of a batch reaches
  the later columns in one matrix product.
- Quantization parameters are those of round-to-nearest (``quantize_int``: the same scales,
  zero points, rounding and clipping), computed from the weight as GPTQ sees it; or, with
  ``IntegerScheme.search``, those of the data-free MSE search (``quantize_int_mse``: a
  scale, a zero point and a float ``offset2`` per group, codes
  ``clip(rint((w − offset2) / s) + zp)`` over the dtype's whole code range). Parameters
  shared along the input axis (per tensor, per channel, per grouped channel) come from the
  original weight. Per-block groups choose theirs when the group starts, from the group's
  columns as earlier errors left them; with ``act_order`` (columns in decreasing ``H_jj``)
  groups are no longer visited in order, so every group's parameters are fixed first, from
  the original weight (the layout ``blockwise_shift_scale`` needs: contiguous groups).
- With ``H = I`` nothing is spread, and the result equals round-to-nearest (with ``search``:
  ``quantize_int_mse``) exactly.
- ``IntegerScheme.refit``: once the codes are chosen, each row's scales (and, for the
  search's asymmetric schemes, offset2) are refitted to them by least squares on the layer
  error (`refit_parameters`), kept per row only where that error drops.

Everything is float64 except the rounding step itself, which divides in the dtype
round-to-nearest uses (float32 for 16- and 32-bit weights), so codes agree with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coreai_opt.numerics.finite import float_info
from coreai_opt.numerics.quantization import (
    QuantizedTensor,
    expand_blockwise,
    integer_range,
    quantize_int,
)
from coreai_opt.numerics.search import quantize_int_mse

LAZY_BATCH = 128
"""Columns per lazy batch (rounded up to a multiple of the group size)."""


@dataclass(frozen=True)
class IntegerScheme:
    """An integer quantization scheme: bits, signedness, symmetric or not, and the block
    shape of its parameters on ``[rows, cols]`` (0 = whole axis, as in ``quantize_int``)."""

    n_bits: int
    signed: bool
    symmetric: bool
    block_shape: tuple[int, int]
    clip_search: bool = False
    """Choose each group's range by the clip search (`searched_parameters`), its squared
    error weighted per column by ``diag(H)``."""
    search: bool = False
    """Take each group's (scale, zero point, offset2) from the data-free MSE search
    (``search_qparams_int``, as ``quantize<algorithm=mse>``) instead of round-to-nearest."""
    refit: bool = False
    """After the sweep, refit every row's scales (with ``search`` and an asymmetric scheme,
    offset2 too) to the codes by least squares on the layer error (`refit_parameters`);
    needs one row per parameter block."""
    refit_rounds: int = 1
    """Sweeps, each followed by the refit (the later ones with the refitted parameters)."""

    def __post_init__(self) -> None:
        if self.search and self.clip_search:
            raise GptqError("the clip search and the MSE search parameters exclude each other")
        if self.refit and self.block_shape[0] != 1:
            raise GptqError("the refit needs parameters of one row (per channel or per block)")
        if self.refit_rounds < 1 or (self.refit_rounds > 1 and not self.refit):
            raise GptqError(f"refit rounds must be 1, or more with the refit: {self.refit_rounds}")

    @property
    def refits_offsets(self) -> bool:
        """The refit also moves the float offset2 (the search's asymmetric schemes)."""
        return self.search and not self.symmetric

    @property
    def group_size(self) -> int:
        """Columns sharing parameters (0: all of them)."""
        return self.block_shape[1]

    @property
    def code_range(self) -> tuple[int, int]:
        """Smallest and largest code: the search uses the dtype's whole range."""
        return integer_range(self.n_bits, self.signed, self.symmetric and not self.search)

    def parameters(
        self,
        weight: np.ndarray,
        block_shape: tuple[int, int],
        importance: np.ndarray | None = None,
    ) -> QuantizedTensor:
        """Parameters (with codes) of ``weight`` (weight dtype) for ``block_shape``:
        round-to-nearest's, the clip search's (column errors weighted by ``importance``)
        or the MSE search's (``quantize_int_mse``: ``offset2`` set)."""
        if self.search:
            return quantize_int_mse(weight, self.n_bits, self.signed, self.symmetric, block_shape)
        if self.clip_search:
            return searched_parameters(weight, self, block_shape, importance)
        return quantize_int(weight, self.n_bits, self.signed, self.symmetric, block_shape)


CLIP_RATIOS = tuple(1 - 0.05 * i for i in range(11))
"""Range shrink factors the clip search tries: 1, 0.95, ..., 0.5."""


def searched_parameters(
    weight: np.ndarray,
    scheme: IntegerScheme,
    block_shape: tuple[int, int],
    importance: np.ndarray | None = None,
) -> QuantizedTensor:
    """Per block, the round-to-nearest parameters of the weight scaled by the ratio in
    ``CLIP_RATIOS`` (its range shrunk about zero) that minimise the block's squared
    error when the unscaled weight is quantized with them (values outside clip), each
    column's error weighted by ``importance`` (e.g. ``diag(H)``; default 1). Ratio 1 is
    round-to-nearest, so the weighted error is never above its."""
    best: QuantizedTensor | None = None
    best_error: np.ndarray | None = None
    low, high = integer_range(scheme.n_bits, scheme.signed, scheme.symmetric)
    original = weight.astype(np.float64)
    for ratio in CLIP_RATIOS:
        shrunk = (weight.astype(np.float64) * ratio).astype(weight.dtype)
        trial = quantize_int(shrunk, scheme.n_bits, scheme.signed, scheme.symmetric, block_shape)
        scale = expand_blockwise(trial.scale, weight.shape)
        zero_point = expand_blockwise(trial.offset, weight.shape).astype(np.float64)
        compute = np.float64 if weight.dtype == np.float64 else np.float32
        codes = np.clip(
            np.rint(weight.astype(compute) / scale.astype(compute)) + zero_point, low, high
        )
        squared = (original - (codes - zero_point) * scale.astype(np.float64)) ** 2
        if importance is not None:
            squared *= importance
        error = block_sums(squared, trial.scale.shape)
        data = codes.astype(trial.data.dtype)
        if best is None or best_error is None:
            best, best_error = QuantizedTensor(data, trial.scale, trial.offset), error
            continue
        better = error < best_error
        best_error = np.where(better, error, best_error)
        best = QuantizedTensor(
            np.where(expand_blockwise(better, weight.shape), data, best.data),
            np.where(better, trial.scale, best.scale),
            np.where(better, trial.offset, best.offset),
        )
    assert best is not None
    return best


def block_sums(values: np.ndarray, param_shape: tuple[int, ...]) -> np.ndarray:
    """Sums of ``values`` ([rows, cols]) over the blocks of a parameter shape."""
    rows, cols = values.shape
    p_rows, p_cols = param_shape
    return values.reshape(p_rows, rows // p_rows, p_cols, cols // p_cols).sum(axis=(1, 3))


class GptqError(ValueError):
    """GPTQ cannot run on this weight (a Hessian that is not positive definite, ...)."""


def damped_hessian(hessian: np.ndarray, damp: float) -> np.ndarray:
    """``H`` in float64 with dead columns set to 1 on the diagonal, then damped."""
    h = np.array(hessian, dtype=np.float64)
    if h.ndim != 2 or h.shape[0] != h.shape[1]:
        raise GptqError(f"the Hessian must be square, got shape {h.shape}")
    if not np.isfinite(h).all():
        raise GptqError("the Hessian holds NaN or inf (non-finite calibration activations)")
    diagonal = np.einsum("ii->i", h)
    diagonal[diagonal == 0] = 1.0
    diagonal += damp * float(diagonal.mean())
    return h


def inverse_cholesky_upper(hessian: np.ndarray) -> np.ndarray:
    """Upper triangular ``U`` with ``UᵀU = H⁻¹`` (float64).

    With ``J`` the reversal permutation and ``L`` the lower Cholesky factor of ``JHJ``,
    ``U = J L⁻¹ J``: ``UᵀU = J L⁻ᵀ L⁻¹ J = (J L Lᵀ J)⁻¹ = H⁻¹``, and reversing rows and
    columns of the lower triangular ``L⁻¹`` makes it upper triangular. One factorisation
    and one triangular inverse, instead of inverting ``H`` and factorising the inverse.
    """
    try:
        lower = np.linalg.cholesky(hessian[::-1, ::-1])
    except np.linalg.LinAlgError:
        raise GptqError("the damped Hessian is not positive definite (raise damp)") from None
    inverse = np.linalg.inv(lower)
    return np.ascontiguousarray(np.triu(inverse[::-1, ::-1]))


def round_columns(
    values: np.ndarray,
    scale: np.ndarray,
    zero_point: np.ndarray,
    scheme: IntegerScheme,
    offset2: np.ndarray | None = None,
) -> np.ndarray:
    """Codes of ``values`` (float64) with parameters of the same shape:
    ``clip(rint((v − offset2) / scale) + zero_point)``, computed in ``scale``'s compute
    dtype as the encoder (``quantize_with_qparams``) does."""
    compute = np.float64 if scale.dtype == np.float64 else np.float32
    low, high = scheme.code_range
    shifted = values.astype(compute)
    if offset2 is not None:
        shifted = shifted - offset2.astype(compute)
    codes = np.rint(shifted / scale.astype(compute))
    codes += zero_point.astype(compute)
    return np.clip(codes, low, high)


@dataclass
class GroupParameters:
    """Scale, zero point and offset2 (None: zero) per row and group ([rows, groups]);
    ``fixed`` when all are chosen up front, else filled as groups start."""

    scale: np.ndarray
    zero_point: np.ndarray
    offset2: np.ndarray | None
    fixed: bool

    @classmethod
    def up_front(
        cls, weight: np.ndarray, scheme: IntegerScheme, importance: np.ndarray
    ) -> GroupParameters:
        """Every group's parameters from the original weight."""
        found = scheme.parameters(weight, scheme.block_shape, importance)
        scale, zero_point, offset2 = found.scale, found.offset, found.offset2
        if scheme.search and offset2 is None:
            offset2 = np.zeros_like(scale)
        repeat = weight.shape[0] // scale.shape[0]
        if offset2 is not None:
            offset2 = np.repeat(offset2, repeat, axis=0)
        return cls(
            np.repeat(scale, repeat, axis=0),
            np.repeat(zero_point, repeat, axis=0),
            offset2,
            fixed=True,
        )

    @classmethod
    def given(cls, quantized: QuantizedTensor, rows: int, scheme: IntegerScheme) -> GroupParameters:
        """Fixed parameters from a result in the layout of ``scheme.block_shape``."""
        repeat = rows // quantized.scale.shape[0]
        offset2 = quantized.offset2
        if offset2 is None and scheme.search:
            offset2 = np.zeros_like(quantized.scale)
        return cls(
            np.repeat(quantized.scale, repeat, axis=0),
            np.repeat(quantized.offset, repeat, axis=0).astype(np.int64),
            None if offset2 is None else np.repeat(offset2, repeat, axis=0),
            fixed=True,
        )

    @classmethod
    def empty(cls, weight: np.ndarray, scheme: IntegerScheme) -> GroupParameters:
        """Room for every group's parameters, chosen as the sweep reaches the groups."""
        shape = (weight.shape[0], weight.shape[1] // scheme.group_size)
        offset2 = np.zeros(shape, weight.dtype) if scheme.search else None
        return cls(np.empty(shape, weight.dtype), np.empty(shape, np.int64), offset2, False)

    def choose(
        self, g: int, columns: np.ndarray, scheme: IntegerScheme, importance: np.ndarray
    ) -> None:
        """Group ``g``'s parameters from its columns ([rows, group], weight dtype)."""
        found = scheme.parameters(columns, (scheme.block_shape[0], 0), importance)
        scale, zero_point, offset2 = found.scale, found.offset, found.offset2
        repeat = columns.shape[0] // scale.shape[0]
        self.scale[:, g] = np.repeat(scale[:, 0], repeat)
        self.zero_point[:, g] = np.repeat(zero_point[:, 0], repeat)
        if self.offset2 is not None and offset2 is not None:
            self.offset2[:, g] = np.repeat(offset2[:, 0], repeat)

    def stored(
        self, rows: int, scheme: IntegerScheme
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(scale, offset1, offset2 or None) in the parameter shape of ``scheme.block_shape``."""
        step = scheme.block_shape[0] or rows
        offset2 = None if self.offset2 is None else self.offset2[::step].copy()
        return self.scale[::step].copy(), self.zero_point[::step].copy(), offset2


def gptq_quantize(
    weight: np.ndarray,
    hessian: np.ndarray,
    scheme: IntegerScheme,
    damp: float = 0.01,
    act_order: bool = False,
    initial: QuantizedTensor | None = None,
) -> QuantizedTensor:
    """GPTQ of ``weight`` ([rows, cols], a float dtype) given ``hessian`` ([cols, cols]).

    Returns codes, scales and zero points (and offset2, with the search) in the layout
    ``quantize_int`` gives for ``scheme.block_shape``, so the result dequantizes with
    ``blockwise_shift_scale``. ``initial`` (a result of that layout) fixes every group's
    parameters instead of choosing them. With ``scheme.refit`` the sweep is followed by the
    refit, ``scheme.refit_rounds`` times: each round after the first sweeps again with the
    parameters the previous refit left, fixed, and refits.
    """
    if weight.ndim != 2:
        raise GptqError(f"GPTQ needs a 2-D weight, got shape {weight.shape}")
    rows, cols = weight.shape
    if hessian.shape != (cols, cols):
        raise GptqError(f"Hessian of shape {hessian.shape} does not fit a weight of {cols} columns")
    group = scheme.group_size or cols
    if cols % group:
        raise GptqError(f"group size {group} does not divide {cols} columns")
    h = damped_hessian(hessian, damp)
    importance = np.diag(h).copy()
    order = np.argsort(-np.diag(h), kind="stable") if act_order else np.arange(cols)
    factor = inverse_cholesky_upper(h[np.ix_(order, order)])
    if initial is not None:
        params = GroupParameters.given(initial, rows, scheme)
    elif scheme.group_size == 0 or act_order:
        params = GroupParameters.up_front(weight, scheme, importance)
    else:
        params = GroupParameters.empty(weight, scheme)
    data_dtype = np.int8 if scheme.signed else np.uint8
    for _ in range(scheme.refit_rounds if scheme.refit else 1):
        codes = sweep(weight, factor, order, params, scheme, importance).astype(data_dtype)
        scale, offset, offset2 = params.stored(rows, scheme)
        if scheme.refit:
            shift = np.zeros_like(scale) if offset2 is None else offset2
            scale, offset2 = refit_parameters(weight, codes, scale, offset, shift, h, scheme)
        if offset2 is not None and not offset2.any():
            offset2 = None
        result = QuantizedTensor(codes, scale, offset.astype(data_dtype), offset2)
        params = GroupParameters.given(result, rows, scheme)
    return result


def sweep(
    weight: np.ndarray,
    factor: np.ndarray,
    order: np.ndarray,
    params: GroupParameters,
    scheme: IntegerScheme,
    importance: np.ndarray,
) -> np.ndarray:
    """GPTQ's column sweep in ``order``: the codes ([rows, cols], weight column order);
    ``params`` are filled as groups start unless fixed."""
    rows, cols = weight.shape
    group = scheme.group_size or cols
    # transposed ([cols, rows], C order): a column of the weight is a contiguous row here
    work = np.array(weight[:, order].T, dtype=np.float64, order="C")
    codes = np.empty((cols, rows), dtype=np.int64)
    batch = max(group, LAZY_BATCH - LAZY_BATCH % group) if scheme.group_size else LAZY_BATCH
    for start in range(0, cols, batch):
        stop = min(start + batch, cols)
        errors = quantize_batch(
            work, codes, factor, order, params, scheme, (start, stop), importance
        )
        work[stop:] -= factor[start:stop, stop:].T @ errors
    restored = np.empty((rows, cols), dtype=np.int64)
    restored[:, order] = codes.T
    return restored


def quantize_batch(
    work: np.ndarray,
    codes: np.ndarray,
    factor: np.ndarray,
    order: np.ndarray,
    params: GroupParameters,
    scheme: IntegerScheme,
    span: tuple[int, int],
    importance: np.ndarray,
) -> np.ndarray:
    """Round weight columns ``start:stop`` (rows of the transposed ``work``) in place,
    spreading each one's error over the rest of the batch; returns the scaled errors
    ([stop - start, rows]) for the columns after the batch. ``importance`` (``diag H``)
    weighs the clip search of groups."""
    start, stop = span
    group = scheme.group_size or work.shape[0]
    errors = np.empty((stop - start, work.shape[1]))
    for column in range(start, stop):
        original = order[column]
        g = original // group
        if not params.fixed and original % group == 0:
            columns = work[column : column + group].T.astype(params.scale.dtype)
            params.choose(g, columns, scheme, importance[column : column + group])
        scale, zero_point = params.scale[:, g], params.zero_point[:, g]
        offset2 = None if params.offset2 is None else params.offset2[:, g]
        value = work[column]
        code = round_columns(value, scale, zero_point, scheme, offset2)
        codes[column] = code
        dequantized = (code - zero_point) * scale.astype(np.float64)
        if offset2 is not None:
            dequantized += offset2.astype(np.float64)
        error = (value - dequantized) / factor[column, column]
        work[column + 1 : stop] -= np.outer(factor[column, column + 1 : stop], error)
        errors[column - start] = error
    return errors


def group_sums(values: np.ndarray, group: int) -> np.ndarray:
    """Sums over consecutive runs of ``group`` entries of the last axis."""
    return values.reshape(*values.shape[:-1], -1, group).sum(axis=-1)


def refit_parameters(
    weight: np.ndarray,
    codes: np.ndarray,
    scale: np.ndarray,
    zero_point: np.ndarray,
    offset2: np.ndarray,
    hessian: np.ndarray,
    scheme: IntegerScheme,
) -> tuple[np.ndarray, np.ndarray]:
    """(scale, offset2) ([rows, groups], weight dtype) refitted to fixed ``codes``.

    Row ``r`` dequantizes as ``ŵ_j = s_g (c_j − zp_g) + o_g`` on the columns ``j`` of group
    ``g``: linear in ``θ = (s, o)``. The ``θ`` minimising the layer error
    ``(w − ŵ)ᵀ H (w − ŵ)`` (``H`` the damped Hessian GPTQ used) solves the normal equations
    ``(Aᵀ H A) θ = Aᵀ H w``, ``A`` the ``[cols, 2 groups]`` basis (centred codes, ones).
    Unless ``scheme.refits_offsets`` only ``s`` is refitted (``o`` stays 0: integer zero
    points, no offset2 to store). A row keeps its new parameters if,
    rounded to the weight dtype, they are positive, finite, cannot overflow it, and lower
    the row's layer error; otherwise its old ones.
    """
    rows, cols = codes.shape
    group = scheme.group_size or cols
    groups = cols // group
    centred = codes.astype(np.float64) - np.repeat(zero_point.astype(np.float64), group, axis=1)
    w = weight.astype(np.float64)
    bases = [centred, np.ones((rows, cols))] if scheme.refits_offsets else [centred]
    wh = w @ hessian
    size = len(bases) * groups
    normal = np.empty((rows, size, size))
    rhs = np.empty((rows, size))
    for a, basis in enumerate(bases):
        rhs[:, a * groups : (a + 1) * groups] = group_sums(basis * wh, group)
        for g in range(groups):
            columns = slice(g * group, (g + 1) * group)
            reach = basis[:, columns] @ hessian[columns]  # Σ_{i∈g} u_i H_ij, [rows, cols]
            for b, other in enumerate(bases):
                normal[:, a * groups + g, b * groups : (b + 1) * groups] = group_sums(
                    reach * other, group
                )
    ridge = 1e-12 * np.abs(np.einsum("rii->ri", normal)).max(axis=1)
    normal[:, np.arange(size), np.arange(size)] += ridge[:, None]
    try:
        theta = np.linalg.solve(normal, rhs[..., None])[..., 0]
    except np.linalg.LinAlgError:
        return scale, offset2
    with np.errstate(over="ignore", invalid="ignore"):
        new_scale = theta[:, :groups].astype(scale.dtype)
        new_offset2 = (
            theta[:, groups:].astype(offset2.dtype)
            if scheme.refits_offsets
            else np.zeros_like(offset2)
        )
    low, high = scheme.code_range
    reach = np.maximum(zero_point.astype(np.float64) - low, high - zero_point.astype(np.float64))
    bound = new_scale.astype(np.float64) * reach + np.abs(new_offset2.astype(np.float64))
    limit = float(float_info(scale.dtype).max)
    valid = (
        (new_scale.astype(np.float64) > 0).all(axis=1)
        & np.isfinite(new_offset2.astype(np.float64)).all(axis=1)
        & (bound <= limit).all(axis=1)
    )
    old_error = row_errors(w, centred, scale, offset2, hessian, group)
    new_error = row_errors(w, centred, new_scale, new_offset2, hessian, group)
    keep = (valid & (new_error < old_error))[:, None]
    return np.where(keep, new_scale, scale), np.where(keep, new_offset2, offset2)


def row_errors(
    w: np.ndarray,
    centred: np.ndarray,
    scale: np.ndarray,
    offset2: np.ndarray,
    hessian: np.ndarray,
    group: int,
) -> np.ndarray:
    """Each row's layer error ``(w − ŵ)ᵀ H (w − ŵ)`` for ``ŵ = s (c − zp) + o`` (float64)."""
    with np.errstate(over="ignore", invalid="ignore"):
        approximation = centred * np.repeat(scale.astype(np.float64), group, axis=1)
        approximation += np.repeat(offset2.astype(np.float64), group, axis=1)
        delta = w - approximation
        return np.einsum("ij,ij->i", delta @ hessian, delta)


def layer_error(weight: np.ndarray, approximation: np.ndarray, hessian: np.ndarray) -> float:
    """``trace((W − Ŵ) H (W − Ŵ)ᵀ)``: with ``H = XᵀX``, the squared layer output error
    ``‖(W − Ŵ) Xᵀ‖²``."""
    delta = np.asarray(weight, np.float64) - np.asarray(approximation, np.float64)
    return float(np.einsum("ij,jk,ik->", delta, np.asarray(hessian, np.float64), delta))
