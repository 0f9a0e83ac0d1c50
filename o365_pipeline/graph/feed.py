"""A parent reader's changes handed to its attachment table's reader in the same run (messages ->
message_attachments, events -> event_attachments), so the parents' delta streams are read once, not twice.

The parent's reader thread publishes, per mailbox, the ids of its changed items (ids only, at most
``CHUNK_IDS`` per chunk, and at most ``capacity`` chunks waiting: memory stays bounded) plus the state and
mailbox events the attachment table keeps as its own (deltaLinks, unreadable mailboxes). The attachment reader's
threads take them; a parent that fails or stops before its end fails the attachment reader too.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from .fanout import fan_out
from .handover import HandOver
from .readers import (
    DELETED_COLUMN,
    Denied,
    Drop,
    Event,
    Finished,
    KeepState,
    Readable,
    ReadContext,
    Rows,
    Skipped,
    attachments_of,
    users_gone,
)

CHUNK_IDS = 2000  # changed parent ids per chunk
CHUNK_WITH_FILES = 200  # parents with attachments per chunk: full $batch requests across a mailbox's folders


@dataclass(frozen=True)
class Changes:
    """Parents of one mailbox that changed: ``ids`` all of them (created, updated, removed), ``with_files``
    those present now that have attachments."""

    owner: str
    ids: tuple[str, ...]
    with_files: tuple[str, ...]


Item = Changes | KeepState | Skipped | Readable | Finished | Denied


class ParentStopped(RuntimeError):
    """The parent's reader failed or stopped before its end: the attachment table must not finish either."""


class ParentFeed(HandOver):
    """A bounded hand-over from one producer (the parent's reader) to any number of consumer threads."""

    def __init__(self, parent: str, capacity: int = 16) -> None:
        super().__init__(parent)
        self.parent = parent
        self._capacity = capacity
        self._items: deque[Item] = deque()

    def put(self, item: Item) -> None:
        """Hand ``item`` over, waiting while ``capacity`` items wait (dropped once the exchange is over)."""
        with self._cond:
            while len(self._items) >= self._capacity and not self._over():
                self._cond.wait()
            if not self._over():
                self._items.append(item)
                self._cond.notify_all()

    def get(self) -> Item | None:
        """The next item; ``None`` once the parent's reader has ended and every item was taken.

        Raises:
            ParentStopped: the parent's reader failed or stopped before its end, or the consumer side was
                abandoned (a consumer thread still waiting must end, not wait for a parent that may never come).
        """
        with self._cond:
            while not self._items and self._open():
                self._cond.wait()
            if self._error is not None:
                raise ParentStopped(f"the {self.parent} reader stopped: {self._error!r}") from self._error
            if self._abandoned:
                raise ParentStopped(f"the reader riding on {self.parent} was closed")
            if self._items:
                item = self._items.popleft()
                self._cond.notify_all()
                return item
            return None

    def _drop_waiting(self) -> None:
        self._items.clear()

    def _over(self) -> bool:
        return self._abandoned or self._error is not None


def publish(events: Iterator[Event], feed: ParentFeed) -> Iterator[Event]:
    """Yield the parent reader's ``events`` unchanged, handing what the attachment table needs to ``feed``."""
    pending: dict[str, tuple[list[str], list[str]]] = {}

    def flush(owner: str) -> None:
        ids, with_files = pending.pop(owner, ([], []))
        if ids:
            feed.put(Changes(owner, tuple(ids), tuple(with_files)))

    try:
        for event in events:
            if isinstance(event, Rows):
                for row in event.rows:
                    if row["id"] in event.moved:  # moved to another folder, same id: its attachments stay
                        continue
                    owner = row["user_id"]
                    ids, with_files = pending.setdefault(owner, ([], []))
                    ids.append(row["id"])
                    if not row[DELETED_COLUMN] and row.get("hasAttachments"):
                        with_files.append(row["id"])
                    if len(ids) >= CHUNK_IDS or len(with_files) >= CHUNK_WITH_FILES:
                        flush(owner)
            elif isinstance(event, Finished):
                flush(event.owner)
                feed.put(event)
            elif isinstance(event, (Skipped, Readable, Denied)) or (
                isinstance(event, KeepState) and event.section == "links"
            ):  # a denied parent: the attachment table is not read either
                feed.put(event)
            elif isinstance(event, Drop) and event.parent_column is None and "user_id" in event.scope:
                feed.put(event)  # a resynced stream: its stored parents not in the full round are gone
            # not handed over: the users gone, which the attachment table compares with its own last run
            yield event
        for owner in list(pending):
            flush(owner)
    except BaseException as exc:
        feed.stop(exc)
        raise
    feed.end()


def ride(ctx: ReadContext, feed: ParentFeed, catch_up: Iterator[Event] | None = None) -> Iterator[Event]:
    """The attachment table's reader in a run that reads its parent too: the parent's changes come from ``feed``
    (no delta request of its own), the attachments themselves are read as :func:`.readers.read_attachments` does;
    the parent's deltaLinks and unreadable mailboxes become this table's (its catch-up point when read alone).

    ``catch_up`` is this table's own reader, run alongside when its stored links are not the parent's (one of the
    two was run alone since): its changes and the parent's together cover both positions; only its rows count.
    """
    users = ctx.tenant.users_for_content()
    yield from users_gone(ctx, users)
    ctx.parents.expect(len(users))

    def take(worker: int) -> Iterator[Event]:
        if worker < 0 and catch_up is not None:
            yield from (event for event in catch_up if _caught_up(event))
            return
        while (item := feed.get()) is not None:
            if isinstance(item, Changes):
                yield from attachments_of(ctx, item.owner, item.ids, item.with_files)
            elif isinstance(item, Finished):
                ctx.parents.finish()
            elif isinstance(item, Drop):  # attachments of the resynced stream's stored parents not kept
                yield resynced(ctx, item)
            else:
                yield item

    workers = [*([-1] if catch_up is not None else []), *range(ctx.workers)]
    try:
        yield from fan_out(workers, take, workers=len(workers), cancelled=ctx.client.cancelled)
    finally:
        feed.abandon()


def resynced(ctx: ReadContext, drop: Drop) -> Drop:
    """The attachment table's drop for a resynced parent stream's: attachments of the parents stored within its
    scope (a mail folder, a mailbox's calendar) that its full round no longer returned."""
    parent, parent_column = str(ctx.entity.parent), str(ctx.entity.parent_column)
    within = {column: value for column, value in drop.scope.items() if column != "user_id"}
    return Drop.children_of_others(
        {"user_id": drop.scope["user_id"]}, parent_column, tuple(drop.keep), parents_in=(parent, within)
    )


def _caught_up(event: Event) -> bool:
    """What a catch-up reader adds to a ride: attachment rows and drops per parent (links, unreadable mailboxes
    and users gone come from the ride)."""
    return isinstance(event, Rows) or (isinstance(event, Drop) and event.parent_column != "user_id")
