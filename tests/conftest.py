"""Shared fixtures: small seeded programs built with the synthetic generator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from coreai_opt.ir.elements import elements_array
from coreai_opt.program import AIProgram
from coreai_opt.synthetic import Layer, write_module


def build_program(tmp_path: Path, layers: list[Layer], seed: int = 0, **kwargs) -> AIProgram:
    """Write a seeded synthetic module and load it."""
    path = tmp_path / "model.mlir"
    write_module(path, layers, seed=seed, **kwargs)
    return AIProgram.load(path)


def weights_by_key(program: AIProgram) -> dict[str, np.ndarray]:
    """Resource-backed constants by key (the weights), as numpy arrays."""
    from coreai_opt.dialects.resources import DenseResourceElementsAttr

    found = {}
    for op in program.constants():
        if isinstance(op.value, DenseResourceElementsAttr):
            found[op.value.resource_handle.data] = elements_array(op.value)
    return found


@pytest.fixture
def small_program(tmp_path: Path) -> AIProgram:
    """Two linear layers, 32x2048 and 64x32 f16 (PyTorch [C_out, C_in] layout)."""
    return build_program(tmp_path, [Layer("w0", (32, 2048)), Layer("w1", (64, 32))], seed=3)
