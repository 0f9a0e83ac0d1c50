"""Shared Graph helpers: JSON rendering, error bodies, $select shapes, signed page/delta tokens, collections."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from .router import GraphError

DIRECTORY = "directory"
OUTLOOK = "outlook"
IMMUTABLE, REGULAR = "immutable", "regular"  # Outlook id types (/_emulator/truth?idType=, Prefer: IdType=...)


def dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON bytes (orjson; the stdlib for what it refuses, e.g. non-string keys, ints > 64 bit)."""
    try:
        # copied: orjson's result keeps its oversized write buffer, which would stay allocated in the caches
        return bytes(memoryview(orjson.dumps(obj)))
    except TypeError:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def utc_now_iso() -> str:
    """Current UTC time as Graph writes it (seconds, Z)."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def error_body(code: str, message: str, request_id: str, client_request_id: str = "") -> bytes:
    """The Graph error JSON with innerError date/request-id/client-request-id."""
    inner = {
        "date": utc_now_iso(),
        "request-id": request_id,
        "client-request-id": client_request_id or request_id,
    }
    return dumps({"error": {"code": code, "message": message, "innerError": inner}})


@dataclass(frozen=True)
class Shape:
    """How an entity renders: OData type, default properties (None = all), family for error codes."""

    odata_type: str
    default: tuple[str, ...] | None
    family: str
    plain: bool = False  # items hold no internal "_" keys: the default rendering is the item itself
    # documented properties the seed may leave unset, with the JSON Graph renders for them when selected
    known: tuple[tuple[str, str], ...] = ()

    def unset_json(self, prop: str) -> str | None:
        """The JSON text of a documented property an item does not carry (None: not documented)."""
        for name, value in self.known:
            if name == prop:
                return value
        return None

    def parse_select(self, raw: str | None, sample: dict[str, Any] | None) -> tuple[str, ...] | None:
        """$select value -> sorted property tuple (None = default). Unknown properties give a 400."""
        if raw is None or raw.strip() == "":
            return None
        props = tuple(sorted({p.strip() for p in raw.split(",") if p.strip()}))
        if sample is not None:
            for p in props:
                if (p not in sample or p.startswith("_")) and self.unset_json(p) is None:
                    if self.family == DIRECTORY:
                        raise GraphError(
                            400,
                            "Request_BadRequest",
                            f"Could not find a property named '{p}' on type '{self.odata_type}'.",
                        )
                    raise GraphError(
                        400,
                        "RequestBroker--ParseUri",
                        f"Could not find a property named '{p}' on type '{self.odata_type}'.",
                    )
        return props

    def project(self, item: dict[str, Any], select: tuple[str, ...] | None) -> dict[str, Any]:
        """The item as Graph would render it for this $select."""
        if select is None:
            if self.default is None and self.plain:
                return item
            if self.default is None:
                return {k: v for k, v in item.items() if not k.startswith("_")}
            keys: Iterable[str] = self.default
        else:
            keys = select
        out: dict[str, Any] = {}
        if "@odata.type" in item:
            out["@odata.type"] = item["@odata.type"]
        if "@odata.etag" in item:
            out["@odata.etag"] = item["@odata.etag"]
        out["id"] = item["id"]
        for k in keys:
            if k in item and k != "id":
                out[k] = item[k]
            elif select is not None and self.known and k != "id":
                unset = self.unset_json(k)
                if unset is not None:
                    out[k] = json.loads(unset)
        return out


class SeqClock:
    """A process-wide change sequence: every mutation takes the next number."""

    def __init__(self) -> None:
        self._seq = 0
        self._lock = threading.Lock()

    @property
    def now(self) -> int:
        """The last issued sequence number."""
        return self._seq

    def tick(self) -> int:
        """Take the next sequence number."""
        with self._lock:
            self._seq += 1
            return self._seq


@dataclass(frozen=True)
class Change:
    """One entry of a collection's change log."""

    seq: int
    id: str
    kind: str  # "upsert" | "deleted" | "changed" (soft-deleted)
    fields: frozenset[str] | None  # changed properties of an update; None = new or whole item


