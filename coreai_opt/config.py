"""Per-weight compression settings in the spirit of coremltools' `OptimizationConfig`.

    from coreai_opt.config import OptimizationConfig, optimize_weights

    config = OptimizationConfig(
        global_config="quantize<dtype=int4,granularity=per_block,block_size=32>",
        op_type_configs={"gather_nd": "quantize<dtype=int8>"},     # embedding tables
        op_name_configs={r"encoder_layer_0_.*": None},             # layer 0 stays dense
    )
    compressed = optimize_weights(program, config)

A setting is a compression pass object (`QuantizePass(dtype="int8")`), pipeline text of
compression passes (`"sparsify<target_sparsity=0.5>,palettize<n_bits=4>"`), a sequence of
pass objects, or None (leave the weight uncompressed). Each weight takes the first
`op_name_configs` entry whose key (a regular expression, matched whole) matches its name,
its resource key or the SSA name of an op consuming it; else the first `op_type_configs`
entry naming the kind of an op consuming it (`coreai.gather_nd` or `gather_nd`; uses are
followed through decompression chains, `coreai.invoke` and `transpose`); else
`global_config`. A key that matches no weight is reported with a warning.

The settings are applied by the compression passes themselves: the weights sharing a
setting become one anchored `include` pattern of each of its passes (passes/selection.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Union

from coreai_opt.errors import PipelineError
from coreai_opt.pipeline import PassRun, Pipeline

if TYPE_CHECKING:
    from coreai_opt.program import AIProgram

Setting = Union["CompressionPass", str, Sequence["CompressionPass"], None]  # noqa: F821
"""A compression pass, pipeline text of compression passes, a sequence of them, or None."""

PREFIXES = ("coreai.decomposable.", "coreai.")


@dataclass
class OptimizationConfig:
    """Compression settings: a global one, per op type and per op (weight) name."""

    global_config: Setting = None
    op_type_configs: Mapping[str, Setting] = field(default_factory=dict)
    op_name_configs: Mapping[str, Setting] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.global_passes = to_passes(self.global_config, "global_config")
        self.type_passes = {
            key: to_passes(value, f"op_type_configs['{key}']")
            for key, value in self.op_type_configs.items()
        }
        self.name_passes = {
            key: to_passes(value, f"op_name_configs['{key}']")
            for key, value in self.op_name_configs.items()
        }
        self.name_patterns = {key: compile_key(key) for key in self.op_name_configs}


def compile_key(key: str) -> re.Pattern:
    """An `op_name_configs` key as a regular expression, or a one-line error naming it."""
    try:
        return re.compile(key)
    except re.error as error:
        raise ValueError(
            f"op_name_configs: key '{key}' is not a valid regular expression ({error})"
        ) from None


def to_passes(setting: Setting, where: str) -> tuple:
    """A setting as a tuple of compression passes (empty for None)."""
    from coreai_opt.passes.compression import CompressionPass

    if setting is None:
        return ()
    if isinstance(setting, str):
        try:
            passes = tuple(Pipeline.parse(setting).passes)
        except PipelineError as error:
            raise ValueError(f"{where}: {str(error).removeprefix('error: ')}") from None
    elif isinstance(setting, CompressionPass):
        passes = (setting,)
    elif isinstance(setting, Sequence):
        passes = tuple(setting)
    else:
        raise ValueError(
            f"{where}: expected a compression pass, pipeline text or None, got "
            f"{type(setting).__name__}"
        )
    for item in passes:
        if not isinstance(item, CompressionPass):
            raise ValueError(
                f"{where}: '{item}' is not a compression pass (quantize, palettize, sparsify)"
            )
    return passes


@dataclass(frozen=True)
class WeightInfo:
    """The names a weight is selected by."""

    identity: str
    names: tuple[str, ...]
    op_types: tuple[str, ...]


def weight_info(op) -> WeightInfo:
    """Names (identity, resource key, consumers' SSA names) and consumer kinds of a weight."""
    from coreai_opt.dialects.coreai import TransposeOp
    from coreai_opt.inspection import identity
    from coreai_opt.passes.common import key_hint
    from coreai_opt.passes.compression import look_through

    value = op.results[0]
    names = [identity(value), key_hint(op)]
    kinds: list[str] = []
    for user, _ in look_through(value):
        kinds.append(user.name)
        names.extend(r.name_hint for r in user.results if r.name_hint)
        if isinstance(user, TransposeOp):
            kinds.extend(use.operation.name for use in user.result.uses)
    short = [kind.removeprefix(prefix) for kind in kinds for prefix in PREFIXES]
    return WeightInfo(
        identity(value), tuple(dict.fromkeys(names)), tuple(dict.fromkeys([*kinds, *short]))
    )


def candidate_weights(program) -> list:
    """Every float tensor constant of the program (the passes decide which qualify)."""
    from xdsl.dialects.builtin import TensorType

    from coreai_opt.dialects.coreai import ConstantOp
    from coreai_opt.ir.dtypes import is_float_type

    return [
        op
        for op in program.module.walk()
        if isinstance(op, ConstantOp)
        and isinstance(op.result.type, TensorType)
        and is_float_type(op.result.type.get_element_type())
    ]


@dataclass
class Resolution:
    """Which setting each weight takes, and the selectors that matched nothing."""

    settings: dict[str, tuple]
    """Passes by weight identity (empty tuple: left uncompressed)."""
    ops: dict[str, list]
    """The constants of each identity."""
    unmatched: list[str]


def resolve(program, config: OptimizationConfig) -> Resolution:
    """The passes each weight of `program` takes under `config` (first match wins)."""
    settings: dict[str, tuple] = {}
    ops: dict[str, list] = {}
    used: set[tuple[str, str]] = set()
    for op in candidate_weights(program):
        info = weight_info(op)
        passes = setting_for(info, config, used)
        if settings.setdefault(info.identity, passes) != passes:
            raise ValueError(
                f"two weights are both named '{info.identity}' but take different settings: "
                "name them (SSA names or locations) to configure them apart"
            )
        ops.setdefault(info.identity, []).append(op)
    unmatched = [
        f"op_name_configs key '{key}'" for key in config.name_passes if ("name", key) not in used
    ]
    unmatched += [
        f"op_type_configs key '{key}'" for key in config.type_passes if ("type", key) not in used
    ]
    return Resolution(settings, ops, unmatched)


def setting_for(info: WeightInfo, config: OptimizationConfig, used: set) -> tuple:
    """The passes of one weight: by name, else by op type, else global."""
    for key, pattern in config.name_patterns.items():
        if any(pattern.fullmatch(name) for name in info.names):
            used.add(("name", key))
            return config.name_passes[key]
    for key, passes in config.type_passes.items():
        if key in info.op_types:
            used.add(("type", key))
            return passes
    return config.global_passes


def exact_names(names: Sequence[str]) -> str:
    """An `include` pattern matching exactly these weight names (and, for chained passes,
    the sparse values a `sparsify` of them produces)."""
    body = "|".join(re.escape(name) for name in sorted(set(names)))
    return f"^(?:{body})(?:_values)?$"


def selection_pipeline(resolution: Resolution) -> Pipeline:
    """One pass per (setting, pass), restricted to the weights of that setting that are
    large enough for it (a pass never sees a pattern that cannot match)."""
    from coreai_opt.passes.common import key_hint
    from coreai_opt.passes.compression import is_weight_sized

    groups: dict[tuple, list[str]] = {}
    for name, passes in resolution.settings.items():
        if passes:
            groups.setdefault(passes, []).append(name)
    steps = []
    for passes, names in groups.items():
        for item in passes:
            if item.include or item.exclude:
                raise ValueError(
                    f"'{item}': a pass in an OptimizationConfig takes no include/exclude "
                    "(select weights with op_name_configs / op_type_configs)"
                )
            sized = [
                label
                for name in names
                for op in resolution.ops[name]
                if is_weight_sized(op, item.weight_num_threshold)
                for label in (name, key_hint(op))
            ]
            if sized:
                steps.append(replace(item, include=exact_names(sized)))
    return Pipeline(steps)


def optimize_weights(
    program: AIProgram, config: OptimizationConfig, in_place: bool = False
) -> AIProgram:
    """Compress each weight of `program` as `config` says; returns the program (a copy
    unless `in_place`). Selectors that matched no weight are logged as warnings."""
    return optimize_with_runs(program, config, in_place)[0]


def optimize_with_runs(
    program: AIProgram, config: OptimizationConfig, in_place: bool = False
) -> tuple[AIProgram, list[PassRun]]:
    """`optimize_weights`, also returning the passes' records (statistics, warnings); the
    selectors that matched nothing are warnings of the first record."""
    from coreai_opt.options import check_bool, check_program

    check_program(program)
    check_bool(in_place, "in_place")
    if not isinstance(config, OptimizationConfig):
        raise ValueError(f"`config` must be an OptimizationConfig, got {type(config).__name__}")
    target = program if in_place else program.copy()
    resolution = resolve(target, config)
    selectors = PassRun("optimize-weights")
    for text in resolution.unmatched:
        selectors.warn(f"optimize_weights: {text} matched no weight")
    pipeline = selection_pipeline(resolution)
    pipeline.run(target)
    return target, [selectors, *pipeline.runs]
