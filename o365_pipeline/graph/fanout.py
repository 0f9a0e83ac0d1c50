"""Run many Graph streams (one per mailbox, folder, group, ...) on a few threads, streaming their pages.

Pages flow through a bounded queue to the single consumer (the dlt resource generator), so memory stays flat
however large the tenant is, and dlt state is only ever touched on the consumer's thread.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
Item = TypeVar("Item")

_DONE = object()
STOP_GRACE_SECONDS = 30.0
"""How long closing a fan-out waits for its threads to notice ``stop``. They notice within a request (a sync
that is stopping sends no new one, :meth:`.client.GraphClient.cancel`); past this a thread stuck elsewhere is
left behind (a daemon, touching no dlt state) rather than holding the run open."""

log = logging.getLogger(__name__)


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


class _Channel:
    """Items from producer threads to one consumer, at most ``size`` waiting, then the end: done or failed.

    Ending never waits for room (a failing producer must not block on a consumer that left), and a producer
    waiting for room gives up once the channel is stopped: by the consumer leaving, by a failure, or by
    ``cancelled`` (the sync is stopping). So no producer thread outlives the work it was started for.
    """

    def __init__(self, size: int, cancelled: threading.Event | None = None) -> None:
        self._items: deque[object] = deque()
        self._size = size
        self._cond = threading.Condition()
        self._done = False
        self._error: BaseException | None = None
        self._stopped = False
        self._cancelled = cancelled

    @property
    def stopped(self) -> bool:
        """Whether producers should stop: the consumer left, a producer failed, or the sync is stopping."""
        return self._stopped or self._error is not None or (self._cancelled is not None and self._cancelled.is_set())

    def put(self, item: object) -> bool:
        """Hand ``item`` over, waiting for room; False (item dropped) once the channel is stopped."""
        with self._cond:
            while len(self._items) >= self._size and not self.stopped:
                self._cond.wait(_POLL_SECONDS)  # polled: ``cancelled`` is set without notifying this condition
            if self.stopped:
                return False
            self._items.append(item)
            self._cond.notify_all()
            return True

    def fail(self, error: BaseException) -> None:
        """A producer failed: the consumer raises ``error`` (the first one) and the other producers stop."""
        with self._cond:
            if self._error is None:
                self._error = error
            self._cond.notify_all()

    def finish(self) -> None:
        """Every producer is done: the consumer ends once it took every item."""
        with self._cond:
            self._done = True
            self._cond.notify_all()

    def stop(self) -> None:
        """The consumer leaves: waiting producers give up."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def get(self, *, wait: bool) -> object:
        """The next item; :data:`_DONE` at the end; :data:`_NOTHING` when none is there yet (unless ``wait``).

        Raises:
            BaseException: the first failure of a producer.
        """
        with self._cond:
            while wait and not self._items and not self._done and self._error is None:
                self._cond.wait()
            if self._error is not None:
                raise self._error
            if self._items:
                item = self._items.popleft()
                self._cond.notify_all()
                return item
            return _DONE if self._done else _NOTHING


_NOTHING = object()
_POLL_SECONDS = 0.2


def _received(channel: _Channel, *, wait: bool) -> Iterator[object | None]:
    """What producers hand over until they are done (``None`` whenever nothing is there yet, unless ``wait``);
    a producer's failure is raised here."""
    while (item := channel.get(wait=wait)) is not _DONE:
        yield None if item is _NOTHING else item


def _stop_and_join(channel: _Channel, producer: threading.Thread) -> None:
    """Tell the producers to stop and wait until they have; after :data:`STOP_GRACE_SECONDS` the thread is left
    behind with a warning instead of holding the run open."""
    channel.stop()
    producer.join(STOP_GRACE_SECONDS)
    if producer.is_alive():
        log.warning("%s did not stop within %.0f s; left behind", producer.name, STOP_GRACE_SECONDS)


def fan_out(
    tasks: Iterable[T],
    work: Callable[[T], Iterator[Item]],
    *,
    workers: int = 8,
    buffer: int = 16,
    count: TaskCount | None = None,
    cancelled: threading.Event | None = None,
) -> Iterator[Item]:
    """Yield what ``work(task)`` yields for every task, running up to ``workers`` tasks at once.

    The first exception raised by a task stops the others and is re-raised here. ``count`` (if given) learns
    how many tasks there are and each one that is done, for progress displays. Once ``cancelled`` is set (the
    sync is stopping) no task waits to hand over an item any more.
    """
    channel = _Channel(buffer, cancelled)
    todo = list(tasks)
    if count is not None:
        count.expect(len(todo))
    if not todo:
        return

    def run(task: T) -> None:
        try:
            for item in work(task):
                if not channel.put(item):
                    return
            if count is not None:
                count.finish()
        except BaseException as exc:  # handed to the consumer, which raises it
            channel.fail(exc)

    pending = iter(todo)
    taking = threading.Lock()

    def take_and_run() -> None:  # each worker takes the next task: no future per task (5,000 mailboxes)
        while not channel.stopped:  # the consumer left, a task failed or the sync stops: no new task begins
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
        channel.finish()

    runner = threading.Thread(target=run_all, name="graph-fanout", daemon=True)
    runner.start()
    try:
        yield from _received(channel, wait=True)  # type: ignore[misc]
    finally:
        _stop_and_join(channel, runner)


def in_background(
    items: Iterator[Item], *, buffer: int = 64, cancelled: threading.Event | None = None
) -> Iterator[Item | None]:
    """Run the iterator ``items`` on its own thread; yield its items, or ``None`` whenever none is ready yet.

    dlt moves on to its next resource when a resource yields ``None``, so one entity waiting for Graph never holds
    up the pages other entities already have (dlt pulls its resources round-robin on one thread). Closing this
    generator stops and closes ``items``; an exception raised by ``items`` is re-raised here.
    """
    channel = _Channel(buffer, cancelled)

    def produce() -> None:
        try:
            for item in items:
                if not channel.put(item):
                    return
            channel.finish()
        except BaseException as exc:  # handed to the consumer, which raises it
            channel.fail(exc)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    producer = threading.Thread(target=produce, name="graph-reader", daemon=True)
    producer.start()
    try:
        yield from _received(channel, wait=False)  # type: ignore[misc]
    finally:
        _stop_and_join(channel, producer)
