"""`AIProgram`: one Core AI module, its weights and its file I/O."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

from xdsl.dialects.builtin import ModuleOp

from coreai_opt.atomic import write_atomically
from coreai_opt.dialects.coreai import ConstantOp
from coreai_opt.inputs import Input, open_input
from coreai_opt.ir.text import (
    FileMetadata,
    module_to_string,
    parse_file,
    parse_stream,
    parse_text,
    print_module,
    verify_module,
)


class AIProgram:
    """A Core AI program (one `builtin.module`) whose weights are numpy-backed blobs."""

    def __init__(self, module: ModuleOp, metadata: FileMetadata | None = None) -> None:
        self.module = module
        self.metadata = metadata if metadata is not None else FileMetadata()
        self.bundle_metadata: dict | None = None
        """`metadata.json` of the `.aimodel` this program was loaded from, if any."""

    # ---- construction
    @classmethod
    def parse(cls, text: str, name: str = "<string>", verify: bool = True) -> AIProgram:
        """Parse textual IR (module plus optional `{-# dialect_resources #-}` section)."""
        module, metadata = parse_text(text, name)
        program = cls(module, metadata)
        if verify:
            program.verify()
        return program

    @classmethod
    def load(cls, path: str | os.PathLike[str], verify: bool = True) -> AIProgram:
        """Load an `.aimodel` bundle, an MLIR bytecode file or a textual `.mlir` file.

        Bundles and bytecode keep their weights on disk (read-only memory maps); text is
        decoded straight into numpy buffers.
        """
        if os.path.isdir(path):
            return cls.from_bundle(path, verify)
        return cls.from_input(open_input(os.fspath(path)), verify)

    @classmethod
    def from_input(cls, source: Input, verify: bool = True) -> AIProgram:
        """The program an opened input holds (pipes and stdin were read into memory)."""
        if source.kind == "bundle":
            return cls.from_bundle(source.path, verify)
        if source.kind == "bytecode" and source.path is not None:
            from coreai_opt.bundle import read_bytecode_module

            return cls(*read_bytecode_module(Path(source.path), verify))
        if source.kind == "bytecode":
            from coreai_opt.bytecode import read_bytecode_bytes

            module, metadata = read_bytecode_bytes(source.data, source.name)
        elif source.path is not None:
            module, metadata = parse_file(source.path)
        else:
            module, metadata = parse_stream(io.BytesIO(source.data), source.name)
        program = cls(module, metadata)
        if verify:
            program.verify()
        return program

    @classmethod
    def from_bundle(cls, path: str | os.PathLike[str], verify: bool = True) -> AIProgram:
        """The program of an `.aimodel` bundle (hash checked, weights memory-mapped)."""
        from coreai_opt.bundle import read_bundle

        module, file_metadata, metadata = read_bundle(path, verify)
        program = cls(module, file_metadata)
        program.bundle_metadata = dict(metadata)
        return program

    # ---- output
    def save(
        self, path: str | os.PathLike[str], generic: bool = False, debuginfo: bool = False
    ) -> None:
        """Write textual IR (MLIR bytecode if `path` ends in `.mlirb`) atomically.

        `generic` prints MLIR's generic op form; `debuginfo` prints every op's location.
        """
        if Path(path).suffix == ".mlirb":
            from coreai_opt.bytecode import write_bytecode

            write_bytecode(self.module, self.metadata, path)
            return
        write_atomically(
            Path(path),
            lambda stream: print_module(self.module, stream, self.metadata, generic, debuginfo),
        )

    def save_asset(
        self, path: str | os.PathLike[str], metadata: dict | None = None, overwrite: bool = False
    ) -> None:
        """Write an `.aimodel` bundle (refuses to replace an existing one unless `overwrite`).

        `metadata` adds to or overrides `author`, `license`, `model_description`,
        `creation_date` (epoch seconds, default now) and any custom keys.
        """
        from coreai_opt.bundle import save_asset

        save_asset(self, path, metadata, overwrite)

    def __str__(self) -> str:
        return module_to_string(self.module, self.metadata)

    def to_text(self, generic: bool = False, debuginfo: bool = False) -> str:
        """The textual IR, optionally in MLIR's generic op form or with locations."""
        return module_to_string(self.module, self.metadata, generic, debuginfo)

    # ---- operations
    def verify(self) -> None:
        """Run all verifiers; raise IRError (`file:line:col: error: ...`) on the first failure."""
        verify_module(self.module)

    def copy(self) -> AIProgram:
        """A structurally independent copy sharing the read-only weight blobs (cheap)."""
        from coreai_opt.dialects.asm import copy_asm

        module = self.module.clone()
        copy_asm(self.module, module)
        program = AIProgram(module, self.metadata)
        program.bundle_metadata = self.bundle_metadata
        return program

    def optimize(self) -> AIProgram:
        """Remove dead constants and other dead pure ops, in place; returns self."""
        from coreai_opt.passes.optimize import OptimizePass
        from coreai_opt.pipeline import Pipeline

        Pipeline([OptimizePass()]).run(self)
        return self

    def constants(self) -> Iterator[ConstantOp]:
        """Every `coreai.constant` in program order."""
        for op in self.module.walk():
            if isinstance(op, ConstantOp):
                yield op

    def weight_bytes(self) -> int:
        """Bytes of all constant payloads (packed sizes for sub-byte types)."""
        from coreai_opt.ir.elements import stored_nbytes

        return sum(stored_nbytes(op.value) for op in self.constants())
