"""Mixed precision to a bits-per-weight target (docs/mixed_precision.md).

    from coreai_opt.mixed_precision import mixed_precision
    result = mixed_precision(program, target_bpw=4.75, candidates="int8|pal6|int4_b32|pal4")
    result.program, result.plan.table()

1. **Candidates.** Each candidate scheme (`int8`, `int4_b32`, `pal6`, `pal4_g16`, ...) is a
   compression pass; each is run once, by itself, on a copy of the whole program. Every
   weight it compresses gives an option: its stored bytes as the report counts them
   (coreai_opt/inspection.py: data, scales, zero points, LUTs, masks) and its decompressed
   value.
2. **Sensitivity** of (weight, scheme): the program's output error with only that weight
   replaced by its decompressed value, through the reference executor on the given (or
   seeded random) inputs: the relative squared error Σ(y−ŷ)²/Σy² of each float output (or
   of those `outputs` names), over all samples, averaged over the outputs. The fp32 run is
   recorded once per input sample and only the ops downstream of the weight are replayed
   (coreai_opt/interpreter/replay.py).
   Data-free: the weight's own relative error Σ(w−ŵ)²/Σw² (1/SNR) times its share of all
   weight values (SNR × size).
3. **Allocation** (`allocate`): every weight starts at its cheapest option; while the budget
   (target × all weight values / 8 bytes, every weight of the program counted, those no
   candidate compresses at their stored size) allows, the upgrade with the largest error
   reduction per extra byte is taken.
4. **Application**: the plan becomes an `OptimizationConfig` of exact weight names, run by
   the same passes (coreai_opt/config.py); the result has exactly the planned bytes.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from coreai_opt.errors import PipelineError
from coreai_opt.pipeline import PassRun, Pipeline

if TYPE_CHECKING:
    from coreai_opt.passes.compression import CompressionPass
    from coreai_opt.program import AIProgram

DEFAULT_CANDIDATES = "int8|pal6|int4_b32_mse|pal4|int4_b32_asym_mse"
SCHEME_FORMS = (
    "int8, int4, uint8 ... (per channel), int4_b32 (per block of 32), a suffix _asym "
    "(asymmetric) and/or _mse (error-minimising parameters: int4_b32_mse), pal4, pal6 ... "
    "(one LUT per tensor), pal4_g16 (one LUT per 16 output channels)"
)


class MixedPrecisionError(PipelineError):
    """A bad option or an impossible target (one line naming the option)."""


def option_error(option: str, message: str) -> MixedPrecisionError:
    """`pass 'mixed-precision': option 'x' ...`."""
    return MixedPrecisionError(f"pass 'mixed-precision': option '{option}' {message}")


# --------------------------------------------------------------------------- schemes


def scheme_pass(name: str, threshold: int = 1024) -> CompressionPass:
    """The compression pass a candidate name stands for (`int4_b32`, `pal6`, ...)."""
    from coreai_opt.passes.palettize import PalettizePass
    from coreai_opt.passes.quantize import QuantizePass

    quantized = re.fullmatch(r"(u?int[248])(?:_b(\d+))?(_asym)?(_mse)?", name)
    if quantized:
        dtype, block, asym, mse = quantized.groups()
        options: dict[str, object] = {
            "dtype": dtype,
            "qscheme": "asymmetric" if asym else "symmetric",
            "algorithm": "mse" if mse else "rtn",
            "weight_num_threshold": threshold,
        }
        if block is not None:
            options |= {"granularity": "per_block", "block_size": int(block)}
        return QuantizePass(**options)
    palettized = re.fullmatch(r"pal([1-8])(?:_g(\d+))?", name)
    if palettized and int(palettized.group(1)) in (1, 2, 3, 4, 6, 8):
        bits, group = int(palettized.group(1)), palettized.group(2)
        if group is None:
            return PalettizePass(n_bits=bits, weight_num_threshold=threshold)
        return PalettizePass(
            n_bits=bits,
            granularity="per_grouped_channel",
            group_size=int(group),
            weight_num_threshold=threshold,
        )
    raise option_error("candidates", f"has an unknown scheme '{name}' (schemes: {SCHEME_FORMS})")


def parse_candidates(text: str, threshold: int = 1024) -> dict[str, CompressionPass]:
    """`int8|pal6|int4_b32` as {name: pass}, in order, each once."""
    names = [part.strip() for part in re.split(r"[|,\s]+", text) if part.strip()]
    if not names:
        raise option_error("candidates", "is empty (e.g. candidates=int8|pal6|int4_b32|pal4)")
    return {name: scheme_pass(name, threshold) for name in dict.fromkeys(names)}


# --------------------------------------------------------------------------- allocation


@dataclass(frozen=True)
class Option:
    """One way to store one weight: its scheme, stored bytes and output error."""

    scheme: str
    bytes: int
    error: float


def cheapest(options: Sequence[Option]) -> Option:
    """The option with the fewest bytes (the least error among equals, then the first)."""
    return min(options, key=lambda o: (o.bytes, o.error))


def best_upgrade(
    options: Mapping[str, Sequence[Option]], choice: Mapping[str, Option], room: float
) -> tuple[str, Option] | None:
    """The change with the largest error reduction per extra byte that fits in `room`
    bytes (a change that also saves bytes counts as infinitely good); None when none."""
    best: tuple[float, str, Option] | None = None
    for name, weight_options in options.items():
        current = choice[name]
        for option in weight_options:
            extra = option.bytes - current.bytes
            if option.error >= current.error or extra > room:
                continue
            gain = math.inf if extra <= 0 else (current.error - option.error) / extra
            if best is None or gain > best[0]:
                best = (gain, name, option)
    return None if best is None else (best[1], best[2])


def allocate(
    options: Mapping[str, Sequence[Option]], fixed_bytes: int, total_values: int, target_bpw: float
) -> dict[str, Option]:
    """Greedy allocation: the cheapest option everywhere, then the best upgrade per extra
    byte while `fixed_bytes` + the chosen bytes stay within `target_bpw`."""
    budget = target_bpw * total_values / 8
    choice = {name: cheapest(weight_options) for name, weight_options in options.items()}
    used = fixed_bytes + sum(option.bytes for option in choice.values())
    if used > budget:
        floor = 8 * used / max(total_values, 1)
        raise option_error(
            "target_bpw",
            f"({target_bpw:g}) is below the cheapest plan the candidates allow "
            f"({floor:.4f} bits/weight: every weight at its cheapest scheme, the others "
            f"as stored)",
        )
    while (upgrade := best_upgrade(options, choice, budget - used)) is not None:
        name, option = upgrade
        used += option.bytes - choice[name].bytes
        choice[name] = option
    return choice


# --------------------------------------------------------------------------- plan


@dataclass
class PlannedWeight:
    """One weight of the plan."""

    name: str
    elements: int
    scheme: str
    bytes: int
    sensitivity: float
    """The chosen scheme's output error (or relative weight error, data-free)."""
    options: list[Option] = field(default_factory=list)

    @property
    def bits_per_weight(self) -> float:
        """8 · bytes / elements."""
        return 8 * self.bytes / max(self.elements, 1)


