"""Passes and pipelines on xDSL's pass manager (docs/pipelines.md).

A pass is an `xdsl.passes.ModulePass` (a frozen dataclass whose fields are its options,
declared with `option(default, help, choices)`) deriving from `CoreAIPass`. `Pipeline.parse`
translates our syntax (`palettize<n_bits=4>`) into xDSL's spec (pipeline_syntax), parses it
with xDSL and builds each pass with its `from_spec`; `Pipeline.run` is xDSL's
`PassPipeline`, whose callback adds what xDSL lacks: per-pass statistics and warnings
(`PassRun`), timing, and verification between passes.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import typing
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass, PassPipeline
from xdsl.utils.arg_spec import ArgSpec, parse_pipeline
from xdsl.utils.exceptions import ArgSpecParseError

from coreai_opt.errors import PipelineError
from coreai_opt.pass_options import (
    OptionInfo,
    check_choice,
    checked_value,
    format_value,
    option,
    spec_value,
    type_label,
)
from coreai_opt.passes import get_all_passes

__all__ = ["CoreAIPass", "PassRun", "Pipeline", "format_value", "option", "register_pass"]

LOGGER = logging.getLogger("coreai_opt")


@dataclass
class PassRun:
    """What one pass execution records: statistics (MLIR-style counters) and warnings."""

    pass_name: str
    statistics: dict[str, int | float] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    left_dense: dict[str, str] = field(default_factory=dict)
    """Weights a compression pass did not compress, by report identity, with the reason."""
    details: dict[str, Any] = field(default_factory=dict)
    """Structured results beyond counters (the `mixed-precision` plan), for `--report`."""

    def count(self, key: str, amount: int | float = 1, description: str = "") -> None:
        """Add `amount` to the statistic `key`."""
        self.statistics[key] = self.statistics.get(key, 0) + amount
        if description:
            self.descriptions.setdefault(key, description)

    def leave_dense(self, weight: str, reason: str) -> None:
        """Record that `weight` (its report identity) stays dense, and why."""
        self.left_dense.setdefault(weight, reason)

    def warn(self, message: str, where: str | None = None) -> None:
        """Record and log a warning (e.g. a constant skipped, and why)."""
        text = f"{where}: warning: {message}" if where else f"warning: {message}"
        self.warnings.append(text)
        LOGGER.warning(text)


_CURRENT_RUN: ContextVar[PassRun | None] = ContextVar("coreai_opt_pass_run", default=None)


def current_run(pass_name: str) -> PassRun:
    """The record the running pipeline keeps for this pass; a throwaway one elsewhere
    (under `xdsl-opt`), where warnings are still logged."""
    run = _CURRENT_RUN.get()
    return run if run is not None and run.pass_name == pass_name else PassRun(pass_name)


@contextmanager
def recording(run: PassRun) -> Iterator[PassRun]:
    """Make `run` the record passes write to while the block runs."""
    token = _CURRENT_RUN.set(run)
    try:
        yield run
    finally:
        _CURRENT_RUN.reset(token)


@dataclass(frozen=True)
class CoreAIPass(ModulePass):
    """Base of our passes: an xDSL `ModulePass` with documented, checked options.

    Subclasses set `name` and implement xDSL's `apply(ctx, module)` (writing statistics to
    `current_run(self.name)`), or `run(module, run)`.
    """

    name: ClassVar[str] = ""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        """Run the pass on `op` (xDSL's entry point)."""
        self.run(op, current_run(self.name))

    def run(self, module: ModuleOp, run: PassRun) -> None:
        """Run the pass on `module`, recording statistics and warnings in `run`."""
        with recording(run):
            self.apply(Context(), module)

    def check_option_types(self) -> None:
        """Check every option against its declared type (numpy integers become `int`)."""
        for info in self.options():
            value = getattr(self, info.name)
            checked = checked_value(value, info.annotation, info.name)
            if checked is not value:
                object.__setattr__(self, info.name, checked)

    @classmethod
    def options(cls) -> list[OptionInfo]:
        """The pass's options, in declaration order."""
        hints = typing.get_type_hints(cls)
        return [
            OptionInfo(
                name=f.name,
                type_name=type_label(hints[f.name]),
                default=f.default,
                help=f.metadata.get("help", ""),
                choices=f.metadata.get("choices"),
                annotation=hints[f.name],
            )
            for f in dataclasses.fields(cls)
        ]

    @classmethod
    def summary(cls) -> str:
        """The first line of the docstring."""
        return (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""

    @classmethod
    def from_spec(cls, spec: ArgSpec) -> Self:
        """The pass for an xDSL spec, every option converted to its declared type and
        checked against its choices; a bad one is a one-line PipelineError."""
        known = {info.name: info for info in cls.options()}
        typed: dict[str, Any] = {}
        for key, values in spec.parameters.items():
            info = known.get(key.replace("-", "_"))
            if info is None:
                valid = ", ".join(known) or "none"
                raise PipelineError(
                    f"pass '{cls.name}' has no option '{key}' (valid options: {valid})"
                )
            value = spec_value(values, info.annotation, f"pass '{cls.name}': option '{info.name}'")
            check_choice(cls.name, info, value)
            typed[info.name] = () if value is None else value if type(value) is tuple else (value,)
        try:
            return super().from_spec(ArgSpec(cls.name, typed))
        except (ValueError, TypeError) as error:
            raise PipelineError(f"pass '{cls.name}': {error}") from None

    def __str__(self) -> str:
        """The pass in pipeline syntax, non-default options only (`palettize<n_bits=2>`)."""
        spec = self.spec()
        options = ",".join(f"{key}={format_value(getattr(self, key))}" for key in spec.parameters)
        return f"{self.name}<{options}>" if options else self.name


# --------------------------------------------------------------------------- registry


_REGISTRY: dict[str, Callable[[], type[CoreAIPass]]] = dict(get_all_passes())  # type: ignore[arg-type]
"""Every pass by name, loaded on first use: ours (coreai_opt.passes) and registered ones."""


def register_pass(cls: type[CoreAIPass]) -> type[CoreAIPass]:
    """Class decorator: make a pass available by its `name` in pipelines and the CLI."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no pass name")
    _REGISTRY[cls.name] = lambda: cls
    return cls


def load_all_passes() -> dict[str, type[CoreAIPass]]:
    """Every registered pass class, sorted by name."""
    return {name: _REGISTRY[name]() for name in sorted(_REGISTRY)}


def get_pass_class(name: str) -> type[CoreAIPass]:
    """The registered pass called `name` (kebab or snake case)."""
    for candidate in (name, name.replace("_", "-")):
        if candidate in _REGISTRY:
            return _REGISTRY[candidate]()
    raise PipelineError(f"unknown pass '{name}' (available passes: {', '.join(sorted(_REGISTRY))})")


# --------------------------------------------------------------------------- Pipeline


def parse_passes(text: str) -> list[CoreAIPass]:
    """Our pipeline text, read by xDSL's parser after translation (PipelineError, one line)."""
    from coreai_opt.pipeline_syntax import to_xdsl_spec

    spec = to_xdsl_spec(text, lambda name: get_pass_class(name).name)
    try:
        specs = list(parse_pipeline(spec))
    except ArgSpecParseError:  # a registered pass name xDSL cannot spell (`my.pass`)
        raise PipelineError(f"xDSL cannot parse '{spec}' (the pipeline '{text}')") from None
    return [get_pass_class(item.name).from_spec(item) for item in specs]


class Pipeline:
    """An ordered list of passes, built from pass objects or parsed from text.

    `str(pipeline)` prints text that `Pipeline.parse` reads back to an equal pipeline;
    `runs` holds the statistics and timings of the last `run`.
    """

    def __init__(self, passes: Iterable[CoreAIPass] | str = ()) -> None:
        self.passes = parse_passes(passes) if isinstance(passes, str) else list(passes)
        self.runs: list[PassRun] = []

    @classmethod
    def parse(cls, text: str) -> Pipeline:
        """Parse `palettize<n_bits=4>,...` (also `{}` options and a `builtin.module()` anchor)."""
        return cls(text)

    def __repr__(self) -> str:
        return f"Pipeline({str(self)!r})"

    def __str__(self) -> str:
        return ",".join(str(p) for p in self.passes)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pipeline) and self.passes == other.passes

    def __or__(self, other: Pipeline | CoreAIPass) -> Pipeline:
        tail = other.passes if isinstance(other, Pipeline) else [other]
        return Pipeline([*self.passes, *tail])

    def then(self, *passes: CoreAIPass) -> Pipeline:
        """A new pipeline with `passes` appended."""
        return Pipeline([*self.passes, *passes])

    def run(
        self,
        program: Any,
        verify_each: bool = True,
        on_pass_done: Callable[[PassRun], None] | None = None,
    ) -> Any:
        """Run every pass on `program` (an AIProgram or a ModuleOp), in place; returns it.

        A ValueError raised by a pass becomes a PipelineError naming the pass.
        """
        module = getattr(program, "module", program)
        recorder = Recorder(verify_each, on_pass_done)
        self.runs = recorder.runs
        try:
            PassPipeline(tuple(self.passes), recorder.between).apply(Context(), module)
        except ValueError as error:
            if recorder.running is None:
                raise
            raise PipelineError(f"pass '{recorder.running.name}' failed: {error}") from None
        finally:
            recorder.close()
        return program


class Recorder:
    """The `PassPipeline` callback: times each pass, makes its `PassRun` current while it
    runs, verifies the module after it and reports it to `on_pass_done`."""

    def __init__(self, verify_each: bool, on_pass_done: Callable[[PassRun], None] | None) -> None:
        self.verify_each, self.on_pass_done = verify_each, on_pass_done
        self.runs: list[PassRun] = []
        self.running: ModulePass | None = None
        self.token, self.start = None, 0.0

    def between(self, done: ModulePass | None, module: ModuleOp, upcoming: ModulePass | None):
        """Close the record of `done`, then open one for `upcoming`."""
        self.running = None
        self.close()
        if done is not None:
            self.runs[-1].seconds = time.perf_counter() - self.start
            if self.verify_each:
                from coreai_opt.ir.text import verify_module

                verify_module(module)
            if self.on_pass_done is not None:
                self.on_pass_done(self.runs[-1])
        if upcoming is not None:
            self.runs.append(PassRun(upcoming.name))
            self.token, self.running = _CURRENT_RUN.set(self.runs[-1]), upcoming
            self.start = time.perf_counter()

    def close(self) -> None:
        """Stop making the last record current."""
        if self.token is not None:
            _CURRENT_RUN.reset(self.token)
            self.token = None
