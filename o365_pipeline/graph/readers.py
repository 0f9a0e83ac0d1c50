"""How each kind of entity is read from Graph: one function per ``Entity.reader``.

A reader yields :class:`Event` objects: rows to load, a new deltaLink or cursor to keep, a request to drop
what is stored locally for a scope (after a resync or a deleted parent), or a skipped mailbox. The dlt
resource (:mod:`.source`) turns them into rows and state on its own thread; readers may fan out over
threads with :func:`fan_out` and never touch dlt state themselves.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..config import SettingError
from .client import GraphClient
from .entities import ENTITIES, Entity, ReaderName, permission_for
from .errors import GraphError, MissingKeyError
from .fanout import TaskCount, fan_out
from .id_types import PREFER_IMMUTABLE
from .reports import REFRESH_DATE, csv_rows, report_period, with_period
from .tenant import Tenant, TenantUser, selected_sites

if TYPE_CHECKING:
    from .folder_feed import FolderFeed

DELETED_COLUMN = "is_deleted"


@dataclass(frozen=True)
class Rows:
    """Rows for the entity's table (``is_deleted`` set on removals); ``moved``: ids of rows that only moved to
    another folder of their mailbox, keeping their (immutable) id: their attachments did not change."""

    rows: list[dict[str, Any]]
    moved: frozenset[str] = frozenset()


@dataclass(frozen=True)
class KeepState:
    """A value to store in the resource state once the rows before it are loaded (a deltaLink, a cursor)."""

    section: str
    key: str
    value: Any


@dataclass(frozen=True)
class Drop:
    """Delete the stored rows matching ``scope`` whose id is not in ``keep`` (or, with ``parents``, the rows
    whose ``parent_column`` is one of them)."""

    scope: Mapping[str, str]
    keep: frozenset[str] = frozenset()
    parent_column: str | None = None
    parents: tuple[str, ...] = ()
    other_parents: bool = False  # drop rows whose parent is NOT one of ``parents`` (users gone upstream)
    parents_in: tuple[str, Mapping[str, str]] | None = None  # only parents stored in that table within that scope
    # with ``other_parents``: only stored parents this predicate owns (a mailbox shard drops its own users gone)
    owned: Callable[[str], bool] | None = None

    @classmethod
    def unlisted(cls, scope: Mapping[str, str], keep: frozenset[str] | set[str]) -> Drop:
        """The rows within ``scope`` a full round did not list (a resync: ``keep`` is what it listed)."""
        return cls(scope=dict(scope), keep=frozenset(keep))

    @classmethod
    def children_of(cls, scope: Mapping[str, str], column: str, parents: Sequence[str]) -> Drop:
        """The rows within ``scope`` whose ``column`` names one of ``parents`` (changed or deleted parents)."""
        return cls(scope=dict(scope), parent_column=column, parents=tuple(parents))

    @classmethod
    def children_of_others(
        cls,
        scope: Mapping[str, str],
        column: str,
        parents: Sequence[str],
        parents_in: tuple[str, Mapping[str, str]] | None = None,
        owned: Callable[[str], bool] | None = None,
    ) -> Drop:
        """The rows within ``scope`` whose ``column`` names a parent NOT in ``parents`` (parents gone upstream):
        with ``parents_in`` only parents stored in that table within that scope, with ``owned`` only those it
        owns."""
        return cls(
            scope=dict(scope),
            parent_column=column,
            parents=tuple(parents),
            other_parents=True,
            parents_in=parents_in,
            owned=owned,
        )


@dataclass(frozen=True)
class Skipped:
    """A mailbox, drive or parent that could not be read (unlicensed, outside the access policy).

    ``since`` (epoch seconds) is set when it was found unreadable just now: the resource state remembers it, so
    later runs skip it without a request until ``O365_UNREADABLE_RECHECK_HOURS`` have passed."""

    owner: str
    code: str
    since: float | None = None


@dataclass(frozen=True)
class Readable:
    """A mailbox remembered as unreadable was read again: forget it."""

    owner: str


@dataclass(frozen=True)
class Finished:
    """A mailbox's work is over (read, or skipped): what an attachment table riding on this reader waits for."""

    owner: str


@dataclass(frozen=True)
class Forget:
    """Owners gone upstream (deleted users, mail turned off): their stored streams and unreadable marks leave the
    state, committed with the load that deletes their rows, so no later run asks Graph about them again."""

    owners: frozenset[str]


@dataclass(frozen=True)
class Denied:
    """Graph refused the entity itself (403: the app lacks ``permission``): nothing more of it is read this run,
    its state does not move, the other entities load (``o365-pipeline sync`` then exits non-zero)."""

    permission: str
    code: str
    path: str


Event = Rows | KeepState | Drop | Skipped | Readable | Finished | Forget | Denied

UNREADABLE = "unreadable"  # resource state key: {owner: {"code", "since"}}


def unreadable_recheck_seconds(environ: Mapping[str, str] | None = None) -> float:
    """``O365_UNREADABLE_RECHECK_HOURS`` (default 24) in seconds: how long an unreadable mailbox is skipped
    without asking Graph again (a full refresh always asks)."""
    raw = (os.environ if environ is None else environ).get("O365_UNREADABLE_RECHECK_HOURS", "").strip()
    try:
        hours = float(raw) if raw else 24.0
    except ValueError:
        hours = -1.0
    if hours < 0:
        raise SettingError("O365_UNREADABLE_RECHECK_HOURS", f"{raw!r} is not a number of hours (0 or more)")
    return hours * 3600


@dataclass
class ReadContext:
    """What a reader works with: the client, the tenant's parents, a snapshot of its state, settings."""

    entity: Entity
    client: GraphClient
    tenant: Tenant
    links: Mapping[str, str]
    state: Mapping[str, Any]
    workers: int = 8
    prefetched: dict[str, dict[str, Any]] = field(default_factory=dict)  # first pages of stored links, by key
    parents: TaskCount = field(default_factory=TaskCount)  # mailboxes (or groups, plans, ...) done of total
    folders: FolderFeed | None = None  # the folder table's rounds, when it runs too (messages, contacts)
    recheck_unreadable: float = field(default_factory=unreadable_recheck_seconds)
    calendar_window: tuple[dt.datetime, dt.datetime] = field(
        default_factory=lambda: (
            dt.datetime.now(dt.UTC) - dt.timedelta(days=365),
            dt.datetime.now(dt.UTC) + dt.timedelta(days=365),
        )
    )


def denied_as_event(entity: Entity, events: Iterator[Event]) -> Iterator[Event]:
    """The reader's ``events``; a 403 that ends the reader (not one mailbox's or parent's, which are skipped
    where they happen) becomes a :class:`Denied` naming the permission the refused request needs."""
    try:
        yield from events
    except GraphError as exc:
        if exc.status != 403:
            raise
        yield Denied(permission_for(exc.path, entity), exc.code, exc.path)


def removed(item: Mapping[str, Any]) -> bool:
    """Whether a delta item reports a deletion (``@removed``, or a drive ``deleted`` facet)."""
    return "@removed" in item or "deleted" in item


