"""A folder table's delta rounds shared with the content table that reads those folders' streams, in one run:
``mail_folders`` -> ``messages``, ``contact_folders`` -> ``contacts``.

Both need each mailbox's folder delta (``mailFolders/delta``, ``contactFolders/delta``): the folder table for its
rows, the content table to know which folder streams to read. Read by both, a no-change sync asked it twice per
mailbox. The folder table's reader now publishes, per mailbox, what its round reported (folder ids, parents,
deletions, a resync) with the link it started from and the one it ended with; the content table applies it to
its own folder list when it stood at that same starting link (the usual case: both store the same link), and
keeps the new link as its own. Otherwise (one of the two was run alone since, or the mailbox was skipped) it
reads its own round as before and still keeps the folder table's new link: its list then covers a later moment
than that link, and a later round from the link reports those changes again, which applying twice leaves as
they are. From then on both stand at the same link again.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from .entities import ENTITIES
from .handover import HandOver
from .readers import DELETED_COLUMN, Drop, Event, Finished, KeepState, Rows, Skipped

# content table -> folder table
FOLDER_TABLES = {entity.name: entity.folder_table for entity in ENTITIES.values() if entity.folder_table}


class FolderTableStopped(RuntimeError):
    """The folder table's reader failed or stopped before its end: the content table must not finish either."""


@dataclass(frozen=True)
class FolderRound:
    """What one mailbox's folder delta round reported: ``changed`` as (id, parent folder id, deleted);
    ``resynced`` every folder id of a full round after an expired link; ``since`` the link it started from
    (None: the first round), ``link`` the one it ended with (None: the round did not finish, e.g. skipped)."""

    owner: str
    changed: tuple[tuple[str, str | None, bool], ...]
    resynced: frozenset[str] | None
    since: str | None
    link: str | None


class FolderFeed(HandOver):
    """Folder rounds by mailbox, from the folder table's reader to the content table's worker threads.

    Holds ids only, one entry per mailbox until the content table takes it.
    """

    def __init__(self, folder_table: str) -> None:
        super().__init__(folder_table)
        self.folder_table = folder_table
        self._rounds: dict[str, FolderRound] = {}

    def put(self, folder_round: FolderRound) -> None:
        """Hand one mailbox's round over (dropped once the content table is done)."""
        with self._cond:
            if not self._abandoned:
                self._rounds[folder_round.owner] = folder_round
                self._cond.notify_all()

    def take(self, owner: str) -> FolderRound | None:
        """``owner``'s round, waiting for it; None when the folder table's reader ended without one.

        Raises:
            FolderTableStopped: the folder table's reader failed or stopped before its end, or the content
                table's side was abandoned.
        """
        with self._cond:
            while owner not in self._rounds and self._open():
                self._cond.wait()
            if owner in self._rounds:
                return self._rounds.pop(owner)
            if self._error is not None:
                raise FolderTableStopped(f"the {self.folder_table} reader stopped: {self._error!r}") from self._error
            if self._abandoned:  # the content table was closed: a thread still waiting ends, not waits forever
                raise FolderTableStopped(f"the reader taking {self.folder_table} rounds was closed")
            return None

    def _drop_waiting(self) -> None:
        self._rounds.clear()


def publish_folders(events: Iterator[Event], feed: FolderFeed, since: Mapping[str, str]) -> Iterator[Event]:
    """Yield the folder table reader's ``events`` unchanged, handing each mailbox's round to ``feed`` when the
    mailbox is done (``since``: the folder table's stored links by mailbox, where each round started)."""
    changed: dict[str, list[tuple[str, str | None, bool]]] = {}
    resynced: dict[str, frozenset[str]] = {}
    links: dict[str, str] = {}
    try:
        for event in events:
            if isinstance(event, Rows):
                for row in event.rows:
                    owner = str(row["user_id"])
                    changed.setdefault(owner, []).append((row["id"], row.get("parentFolderId"), row[DELETED_COLUMN]))
            elif isinstance(event, Drop) and "user_id" in event.scope and event.parent_column is None:
                resynced[event.scope["user_id"]] = event.keep
            elif isinstance(event, KeepState) and event.section == "links":
                links[event.key] = event.value
            elif isinstance(event, Skipped):
                links.pop(event.owner, None)
            elif isinstance(event, Finished):
                owner = event.owner
                feed.put(
                    FolderRound(
                        owner,
                        tuple(changed.pop(owner, ())),
                        resynced.pop(owner, None),
                        since.get(owner),
                        links.pop(owner, None),
                    )
                )
            yield event
    except BaseException as exc:
        feed.stop(exc)
        raise
    feed.end()
