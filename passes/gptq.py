"""`quantize<algorithm=gptq>`: integer quantization tuned on calibration inputs (GPTQ).

Before the usual rewrite walk, `GptqQuantizeConstant.start` runs the program on the
calibration inputs with the reference executor and, for every weight that feeds a matmul
(directly, or through the `transpose` of a PyTorch `Linear`), collects ``XᵀX`` of the
activations the matmul multiplies it with (in the orientation of the weight's input axis).
Each such weight is then quantized by `coreai_opt.numerics.gptq`; the walk replaces it by
the same `blockwise_shift_scale` chain round-to-nearest builds, with GPTQ's codes.

By default every weight's statistics come from one run of the original program per
calibration sample. With `sequential=true` a weight's statistics are taken with every weight
executed before it already quantized: each round of runs finds the first weight not yet
quantized, collects the statistics of it and of the later weights multiplying the same
activation (a layer's query, key and value), stops each run as soon as another unquantized
weight is reached, and quantizes them; the next round sees them quantized. That costs about
half a forward pass per stage (24 stages in MiniLM: 5x the time of one run per sample, and
the mean embedding cosine moved by less than 0.001; docs/quantization.md).

With `gptq_params=mse` every group's (scale, zero point, offset2) comes from the data-free
MSE search (`algorithm=mse`'s parameters, codes and IR: `blockwise_shift_scale` with a float
offset2), and GPTQ feeds the rounding errors of those codes forward. With `refit=true` each
row's scales (and, with the search's asymmetric parameters, offsets) are refitted to GPTQ's
codes by least squares on the layer error.

Weights GPTQ cannot treat (other consumers than matmuls, not 2-D, never reached by the
calibration run, a Hessian that is not positive definite) are quantized with
round-to-nearest (with `gptq_params=mse`: the MSE search) and a warning saying why.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from coreai_opt.dialects.coreai import MATMUL_OPS, ConstantOp, TransposeOp, constant_ints
from coreai_opt.passes.common import describe, where
from coreai_opt.passes.compression import (
    Candidate,
    SkipConstant,
    channel_axes,
    is_eligible,
    look_through,
)
from coreai_opt.passes.quantize import (
    QuantizeConstant,
    block_shape_for,
    build_dequant_chain,
    data_element_type,
    quantize_array,
)
from coreai_opt.passes.selection import WeightSelector
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue

from coreai_opt.interpreter.engine import Interpreter
from coreai_opt.interpreter.values import InterpreterError
from coreai_opt.numerics.finite import all_finite
from coreai_opt.numerics.gptq import IntegerScheme
from coreai_opt.numerics.quantization import QuantizedTensor, dequantize_blockwise
from coreai_opt.options import DType

if TYPE_CHECKING:
    from coreai_opt.passes.quantize import QuantizePass

    from coreai_opt.pipeline import PassRun

DEFAULT_RANDOM_SAMPLES = 8
CALIBRATION_GRAPH = "main"
SAMPLE_KEY = re.compile(r"^(?P<name>.+)/(?P<index>\d+)$")
GPTQ_ONLY_OPTIONS = (
    "calibration",
    "calibration_samples",
    "calibration_mask",
    "act_order",
    "clip_search",
    "refit",
    "gptq_params",
    "refit_rounds",
)
"""Options only `algorithm=gptq` reads: set away from its default without it, each is an error."""


def fallback_algorithm(quantize: QuantizePass) -> str:
    """How weights GPTQ does not treat are quantized: `mse` with `gptq_params=mse`."""
    return "mse" if quantize.gptq_params == "mse" else "rtn"


# --------------------------------------------------------------------------- options


def validate_gptq_options(quantize: QuantizePass) -> None:
    """One-line ValueErrors for bad GPTQ option values (the pass adds its name)."""
    if not (math.isfinite(quantize.damp) and 0 <= quantize.damp <= 1):
        raise ValueError(f"option 'damp' must be a number in [0, 1], got {quantize.damp}")
    samples = quantize.calibration_samples
    if samples is not None and samples < 1:
        raise ValueError(f"option 'calibration_samples' must be at least 1, got {samples}")
    if quantize.calibration == "":
        raise ValueError("option 'calibration' must name an .npz file")
    if quantize.algorithm != "gptq":
        defaults = {field.name: field.default for field in dataclasses.fields(quantize)}
        given = [name for name in GPTQ_ONLY_OPTIONS if getattr(quantize, name) != defaults[name]]
        if given:
            raise ValueError(f"option '{given[0]}' needs algorithm=gptq")
        return
    if quantize.refit_rounds < 1:
        raise ValueError(f"option 'refit_rounds' must be at least 1, got {quantize.refit_rounds}")
    if quantize.refit_rounds > 1 and not quantize.refit:
        raise ValueError("option 'refit_rounds' needs refit=true")
    if quantize.refit and quantize.granularity not in ("per_channel", "per_block"):
        raise ValueError(
            f"option 'refit' needs granularity per_channel or per_block (parameters of one "
            f"row), got {quantize.granularity}"
        )
    if quantize.clip_search and quantize.gptq_params == "mse":
        raise ValueError(
            "option 'clip_search' cannot be combined with gptq_params=mse (the search chooses "
            "the ranges)"
        )
    if not quantize.dtype.startswith(("int", "uint")):
        raise ValueError(
            f"algorithm=gptq needs an integer dtype (int2/4/8, uint2/4/8), got {quantize.dtype}"
        )


# --------------------------------------------------------------------------- calibration inputs


def graph_arguments(module: ModuleOp, graph: str) -> dict[str, Any]:
    """Argument name -> type of `@graph`."""
    from coreai_opt.interpreter.engine import argument_names

    try:
        target = Interpreter(module).graph(graph)
    except InterpreterError as error:  # no such graph
        raise ValueError(f"calibration: {error.message}") from None
    block = target.body.blocks.first
    return {name: arg.type for name, arg in zip(argument_names(target), block.args, strict=True)}


def split_samples(arrays: dict[str, np.ndarray], ranks: dict[str, int]) -> list[dict]:
    """Samples from an .npz's arrays: keys `NAME/i` (sample i, as `coreai-opt run --inputs`),
    or plain `NAME` holding one sample or, with one more leading dim than the argument,
    one sample per index of that leading axis."""
    indexed = {key: SAMPLE_KEY.match(key) for key in arrays}
    if any(indexed.values()):
        if not all(indexed.values()):
            raise ValueError("mixes NAME and NAME/i keys")
        count = 1 + max(int(m.group("index")) for m in indexed.values() if m)
        samples: list[dict] = [{} for _ in range(count)]
        for key, match in indexed.items():
            samples[int(match.group("index"))][match.group("name")] = arrays[key]
        return samples
    leading = {name for name, array in arrays.items() if array.ndim == ranks.get(name, -2) + 1}
    if not leading:
        return [arrays]
    if leading != set(arrays):
        odd = sorted(set(arrays) - leading)[0]
        raise ValueError(
            f"input '{odd}' has no leading sample axis (rank {arrays[odd].ndim}) while "
            f"'{sorted(leading)[0]}' has one"
        )
    counts = {array.shape[0] for array in arrays.values()}
    if len(counts) > 1:
        raise ValueError(f"inputs have different sample counts {sorted(counts)}")
    return [{name: array[i] for name, array in arrays.items()} for i in range(counts.pop())]


def calibration_samples(quantize: QuantizePass, module: ModuleOp) -> list[dict]:
    """The calibration input samples: from the .npz file, or seeded random ones."""
    from coreai_opt.interpreter import random_inputs

    arguments = graph_arguments(module, CALIBRATION_GRAPH)
    if quantize.calibration is None:
        count = quantize.calibration_samples or DEFAULT_RANDOM_SAMPLES
        seed = quantize.calibration_seed
        try:
            return [random_inputs(module, CALIBRATION_GRAPH, seed + i) for i in range(count)]
        except InterpreterError as error:
            raise ValueError(f"calibration: random inputs: {error.message}") from None
    label = f"calibration={quantize.calibration}"
    arrays = read_npz(quantize.calibration, label)
    ranks = {name: len(t.get_shape()) for name, t in arguments.items() if hasattr(t, "get_shape")}
    try:
        samples = split_samples(arrays, ranks)
    except ValueError as error:
        raise ValueError(f"{label}: {error}") from None
    for sample in samples:
        unknown = sorted(set(sample) - set(arguments))
        if unknown:
            raise ValueError(
                f"{label}: unknown input '{unknown[0]}' (@{CALIBRATION_GRAPH} takes "
                f"{', '.join(arguments) or 'nothing'})"
            )
    return samples[: quantize.calibration_samples]


def read_npz(path: str, label: str) -> dict[str, np.ndarray]:
    """The arrays of an .npz file, or a one-line ValueError naming the option."""
    import os
    import zipfile

    if not os.path.exists(path):
        raise ValueError(f"{label}: no such file")
    try:
        with np.load(path, allow_pickle=False) as data:
            if not isinstance(data, np.lib.npyio.NpzFile):
                raise ValueError("not an .npz archive")
            arrays = {key: data[key] for key in data.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as error:
        raise ValueError(f"{label}: not a readable .npz file ({error})") from None
    if not arrays:
        raise ValueError(f"{label}: the file holds no arrays")
    return arrays


# --------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class Consumer:
    """A matmul using a weight: the operand holding the weight (0: `W @ x`, 1: `x @ W`)."""

    op: Operation
    weight_operand: int

    @property
    def activation_value(self) -> SSAValue:
        """The SSA value the weight is multiplied with."""
        return self.op.operands[1 - self.weight_operand]

    def activations(self, args: Sequence[Any], mask: np.ndarray | None = None) -> np.ndarray | None:
        """The activation rows ([tokens, K]) the weight is multiplied with, or None. With a
        token `mask` ([batch, length] booleans), an `x @ W` activation whose leading dims
        are the mask's keeps only the rows the mask marks."""
        value = args[1 - self.weight_operand]
        if not isinstance(value, np.ndarray) or value.ndim < 2:
            return None
        if self.weight_operand == 0:
            value = np.swapaxes(value, -1, -2)
        elif mask is not None and value.shape[:-1] == mask.shape:
            return value[mask]
        return value.reshape(-1, value.shape[-1])


