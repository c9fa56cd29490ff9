"""Pass options: declared as dataclass fields, read from pipeline specs, checked from Python.

An option is a field of a pass (a frozen dataclass, xDSL's `ModulePass`) declared with
`option(default, help, choices)`. xDSL's spec parser hands over each value as a tuple of
`str | int | float | bool` (empty for a bare key); `spec_value` turns it into the declared type
with one-line errors naming the pass and the option. `checked_value` checks a value given
from Python.
"""

from __future__ import annotations

import numbers
import re
import sys
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Union

from coreai_opt.errors import ArgumentTypeError, PipelineError

EXPECTED = {
    bool: "a boolean (true/false)",
    int: "an integer",
    float: "a number",
    str: "a string",
}
"""What each option type expects, as pipeline errors say it."""


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


def members(annotation: Any) -> tuple[Any, ...]:
    """The members of a union type (`int | None` -> (int, NoneType)), else the type alone."""
    if typing.get_origin(annotation) in (Union, types.UnionType):
        return typing.get_args(annotation)
    return (annotation,)


def type_label(annotation: Any) -> str:
    """A short human name for an option's type (`int`, `float | None`, ...)."""
    if len(members(annotation)) > 1:
        return " | ".join(type_label(arg) for arg in members(annotation))
    if typing.get_origin(annotation) is tuple:
        return "(" + ", ".join(type_label(arg) for arg in typing.get_args(annotation)) + ")"
    if annotation is type(None):
        return "none"
    return getattr(annotation, "__name__", str(annotation))


def format_value(value: Any) -> str:
    """An option value in pipeline syntax (text is quoted when it has to be)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return "(" + ",".join(format_value(v) for v in value) + ")"
    if hasattr(value, "value") and isinstance(value.value, str):
        return value.value
    if isinstance(value, str) and needs_quotes(value):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)


def needs_quotes(text: str) -> bool:
    """Whether text must be quoted to read back as itself (not `none`, one value)."""
    special = any(c in ",<>{}()[]\"'=" or c.isspace() for c in text)
    return not text or special or text.lower() in ("none", "null")


def spec_value(values: tuple[Any, ...], annotation: Any, where: str) -> Any:
    """An option's value from xDSL's spec (`()` for none) as its declared type.

    Our pipeline syntax hands every scalar over as text (see pipeline_syntax), xdsl-opt as
    xDSL typed it; both are accepted. The first member of a union that takes the value wins.
    """
    text = spec_text(values)
    kinds = members(annotation)
    if not values and type(None) in kinds:
        return None
    errors = []
    for kind in kinds:
        if kind is not type(None):
            try:
                return scalar_or_tuple(values, kind, where, text)
            except PipelineError as error:
                errors.append(error)
    raise errors[0] if errors else PipelineError(f"{where} has no type")


def spec_text(values: tuple[Any, ...]) -> str:
    """How a spec value reads in an error message."""
    if len(values) == 1:
        return values[0] if isinstance(values[0], str) else format_value(values[0])
    return format_value(values) if values else "none"


def scalar_or_tuple(values: tuple[Any, ...], kind: Any, where: str, text: str) -> Any:
    """`values` as one value of `kind` (a scalar type or a fixed-size tuple)."""
    if typing.get_origin(kind) is tuple:
        kinds = typing.get_args(kind)
        if len(values) == 1 and isinstance(values[0], str):
            values = split_tuple(values[0])
        if len(values) != len(kinds):
            raise PipelineError(f"{where} expects {len(kinds)} values like (2,4), got '{text}'")
        return tuple(
            scalar_or_tuple((v,), k, where, format_value(v))
            for v, k in zip(values, kinds, strict=True)
        )
    if kind not in EXPECTED:
        raise PipelineError(f"{where} has an unsupported type {kind}")
    converted = scalar(values[0], kind) if len(values) == 1 else None
    if converted is None:
        raise PipelineError(f"{where} expects {EXPECTED[kind]}, got '{text}'")
    return converted


def split_tuple(text: str) -> tuple[str, ...]:
    """`(2,4)`, `[2:4]` or `2,4` as its parts."""
    inner = text.strip()
    if inner[:1] in "([" and inner[-1:] in ")]":
        inner = inner[1:-1]
    return tuple(part.strip() for part in re.split(r"[,:]", inner) if part.strip())


def scalar(value: str | int | float | bool, kind: type) -> Any:
    """`value` as `kind`, or None when it is not one (text is parsed as Python would)."""
    if kind is bool:
        return value if isinstance(value, bool) else {"true": True, "false": False}.get(value)
    if kind is str:
        return value if isinstance(value, str) else format_value(value)
    if isinstance(value, bool) or (kind is int and isinstance(value, float)):
        return None
    try:
        return kind(value)
    except ValueError:
        return None


def checked_value(value: Any, annotation: Any, name: str) -> Any:
    """An option value given from Python, checked against its declared type.

    Booleans must be `bool` (numpy's too), integers integral (numpy integers become `int`),
    floats real numbers, strings `str` (enum members included); `None` where the type allows.
    Raises ArgumentTypeError naming the option.
    """
    kinds = [m for m in members(annotation) if m is not type(None)]
    if value is None and len(kinds) < len(members(annotation)):
        return None
    for kind in kinds:
        if typing.get_origin(kind) is tuple:
            inner = typing.get_args(kind)
            if isinstance(value, tuple | list) and len(value) == len(inner):
                try:
                    return tuple(
                        checked_value(v, k, name) for v, k in zip(value, inner, strict=True)
                    )
                except ArgumentTypeError:
                    continue
        elif kind is bool and (isinstance(value, bool) or is_numpy_bool(value)):
            return bool(value)
        elif kind is int and isinstance(value, numbers.Integral) and not isinstance(value, bool):
            return int(value)
        elif kind is float and isinstance(value, numbers.Real) and not isinstance(value, bool):
            return float(value) if not isinstance(value, int) else value
        elif (kind is str and isinstance(value, str)) or (
            kind not in (bool, int, float, str) and typing.get_origin(kind) is not tuple
        ):
            return value
    raise ArgumentTypeError(f"option '{name}' must be {type_noun(annotation)}, got {value!r}")


def type_noun(annotation: Any) -> str:
    """`a bool (True or False)`, `an integer or None` ... for an option's type."""
    if len(members(annotation)) > 1:
        return " or ".join(type_noun(arg) for arg in members(annotation))
    if typing.get_origin(annotation) is tuple:
        return f"a tuple of {len(typing.get_args(annotation))} values"
    nouns = {
        bool: "a bool (True or False)",
        int: "an integer",
        float: "a number",
        str: "a string",
        type(None): "None",
    }
    return nouns.get(annotation, type_label(annotation))


def is_numpy_bool(value: Any) -> bool:
    """A numpy boolean (numpy is only looked at when it is already imported)."""
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(value, numpy.bool_)


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
