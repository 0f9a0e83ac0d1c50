"""The dlt source: one resource per entity of :data:`ENTITIES`, each fed by its reader (:mod:`.readers`).

Delta entities keep their deltaLinks (one per stream: per mailbox, folder, drive) in dlt resource state,
which dlt commits together with the loaded rows: a crashed run neither skips nor repeats changes. Rows
removed upstream carry ``is_deleted = true``, a dlt ``hard_delete`` column, so the merge deletes them:
deleted upstream means gone from the raw table.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import dlt
import orjson
import pyarrow as pa
from dlt.common.configuration.container import Container
from dlt.common.normalizers.naming.snake_case import NamingConvention as SnakeCaseNaming
from dlt.extract.resource import DltResource
from dlt.extract.source import SourceInjectableContext

from .arrow_rows import LAYOUTS, SEQUENCE_COLUMN, ArrowLayout, TypeMismatch
from .client import GraphClient, RequestStats
from .early_pages import EarlyPages
from .entities import ENTITIES, PROTECTED_PERMISSIONS, Entity, select_entities
from .errors import Cancelled, SchemaChangeError
from .fanout import TaskCount, in_background
from .feed import ParentFeed, publish, ride
from .folder_feed import FOLDER_TABLES, FolderFeed, publish_folders
from .id_types import IMMUTABLE, IdType, preferences
from .link_state import load_links, store_links
from .readers import (
    DELETED_COLUMN,
    FOLDERS,
    READERS,
    UNREADABLE,
    Denied,
    Drop,
    Event,
    Forget,
    KeepState,
    Readable,
    ReadContext,
    Rows,
    Skipped,
    current_links,
    delta_headers,
    denied_as_event,
    link_owner,
    prefetch,
)
from .tenant import Tenant

log = logging.getLogger(__name__)

ARROW_CONVERT_ROWS = 1000  # rows per conversion to Arrow (small pages gathered first)
ARROW_BATCH_ROWS = 5000  # rows per Arrow table handed to dlt: its per-item cost amortized, memory bounded

_NAMING = SnakeCaseNaming()
SCHEMA_CONTRACT: Any = {"data_type": "freeze"}
"""New tables and columns are inferred as they come; a column's type, once set, never changes: a value that
does not fit it fails the run (:class:`~.errors.SchemaChangeError`) instead of adding a variant column."""


@dataclass(frozen=True)
class EntityProgress:
    """An entity's figures so far, read from the live counters while its extraction runs."""

    rows: int
    requests: int
    pages: int
    parents_done: int
    parents_total: int
    seconds: float
    started: bool
    finished: bool


