"""The pass manager: a registry of passes, the textual pipeline syntax, `Pipeline`.

A pass is a frozen dataclass deriving from `CoreAIPass`; its fields are its options, its
docstring's first line is its one-line help, and `@register_pass` makes it known by name:

    @register_pass
    @dataclass(frozen=True)
    class PalettizePass(CoreAIPass):
        '''Palettize weights with k-means look-up tables.'''
        name = "palettize"
        n_bits: int = option(4, "Bits per index", choices=(1, 2, 3, 4, 6, 8))

Pipelines are written `palettize<n_bits=4>`, `palettize{n-bits=4}`, several passes
comma-separated, optionally anchored as `builtin.module(...)`.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import numbers
import sys
import time
import types
import typing
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Union

from coreai_opt.errors import ArgumentTypeError, PipelineError

LOGGER = logging.getLogger("coreai_opt")

PASS_MODULES = (
    "coreai_opt.passes.optimize",
    "coreai_opt.passes.cast_to_fp16",
    "coreai_opt.passes.decompress",
    "coreai_opt.passes.quantize",
    "coreai_opt.passes.palettize",
    "coreai_opt.passes.sparsify",
)
"""Modules whose import registers passes (missing ones are simply not available yet)."""

_REGISTRY: dict[str, type[CoreAIPass]] = {}


# --------------------------------------------------------------------------- options


def option(default: Any, help: str, choices: Sequence[Any] | None = None) -> Any:
    """Declare a pass option: a dataclass field with its help text and allowed values."""
    return field(default=default, metadata={"help": help, "choices": choices})


@dataclass(frozen=True)
class OptionInfo:
    """What `--list-passes` and the pipeline parser know about one option."""

    name: str
    type_name: str
    default: Any
    help: str
    choices: Sequence[Any] | None
    annotation: Any


def resolved_hints(cls: type) -> dict[str, Any]:
    """Field annotations of a pass class, resolved from strings."""
    return typing.get_type_hints(cls)


def type_label(annotation: Any) -> str:
    """A short human name for an option's type (`int`, `float | None`, ...)."""
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        return " | ".join(type_label(arg) for arg in typing.get_args(annotation))
    if origin is tuple:
        return "(" + ", ".join(type_label(arg) for arg in typing.get_args(annotation)) + ")"
    if annotation is type(None):
        return "none"
    return getattr(annotation, "__name__", str(annotation))


def format_value(value: Any) -> str:
    """An option value in pipeline syntax."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return "(" + ",".join(format_value(v) for v in value) + ")"
    if hasattr(value, "value") and isinstance(value.value, str):
        return value.value
    if isinstance(value, str) and (not value or any(c in value for c in ",<>{}()[] \"'=")):
        return '"' + value.replace('"', '\\"') + '"'
    return str(value)


def convert_value(text: str, annotation: Any, where: str) -> Any:
    """Parse an option's text according to its declared type."""
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        members = typing.get_args(annotation)
        if type(None) in members and text.lower() in ("none", "null"):
            return None
        errors = []
        for member in members:
            if member is type(None):
                continue
            try:
                return convert_value(text, member, where)
            except PipelineError as error:
                errors.append(error)
        raise errors[0]
    if origin is tuple:
        inner = text.strip()
        if inner[:1] in "([" and inner[-1:] in ")]":
            inner = inner[1:-1]
        parts = [p for p in inner.replace(":", ",").split(",") if p.strip()]
        kinds = typing.get_args(annotation)
        if len(parts) != len(kinds):
            raise PipelineError(f"{where} expects {len(kinds)} values like (2,4), got '{text}'")
        return tuple(convert_value(p.strip(), k, where) for p, k in zip(parts, kinds, strict=True))
    if annotation is bool:
        if text in ("true", "false"):
            return text == "true"
        raise PipelineError(f"{where} expects a boolean (true/false), got '{text}'")
    if annotation is int:
        try:
            return int(text)
        except ValueError:
            raise PipelineError(f"{where} expects an integer, got '{text}'") from None
    if annotation is float:
        try:
            return float(text)
        except ValueError:
            raise PipelineError(f"{where} expects a number, got '{text}'") from None
    if annotation is str:
        if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
            return text[1:-1].replace("\\" + text[0], text[0])
        return text
    raise PipelineError(f"{where} has an unsupported type {annotation}")


def checked_value(value: Any, annotation: Any, name: str) -> Any:
    """An option value given from Python, checked against its declared type.

    Booleans must be `bool` (numpy's too), integers integral (numpy integers become `int`),
    floats real numbers, strings `str` (enum members included); `None` where the type allows.
    Raises ArgumentTypeError naming the option.
    """
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        members = [m for m in typing.get_args(annotation) if m is not type(None)]
        if value is None and len(members) < len(typing.get_args(annotation)):
            return None
        for member in members:
            try:
                return checked_value(value, member, name)
            except ArgumentTypeError:
                continue
    elif origin is tuple:
        kinds = typing.get_args(annotation)
        if isinstance(value, tuple | list) and len(value) == len(kinds):
            return tuple(checked_value(v, k, name) for v, k in zip(value, kinds, strict=True))
    elif annotation is bool:
        if isinstance(value, bool) or _is_numpy_bool(value):
            return bool(value)
    elif annotation is int:
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            return int(value)
    elif annotation is float:
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            return float(value) if not isinstance(value, int) else value
    elif annotation is str:
        if isinstance(value, str):
            return value
    else:
        return value
    raise ArgumentTypeError(f"option '{name}' must be {type_noun(annotation)}, got {value!r}")