@dataclass
class Target:
    """A weight GPTQ quantizes: its constant, its `[out, in]` view, its consumers and the
    statistics collected for it."""

    candidate: Candidate
    blocks: tuple[int, ...]
    consumers: list[Consumer]
    gram: np.ndarray | None = None
    """Σ XᵀX over the calibration activations (float64), [in, in]."""
    tokens: int = 0
    result: QuantizedTensor | None = None
    failure: str | None = None
    substitute: QuantizedTensor | None = None
    """What calibration runs use for the weight once it is done (GPTQ's or RTN's)."""

    @property
    def op(self) -> ConstantOp:
        """The weight's constant."""
        return self.candidate.op

    @property
    def columns(self) -> int:
        """Size of the weight's input axis."""
        return self.candidate.weight.shape[self.candidate.input_axis]

    @property
    def done(self) -> bool:
        """Quantized, or given up on."""
        return self.result is not None or self.failure is not None

    def oriented(self, array: np.ndarray) -> np.ndarray:
        """A weight-shaped array as `[out, in]` (or back: the swap is its own inverse)."""
        return array if self.candidate.output_axis == 0 else array.T

    def accumulate(self, rows: int, gram: np.ndarray) -> None:
        """Add one activation batch's `XᵀX` (over `rows` activation rows)."""
        if self.gram is None:
            self.gram = np.zeros(gram.shape, np.float64)
        self.gram += gram
        self.tokens += rows

    def quantize(self, quantize: QuantizePass) -> None:
        """GPTQ on the collected statistics; on failure, RTN and the reason."""
        from coreai_opt.numerics.gptq import GptqError, gptq_quantize

        if self.gram is None:
            self.failure = "the calibration run never reached it"
        else:
            scheme = integer_scheme(quantize, self.blocks, self.candidate)
            weight = self.oriented(self.candidate.weight)
            try:
                quantized = gptq_quantize(
                    weight, 2 * self.gram, scheme, quantize.damp, quantize.act_order
                )
                parts = (quantized.data, quantized.scale, quantized.offset, quantized.offset2)
                self.result = QuantizedTensor(
                    *(None if a is None else self.oriented(a) for a in parts)  # type: ignore[arg-type]
                )
            except GptqError as error:
                self.failure = str(error)
        self.gram = None
        self.substitute = self.result or quantize_array(
            self.candidate.weight,
            DType(quantize.dtype),
            quantize.qscheme == "symmetric",
            self.blocks,
            False,
            fallback_algorithm(quantize),
        )

    def dequantized(self) -> np.ndarray:
        """The weight as the quantized program computes it."""
        assert self.substitute is not None
        q = self.substitute
        dtype = self.candidate.weight.dtype
        return dequantize_blockwise(q.data, q.scale, q.offset, q.offset2, dtype)


