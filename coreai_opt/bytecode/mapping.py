"""Read-only memory maps of file ranges, and giving their pages back.

A mapped weight that has been read (to compress it or to copy it into a new file) stays
resident in the process until it is unmapped or the kernel needs the memory. `release_pages`
drops those pages from the process (they stay in the page cache and fault back in if read
again), so streaming a model larger than RAM never makes it all resident at once.
"""

from __future__ import annotations

import mmap
import weakref

import numpy as np

OWN_MAPPINGS: weakref.WeakSet[mmap.mmap] = weakref.WeakSet()
"""Shared read-only mappings made here: the only ones whose pages may be dropped."""


def map_range(fd: int, offset: int, count: int) -> np.ndarray:
    """A read-only uint8 view of `count` bytes of the file `fd` at `offset` (no copy)."""
    if count == 0:
        return np.empty(0, np.uint8)
    start = offset - offset % mmap.ALLOCATIONGRANULARITY
    mapping = mmap.mmap(fd, offset + count - start, access=mmap.ACCESS_READ, offset=start)
    OWN_MAPPINGS.add(mapping)
    return np.frombuffer(mapping, np.uint8, count, offset - start)


def backing_mapping(array: np.ndarray) -> tuple[mmap.mmap, int] | None:
    """The mapping made by `map_range` behind `array`, and the array's offset in it."""
    base: object = array
    while isinstance(base, np.ndarray):
        base = base.base
    if isinstance(base, memoryview):
        base = base.obj
    if not isinstance(base, mmap.mmap) or base not in OWN_MAPPINGS:
        return None
    start = np.frombuffer(base, np.uint8, 1).ctypes.data
    return base, array.ctypes.data - start


def release_pages(array: np.ndarray) -> None:
    """Drop the resident pages of a mapped array from this process (a no-op otherwise)."""
    found = backing_mapping(array)
    if found is None or array.size == 0:
        return
    mapping, offset = found
    start = offset - offset % mmap.PAGESIZE
    end = min(len(mapping), offset + array.size * array.itemsize)
    mapping.madvise(mmap.MADV_DONTNEED, start, end - start)
