"""`AIModelAsset`: a loaded `.aimodel` bundle (its program and metadata).

    asset = AIModelAsset.load("model.aimodel")     # hash verified, weights memory-mapped
    quantize_weights(coreai_program=asset.program, dtype="int8", in_place=True)
    asset.program.optimize().save_asset("model_int8.aimodel")

The files themselves are read and written by `coreai_opt.bundle`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coreai_opt.bundle import read_bundle, save_asset
from coreai_opt.program import AIProgram

__all__ = ["AIModelAsset", "save_asset"]


@dataclass
class AIModelAsset:
    """A loaded bundle: its program (weights memory-mapped) and its metadata."""

    path: Path
    program: AIProgram
    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], verify: bool = True, verify_hash: bool = True
    ) -> AIModelAsset:
        """Open a bundle: check `main.hash`, read `metadata.json`, map `main.mlirb`.

        `verify_hash=False` skips hashing the whole file (the one step that reads every
        weight); `verify=False` skips the IR verifiers.
        """
        module, file_metadata, metadata = read_bundle(path, verify, verify_hash)
        program = AIProgram(module, file_metadata)
        program.bundle_metadata = dict(metadata)
        return cls(Path(path), program, metadata)

    def save(self, path: str | os.PathLike[str], overwrite: bool = False) -> Path:
        """Write the program and this asset's metadata as a new bundle."""
        return save_asset(self.program, path, self.metadata, overwrite)
