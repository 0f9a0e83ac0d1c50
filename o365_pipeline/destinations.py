"""dlt's postgres destination with its schema changes one run at a time.

Shard runs load side by side into one database. A run's first load creates the dataset (``CREATE SCHEMA``) and
its tables, a later one adds columns: dlt checks what exists, then issues the DDL, so two runs doing that at the
same moment both try to create the same table and one fails. Here both steps hold a PostgreSQL advisory lock
(one key per database): the second run waits, then finds the tables there and changes only what is left. Loading
rows is not locked: runs insert and merge at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dlt.destinations import postgres
from dlt.destinations.impl.postgres.postgres import PostgresClient

SCHEMA_LOCK = 0x0365_5C4E_0001  # pg_advisory_lock key of o365-pipeline's schema changes


class SchemaLockedPostgresClient(PostgresClient):
    """dlt's Postgres client; creating the dataset and changing the stored schema hold :data:`SCHEMA_LOCK`."""

    @contextmanager
    def _schema_lock(self) -> Iterator[None]:
        # a session lock on the client's own connection (autocommit): held across dlt's DDL transactions
        self.sql_client.execute_sql("select pg_advisory_lock(%s)", SCHEMA_LOCK)
        try:
            yield
        finally:
            self.sql_client.execute_sql("select pg_advisory_unlock(%s)", SCHEMA_LOCK)

    def initialize_storage(self, truncate_tables: Any = None) -> None:
        with self._schema_lock():
            super().initialize_storage(truncate_tables)

    def update_stored_schema(self, *args: Any, **kwargs: Any) -> Any:
        with self._schema_lock():
            return super().update_stored_schema(*args, **kwargs)


class locked_postgres(postgres):  # noqa: N801 (dlt names its destination factories in lower case)
    """``dlt.destinations.postgres`` whose client is :class:`SchemaLockedPostgresClient`; to dlt (its config
    section ``DESTINATION__POSTGRES__*``, the state it keeps) it is the postgres destination."""

    @property
    def destination_type(self) -> str:
        return postgres().destination_type

    @property
    def client_class(self) -> type[PostgresClient]:
        return SchemaLockedPostgresClient
