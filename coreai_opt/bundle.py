"""`.aimodel` bundles on disk: `main.mlirb` (bytecode, weights inside), `main.hash`,
`metadata.json`. Reading and writing only; `AIModelAsset` (asset.py) and `AIProgram` build on
this module, which imports neither.

Saving streams the weights into a temporary sibling directory while hashing them, then
renames it into place: an interrupted save leaves no partial bundle, and neither the input
nor an existing output is touched until the new bundle is complete.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import secrets
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Protocol

from xdsl.dialects.builtin import ModuleOp

from coreai_opt.bytecode import BytecodeImage, format_error, image_for
from coreai_opt.bytecode.encoding import BytecodeFormatError
from coreai_opt.bytecode.reader import FileSource, read_bytecode_source
from coreai_opt.errors import AssetError, IRError, opening, writing
from coreai_opt.ir.text import FileMetadata, verify_module
from coreai_opt.limits import JSON_TOKENS, MAX_NESTING_DEPTH, too_deep_offset

MAIN = "main.mlirb"
HASH = "main.hash"
METADATA = "metadata.json"
STANDARD_KEYS = ("author", "license", "model_description", "creation_date")
STRING_KEYS = ("author", "license", "model_description")
HASH_CHUNK = 1 << 24


class Program(Protocol):
    """What saving needs of a program (an `AIProgram`)."""

    module: ModuleOp
    metadata: FileMetadata
    bundle_metadata: dict | None


# --------------------------------------------------------------------------- loading


def read_bundle(
    path: str | os.PathLike[str], verify: bool = True, verify_hash: bool = True
) -> tuple[ModuleOp, FileMetadata, dict[str, Any]]:
    """Open a bundle: check `main.hash`, read `metadata.json`, map `main.mlirb`.

    Returns the module, its resources and the bundle's metadata. `verify_hash=False` skips
    hashing the whole file (the one step that reads every weight); `verify=False` skips the
    IR verifiers.
    """
    bundle = Path(path)
    if not bundle.exists():
        raise AssetError("no such bundle", str(bundle))
    if not bundle.is_dir():
        raise AssetError("not an .aimodel bundle (expected a directory)", str(bundle))
    main = bundle / MAIN
    for required in (MAIN, HASH, METADATA):
        if not (bundle / required).is_file():
            raise AssetError(f"missing {required}", str(bundle))
    if verify_hash:
        check_hash(main, bundle / HASH)
    metadata = read_metadata(bundle / METADATA)
    module, file_metadata = read_bytecode_module(main, verify)
    return module, file_metadata, metadata


def file_sha256(path: Path) -> bytes:
    """SHA-256 of a file, hashed straight from a memory map (no copy); the pages already
    hashed are dropped as it goes, so RSS stays flat for files larger than RAM."""
    hasher = hashlib.sha256()
    with open(path, "rb") as stream:
        size = os.fstat(stream.fileno()).st_size
        if size == 0:
            return hasher.digest()
        with mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as mapping:
            mapping.madvise(mmap.MADV_SEQUENTIAL)
            view = memoryview(mapping)
            try:
                for start in range(0, size, HASH_CHUNK):
                    hasher.update(view[start : start + HASH_CHUNK])
                    mapping.madvise(mmap.MADV_DONTNEED, start, min(HASH_CHUNK, size - start))
            finally:
                view.release()
    return hasher.digest()


def check_hash(main: Path, hash_file: Path) -> None:
    """`main.hash` must hold the raw 32-byte SHA-256 of `main.mlirb`."""
    with opening(str(hash_file), AssetError):
        expected = hash_file.read_bytes()
    if len(expected) != 32:
        raise AssetError(
            f"{HASH} must hold a raw 32-byte SHA-256 digest, found {len(expected)} bytes",
            str(hash_file),
        )
    with opening(str(main), AssetError):
        actual = file_sha256(main)
    if actual != expected:
        raise AssetError(
            f"{MAIN} does not match {HASH} (the bundle is corrupted or was modified)", str(main)
        )


def read_metadata(path: Path) -> dict[str, Any]:
    """`metadata.json` as a dict."""
    with opening(str(path), AssetError, "a JSON file"):
        raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise AssetError("metadata.json is not valid UTF-8", str(path)) from None
    value = parse_metadata_json(text, path)
    if not isinstance(value, dict):
        raise AssetError("metadata.json must hold a JSON object", str(path))
    problem = metadata_problem(value)
    if problem is not None:
        raise AssetError(problem, str(path))
    return value


def parse_metadata_json(text: str, path: Path) -> Any:
    """Strict JSON with bounded nesting; every failure is one AssetError naming the file."""
    too_deep = too_deep_offset(text, MAX_NESTING_DEPTH, JSON_TOKENS)
    if too_deep is not None:
        line = text.count("\n", 0, too_deep) + 1
        column = too_deep - (text.rfind("\n", 0, too_deep) + 1) + 1
        raise AssetError(
            f"metadata.json is nested too deeply (the limit is {MAX_NESTING_DEPTH} levels)",
            f"{path}:{line}:{column}",
        )
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise AssetError(
            f"invalid JSON: {error.msg}", f"{path}:{error.lineno}:{error.colno}"
        ) from None
    except ValueError:  # the only other failure: an integer with too many digits
        limit = sys.get_int_max_str_digits()
        raise AssetError(
            f"invalid JSON: an integer has more than {limit} digits", str(path)
        ) from None
    except RecursionError:  # a safety net: the nesting check keeps well inside the limit
        raise AssetError("metadata.json is nested too deeply", str(path)) from None


def metadata_problem(metadata: dict[Any, Any]) -> str | None:
    """What breaks the metadata rule, applied alike when a bundle is loaded and saved.

    Keys are strings; `author`, `license` and `model_description`, when present, are strings
    and `creation_date` an integer (epoch seconds); every value is strict JSON (no NaN or
    Infinity, no bytes or other objects). None when the metadata is fine.
    """
    for key, value in metadata.items():
        if not isinstance(key, str):
            return f"metadata keys must be strings, got {short_repr(key)}"
        if key == "creation_date" and (isinstance(value, bool) or not isinstance(value, int)):
            return f"creation_date must be an integer (epoch seconds), got {short_repr(value)}"
        if key in STRING_KEYS and not isinstance(value, str):
            return f"{key} must be a string, got {short_repr(value)}"
        try:
            json.dumps(value, allow_nan=False)
        except ValueError:
            return f"metadata key '{key}' holds NaN or Infinity, which JSON does not allow"
        except TypeError as error:
            return f"metadata key '{key}' is not JSON-serialisable: {error}"
        except RecursionError:
            return f"metadata key '{key}' is nested too deeply"
    return None


def short_repr(value: object, limit: int = 60) -> str:
    """`repr(value)`, cut to `limit` characters for a one-line message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def read_bytecode_module(path: Path, verify: bool = True) -> tuple[ModuleOp, FileMetadata]:
    """The module of a `.mlirb` file and its resources; IR errors name that file."""
    name = str(path)
    with opening(name, AssetError, "an MLIR bytecode file"):
        source = FileSource(name)
    try:
        module, file_metadata = read_bytecode_source(source)
    except BytecodeFormatError as error:
        raise AssetError(format_error(error), name) from None
    if verify:
        try:
            verify_module(module)
        except IRError as error:
            located = f" (at {error.where})" if error.where else ""
            raise AssetError(f"invalid IR: {error.message}{located}", name) from None
    return module, file_metadata


