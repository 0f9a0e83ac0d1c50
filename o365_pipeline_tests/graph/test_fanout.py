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


def _fan_out_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith(("graph_", "graph-fanout"))]


def test_a_failing_task_never_waits_for_room_once_its_consumer_stopped_reading() -> None:
    before = set(_fan_out_threads())
    filled = threading.Event()

    def work(n: int) -> Iterator[int]:
        if n == 0:
            yield from range(1000)  # fills the buffer and waits for room
        else:
            filled.wait(5)
            raise ValueError("one mailbox failed")

    items = fan_out([0, 1], work, workers=2, buffer=2)
    assert next(items) == 0  # the consumer reads once, then stops reading (never closes: kept alive elsewhere)
    filled.set()
    deadline = time.monotonic() + 5
    while set(_fan_out_threads()) - before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not set(_fan_out_threads()) - before  # before: the failing task waited forever to hand its failure over
    with pytest.raises(ValueError, match="one mailbox failed"):
        list(items)


def test_a_cancelled_sync_stops_tasks_waiting_for_room() -> None:
    cancelled = threading.Event()
    before = set(_fan_out_threads())
    items = fan_out([0], lambda n: iter(range(1000)), workers=1, buffer=2, cancelled=cancelled)
    assert next(items) == 0
    cancelled.set()
    deadline = time.monotonic() + 5
    while set(_fan_out_threads()) - before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not set(_fan_out_threads()) - before