@dataclass
class Plan:
    """Scheme per weight, and the totals the report will show."""

    target_bpw: float
    weights: list[PlannedWeight]
    fixed_bytes: int
    """Bytes of the weights no candidate compresses (as stored)."""
    total_values: int
    data_free: bool
    sweep_seconds: float = 0.0
    sweep_cpu_seconds: float = 0.0

    @property
    def bytes(self) -> int:
        """Stored bytes of every weight of the program under the plan."""
        return self.fixed_bytes + sum(w.bytes for w in self.weights)

    @property
    def bits_per_weight(self) -> float:
        """8 · bytes / values over all weights (as the report computes it)."""
        return 8 * self.bytes / max(self.total_values, 1)

    def schemes(self) -> dict[str, str]:
        """Weight name → scheme."""
        return {w.name: w.scheme for w in self.weights}

    def table(self) -> str:
        """A readable table of the plan with its totals."""
        kind = "weight rel. error" if self.data_free else "output rel. error"
        lines = [f"{'weight':<44} {'scheme':<10} {'bytes':>12} {'bpw':>6} {kind:>18}"]
        for w in self.weights:
            name = w.name if len(w.name) <= 44 else "\u2026" + w.name[-43:]
            lines.append(
                f"{name:<44} {w.scheme:<10} {w.bytes:>12,} {w.bits_per_weight:6.2f} "
                f"{w.sensitivity:18.3e}"
            )
        counts = {}
        for w in self.weights:
            counts[w.scheme] = counts.get(w.scheme, 0) + 1
        summary = ", ".join(f"{count} {scheme}" for scheme, count in counts.items())
        lines.append(
            f"plan: {len(self.weights)} weights ({summary}), {self.bytes:,} bytes with the "
            f"{self.fixed_bytes:,} of the other weights, {self.bits_per_weight:.4f} "
            f"bits/weight (target {self.target_bpw:g})"
        )
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return {
            "target_bpw": self.target_bpw,
            "bits_per_weight": self.bits_per_weight,
            "bytes": self.bytes,
            "fixed_bytes": self.fixed_bytes,
            "total_values": self.total_values,
            "data_free": self.data_free,
            "sweep_seconds": self.sweep_seconds,
            "sweep_cpu_seconds": self.sweep_cpu_seconds,
            "weights": [
                {
                    "name": w.name,
                    "scheme": w.scheme,
                    "bytes": w.bytes,
                    "bits_per_weight": w.bits_per_weight,
                    "sensitivity": json_float(w.sensitivity),
                    "options": {
                        o.scheme: {"bytes": o.bytes, "error": json_float(o.error)}
                        for o in w.options
                    },
                }
                for w in self.weights
            ],
        }


