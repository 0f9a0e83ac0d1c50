"""Paging and delta-round builders shared by every Graph route module."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote

from .odata import DIRECTORY, OUTLOOK, Change, Collection, Shape, dumps
from .router import GraphError, Request, Response

if TYPE_CHECKING:
    from .core import Emulator

DIRECTORY_TOKEN_LIFETIME_S = 7 * 24 * 3600
_SAFE = "$,()'=:@!*"


def _link(emu: Emulator, req: Request, drop: tuple[str, ...], add: list[tuple[str, str]]) -> str:
    """A link to the same path repeating the request's query, minus `drop`, plus `add`."""
    pairs = [(k, v) for k, v in parse_qsl(req.raw_query, keep_blank_values=True) if k not in drop]
    pairs += add
    qs = "&".join(f"{quote(k, safe=_SAFE)}={quote(v, safe=_SAFE)}" for k, v in pairs)
    return f"{emu.base_url}{req.path}" + (f"?{qs}" if qs else "")


def prefer_max_page_size(req: Request) -> int | None:
    """The odata.maxpagesize value of a Prefer header, if any."""
    for part in req.header("prefer").split(","):
        part = part.strip()
        if part.lower().startswith("odata.maxpagesize="):
            try:
                return int(part.split("=", 1)[1].strip().strip('"'))
            except ValueError:
                return None
    return None


def page_size(req: Request, *, default: int, maximum: int, family: str, prefer: bool = False) -> int:
    """Page size from $top (and Prefer: odata.maxpagesize when allowed); out-of-range $top gives a 400."""
    top = req.query.get("$top")
    if top is not None:
        try:
            n = int(top)
        except ValueError:
            n = -1
        if n < 1 or n > maximum:
            if family == DIRECTORY:
                raise GraphError(
                    400,
                    "Request_UnsupportedQuery",
                    f"Invalid page size specified: '{top}'. Must be between 1 and {maximum} inclusive.",
                )
            raise GraphError(400, "ErrorInvalidUrlQueryParameter", f"The value '{top}' of $top is invalid.")
        return n
    if prefer:
        p = prefer_max_page_size(req)
        if p is not None and p > 0:
            return min(p, maximum)
    return default


def page_body(context: str, values: list[bytes], extra: list[tuple[str, Any]], count: int | None = None) -> bytes:
    """{"@odata.context", ["@odata.count"], "value": [...pre-rendered...], extra...} as bytes."""
    parts = [b'{"@odata.context":', dumps(context)]
    if count is not None:
        parts += [b',"@odata.count":', str(count).encode()]
    parts += [b',"value":[', b",".join(values), b"]"]
    for k, v in extra:
        parts += [b",", dumps(k), b":", dumps(v)]
    parts.append(b"}")
    return b"".join(parts)


def list_page(
    req: Request,
    emu: Emulator,
    *,
    scope: str,
    rendered: list[bytes],
    context: str,
    default: int,
    maximum: int,
    family: str,
    style: str = "skiptoken",
    prefer: bool = False,
    countable: bool = False,
) -> Response:
    """One page of a plain list. style 'skiptoken' (directory, opaque) or 'skip' (Outlook $skip)."""
    size = page_size(req, default=default, maximum=maximum, family=family, prefer=prefer)
    offset = 0
    if style == "skiptoken" and "$skiptoken" in req.query:
        p = emu.codec.decode(req.query["$skiptoken"])
        if p is None or p.get("r") != scope:
            raise GraphError(400, "Request_BadRequest", "The specified page token value has expired or is invalid.")
        offset = int(p["o"])
    elif style == "skip" and "$skip" in req.query:
        try:
            offset = max(0, int(req.query["$skip"]))
        except ValueError as exc:
            raise GraphError(400, "ErrorInvalidUrlQueryParameter", "The value of $skip is invalid.") from exc
    values = rendered[offset : offset + size]
    extra: list[tuple[str, Any]] = []
    if offset + size < len(rendered):
        if style == "skiptoken":
            tok = emu.codec.encode({"r": scope, "o": offset + size})
            extra.append(("@odata.nextLink", _link(emu, req, ("$skiptoken",), [("$skiptoken", tok)])))
        else:
            add = [("$skip", str(offset + size))]
            if "$top" not in req.query:
                add.insert(0, ("$top", str(size)))
            extra.append(("@odata.nextLink", _link(emu, req, ("$skip",), add)))
    count = None
    if (
        countable
        and offset == 0
        and req.query.get("$count", "").lower() == "true"
        and req.header("consistencylevel").lower() == "eventual"
    ):
        count = len(rendered)
    headers = []
    if prefer and prefer_max_page_size(req) is not None and "$top" not in req.query:
        headers.append(("Preference-Applied", f"odata.maxpagesize={size}"))
    return Response(200, page_body(context, values, extra, count), headers)


