"""coreai-opt: open weight compression (quantize, palettize, sparsify) for Core AI programs.

The public names load lazily so that `coreai-opt --version` and lit runs start fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "AIModelAsset": "coreai_opt.asset",
    "AIProgram": "coreai_opt.program",
    "Pipeline": "coreai_opt.pipeline",
    "register_pass": "coreai_opt.pipeline",
    "CoreAIPass": "coreai_opt.pipeline",
    "AssetError": "coreai_opt.errors",
    "CoreAIError": "coreai_opt.errors",
    "IRError": "coreai_opt.errors",
    "PipelineError": "coreai_opt.errors",
    "compare": "coreai_opt.interpreter",
}

if TYPE_CHECKING:
    from coreai_opt.asset import AIModelAsset
    from coreai_opt.errors import AssetError, CoreAIError, IRError, PipelineError
    from coreai_opt.interpreter import compare
    from coreai_opt.pipeline import CoreAIPass, Pipeline, register_pass
    from coreai_opt.program import AIProgram


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'coreai_opt' has no attribute {name!r}")


__all__ = [
    "AIModelAsset",
    "AIProgram",
    "AssetError",
    "CoreAIError",
    "CoreAIPass",
    "IRError",
    "Pipeline",
    "PipelineError",
    "__version__",
    "compare",
    "register_pass",
]
