"""Outlook routes: mail folders, messages (+delta, attachments), calendars, calendarView delta, contacts."""

from __future__ import annotations

import datetime as dt
import functools
import random
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..filters import compile_filter
from ..mailbox import (
    ATTACHMENT_SHAPE,
    CALENDAR_SHAPE,
    CFOLDER_SHAPE,
    CONTACT_FOLDERS,
    CONTACT_SHAPE,
    EVENT_SHAPE,
    FOLDER_SHAPE,
    FOLDERS,
    K_CONTACT,
    K_EVENT,
    K_MESSAGE,
    MESSAGE_SHAPE,
    SINGLE,
    Mailbox,
    MailboxStore,
    attachment_count,
    attachment_id,
    make_id,
)
from ..odata import IMMUTABLE, OUTLOOK, Collection, dumps, ids_digest
from ..paging import delta_page, list_page
from ..router import DELTA, SEG, GraphError, Request, Response

if TYPE_CHECKING:
    from ..core import Emulator

CTX = "https://graph.microsoft.com/v1.0/$metadata#"
U = rf"/users/(?P<user>{SEG})"


def _not_found(what: str) -> GraphError:
    return GraphError(404, "ErrorItemNotFound", f"The specified object was not found in the store. ({what})")


def _parse_dt(raw: str, name: str) -> float:
    try:
        v = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise GraphError(400, "ErrorInvalidParameter", f"The value of {name} is not a valid DateTime.") from exc
    if v.tzinfo is None:
        v = v.replace(tzinfo=dt.UTC)
    return v.timestamp()


_TIMES = {"eq", "ne", "ge", "gt", "le", "lt"}
MESSAGE_FILTERS: dict[str, set[str]] = {
    **dict.fromkeys(("receivedDateTime", "lastModifiedDateTime", "createdDateTime", "sentDateTime"), _TIMES),
    **dict.fromkeys(("isRead", "hasAttachments", "isDraft", "importance", "inferenceClassification"), {"eq", "ne"}),
    "subject": {"eq", "ne", "startswith"},
    "conversationId": {"eq"},
    "parentFolderId": {"eq"},
}
# /events: the list holds single instances and series masters; type picks one kind (``type eq 'seriesMaster'``)
EVENT_FILTERS: dict[str, set[str]] = {
    "type": {"eq", "ne"},
    "subject": {"eq", "startswith"},
}
# message delta: "The only supported $filter expressions are receivedDateTime ge|gt {value}" (message-delta docs)
MESSAGE_DELTA_FILTERS: dict[str, set[str]] = {"receivedDateTime": {"ge", "gt"}}


def _filter_error(prop: str) -> GraphError:
    return GraphError(400, "ErrorInvalidUrlQueryFilter", "The query filter contains one or more invalid nodes.")


@functools.lru_cache(maxsize=256)
def _delta_filter(text: str) -> Any:
    return compile_filter(text, MESSAGE_DELTA_FILTERS, _filter_error)


def _matches_delta_filter(item: dict[str, Any], w: dict[str, Any]) -> bool:
    return bool(_delta_filter(w["f"])(item))


def _filtered(coll: Collection, sel: tuple[str, ...] | None, flt: str) -> list[bytes]:
    """Rendered messages of a folder that pass a list $filter, in folder order."""
    pred = compile_filter(flt, MESSAGE_FILTERS, _filter_error)
    items = coll.items
    pos = coll.positions(MESSAGE_SHAPE, sel)
    return [b for i, b in zip(coll.order, pos, strict=False) if b is not None and i in items and pred(items[i])]


def wants_immutable_ids(req: Request) -> bool:
    """Whether the request asks for immutable Outlook ids (``Prefer: IdType="ImmutableId"``, alone or among other
    preferences of one Prefer header, comma-separated). It applies to this request only (a nextLink followed without
    it answers regular ids)."""
    for part in req.header("prefer").split(","):
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == "idtype" and value.strip().strip('"').lower() == "immutableid":
            return True
    return False


