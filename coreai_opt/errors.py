"""Errors that the tools report as one line: `where: error: what`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class CoreAIError(Exception):
    """A user-facing error: bad IR, bad pipeline, bad file. Never shown with a traceback."""

    def __init__(self, message: str, where: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where

    def __str__(self) -> str:
        if self.where:
            return f"{self.where}: error: {self.message}"
        return f"error: {self.message}"


class IRError(CoreAIError):
    """Malformed or invalid IR, located at `file:line:col` when known."""


class PipelineError(CoreAIError):
    """An unknown pass, an unknown option or an option value of the wrong type."""


class AssetError(CoreAIError):
    """A missing, corrupt or unwritable `.aimodel` bundle or file."""


class ArgumentTypeError(TypeError, ValueError):
    """An API argument of the wrong type (`in_place="false"`, `n_bits=4.0`, a path instead of
    a program). A TypeError that is also a ValueError, so code catching the ValueErrors of
    argument validation (docs/api.md) still catches it."""


@contextmanager
def opening(
    path: str, error: type[CoreAIError] = IRError, expected: str = "a file"
) -> Iterator[None]:
    """Turn the OS errors of opening `path` into one-line errors naming it."""
    try:
        yield
    except FileNotFoundError:
        raise error("no such file", path) from None
    except IsADirectoryError:
        raise error(f"is a directory, expected {expected}", path) from None
    except PermissionError:
        raise error("permission denied", path) from None
