"""The dlt source: one resource per entity of :data:`ENTITIES`, reading Graph through :class:`GraphClient`.

Delta entities keep their deltaLink in dlt resource state, which dlt commits together with the loaded
rows: a crashed run neither skips nor repeats changes. Rows removed upstream (``@removed``) are written
with ``is_deleted = true``, a dlt ``hard_delete`` column, so the merge deletes them from the raw table.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import dlt
from dlt.common.normalizers.naming.snake_case import NamingConvention as SnakeCaseNaming
from dlt.extract.resource import DltResource

from .client import GraphClient
from .entities import Entity, select_entities

_NAMING = SnakeCaseNaming()
DELETED_COLUMN = "is_deleted"
SEQUENCE_COLUMN = "sync_seq"


@dataclass
class EntityStats:
    """What one entity's extraction did: the figures logged and shown on each materialization."""

    rows: int = 0
    deleted: int = 0
    pages: int = 0
    requests: int = 0
    throttled: int = 0
    seconds: float = 0.0
    skipped_users: int = 0

    def as_metadata(self) -> dict[str, int | float]:
        """Plain figures for Dagster metadata and the CLI table."""
        return {
            "rows": self.rows,
            "deleted": self.deleted,
            "pages": self.pages,
            "requests": self.requests,
            "throttled": self.throttled,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class SyncRun:
    """One sync: the Graph client it uses and the figures each entity produced."""

    client: GraphClient | None
    stats: dict[str, EntityStats] = field(default_factory=dict)
    _sequence: Iterator[int] = field(default_factory=itertools.count, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def require_client(self) -> GraphClient:
        """The client; a source built for definitions only has none and must not be run."""
        if self.client is None:
            raise RuntimeError("this o365 source was built without a Graph client; build a fresh one per run")
        return self.client

    def next_sequence(self) -> int:
        """A number that grows with every row, so the last copy of a replayed item wins the merge."""
        with self._lock:
            return next(self._sequence)


def _row(item: dict[str, Any], run: SyncRun) -> dict[str, Any]:
    removed = "@removed" in item
    row = {"id": item["id"], DELETED_COLUMN: True} if removed else {**item, DELETED_COLUMN: False}
    row[SEQUENCE_COLUMN] = run.next_sequence()
    return row


def _complete(entity: Entity, client: GraphClient, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Replace partial update entries (selected properties missing) with the full item, read via ``$batch``."""
    if not entity.item_path or not entity.select:
        return items
    select = ",".join(entity.select)
    partial = {
        item["id"]: entity.item_path.format(id=item["id"]) + f"?$select={select}"
        for item in items
        if "@removed" not in item and not all(name in item for name in entity.select)
    }
    if not partial:
        return items
    full = client.batch_get(list(partial.values()))
    return [full.get(partial[item["id"]], item) if item["id"] in partial else item for item in items]


def _delta_rows(entity: Entity, run: SyncRun) -> Iterator[list[dict[str, Any]]]:
    """Yield one list of rows per delta page; store the new deltaLink in state when the round ends."""
    client = run.require_client()
    state = dlt.current.resource_state()
    stats = run.stats.setdefault(entity.name, EntityStats())
    before = client.stats.snapshot()
    started = time.perf_counter()
    delta_link = state.get("delta_link")
    params: dict[str, str] | None = None
    if delta_link is None:
        params = {}
        if entity.select:
            params["$select"] = ",".join(entity.select)
        if entity.page_size:
            params["$top"] = str(entity.page_size)
    for page in client.iter_delta(delta_link or entity.path, params=params):
        rows = [_row(item, run) for item in _complete(entity, client, page.items)]
        stats.pages += 1
        stats.rows += len(rows)
        stats.deleted += sum(1 for row in rows if row[DELETED_COLUMN])
        if rows:
            yield rows
        if page.delta_link:
            state["delta_link"] = page.delta_link
    after = client.stats.snapshot()
    stats.requests += after["requests"] - before["requests"]
    stats.throttled += after["throttled"] - before["throttled"]
    stats.seconds += time.perf_counter() - started


def column_hints(entity: Entity) -> dict[str, dict[str, Any]]:
    """dlt column hints: the entity's declared columns, the hard-delete flag and the replay order."""
    hints: dict[str, dict[str, Any]] = {
        _NAMING.normalize_identifier(name): {"data_type": data_type, "nullable": True}
        for name, data_type in entity.columns.items()
        if name != "id"
    }
    hints[DELETED_COLUMN] = {"data_type": "bool", "hard_delete": True}
    hints[SEQUENCE_COLUMN] = {"data_type": "bigint", "dedup_sort": "desc"}
    return hints


def build_resource(entity: Entity, run: SyncRun) -> DltResource:
    """The dlt resource of one entity: merge on ``id``, rows flagged deleted removed by the merge."""
    return dlt.resource(
        _delta_rows(entity, run) if run.client is not None else iter(()),
        name=entity.name,
        table_name=entity.name,
        primary_key="id",
        write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        columns=column_hints(entity),
    )


@dlt.source(name="o365", max_table_nesting=1)
def o365_source(run: SyncRun, entities: Sequence[str] = ()) -> list[DltResource]:
    """Office 365 data from Microsoft Graph, one resource per entity (``O365_ENTITIES`` selects).

    Args:
        run: the sync this source belongs to (client, full refresh flag, figures). Build a fresh
            source and run for every pipeline run: dlt resources are single-use generators.
        entities: raw table names to include; empty means all.
    """
    return [build_resource(entity, run) for entity in select_entities(tuple(entities))]
