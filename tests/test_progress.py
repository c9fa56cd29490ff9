"""Progress bars: only on a terminal, never when forced off (--quiet)."""

from __future__ import annotations

import io

import pytest

from coreai_opt import progress as progress_module
from coreai_opt.progress import progress, set_progress


@pytest.fixture(autouse=True)
def reset():
    yield
    set_progress(None)


def test_silent_when_stderr_is_not_a_terminal(monkeypatch):
    monkeypatch.setattr(progress_module.sys, "stderr", io.StringIO())
    items = [1, 2, 3]
    assert progress(items, "quantize") is items


def test_forced_on_shows_a_bar_and_forced_off_never(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr(progress_module.sys, "stderr", stream)
    set_progress(True)
    assert list(progress([1, 2, 3], "palettize")) == [1, 2, 3]
    assert "palettize" in stream.getvalue()
    set_progress(False)
    items = [1, 2, 3]
    assert progress(items, "palettize") is items


def test_cli_quiet_restores_auto_mode(tmp_path):
    from coreai_opt.cli import main

    source = tmp_path / "in.mlir"
    source.write_text("module {\n}\n")
    assert main([str(source), "--quiet", "-o", str(tmp_path / "out.mlir")]) == 0
    assert progress_module._enabled is None
