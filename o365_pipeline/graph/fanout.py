"""Run many Graph streams (one per mailbox, folder, group, ...) on a few threads, streaming their pages.

Pages flow through a bounded queue to the single consumer (the dlt resource generator), so memory stays flat
however large the tenant is, and dlt state is only ever touched on the consumer's thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")
Item = TypeVar("Item")

_DONE = object()


class TaskCount:
    """How many tasks (mailboxes, groups, plans, ...) a fan-out was given and how many are done; thread-safe."""

    def __init__(self) -> None:
        self.total = 0
        self.done = 0
        self._lock = threading.Lock()

    def expect(self, tasks: int) -> None:
        """Count ``tasks`` more tasks to do."""
        with self._lock:
            self.total += tasks

    def finish(self) -> None:
        """Count one task done."""
        with self._lock:
            self.done += 1


class _Failure(Generic[T]):
    def __init__(self, error: BaseException) -> None:
        self.error = error


def _put(out: queue.Queue[object], item: object, stop: threading.Event) -> bool:
    """Put ``item`` into the bounded ``out``, waiting for room until ``stop`` is set; whether it went in."""
    while not stop.is_set():
        try:
            out.put(item, timeout=0.2)
            return True
        except queue.Full:
            continue
    return False


def _received(out: queue.Queue[object], *, wait: bool) -> Iterator[object | None]:
    """What producers put into ``out`` until they are done (``None`` whenever nothing is there yet, unless
    ``wait``); a producer's failure is raised here."""
    while True:
        if wait:
            item = out.get()
        else:
            try:
                item = out.get_nowait()
            except queue.Empty:
                yield None
                continue
        if item is _DONE:
            return
        if isinstance(item, _Failure):
            raise item.error
        yield item


def _stop_and_drain(stop: threading.Event, out: queue.Queue[object], producer: threading.Thread) -> None:
    """Tell the producer to stop and drain ``out`` until it has, so one blocked on a full queue sees ``stop``."""
    stop.set()
    while producer.is_alive():
        try:
            out.get(timeout=0.1)
        except queue.Empty:
            pass


def fan_out(
    tasks: Iterable[T],
    work: Callable[[T], Iterator[Item]],
    *,
    workers: int = 8,
    buffer: int = 16,
    count: TaskCount | None = None,
) -> Iterator[Item]:
    """Yield what ``work(task)`` yields for every task, running up to ``workers`` tasks at once.

    The first exception raised by a task stops the others and is re-raised here. ``count`` (if given) learns
    how many tasks there are and each one that is done, for progress displays.
    """
    out: queue.Queue[object] = queue.Queue(maxsize=buffer)
    stop = threading.Event()
    todo = list(tasks)
    if count is not None:
        count.expect(len(todo))
    if not todo:
        return

    def run(task: T) -> None:
        try:
            for item in work(task):
                if not _put(out, item, stop):
                    return
            if count is not None:
                count.finish()
        except BaseException as exc:  # handed to the consumer, which raises it
            stop.set()
            out.put(_Failure(exc))

    pending = iter(todo)
    taking = threading.Lock()

    def take_and_run() -> None:  # each worker takes the next task: no future per task (5,000 mailboxes)
        while not stop.is_set():
            with taking:
                task = next(pending, _DONE)
            if task is _DONE:
                return
            run(task)  # type: ignore[arg-type]

    def run_all() -> None:
        threads = max(1, min(workers, len(todo)))
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="graph") as pool:
            for future in [pool.submit(take_and_run) for _ in range(threads)]:
                future.result()
        out.put(_DONE)

    runner = threading.Thread(target=run_all, name="graph-fanout", daemon=True)
    runner.start()
    try:
        yield from _received(out, wait=True)  # type: ignore[misc]
    finally:
        _stop_and_drain(stop, out, runner)


def in_background(items: Iterator[Item], *, buffer: int = 64) -> Iterator[Item | None]:
    """Run the iterator ``items`` on its own thread; yield its items, or ``None`` whenever none is ready yet.

    dlt moves on to its next resource when a resource yields ``None``, so one entity waiting for Graph never holds
    up the pages other entities already have (dlt pulls its resources round-robin on one thread). Closing this
    generator stops and closes ``items``; an exception raised by ``items`` is re-raised here.
    """
    out: queue.Queue[object] = queue.Queue(maxsize=buffer)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if not _put(out, item, stop):
                    return
            out.put(_DONE)
        except BaseException as exc:  # handed to the consumer, which raises it
            out.put(_Failure(exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    producer = threading.Thread(target=produce, name="graph-reader", daemon=True)
    producer.start()
    try:
        yield from _received(out, wait=False)  # type: ignore[misc]
    finally:
        _stop_and_drain(stop, out, producer)