def json_float(value: float) -> float | str:
    """A float for strict JSON: "inf" / "-inf" / "nan" as strings (as the report does)."""
    return value if math.isfinite(value) else str(value)


# --------------------------------------------------------------------------- sweep


@dataclass
class CandidateResult:
    """One candidate run over the whole program: per weight, stored bytes and the
    decompressed value (weights the candidate compressed only) and (signal, noise)."""

    bytes: dict[str, int]
    restored: dict[str, np.ndarray]
    energies: dict[str, tuple[float, float]]


@contextmanager
def quiet() -> Iterator[None]:
    """Hold back the warnings logged while the block runs (a candidate's trial run)."""
    logger = logging.getLogger("coreai_opt")
    previous = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = previous


def run_candidate(program: AIProgram, compression: CompressionPass) -> CandidateResult:
    """Run one candidate pass on a copy of `program`; what it did to each weight."""
    from coreai_opt.inspection import (
        dense_roots,
        identity,
        restored_weights,
        signal_and_noise,
        weight_entries,
    )
    from coreai_opt.ir.elements import elements_array
    from coreai_opt.passes.decompress import DecompressPass

    originals = {identity(v): elements_array(v.owner.value) for v, _ in dense_roots(program)}
    compressed = program.copy()
    with quiet():  # the plan's own passes warn once, when it is applied
        Pipeline([compression]).run(compressed)
    entries, _ = weight_entries(compressed, None)
    changed = {
        e.name: e.stored_bytes
        for e in entries
        if not e.scheme.startswith("dense") and e.name in originals
    }
    dense = compressed.copy()
    DecompressPass().run(dense.module, PassRun("decompress"))
    restored = {
        name: array
        for name, array in restored_weights(compressed, dense).items()
        if name in changed
    }
    energies = {name: signal_and_noise(originals[name], array) for name, array in restored.items()}
    return CandidateResult(changed, restored, energies)


def relative_error(
    references: list[dict], outputs: list[dict], names: Sequence[str] | None = None
) -> float:
    """Σ(y−ŷ)²/Σy² of each float output (of `names`, default all) over all samples,
    averaged over the outputs."""
    ratios = []
    for name in references[0] if names is None else names:
        if references[0][name].dtype.kind not in "fc":
            continue
        signal = sum(float(np.sum(np.abs(ref[name].astype(np.float64)) ** 2)) for ref in references)
        noise = sum(
            float(np.sum(np.abs(ref[name].astype(np.float64) - out[name].astype(np.float64)) ** 2))
            for ref, out in zip(references, outputs, strict=True)
        )
        ratios.append(noise / signal if signal > 0 else (0.0 if noise == 0 else math.inf))
    return float(np.mean(ratios)) if ratios else 0.0