@dataclass
class EntityStats:
    """What one entity's extraction did: the figures logged and shown on each materialization.

    While the extraction runs, ``rows`` grows as pages arrive, ``live`` holds the entity's request counters
    and ``parents`` counts the mailboxes (or groups, plans, ...) done: :meth:`progress` reads them.
    """

    rows: int = 0
    deleted: int = 0
    pages: int = 0
    requests: int = 0
    throttled: int = 0
    retries: int = 0
    bytes: int = 0
    seconds: float = 0.0
    skipped: int = 0
    denied: Denied | None = None  # Graph refused the entity (403): not read, its state kept
    parents: TaskCount = field(default_factory=TaskCount, repr=False, compare=False)
    live: RequestStats | None = field(default=None, repr=False, compare=False)
    started: float | None = field(default=None, repr=False, compare=False)
    finished: bool = field(default=False, repr=False, compare=False)

    def progress(self) -> EntityProgress:
        """The figures so far (safe to call from another thread while the extraction runs)."""
        live, started = self.live, self.started
        counted = live.snapshot() if live is not None else {}
        if self.finished or started is None:
            seconds = self.seconds
        else:
            seconds = self.seconds + time.perf_counter() - started
        return EntityProgress(
            rows=self.rows,
            requests=self.requests + counted.get("requests", 0),
            pages=self.pages + counted.get("pages", 0),
            parents_done=self.parents.done,
            parents_total=self.parents.total,
            seconds=seconds,
            started=started is not None,
            finished=self.finished,
        )

    def as_metadata(self) -> dict[str, int | float]:
        """Plain figures for Dagster metadata and the CLI table."""
        return {
            "rows": self.rows,
            "deleted": self.deleted,
            "pages": self.pages,
            "requests": self.requests,
            "throttled": self.throttled,
            "retries": self.retries,
            "bytes": self.bytes,
            "skipped": self.skipped,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class SyncRun:
    """One sync: the Graph client it uses, the tenant's parents, and the figures each entity produced."""

    client: GraphClient | None
    users: Sequence[str] = ()
    shard: Callable[[str], bool] | None = None  # a mailbox shard's membership test (user id); None: every mailbox
    # mailboxes (groups, plans, ...) an entity reads at once (0: half the client's requests in flight, at least
    # 16): each mailbox is read one request after another, so against Graph's latency the requests in flight
    # grow with the mailboxes read at once; 8 left a throttled bench run at ~45% of its overall limit
    workers: int = 0
    file_format: str = "parquet"  # dlt's load files; "insert_values" for Postgres, which takes no parquet
    outlook_ids: IdType = IMMUTABLE  # the id type every Outlook request asks for (the database's: outlook_ids.py)
    stats: dict[str, EntityStats] = field(default_factory=dict)
    feeds: dict[str, ParentFeed] = field(default_factory=dict, repr=False)  # by parent entity name
    folder_feeds: dict[str, FolderFeed] = field(default_factory=dict, repr=False)  # by folder table name
    early: EarlyPages | None = field(default=None, repr=False)  # first pages asked before dlt started
    _views: dict[str, GraphClient] = field(default_factory=dict, repr=False)
    _tenant: Tenant | None = field(default=None, repr=False)
    _sequence: int = field(default=0, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.workers <= 0:
            in_flight = self.client.max_in_flight if self.client is not None else 16
            self.workers = max(16, in_flight // 2)

    def require_client(self) -> GraphClient:
        """The client; a source built for definitions only has none and must not be run."""
        if self.client is None:
            raise RuntimeError("this o365 source was built without a Graph client; build a fresh one per run")
        return self.client

    def view(self, entity: str) -> GraphClient:
        """The client as one entity uses it: its own request counters, the same for the whole run."""
        with self._lock:
            if entity not in self._views:
                self._views[entity] = view = self.require_client().view()
                view.prefer = preferences(ENTITIES[entity], self.outlook_ids) if entity in ENTITIES else ()
            return self._views[entity]

    @property
    def tenant(self) -> Tenant:
        """Users, groups, plans, teams and businesses, listed once for every resource of the run."""
        with self._lock:
            if self._tenant is None:
                self._tenant = Tenant(self.require_client(), self.users, owns=self.shard)
            return self._tenant

    def feed(self, parent: str) -> ParentFeed:
        """The hand-over from ``parent``'s reader to its attachment table's reader (the same one for both)."""
        with self._lock:
            return self.feeds.setdefault(parent, ParentFeed(parent))

    def folder_feed(self, folder_table: str) -> FolderFeed:
        """The hand-over from a folder table's reader to its content table's reader (the same one for both)."""
        with self._lock:
            return self.folder_feeds.setdefault(folder_table, FolderFeed(folder_table))

    def cancel(self) -> None:
        """The run is failing (an entity failed, or dlt closed the extraction early): every other reader stops
        now (no new request, every hand-over between readers ends) instead of reading on or waiting forever."""
        if self.client is not None:
            self.client.cancel()
        with self._lock:
            feeds: list[ParentFeed | FolderFeed] = [*self.feeds.values(), *self.folder_feeds.values()]
        for feed in feeds:
            feed.stop(Cancelled())

    def numbers(self, count: int) -> int:
        """Reserve ``count`` numbers of the growing sequence that orders replays; returns the first."""
        with self._lock:
            first = self._sequence
            self._sequence += count
        return first

    def number(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Stamp rows with a growing number, so the last copy of a replayed item wins the merge."""
        first = self.numbers(len(rows))
        for offset, row in enumerate(rows):
            row[SEQUENCE_COLUMN] = first + offset
        return rows

    def table(self, layout: ArrowLayout, rows: list[dict[str, Any]], *, stored: bool = False) -> pa.Table:
        """Rows as one numbered Arrow table (the fast path of the big entities).

        Raises:
            SchemaChangeError: a value does not fit its column's type (the schema contract).
        """
        try:
            return layout.table(rows, self.numbers(len(rows)), stored=stored)
        except TypeMismatch as exc:
            pipeline = dlt.current.pipeline()
            raise SchemaChangeError(pipeline.dataset_name, layout.name, exc.column, exc.stored, exc.sent) from exc


def column_hints(entity: Entity) -> dict[str, dict[str, Any]]:
    """dlt column hints: the entity's declared columns, the hard-delete flag and the replay order."""
    layout = LAYOUTS.get(entity.name)
    hints: dict[str, dict[str, Any]] = (
        layout.hints()
        if layout
        else {
            _NAMING.normalize_identifier(name): {"data_type": data_type, "nullable": True}
            for name, data_type in entity.columns.items()
            if name != "id"
        }
    )
    # every table is merged, replace tables too (written as a :class:`Snapshot` diff)
    hints[DELETED_COLUMN] = {"data_type": "bool", "hard_delete": True}
    hints[SEQUENCE_COLUMN] = {"data_type": "bigint", "dedup_sort": "desc"}
    return hints


def primary_key(entity: Entity) -> tuple[str, ...]:
    """``(user_id, id)`` where Graph ids are per mailbox, else ``id``."""
    return entity.key_columns


class StoredRows:
    """The rows already stored in one raw table, queried through a single connection opened on first use.

    A table that does not exist yet (first run) holds nothing: that is checked once, not once per drop.
    """

    def __init__(self, table: str, keys: Sequence[str] = ("id",)) -> None:
        self.table = table
        self.keys = tuple(keys)  # a deletion row carries the whole primary key
        self._stack = contextlib.ExitStack()
        self._client: Any = None
        self._exists: bool | None = None

    def _open(self) -> bool:
        if self._exists is None:
            client = self._stack.enter_context(dlt.current.pipeline().sql_client())
            self._client = client
            try:
                client.execute_sql(f"select 1 from {client.make_qualified_table_name(self.table)} limit 0")
                self._exists = True
            except Exception as exc:  # first run: the table does not exist yet, nothing stored to drop
                if "does not exist" not in str(exc):
                    raise
                self._exists = False
        return self._exists

    def _owned_gone(self, drop: Drop) -> Drop:
        """A shard's "parents not in ``parents``" as the list of its own stored parents gone: the other shards'
        rows are not this run's to judge (one distinct-parents query, only when the shard's users changed)."""
        assert drop.owned is not None and drop.parent_column
        name = self._client.make_qualified_table_name(self.table)
        stored = self._client.execute_sql(f"select distinct {drop.parent_column} from {name}") or []
        keep = set(drop.parents)
        gone = sorted(row[0] for row in stored if row[0] is not None and row[0] not in keep and drop.owned(row[0]))
        return Drop.children_of(drop.scope, drop.parent_column, gone)

    def deletion_rows(self, drop: Drop) -> list[dict[str, Any]]:
        """Deletion rows for the stored rows a :class:`Drop` covers."""
        if not self._open():
            return []
        if drop.owned is not None and drop.other_parents and drop.parent_column:
            drop = self._owned_gone(drop)
            if not drop.parents:
                return []
        named = [*drop.scope, *([drop.parent_column] if drop.parent_column else [])]
        columns = list(dict.fromkeys([*named, *(key for key in self.keys if key != "id")]))
        where = [f"{column} = %s" for column in drop.scope]
        args: list[Any] = list(drop.scope.values())
        if drop.parent_column and not (drop.other_parents and not drop.parents and drop.parents_in):
            placeholders = ", ".join(["%s"] * len(drop.parents)) or "null"
            where.append(f"{drop.parent_column} {'not in' if drop.other_parents else 'in'} ({placeholders})")
            args += list(drop.parents)
        if drop.parent_column and drop.parents_in:  # parents a resynced stream of the parent table covers
            table, within = drop.parents_in
            scope = {**drop.scope, **within}
            parents = f"select id from {self._client.make_qualified_table_name(table)}"
            where.append(f"{drop.parent_column} in ({parents} where {' and '.join(f'{c} = %s' for c in scope)})")
            args += list(scope.values())
        name = self._client.make_qualified_table_name(self.table)
        query = f"select {', '.join(['id', *columns])} from {name}"
        rows = self._client.execute_sql(query + (f" where {' and '.join(where)}" if where else ""), *args) or []
        return [
            {"id": row[0], **dict(zip(columns, row[1:], strict=True)), DELETED_COLUMN: True}
            for row in rows
            if row[0] not in drop.keep
        ]

    def close(self) -> None:
        """Close the connection, if one was opened."""
        self._stack.close()


class Snapshot:
    """A table read whole every run (no delta, no cursor), compared row by row with what the last run loaded.

    Only new and changed rows are written, and rows no longer returned are deleted: an unchanged table loads
    nothing. The hash of every row as loaded lives in the resource state (committed with the load).
    """

    STATE_KEY = "hashes"

    def __init__(self, entity: Entity, previous: Mapping[str, str] | None) -> None:
        self._keys = primary_key(entity)
        self.previous = dict(previous or {})
        self.current: dict[str, str] = {}

    def _key(self, row: Mapping[str, Any]) -> str:
        """The row's key as stored: ``id``, ``user_id id``, ``team_id channel_id id`` (the id last: it may hold
        spaces, the other columns do not)."""
        if self._keys == ("id",):
            return str(row["id"])
        return " ".join(str(row.get(column)) for column in self._keys)

    def changed(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The rows that are new or differ from the last run's."""
        out = []
        for row in rows:
            key = self._key(row)
            digest = hashlib.blake2b(orjson.dumps(row, option=orjson.OPT_SORT_KEYS), digest_size=8).hexdigest()
            self.current[key] = digest
            if self.previous.get(key) != digest:
                out.append(row)
        return out

    def gone(self, unread: Callable[[str], bool] = lambda user_id: False) -> list[dict[str, Any]]:
        """Deletion rows for what the last run loaded and this one did not return.

        A per-user table keeps the rows of mailboxes this run did not read (``unread(user_id)``: outside
        ``O365_USERS``, or skipped as unreadable): they are carried over, not deleted.
        """
        rows: list[dict[str, Any]] = []
        for key in self.previous.keys() - self.current.keys():
            values = dict(zip(self._keys, key.split(" ", len(self._keys) - 1), strict=True))
            if "user_id" in values and unread(values["user_id"]):
                self.current[key] = self.previous[key]
                continue
            rows.append({**values, DELETED_COLUMN: True})
        return rows


def _quiet_json_hints(record: logging.LogRecord) -> bool:
    """Drop dlt's per-table warning that an Arrow text column is hinted JSON: it is, on purpose (the
    JSON columns of :mod:`.arrow_rows` arrive as their text and are stored as JSON)."""
    return "when merging arrow schema with dlt schema" not in record.getMessage()


class PendingTables:
    """Rows of the Arrow path on their way to dlt: converted ``ARROW_CONVERT_ROWS`` at a time (Arrow's cost is
    per call and pages are often small), handed over ``ARROW_BATCH_ROWS`` at a time (dlt's cost is per item)."""

    def __init__(self, layout: ArrowLayout, run: SyncRun) -> None:
        self._layout, self._run = layout, run
        self._rows: list[dict[str, Any]] = []
        self._tables: list[pa.Table] = []
        self._count = 0

    def add(self, rows: list[dict[str, Any]], *, stored: bool = False) -> pa.Table | None:
        """Keep ``rows`` (``stored``: read back from the raw table); returns everything kept as one table once
        that is enough rows."""
        if stored:
            self._convert()  # rows read before keep their place in the replay order
            self._tables.append(self._run.table(self._layout, rows, stored=True))
            self._count += len(rows)
        else:
            self._rows += rows
            if len(self._rows) >= ARROW_CONVERT_ROWS:
                self._convert()
        return self.take() if self._count >= ARROW_BATCH_ROWS else None

    def _convert(self) -> None:
        if not self._rows:
            return
        try:
            table = self._run.table(self._layout, self._rows)
        except SchemaChangeError as exc:
            mismatch = exc.__cause__
            if not isinstance(mismatch, TypeMismatch) or not self._retype(mismatch.column):
                raise
            table = self._run.table(self._layout, self._rows)
        self._tables.append(table)
        self._count += len(self._rows)
        self._rows = []

    def _retype(self, column: str) -> bool:
        """Store ``column`` as text from now on when no stored table holds its type yet (a new table, a full
        refresh): the schema contract freezes stored types only. Returns whether it did."""
        stored = dlt.current.source_schema().tables.get(self._layout.name, {}).get("columns", {})
        if self._layout.declares(column) or stored.get(column, {}).get("data_type"):
            return False
        self._layout = self._layout.widened(column)
        self._tables = [
            t.set_column(t.schema.get_field_index(column), column, t[column].cast(pa.string())) for t in self._tables
        ]
        return True

    def take(self) -> pa.Table | None:
        """Everything kept, as one table (None when nothing is)."""
        self._convert()
        if not self._tables:
            return None
        table = pa.concat_tables(self._tables)
        self._tables, self._count = [], 0
        return table


def _unread_owners(run: SyncRun, skipped: set[str]) -> Callable[[str], bool]:
    """Whether a user's mailbox was left unread by this run: skipped, or outside a restricted run's users."""
    if not run.tenant.restricted:
        return skipped.__contains__
    covered: set[str] = set()

    def unread(user_id: str) -> bool:  # the users are listed on first use only (a per-user table)
        if not covered:
            covered.update(user.id for user in run.tenant.users_for_content())
        return user_id in skipped or user_id not in covered

    return unread


def _read(context: ReadContext, early: EarlyPages | None) -> Iterator[Event]:
    """The entity's reader, after the first pages of its stored deltaLinks (20 per ``$batch``; those asked
    before dlt started taken first): on the reader's thread, so the entities of a no-change sync (one page per
    stream) ask Graph at once, not one after another."""
    links = current_links(context)
    pages = early.take(context.entity.name, links) if early is not None else {}
    rest = {key: link for key, link in links.items() if key not in pages}
    if context.folders is not None:  # the folder lists come from the folder table's rounds
        rest = {key: link for key, link in rest.items() if not key.endswith(f"/{FOLDERS}")}
    context.prefetched = pages | prefetch(context.client, rest, delta_headers(context.entity), context.workers)
    yield from READERS[context.entity.reader](context)


def _selected() -> set[str]:
    """Names of the resources this extraction runs (a Dagster run of some assets selects a subset)."""
    return set(Container()[SourceInjectableContext].source.selected_resources)


def _riding(entity: Entity, run: SyncRun) -> tuple[ParentFeed | None, ParentFeed | None]:
    """(the feed ``entity`` rides on, the feed it publishes to): set when its parent or child runs too."""
    selected = _selected()
    rides = run.feed(entity.parent) if entity.parent and entity.parent in selected else None
    child = next((e for e in ENTITIES.values() if e.parent == entity.name and e.name in selected), None)
    return rides, run.feed(entity.name) if child else None


def _sharing_folders(entity: Entity, run: SyncRun) -> tuple[FolderFeed | None, FolderFeed | None]:
    """(the folder rounds ``entity`` reads its folder lists from, the feed it publishes its rounds to): set when
    the folder table and its content table both run."""
    selected = _selected()
    folder_table = FOLDER_TABLES.get(entity.name)
    takes = run.folder_feed(folder_table) if folder_table in selected else None
    content = next((name for name, table in FOLDER_TABLES.items() if table == entity.name), None)
    return takes, run.folder_feed(entity.name) if content in selected else None


Output = list[dict[str, Any]] | pa.Table  # rows numbered for dlt, or an Arrow table of the big entities


@dataclass
class _Fold:
    """What an entity's reader events fold into on dlt's thread: rows to hand dlt, the links and state to keep,
    the figures. One handler per event kind; a handler returns what to yield (``None``: nothing)."""

    entity: Entity
    run: SyncRun
    links: dict[str, str]
    state: Any  # the resource's dlt state (a dict)
    stats: EntityStats
    stored: StoredRows
    snapshot: Snapshot | None
    pending: PendingTables | None
    skipped: set[str] = field(default_factory=set)

    def handle(self, event: Event) -> Output | None:
        """The event's handler; an event of no handler's kind changes nothing."""
        for kind, handler in self._handlers():
            if isinstance(event, kind):
                return handler(event)
        return None

    def _handlers(self) -> tuple[tuple[type, Callable[[Any], Output | None]], ...]:
        return (
            (Rows, self.on_rows),
            (KeepState, self.on_keep_state),
            (Drop, self.on_drop),
            (Skipped, self.on_skipped),
            (Readable, self.on_readable),
            (Forget, self.on_forget),
            (Denied, self.on_denied),
        )

    def _out(self, rows: list[dict[str, Any]], stored: bool = False) -> Output | None:
        """Rows numbered for dlt, or gathered into Arrow tables (a full one when ready) for the big entities."""
        if not rows:
            return None
        if self.pending is None:
            return self.run.number(rows)
        return self.pending.add(rows, stored=stored)

    def on_rows(self, event: Rows) -> Output | None:
        rows = self.snapshot.changed(event.rows) if self.snapshot else event.rows
        self.stats.rows += len(rows)
        self.stats.deleted += sum(1 for row in rows if row[DELETED_COLUMN])
        return self._out(rows) or None

    def on_keep_state(self, event: KeepState) -> None:
        (self.links if event.section == "links" else self.state)[event.key] = event.value

    def on_drop(self, event: Drop) -> Output | None:
        if self.entity.strategy == "replace":  # a replace keeps nothing stored
            return None
        rows = self.stored.deletion_rows(event)
        self.stats.deleted += len(rows)
        return self._out(rows, stored=True) or None

    def on_skipped(self, event: Skipped) -> None:
        self.stats.skipped += 1
        self.skipped.add(event.owner)
        if event.since is not None:
            self.state.setdefault(UNREADABLE, {})[event.owner] = {"code": event.code, "since": event.since}

    def on_readable(self, event: Readable) -> None:
        self.state.get(UNREADABLE, {}).pop(event.owner, None)

    def on_forget(self, event: Forget) -> None:
        self.links = {key: link for key, link in self.links.items() if link_owner(key) not in event.owners}
        for owner in event.owners:
            self.state.get(UNREADABLE, {}).pop(owner, None)

    def on_denied(self, event: Denied) -> None:
        self.stats.denied = event


def _extract(entity: Entity, run: SyncRun) -> Iterator[list[dict[str, Any]] | pa.Table]:
    """Run the entity's reader; turn its events into rows (Arrow tables for the big entities), state and figures
    on this (dlt's) thread."""
    layout = LAYOUTS.get(entity.name)
    client = run.view(entity.name)
    state = dlt.current.resource_state()
    links = load_links(state)
    stats = run.stats.setdefault(entity.name, EntityStats())
    started = time.perf_counter()
    stats.live, stats.started, stats.finished = client.stats, started, False
    context = ReadContext(
        entity, client, run.tenant, dict(links), dict(state), workers=run.workers, parents=stats.parents
    )
    rides, publishes = _riding(entity, run)
    folders, shares = _sharing_folders(entity, run)
    context.folders = folders
    if rides is None:
        reader = _read(context, run.early)
    else:  # a rider asks no delta of its own, unless it must catch up to where its parent's links start
        behind = entity.parent is not None and links != load_links(dlt.current.resource_state(entity.parent))
        reader = ride(context, rides, _read(context, run.early) if behind else None)
    if shares is not None:  # each mailbox's folder round handed to the content table's reader
        reader = publish_folders(reader, shares, dict(links))
    reader = denied_as_event(entity, reader)
    events = in_background(publish(reader, publishes) if publishes else reader, cancelled=client.cancelled)
    stored = StoredRows(entity.name, entity.key_columns)
    snapshot = Snapshot(entity, state.get(Snapshot.STATE_KEY)) if entity.strategy == "replace" else None
    pending = PendingTables(layout, run) if layout else None
    fold = _Fold(entity, run, links, state, stats, stored, snapshot, pending)
    try:
        for event in events:
            if event is None:  # nothing ready: dlt goes on with the other entities' pages
                yield None
            elif (out := fold.handle(event)) is not None:
                yield out
        if stats.denied is None:
            store_links(state, fold.links)  # once, when every stream is read (dlt commits state with the rows)
        if pending is not None and (rest := pending.take()):
            yield rest
        if snapshot and stats.denied is None:  # a table not read whole deletes nothing
            gone = snapshot.gone(_unread_owners(run, fold.skipped))
            state[Snapshot.STATE_KEY] = snapshot.current
            stats.deleted += len(gone)
            if gone:
                yield run.number(gone)
    except BaseException:
        run.cancel()  # this entity failing fails the whole extraction: the others stop at once
        raise
    finally:
        if publishes is not None:  # before closing the reader: a hand-over waiting on a full feed ends
            publishes.stop()
        if rides is not None:
            rides.abandon()
        if shares is not None:
            shares.stop()
        if folders is not None:
            folders.abandon()
        events.close()
        stored.close()
        stats.live = None  # its figures move into the totals below
        stats.requests += client.stats.requests
        stats.pages += client.stats.pages
        stats.throttled += client.stats.throttled
        stats.retries += client.stats.retries
        stats.bytes += client.stats.bytes
        stats.seconds += time.perf_counter() - started
        stats.finished = True
    if stats.skipped:
        log.warning("%s: skipped %d mailboxes/parents that cannot be read", entity.name, stats.skipped)
    if stats.denied is not None:
        log.warning("%s", denied_line(entity.name, stats.denied))


def denied_line(entity: str, denied: Denied) -> str:
    """One line for an entity Graph refused: what was refused and the permission to grant."""
    protected = (
        " (a protected Teams API: Microsoft must also approve the app's request form, see docs/AUTHENTICATION.md)"
        if denied.permission in PROTECTED_PERMISSIONS
        else ""
    )
    return (
        f"{entity}: not read: Graph refused {denied.path} ({denied.code}); the app needs the permission "
        f"{denied.permission}{protected}: grant it, or leave the entity out with O365_ENTITIES"
    )


def build_resource(entity: Entity, run: SyncRun) -> DltResource:
    """The dlt resource of one entity: merge on its key (tables read whole as a :class:`Snapshot` diff)."""
    disposition: Any = {"disposition": "merge", "strategy": "delete-insert"}
    return dlt.resource(
        _extract(entity, run) if run.client is not None else iter(()),
        name=entity.name,
        table_name=entity.name,
        primary_key=primary_key(entity),
        write_disposition=disposition,
        columns=column_hints(entity),
        file_format=run.file_format,  # parquet: dlt's default insert_values is ~4x slower and ~9x hungrier
    )


@dlt.source(name="o365", max_table_nesting=1, schema_contract=SCHEMA_CONTRACT)
def o365_source(run: SyncRun, entities: Sequence[str] = ()) -> list[DltResource]:
    """Office 365 data from Microsoft Graph, one resource per entity (``O365_ENTITIES`` selects).

    Args:
        run: the sync this source belongs to (client, parents, figures). Build a fresh source and run for
            every pipeline run: dlt resources are single-use generators.
        entities: raw table names to include; empty means all.
    """
    # Arrow tables get dlt's `_dlt_load_id` and `_dlt_id` as every other row does
    dlt.config["normalize.parquet_normalizer.add_dlt_load_id"] = True
    dlt.config["normalize.parquet_normalizer.add_dlt_id"] = True
    logging.getLogger("dlt").addFilter(_quiet_json_hints)
    return [build_resource(entity, run) for entity in select_entities(tuple(entities))]