# --------------------------------------------------------------------------- saving


def bundle_metadata(program: Program, metadata: dict[str, Any] | None) -> dict[str, Any]:
    """The standard keys (from the program's source bundle if any), overlaid by `metadata`."""
    merged: dict[str, Any] = {"author": "", "license": "", "model_description": ""}
    merged.update(getattr(program, "bundle_metadata", None) or {})
    merged["creation_date"] = int(time.time())
    merged.update(metadata or {})
    problem = metadata_problem(merged)
    if problem is not None:
        raise AssetError(problem)
    return merged


def is_bundle(path: Path) -> bool:
    """A directory holding `main.mlirb` (what we are willing to replace)."""
    return path.is_dir() and (path / MAIN).is_file()


def save_asset(
    program: Program,
    path: str | os.PathLike[str],
    metadata: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write `program` as an `.aimodel` bundle at `path`; returns the bundle's path.

    Refuses an existing `path` unless `overwrite=True` (and even then only replaces an
    existing bundle or an empty directory, never another kind of file or directory).
    """
    bundle = Path(path)
    check_destination(bundle, overwrite)
    content = bundle_metadata(program, metadata)
    image = image_for(program.module, program.metadata, str(bundle / MAIN))
    with writing(str(bundle)):
        write_bundle(image, content, bundle)
    return bundle


def write_bundle(image: BytecodeImage, content: dict[str, Any], bundle: Path) -> None:
    """Stream the bundle into a hidden sibling directory, then swap it into place; the
    staging directory is removed whatever stops the write (an error, Ctrl-C, SIGTERM)."""
    staging = make_sibling_dir(bundle, "tmp")
    try:
        digest = hashlib.sha256()
        with open(staging / MAIN, "wb") as stream:
            image.write_to(stream, digest)
            stream.flush()
            os.fsync(stream.fileno())
        write_synced(staging / HASH, digest.digest())
        text = json.dumps(content, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
        write_synced(staging / METADATA, text.encode("utf-8"))
        swap_into_place(staging, bundle)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def check_destination(bundle: Path, overwrite: bool) -> None:
    """The parent must exist; an existing target needs `overwrite` and must be a bundle."""
    parent = bundle.parent
    if not parent.is_dir():
        raise AssetError("the output directory does not exist", str(bundle))
    if not (bundle.exists() or bundle.is_symlink()):
        return
    if not overwrite:
        raise AssetError("already exists (pass overwrite=True to replace it)", str(bundle))
    empty_dir = bundle.is_dir() and not any(bundle.iterdir())
    if not (is_bundle(bundle) or empty_dir) or bundle.is_symlink():
        raise AssetError(
            "exists and is not an .aimodel bundle; refusing to replace it", str(bundle)
        )


def make_sibling_dir(bundle: Path, kind: str) -> Path:
    """A fresh hidden directory next to `bundle` (permissions from the umask)."""
    while True:
        candidate = bundle.parent / f".{bundle.name}.{secrets.token_hex(6)}.{kind}"
        try:
            os.mkdir(candidate)
            return candidate
        except FileExistsError:
            continue


def write_synced(path: Path, data: bytes) -> None:
    """Write a small file and flush it to disk."""
    with open(path, "wb") as stream:
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())


def swap_into_place(staging: Path, bundle: Path) -> None:
    """Rename the finished bundle over `bundle`; an old one is moved aside, then deleted.

    Files of the old bundle that are still memory-mapped (a program loaded from it) stay
    readable: unlinking keeps their data alive until the mappings go away.
    """
    retired = None
    if bundle.exists():
        retired = make_sibling_dir(bundle, "old")
        os.rename(bundle, retired / "bundle")
    try:
        os.rename(staging, bundle)
    except BaseException:
        if retired is not None:
            os.rename(retired / "bundle", bundle)
            shutil.rmtree(retired, ignore_errors=True)
        raise
    sync_directory(bundle.parent)
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)


def sync_directory(directory: Path) -> None:
    """Make a rename durable (best effort where directories cannot be opened)."""
    try:
        handle = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)
