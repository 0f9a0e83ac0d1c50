"""The hand-over from a parent reader to its attachment table's reader: ids in bounded chunks, state and mailbox
events passed on, the parent's failure or early stop failing the consumer, no wait outliving either side."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from o365_pipeline.graph.errors import Cancelled
from o365_pipeline.graph.feed import CHUNK_WITH_FILES, Changes, ParentFeed, ParentStopped, publish
from o365_pipeline.graph.folder_feed import FolderFeed, FolderTableStopped
from o365_pipeline.graph.readers import DELETED_COLUMN, Drop, Event, Finished, KeepState, Rows, Skipped


def message(owner: str, n: int, *, files: bool = False, deleted: bool = False) -> dict[str, object]:
    return {"id": f"m{n}", "user_id": owner, "hasAttachments": files, DELETED_COLUMN: deleted}


def drain(feed: ParentFeed) -> list[object]:
    items = []
    while (item := feed.get()) is not None:
        items.append(item)
    return items


def test_the_parent_events_pass_unchanged_and_the_feed_gets_ids_per_mailbox() -> None:
    events: list[Event] = [
        Rows([message("a", 1, files=True), message("b", 2), message("a", 3)]),
        KeepState("links", "a/inbox", "https://link"),
        Drop(scope={"user_id": "a", "parent_folder_id": "inbox"}, keep=frozenset({"m1"})),  # a resync
        Drop(scope={}, parent_column="user_id", parents=("a", "c"), other_parents=True),  # users gone: not passed
        Rows([message("a", 4, deleted=True)]),
        Finished("a"),
        Skipped("c", "MailboxNotEnabledForRESTAPI", since=1.0),
        Finished("c"),
    ]
    feed = ParentFeed("messages", capacity=100)
    assert list(publish(iter(events), feed)) == events
    assert drain(feed) == [
        KeepState("links", "a/inbox", "https://link"),
        Drop(scope={"user_id": "a", "parent_folder_id": "inbox"}, keep=frozenset({"m1"})),
        Changes("a", ("m1", "m3", "m4"), ("m1",)),
        Finished("a"),
        Skipped("c", "MailboxNotEnabledForRESTAPI", since=1.0),
        Finished("c"),
        Changes("b", ("m2",), ()),  # a mailbox never finished is handed over at the end
    ]


def test_a_big_mailbox_goes_in_chunks_through_a_full_feed_read_by_a_later_consumer() -> None:
    rows = [message("a", n, files=True) for n in range(CHUNK_WITH_FILES * 5)]
    pages = [Rows(rows[i : i + 50]) for i in range(0, len(rows), 50)]
    feed = ParentFeed("messages", capacity=1)
    produced: list[Event] = []
    producer = threading.Thread(target=lambda: produced.extend(publish(iter(pages), feed)))
    producer.start()
    producer.join(timeout=0.5)
    assert producer.is_alive()  # waits on the full feed: ids in memory stay bounded
    consumed = drain(feed)
    producer.join(timeout=10)
    assert produced == pages
    assert [len(item.with_files) for item in consumed if isinstance(item, Changes)] == [CHUNK_WITH_FILES] * 5


def failing_parent() -> Iterator[Event]:
    yield Rows([message("a", 1, files=True)])
    raise RuntimeError("Graph said no")


def test_a_failed_parent_reader_fails_the_consumer() -> None:
    feed = ParentFeed("messages")
    with pytest.raises(RuntimeError, match="Graph said no"):
        list(publish(failing_parent(), feed))
    with pytest.raises(ParentStopped, match="messages reader stopped.*Graph said no"):
        drain(feed)


def test_a_parent_resource_closed_early_fails_the_consumer_and_ends_its_own_wait() -> None:
    feed = ParentFeed("messages", capacity=1)
    pages = [Rows([message("a", n, files=True)]) for n in range(CHUNK_WITH_FILES * 3)]
    producer = threading.Thread(target=lambda: list(publish(iter(pages), feed)))
    producer.start()
    producer.join(timeout=0.5)
    feed.stop()  # what the parent's resource does when dlt closes it midway
    producer.join(timeout=10)
    assert not producer.is_alive()
    with pytest.raises(ParentStopped, match="closed before its reader ended"):
        drain(feed)


def test_a_consumer_gone_ends_the_parents_wait() -> None:
    feed = ParentFeed("messages", capacity=1)
    pages = [Rows([message("a", n, files=True)]) for n in range(CHUNK_WITH_FILES * 3)]
    produced: list[Event] = []
    producer = threading.Thread(target=lambda: produced.extend(publish(iter(pages), feed)))
    producer.start()
    producer.join(timeout=0.5)
    feed.abandon()  # the attachment resource failed or finished: the parent reads on
    producer.join(timeout=10)
    assert produced == pages


def test_a_consumer_waiting_for_a_parent_that_never_comes_wakes_when_abandoned() -> None:
    feed = ParentFeed("messages")  # the parent's reader never starts (another entity failed the run first)
    woke: list[BaseException] = []

    def consume() -> None:
        try:
            feed.get()
        except ParentStopped as exc:
            woke.append(exc)

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    consumer.join(0.2)
    feed.abandon()  # the riding resource is closed
    consumer.join(5)
    assert not consumer.is_alive() and woke  # before issue 12's fix: waited forever, and the sync with it


def test_a_content_reader_waiting_for_a_folder_round_wakes_when_abandoned_or_cancelled() -> None:
    for end in ("abandon", "cancel"):
        feed = FolderFeed("mail_folders")  # the folder table's reader never hands this mailbox's round over
        woke: list[BaseException] = []

        def take(waiting: FolderFeed = feed, seen: list[BaseException] = woke) -> None:
            try:
                waiting.take("user-1")
            except FolderTableStopped as exc:
                seen.append(exc)

        taker = threading.Thread(target=take, daemon=True)
        taker.start()
        taker.join(0.2)
        if end == "abandon":  # the content table's resource is closed
            feed.abandon()
        else:  # the run is cancelled (SyncRun.cancel stops every feed)
            feed.stop(Cancelled())
        taker.join(5)
        assert not taker.is_alive() and woke, end  # before: waited forever after the content table closed