def output_errors(
    program: AIProgram,
    restored: Mapping[tuple[str, str], np.ndarray],
    input_sets: list[Mapping[str, Any]],
    graph: str,
    outputs_pattern: str | None = None,
) -> dict[tuple[str, str], float]:
    """Output error of each (weight, scheme) with only that weight replaced, replaying the
    recorded run of every input sample; over the outputs whose names `outputs_pattern`
    matches whole (default: all)."""
    from coreai_opt.inspection import dense_roots, identity
    from coreai_opt.interpreter.replay import Replay

    roots = {identity(v): v for v, _ in dense_roots(program)}
    references: list[dict] = []
    outputs: dict[tuple[str, str], list[dict]] = {key: [] for key in restored}
    names: list[str] = []
    for sample in input_sets:
        replay = Replay(program, graph)
        references.append(replay.record(sample))
        names = names or measured_outputs(list(references[0]), outputs_pattern, graph)
        for key, array in restored.items():
            outputs[key].append(replay.replay({roots[key[0]]: array}))
    return {key: relative_error(references, outs, names) for key, outs in outputs.items()}


def measured_outputs(names: list[str], pattern: str | None, graph: str) -> list[str]:
    """The outputs `pattern` selects (all when None); none is a one-line error."""
    if pattern is None:
        return names
    compiled = compile_option(pattern, "outputs")
    chosen = [name for name in names if compiled.fullmatch(name)]
    if not chosen:
        raise option_error(
            "outputs", f"'{pattern}' matches no output of @{graph} (outputs: {', '.join(names)})"
        )
    return chosen


def compile_option(pattern: str, option: str) -> re.Pattern:
    """A regular-expression option, or a one-line error naming it."""
    try:
        return re.compile(pattern)
    except re.error as error:
        message = f"is not a valid regular expression ({error}): '{pattern}'"
        raise option_error(option, message) from None


@dataclass
class Sweep:
    """Every (weight, candidate) measured: the options of each weight, and the totals."""

    options: dict[str, list[Option]]
    elements: dict[str, int]
    fixed_bytes: int
    total_values: int
    data_free: bool
    seconds: float
    cpu_seconds: float

    def plan(self, target_bpw: float) -> Plan:
        """The greedy allocation of these options to `target_bpw`."""
        if not target_bpw > 0:
            raise option_error("target_bpw", f"must be a positive number, got {target_bpw}")
        choice = allocate(self.options, self.fixed_bytes, self.total_values, target_bpw)
        planned = [
            PlannedWeight(name, self.elements[name], c.scheme, c.bytes, c.error, self.options[name])
            for name, c in choice.items()
        ]
        return Plan(
            target_bpw,
            planned,
            self.fixed_bytes,
            self.total_values,
            self.data_free,
            self.seconds,
            self.cpu_seconds,
        )


def measure(
    program: AIProgram,
    candidates: str | Mapping[str, CompressionPass] = DEFAULT_CANDIDATES,
    inputs: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    samples: int = 1,
    seed: int = 0,
    data_free: bool = False,
    graph: str = "main",
    weight_num_threshold: int = 1024,
    include: str | None = None,
    exclude: str | None = None,
    outputs: str | None = None,
) -> Sweep:
    """Run every candidate once and measure the sensitivity of every (weight, candidate)."""
    from dataclasses import replace

    from coreai_opt.inspection import bits_per_weight

    schemes = (
        parse_candidates(candidates, weight_num_threshold)
        if isinstance(candidates, str)
        else dict(candidates)
    )
    wall, cpu = time.perf_counter(), time.process_time()
    base = bits_per_weight(program)
    results = {
        name: run_candidate(program, replace(compression, include=include, exclude=exclude))
        for name, compression in schemes.items()
    }
    elements = {e.name: int(np.prod(e.shape)) for e in base.weights}
    if data_free:
        errors = {
            (weight, scheme): data_free_error(signal, noise, elements[weight], base.total_weights)
            for scheme, result in results.items()
            for weight, (signal, noise) in result.energies.items()
        }
    else:
        restored = {
            (weight, scheme): array
            for scheme, result in results.items()
            for weight, array in result.restored.items()
        }
        input_sets = sample_inputs(program, inputs, samples, seed, graph)
        errors = output_errors(program, restored, input_sets, graph, outputs)
    options: dict[str, list[Option]] = {}
    for entry in base.weights:
        found = [
            Option(scheme, result.bytes[entry.name], errors[(entry.name, scheme)])
            for scheme, result in results.items()
            if entry.name in result.bytes
        ]
        if found:
            options[entry.name] = found
    return Sweep(
        options,
        elements,
        sum(e.stored_bytes for e in base.weights if e.name not in options),
        base.total_weights,
        data_free,
        time.perf_counter() - wall,
        time.process_time() - cpu,
    )