def type_noun(annotation: Any) -> str:
    """`a bool (True or False)`, `an integer or None` ... for an option's type."""
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        return " or ".join(type_noun(arg) for arg in typing.get_args(annotation))
    if origin is tuple:
        return f"a tuple of {len(typing.get_args(annotation))} values"
    nouns = {
        bool: "a bool (True or False)",
        int: "an integer",
        float: "a number",
        str: "a string",
        type(None): "None",
    }
    return nouns.get(annotation, type_label(annotation))


def _is_numpy_bool(value: Any) -> bool:
    """A numpy boolean (numpy is only looked at when it is already imported)."""
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(value, numpy.bool_)


# --------------------------------------------------------------------------- passes


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


@dataclass(frozen=True)
class CoreAIPass:
    """Base of all passes. Subclasses set `name` and implement `run`."""

    name: ClassVar[str] = ""

    def run(self, module: Any, run: PassRun) -> None:  # pragma: no cover - abstract
        """Transform `module` in place, recording statistics and warnings in `run`."""
        raise NotImplementedError

    # xDSL ModulePass compatibility: `apply(ctx, op)`.
    def apply(self, ctx: Any, op: Any) -> None:
        """Run the pass on `op` the way xDSL's `ModulePass.apply` does."""
        self.run(op, PassRun(self.name))

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
        hints = resolved_hints(cls)
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
    def from_options(cls, values: dict[str, str]) -> CoreAIPass:
        """Build the pass from textual option values, checking names, types and choices."""
        known = {info.name: info for info in cls.options()}
        kwargs: dict[str, Any] = {}
        for raw_key, text in values.items():
            key = raw_key.replace("-", "_")
            if key not in known:
                valid = ", ".join(known) or "none"
                raise PipelineError(
                    f"pass '{cls.name}' has no option '{raw_key}' (valid options: {valid})"
                )
            info = known[key]
            value = convert_value(text, info.annotation, f"pass '{cls.name}': option '{key}'")
            check_choice(cls.name, info, value)
            kwargs[key] = value
        try:
            return cls(**kwargs)
        except (ValueError, TypeError) as error:
            raise PipelineError(f"pass '{cls.name}': {error}") from None

    def option_text(self) -> str:
        """Non-default options in pipeline syntax (`n_bits=4,granularity=per_channel`)."""
        parts = []
        for info in self.options():
            value = getattr(self, info.name)
            if value != info.default:
                parts.append(f"{info.name}={format_value(value)}")
        return ",".join(parts)

    def __str__(self) -> str:
        text = self.option_text()
        return f"{self.name}<{text}>" if text else self.name


def check_choice(pass_name: str, info: OptionInfo, value: Any) -> None:
    """Reject values outside an option's declared choices."""
    if info.choices is None or value is None:
        return
    if value not in info.choices:
        listed = ", ".join(format_value(c) for c in info.choices)
        raise PipelineError(
            f"pass '{pass_name}': option '{info.name}' must be one of [{listed}], "
            f"got '{format_value(value)}'"
        )