def integer_scheme(
    quantize: QuantizePass, blocks: tuple[int, ...], candidate: Candidate
) -> IntegerScheme:
    """The GPTQ scheme of the pass's options, blocks as `[out, in]`."""
    dtype = DType(quantize.dtype)
    return IntegerScheme(
        dtype.n_bits,
        dtype.value.startswith("int"),
        quantize.qscheme == "symmetric",
        (blocks[candidate.output_axis], blocks[candidate.input_axis]),
        quantize.clip_search,
        quantize.gptq_params == "mse",
        quantize.refit,
        quantize.refit_rounds,
    )


def matmul_consumers(value: SSAValue) -> tuple[list[Consumer], str | None]:
    """The matmuls a weight feeds (through decompression chains, invokes and a 2-D
    transpose), or the reason it feeds something else."""
    consumers: list[Consumer] = []
    for user, index in look_through(value):
        if isinstance(user, MATMUL_OPS):
            consumers.append(Consumer(user, index))
            continue
        if isinstance(user, TransposeOp) and index == 0 and constant_ints(user.perm) == [1, 0]:
            uses = list(user.result.uses)
            if uses and all(isinstance(u.operation, MATMUL_OPS) for u in uses):
                consumers.extend(Consumer(u.operation, u.index) for u in uses)
                continue
            names = sorted({u.operation.name for u in uses} - {m.name for m in MATMUL_OPS})
            return [], f"its transpose feeds {', '.join(names) or 'nothing'}, not a matmul"
        return [], f"its consumer {user.name} is not a matmul"
    if not consumers:
        return [], "it has no consumer"
    return consumers, None