def with_id_type(req: Request, mb: Mailbox, resp: Response) -> Response:
    """An answer of Outlook items in the id type the request asked for (regular unless it prefers immutable)."""
    if wants_immutable_ids(req) and resp.status < 300:
        resp.body = mb.as_immutable(resp.body)
    return resp


def _in_window(item: dict[str, Any], w: dict[str, Any]) -> bool:
    return bool(item["_start"] < w["e"] and item["_end"] > w["s"])


def register(emu: Emulator) -> None:
    """Add the Outlook routes, truth sources and mutators."""
    store = MailboxStore(emu.seed, emu.scale, emu.clock, emu.directory)
    emu.mailboxes = store
    r = emu.router
    empty = Collection(emu.clock)

    def box(req: Request) -> Mailbox:
        return store.resolve(req.params["user"])

    def folder(mb: Mailbox, key: str) -> int:
        fi = mb.folder_index(key)
        if fi is None:
            raise _not_found("mailFolder")
        return fi

    def sel(shape: Any, req: Request, sample: dict[str, Any] | None) -> tuple[str, ...] | None:
        return shape.parse_select(req.query.get("$select"), sample)

    # ---- mail folders -----------------------------------------------------------------------------
    @r.graph("GET", rf"{U}/mailFolders/{DELTA}", name="mail_folders_delta", kind="outlook")
    def folders_delta(req: Request) -> Response:
        mb = box(req)
        return delta_page(
            req,
            emu,
            scope=f"folders:{mb.user_id}",
            coll=mb.folders(),
            shape=FOLDER_SHAPE,
            context=CTX + "Collection(mailFolder)",
            default=10,
            maximum=1000,
        )

    def folder_list(req: Request, mb: Mailbox, items: list[dict[str, Any]], scope: str) -> Response:
        s = sel(FOLDER_SHAPE, req, items[0] if items else None)
        rendered = [dumps(FOLDER_SHAPE.project(it, s)) for it in items]
        return list_page(
            req,
            emu,
            scope=scope,
            rendered=rendered,
            context=CTX + f"users('{mb.user_id}')/mailFolders",
            default=10,
            maximum=1000,
            family=OUTLOOK,
            style="skip",
        )

    @r.graph("GET", rf"{U}/mailFolders", name="mail_folders", kind="outlook")
    def folders(req: Request) -> Response:
        mb = box(req)
        items = [it for it in mb.folders().items.values() if it["parentFolderId"] == mb.root_id]
        return folder_list(req, mb, items, f"folders:{mb.user_id}")

    @r.graph("GET", rf"{U}/mailFolders/(?P<folder>{SEG})/childFolders", name="mail_child_folders", kind="outlook")
    def child_folders(req: Request) -> Response:
        mb = box(req)
        fid = mb.folder_ids[folder(mb, req.params["folder"])]
        items = [it for it in mb.folders().items.values() if it["parentFolderId"] == fid]
        return folder_list(req, mb, items, f"children:{fid}")

    @r.graph("GET", rf"{U}/mailFolders/(?P<folder>{SEG})", name="mail_folder", kind="outlook")
    def one_folder(req: Request) -> Response:
        mb = box(req)
        item = mb.folders().items[mb.folder_ids[folder(mb, req.params["folder"])]]
        return Response(200, dumps(FOLDER_SHAPE.project(item, sel(FOLDER_SHAPE, req, item))))

    # ---- messages ---------------------------------------------------------------------------------
    @r.graph("GET", rf"{U}/mailFolders/(?P<folder>{SEG})/messages/{DELTA}", name="messages_delta", kind="outlook")
    def messages_delta(req: Request) -> Response:
        mb = box(req)
        fi = folder(mb, req.params["folder"])
        key = ("msgs", str(fi))
        incremental = "$deltatoken" in req.query and not mb.is_pinned(key)
        coll = empty if incremental else mb.messages(fi)
        flt = req.query.get("$filter")
        if flt is not None and "$skiptoken" not in req.query and "$deltatoken" not in req.query:
            _delta_filter(flt)  # 400 for anything but receivedDateTime ge|gt
        page = delta_page(
            req,
            emu,
            scope=f"msgs:{mb.user_id}:{fi}",
            coll=coll,
            shape=MESSAGE_SHAPE,
            context=CTX + "Collection(message)",
            default=10,
            maximum=1000,
            allow_top=True,
            window={"f": flt} if flt is not None else None,
            in_window=_matches_delta_filter,
        )
        return with_id_type(req, mb, page)

    @r.graph("GET", rf"{U}/mailFolders/(?P<folder>{SEG})/messages", name="messages", kind="outlook")
    def messages(req: Request) -> Response:
        mb = box(req)
        fi = folder(mb, req.params["folder"])
        coll = mb.messages(fi)
        s = sel(MESSAGE_SHAPE, req, coll.sample())
        flt = req.query.get("$filter")
        page = list_page(
            req,
            emu,
            scope=f"msgs:{mb.user_id}:{fi}",
            rendered=coll.rendered(MESSAGE_SHAPE, s) if flt is None else _filtered(coll, s, flt),
            context=CTX + f"users('{mb.user_id}')/mailFolders('{mb.folder_ids[fi]}')/messages",
            default=10,
            maximum=1000,
            family=OUTLOOK,
            style="skip",
            prefer=True,
        )
        return with_id_type(req, mb, page)

    @r.graph("GET", rf"{U}/messages", name="user_messages", kind="outlook")
    def user_messages(req: Request) -> Response:
        mb = box(req)
        rendered: list[bytes] = []
        s = None
        flt = req.query.get("$filter")
        for fi in range(len(FOLDERS)):
            coll = mb.messages(fi)
            if s is None and coll.count():
                s = sel(MESSAGE_SHAPE, req, coll.sample())
            rendered += coll.rendered(MESSAGE_SHAPE, s) if flt is None else _filtered(coll, s, flt)
        page = list_page(
            req,
            emu,
            scope=f"allmsgs:{mb.user_id}",
            rendered=rendered,
            context=CTX + f"users('{mb.user_id}')/messages",
            default=10,
            maximum=1000,
            family=OUTLOOK,
            style="skip",
            prefer=True,
        )
        return with_id_type(req, mb, page)

    def message_of(req: Request, head: bool = False) -> tuple[Mailbox, dict[str, Any]]:
        mb = box(req)
        find = mb.find_message_head if head else mb.find_message
        found = find(mb.regular_id(req.params["message"]))
        if found is None or ("folder" in req.params and mb.folder_index(req.params["folder"]) != found[0]):
            raise _not_found("message")
        return mb, found[1]

    def attachment_list(req: Request, mb: Mailbox, item: dict[str, Any], scope: str) -> Response:
        atts = mb.attachments(item, mb.immutable_id(item["id"]) if wants_immutable_ids(req) else item["id"])
        s = sel(ATTACHMENT_SHAPE, req, atts[0] if atts else None)
        rendered = [dumps(ATTACHMENT_SHAPE.project(a, s)) for a in atts]
        return list_page(
            req,
            emu,
            scope=scope,
            rendered=rendered,
            context=CTX + "attachments",
            default=10,
            maximum=1000,
            family=OUTLOOK,
            style="skip",
        )

    @r.graph("GET", rf"{U}/messages/(?P<message>{SEG})/attachments", name="message_attachments", kind="outlook")
    def msg_atts(req: Request) -> Response:
        mb, item = message_of(req, head=True)
        return attachment_list(req, mb, item, f"att:{item['id']}")

    @r.graph(
        "GET",
        rf"{U}/mailFolders/(?P<folder>{SEG})/messages/(?P<message>{SEG})/attachments",
        name="message_attachments",
        kind="outlook",
    )
    def folder_msg_atts(req: Request) -> Response:
        return msg_atts(req)

    @r.graph("GET", rf"{U}/messages/(?P<message>{SEG})", name="message", kind="outlook")
    def one_message(req: Request) -> Response:
        mb, item = message_of(req)
        return with_id_type(req, mb, Response(200, dumps(MESSAGE_SHAPE.project(item, sel(MESSAGE_SHAPE, req, item)))))

    # ---- calendars and events ----------------------------------------------------------------------
    @r.graph("GET", rf"{U}/calendars", name="calendars", kind="outlook")
    def calendars(req: Request) -> Response:
        mb = box(req)
        cals = mb.calendars()
        s = sel(CALENDAR_SHAPE, req, cals[0])
        return list_page(
            req,
            emu,
            scope=f"cals:{mb.user_id}",
            rendered=[dumps(CALENDAR_SHAPE.project(c, s)) for c in cals],
            context=CTX + f"users('{mb.user_id}')/calendars",
            default=10,
            maximum=1000,
            family=OUTLOOK,
            style="skip",
        )

    @r.graph("GET", rf"{U}/calendar", name="calendar", kind="outlook")
    def calendar(req: Request) -> Response:
        c = box(req).calendars()[0]
        return Response(200, dumps(CALENDAR_SHAPE.project(c, sel(CALENDAR_SHAPE, req, c))))

    @r.graph("GET", rf"{U}/calendarView/{DELTA}", name="events_delta", kind="outlook")
    def calendar_view_delta(req: Request) -> Response:
        mb = box(req)
        q = req.query
        window = None
        if "$deltatoken" not in q and "$skiptoken" not in q:
            start, end = q.get("startDateTime") or q.get("StartDateTime"), q.get("endDateTime") or q.get("EndDateTime")
            if not start or not end:
                raise GraphError(
                    400,
                    "ErrorInvalidParameter",
                    "This request requires a time window specified by the query string parameters StartDateTime "
                    "and EndDateTime.",
                )
            window = {"s": _parse_dt(start, "startDateTime"), "e": _parse_dt(end, "endDateTime")}
        incremental = "$deltatoken" in q and not mb.is_pinned(("events",))
        page = delta_page(
            req,
            emu,
            scope=f"events:{mb.user_id}",
            coll=empty if incremental else mb.events(),
            shape=EVENT_SHAPE,
            context=CTX + "Collection(event)",
            default=10,
            maximum=1000,
            allow_select=False,
            window=window,
            in_window=_in_window,
        )
        return with_id_type(req, mb, page)

    @r.graph("GET", rf"{U}/(?:calendar/)?events", name="user_events", kind="outlook")
    def user_events(req: Request) -> Response:
        mb = box(req)
        singles = [it for it in mb.events().items.values() if it["type"] == "singleInstance"]
        items = singles + list(mb.series_masters().items.values())
        flt = req.query.get("$filter")
        if flt:
            pred = compile_filter(flt, EVENT_FILTERS, _filter_error)
            items = [it for it in items if pred(it)]
        s = sel(EVENT_SHAPE, req, items[0] if items else None)
        page = list_page(
            req,
            emu,
            scope=f"userevents:{mb.user_id}",
            rendered=[dumps(EVENT_SHAPE.project(i, s)) for i in items],
            context=CTX + f"users('{mb.user_id}')/events",
            default=10,
            maximum=1000,
            family=OUTLOOK,
            style="skip",
            prefer=True,
        )
        return with_id_type(req, mb, page)

    @r.graph("GET", rf"{U}/events/(?P<event>{SEG})/attachments", name="event_attachments", kind="outlook")
    def event_atts(req: Request) -> Response:
        mb = box(req)
        item = mb.find_event(mb.regular_id(req.params["event"]))
        if item is None:
            raise _not_found("event")
        return attachment_list(req, mb, item, f"att:{item['id']}")

    # ---- contacts ------------------------------------------------------------------------------------
    def cfolder(mb: Mailbox, key: str) -> int:
        ci = mb.cfolder_index(key)
        if ci is None:
            raise _not_found("contactFolder")
        return ci

    cfolder_colls: dict[str, Collection] = {}

    def cfolder_coll(mb: Mailbox) -> Collection:
        c = cfolder_colls.get(mb.user_id)
        if c is None:
            c = cfolder_colls.setdefault(mb.user_id, Collection(emu.clock, mb.contact_folders()))
        return c

    @r.graph("GET", rf"{U}/contactFolders/{DELTA}", name="contact_folders_delta", kind="outlook")
    def cfolders_delta(req: Request) -> Response:
        mb = box(req)
        return delta_page(
            req,
            emu,
            scope=f"cfolders:{mb.user_id}",
            coll=cfolder_coll(mb),
            shape=CFOLDER_SHAPE,
            context=CTX + "Collection(contactFolder)",
            default=10,
            maximum=1000,
        )

    @r.graph("GET", rf"{U}/contactFolders", name="contact_folders", kind="outlook")
    def cfolders(req: Request) -> Response:
        mb = box(req)
        items = mb.contact_folders()
        s = sel(CFOLDER_SHAPE, req, items[0])
        return list_page(
            req,
            emu,
            scope=f"cfolders:{mb.user_id}",
            rendered=[dumps(CFOLDER_SHAPE.project(i, s)) for i in items],
            context=CTX + f"users('{mb.user_id}')/contactFolders",
            default=10,
            maximum=1000,
            family=OUTLOOK,
            style="skip",
        )

    @r.graph(
        "GET", rf"{U}/contactFolders/(?P<cfolder>{SEG})/childFolders", name="contact_child_folders", kind="outlook"
    )
    def cfolder_children(req: Request) -> Response:
        mb = box(req)
        ci = cfolder(mb, req.params["cfolder"])
        items = mb.contact_folders() if ci == 0 else []
        rendered = [dumps(CFOLDER_SHAPE.project(i, None)) for i in items]
        return list_page(
            req,
            emu,
            scope=f"cchildren:{mb.user_id}:{ci}",
            rendered=rendered,
            context=CTX + "contactFolders",
            default=10,
            maximum=1000,
            family=OUTLOOK,
            style="skip",
        )

    @r.graph("GET", rf"{U}/contactFolders/(?P<cfolder>{SEG})/contacts/{DELTA}", name="contacts_delta", kind="outlook")
    def contacts_delta(req: Request) -> Response:
        mb = box(req)
        ci = cfolder(mb, req.params["cfolder"])
        incremental = "$deltatoken" in req.query and not mb.is_pinned(("contacts", str(ci)))
        page = delta_page(
            req,
            emu,
            scope=f"contacts:{mb.user_id}:{ci}",
            coll=empty if incremental else mb.contacts(ci),
            shape=CONTACT_SHAPE,
            context=CTX + "Collection(contact)",
            default=10,
            maximum=1000,
        )
        return with_id_type(req, mb, page)

    def contact_list(req: Request, mb: Mailbox, ci: int) -> Response:
        coll = mb.contacts(ci)
        s = sel(CONTACT_SHAPE, req, coll.sample())
        page = list_page(
            req,
            emu,
            scope=f"contacts:{mb.user_id}:{ci}",
            rendered=coll.rendered(CONTACT_SHAPE, s),
            context=CTX + f"users('{mb.user_id}')/contacts",
            default=10,
            maximum=1000,
            family=OUTLOOK,
            style="skip",
        )
        return with_id_type(req, mb, page)

    @r.graph("GET", rf"{U}/contactFolders/(?P<cfolder>{SEG})/contacts", name="folder_contacts", kind="outlook")
    def folder_contacts(req: Request) -> Response:
        mb = box(req)
        return contact_list(req, mb, cfolder(mb, req.params["cfolder"]))

    @r.graph("GET", rf"{U}/contacts", name="contacts", kind="outlook")
    def contacts(req: Request) -> Response:
        return contact_list(req, box(req), 0)

    # ---- truth -------------------------------------------------------------------------------------
    def per_user(fn: Any, ids: str = "items") -> Any:
        """A truth source of per-user ids ``user_id/id`` in the id type asked (``immutable`` or ``regular``).

        ``fn(mailbox)`` gives the regular ids of ``ids``: ``items`` (messages, events, contacts: their immutable
        ids differ), ``containers`` (folders, calendars: one id type) or ``attachments`` ((item id, count) pairs:
        attachment ids extend their item's id in either type)."""
        memo: dict[str, tuple[int, dict[str, Any]]] = {}  # by id type: (clock value, digest) while unchanged

        def listed(mb: Mailbox, immutable: bool) -> Iterator[str]:
            if ids == "attachments":
                for item_id, n in fn(mb):
                    shown = mb.immutable_id(item_id) if immutable else item_id
                    yield from (attachment_id(shown, k) for k in range(n))
            elif ids == "items" and immutable:
                yield from (mb.immutable_id(i) for i in fn(mb))
            else:
                yield from fn(mb)

        def digest(id_type: str = IMMUTABLE) -> dict[str, Any]:
            now = emu.clock.now
            hit = memo.get(id_type)
            if hit is None or hit[0] != now:
                found = (f"{mb.user_id}/{i}" for mb in store.readable() for i in listed(mb, id_type == IMMUTABLE))
                hit = memo[id_type] = (now, ids_digest(found))
            return hit[1]

        digest.id_typed = True  # type: ignore[attr-defined]  # /_emulator/truth passes the id type asked
        return digest

    def message_ids(mb: Mailbox) -> Iterator[str]:
        for fi in range(len(FOLDERS)):
            key = ("msgs", str(fi))
            yield from (mb.pinned[key].items if mb.is_pinned(key) else mb.base_message_ids(fi))

    def message_attachments(mb: Mailbox) -> Iterator[tuple[str, int]]:
        for fi in range(len(FOLDERS)):
            key = ("msgs", str(fi))
            if mb.is_pinned(key):
                items = mb.pinned[key].items.items()
                yield from ((i, attachment_count(mb.origin(i)) if it["hasAttachments"] else 0) for i, it in items)
            else:
                yield from ((i, attachment_count(i)) for i in mb.base_message_ids(fi))

    lo = (store.anchor - dt.timedelta(days=365)).timestamp()
    hi = (store.anchor + dt.timedelta(days=365)).timestamp()

    def event_ids(mb: Mailbox) -> Iterator[str]:
        if mb.is_pinned(("events",)):
            yield from (i for i, it in mb.pinned[("events",)].items.items() if it["_start"] < hi and it["_end"] > lo)
        else:
            yield from mb.base_event_ids()

    def series_master_ids(mb: Mailbox) -> Iterator[str]:
        if mb.is_pinned(("masters",)):
            yield from mb.pinned[("masters",)].items
        else:
            yield from mb.base_master_ids()

    def event_attachments(mb: Mailbox) -> Iterator[tuple[str, int]]:
        if mb.is_pinned(("events",)):
            yield from ((i, int(it["_attachments"])) for i, it in mb.pinned[("events",)].items.items())
        else:
            yield from ((i, attachment_count(i) if _is_single(i) else 0) for i in mb.base_event_ids())

    def contact_ids(mb: Mailbox) -> Iterator[str]:
        for ci in range(len(CONTACT_FOLDERS)):
            key = ("contacts", str(ci))
            yield from (mb.pinned[key].items if mb.is_pinned(key) else mb.base_contact_ids(ci))

    emu.add_truth("mail_folders", per_user(lambda mb: mb.folder_ids, "containers"))
    emu.add_truth("messages", per_user(message_ids))
    emu.add_truth("message_attachments", per_user(message_attachments, "attachments"))
    emu.add_truth("calendars", per_user(lambda mb: mb.calendar_ids, "containers"))
    emu.add_truth("events", per_user(event_ids))
    emu.add_truth("event_attachments", per_user(event_attachments, "attachments"))
    emu.add_truth("event_series_masters", per_user(series_master_ids))
    emu.add_truth(
        "contact_folders", per_user(lambda mb: [f["id"] for f in cfolder_coll(mb).items.values()], "containers")
    )
    emu.add_truth("contacts", per_user(contact_ids))
    emu.add_mutator("messages", lambda op, n, rng: mutate_messages(store, op, n, rng))
    emu.add_mutator("events", lambda op, n, rng: mutate_events(store, op, n, rng))
    emu.add_mutator("event_series_masters", lambda op, n, rng: mutate_series_masters(store, op, n, rng))
    emu.add_mutator("contacts", lambda op, n, rng: mutate_contacts(store, op, n, rng))