def register_pass(cls: type[CoreAIPass]) -> type[CoreAIPass]:
    """Class decorator: make a pass available by its `name` in pipelines and the CLI."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no pass name")
    _REGISTRY[cls.name] = cls
    return cls


def load_all_passes() -> dict[str, type[CoreAIPass]]:
    """Import every pass module and return the registry, sorted by name."""
    for module_name in PASS_MODULES:
        try:
            importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
    return dict(sorted(_REGISTRY.items()))


def get_pass_class(name: str) -> type[CoreAIPass]:
    """The registered pass called `name` (kebab or snake case)."""
    registry = load_all_passes()
    for candidate in (name, name.replace("_", "-")):
        if candidate in registry:
            return registry[candidate]
    valid = ", ".join(registry)
    raise PipelineError(f"unknown pass '{name}' (available passes: {valid})")


# --------------------------------------------------------------------------- syntax


class PipelineSyntax:
    """Recursive-descent parser of the pipeline text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, message: str, pos: int | None = None) -> PipelineError:
        """A PipelineError pointing at the current column (or at `pos`)."""
        column = (self.pos if pos is None else pos) + 1
        return PipelineError(f"{message} at column {column} of '{self.text}'")

    def skip_space(self) -> None:
        """Skip whitespace."""
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def accept(self, literal: str) -> bool:
        """Consume `literal` if it is next."""
        self.skip_space()
        if self.text.startswith(literal, self.pos):
            self.pos += len(literal)
            return True
        return False

    def name(self, what: str = "a pass name") -> str:
        """A pass or option name."""
        self.skip_space()
        start = self.pos
        while self.pos < len(self.text) and (
            self.text[self.pos].isalnum() or self.text[self.pos] in "_-."
        ):
            self.pos += 1
        if start == self.pos:
            raise self.error(f"expected {what}")
        return self.text[start : self.pos]

    def at_end_or(self, closer: str | None) -> bool:
        """Whether only `closer` (or the end of the text) comes next."""
        self.skip_space()
        return self.pos >= len(self.text) or (closer is not None and self.text[self.pos] == closer)

    def value(self, closers: str) -> str:
        """An option value: bare text up to a separator, or a quoted/bracketed group."""
        self.skip_space()
        start, depth = self.pos, 0
        quote = None
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if quote:
                quote = None if char == quote else quote
            elif char in "\"'":
                quote = char
            elif char in "([":
                depth += 1
            elif char in ")]" and depth:
                depth -= 1
            elif depth == 0 and (char in closers or char == "," or char.isspace()):
                break
            self.pos += 1
        if start == self.pos:
            raise self.error("expected an option value")
        return self.text[start : self.pos]

    def options(self, closer: str, pass_name: str) -> dict[str, str]:
        """`key=value` pairs separated by commas or spaces, up to `closer`.

        A key given twice (`n_bits` and `n-bits` are one key) and a comma with no option
        after it are errors.
        """
        values: dict[str, str] = {}
        seen: set[str] = set()
        while not self.accept(closer):
            if self.pos >= len(self.text):
                raise self.error(f"missing '{closer}'")
            self.skip_space()
            start = self.pos
            key = self.name("an option name")
            if not self.accept("="):
                raise self.error(f"expected '=' after option '{key}'")
            if key.replace("-", "_") in seen:
                raise self.error(f"pass '{pass_name}': option '{key}' is given twice", start)
            seen.add(key.replace("-", "_"))
            values[key] = self.value(closer)
            if self.accept(",") and (self.at_end_or(closer) or self.text[self.pos] == ","):
                raise self.error("expected an option name after ','")
            if self.pos >= len(self.text):
                raise self.error(f"missing '{closer}'")
        return values

    def pass_list(self, closer: str | None) -> list[CoreAIPass]:
        """Comma-separated passes, up to `closer` (or the end)."""
        passes: list[CoreAIPass] = []
        while True:
            self.skip_space()
            if closer is None and self.pos >= len(self.text):
                break
            if closer is not None and self.accept(closer):
                return passes
            pass_name = self.name()
            if pass_name in ("builtin.module", "module", "any") and self.accept("("):
                passes.extend(self.pass_list(")"))
            else:
                options: dict[str, str] = {}
                if self.accept("<"):
                    options = self.options(">", pass_name)
                elif self.accept("{"):
                    options = self.options("}", pass_name)
                passes.append(get_pass_class(pass_name).from_options(options))
            if self.accept(","):
                if self.at_end_or(closer):
                    raise self.error("expected a pass name after ','")
            else:
                self.skip_space()
                if closer is not None:
                    if not self.accept(closer):
                        raise self.error(f"expected ',' or '{closer}'")
                    return passes
                if self.pos < len(self.text):
                    raise self.error("expected ',' between passes")
                break
        return passes


def parse_pipeline(text: str) -> list[CoreAIPass]:
    """Parse pipeline text into pass objects (raises PipelineError, one line)."""
    return PipelineSyntax(text).pass_list(None)


# --------------------------------------------------------------------------- Pipeline


class Pipeline:
    """An ordered list of passes, built from pass objects or parsed from text.

    `str(pipeline)` prints text that `Pipeline.parse` reads back to an equal pipeline;
    `runs` holds the statistics and timings of the last `run`.
    """

    def __init__(self, passes: Iterable[CoreAIPass] | str = ()) -> None:
        self.passes: list[CoreAIPass] = (
            parse_pipeline(passes) if isinstance(passes, str) else list(passes)
        )
        self.runs: list[PassRun] = []

    def __repr__(self) -> str:
        return f"Pipeline({str(self)!r})"

    @classmethod
    def parse(cls, text: str) -> Pipeline:
        """Parse `palettize<n_bits=4>,...` (also `{}` options and a `builtin.module()` anchor)."""
        return cls(text)

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
        """Run every pass on `program` (an AIProgram or a ModuleOp), in place; returns it."""
        from coreai_opt.ir.text import verify_module

        module = getattr(program, "module", program)
        self.runs = []
        for compression_pass in self.passes:
            run = PassRun(compression_pass.name)
            start = time.perf_counter()
            try:
                compression_pass.run(module, run)
            except ValueError as error:
                raise PipelineError(f"pass '{compression_pass.name}' failed: {error}") from None
            run.seconds = time.perf_counter() - start
            self.runs.append(run)
            if verify_each:
                verify_module(module)
            if on_pass_done is not None:
                on_pass_done(run)
        return program
