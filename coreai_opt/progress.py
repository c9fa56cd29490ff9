"""Progress bars on stderr for long passes: only on a terminal, never under `--quiet`."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TypeVar

Item = TypeVar("Item")

_enabled: bool | None = None


def set_progress(enabled: bool | None) -> None:
    """Force progress bars on or off; None means "when stderr is a terminal"."""
    global _enabled
    _enabled = enabled


def progress_enabled() -> bool:
    """Whether bars are shown now."""
    if _enabled is not None:
        return _enabled
    return sys.stderr.isatty()


def progress(items: list[Item], description: str, unit: str = "weight") -> Iterable[Item]:
    """`items`, wrapped in a tqdm bar when progress is enabled and tqdm is installed."""
    if not progress_enabled() or len(items) < 2:
        return items
    try:
        from tqdm import tqdm
    except ImportError:
        return items
    return tqdm(items, desc=description, unit=unit, file=sys.stderr, leave=False)


class Ticker:
    """A progress bar advanced one step at a time, shown only when progress is enabled and
    there are at least two steps."""

    def __init__(self, description: str, total: int, unit: str = "weight") -> None:
        self.bar = None
        if progress_enabled() and total >= 2:
            try:
                from tqdm import tqdm
            except ImportError:
                return
            self.bar = tqdm(total=total, desc=description, unit=unit, file=sys.stderr, leave=False)

    def tick(self) -> None:
        """One step done."""
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        """Remove the bar."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None