class Collection:
    """Ordered items of one scope (e.g. one mail folder) plus the change log delta rounds read.

    Rendered item bytes are cached per $select and dropped when the collection changes.
    """

    def __init__(self, clock: SeqClock, items: Iterable[dict[str, Any]] = ()) -> None:
        self.clock = clock
        self._lock = threading.RLock()
        given = {it["id"]: it for it in items}
        self.items: dict[str, dict[str, Any]] = given
        # ids in first-seen order, deleted ones included: delta rounds page by position in this list,
        # so a delete in the middle of a round does not shift later items out of it.
        self.order: list[str] = list(given)
        self._order_set: set[str] = set(self.order)
        self.log: list[Change] = []
        self.version = 0
        self._cache: dict[Any, tuple[int, Any]] = {}

    def sample(self) -> dict[str, Any] | None:
        """Any one item (used to validate $select), or None when empty."""
        return next(iter(self.items.values()), None)

    def get(self, item_id: str) -> dict[str, Any] | None:
        """One item by id."""
        return self.items.get(item_id)

    def count(self) -> int:
        """Number of live items."""
        return len(self.items)

    def ever_had(self, item_id: str) -> bool:
        """True when the id is or was an item here (deleted ones included)."""
        return item_id in self.items or item_id in self._order_set

    @property
    def mutated(self) -> bool:
        """True once anything changed (such a collection must not be evicted from caches)."""
        return bool(self.log)

    def upsert(self, item: dict[str, Any], fields: Iterable[str] | None = None) -> int:
        """Create or update an item; fields names the changed properties of an update."""
        seq = self.clock.tick()
        with self._lock:
            existed = item["id"] in self.items
            self.items[item["id"]] = item
            if item["id"] not in self._order_set:
                self._order_set.add(item["id"])
                self.order.append(item["id"])
            f = frozenset(fields) if (existed and fields is not None) else None
            self.log.append(Change(seq, item["id"], "upsert", f))
            self.version = seq
            self._cache.clear()
        return seq

    def remove(self, item_id: str, reason: str = "deleted") -> int:
        """Delete an item; reason 'changed' = soft-deleted (directory), 'deleted' = gone."""
        seq = self.clock.tick()
        with self._lock:
            self.items.pop(item_id, None)
            self.log.append(Change(seq, item_id, "changed" if reason == "changed" else "deleted", None))
            self.version = seq
            self._cache.clear()
        return seq

    def rendered(self, shape: Shape, select: tuple[str, ...] | None) -> list[bytes]:
        """Live items' JSON bytes in order for this $select, cached."""
        hit = self._cache.get(select)
        if hit is not None and hit[0] == self.version:
            return hit[1]  # type: ignore[no-any-return]
        pos = self.positions(shape, select)
        with self._lock:
            out = pos if len(pos) == self.count() else [b for b in pos if b is not None]
            self._cache[select] = (self.version, out)
        return out

    def positions(self, shape: Shape, select: tuple[str, ...] | None) -> list[bytes | None]:
        """JSON bytes aligned with `order` (None where the item was deleted), cached."""
        key = ("pos", select)
        hit = self._cache.get(key)
        if hit is not None and hit[0] == self.version:
            return hit[1]  # type: ignore[no-any-return]
        with self._lock:
            for i in self.items:  # items added without upsert (seeding)
                if i not in self._order_set:
                    self._order_set.add(i)
                    self.order.append(i)
            version = self.version
            items = self.items
            out: list[bytes | None] = [
                dumps(shape.project(items[i], select)) if i in items else None for i in self.order
            ]
            self._cache[key] = (version, out)
        return out

    def changes_between(self, since: int, upto: int) -> list[Change]:
        """Latest change per id with since < seq <= upto, in sequence order (updates merge their fields)."""
        latest: dict[str, Change] = {}
        for ch in self.log:
            if since < ch.seq <= upto:
                prev = latest.get(ch.id)
                if prev is not None and ch.kind == "upsert" and prev.kind == "upsert":
                    if prev.fields is None or ch.fields is None:
                        ch = Change(ch.seq, ch.id, ch.kind, None)
                    else:
                        ch = Change(ch.seq, ch.id, ch.kind, prev.fields | ch.fields)
                latest.pop(ch.id, None)
                latest[ch.id] = ch
        return list(latest.values())

    def removed_ever(self) -> list[Change]:
        """Ids currently absent that the log shows deleted (listed with @removed in full delta rounds)."""
        out: dict[str, Change] = {}
        for ch in self.log:
            if ch.kind != "upsert" and ch.id not in self.items:
                out[ch.id] = ch
        return list(out.values())


