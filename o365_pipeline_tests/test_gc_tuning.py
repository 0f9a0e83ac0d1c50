"""A sync holds the cyclic garbage collector back (the process gets its own thresholds back afterwards) and hands
the memory extraction freed back to the OS before the load."""

from __future__ import annotations

import gc
import os

import pytest

from o365_pipeline.gc_tuning import SYNC_THRESHOLDS, fewer_gc_passes, release_freed_memory


def test_thresholds_are_raised_inside_and_restored_after_even_on_error() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), fewer_gc_passes():
        assert gc.get_threshold() == SYNC_THRESHOLDS
        assert SYNC_THRESHOLDS[0] > before[0]
        raise RuntimeError("sync failed")
    assert gc.get_threshold() == before


def _rss_mb() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) // 1024 for line in status if line.startswith("VmRSS"))


def test_release_freed_memory_gives_freed_heap_back_to_the_os() -> None:
    blobs = [os.urandom(2000) for _ in range(50_000)]  # ~100 MB of malloc'd objects, as parsed pages are
    pinned = blobs[::500]  # a few survivors spread over the heap, so it cannot just shrink from its top
    grown = _rss_mb()
    del blobs
    assert _rss_mb() > grown - 50  # freed but kept by the allocator
    release_freed_memory()
    assert _rss_mb() < grown - 60
    assert len(pinned) == 100