def removed_entry(odata_type: str, item_id: str, reason: str) -> bytes:
    """A delta '@removed' entry."""
    return dumps({"@odata.type": odata_type, "id": item_id, "@removed": {"reason": reason}})


def sync_state_error(family: str) -> GraphError:
    """The expired/invalid delta token error of a family (directory 400, Outlook 410)."""
    if family == OUTLOOK:
        return GraphError(410, "SyncStateNotFound", "The sync state is not found or has expired. Resync is needed.")
    return GraphError(400, "syncStateNotFound", "The sync state is not found or has expired. Please resync.")


FullEntries = Callable[[tuple[str, ...] | None], list[bytes]]
ChangeEntries = Callable[[Change, tuple[str, ...] | None], list[bytes]]


def delta_page(
    req: Request,
    emu: Emulator,
    *,
    scope: str,
    coll: Collection,
    shape: Shape,
    context: str,
    default: int,
    maximum: int,
    prefer: bool = True,
    allow_top: bool = False,
    allow_select: bool = True,
    window: dict[str, Any] | None = None,
    in_window: Callable[[dict[str, Any], dict[str, Any]], bool] | None = None,
    full_entries: FullEntries | None = None,
    change_entries: ChangeEntries | None = None,
    removed_in_full_round: bool | None = None,
    select_extra: tuple[str, ...] = (),
) -> Response:
    """One page of a delta round over `coll` (first call, $skiptoken continuation or $deltatoken round).

    Tokens are signed and carry the scope, $select, page size, window and change sequence numbers,
    so links must be followed verbatim. Directory tokens expire after 7 days (400 syncStateNotFound),
    Outlook ones only by eviction (410 SyncStateNotFound, see the expire_delta fault).
    """
    family = shape.family
    q = req.query
    if removed_in_full_round is None:
        removed_in_full_round = family == DIRECTORY
    tok_key = "$deltatoken" if "$deltatoken" in q else ("$skiptoken" if "$skiptoken" in q else "")
    now = emu.clock.now
    p: dict[str, Any] | None = None
    if tok_key:
        raw = q[tok_key]
        if raw == "latest" and tok_key == "$deltatoken" and family == DIRECTORY:
            state = {
                "k": scope,
                "sel": _sel_list(shape.parse_select(q.get("$select"), _sample(coll))),
                "ps": 0,
            }
            state.update({"u": now, "t": int(time.time()), "w": window})
            link = f"{emu.base_url}{req.path}?$deltatoken={emu.codec.encode(state)}"
            return Response(200, page_body(context, [], [("@odata.deltaLink", link)]))
        p = emu.codec.decode(raw)
        if (
            p is None
            or p.get("k") != scope
            or int(p.get("u", -1)) > now
            or (tok_key == "$deltatoken" and emu.faults.hit("expire_delta"))  # stored deltaLinks, not nextLinks
            or (family == DIRECTORY and time.time() - float(p.get("t", 0)) > DIRECTORY_TOKEN_LIFETIME_S)
        ):
            err = sync_state_error(family)
            if family == OUTLOOK:  # a fresh initial URL, as Graph may send with a 410
                err.headers.append(("Location", f"{emu.base_url}{req.path}"))
            raise err
        select = tuple(p["sel"]) if p.get("sel") is not None else None
        size = int(p["ps"]) or default
        window = p.get("w")
        if tok_key == "$deltatoken":
            since, upto, offset = int(p["u"]), now, 0
        else:
            since, upto, offset = (None if p.get("s") is None else int(p["s"])), int(p["u"]), int(p["o"])
    else:
        if not allow_select and "$select" in q:
            raise GraphError(
                400,
                "ErrorInvalidUrlQuery",
                "The following parameters are not supported with change tracking over this resource: '$select'.",
            )
        sample = _sample(coll)
        if sample is not None and select_extra:
            sample = {**sample, **dict.fromkeys(select_extra)}
        select = shape.parse_select(q.get("$select"), sample)
        if allow_top:
            size = page_size(req, default=default, maximum=maximum, family=family, prefer=prefer)
        else:
            pm = prefer_max_page_size(req) if prefer else None
            size = min(pm, maximum) if pm and pm > 0 else default
        since, upto, offset = None, now, 0

    if family == DIRECTORY and since is None and offset == 0 and not (tok_key and p and p.get("e")):
        # Directory rounds open with an empty page that still carries a nextLink (documented behaviour).
        state = {"k": scope, "sel": _sel_list(select), "ps": size, "w": window, "t": int(time.time())}
        state.update({"s": None, "u": upto, "o": 0, "e": 1})
        link = f"{emu.base_url}{req.path}?$skiptoken={emu.codec.encode(state)}"
        return Response(200, page_body(context, [], [("@odata.nextLink", link)]))
    entries = _round_entries(
        coll,
        shape,
        select,
        since,
        upto,
        window,
        in_window,
        full_entries,
        change_entries,
        removed_in_full_round,
    )
    values = [b for b in entries[offset : offset + size] if b is not None]
    state = {"k": scope, "sel": _sel_list(select), "ps": size, "w": window, "t": int(time.time())}
    if offset + size < len(entries):
        state.update({"s": since, "u": upto, "o": offset + size, "e": 1})
        extra = [("@odata.nextLink", f"{emu.base_url}{req.path}?$skiptoken={emu.codec.encode(state)}")]
    else:
        state.update({"u": upto})
        extra = [("@odata.deltaLink", f"{emu.base_url}{req.path}?$deltatoken={emu.codec.encode(state)}")]
    headers = []
    if prefer and prefer_max_page_size(req) is not None:
        headers.append(("Preference-Applied", f"odata.maxpagesize={size}"))
    resp = Response(200, page_body(context, values, extra), headers)
    resp.selected = select is not None  # a nextLink/deltaLink keeps the round's $select inside its token
    return resp


