"""A sync holds the cyclic garbage collector back, and gives the process its own thresholds back afterwards."""

from __future__ import annotations

import gc

import pytest

from o365_pipeline.gc_tuning import SYNC_THRESHOLDS, fewer_gc_passes


def test_thresholds_are_raised_inside_and_restored_after_even_on_error() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), fewer_gc_passes():
        assert gc.get_threshold() == SYNC_THRESHOLDS
        assert SYNC_THRESHOLDS[0] > before[0]
        raise RuntimeError("sync failed")
    assert gc.get_threshold() == before
