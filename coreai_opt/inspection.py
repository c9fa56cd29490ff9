"""Know what compression did: per-weight scheme, stored bytes, bits per weight and SNR.

A *weight* is every float value that a non-compression op consumes and that is computed
from constants only (a constant, or a chain of `blockwise_shift_scale`, `lut_to_dense`,
bitmask-sparse and `cast` ops over constants). Its stored bytes are those of all the
constants of its chain (data, scales, zero points, LUTs, masks: everything is counted).

`compression_report(original, compressed)` matches weights of the two programs by SSA name
(or source location) and adds the SNR of the decompressed weight against the original;
`bits_per_weight(program)` works on a program alone.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import numpy as np
from xdsl.dialects.builtin import TensorType
from xdsl.ir import Operation, SSAValue

from coreai_opt.dialects.coreai import (
    COMPRESSION_OPS,
    BlockwiseShiftScaleOp,
    CastOp,
    ConstantOp,
    LutToDenseOp,
    SparseWithBitmaskToDenseOp,
)
from coreai_opt.ir.dtypes import is_float_type
from coreai_opt.ir.elements import element_count, elements_array, stored_nbytes
from coreai_opt.ir.text import source_location


@dataclass
class WeightReport:
    """One weight of a program."""

    name: str
    location: str | None
    shape: list[int]
    consumer: str
    original_dtype: str
    scheme: str
    stored_bytes: int
    bits_per_weight: float
    snr_db: float | None
    note: str = ""
    """Why a weight was left dense, when a pass said so."""


@dataclass
class ProgramReport:
    """All weights and the totals (SNR weighted by signal energy)."""

    weights: list[WeightReport]
    total_weights: int
    bytes_before: int | None
    bytes_after: int
    bits_per_weight: float
    snr_db: float | None

    def to_dict(self) -> dict:
        """A JSON-ready dictionary (an infinite SNR becomes the string "inf" or "-inf")."""
        data = asdict(self)
        for entry in [data, *data["weights"]]:
            if entry["snr_db"] is not None and math.isinf(entry["snr_db"]):
                entry["snr_db"] = "inf" if entry["snr_db"] > 0 else "-inf"
        return data

    def to_json(self) -> str:
        """The report as strict JSON (documented in docs/report.md): never NaN or Infinity."""
        return json.dumps(self.to_dict(), indent=2, allow_nan=False)

    def table(self) -> str:
        """A readable fixed-width table with a totals line."""
        header = (
            f"{'weight':<24} {'shape':<14} {'consumer':<22} {'dtype':<6} {'scheme':<48} "
            f"{'bytes':>12} {'bpw':>6} {'SNR dB':>7}"
        )
        lines = [header, "-" * len(header)]
        for w in self.weights:
            shape = "x".join(map(str, w.shape))
            snr = "" if w.snr_db is None else f"{w.snr_db:7.2f}"
            lines.append(
                f"{tail(w.name, 24):<24} {shape:<14} {tail(w.consumer, 22):<22} "
                f"{w.original_dtype:<6} "
                f"{w.scheme[:48]:<48} {w.stored_bytes:>12,} {w.bits_per_weight:6.2f} {snr:>7}"
                + (f"  ({w.note})" if w.note else "")
            )
        before = "" if self.bytes_before is None else f"{self.bytes_before / 1e6:.2f} MB -> "
        snr = "" if self.snr_db is None else f", SNR {self.snr_db:.2f} dB"
        lines.append("-" * len(header))
        lines.append(
            f"total: {len(self.weights)} weight{'' if len(self.weights) == 1 else 's'}, "
            f"{self.total_weights:,} values, {before}"
            f"{self.bytes_after / 1e6:.2f} MB, {self.bits_per_weight:.2f} bits/weight{snr}"
        )
        return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- chains


def tail(text: str, width: int) -> str:
    """`text`, or its end after an ellipsis when longer than `width`: a weight named by its
    location keeps `file:line:col`, an op name its last word."""
    return text if len(text) <= width else "\u2026" + text[-(width - 1) :]


def chain_constants(value: SSAValue) -> list[ConstantOp] | None:
    """The constants a weight is computed from, or None if it depends on anything else."""
    owner = value.owner
    if isinstance(owner, ConstantOp):
        return [owner]
    if not isinstance(owner, COMPRESSION_OPS):
        return None
    found: list[ConstantOp] = []
    for operand in owner.operands:
        leaves = chain_constants(operand)
        if leaves is None:
            return None
        found.extend(leaves)
    return found


def weight_roots(module: Operation) -> Iterator[tuple[SSAValue, Operation]]:
    """(weight value, first consumer) for every float weight, in program order, once each."""
    seen: set[SSAValue] = set()
    for op in module.walk():
        if isinstance(op, COMPRESSION_OPS):
            continue
        for operand in op.operands:
            if operand in seen or not isinstance(operand.type, TensorType):
                continue
            if not is_float_type(operand.type.get_element_type()):
                continue
            if chain_constants(operand) is None:
                continue
            seen.add(operand)
            yield operand, op


def identity(value: SSAValue) -> str:
    """How a weight is recognised across programs: its SSA name, else its location."""
    if value.name_hint:
        return value.name_hint
    return source_location(value.owner) or f"<{value.owner.name}>"


# --------------------------------------------------------------------------- schemes


def granularity(data_shape: tuple[int, ...], param_shape: tuple[int, ...]) -> str:
    """per_tensor / per_channel / per_block(b) / per_grouped_channel(g) from the shapes."""
    blocks = [d // max(p, 1) for d, p in zip(data_shape, param_shape, strict=True)]
    split = [
        (axis, b) for axis, (b, p) in enumerate(zip(blocks, param_shape, strict=True)) if p > 1
    ]
    if not split:
        return "per_tensor"
    if len(split) == 1:
        block = split[0][1]
        return "per_channel" if block == 1 else f"per_grouped_channel({block})"
    inner = [b for _, b in split if b > 1]
    return f"per_block({inner[0]})" if len(inner) == 1 else "blockwise"


def dtype_name(element: object) -> str:
    """`int4`, `uint8`, `fp8_e4m3fn`, `f16` ... for an MLIR element type."""
    text = str(element)
    if text.startswith("si"):
        return f"int{text[2:]}"
    if text.startswith("ui"):
        return f"uint{text[2:]}"
    return {
        "f8E4M3FN": "fp8_e4m3fn",
        "f8E5M2": "fp8_e5m2",
        "f4E2M1FN": "fp4_e2m1fn",
        "f8E8M0FNU": "e8m0",
    }.get(text, text)


def constant_array(value: SSAValue) -> np.ndarray | None:
    """The array of a constant operand, if it is one."""
    owner = value.owner
    return elements_array(owner.value) if isinstance(owner, ConstantOp) else None


def describe_quantization(op: BlockwiseShiftScaleOp) -> str:
    """`int4 per_block(32) sym`, `mxfp8_e4m3fn per_block(32)` ..."""
    data_type = op.data.type
    data_name = dtype_name(data_type.get_element_type())
    shape = tuple(data_type.get_shape())
    params = tuple(op.scale.type.get_shape())
    grain = granularity(shape, params)
    if str(op.scale.type.get_element_type()) == "f8E8M0FNU":
        return f"mx{data_name} {grain}"
    if not data_name.startswith(("int", "uint")):
        return f"{data_name} {grain}"
    zero_point = constant_array(op.offset1)
    bits = int(data_name.lstrip("uint"))
    symmetric_zp = 0 if data_name.startswith("int") else 2 ** (bits - 1) - 1
    symmetric = zero_point is not None and bool(np.all(zero_point == symmetric_zp))
    return f"{data_name} {grain} {'sym' if symmetric else 'asym'}"


def describe_palettization(op: LutToDenseOp) -> str:
    """`palettize 4-bit per_grouped_channel(16)`, with vector size and LUT dtype."""
    bits = int(str(op.indices.type.get_element_type())[2:])
    lut_shape = tuple(op.lut.type.get_shape())
    rank = len(op.indices.type.get_shape())
    grain = granularity(tuple(op.indices.type.get_shape()), lut_shape[:rank])
    text = f"palettize {bits}-bit {grain}"
    if lut_shape[-1] > 1:
        text += f" vector({lut_shape[-1]})"
    lut_element = op.lut.type.get_element_type()
    if not is_float_type(lut_element) or str(lut_element).startswith("f8"):
        text += f" lut {dtype_name(lut_element)}"
    return text


def describe(value: SSAValue) -> str:
    """The compression scheme that produces a weight."""
    owner = value.owner
    if isinstance(owner, ConstantOp):
        return f"dense {dtype_name(value.type.get_element_type())}"
    if isinstance(owner, CastOp):
        return describe(owner.input)
    if isinstance(owner, LutToDenseOp):
        return describe_palettization(owner)
    if isinstance(owner, SparseWithBitmaskToDenseOp):
        build = owner.sparse.owner
        mask = constant_array(build.mask)
        density = float(np.count_nonzero(mask)) / max(mask.size, 1) if mask is not None else 1.0
        inner = describe(build.values)
        text = f"sparse {100 * (1 - density):.0f}%"
        return text if inner.startswith("dense") else f"{text} + {inner}"
    if isinstance(owner, BlockwiseShiftScaleOp):
        source = owner.data.owner
        if isinstance(source, LutToDenseOp | BlockwiseShiftScaleOp | CastOp):
            inner = describe(owner.data)
            # A scale over float data restores per-channel scales; over LUT codes it
            # dequantizes the LUT (already named by describe_palettization).
            data_element = str(owner.data.type.get_element_type())
            rescales_floats = data_element in ("f16", "bf16", "f32")
            return f"{inner} + pcs" if rescales_floats and inner.startswith("palettize") else inner
        if isinstance(source, SparseWithBitmaskToDenseOp):  # codes densified, then scaled
            sparse = describe(owner.data).split(" + ")[0]
            return f"{sparse} + {describe_quantization(owner)}"
        return describe_quantization(owner)
    return "unknown"


# --------------------------------------------------------------------------- reports


def weight_entries(
    program, originals: dict[str, tuple[np.ndarray, str]] | None
) -> tuple[list[WeightReport], dict[str, tuple[float, float]]]:
    """WeightReport per weight of `program` (SNR when `originals` are given), and the
    (signal, noise) energies of the weights that have an original."""
    from coreai_opt.passes.decompress import DecompressPass
    from coreai_opt.pipeline import PassRun

    restored: dict[str, np.ndarray] = {}
    energies: dict[str, tuple[float, float]] = {}
    if originals is not None:
        dense = program.copy()
        DecompressPass().run(dense.module, PassRun("decompress"))
        restored = restored_weights(program, dense)
    entries = []
    for value, consumer in weight_roots(program.module):
        key = identity(value)
        constants = chain_constants(value) or []
        stored = sum(stored_nbytes(c.value) for c in {id(c): c for c in constants}.values())
        count = element_count(value.type)
        original = originals.get(key) if originals is not None else None
        snr = None
        if original is not None and key in restored:
            energies[key] = signal_and_noise(original[0], restored[key])
            snr = snr_from_energies(*energies[key])
        entries.append(
            WeightReport(
                name=key,
                location=source_location(value.owner),
                shape=list(value.type.get_shape()),
                consumer=consumer.name,
                original_dtype=original[1]
                if original
                else dtype_name(value.type.get_element_type()),
                scheme=describe(value),
                stored_bytes=stored,
                bits_per_weight=8 * stored / max(count, 1),
                snr_db=snr,
            )
        )
    return entries, energies


def restored_weights(program, dense) -> dict[str, np.ndarray]:
    """The values of `program`'s weights in its decompressed copy `dense`, by identity.

    Matched by position (decompression replaces each chain by one constant in place): the
    constant decompress builds is named after the chain's data constant, which for an
    unnamed weight (Apple's `%0 = coreai.constant`) is not the weight's identity."""
    compressed = [value for value, _ in weight_roots(program.module)]
    restored = [value for value, _ in weight_roots(dense.module)]
    if len(compressed) != len(restored) or not all(
        isinstance(value.owner, ConstantOp) for value in restored
    ):
        return {identity(v): elements_array(v.owner.value) for v, _ in dense_roots(dense)}
    return {
        identity(before): elements_array(after.owner.value)
        for before, after in zip(compressed, restored, strict=True)
    }


def dense_roots(program) -> Iterator[tuple[SSAValue, Operation]]:
    """Weight roots that are plain constants."""
    for value, consumer in weight_roots(program.module):
        if isinstance(value.owner, ConstantOp):
            yield value, consumer


def signal_and_noise(original: np.ndarray, restored: np.ndarray) -> tuple[float, float]:
    """(Σw², Σ(w−ŵ)²) in float64."""
    reference = original.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):  # non-finite weights: see snr_from_energies
        noise = float(np.sum((reference - restored.astype(np.float64)) ** 2))
        signal = float(np.sum(reference**2))
    return signal, noise


def snr_from_energies(signal: float, noise: float) -> float | None:
    """10·log10(signal / noise): inf when exact, -inf when the noise is infinite (a weight
    decompressing to ±inf) or the signal zero, None when undefined (a NaN or infinite
    original, or a NaN decompressed value)."""
    if math.isnan(signal) or math.isnan(noise) or math.isinf(signal):
        return None
    if noise == 0:
        return math.inf
    if math.isinf(noise) or signal == 0:
        return -math.inf
    ratio = signal / noise
    if ratio == 0 or math.isinf(ratio):  # the quotient left float64's range
        return 10 * (math.log10(signal) - math.log10(noise))
    return 10 * math.log10(ratio)


def snr_db(original: np.ndarray, restored: np.ndarray) -> float | None:
    """10·log10(Σw² / Σ(w−ŵ)²) in float64 (inf when identical; see `snr_from_energies`)."""
    return snr_from_energies(*signal_and_noise(original, restored))


def summarize(
    entries: list[WeightReport], bytes_before: int | None, energies: tuple[float, float] | None
) -> ProgramReport:
    """Totals: values, bytes, bits per weight and energy-weighted SNR."""
    total = sum(int(np.prod(e.shape)) for e in entries)
    after = sum(e.stored_bytes for e in entries)
    snr = None if energies is None else snr_from_energies(*energies)
    return ProgramReport(entries, total, bytes_before, after, 8 * after / max(total, 1), snr)


def bits_per_weight(program) -> ProgramReport:
    """The report of one program alone: schemes, stored bytes and bits per weight."""
    entries, _ = weight_entries(program, None)
    return summarize(entries, None, None)


def compression_report(
    original, compressed, left_dense: dict[str, str] | None = None
) -> ProgramReport:
    """Compare a compressed program with the program it came from (SNR per weight).

    `left_dense` maps weights the passes did not compress to the reason (`PassRun`), shown
    as the weight's note.
    """
    originals = {
        identity(v): (elements_array(v.owner.value), dtype_name(v.type.get_element_type()))
        for v, _ in dense_roots(original)
    }
    bytes_before = sum(stored_nbytes(v.owner.value) for v, _ in dense_roots(original))
    entries, energies = weight_entries(compressed, originals)
    for entry in entries:
        if left_dense and entry.scheme.startswith("dense") and entry.name in left_dense:
            entry.note = f"left dense: {left_dense[entry.name]}"
    return summarize(entries, bytes_before, total_energies(list(energies.values())))


def total_energies(energies: list[tuple[float, float]]) -> tuple[float, float] | None:
    """(signal, noise) of the total SNR: over the weights the pipeline changed (noise > 0)
    whose SNR is defined; (signal, 0) when it changed none, None when no SNR is defined.

    An unchanged weight adds signal and no noise: a dense mask of -3.4e38 values (an attention
    bias, not a weight anyone compresses) would otherwise put the total near 740 dB."""
    defined = [e for e in energies if snr_from_energies(*e) is not None]
    if not defined:  # no weight with a defined SNR (a NaN weight, left dense, has none)
        return None
    changed = [e for e in defined if e[1] > 0]
    if not changed:
        return (sum(e[0] for e in defined), 0.0)
    return (sum(e[0] for e in changed), sum(e[1] for e in changed))


def plot_report(report: ProgramReport, path: str) -> None:
    """A PNG with SNR and bits per weight per layer (needs matplotlib: `pip install .[plot]`)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        from coreai_opt.errors import CoreAIError

        raise CoreAIError("plotting needs matplotlib: pip install 'coreai-opt[plot]'") from None
    names = [w.name for w in report.weights]
    positions = np.arange(len(names))
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(max(6, 0.5 * len(names)), 6), sharex=True)
    snrs = [0 if w.snr_db is None or math.isinf(w.snr_db) else w.snr_db for w in report.weights]
    top.bar(positions, snrs, color="tab:blue")
    top.set_ylabel("SNR (dB)")
    top.set_title("Compression per weight")
    bottom.bar(positions, [w.bits_per_weight for w in report.weights], color="tab:orange")
    bottom.set_ylabel("bits per weight")
    bottom.set_xticks(positions, names, rotation=60, ha="right", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
