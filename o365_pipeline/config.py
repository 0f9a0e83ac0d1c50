"""Pipeline settings that are not about authentication: where data goes and what is synced.

Authentication settings live in :mod:`o365_pipeline.auth`. Every setting is an ``O365_*`` environment variable
(see CONTRACT.md section 3); this module reads them once into a typed, validated object.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

DEFAULT_DUCKDB_PATH = "data/o365.duckdb"
DEFAULT_DATASET = "o365_raw"
DESTINATIONS = ("duckdb", "postgres")
DEFAULT_DUCKDB_MEMORY_LIMIT = "128MB"  # DuckDB spills beyond it: the sync's peak memory stays flat with tenant size
_MEMORY = re.compile(r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", re.IGNORECASE)
PG_SETTINGS = ("host", "port", "user", "password", "dbname")  # O365_PG_HOST, ... (dbt's postgres target too)


class SettingError(ValueError):
    """A setting has a bad value; the message names the environment variable to fix."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(f"{setting}: {message}")
        self.setting = setting


def split_list(value: str | None) -> tuple[str, ...]:
    """Split a comma list setting into its non-empty, stripped items."""
    return tuple(item.strip() for item in (value or "").split(",") if item.strip())


@dataclass(frozen=True)
class PipelineConfig:
    """Destination and selection settings of a sync."""

    duckdb_path: Path = Path(DEFAULT_DUCKDB_PATH)
    dataset: str = DEFAULT_DATASET
    entities: tuple[str, ...] = ()  # empty = every entity
    users: tuple[str, ...] = ()  # empty = every user
    destination: str = "duckdb"  # or "postgres" (credentials: O365_PG_*, else dlt's own config)
    postgres: Mapping[str, str] | None = None  # O365_PG_* connection settings, when given
    duckdb_memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT  # DuckDB's memory_limit while loading
    # O365_OUTLOOK_ID_TYPE: "immutable" | "regular"; None: the database's (immutable when new): outlook_ids.py
    outlook_id_type: Literal["immutable", "regular"] | None = None

    @property
    def file_format(self) -> str:
        """dlt's load file format: parquet for DuckDB (fastest), insert statements for Postgres."""
        return "parquet" if self.destination == "duckdb" else "insert_values"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PipelineConfig:
        """Read ``O365_DUCKDB_PATH``, ``O365_DATASET``, ``O365_ENTITIES``, ``O365_USERS``, ``O365_DESTINATION``,
        ``O365_DUCKDB_MEMORY_LIMIT``, ``O365_OUTLOOK_ID_TYPE`` and ``O365_PG_*``."""
        env = os.environ if environ is None else environ
        dataset = env.get("O365_DATASET", "").strip() or DEFAULT_DATASET
        if not dataset.replace("_", "").isalnum() or dataset[0].isdigit():
            raise SettingError("O365_DATASET", f"{dataset!r} is not a valid schema name (letters, digits, _)")
        path = Path(env.get("O365_DUCKDB_PATH", "").strip() or DEFAULT_DUCKDB_PATH).expanduser()
        destination = env.get("O365_DESTINATION", "").strip().lower() or "duckdb"
        if destination not in DESTINATIONS:
            raise SettingError("O365_DESTINATION", f"{destination!r} is not one of {', '.join(DESTINATIONS)}")
        memory = env.get("O365_DUCKDB_MEMORY_LIMIT", "").strip() or DEFAULT_DUCKDB_MEMORY_LIMIT
        if not _MEMORY.match(memory):
            raise SettingError("O365_DUCKDB_MEMORY_LIMIT", f"{memory!r} is not a size such as 128MB or 2GB")
        postgres = {
            name: env[f"O365_PG_{name.upper()}"].strip() for name in PG_SETTINGS if env.get(f"O365_PG_{name.upper()}")
        }
        id_type = env.get("O365_OUTLOOK_ID_TYPE", "").strip().lower() or None
        if id_type not in (None, "immutable", "regular"):
            raise SettingError("O365_OUTLOOK_ID_TYPE", f"{id_type!r} is not one of immutable, regular")
        return cls(
            duckdb_path=path.resolve(),
            dataset=dataset,
            entities=split_list(env.get("O365_ENTITIES")),
            users=split_list(env.get("O365_USERS")),
            destination=destination,
            postgres=postgres if "host" in postgres else None,
            duckdb_memory_limit=memory,
            outlook_id_type=id_type,  # type: ignore[arg-type]  # checked just above
        )