class _Concat(Sequence[bytes | None]):
    """Two lists seen as one without copying the (possibly large) first one."""

    def __init__(self, a: list[bytes | None], b: list[bytes]) -> None:
        self.a, self.b = a, b

    def __len__(self) -> int:
        return len(self.a) + len(self.b)

    def __getitem__(self, k: Any) -> Any:
        if isinstance(k, slice):
            start, stop, _ = k.indices(len(self))
            n = len(self.a)
            return self.a[start : min(stop, n)] + list(self.b[max(start - n, 0) : max(stop - n, 0)])
        return self.a[k] if k < len(self.a) else self.b[k - len(self.a)]


def _sel_list(select: tuple[str, ...] | None) -> list[str] | None:
    return None if select is None else list(select)


def _sample(coll: Collection) -> dict[str, Any] | None:
    return coll.sample()


def _round_entries(
    coll: Collection,
    shape: Shape,
    select: tuple[str, ...] | None,
    since: int | None,
    upto: int,
    window: dict[str, Any] | None,
    in_window: Callable[[dict[str, Any], dict[str, Any]], bool] | None,
    full_entries: FullEntries | None,
    change_entries: ChangeEntries | None,
    removed_in_full_round: bool,
) -> Sequence[bytes | None]:
    removed_reason = {"changed": "changed", "deleted": "deleted"}
    if since is None:
        full: list[bytes | None]
        if full_entries is not None:
            full = list(full_entries(select))
        elif window is not None and in_window is not None:
            pos = coll.positions(shape, select)
            items = coll.items
            full = [
                b if b is not None and in_window(items[i], window) else None
                for i, b in zip(coll.order, pos, strict=False)
            ]
        else:
            full = coll.positions(shape, select)
        if removed_in_full_round:
            gone = [removed_entry(shape.odata_type, ch.id, removed_reason[ch.kind]) for ch in coll.removed_ever()]
            if gone:
                return _Concat(full, gone)
        return full
    out: list[bytes | None] = []
    for ch in coll.changes_between(since, upto):
        if change_entries is not None:
            out.extend(change_entries(ch, select))
            continue
        item = coll.get(ch.id)
        if (
            ch.kind == "upsert"
            and item is not None
            and (window is None or in_window is None or in_window(item, window))
        ):
            if ch.fields is not None and shape.family == DIRECTORY:
                keys = tuple(sorted(ch.fields if select is None else ch.fields & set(select)))
                out.append(dumps(shape.project(item, keys)))
            else:
                out.append(dumps(shape.project(item, select)))
        else:
            reason = "deleted" if shape.family == OUTLOOK or ch.kind == "upsert" else removed_reason[ch.kind]
            out.append(removed_entry(shape.odata_type, ch.id, reason))
    return out