def find_targets(
    quantize: QuantizePass, module: ModuleOp
) -> tuple[list[Target], dict[ConstantOp, str]]:
    """The weights GPTQ quantizes, and why each other compressible weight is not one."""
    from coreai_opt.ir.elements import ElidedWeightError, elements_array
    from coreai_opt.options import CompressionGranularity

    selector = WeightSelector(quantize.name, quantize.include, quantize.exclude)
    granularity = CompressionGranularity(quantize.granularity)
    targets: list[Target] = []
    reasons: dict[ConstantOp, str] = {}
    for op in module.walk():
        if not isinstance(op, ConstantOp) or not is_eligible(op, quantize.weight_num_threshold):
            continue
        if not selector.selects(op):
            continue
        try:
            weight = elements_array(op.value)
        except ElidedWeightError:
            continue  # the walk skips it with the reason
        if weight.ndim != 2:
            reasons[op] = f"GPTQ handles 2-D weights, this one has rank {weight.ndim}"
            continue
        if any(use.operation.name == "coreai.build_sparse_with_bitmask" for use in op.result.uses):
            reasons[op] = "its values feed a sparse weight"
            continue
        if not all_finite(weight):
            continue  # the walk skips it with the reason
        consumers, reason = matmul_consumers(op.result)
        (out_axis, in_axis), agreed = channel_axes(op.result, 2)
        if reason is None and not agreed:
            reason = "its consumers disagree on its input axis"
        if reason is not None:
            reasons[op] = reason
            continue
        candidate = Candidate(op, weight, out_axis, in_axis, False)
        try:
            blocks = block_shape_for(candidate, granularity, quantize.block_size)
        except SkipConstant:
            continue  # the walk skips it with the reason
        targets.append(Target(candidate, blocks, consumers))
    return targets, reasons


