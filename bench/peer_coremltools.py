"""The same configurations through coremltools 9 (`coremltools.optimize.coreml`), for
side-by-side numbers. Optional: only used when coremltools is installed
(`pip install coremltools==9.0`; it is a benchmark peer, never a dependency).

The seeded weights of `bench/run.py` become a MIL program of `linear` layers (the same
`[C_out, C_in]` layout); conversion is not timed, the compression call is. SNR comes from
coremltools' own materialisation of its `constexpr_*` ops.
"""

from __future__ import annotations

import numpy as np

CONFIG_NAMES = (
    "quantize int8 per-channel",
    "quantize int4 per-block 32",
    "palettize 4-bit per-tensor",
    "palettize 8-bit per-tensor",
    "palettize 4-bit grouped 16",
    "palettize 4-bit per-channel",
    "sparsify 50%",
    "sparsify 50% + int8",
    "sparsify 50% + palettize 4-bit",
)
"""bench/run.py configurations that coremltools can run (see `configs`)."""


def configs() -> dict[str, list]:
    """coremltools equivalents of bench/run.py configurations: (function name, config) steps."""
    import coremltools.optimize.coreml as cto

    def quant(dtype: str, granularity: str, **kwargs):
        return (
            "linear_quantize_weights",
            cto.OpLinearQuantizerConfig(
                mode="linear_symmetric",
                dtype=dtype,
                granularity=granularity,
                weight_threshold=1024,
                **kwargs,
            ),
        )

    def palette(granularity: str, nbits: int = 4, **kwargs):
        return (
            "palettize_weights",
            cto.OpPalettizerConfig(
                mode="kmeans", nbits=nbits, granularity=granularity, weight_threshold=1024, **kwargs
            ),
        )

    prune = (
        "prune_weights",
        cto.OpMagnitudePrunerConfig(target_sparsity=0.5, weight_threshold=1024),
    )
    return {
        "quantize int8 per-channel": [quant("int8", "per_channel")],
        "quantize int4 per-block 32": [quant("int4", "per_block", block_size=32)],
        "palettize 4-bit per-tensor": [palette("per_tensor")],
        "palettize 8-bit per-tensor": [palette("per_tensor", nbits=8)],
        "palettize 4-bit grouped 16": [palette("per_grouped_channel", group_size=16)],
        "palettize 4-bit per-channel": [palette("per_grouped_channel", group_size=1)],
        "sparsify 50%": [prune],
        "sparsify 50% + int8": [prune, ("joint_quantize", quant("int8", "per_tensor")[1])],
        "sparsify 50% + palettize 4-bit": [prune, ("joint_palettize", palette("per_tensor")[1])],
    }


def build_model(weights: dict[str, np.ndarray]):
    """An ML program chaining `linear` layers over the weights (not timed)."""
    import coremltools as ct
    from coremltools.converters.mil import Builder as mb
    from coremltools.converters.mil.mil import types

    arrays = list(weights.values())
    first_in = arrays[0].shape[1]

    @mb.program(
        input_specs=[mb.TensorSpec(shape=(1, first_in), dtype=types.fp16)],
        opset_version=ct.target.iOS18,
    )
    def program(x):
        for name, weight in weights.items():
            x = mb.linear(x=x, weight=weight, name=name)
        return x

    return ct.convert(
        program,
        convert_to="mlprogram",
        skip_model_load=True,
        minimum_deployment_target=ct.target.iOS18,
        compute_precision=ct.precision.FLOAT16,
    )


def run_steps(model, steps: list):
    """Apply the compression steps; joint steps use coremltools' joint_compression flag."""
    import coremltools.optimize.coreml as cto

    for function, config in steps:
        joint = function.startswith("joint_")
        name = {
            "joint_quantize": "linear_quantize_weights",
            "joint_palettize": "palettize_weights",
        }.get(function, function)
        kwargs = {"joint_compression": True} if joint else {}
        model = getattr(cto, name)(model, cto.OptimizationConfig(global_config=config), **kwargs)
    return model


def snr(model, weights: dict[str, np.ndarray]) -> float:
    """Energy-weighted SNR of every decompressed weight coremltools can materialise."""
    signal = noise = 0.0
    for op in model._mil_program.functions["main"].operations:
        if not op.op_type.startswith("constexpr"):
            continue
        layers = [u.name for o in op.outputs for u in o.child_ops if u.name in weights]
        if not layers:
            continue
        value = op.materialized_val_inference()
        value = value[0] if isinstance(value, tuple) else value
        reference = weights[layers[0]]
        ref = reference.astype(np.float64)
        signal += float(np.sum(ref**2))
        noise += float(np.sum((ref - value.astype(np.float64)) ** 2))
    return float("inf") if noise == 0 else 10 * np.log10(signal / noise)
