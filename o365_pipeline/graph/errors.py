"""Errors raised by the Graph client, carrying Graph's error code (branch on codes, never messages)."""

from __future__ import annotations

import re

_RESYNC = re.compile(r"syncstatenotfound|resync", re.IGNORECASE)


class GraphError(Exception):
    """A Graph request failed for good (after retries).

    Attributes:
        status: HTTP status code (0 for a transport failure).
        code: Graph's ``error.code`` (``ErrorAccessDenied``, ``MailboxNotEnabledForRESTAPI``, ...).
        path: the request path without its query string (no tokens, no secrets).
        location: the ``Location`` header of a 410 answer, if any.
    """

    def __init__(self, status: int, code: str, message: str, path: str, location: str | None = None) -> None:
        super().__init__(f"Graph {status} {code} on {path}: {message}")
        self.status = status
        self.code = code
        self.path = path
        self.location = location

    @property
    def is_delta_expired(self) -> bool:
        """True when a delta/sync token is no longer valid and the stream must start over."""
        return self.status == 410 or bool(_RESYNC.search(self.code or ""))

    @property
    def is_mailbox_unavailable(self) -> bool:
        """True for a mailbox or drive the app may not read: skip it, do not fail the run."""
        return self.code in {"MailboxNotEnabledForRESTAPI", "ErrorAccessDenied", "ResourceNotFound"} or (
            self.status == 403
        )


class Cancelled(Exception):
    """The sync is stopping (an entity failed, or the run was interrupted): no further request is sent."""

    def __init__(self) -> None:
        super().__init__("the sync is stopping: request not sent")


class SchemaChangeError(Exception):
    """Graph sent a value whose type does not fit a raw column's frozen type; nothing of the run was loaded.

    Attributes:
        table: the raw table (a child table's root entity).
        column: the column whose type changed.
    """

    def __init__(self, dataset: str, table: str, column: str, stored: str, sent: str) -> None:
        entity = table.split("__")[0]
        super().__init__(
            f"schema change in {dataset}.{table}.{column}: Graph sent {sent} where the column holds {stored}; "
            f"nothing was loaded. Rebuild the table with `o365-pipeline sync --full-refresh --entities {entity}` "
            f"(Dagster: materialize o365_raw/{entity} with run config full_refresh: true); a column the entity "
            f"declares (graph/entities.py) needs its declared type changed first"
        )
        self.table = table
        self.column = column


class MissingKeyError(Exception):
    """Graph sent an item without its key (``id``): it can be neither stored nor merged, so the run fails before
    anything is loaded and the delta state stays where it was (the next run reads the same changes again)."""

    def __init__(self, entity: str, request: str) -> None:
        super().__init__(
            f"{entity}: Graph sent an item without its id (GET {request}); nothing of this run was loaded and the "
            f"next run reads the same changes again; if this persists, leave {entity} out of O365_ENTITIES"
        )
        self.entity = entity
        self.request = request
