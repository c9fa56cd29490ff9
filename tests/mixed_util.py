"""A small runnable MLP for the per-weight control and mixed-precision tests."""

from __future__ import annotations

import itertools

import numpy as np

from coreai_opt.program import AIProgram


def hex_literal(array: np.ndarray) -> str:
    """`dense<"0x...">` of an f32 array (little endian), with its type."""
    shape = "x".join(map(str, array.shape))
    data = np.ascontiguousarray(array, dtype="<f4").tobytes().hex().upper()
    return f'dense<"0x{data}"> : tensor<{shape}xf32>'


def mlp_weights(seed: int = 0, sizes: tuple[int, ...] = (64, 96, 64, 32)) -> dict[str, np.ndarray]:
    """Seeded [out, in] weights w0, w1, ... of a chain of linear layers, with a spread of
    scales and tails so that the layers differ in sensitivity."""
    rng = np.random.default_rng(seed)
    weights = {}
    for index, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        scale = 1.0 / np.sqrt(fan_in)
        values = rng.standard_t(df=3 + 2 * index, size=(fan_out, fan_in)) * scale
        weights[f"w{index}"] = values.astype(np.float32)
    return weights


def mlp_program(weights: dict[str, np.ndarray], batch: int = 4, extras: bool = True) -> AIProgram:
    """x [batch, in] -> (transpose + batch_matmul, gelu) per weight -> + bias -> y; without
    `extras` no gelu and no bias (only ops xDSL's own parser knows)."""
    names = list(weights)
    fan_in = weights[names[0]].shape[1]
    lines = ["    %perm = coreai.constant dense<[1, 0]> : tensor<2xui32>"]
    current, width = "%x", fan_in
    for index, name in enumerate(names):
        out, inp = weights[name].shape
        w_type, t_type = f"tensor<{out}x{inp}xf32>", f"tensor<{inp}x{out}xf32>"
        h_type = f"tensor<{batch}x{out}xf32>"
        lines += [
            f"    %{name} = coreai.constant {hex_literal(weights[name])}",
            f"    %{name}_t = coreai.transpose %{name}, %perm : ({w_type}, tensor<2xui32>) "
            f"-> {t_type}",
            f"    %h{index} = coreai.batch_matmul {current}, %{name}_t : "
            f"(tensor<{batch}x{width}xf32>, {t_type}) -> {h_type}",
        ]
        current, width = f"%h{index}", out
        if extras and index < len(names) - 1:
            lines.append(f"    %g{index} = coreai.gelu %h{index} : ({h_type}) -> {h_type}")
            current = f"%g{index}"
    bias = np.linspace(-0.1, 0.1, width, dtype=np.float32)[None, :]
    out_type = f"tensor<{batch}x{width}xf32>"
    if extras:
        lines += [
            f"    %bias = coreai.constant {hex_literal(bias)}",
            f"    %y = coreai.decomposable.broadcasting_add {current}, %bias : "
            f"({out_type}, tensor<1x{width}xf32>) -> {out_type}",
        ]
        current = "%y"
    lines.append(f"    coreai.output {current} : {out_type}")
    body = "\n".join(lines)
    text = (
        "module {\n"
        f'  coreai.graph @main(%x: tensor<{batch}x{fan_in}xf32> {{coreai.name = "x"}}) -> '
        f'({out_type} {{coreai.name = "y"}}) {{\n{body}\n  }}\n}}\n'
    )
    return AIProgram.parse(text)
