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


def test_ticker_counts_steps_only_when_enabled(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr(progress_module.sys, "stderr", stream)
    set_progress(True)
    ticker = progress_module.Ticker("palettize", 3)
    for _ in range(3):
        ticker.tick()
    assert ticker.bar is not None and ticker.bar.n == 3
    ticker.close()
    assert "palettize" in stream.getvalue()
    assert progress_module.Ticker("palettize", 1).bar is None  # one step: no bar
    set_progress(False)
    assert progress_module.Ticker("palettize", 3).bar is None


def test_a_compression_pass_ticks_once_per_weight_sized_constant(monkeypatch):
    from coreai_opt.pipeline import Pipeline
    from coreai_opt.program import AIProgram

    stream = io.StringIO()
    monkeypatch.setattr(progress_module.sys, "stderr", stream)
    set_progress(True)
    steps = []
    monkeypatch.setattr(progress_module.Ticker, "tick", lambda self: steps.append(self.bar.total))
    text = """coreai.graph @main(%x: tensor<1x4xf16>) -> tensor<1x4xf16> {
  %a = coreai.constant dense<1.0> : tensor<4x4xf16>
  %b = coreai.constant dense<2.0> : tensor<4x4xf16>
  %small = coreai.constant dense<2.0> : tensor<2x2xf16>
  %y = coreai.batch_matmul %x, %a : (tensor<1x4xf16>, tensor<4x4xf16>) -> tensor<1x4xf16>
  %z = coreai.batch_matmul %y, %b : (tensor<1x4xf16>, tensor<4x4xf16>) -> tensor<1x4xf16>
  coreai.output %z : tensor<1x4xf16>
}
"""
    Pipeline.parse("quantize<weight_num_threshold=8>").run(AIProgram.parse(text))
    assert steps == [2, 2]
    assert "quantize" in stream.getvalue()
