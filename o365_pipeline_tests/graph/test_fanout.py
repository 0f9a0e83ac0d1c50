"""The background reader dlt polls: items in order, None while nothing is ready, errors raised, stop on close."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from o365_pipeline.graph.fanout import fan_out, in_background


def test_in_background_yields_none_while_the_reader_waits_and_every_item_in_order() -> None:
    release = threading.Event()

    def slow() -> Iterator[int]:
        yield 1
        release.wait(5)
        yield 2
        yield 3

    seen: list[int | None] = []
    for item in in_background(slow()):
        seen.append(item)
        if item is None and seen.count(None) == 50:
            release.set()  # the consumer was never blocked while the reader waited
    assert [item for item in seen if item is not None] == [1, 2, 3]
    assert seen.count(None) >= 50


def test_in_background_reraises_the_readers_error() -> None:
    def failing() -> Iterator[int]:
        yield 1
        raise ValueError("mailbox exploded")

    with pytest.raises(ValueError, match="mailbox exploded"):
        for _ in in_background(failing()):
            pass


def test_closing_in_background_stops_and_closes_the_reader() -> None:
    closed = threading.Event()

    def endless() -> Iterator[int]:
        try:
            n = 0
            while True:
                n += 1
                yield n
        finally:
            closed.set()

    background = in_background(endless(), buffer=4)
    got = [item for _, item in zip(range(200), background, strict=False) if item is not None]
    background.close()
    assert closed.wait(5)
    assert got == list(range(1, len(got) + 1))


def test_fan_out_under_in_background_runs_every_task() -> None:
    def work(n: int) -> Iterator[int]:
        time.sleep(0.001 * (n % 3))
        yield n

    items = [item for item in in_background(fan_out(range(40), work, workers=4)) if item is not None]
    assert sorted(items) == list(range(40))