def plan_mixed_precision(
    program: AIProgram,
    target_bpw: float,
    candidates: str | Mapping[str, CompressionPass] = DEFAULT_CANDIDATES,
    inputs: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    samples: int = 1,
    seed: int = 0,
    data_free: bool = False,
    graph: str = "main",
    weight_num_threshold: int = 1024,
    include: str | None = None,
    exclude: str | None = None,
    outputs: str | None = None,
) -> Plan:
    """Measure every (weight, candidate) and allocate schemes to reach `target_bpw`."""
    if not target_bpw > 0:
        raise option_error("target_bpw", f"must be a positive number, got {target_bpw}")
    sweep = measure(
        program,
        candidates,
        inputs,
        samples,
        seed,
        data_free,
        graph,
        weight_num_threshold,
        include,
        exclude,
        outputs,
    )
    return sweep.plan(target_bpw)


def data_free_error(signal: float, noise: float, elements: int, total: int) -> float:
    """The data-free sensitivity: the weight's noise-to-signal ratio 10^(−SNR/10) times its
    share of all weight values (SNR × size: with the cost in bytes also proportional to the
    size, the allocation ranks weights by SNR gained per bit)."""
    ratio = noise / signal if signal > 0 else 0.0
    return ratio * elements / max(total, 1)


def sample_inputs(
    program: AIProgram,
    inputs: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None,
    samples: int,
    seed: int,
    graph: str,
) -> list[Mapping[str, Any]]:
    """The input samples: given ones, else `samples` seeded random ones."""
    from coreai_opt.interpreter import random_inputs

    if inputs is None:
        if samples < 1:
            raise option_error("samples", f"must be at least 1, got {samples}")
        return [random_inputs(program, graph, seed + index) for index in range(samples)]
    if isinstance(inputs, Mapping):
        return [inputs]
    return list(inputs)


def apply_plan(
    program: AIProgram, plan: Plan, candidates: Mapping[str, CompressionPass]
) -> list[PassRun]:
    """Compress each planned weight with its scheme's pass, in place (optimize_weights)."""
    from coreai_opt.config import OptimizationConfig, optimize_with_runs

    config = OptimizationConfig(
        op_name_configs={re.escape(w.name): candidates[w.scheme] for w in plan.weights}
    )
    return optimize_with_runs(program, config, in_place=True)[1]


@dataclass
class MixedPrecisionResult:
    """The compressed program, the plan and the achieved bits per weight."""

    program: AIProgram
    plan: Plan
    bits_per_weight: float
    runs: list[PassRun]


def mixed_precision(
    program: AIProgram,
    target_bpw: float,
    candidates: str = DEFAULT_CANDIDATES,
    inputs: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    samples: int = 1,
    seed: int = 0,
    data_free: bool = False,
    graph: str = "main",
    weight_num_threshold: int = 1024,
    include: str | None = None,
    exclude: str | None = None,
    outputs: str | None = None,
    in_place: bool = False,
) -> MixedPrecisionResult:
    """Plan (`plan_mixed_precision`) and apply mixed precision; a copy unless `in_place`."""
    from coreai_opt.inspection import bits_per_weight
    from coreai_opt.options import check_bool, check_program

    check_program(program)
    check_bool(in_place, "in_place")
    check_bool(data_free, "data_free")
    schemes = parse_candidates(candidates, weight_num_threshold)
    plan = plan_mixed_precision(
        program,
        target_bpw,
        schemes,
        inputs,
        samples,
        seed,
        data_free,
        graph,
        weight_num_threshold,
        include,
        exclude,
        outputs,
    )
    target = program if in_place else program.copy()
    runs = apply_plan(target, plan, schemes)
    return MixedPrecisionResult(target, plan, bits_per_weight(target).bits_per_weight, runs)