class LazyCollection(Collection):
    """A generated collection: ids known up front, item dicts built only when something needs them.

    While unmutated, pages of `fast_shape` come from `render(i, select)` (bytes identical to dumps of the
    projected dict), so reads never build dicts. A write (or anything reading `items`) materializes them.
    """

    def __init__(
        self,
        clock: SeqClock,
        ids: list[str],
        make: Any,
        render: Any,
        fast_shape: Shape,
    ) -> None:
        self._store: dict[str, dict[str, Any]] | None = None
        super().__init__(clock)
        self._ids = ids
        self._make = make
        self._render = render
        self._fast_shape = fast_shape
        self._index: dict[str, int] | None = None
        self.order = list(ids)
        self._order_set = set(ids)

    @property  # type: ignore[override]
    def items(self) -> dict[str, dict[str, Any]]:
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = {i: self._make(k) for k, i in enumerate(self._ids)}
        return self._store

    @items.setter
    def items(self, value: dict[str, dict[str, Any]]) -> None:
        self._store = value if value else None

    @property
    def materialized(self) -> bool:
        """True once item dicts exist."""
        return self._store is not None

    def sample(self) -> dict[str, Any] | None:
        """First item without materializing the rest."""
        if self._store is not None:
            return super().sample()
        return self._make(0) if self._ids else None

    def get(self, item_id: str) -> dict[str, Any] | None:
        """One item by id without materializing the rest."""
        if self._store is not None:
            return self._store.get(item_id)
        k = self.seeded_index(item_id)
        return None if k is None else self._make(k)

    def count(self) -> int:
        """Number of live items."""
        return len(self._ids) if self._store is None else len(self._store)

    def seeded_index(self, item_id: str) -> int | None:
        """Position of a seeded item while no item dict exists (None: not here, or materialized)."""
        if self._store is not None:
            return None
        if self._index is None:
            self._index = {i: k for k, i in enumerate(self._ids)}
        return self._index.get(item_id)

    def positions(self, shape: Shape, select: tuple[str, ...] | None) -> list[bytes | None]:
        """Fast byte rendering while unmaterialized; otherwise the generic path."""
        if self.log or shape is not self._fast_shape:
            return super().positions(shape, select)
        key = ("pos", select)
        hit = self._cache.get(key)
        if hit is not None and hit[0] == self.version:
            return hit[1]  # type: ignore[no-any-return]
        render = self._render
        out: list[bytes | None] = [render(k, select) for k in range(len(self._ids))]
        self._cache[key] = (self.version, out)
        return out


class TokenCodec:
    """Opaque signed tokens (page and delta state). Tampered or foreign tokens decode to None."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def encode(self, payload: dict[str, Any]) -> str:
        """Payload -> opaque url-safe token."""
        raw = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
        body = base64.urlsafe_b64encode(raw).rstrip(b"=")
        return (body + b"~" + self._sign(body)).decode()

    def _sign(self, body: bytes) -> bytes:
        return base64.urlsafe_b64encode(hmac.digest(self._key, body, "sha256")[:12]).rstrip(b"=")

    def decode(self, token: str) -> dict[str, Any] | None:
        """Opaque token -> payload, or None when invalid."""
        try:
            body, sig = token.encode().split(b"~", 1)
            if not hmac.compare_digest(sig, self._sign(body)):
                return None
            out = orjson.loads(base64.urlsafe_b64decode(body + b"=" * (-len(body) % 4)))
            return out if isinstance(out, dict) else None
        except ValueError:  # also binascii.Error and orjson.JSONDecodeError
            return None


def ids_digest(ids: Iterable[str]) -> dict[str, Any]:
    """{"count", "ids_sha256"} of a set of ids (sorted, joined by newline)."""
    xs = sorted(ids)
    return {"count": len(xs), "ids_sha256": hashlib.sha256("\n".join(xs).encode()).hexdigest()}