# --------------------------------------------------------------------------- statistics


class StopCalibration(Exception):
    """Raised by the observer to end a run once the stage's statistics are complete."""


@dataclass
class Collector:
    """The executor observer: `XᵀX` of the activations multiplying the stage's weights.

    With `open_stage`, the stage is opened by the first weight not yet done that a run
    reaches, and holds every weight not yet done multiplying the same activation value; a
    run then stops at the first other weight not yet done. Otherwise `stage` is given.
    """

    targets: list[Target]
    by_op: dict[Operation, list[tuple[int, Consumer]]]
    stage: set[int] = field(default_factory=set)
    open_stage: bool = False
    seen: set[int] = field(default_factory=set)
    last: tuple[Any, np.ndarray] | None = None
    mask: np.ndarray | None = None
    """The current sample's token mask (`calibration_mask`), if any."""

    def __call__(self, op: Operation, args: Sequence[Any]) -> None:
        for index, consumer in self.by_op.get(op, ()):
            if self.targets[index].done:
                continue
            if self.open_stage and not self.stage:
                self.start_stage(index, consumer)
            if index not in self.stage:
                if self.open_stage:
                    raise StopCalibration
                continue
            self.observe(index, consumer, args)

    def observe(self, index: int, consumer: Consumer, args: Sequence[Any]) -> None:
        """Add the activations of one consumer run to target `index`'s statistics."""
        target = self.targets[index]
        rows = consumer.activations(args, self.mask)
        if rows is None or rows.shape[1] != target.columns:
            return
        self.seen.add(index)
        source = args[1 - consumer.weight_operand]
        if self.last is None or self.last[0] is not source:
            x = rows.astype(np.float32, copy=False)
            self.last = (source, x.T @ x)  # reused by the next weights multiplying it
        target.accumulate(rows.shape[0], self.last[1])

    def start_stage(self, index: int, consumer: Consumer) -> None:
        """Open the stage at target `index` (see the class docstring)."""
        activation = consumer.activation_value
        for entries in self.by_op.values():
            for other, other_consumer in entries:
                if not self.targets[other].done and other_consumer.activation_value is activation:
                    self.stage.add(other)
        self.stage.add(index)


class SubstitutingInterpreter(Interpreter):
    """An executor whose listed constants evaluate to the given arrays (quantized weights)."""

    def __init__(
        self, module: ModuleOp, overrides: dict[Operation, np.ndarray], observer: Collector
    ) -> None:
        super().__init__(module, observer=observer)
        self.overrides = overrides

    def execute(self, op: Operation) -> list:
        if op in self.overrides:
            self.ops_run += 1
            return [self.overrides[op]]
        return super().execute(op)


class CalibrationRunner:
    """Runs the calibration samples with the weights quantized so far substituted."""

    def __init__(
        self,
        module: ModuleOp,
        samples: list[dict],
        targets: list[Target],
        mask_input: str | None = None,
    ) -> None:
        self.module, self.samples, self.targets = module, samples, targets
        self.mask_input = mask_input
        self.by_op: dict[Operation, list[tuple[int, Consumer]]] = {}
        for index, target in enumerate(targets):
            for consumer in target.consumers:
                self.by_op.setdefault(consumer.op, []).append((index, consumer))
        self.runs = 0

    def collector(self, stage: set[int] | None = None) -> Collector:
        """An observer for one round of runs (`stage` None: opened by the run)."""
        return Collector(self.targets, self.by_op, stage or set(), open_stage=stage is None)

    def run(self, collector: Collector) -> None:
        """Every sample once (each ended early when the collector says so)."""
        overrides = {t.op: t.dequantized() for t in self.targets if t.substitute is not None}
        interpreter = SubstitutingInterpreter(self.module, overrides, collector)
        for sample in self.samples:
            self.runs += 1
            if self.mask_input is not None:
                collector.mask = np.asarray(sample[self.mask_input]) != 0
            try:
                interpreter.run(sample, CALIBRATION_GRAPH)
            except StopCalibration:
                pass
            except InterpreterError as error:
                raise ValueError(f"calibration run failed: {error}") from None


