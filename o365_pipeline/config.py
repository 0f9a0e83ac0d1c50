"""Pipeline settings that are not about authentication: where data goes and what is synced.

Authentication settings live in :mod:`o365_pipeline.auth`. Every setting is an ``O365_*`` environment variable
(see CONTRACT.md section 3); this module reads them once into a typed, validated object.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DUCKDB_PATH = "data/o365.duckdb"
DEFAULT_DATASET = "o365_raw"


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

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PipelineConfig:
        """Read ``O365_DUCKDB_PATH``, ``O365_DATASET``, ``O365_ENTITIES`` and ``O365_USERS``."""
        env = os.environ if environ is None else environ
        dataset = env.get("O365_DATASET", "").strip() or DEFAULT_DATASET
        if not dataset.replace("_", "").isalnum() or dataset[0].isdigit():
            raise SettingError("O365_DATASET", f"{dataset!r} is not a valid schema name (letters, digits, _)")
        path = Path(env.get("O365_DUCKDB_PATH", "").strip() or DEFAULT_DUCKDB_PATH).expanduser()
        return cls(
            duckdb_path=path.resolve(),
            dataset=dataset,
            entities=split_list(env.get("O365_ENTITIES")),
            users=split_list(env.get("O365_USERS")),
        )