def shape(item: Mapping[str, Any], extra: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A row from a Graph item: deletions keep only the id; annotations (``@odata.*``) are dropped."""
    if removed(item):
        return {"id": item["id"], DELETED_COLUMN: True, **(extra or {})}
    row = {key: value for key, value in item.items() if not key.startswith("@")}
    row[DELETED_COLUMN] = False
    if extra:
        row.update(extra)
    return row


def rows_of(
    ctx: ReadContext, items: Sequence[Any], request: str, extra: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """Rows from a page's items (:func:`shape`).

    Raises:
        MissingKeyError: an item has no ``id`` (naming the entity and ``request``, without its query).
    """
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
            raise MissingKeyError(ctx.entity.name, request_path(ctx, request))
    return trim_lists(ctx.entity, [shape(item, extra) for item in items])


def trim_lists(entity: Entity, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with the entries of ``entity.list_keys``' list properties cut to those keys (credentials keep
    their ids and dates: key bytes, secret text and hints are never stored)."""
    if not entity.list_keys:
        return rows
    for row in rows:
        for prop, keys in entity.list_keys.items():
            if prop not in row:
                continue
            entries = row[prop]
            # anything but a list of objects is not what Graph documents: stored as nothing rather than as it came
            row[prop] = (
                [{key: entry.get(key) for key in keys} for entry in entries if isinstance(entry, dict)]
                if isinstance(entries, list)
                else None
            )
    return rows


def request_path(ctx: ReadContext, url: str) -> str:
    """A request's path under the Graph root, without its query (a delta or skip token is no one's business)."""
    return "/" + (ctx.client.relative(url) or url).partition("?")[0].lstrip("/")


def _params(entity: Entity) -> dict[str, str]:
    """``$select`` and, for an entity paged by ``$top``, its page size."""
    params: dict[str, str] = {}
    if entity.select:
        params["$select"] = ",".join(entity.select)
    if entity.page_size and entity.page_size_by == "top":
        params["$top"] = str(entity.page_size)
    if entity.filter:
        params["$filter"] = entity.filter
    return params


def delta_headers(entity: Entity) -> dict[str, str] | None:
    """``Prefer: odata.maxpagesize`` for the Outlook delta functions that page by it (messages, events)."""
    if entity.page_size and entity.page_size_by == "prefer":
        return {"Prefer": f"odata.maxpagesize={entity.page_size}"}
    return None


def prefetch(client: GraphClient, links: Mapping[str, str], headers: Mapping[str, str] | None, workers: int) -> dict:
    """First pages of every stored deltaLink, 20 per ``$batch`` request (a no-change round is one page each).

    Links ``$batch`` cannot carry (another host) and failed answers (an expired token) are left out: their
    stream sends its own request and handles the error.
    """
    relative = {key: client.relative(client.rebased(link)) for key, link in sorted(links.items())}
    todo = [(key, url) for key, url in relative.items() if url]
    if len(todo) < 2:
        return {}
    chunks = [todo[i : i + 20] for i in range(0, len(todo), 20)]

    def work(chunk: list[tuple[str, str]]) -> Iterator[tuple[str, dict[str, Any]]]:
        answers = client.batch([(url, headers) for _, url in chunk])
        for (key, _), answer in zip(chunk, answers, strict=True):
            if not isinstance(answer, GraphError):
                yield key, answer

    return dict(fan_out(chunks, work, workers=workers, cancelled=client.cancelled))


def batch_first_pages(
    ctx: ReadContext, urls: Mapping[str, str], headers: Mapping[str, str] | None = None
) -> dict[str, dict[str, Any] | GraphError]:
    """The answers to many relative URLs, 20 per ``$batch`` request, the batches on the worker threads."""
    todo = list(urls.items())
    chunks = [todo[i : i + 20] for i in range(0, len(todo), 20)]

    def work(chunk: list[tuple[str, str]]) -> Iterator[tuple[str, dict[str, Any] | GraphError]]:
        answers = ctx.client.batch([(url, headers) for _, url in chunk])
        yield from zip([key for key, _ in chunk], answers, strict=True)

    return dict(fan_out(chunks, work, workers=ctx.workers, cancelled=ctx.client.cancelled))


def with_query(path: str, params: Mapping[str, str] | None) -> str:
    """``path?name=value&...`` as a ``$batch`` request's relative URL."""
    if not params:
        return path
    return path + "?" + "&".join(f"{name}={quote(value, safe=',:$()')}" for name, value in params.items())


def prefetch_initial(
    ctx: ReadContext,
    streams: Mapping[str, tuple[str, Mapping[str, str] | None]],
    headers: Mapping[str, str] | None,
    mailbox: str,
) -> None:
    """First pages of a mailbox's streams that have no stored link yet (folder by folder otherwise), 20 per
    ``$batch``; :func:`delta_stream` picks them up. Failed answers are left to the stream's own request."""
    todo = [(key, with_query(path, params)) for key, (path, params) in streams.items() if key not in ctx.links]
    if len(todo) < 2:
        return
    answers = ctx.client.batch([(url, headers) for _, url in todo], mailbox=mailbox)
    for (key, _), answer in zip(todo, answers, strict=True):
        if not isinstance(answer, GraphError):
            ctx.prefetched[key] = answer


def delta_stream(
    ctx: ReadContext,
    key: str,
    path: str,
    params: Mapping[str, str] | None,
    *,
    scope: Mapping[str, str],
    mailbox: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Iterator[Event]:
    """One delta stream from its stored deltaLink (or ``path`` the first time), ending with its new link.

    When the stored token has expired (GRAPH_NOTES: 410, or a ``syncStateNotFound``/``resync*`` code) the
    stream starts over with a full round and afterwards asks to drop what is stored for ``scope`` but was not
    returned by it.
    """
    link = ctx.links.get(key)
    first = ctx.prefetched.pop(key, None)
    resync_ids: set[str] | None = None
    while True:
        try:
            for page in ctx.client.iter_delta(
                link or path, params=None if link else params, headers=headers, mailbox=mailbox, first=first
            ):
                rows = rows_of(ctx, page.items, link or path, scope)
                if resync_ids is not None:
                    resync_ids.update(row["id"] for row in rows if not row[DELETED_COLUMN])
                if rows:
                    yield Rows(rows)
                if page.delta_link:
                    yield KeepState("links", key, page.delta_link)
            break
        except GraphError as exc:
            if not (link and exc.is_delta_expired) or resync_ids is not None:
                raise
            link = None  # start over from our own initial query (a Location may lack its parameters)
            resync_ids = set()
    if resync_ids is not None:
        yield Drop.unlisted(scope, resync_ids)


def skipped_now(ctx: ReadContext) -> set[str]:
    """Mailboxes remembered as unreadable that are not due for another look yet."""
    known: Mapping[str, Mapping[str, Any]] = ctx.state.get(UNREADABLE) or {}
    now = time.time()
    return {owner for owner, seen in known.items() if now - float(seen.get("since", 0)) < ctx.recheck_unreadable}


def per_user(ctx: ReadContext, work: Callable[[TenantUser], Iterator[Event]]) -> Iterator[Event]:
    """Run ``work`` for every selected user on the worker threads; unreadable mailboxes are skipped, and
    remembered (no request for them until ``ctx.recheck_unreadable`` seconds have passed)."""
    known: Mapping[str, Mapping[str, Any]] = ctx.state.get(UNREADABLE) or {}
    skipped = skipped_now(ctx)
    now = time.time()

    def guarded(user: TenantUser) -> Iterator[Event]:
        yield from read_or_skip(user)
        yield Finished(user.id)

    def read_or_skip(user: TenantUser) -> Iterator[Event]:
        remembered = known.get(user.id)
        if user.id in skipped:
            yield Skipped(user.id, str(known[user.id].get("code", "")))
            return
        try:
            yield from work(user)
        except GraphError as exc:
            if not exc.is_mailbox_unavailable:
                raise
            yield Skipped(user.id, exc.code, since=now)
            return
        if remembered:
            yield Readable(user.id)

    users = ctx.tenant.users_for_content()
    yield from users_gone(ctx, users)
    yield from fan_out(users, guarded, workers=ctx.workers, count=ctx.parents, cancelled=ctx.client.cancelled)


def users_gone(ctx: ReadContext, users: list[TenantUser]) -> Iterator[Event]:
    """Drop the content of users deleted upstream (or no longer mail-enabled) when a run covers every user: a
    query of the stored table, so only when the users differ from the last run's of this table. Their stored
    streams go with it (:class:`Forget`): a run after that sends no request for them."""
    if ctx.tenant.restricted:
        return
    digest = hashlib.blake2b("\n".join(sorted(u.id for u in users)).encode(), digest_size=16).hexdigest()
    if ctx.state.get("users_digest") != digest:
        yield Drop.children_of_others({}, "user_id", [u.id for u in users], owned=ctx.tenant.owns)
        yield KeepState("state", "users_digest", digest)
    known = {link_owner(key) for key in ctx.links} | set(ctx.state.get(UNREADABLE) or {})
    gone = known - {user.id for user in users}
    if gone:  # the rows are dropped above, in this run, or were in the run that last changed the digest
        yield Forget(frozenset(gone))


def link_owner(key: str) -> str:
    """The mailbox (user id) a per-user stream's key names: ``user_id`` or ``user_id/stream``."""
    return key.partition("/")[0]


def current_links(ctx: ReadContext) -> dict[str, str]:
    """The stored links worth asking Graph about: those of a per-user entity whose owner is no current user
    are left out (a deleted mailbox answers 404; :func:`users_gone` forgets them)."""
    if not ctx.entity.per_user or ctx.tenant.restricted:
        return dict(ctx.links)
    users = {user.id for user in ctx.tenant.users_for_content()}
    return {key: link for key, link in ctx.links.items() if link_owner(key) in users}


# ---- tenant-level readers ----------------------------------------------------------------------------


def read_directory_delta(ctx: ReadContext) -> Iterator[Event]:
    """users/delta, groups/delta: partial update entries are read again in full through ``$batch``."""
    entity = ctx.entity
    for event in delta_stream(ctx, "tenant", entity.path, _params(entity), scope={}):
        if isinstance(event, Rows) and entity.item_path:
            event = Rows(_complete(ctx, event.rows))
        yield event


def _complete(ctx: ReadContext, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    entity = ctx.entity
    assert entity.item_path
    select = ",".join(entity.select)
    partial = {
        row["id"]: f"{entity.item_path.format(id=row['id'])}?$select={select}"
        for row in rows
        if not row[DELETED_COLUMN] and not all(name in row for name in entity.select)
    }
    if not partial:
        return rows
    full = ctx.client.batch_get(list(partial.values()))
    return trim_lists(
        entity,
        [
            shape(full[partial[row["id"]]]) if row["id"] in partial and partial[row["id"]] in full else row
            for row in rows
        ],
    )


def read_members_delta(ctx: ReadContext) -> Iterator[Event]:
    """Memberships (or ownerships) from ``<relationship>@delta`` of groups/delta, the relationship being the
    entity's one ``$select`` (``members``, ``owners``): a row ``group_id/<member>_id`` per related object, a big
    group spanning pages adds to it page by page."""
    relationship = ctx.entity.select[0]
    related = relationship.removesuffix("s")  # member, owner: the row's columns are <related>_id, <related>_type
    present: set[str] = set()  # relationship ids seen this run: what a resync's full round keeps
    for event in delta_stream(ctx, "tenant", ctx.entity.path, _params(ctx.entity), scope={}):
        if isinstance(event, Drop):
            yield Drop.unlisted({}, present)
            continue
        if not isinstance(event, Rows):
            yield event
            continue
        rows: list[dict[str, Any]] = []
        gone_groups: list[str] = []
        for group in event.rows:
            if group[DELETED_COLUMN]:
                gone_groups.append(group["id"])
                continue
            for member in group.get(f"{relationship}@delta", []):
                if not isinstance(member, dict) or not member.get("id"):
                    path = request_path(ctx, ctx.entity.path)
                    raise MissingKeyError(ctx.entity.name, f"{path} ({relationship}@delta)")
                row = {
                    "id": f"{group['id']}/{member['id']}",
                    "group_id": group["id"],
                    f"{related}_id": member["id"],
                    f"{related}_type": str(member.get("@odata.type", "")).rsplit(".", 1)[-1] or None,
                    DELETED_COLUMN: "@removed" in member,
                }
                rows.append(row)
                if not row[DELETED_COLUMN]:
                    present.add(row["id"])
        if gone_groups:
            yield Drop.children_of({}, "group_id", gone_groups)
        if rows:
            yield Rows(rows)


def read_list(ctx: ReadContext) -> Iterator[Event]:
    """A plain collection, read whole (replace)."""
    for page in ctx.client.iter_pages(ctx.entity.path, params=_params(ctx.entity) or None):
        yield Rows(rows_of(ctx, page.get("value", []), ctx.entity.path))


def read_date_cursor(ctx: ReadContext) -> Iterator[Event]:
    """Audit logs: ``$filter=<cursor> ge <last seen>``. Items at the boundary (cursor equal to the last seen)
    that an earlier run already loaded are left out: their ids are kept with the cursor."""
    entity = ctx.entity
    assert entity.cursor
    last = ctx.state.get("cursor")
    seen: set[str] = set(ctx.state.get("boundary") or ()) if last else set()
    params = _params(entity)
    if last:
        params["$filter"] = f"{entity.cursor} ge {last}"
    newest, at_newest = last, set(seen)
    for page in ctx.client.iter_pages(entity.path, params=params):
        rows_of(ctx, page.get("value", []), entity.path)  # every item has its key
        items = []
        for item in page.get("value", []):
            value = item.get(entity.cursor)
            if value == last and item.get("id") in seen:
                continue  # loaded by an earlier run
            items.append(item)
            if value and (newest is None or value > newest):
                newest, at_newest = value, set()
            if value and value == newest:
                at_newest.add(item["id"])
        if items:
            yield Rows([shape(item) for item in items])
    if newest:
        yield KeepState("state", "cursor", newest)
        yield KeepState("state", "boundary", sorted(at_newest))


# ---- per-user readers ---------------------------------------------------------------------------------


def read_mailbox_delta(ctx: ReadContext) -> Iterator[Event]:
    """One delta stream per mailbox (mailFolders/delta, contactFolders/delta)."""
    entity = ctx.entity

    def work(user: TenantUser) -> Iterator[Event]:
        path = entity.path.format(user_id=user.id)
        yield from delta_stream(ctx, user.id, path, _params(entity), scope={"user_id": user.id}, mailbox=user.id)

    return per_user(ctx, work)


def known_streams(links: Mapping[str, str]) -> dict[str, list[str]]:
    """Stream ids (folder ids) by owner from stored link keys ``owner/stream``: the folders synced before."""
    owners: dict[str, list[str]] = {}
    for key in links:
        owner, _, stream = key.partition("/")
        if stream and stream != FOLDERS:
            owners.setdefault(owner, []).append(stream)
    return owners


FOLDERS = "folders"  # key suffix of a mailbox's folder-list deltaLink (``user_id/folders``)


def folder_ids(
    ctx: ReadContext,
    user_id: str,
    path: str,
    known: list[str],
    extra: Callable[[], list[str]] = list,
    select: str = "id",
) -> Iterator[Event]:
    """A mailbox's folder ids: the known ones changed by what the folder delta (from its stored link) reports,
    or a full round the first time (plus ``extra()``: folders that delta does not list, such as the default
    contact folder). Yields the folders deltaLink to keep; returns the ids.

    In a run that reads the folder table too (``ctx.folders``), its round of this mailbox is used instead of a
    request of our own when this table stood at the same link (:mod:`.folder_feed`).
    """
    key = f"{user_id}/{FOLDERS}"
    shared = ctx.folders.take(user_id) if ctx.folders is not None else None
    ids = dict.fromkeys(known if key in ctx.links else extra())
    with_parents = "parentFolderId" in select.split(",")

    def apply(changed: Iterator[tuple[str, str | None, bool]]) -> None:
        for folder_id, parent_id, deleted in changed:
            if deleted:
                ids.pop(folder_id, None)
            else:
                ids[folder_id] = None
                if parent_id and with_parents:  # the default contact folder is every top folder's parent
                    ids[parent_id] = None

    if shared is not None and shared.link is not None and shared.since == ctx.links.get(key):
        apply(iter(shared.changed))
        if shared.resynced is not None:  # the folder list was resynced: the new full round is the truth
            ids = dict.fromkeys([*extra(), *shared.resynced])
        yield KeepState("links", key, shared.link)
        return list(ids)
    for event in delta_stream(ctx, key, path, {"$select": select}, scope={}, mailbox=user_id):
        if isinstance(event, Rows):
            apply((row["id"], row.get("parentFolderId"), row[DELETED_COLUMN]) for row in event.rows)
        elif isinstance(event, Drop):  # the folder list was resynced: the new full round is the truth
            ids = dict.fromkeys([*extra(), *event.keep])
        elif isinstance(event, KeepState):
            # the folder table's new link when it has one: from the next run on, both stand at the same link
            yield KeepState("links", key, shared.link) if shared is not None and shared.link else event
    return list(ids)


def folder_path(content: Entity, user_id: str) -> str:
    """The folder delta path of a mailbox, for an entity read folder by folder (its ``folder_table``'s path)."""
    assert content.folder_table
    return ENTITIES[content.folder_table].path.format(user_id=user_id)


def mail_folder_ids(ctx: ReadContext, user_id: str, known: list[str], content: Entity) -> Iterator[Event]:
    """Every mail folder of a mailbox, child folders included (mailFolders/delta; one page when nothing
    changed since the stored link)."""
    ids = yield from folder_ids(ctx, user_id, folder_path(content, user_id), known)
    return ids


HOLD_ROWS = 5000  # changed rows a mailbox holds back while its other folders may report them moved
ROUND_STARTED = "round_started"  # resource state: {mailbox: when its last complete round started (epoch seconds)}
CLOCK_MARGIN = 300.0  # seconds Graph's clock may be ahead of ours: a change that near the last run is a change


class MailboxRound:
    """One mailbox's folder streams reconciled per mailbox. An item moved to another folder is removed from the
    old folder's delta and present in the new one's, in either order: removals are applied last, only for ids no
    folder reported present.

    With immutable ids the moved item keeps its id. Rows of rounds from a stored link (changes) are then held
    until every folder is read (at most ``HOLD_ROWS``), so a removal of the same id in another folder marks them
    :attr:`Rows.moved` when they were not modified since the mailbox's last complete round started
    (``unchanged_before``, :class:`RoundTimes`): their attachments are neither dropped nor read again. Anything
    else (a full round, a modified or unmatched item) is handed on as a change.
    """

    def __init__(self, hold_moves: bool = False, unchanged_before: float | None = None) -> None:
        self.hold_moves = hold_moves and unchanged_before is not None
        self.unchanged_before = unchanged_before
        self.present: set[str] = set()
        self.removals: dict[str, dict[str, Any]] = {}
        self.held: list[dict[str, Any]] = []

    def add(self, rows: list[dict[str, Any]], changes: bool) -> Iterator[Rows]:
        """Take one page's rows (``changes``: from a stored link); yields what can be handed on now."""
        now: list[dict[str, Any]] = []
        for row in rows:
            if row[DELETED_COLUMN]:
                self.removals[row["id"]] = row
                continue
            self.present.add(row["id"])
            (self.held if self.hold_moves and changes else now).append(row)
        if now:
            yield Rows(now)
        if len(self.held) > HOLD_ROWS:  # memory stays bounded: these count as changes
            yield Rows(self.held)
            self.held = []

    def end(self) -> Iterator[Rows]:
        """Every folder is read: the held rows (moved ones marked), then the removals of ids present nowhere."""
        if self.held:
            yield Rows(self.held, frozenset(row["id"] for row in self.held if self._moved(row)))
            self.held = []
        gone = [row for item_id, row in self.removals.items() if item_id not in self.present]
        if gone:
            yield Rows(gone)

    def _moved(self, row: Mapping[str, Any]) -> bool:
        if row["id"] not in self.removals or self.unchanged_before is None:
            return False
        try:
            modified = dt.datetime.fromisoformat(str(row.get("lastModifiedDateTime"))).timestamp()
        except ValueError:
            return False
        return modified < self.unchanged_before


def immutable_ids(ctx: ReadContext) -> bool:
    """Whether this reader's requests ask for immutable Outlook ids (a moved item keeps its id)."""
    return PREFER_IMMUTABLE in ctx.client.prefer


class RoundTimes:
    """When each mailbox's last complete round started (resource state ``round_started``): what was modified
    before then, that round read. A mailbox whose round failed, was skipped or not read keeps its older time."""

    def __init__(self, ctx: ReadContext) -> None:
        stored = ctx.state.get(ROUND_STARTED)
        self._ctx = ctx
        self._previous: dict[str, float] = dict(stored) if isinstance(stored, Mapping) else {}
        self._done: dict[str, float] = {}

    def mailbox_round(self, owner: str) -> MailboxRound:
        """A :class:`MailboxRound` for ``owner``: moves told apart with immutable ids, when its last round is known."""
        started = self._previous.get(owner)
        unchanged_before = float(started) - CLOCK_MARGIN if started is not None else None
        return MailboxRound(immutable_ids(self._ctx), unchanged_before)

    def done(self, owner: str, started: float) -> None:
        """``owner``'s round, started at ``started``, read every folder."""
        self._done[owner] = started

    def keep(self) -> KeepState:
        """The times to keep: this run's rounds, and the earlier ones of mailboxes still streamed."""
        owners = {link_owner(key) for key in self._ctx.links}
        kept = {owner: t for owner, t in self._previous.items() if owner in owners}
        return KeepState("state", ROUND_STARTED, {**kept, **self._done})


def read_messages_delta(ctx: ReadContext) -> Iterator[Event]:
    """Per-folder message delta, reconciled per mailbox (:class:`MailboxRound`): a message moved between folders
    is removed from the old folder's stream and present in the new one's."""
    entity = ctx.entity
    headers = delta_headers(entity)
    known = known_streams(ctx.links)

    times = RoundTimes(ctx)

    def work(user: TenantUser) -> Iterator[Event]:
        started = time.time()
        reconciled = times.mailbox_round(user.id)
        folders = yield from mail_folder_ids(ctx, user.id, known.get(user.id, []), entity)
        params = _params(entity) or None
        streams = {f"{user.id}/{f}": (entity.path.format(user_id=user.id, folder_id=f), params) for f in folders}
        prefetch_initial(ctx, streams, headers, user.id)
        for folder_id in folders:
            path = entity.path.format(user_id=user.id, folder_id=folder_id)
            for event in delta_stream(
                ctx,
                f"{user.id}/{folder_id}",
                path,
                params,
                scope={"user_id": user.id},
                mailbox=user.id,
                headers=headers,
            ):
                if isinstance(event, Rows):
                    yield from reconciled.add(event.rows, changes=f"{user.id}/{folder_id}" in ctx.links)
                elif isinstance(event, Drop):
                    yield Drop.unlisted({**event.scope, "parent_folder_id": folder_id}, event.keep)
                else:
                    yield event
        yield from reconciled.end()
        times.done(user.id, started)

    yield from per_user(ctx, work)
    yield times.keep()


def read_contacts_delta(ctx: ReadContext) -> Iterator[Event]:
    """Per contact folder delta, the default Contacts folder included (its id is every top folder's parent)."""
    entity = ctx.entity

    known = known_streams(ctx.links)

    def default_folder(user: TenantUser) -> list[str]:
        for page in ctx.client.iter_pages(
            f"users/{user.id}/contacts", params={"$select": "parentFolderId", "$top": "1"}, mailbox=user.id
        ):
            return [item["parentFolderId"] for item in page.get("value", []) if item.get("parentFolderId")]
        return []

    def work(user: TenantUser) -> Iterator[Event]:
        folders = yield from folder_ids(
            ctx,
            user.id,
            folder_path(entity, user.id),
            known.get(user.id, []),
            lambda: default_folder(user),
            select="id,parentFolderId",
        )
        streams = {f"{user.id}/{f}": (entity.path.format(user_id=user.id, folder_id=f), None) for f in folders}
        prefetch_initial(ctx, streams, None, user.id)
        reconciled = MailboxRound()  # a contact moved keeps its id with immutable ids: removed last, if nowhere
        for folder_id in folders:
            path = entity.path.format(user_id=user.id, folder_id=folder_id)
            for event in delta_stream(
                ctx, f"{user.id}/{folder_id}", path, None, scope={"user_id": user.id}, mailbox=user.id
            ):
                if isinstance(event, Rows):
                    yield from reconciled.add(event.rows, changes=False)
                elif isinstance(event, Drop):  # a resync of one folder reconciles that folder only
                    yield Drop.unlisted({**event.scope, "parent_folder_id": folder_id}, event.keep)
                else:
                    yield event
        yield from reconciled.end()

    return per_user(ctx, work)


def read_calendar_view_delta(ctx: ReadContext) -> Iterator[Event]:
    """calendarView/delta over the sync window (no ``$select``: Graph refuses it there)."""
    entity = ctx.entity
    start, end = ctx.calendar_window
    params = {
        "startDateTime": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "endDateTime": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    headers = delta_headers(entity)

    def work(user: TenantUser) -> Iterator[Event]:
        path = entity.path.format(user_id=user.id)
        yield from delta_stream(
            ctx, user.id, path, params, scope={"user_id": user.id}, mailbox=user.id, headers=headers
        )

    return per_user(ctx, work)


def read_drive_delta(ctx: ReadContext) -> Iterator[Event]:
    """OneDrive root delta per user: ``deleted`` facets remove items; 410 resyncRequired restarts."""
    entity = ctx.entity

    def work(user: TenantUser) -> Iterator[Event]:
        path = entity.path.format(user_id=user.id)
        yield from delta_stream(ctx, user.id, path, _params(entity), scope={"user_id": user.id})

    return per_user(ctx, work)


def read_mailbox_list(ctx: ReadContext) -> Iterator[Event]:
    """A small per-mailbox collection read whole (calendars); first pages of 20 mailboxes per ``$batch``."""
    entity = ctx.entity
    params = _params(entity)
    users = [u for u in ctx.tenant.users_for_content() if u.id not in skipped_now(ctx)]
    firsts = batch_first_pages(ctx, {u.id: with_query(entity.path.format(user_id=u.id), params) for u in users})

    def work(user: TenantUser) -> Iterator[Event]:
        first = firsts.get(user.id)
        if isinstance(first, GraphError):
            raise first
        path = entity.path.format(user_id=user.id)
        for page in ctx.client.iter_pages(path, params=params, mailbox=user.id, first=first):
            yield Rows(rows_of(ctx, page.get("value", []), path, {"user_id": user.id}))

    return per_user(ctx, work)


def read_attachments(ctx: ReadContext) -> Iterator[Event]:
    """Attachment metadata of changed messages/events that have attachments, read through ``$batch``.

    Runs its own light delta streams over the parents (``$select=id,hasAttachments`` for messages), so it
    never depends on another table's run; a changed or deleted parent first drops its stored attachments. A run
    that reads the parent table too rides on its reader instead (:mod:`.feed`).
    """
    entity = ctx.entity
    assert entity.parent
    parent = ENTITIES[entity.parent]

    known = known_streams(ctx.links)
    headers = delta_headers(parent)
    times = RoundTimes(ctx)

    def parent_streams(user: TenantUser, folders: list[str]) -> Iterator[tuple[str, str, dict[str, str] | None]]:
        if parent.per_folder:
            for folder_id in folders:
                path = parent.path.format(user_id=user.id, folder_id=folder_id)
                yield f"{user.id}/{folder_id}", path, {"$select": "id,hasAttachments,lastModifiedDateTime"}
        else:
            start, end = ctx.calendar_window
            path = parent.path.format(user_id=user.id)
            yield (
                user.id,
                path,
                {
                    "startDateTime": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "endDateTime": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
                },
            )

    def work(user: TenantUser) -> Iterator[Event]:
        started = time.time()
        folders: list[str] = []
        if parent.per_folder:
            folders = yield from mail_folder_ids(ctx, user.id, known.get(user.id, []), parent)
        streams = list(parent_streams(user, folders))
        prefetch_initial(ctx, {key: (path, params) for key, path, params in streams}, headers, user.id)
        changed: list[str] = []
        with_files: list[str] = []
        reconciled = times.mailbox_round(user.id)

        def take(rows: Rows) -> None:
            kept = [row for row in rows.rows if row["id"] not in rows.moved]  # moved: attachments unchanged
            changed.extend(row["id"] for row in kept)
            with_files.extend(row["id"] for row in kept if not row[DELETED_COLUMN] and row.get("hasAttachments"))

        for key, path, params in streams:
            stream = delta_stream(ctx, key, path, params, scope={"user_id": user.id}, mailbox=user.id, headers=headers)
            for event in stream:
                if isinstance(event, Drop):
                    continue  # attachments of parents gone meanwhile are dropped below, per parent
                if not isinstance(event, Rows):
                    yield event
                    continue
                for rows in reconciled.add(event.rows, changes=key in ctx.links):
                    take(rows)
                if len(with_files) >= 200:  # full batches across the mailbox's folders, bounded memory
                    yield from attachments_of(ctx, user.id, changed, with_files)
                    changed, with_files = [], []
        for rows in reconciled.end():
            take(rows)
        yield from attachments_of(ctx, user.id, changed, with_files)
        times.done(user.id, started)

    yield from per_user(ctx, work)
    yield times.keep()


def attachments_of(ctx: ReadContext, owner: str, changed: Sequence[str], with_files: Sequence[str]) -> Iterator[Event]:
    """Drop the stored attachments of a mailbox's changed parents, then read those with attachments again
    (``ctx.entity`` is the attachment table; 20 parents per ``$batch``)."""
    if not changed:
        return
    parent_column = ctx.entity.parent_column
    assert parent_column
    select = ",".join(ctx.entity.select)
    yield Drop.children_of({"user_id": owner}, parent_column, changed)
    paths = {
        f"{ctx.entity.path.format(user_id=owner, **{parent_column: pid})}?$select={select}": pid for pid in with_files
    }
    answers = ctx.client.batch_get(list(paths), mailbox=owner)
    rows = [
        row
        for path, body in answers.items()
        for row in rows_of(ctx, body.get("value", []), path, {"user_id": owner, parent_column: paths[path]})
    ]
    if rows:
        yield Rows(rows)


# ---- readers of group, team, plan and business children ------------------------------------------------


def _children(
    ctx: ReadContext, parents: list[str], placeholder: str, column: str, paged: bool = True
) -> Iterator[Event]:
    """A collection under each parent; the first pages of 20 parents per ``$batch``, later pages one by one."""
    entity = ctx.entity
    paths = {parent_id: entity.path.format(**{placeholder: parent_id}) for parent_id in parents}
    firsts = batch_first_pages(ctx, paths) if len(parents) > 1 else {}

    def work(parent_id: str) -> Iterator[Event]:
        first = firsts.get(parent_id)
        try:
            if isinstance(first, GraphError):
                raise first
            for page in ctx.client.iter_pages(paths[parent_id], params=None, first=first):
                yield Rows(rows_of(ctx, page.get("value", []), paths[parent_id], {column: parent_id}))
        except GraphError as exc:
            if exc.status not in (403, 404):
                raise
            yield Skipped(parent_id, exc.code)

    return fan_out(parents, work, workers=ctx.workers, count=ctx.parents, cancelled=ctx.client.cancelled)


def read_parent_list(ctx: ReadContext) -> Iterator[Event]:
    """A collection under every parent of the entity's kind (``over``: plans and conversations of each Microsoft 365
    group, tasks of each plan, channels of each team, the Bookings collections of each business), each row keyed
    by its parent's id (the column named as the path's placeholder)."""
    kind = ctx.entity.over
    if kind.placeholder is None:
        raise ValueError(f"{ctx.entity.name}: a parent_list entity fans out over parents, not the tenant")
    return _children(ctx, kind.parent_ids(ctx.tenant), kind.placeholder, kind.placeholder)


# ---- sharepoint: sites, lists, list items, site and group document libraries -------------------------


def read_sites(ctx: ReadContext) -> Iterator[Event]:
    """``sites/getAllSites``; an app holding ``Sites.Selected`` only (Graph refuses it the listing) reads the
    sites of ``O365_SITES`` one by one instead: those not granted to it answer 403 and are skipped."""
    entity = ctx.entity
    try:
        yield from read_list(ctx)
        return
    except GraphError as exc:
        configured = selected_sites()
        if exc.status != 403 or not configured:
            raise
    paths = {site: f"sites/{site}" for site in configured}
    for site, answer in batch_first_pages(ctx, paths).items():
        if isinstance(answer, GraphError):
            if answer.status not in (403, 404):
                raise answer
            yield Skipped(site, answer.code)
            continue
        yield Rows(rows_of(ctx, [{k: v for k, v in answer.items() if k != "@odata.context"}], entity.path))


def read_site_list(ctx: ReadContext) -> Iterator[Event]:
    """A collection under every site (lists); a site the app may not read (403) is skipped."""
    return _children(ctx, ctx.tenant.site_ids(), "site_id", "site_id")


def read_site_drives(ctx: ReadContext) -> Iterator[Event]:
    """Document libraries of every site and Microsoft 365 group (:meth:`Tenant.libraries`); sites and groups that
    refused (403) are skipped."""
    libraries = ctx.tenant.libraries()
    for owner, code in libraries.refused.items():
        yield Skipped(owner, code)
    if libraries.drives:
        yield Rows(rows_of(ctx, libraries.drives, ctx.entity.path))


def _keyed(rows: list[dict[str, Any]], parent_column: str, parent: str) -> list[dict[str, Any]]:
    """Rows whose Graph id is unique within their parent only: ``id`` becomes ``parent/id`` (``item_id`` keeps
    Graph's)."""
    return [{**row, "item_id": row["id"], "id": f"{parent}/{row['id']}", parent_column: parent} for row in rows]


def _child_stream(
    ctx: ReadContext, parent_column: str, parent: str, path: str, params: Mapping[str, str], scope: Mapping[str, str]
) -> Iterator[Event]:
    """One delta stream of a parent's children keyed ``parent/id`` (a resync drops, within ``scope``, what its
    full round did not list)."""
    for event in delta_stream(ctx, parent, path, params, scope=scope):
        if isinstance(event, Rows):
            yield Rows(_keyed(event.rows, parent_column, parent))
        elif isinstance(event, Drop):
            yield Drop.unlisted(event.scope, {f"{parent}/{item}" for item in event.keep})
        else:
            yield event


def _parents_gone(ctx: ReadContext, column: str, parents: list[str], complete: bool) -> Iterator[Event]:
    """Drop the rows of parents gone upstream (a deleted group's site, its library) and forget their streams,
    when the parents differ from the last run's and were listed completely (no site refused, no O365_SITES)."""
    if not complete:
        return
    digest = hashlib.blake2b("\n".join(sorted(parents)).encode(), digest_size=16).hexdigest()
    if ctx.state.get("parents_digest") != digest:
        yield Drop.children_of_others({}, column, parents)
        yield KeepState("state", "parents_digest", digest)
    gone = {link_owner(key) for key in ctx.links} - set(parents)
    if gone:
        yield Forget(frozenset(gone))


LIST_ITEM_PARAMS = {"$expand": "fields"}  # the items' column values
PARENTS_PER_TASK = 20  # sites or drives per worker task: one $batch asks their first pages


def _chunks(parents: Sequence[str]) -> list[list[str]]:
    return [list(parents[i : i + PARENTS_PER_TASK]) for i in range(0, len(parents), PARENTS_PER_TASK)]


def _first_pages(ctx: ReadContext, urls: Mapping[str, str]) -> dict[str, dict[str, Any] | GraphError]:
    """The answers to ``urls`` (relative, by key) in one ``$batch`` on this thread; none for a single one (its
    own request is as cheap)."""
    keys = list(urls)
    if len(keys) < 2:
        return {}
    return dict(zip(keys, ctx.client.batch([(urls[key], None) for key in keys]), strict=True))


def _prefetch_new_streams(ctx: ReadContext, urls: Mapping[str, str]) -> None:
    """First pages of the streams without a stored link (their first round), for :func:`delta_stream`."""
    answers = _first_pages(ctx, {key: url for key, url in urls.items() if key not in ctx.links})
    for key, answer in answers.items():
        if not isinstance(answer, GraphError):
            ctx.prefetched[key] = answer


def read_list_items_delta(ctx: ReadContext) -> Iterator[Event]:
    """Per-list ``items/delta`` with the items' ``fields``, site by site (document libraries left out: their files
    are library_items); a site the app may not read (403) is skipped. The lists of 20 sites, then the first pages
    of their new streams, are asked one ``$batch`` each."""
    entity = ctx.entity
    sites = ctx.tenant.site_ids()
    listed: list[str] = []  # every list of every site read: the items of lists not among them are gone
    refused: list[str] = []
    lists_query = {"$select": "id,list"}
    ctx.parents.expect(len(sites))

    def site_lists(site: str, first: dict[str, Any] | GraphError | None) -> list[str]:
        if isinstance(first, GraphError):
            raise first
        pages = ctx.client.iter_pages(f"sites/{site}/lists", params=lists_query, first=first)
        return [
            item["id"]
            for page in pages
            for item in page.get("value", [])
            if (item.get("list") or {}).get("template") != "documentLibrary"
        ]

    def work(chunk: list[str]) -> Iterator[Event]:
        firsts = _first_pages(ctx, {site: with_query(f"sites/{site}/lists", lists_query) for site in chunk})
        lists: dict[str, list[str]] = {}
        for site in chunk:
            try:
                lists[site] = site_lists(site, firsts.get(site))
            except GraphError as exc:
                if exc.status not in (403, 404):
                    raise
                refused.append(site)
                ctx.parents.finish()
                yield Skipped(site, exc.code)
        paths = {key: entity.path.format(site_id=site, list_id=key) for site, ids in lists.items() for key in ids}
        _prefetch_new_streams(ctx, {key: with_query(path, LIST_ITEM_PARAMS) for key, path in paths.items()})
        for site, ids in lists.items():
            listed.extend(ids)
            for list_id in ids:
                scope = {"site_id": site, "list_id": list_id}
                yield from _child_stream(ctx, "list_id", list_id, paths[list_id], LIST_ITEM_PARAMS, scope)
            ctx.parents.finish()

    yield from fan_out(_chunks(sites), work, workers=ctx.workers, cancelled=ctx.client.cancelled)
    yield from _parents_gone(ctx, "list_id", listed, not refused and ctx.tenant.all_sites_listed())


def read_library_delta(ctx: ReadContext) -> Iterator[Event]:
    """Drive root delta of every site and group library (``deleted`` facets remove items; 410 restarts); the first
    pages of 20 drives' first rounds are asked one ``$batch``."""
    entity = ctx.entity
    params = _params(entity)
    libraries = ctx.tenant.libraries()
    for owner, code in libraries.refused.items():
        yield Skipped(owner, code)
    drives = [drive["id"] for drive in libraries.drives]
    ctx.parents.expect(len(drives))

    def work(chunk: list[str]) -> Iterator[Event]:
        paths = {drive: entity.path.format(drive_id=drive) for drive in chunk}
        _prefetch_new_streams(ctx, {drive: with_query(path, params) for drive, path in paths.items()})
        for drive in chunk:
            try:
                yield from _child_stream(ctx, "drive_id", drive, paths[drive], params, {"drive_id": drive})
            except GraphError as exc:
                if exc.status not in (403, 404):
                    raise
                yield Skipped(drive, exc.code)
            ctx.parents.finish()

    yield from _parents_gone(ctx, "drive_id", drives, not libraries.refused and ctx.tenant.all_sites_listed())
    yield from fan_out(_chunks(drives), work, workers=ctx.workers, cancelled=ctx.client.cancelled)


# ---- usage reports -------------------------------------------------------------------------------------

SNAPSHOTS = "snapshots"  # resource state key: {refresh date: digest of the CSV loaded for it}
SNAPSHOTS_KEPT = 400  # refresh dates remembered (a report a day: more than a year)


def read_report_snapshot(ctx: ReadContext) -> Iterator[Event]:
    """A usage report: its CSV (Graph redirects to a pre-authenticated download, fetched without the token)
    as one snapshot of its refresh date. The same CSV again loads nothing; another CSV for a date already
    loaded replaces that date's rows; a new date adds its rows beside the earlier dates' (history kept)."""
    entity = ctx.entity
    assert entity.row_key
    path = with_period(entity.path, report_period())
    data = ctx.client.download(path)
    try:
        rows = csv_rows(data, entity.columns, entity.row_key)
    except (ValueError, UnicodeDecodeError) as exc:
        raise GraphError(200, "NotAReportCsv", f"the report download is not the CSV expected: {exc}", path) from None
    known: dict[str, str] = dict(ctx.state.get(SNAPSHOTS) or {})
    digest = hashlib.blake2b(data, digest_size=16).hexdigest()
    for date in sorted({row[REFRESH_DATE] for row in rows}):
        day = [shape(row) for row in rows if row[REFRESH_DATE] == date]
        if known.get(date.isoformat()) == digest:
            continue  # loaded already, unchanged
        yield Rows(day)
        yield Drop.unlisted({REFRESH_DATE: date}, {row["id"] for row in day})  # type: ignore[dict-item]
        known[date.isoformat()] = digest
    yield KeepState("state", SNAPSHOTS, dict(sorted(known.items())[-SNAPSHOTS_KEPT:]))


# ---- readers of channel children (Teams channel messages, their replies, channel members) ---------------------

Channel = tuple[str, str]  # (team id, channel id)


def _channel_scope(channel: Channel) -> dict[str, str]:
    return {"team_id": channel[0], "channel_id": channel[1]}


def per_channel(ctx: ReadContext, work: Callable[[Channel], Iterator[Event]]) -> Iterator[Event]:
    """Run ``work`` for every channel of every team on the worker threads; a channel gone meanwhile (404) is
    skipped, a 403 ends the entity (:class:`Denied`: the permission, e.g. the protected ChannelMessage.Read.All, is
    missing). The rows of channels gone upstream are dropped first."""
    channels = ctx.tenant.channels()
    yield from channels_gone(ctx, channels)

    def guarded(channel: Channel) -> Iterator[Event]:
        try:
            yield from work(channel)
        except GraphError as exc:
            if exc.status != 404:
                raise
            yield Skipped("/".join(channel), exc.code)

    yield from fan_out(channels, guarded, workers=ctx.workers, count=ctx.parents, cancelled=ctx.client.cancelled)


def channels_gone(ctx: ReadContext, channels: list[Channel]) -> Iterator[Event]:
    """Drop the rows of channels no longer listed (a deleted team or channel) when the channels differ from the
    last run's; the stored streams of teams gone leave the state with them (:class:`Forget`)."""
    digest = hashlib.blake2b("\n".join(sorted("/".join(c) for c in channels)).encode(), digest_size=16).hexdigest()
    if ctx.state.get("channels_digest") != digest:
        yield Drop.children_of_others({}, "channel_id", [channel_id for _, channel_id in channels])
        yield KeepState("state", "channels_digest", digest)
    gone = {link_owner(key) for key in ctx.links} - {team_id for team_id, _ in channels}
    if gone:
        yield Forget(frozenset(gone))


def message_row(item: dict[str, Any], extra: Mapping[str, str]) -> dict[str, Any]:
    """A channel message or reply as a row: one Teams deleted (``deletedDateTime`` set, it stays listed without
    its body) is a deletion; the sender's type annotation is left out (it would be a column of its own)."""
    if item.get("deletedDateTime"):
        return {"id": item["id"], **extra, DELETED_COLUMN: True}
    row = {key: value for key, value in item.items() if not key.startswith("@") and not key.startswith("replies")}
    sender = row.get("from")
    if isinstance(sender, dict) and isinstance(sender.get("user"), dict):
        user = {key: value for key, value in sender["user"].items() if not key.startswith("@")}
        row["from"] = {**sender, "user": user}
    row.update(extra)
    row[DELETED_COLUMN] = False
    return row


def read_channel_messages_delta(ctx: ReadContext) -> Iterator[Event]:
    """Per-channel messages/delta (top-level messages); a message deleted in Teams arrives with its
    ``deletedDateTime`` set and leaves the table."""
    entity = ctx.entity

    def work(channel: Channel) -> Iterator[Event]:
        scope = _channel_scope(channel)
        path = entity.path.format(**scope)
        for event in delta_stream(ctx, "/".join(channel), path, _params(entity), scope=scope):
            if isinstance(event, Rows):
                event = Rows([message_row(row, scope) for row in event.rows])
            yield event

    return per_channel(ctx, work)


def read_channel_replies_delta(ctx: ReadContext) -> Iterator[Event]:
    """Replies from per-channel messages/delta with ``$expand=replies``: a message whose reply chain changed
    comes with all its replies (beyond 1000, ``replies@odata.nextLink`` pages), so its stored replies are
    replaced by them; a deleted message takes its replies with it."""
    entity = ctx.entity
    params = {**_params(entity), "$expand": "replies"}

    def work(channel: Channel) -> Iterator[Event]:
        scope = _channel_scope(channel)
        path = entity.path.format(**scope)
        for event in delta_stream(ctx, "/".join(channel), path, params, scope=scope):
            if isinstance(event, Rows):
                yield from replies_of(ctx, event.rows, scope)
            elif isinstance(event, Drop):  # a resync: replies of messages its full round no longer returned
                yield Drop.children_of_others(scope, "message_id", tuple(event.keep))
            else:
                yield event

    return per_channel(ctx, work)


def replies_of(ctx: ReadContext, roots: list[dict[str, Any]], scope: Mapping[str, str]) -> Iterator[Event]:
    """Drop the stored replies of changed messages, then load the replies they carry now."""
    yield Drop.children_of(scope, "message_id", [root["id"] for root in roots])
    rows: list[dict[str, Any]] = []
    for root in roots:
        if root[DELETED_COLUMN] or root.get("deletedDateTime"):
            continue
        extra = {**scope, "message_id": root["id"]}
        replies = list(root.get("replies") or [])
        link = root.get("replies@odata.nextLink")
        if isinstance(link, str):
            replies += [item for page in ctx.client.iter_pages(link) for item in page.get("value", [])]
        rows_of(ctx, replies, ctx.entity.path.format(**scope), extra)  # every reply has its key
        rows += [row for item in replies if not (row := message_row(item, extra))[DELETED_COLUMN]]
    if rows:
        yield Rows(rows)


def read_channel_list(ctx: ReadContext) -> Iterator[Event]:
    """A collection under every channel of every team (channel members), read whole; first pages of 20 channels
    per ``$batch``."""
    entity = ctx.entity
    channels = ctx.tenant.channels()
    paths = {"/".join(channel): entity.path.format(**_channel_scope(channel)) for channel in channels}
    firsts = batch_first_pages(ctx, paths) if len(channels) > 1 else {}

    def work(channel: Channel) -> Iterator[Event]:
        key = "/".join(channel)
        first = firsts.get(key)
        if isinstance(first, GraphError):
            raise first
        for page in ctx.client.iter_pages(paths[key], params=None, first=first):
            yield Rows(rows_of(ctx, page.get("value", []), paths[key], _channel_scope(channel)))

    return per_channel(ctx, work)


READERS: dict[ReaderName, Callable[[ReadContext], Iterator[Event]]] = {
    "directory_delta": read_directory_delta,
    "members_delta": read_members_delta,
    "list": read_list,
    "date_cursor": read_date_cursor,
    "mailbox_delta": read_mailbox_delta,
    "messages_delta": read_messages_delta,
    "contacts_delta": read_contacts_delta,
    "calendar_view_delta": read_calendar_view_delta,
    "drive_delta": read_drive_delta,
    "mailbox_list": read_mailbox_list,
    "attachments": read_attachments,
    "parent_list": read_parent_list,
    # the same reader under the names the rows used before it was one (kept so rows using them keep working)
    "group_list": read_parent_list,
    "plan_tasks": read_parent_list,
    "team_list": read_parent_list,
    "business_list": read_parent_list,
    # ---- sharepoint ----
    "sites": read_sites,
    "site_list": read_site_list,
    "site_drives": read_site_drives,
    "list_items_delta": read_list_items_delta,
    "library_delta": read_library_delta,
    "report_snapshot": read_report_snapshot,
    # ---- teams messages and members ----
    "channel_messages_delta": read_channel_messages_delta,
    "channel_replies_delta": read_channel_replies_delta,
    "channel_list": read_channel_list,
}
