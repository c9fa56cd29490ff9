"""Compression and cleanup passes: one module per pass, each an `xdsl.passes.ModulePass`.

`get_all_passes()` maps names to loaders, in the form of xDSL's own
`xdsl.transforms.get_all_passes`: `coreai-opt` and `Pipeline` look passes up in it, and
`xdsl-opt` finds it through the `xdsl.universe` entry point (coreai_opt/universe.py).
A pass module is only imported when its pass is used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xdsl.passes import ModulePass


def get_cast_to_fp16() -> type[ModulePass]:
    """`cast-to-fp16`."""
    from coreai_opt.passes.cast_to_fp16 import CastToFp16Pass

    return CastToFp16Pass


def get_decompress() -> type[ModulePass]:
    """`decompress`."""
    from coreai_opt.passes.decompress import DecompressPass

    return DecompressPass


def get_mixed_precision() -> type[ModulePass]:
    """`mixed-precision`."""
    from coreai_opt.passes.mixed_precision import MixedPrecisionPass

    return MixedPrecisionPass


def get_optimize() -> type[ModulePass]:
    """`optimize`."""
    from coreai_opt.passes.optimize import OptimizePass

    return OptimizePass


def get_palettize() -> type[ModulePass]:
    """`palettize`."""
    from coreai_opt.passes.palettize import PalettizePass

    return PalettizePass


def get_quantize() -> type[ModulePass]:
    """`quantize`."""
    from coreai_opt.passes.quantize import QuantizePass

    return QuantizePass


def get_sparsify() -> type[ModulePass]:
    """`sparsify`."""
    from coreai_opt.passes.sparsify import SparsifyPass

    return SparsifyPass


def get_all_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    """Every pass by name, as a loader."""
    return {
        "cast-to-fp16": get_cast_to_fp16,
        "decompress": get_decompress,
        "mixed-precision": get_mixed_precision,
        "optimize": get_optimize,
        "palettize": get_palettize,
        "quantize": get_quantize,
        "sparsify": get_sparsify,
    }