def _is_single(eid: str) -> bool:
    from ..mailbox import parse_id

    p = parse_id(eid)
    return bool(p and p[2] == SINGLE)


def _pick_box(store: MailboxStore, rng: random.Random) -> Mailbox:
    boxes = list(store.readable())
    if not boxes:
        raise GraphError(400, "BadRequest", "the tenant has no readable mailbox")
    return boxes[rng.randrange(len(boxes))]


def mutate_messages(store: MailboxStore, op: str, n: int, rng: random.Random) -> list[str]:
    """create | update (isRead/flag) | delete | move (to Archive: a new regular id there, deleted in the old folder;
    its immutable id and attachments stay). Answers regular ids (a move: the new one, then the old one)."""
    out: list[str] = []
    for _ in range(n):
        mb = _pick_box(store, rng)
        if op == "create":
            fi = 0 if rng.random() < 0.8 else 8
            idx = mb.new_message_index(fi)
            mid = make_id(K_MESSAGE, mb.idx, fi, idx, store.seed)
            coll = mb.pin_messages(fi)
            delivered = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # last modified when it arrived
            coll.upsert(dict(mb.make_message(fi, idx, mid), lastModifiedDateTime=delivered))
            out.append(f"{mb.user_id}/{mid}")
            continue
        nonempty = [fi for fi in range(len(FOLDERS)) if mb.messages(fi).count()]
        if not nonempty:
            continue
        fi = rng.choice(nonempty)
        coll = mb.pin_messages(fi)
        if not coll.items:
            continue
        mid = rng.choice(list(coll.items))
        if op == "update":
            item = dict(coll.items[mid], isRead=not coll.items[mid]["isRead"], categories=["Purple category"])
            item["lastModifiedDateTime"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            coll.upsert(item, fields=["isRead", "categories", "lastModifiedDateTime"])
        elif op == "delete":
            coll.remove(mid)
        elif op == "move":
            target = 6 if fi != 6 else 0
            item = coll.items[mid]
            coll.remove(mid)
            idx = mb.new_message_index(target)
            new_id = make_id(K_MESSAGE, mb.idx, target, idx, store.seed)
            mb.note_move(mid, new_id)
            mb.pin_messages(target).upsert(dict(item, id=new_id, parentFolderId=mb.folder_ids[target]))
            out.append(f"{mb.user_id}/{new_id}")
        else:
            raise GraphError(400, "BadRequest", f"unknown op {op!r} for messages (create|update|delete|move)")
        out.append(f"{mb.user_id}/{mid}")
    return out


def mutate_events(store: MailboxStore, op: str, n: int, rng: random.Random) -> list[str]:
    """create (single) | update (subject, shifted a day) | delete | retype (Graph changing a property's type:
    every event's ``reminderMinutesBeforeStart`` becomes a string, ``"15 minutes"``; ``n`` is ignored)."""
    out: list[str] = []
    if op == "retype":
        for mb in store.readable():
            coll = mb.pin_events()
            for eid, item in list(coll.items.items()):
                coll.upsert(dict(item, reminderMinutesBeforeStart=f"{item.get('reminderMinutesBeforeStart')} minutes"))
                out.append(f"{mb.user_id}/{eid}")
        return out
    for _ in range(n):
        mb = _pick_box(store, rng)
        coll = mb.pin_events()
        if op == "create":
            with mb.lock:
                k = mb.next_index.get(("events",), mb.n_single + 1000)
                mb.next_index[("events",)] = k + 1
            eid = make_id(K_EVENT, mb.idx, SINGLE, k, store.seed)
            coll.upsert(mb.make_event(SINGLE, k, eid=eid))
            out.append(f"{mb.user_id}/{eid}")
            continue
        if not coll.items:
            continue
        eid = rng.choice(list(coll.items))
        if op == "update":
            item = dict(coll.items[eid], subject=f"Moved: {coll.items[eid]['subject']}")
            shift = dt.timedelta(days=1 if item["_start"] < (store.anchor.timestamp()) else -1)
            for k in ("start", "end"):
                t = dt.datetime.strptime(item[k]["dateTime"][:19], "%Y-%m-%dT%H:%M:%S") + shift
                item[k] = {"dateTime": t.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"}
            item["_start"] += shift.total_seconds()
            item["_end"] += shift.total_seconds()
            coll.upsert(item)
        elif op == "delete":
            coll.remove(eid)
        else:
            raise GraphError(400, "BadRequest", f"unknown op {op!r} for events (create|update|retype|delete)")
        out.append(f"{mb.user_id}/{eid}")
    return out


def mutate_series_masters(store: MailboxStore, op: str, n: int, rng: random.Random) -> list[str]:
    """create (a weekly series that ended long before the sync window: only its master is known) | update (the
    subject, on the master and its occurrences) | delete (the master and its occurrences, as Outlook does)."""
    out: list[str] = []
    for _ in range(n):
        mb = _pick_box(store, rng)
        masters = mb.pin_series_masters()
        if op == "create":
            with mb.lock:
                s = mb.next_index.get(("masters",), mb.n_series + 100)
                mb.next_index[("masters",)] = s + 1
            master = mb.make_master(s, first_day=-700 + rng.randrange(60), n=rng.randint(3, 12))
            masters.upsert(master)
            out.append(f"{mb.user_id}/{master['id']}")
            continue
        if not masters.items:
            continue
        mid = rng.choice(list(masters.items))
        events = mb.pin_events()
        occurrences = [eid for eid, it in events.items.items() if it.get("seriesMasterId") == mid]
        if op == "update":
            subject = f"Renamed: {masters.items[mid]['subject']}"
            masters.upsert(dict(masters.items[mid], subject=subject), fields=["subject"])
            for eid in occurrences:
                events.upsert(dict(events.items[eid], subject=subject), fields=["subject"])
        elif op == "delete":
            masters.remove(mid)
            for eid in occurrences:
                events.remove(eid)
        else:
            raise GraphError(400, "BadRequest", f"unknown op {op!r} for event_series_masters (create|update|delete)")
        out.append(f"{mb.user_id}/{mid}")
    return out


def mutate_contacts(store: MailboxStore, op: str, n: int, rng: random.Random) -> list[str]:
    """create | update (jobTitle) | delete | move (to the next contact folder: a new regular id there, deleted in the
    old folder; its immutable id stays). Answers regular ids (a move: the new one, then the old one)."""
    out: list[str] = []
    for _ in range(n):
        mb = _pick_box(store, rng)
        ci = rng.randrange(len(CONTACT_FOLDERS))
        coll = mb.pin_contacts(ci)
        if op == "create":
            key = ("contacts", str(ci))
            with mb.lock:
                k = mb.next_index.get(key, mb.ccounts[ci] + 1000)
                mb.next_index[key] = k + 1
            cid = make_id(K_CONTACT, mb.idx, ci, k, store.seed)
            coll.upsert(mb.make_contact(ci, k, cid))
            out.append(f"{mb.user_id}/{cid}")
            continue
        if not coll.items:
            continue
        cid = rng.choice(list(coll.items))
        if op == "update":
            coll.upsert(dict(coll.items[cid], jobTitle="Head of Purchasing"), fields=["jobTitle"])
        elif op == "delete":
            coll.remove(cid)
        elif op == "move":
            target = (ci + 1) % len(CONTACT_FOLDERS)
            key = ("contacts", str(target))
            with mb.lock:
                k = mb.next_index.get(key, mb.ccounts[target] + 1000)
                mb.next_index[key] = k + 1
            new_id = make_id(K_CONTACT, mb.idx, target, k, store.seed)
            item = coll.items[cid]
            coll.remove(cid)
            mb.note_move(cid, new_id)
            mb.pin_contacts(target).upsert(dict(item, id=new_id, parentFolderId=mb.cfolder_ids[target]))
            out.append(f"{mb.user_id}/{new_id}")
        else:
            raise GraphError(400, "BadRequest", f"unknown op {op!r} for contacts (create|update|delete|move)")
        out.append(f"{mb.user_id}/{cid}")
    return out
