"""Mailbox shards: a tenant's mailboxes split into a fixed number of shards by a stable hash of the mailbox id.

``O365_MAILBOX_SHARDS=N`` makes the per-user raw tables N static Dagster partitions (``shard_00of16`` ...);
each shard run reads the mailboxes the hash gives it, with its own dlt pipeline (its own state), so shard runs
can run side by side on a destination that takes concurrent writers (PostgreSQL). A mailbox created or deleted
upstream lands in or leaves its shard by the hash alone: no partition is added or removed. Changing N gives
every shard a new pipeline name (the count is part of it): the next runs read every mailbox once from scratch,
never from another layout's links.

Graph's per-app budget is shared by every run at once: ``O365_CONCURRENT_RUNS`` (the runs the instance lets run
together) divides ``O365_GRAPH_LIMIT`` so that the runs together stay within it. A mailbox is in one shard and
a shard runs once at a time (the instance's tag limit on ``dagster/partition``), so per-mailbox limits hold as
in a single run.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from .config import SettingError
from .graph.entities import ENTITIES, Entity
from .graph.pacing import Limit, PacingSettings

MAILBOX_SHARDS = "O365_MAILBOX_SHARDS"
CONCURRENT_RUNS = "O365_CONCURRENT_RUNS"
MAX_SHARDS = 4096  # more partitions than this only slows the UI down; a shard of 10 mailboxes is already small
_KEY = re.compile(r"^shard_(\d+)of(\d+)$")


def is_per_mailbox(entity: Entity) -> bool:
    """Whether an entity is read mailbox by mailbox and merged on (user_id, id): what shards (and mailbox
    partitions) split. A per-user table loaded with ``replace`` (calendars) stays whole: one part's load would
    replace every other mailbox's rows."""
    return entity.per_user and entity.strategy != "replace"


MAILBOX_ENTITIES: tuple[str, ...] = tuple(name for name, entity in ENTITIES.items() if is_per_mailbox(entity))


def _whole(setting: str, environ: Mapping[str, str] | None, fallback: int, lowest: int, highest: int) -> int:
    raw = (os.environ if environ is None else environ).get(setting, "").strip()
    if not raw:
        return fallback
    if not raw.isdigit() or not lowest <= int(raw) <= highest:
        raise SettingError(setting, f"{raw!r} is not a whole number from {lowest} to {highest}")
    return int(raw)


def mailbox_shards(environ: Mapping[str, str] | None = None) -> int:
    """``O365_MAILBOX_SHARDS``: how many shards the mailboxes are split into; 0 (the default) = no shards.

    Raises:
        SettingError: naming the setting when it is not a whole number from 0 to 4096.
    """
    return _whole(MAILBOX_SHARDS, environ, 0, 0, MAX_SHARDS)


def concurrent_runs(environ: Mapping[str, str] | None = None, fallback: int | None = None) -> int:
    """``O365_CONCURRENT_RUNS``: the runs calling Graph at once; when unset ``fallback`` (a Dagster run: what its
    instance's run queue allows), else 1.

    Raises:
        SettingError: naming the setting when it is not a whole number from 1 to 1000.
    """
    return _whole(CONCURRENT_RUNS, environ, fallback or 1, 1, 1000)


def shard_of(mailbox: str, count: int) -> int:
    """The shard of a mailbox (user id): SHA-256 of the lower-cased id, modulo ``count``. Stable across
    processes, machines and Python versions (unlike ``hash()``)."""
    digest = hashlib.sha256(mailbox.strip().lower().encode()).digest()
    return int.from_bytes(digest[:8], "big") % count


@dataclass(frozen=True)
class Shard:
    """One of ``count`` shards."""

    index: int
    count: int

    @property
    def key(self) -> str:
        """The Dagster partition key, e.g. ``shard_03of16`` (sorts in index order)."""
        width = len(str(self.count - 1))
        return f"shard_{self.index:0{width}d}of{self.count}"

    def owns(self, mailbox: str) -> bool:
        """Whether a mailbox (user id) belongs to this shard."""
        return shard_of(mailbox, self.count) == self.index

    @classmethod
    def parse(cls, key: str) -> Shard:
        """The shard of a partition key made by :attr:`key`.

        Raises:
            ValueError: the key is not a shard key.
        """
        match = _KEY.match(key)
        if not match or not 0 <= int(match.group(1)) < int(match.group(2)):
            raise ValueError(f"{key!r} is not a shard partition key (shard_<index>of<count>)")
        return cls(int(match.group(1)), int(match.group(2)))


def shard_keys(count: int) -> list[str]:
    """The partition keys of ``count`` shards, in index order."""
    return [Shard(index, count).key for index in range(count)]


def share_of_budget(settings: PacingSettings, runs: int) -> PacingSettings:
    """The pacing of one of ``runs`` runs at once: the per-app limit divided between them (at least one request
    per window each); the per-mailbox limits stay (a mailbox is read by one run at a time)."""
    if runs <= 1:
        return settings
    overall = Limit(max(1, settings.overall.requests // runs), settings.overall.seconds)
    return replace(settings, overall=overall)
