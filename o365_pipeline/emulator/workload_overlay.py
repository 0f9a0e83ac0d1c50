"""Changes applied on top of generated collections (Planner tasks, conversations, appointments).

Generators derive items from the seed; `Overlay` remembers only what `mutate` changed, per scope
(a plan, a group, a business), so memory grows with mutations, not with the tenant.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .router import GraphError
from .workload_kit import EPOCH_TICKS, TICKS_PER_SECOND, JsonDict, fmt_ticks

OPS = ("create", "update", "delete")


@dataclass
class _Scope:
    created: list[JsonDict] = field(default_factory=list)
    updated: dict[str, JsonDict] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)


class Overlay:
    """Created, updated and deleted items per scope key."""

    def __init__(self) -> None:
        self._scopes: dict[str, _Scope] = {}
        self._lock = threading.Lock()

    def apply(self, scope: str, items: Iterable[JsonDict]) -> list[JsonDict]:
        """``items`` with this scope's updates and deletions applied and creations appended."""
        with self._lock:
            found = self._scopes.get(scope)
            if found is None:
                return list(items)
            kept = [it for it in items if it["id"] not in found.deleted]
            kept.extend(it for it in found.created if it["id"] not in found.deleted)
            return [found.updated.get(it["id"], it) for it in kept]

    def create(self, scope: str, item: JsonDict) -> None:
        """Add a new item to a scope."""
        with self._lock:
            self._scopes.setdefault(scope, _Scope()).created.append(item)

    def update(self, scope: str, item: JsonDict) -> None:
        """Replace an item (matched by id) in a scope."""
        with self._lock:
            self._scopes.setdefault(scope, _Scope()).updated[item["id"]] = item

    def delete(self, scope: str, item_id: str) -> None:
        """Remove an item from a scope."""
        with self._lock:
            self._scopes.setdefault(scope, _Scope()).deleted.add(item_id)


def mutation_time(seq: int) -> str:
    """The (deterministic) timestamp of the change with sequence number ``seq``: after the tenant epoch."""
    return fmt_ticks(EPOCH_TICKS + 86400 * TICKS_PER_SECOND + seq * 37 * TICKS_PER_SECOND)


def run_mutation(
    entity: str,
    op: str,
    count: int,
    rng: random.Random,
    pick_scope: Callable[[random.Random], tuple[str, list[JsonDict]] | None],
    make: Callable[[str, list[JsonDict], random.Random], JsonDict],
    change: Callable[[JsonDict, random.Random], JsonDict],
    overlay: Overlay,
) -> list[str]:
    """Apply ``count`` create/update/delete changes to scopes chosen by ``pick_scope``; returns changed ids.

    Args:
        pick_scope: returns (scope key, its current items) or None when nothing can be changed.
        make: builds a new item for a scope from its current items.
        change: returns an updated copy of an item.
    """
    if op not in OPS:
        raise GraphError(400, "BadRequest", f"{entity}: unknown op {op!r}; use create, update or delete")
    done: list[str] = []
    for _ in range(count * 20):
        if len(done) >= count:
            break
        picked = pick_scope(rng)
        if picked is None:
            break
        scope, items = picked
        if op == "create":
            item = make(scope, items, rng)
            overlay.create(scope, item)
        elif not items:
            continue
        elif op == "update":
            item = change(rng.choice(items), rng)
            overlay.update(scope, item)
        else:
            item = rng.choice(items)
            overlay.delete(scope, item["id"])
        done.append(item["id"])
    return done


def copy_with(item: JsonDict, **changes: Any) -> JsonDict:
    """A shallow copy of ``item`` with ``changes``."""
    return {**item, **changes}
