"""The naive baseline: what a first, straightforward sync would do.

One request at a time, Graph's default page sizes, no ``$select``, no delta, no ``$batch`` (attachments read
one message or event at a time), rows handed to dlt as dicts with its default loader. It reads the entities
that hold nearly every row: users, groups and their members, mail folders, messages and their attachments,
events and theirs, contacts, drive items (the emulator lists drives only through root delta: one round).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import dlt

from ..auth import GraphAuth
from ..config import PipelineConfig
from ..graph.client import GraphClient
from ..graph.errors import GraphError


def _items(client: GraphClient, path: str, params: dict[str, str] | None = None) -> Iterator[dict[str, Any]]:
    for page in client.iter_pages(path, params=params):
        for item in page.get("value", []):
            yield {key: value for key, value in item.items() if not key.startswith("@")}


def _per_mailbox(client: GraphClient, users: list[str], table: str) -> Iterator[dict[str, Any]]:
    """Rows of one per-user table, mailboxes that cannot be read skipped."""
    window = dt.datetime.now(dt.UTC)
    start = (window - dt.timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (window + dt.timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for user in users:
        try:
            if table == "mail_folders":
                rows = list(_items(client, f"users/{user}/mailFolders"))
            elif table in ("messages", "message_attachments"):
                rows = list(_items(client, f"users/{user}/messages"))
            elif table in ("events", "event_attachments"):
                rows = list(_items(client, f"users/{user}/events"))
                rows = [r for r in rows if start <= str((r.get("start") or {}).get("dateTime", start)) <= end]
            elif table == "contacts":
                rows = list(_items(client, f"users/{user}/contacts"))
            else:
                rows = list(_items(client, f"users/{user}/drive/root/delta"))
        except GraphError as exc:
            if exc.status in (403, 404) or exc.is_mailbox_unavailable:
                continue
            raise
        if table.endswith("_attachments"):
            parent = "messages" if table == "message_attachments" else "events"
            for row in rows:
                if row.get("hasAttachments"):
                    for item in _items(client, f"users/{user}/{parent}/{row['id']}/attachments"):
                        yield {**item, "user_id": user, "parent_id": row["id"]}
            continue
        for row in rows:
            yield {**row, "user_id": user}


PER_USER = ("mail_folders", "messages", "message_attachments", "events", "event_attachments", "contacts", "drive_items")


def run_naive() -> dict[str, Any]:
    """Read and load the naive way into ``O365_DUCKDB_PATH`` (dataset ``naive``); returns the figures."""
    auth, config = GraphAuth.from_env(), PipelineConfig.from_env()
    auth.validate()
    started = time.perf_counter()
    client = GraphClient(
        auth.endpoints().graph_root,
        lambda force: auth.get_token(force_refresh=force),
        auth.tls_verify(),
        max_in_flight=1,
    )
    with client:
        users = [u["id"] for u in _items(client, "users") if u.get("mail") and u.get("userType") != "Guest"]
        groups = list(_items(client, "groups"))
        counted: dict[str, int] = {}

        def counting(table: str, rows: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
            for row in rows:
                counted[table] = counted.get(table, 0) + 1
                yield row

        def members() -> Iterator[dict[str, Any]]:
            for group in groups:
                for member in _items(client, f"groups/{group['id']}/members"):
                    yield {"group_id": group["id"], "member_id": member["id"]}

        resources = [
            dlt.resource(counting("users", _items(client, "users")), name="users", write_disposition="replace"),
            dlt.resource(counting("groups", iter(groups)), name="groups", write_disposition="replace"),
            dlt.resource(counting("group_members", members()), name="group_members", write_disposition="replace"),
            *(
                dlt.resource(
                    counting(table, _per_mailbox(client, users, table)), name=table, write_disposition="replace"
                )
                for table in PER_USER
            ),
        ]
        pipeline = dlt.pipeline(
            pipeline_name="o365_naive",
            destination=dlt.destinations.duckdb(str(config.duckdb_path)),
            dataset_name="naive",
        )
        pipeline.drop()
        pipeline.run(resources).raise_on_failed_jobs()
        requests = client.stats.requests
    return {
        "rows": sum(counted.values()),
        "requests": requests,
        "seconds": time.perf_counter() - started,
        "entities": counted,
    }
