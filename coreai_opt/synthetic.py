"""Seeded synthetic Core AI programs: LLaMA-like linear layers, written as textual IR.

Used by the example, the tests and bench/. Weights are generated and written one tensor
at a time, so a module of several GiB is produced with bounded memory.
"""

from __future__ import annotations

import binascii
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

MLIR_TYPES = {np.dtype(np.float16): "f16", np.dtype(np.float32): "f32"}


@dataclass(frozen=True)
class Layer:
    """One linear layer: resource key and `[C_out, C_in]` weight shape."""

    name: str
    shape: tuple[int, int]


def llama_block_layers() -> list[Layer]:
    """The 107 M-weight benchmark set: 4096×4096, 11008×4096, 4096×11008."""
    return [
        Layer("o_proj", (4096, 4096)),
        Layer("up_proj", (11008, 4096)),
        Layer("down_proj", (4096, 11008)),
    ]


def make_weight(
    rng: np.random.Generator, shape: Sequence[int], distribution: str, dtype: np.dtype
) -> np.ndarray:
    """N(0, 0.02) ("gaussian") or Student-t (df 4) with a random scale per output row."""
    if distribution == "gaussian":
        values = rng.standard_normal(shape, dtype=np.float32) * np.float32(0.02)
    elif distribution == "heavy":
        values = rng.standard_t(4, size=shape).astype(np.float32) * np.float32(0.01)
        values *= rng.uniform(0.25, 4.0, size=(shape[0],) + (1,) * (len(shape) - 1)).astype(
            np.float32
        )
    else:
        raise ValueError(f"unknown distribution {distribution!r} (gaussian, heavy)")
    return values.astype(dtype)


def weights(
    layers: Sequence[Layer], seed: int, distribution: str, dtype: np.dtype
) -> Iterator[tuple[Layer, np.ndarray]]:
    """The seeded weights of `layers`, one at a time."""
    rng = np.random.default_rng(seed)
    for layer in layers:
        yield layer, make_weight(rng, layer.shape, distribution, np.dtype(dtype))


def module_text(layers: Sequence[Layer], dtype: np.dtype, batch: int = 1) -> str:
    """A graph chaining `x @ W.T` through the layers (transpose + batch_matmul each)."""
    element = MLIR_TYPES[np.dtype(dtype)]
    first_in = layers[0].shape[1]
    last_out = layers[-1].shape[0]
    lines = [
        "module {",
        f'  coreai.graph @main(%x: tensor<{batch}x{first_in}x{element}> {{coreai.name = "x"}})'
        f' -> (tensor<{batch}x{last_out}x{element}> {{coreai.name = "y"}}) {{',
        "    %perm = coreai.constant dense<[1, 0]> : tensor<2xui32>",
    ]
    current, width = "%x", first_in
    for index, layer in enumerate(layers):
        out_dim, in_dim = layer.shape
        w_type = f"tensor<{out_dim}x{in_dim}x{element}>"
        t_type = f"tensor<{in_dim}x{out_dim}x{element}>"
        x_type = f"tensor<{batch}x{width}x{element}>"
        y_type = f"tensor<{batch}x{out_dim}x{element}>"
        lines += [
            f"    %{layer.name} = coreai.constant dense_resource<{layer.name}> : {w_type}",
            f"    %{layer.name}_t = coreai.transpose %{layer.name}, %perm : "
            f"({w_type}, tensor<2xui32>) -> {t_type}",
            f"    %h{index} = coreai.batch_matmul {current}, %{layer.name}_t : "
            f"({x_type}, {t_type}) -> {y_type}",
        ]
        current, width = f"%h{index}", out_dim
    lines += [f"    coreai.output {current} : tensor<{batch}x{last_out}x{element}>", "  }", "}"]
    return "\n".join(lines) + "\n"


def write_hex(out: BinaryIO, array: np.ndarray, alignment: int) -> None:
    """Alignment word then the array's bytes, as uppercase hex, in bounded chunks."""
    out.write(binascii.b2a_hex(alignment.to_bytes(4, "little")).upper())
    flat = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
    step = 1 << 23
    for start in range(0, flat.size, step):
        out.write(binascii.b2a_hex(flat[start : start + step].data).upper())


def write_module(
    path: str | Path,
    layers: Sequence[Layer],
    seed: int = 0,
    distribution: str = "gaussian",
    dtype: np.dtype | type = np.float16,
) -> int:
    """Write the textual module with its weights as resources; returns the weight bytes."""
    dtype = np.dtype(dtype)
    total = 0
    with open(path, "wb") as out:
        out.write(module_text(layers, dtype).encode())
        out.write(b"\n{-#\n  dialect_resources: {\n    builtin: {\n")
        for index, (layer, weight) in enumerate(weights(layers, seed, distribution, dtype)):
            out.write(f'      {layer.name}: "0x'.encode())
            write_hex(out, weight, dtype.itemsize)
            out.write(b'",\n' if index + 1 < len(layers) else b'"\n')
            total += weight.nbytes
        out.write(b"    }\n  }\n#-}\n")
    return total


def parse_layer(text: str) -> Layer:
    """`name=OUTxIN` → Layer."""
    name, _, dims = text.partition("=")
    out_dim, _, in_dim = dims.partition("x")
    return Layer(name, (int(out_dim), int(in_dim)))


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m coreai_opt.synthetic --layer w0=32x2048 [-o out.mlir]` (stdout by default)."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(description="Write a seeded synthetic Core AI module.")
    parser.add_argument("--layer", action="append", required=True, type=parse_layer)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--distribution", choices=("gaussian", "heavy"), default="gaussian")
    parser.add_argument("--dtype", choices=("f16", "f32"), default="f16")
    parser.add_argument("-o", "--output", default="-")
    args = parser.parse_args(argv)
    dtype = np.float16 if args.dtype == "f16" else np.float32
    if args.output == "-":
        import tempfile

        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "module.mlir"
            write_module(path, args.layer, args.seed, args.distribution, dtype)
            sys.stdout.buffer.write(path.read_bytes())
        return
    write_module(args.output, args.layer, args.seed, args.distribution, dtype)


if __name__ == "__main__":
    main()
