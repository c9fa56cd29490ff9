"""Shared fixtures: small seeded programs built with the synthetic generator."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from coreai_opt.ir.elements import elements_array
from coreai_opt.program import AIProgram
from coreai_opt.synthetic import Layer, write_module

XDSL_OPT = [sys.executable, "-m", "xdsl.tools.xdsl_opt"]
"""`xdsl-opt`, run by this interpreter (wherever pip put the script)."""


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


MLIR_FLOAT = {"float16": "f16", "bfloat16": "bf16", "float32": "f32", "float64": "f64"}


def weights_module_text(weights: dict[str, np.ndarray]) -> str:
    """A graph returning `x @ W.T` for each `[out, in]` weight (x an argument), the weights
    as resources: every weight is a compression candidate, nothing else is."""
    arguments, body, results, resources = [], [], [], []
    for name, weight in weights.items():
        element = MLIR_FLOAT[weight.dtype.name]
        out_dim, in_dim = weight.shape
        w_type, t_type = (
            f"tensor<{out_dim}x{in_dim}x{element}>",
            f"tensor<{in_dim}x{out_dim}x{element}>",
        )
        x_type, y_type = f"tensor<1x{in_dim}x{element}>", f"tensor<1x{out_dim}x{element}>"
        arguments.append(f"%{name}_x: {x_type}")
        body += [
            f"    %{name} = coreai.constant dense_resource<{name}> : {w_type}",
            f"    %{name}_t = coreai.transpose %{name}, %perm : "
            f"({w_type}, tensor<2xui32>) -> {t_type}",
            f"    %{name}_y = coreai.batch_matmul %{name}_x, %{name}_t : "
            f"({x_type}, {t_type}) -> {y_type}",
        ]
        results.append((f"%{name}_y", y_type))
        blob = weight.dtype.itemsize.to_bytes(4, "little") + np.ascontiguousarray(weight).tobytes()
        resources.append(f'      {name}: "0x{blob.hex().upper()}"')
    types = ", ".join(t for _, t in results)
    lines = [
        "module {",
        f"  coreai.graph @main({', '.join(arguments)}) -> ({types}) {{",
        "    %perm = coreai.constant dense<[1, 0]> : tensor<2xui32>",
        *body,
        f"    coreai.output {', '.join(r for r, _ in results)} : {types}",
        "  }",
        "}",
        "{-#",
        "  dialect_resources: {",
        "    builtin: {",
        ",\n".join(resources),
        "    }",
        "  }",
        "#-}",
    ]
    return "\n".join(lines) + "\n"


def program_with_weights(**weights: np.ndarray) -> AIProgram:
    """An AIProgram holding the given weights (name=array), each used as a matmul operand."""
    return AIProgram.parse(weights_module_text(weights))


def constants_by_name(program: AIProgram) -> dict[str, np.ndarray]:
    """Every constant's array by its SSA name (literals and resources alike)."""
    return {op.result.name_hint: elements_array(op.value) for op in program.constants()}
