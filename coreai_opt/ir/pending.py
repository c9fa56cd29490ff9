"""Weights read by xDSL's own parser (`xdsl-opt`): pending `dense_resource` references.

xDSL's parser reads `dense_resource<key>` as its builtin `DenseResourceAttr` (a key and a
type, no bytes) and stores the `{-# dialect_resources #-}` section, which comes after the
module, as hex strings in the builtin dialect's `OpAsmDialectInterface`. A `coreai.constant`
accepts such an attribute as a *pending* reference; `resolve_pending_resources` turns every
pending reference of a module into our blob-backed `DenseResourceElementsAttr`, decoding
each blob once with the checks of the textual reader (coreai_opt/ir/text.py). Our passes
call it at the start of `apply`, and the `coreai` output target before printing.

xDSL's storage is one per process (the builtin dialect object's), and xDSL renames a key
that is already stored (`w` becomes `w_0`) but not the resource that defines it, so each
parsed module must leave it empty: resolving clears it. Modules read by `coreai-opt`'s own
parser never hold pending references, and for them this is a no-op.
"""

from __future__ import annotations

from xdsl.context import Context
from xdsl.dialect_interfaces.op_asm import OpAsmDialectInterface
from xdsl.dialects.builtin import (
    ArrayAttr,
    Builtin,
    DenseResourceAttr,
    DictionaryAttr,
    ModuleOp,
    TensorType,
)
from xdsl.ir import Attribute, Dialect, Operation
from xdsl.utils.exceptions import VerifyException

from coreai_opt.dialects.asm import asm_info
from coreai_opt.dialects.resources import Blob, DenseResourceElementsAttr
from coreai_opt.errors import IRError


def builtin_blob_storage(ctx: Context | None) -> dict[str, str]:
    """The hex strings xDSL's parser stored for `dialect_resources: {builtin: {...}}`."""
    dialect: Dialect | None = ctx.get_optional_dialect("builtin") if ctx is not None else None
    interface = (dialect or Builtin).get_interface(OpAsmDialectInterface)
    return interface._blob_storage if interface is not None else {}


def resolve_pending_resources(ctx: Context | None, module: Operation) -> None:
    """Replace every pending `dense_resource` of `module` by a blob-backed attribute.

    A key without stored bytes gives an elided blob, as in `coreai-opt`. Bad hex, a bad
    alignment or a blob of the wrong size is an IRError naming the resource (and the op's
    `file:line:col` when the parser recorded it).
    """
    storage = builtin_blob_storage(ctx)
    if not storage:
        return
    try:
        Resolver(storage).resolve_module(module)
    finally:
        storage.clear()


class Resolver:
    """Decodes each stored blob once and rewrites attributes that reference one."""

    def __init__(self, storage: dict[str, str]) -> None:
        self.storage = storage
        self.blobs: dict[str, Blob | None] = {}

    def resolve_module(self, module: Operation) -> None:
        """Rewrite the attributes and properties of every op of `module`."""
        for op in module.walk():
            try:
                for table in (op.properties, op.attributes):
                    for name, attr in table.items():
                        resolved = self.resolve(attr)
                        if resolved is not attr:
                            table[name] = resolved
            except (ValueError, VerifyException) as error:
                info = asm_info(op) if not isinstance(op, ModuleOp) else None
                raise IRError(str(error), info.source if info is not None else None) from None

    def resolve(self, attr: Attribute) -> Attribute:
        """`attr` with pending references replaced (itself when it holds none)."""
        if isinstance(attr, DenseResourceAttr):
            return self.elements(attr)
        if isinstance(attr, ArrayAttr):
            items = [self.resolve(item) for item in attr.data]
            changed = any(new is not old for new, old in zip(items, attr.data, strict=True))
            return ArrayAttr(items) if changed else attr
        if isinstance(attr, DictionaryAttr):
            entries = {key: self.resolve(value) for key, value in attr.data.items()}
            changed = any(entries[key] is not value for key, value in attr.data.items())
            return DictionaryAttr(entries) if changed else attr
        return attr

    def elements(self, attr: DenseResourceAttr) -> DenseResourceElementsAttr:
        """The blob-backed attribute for one pending reference (its size checked)."""
        from coreai_opt.dialects.coreai import verify_blob_size
        from coreai_opt.ir.text import blob_from_hex

        key = attr.resource_handle.data
        if not isinstance(attr.type, TensorType):
            raise ValueError(f"dense_resource needs a ranked tensor type, got {attr.type}")
        if key not in self.blobs:
            text = self.storage.get(key, "")
            self.blobs[key] = blob_from_hex(key, text) if text else None
        resolved = DenseResourceElementsAttr.create(key, attr.type, self.blobs[key])
        verify_blob_size(resolved)
        return resolved
