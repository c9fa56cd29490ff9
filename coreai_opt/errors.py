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


class OutputError(CoreAIError, OSError):
    """An output the system would not let us write (permissions, a full disk, a device).

    Also an `OSError`, with the system's `errno`, so callers that catch OS errors still do.
    """


def os_reason(error: OSError) -> str:
    """The system's reason for an OS error as our messages write it ("permission denied")."""
    reason = error.strerror or str(error) or type(error).__name__
    return reason[:1].lower() + reason[1:]


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
    except CoreAIError:
        raise
    except OSError as failure:  # EIO, ELOOP, ENAMETOOLONG, a device that cannot be read...
        raise error(f"cannot read: {os_reason(failure)}", path) from None


@contextmanager
def writing(path: str) -> Iterator[None]:
    """Turn the OS errors of writing `path` into a one-line OutputError naming it."""
    try:
        yield
    except (CoreAIError, BrokenPipeError):  # a closed pipe is the reader's choice: no error
        raise
    except OSError as failure:
        problem = OutputError(f"cannot write: {os_reason(failure)}", path)
        problem.errno = failure.errno
        raise problem from None