# --------------------------------------------------------------------------- driver


@dataclass
class Calibration:
    """What `calibrate` leaves for the walk: GPTQ results and fallback reasons by constant."""

    results: dict[ConstantOp, QuantizedTensor]
    reasons: dict[ConstantOp, str]
    runs: int = 0
    tokens: int = 0


def calibrate(quantize: QuantizePass, module: ModuleOp) -> Calibration:
    """Collect statistics on the calibration inputs and run GPTQ on every target."""
    targets, reasons = find_targets(quantize, module)
    if not targets:
        return Calibration({}, reasons)
    samples = calibration_samples(quantize, module)
    mask = quantize.calibration_mask
    if mask is not None and any(mask not in sample for sample in samples):
        known = ", ".join(graph_arguments(module, CALIBRATION_GRAPH)) or "nothing"
        raise ValueError(
            f"calibration_mask={mask}: no such input in the calibration samples "
            f"(@{CALIBRATION_GRAPH} takes {known})"
        )
    runner = CalibrationRunner(module, samples, targets, mask)
    if quantize.sequential:
        while not all(t.done for t in targets):
            collector = runner.collector()
            runner.run(collector)
            if not collector.stage:
                break
            for index in sorted(collector.stage):
                targets[index].quantize(quantize)
    else:
        runner.run(runner.collector(set(range(len(targets)))))
        for target in targets:
            target.quantize(quantize)
    for target in targets:
        if target.result is None:
            reasons[target.op] = target.failure or "the calibration run never reached it"
    results = {t.op: t.result for t in targets if t.result is not None}
    tokens = max(t.tokens for t in targets)
    return Calibration(results, reasons, runner.runs, tokens)


class GptqQuantizeConstant(QuantizeConstant):
    """`QuantizeConstant` that uses GPTQ's codes for the weights calibration prepared."""

    def __init__(self, quantize: QuantizePass, run: PassRun) -> None:
        super().__init__(quantize, run)
        self.quantize = quantize
        self.algorithm = fallback_algorithm(quantize)  # for the weights GPTQ does not treat
        self.calibration = Calibration({}, {}, 0, 0)

    def start(self, module: ModuleOp) -> None:
        self.calibration = calibrate(self.quantize, module)
        self.run.count("gptq-weights", len(self.calibration.results), "Weights quantized by GPTQ")
        self.run.count("calibration-runs", self.calibration.runs, "Executor runs of calibration")
        self.run.count(
            "calibration-tokens", self.calibration.tokens, "Activation rows per weight (largest)"
        )
        super().start(module)

    def compress(self, candidate: Candidate) -> list[Operation]:
        result = self.calibration.results.get(candidate.op)
        if result is None:
            reason = self.calibration.reasons.get(candidate.op, "not a GPTQ target")
            method = "the MSE search" if self.algorithm == "mse" else "round-to-nearest"
            self.run.warn(
                f"constant {describe(candidate.op)}: GPTQ not applied ({reason}); "
                f"quantized with {method}",
                where(candidate.op),
            )
            self.run.count(
                "gptq-fallbacks", 1, "Weights quantized without GPTQ (RTN or the MSE search)"
            )
            return super().compress(candidate)
        return build_dequant_chain(
            candidate,
            result.data,
            data_element_type(self.dtype),
            result.scale,
            result.offset,
            offset2=result.offset2,
        )
