"""Per-user Outlook data (mail folders, messages, calendars, events, contacts) derived from the seed.

Nothing is materialized up front: a folder's messages are generated when first read and kept in a
bounded LRU; a collection that was mutated is pinned in its mailbox. Ids are structured
(kind, user index, a, b + a hash) so any id can be located without an index.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import random
import re
import struct
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .odata import OUTLOOK, Collection, LazyCollection, SeqClock, Shape, dumps
from .router import GraphError
from .scales import Scale
from .tenant import READABLE, Directory
from .tenant_places import RoomRef, bookable_rooms

K_MESSAGE, K_EVENT, K_CONTACT, K_FOLDER, K_CFOLDER, K_CAL = 1, 2, 3, 4, 5, 6
SINGLE = 0xFFFF

MESSAGE_SHAPE = Shape(
    "#microsoft.graph.message",
    None,
    OUTLOOK,
    plain=True,
    known=(("internetMessageHeaders", "null"), ("uniqueBody", "null")),  # documented, not seeded
)
FOLDER_SHAPE = Shape("#microsoft.graph.mailFolder", None, OUTLOOK)
EVENT_SHAPE = Shape("#microsoft.graph.event", None, OUTLOOK)  # items carry internal _start/_end/_attachments
CALENDAR_SHAPE = Shape("#microsoft.graph.calendar", None, OUTLOOK)
CONTACT_SHAPE = Shape("#microsoft.graph.contact", None, OUTLOOK)
CFOLDER_SHAPE = Shape("#microsoft.graph.contactFolder", None, OUTLOOK)
ATTACHMENT_SHAPE = Shape("#microsoft.graph.attachment", None, OUTLOOK)


@dataclass(frozen=True)
class FolderDef:
    """A seeded mail folder: name, well-known name, parent index (-1 = root), share of the messages."""

    name: str
    well_known: str | None
    parent: int
    weight: float


FOLDERS = [
    FolderDef("Inbox", "inbox", -1, 0.34),
    FolderDef("Drafts", "drafts", -1, 0.02),
    FolderDef("Sent Items", "sentitems", -1, 0.2),
    FolderDef("Deleted Items", "deleteditems", -1, 0.05),
    FolderDef("Junk Email", "junkemail", -1, 0.03),
    FolderDef("Outbox", "outbox", -1, 0.0),
    FolderDef("Archive", "archive", -1, 0.15),
    FolderDef("Conversation History", "conversationhistory", -1, 0.02),
    FolderDef("Clients", None, -1, 0.05),
    FolderDef("Newsletters", None, -1, 0.05),
    FolderDef("Travel", None, -1, 0.02),
    FolderDef("Projects", None, 0, 0.04),
    FolderDef("Receipts", None, 0, 0.02),
    FolderDef("2026", None, 11, 0.01),
]
WELL_KNOWN = {f.well_known: i for i, f in enumerate(FOLDERS) if f.well_known}
CONTACT_FOLDERS = [("Contacts", 0.6), ("Suppliers", 0.3), ("Family", 0.1)]  # index 0 = the default folder
CALENDARS = ["Calendar", "United States holidays", "Birthdays"]
# Weekly series beyond the seeded ones (first day relative to today, occurrences), numbered after them: one
# straddles the sync window's start (its master and first 3 occurrences lie before it, 5 occurrences inside),
# one ended long before it (only its series master is known). Occurrences keep 2 days off the window's edge.
EXTRA_SERIES = ((-383, 8), (-520, 6))
WINDOW_DAYS = 365  # the pipeline's calendarView window: today +- this
ROOM_SHARE = 0.4  # share of single events (and of series) that book a room

WORDS = (
    "quarterly review budget roadmap launch customer invoice contract design sprint retro offsite hiring "
    "migration security audit travel partner renewal forecast pipeline webinar training feedback update"
).split()
LOREM = (
    "Hi team, following up on our discussion from earlier this week. Please find the summary below and "
    "let me know if anything is missing. We agreed to move the milestone by two weeks, keep the scope as "
    "planned and revisit the staffing plan at the next sync. Action items are tracked in the shared "
    "tracker; owners please update the status before Friday. Thanks, and have a great day."
)
BODY_HTML = (
    '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head>'
    '<body><div dir="ltr"><p>{text}</p><p>Regards,<br>{sender}</p></div></body></html>'
)


def _js(value: str) -> str:
    """A JSON string literal (fast path for the plain strings the generator produces)."""
    if '"' in value or "\\" in value or not value.isprintable():
        return dumps(value).decode()
    return f'"{value}"'


def _body_parts() -> tuple[str, str, str]:
    """The message body JSON split around the text and the sender name (both plain, need no escaping)."""
    doc = dumps({"contentType": "html", "content": BODY_HTML.format(text="@@T@@", sender="@@S@@")}).decode()
    head, rest = doc.split("@@T@@")
    mid, tail = rest.split("@@S@@")
    return head, mid, tail


_BODY_PARTS = _body_parts()


def make_id(kind: int, user: int, a: int, b: int, seed: int) -> str:
    """A Graph-looking id (base64url with '=' padding) that encodes where the item lives."""
    head = struct.pack(">BIHI", kind, user, a, b)
    tail = hashlib.blake2b(head + seed.to_bytes(8, "big", signed=True), digest_size=26).digest()
    return "AAMkA" + base64.urlsafe_b64encode(head + tail).decode()


def parse_id(item_id: str) -> tuple[int, int, int, int] | None:
    """(kind, user index, a, b) of an id made by make_id, or None."""
    if not item_id.startswith("AAMkA"):
        return None
    try:
        raw = base64.urlsafe_b64decode(item_id[5:] + "=" * (-len(item_id[5:]) % 4))
        kind, user, a, b = struct.unpack(">BIHI", raw[:11])
    except (ValueError, struct.error):
        return None
    return kind, user, a, b


def attachment_count(item_id: str) -> int:
    """How many attachments a seeded message/event has (0 for most), from its id."""
    h = hashlib.blake2b(item_id.encode(), digest_size=2).digest()
    return 1 + h[1] % 2 if h[0] % 6 == 0 else 0


REGULAR_PREFIX = "AAMkA"  # the ids make_id gives: where the item lives now (a move gives it a new one)
IMMUTABLE_PREFIX = "AAkALgAA"  # an item's immutable id (Prefer: IdType="ImmutableId"): its id when created


def immutable_of(origin: str) -> str:
    """The immutable id of an item created with the (regular) id ``origin``."""
    return IMMUTABLE_PREFIX + origin[len(REGULAR_PREFIX) :] if origin.startswith(REGULAR_PREFIX) else origin


_REGULAR_ID, _IMMUTABLE_ID = b'"id":"' + REGULAR_PREFIX.encode(), b'"id":"' + IMMUTABLE_PREFIX.encode()
_REGULAR_MASTER = b'"seriesMasterId":"' + REGULAR_PREFIX.encode()
_IMMUTABLE_MASTER = b'"seriesMasterId":"' + IMMUTABLE_PREFIX.encode()
_ITEM_ID = re.compile(rb'("(?:id|seriesMasterId)":")(' + REGULAR_PREFIX.encode() + rb'[^"]*)"')


def attachment_id(item_id: str, n: int) -> str:
    """Attachment ids extend their item's id, so they are unique per mailbox."""
    return item_id.rstrip("=") + base64.urlsafe_b64encode(bytes([0x12, n, 0x51])).decode()


def iso(ts: dt.datetime) -> str:
    """Graph's DateTimeOffset form."""
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


class _MessageText:
    """What the JSON text of one seeded message's properties derives from (the values of Mailbox.make_message)."""

    __slots__ = ("mb", "fi", "i", "mid", "h", "sent", "when", "k")

    def __init__(self, mb: Mailbox, fi: int, i: int, mid: str) -> None:
        self.mb, self.fi, self.i, self.mid = mb, fi, i, mid
        h = self.h = hashlib.blake2b(mid.encode(), digest_size=32).digest()
        self.sent = FOLDERS[fi].well_known in ("sentitems", "drafts", "outbox")
        minutes = 10 + int.from_bytes(h[0:4], "big") % (60 * 24 * 280)
        self.when = mb.store.anchor_naive - dt.timedelta(minutes=minutes)
        self.k = int.from_bytes(h[4:6], "big") % len(mb.store._names)  # the correspondent

    def subject(self) -> str:
        """The subject (plain text)."""
        h, nw = self.h, len(WORDS)
        return f"{WORDS[h[6] % nw].title()} {WORDS[h[7] % nw]} {WORDS[h[8] % nw]} #{self.i}"

    def text(self) -> str:
        """The body text (plain)."""
        return LOREM[: 280 + self.h[9] * (len(LOREM) - 280) // 255]

    def sender(self) -> str:
        """The sender as a JSON recipient."""
        return self.mb._me_json if self.sent else self.mb.store._names_json[self.k]


def _etag_json(m: _MessageText) -> str:
    return f'"W/\\"{base64.b64encode(m.h[10:25]).decode()}\\""'


def _stamp_json(m: _MessageText) -> str:
    return f'"{m.when.isoformat()}Z"'


def _body_json(m: _MessageText) -> str:
    return _BODY_PARTS[0] + m.text() + _BODY_PARTS[1] + m.mb.store._names[m.k][0] + _BODY_PARTS[2]


def _conversation_json(m: _MessageText) -> str:
    conv = base64.urlsafe_b64encode(hashlib.blake2b(m.subject().encode(), digest_size=30).digest()).decode()
    return f'"AAQkA{conv}"'


def _categories_json(m: _MessageText) -> str:
    return "[]" if m.h[25] < 205 else ('["Blue category"]' if m.h[25] & 1 else '["Red category"]')


_WEB_LINK = '"https://outlook.office365.com/owa/?ItemID={}&exvsurl=1&viewmodel=ReadMessageItem"'

# Each message property's JSON text (a function of the message, or the same for all), in make_message's key order.
_MESSAGE_JSON: dict[str, str | Callable[[_MessageText], str]] = {
    "@odata.etag": _etag_json,
    "id": lambda m: f'"{m.mid}"',
    "createdDateTime": _stamp_json,
    "lastModifiedDateTime": lambda m: f'"{(m.when + dt.timedelta(minutes=1)).isoformat()}Z"',
    "changeKey": lambda m: f'"{base64.b64encode(m.h[10:25]).decode()}"',
    "categories": _categories_json,
    "receivedDateTime": _stamp_json,
    "sentDateTime": lambda m: f'"{(m.when - dt.timedelta(seconds=1 + m.h[26] % 90)).isoformat()}Z"',
    "hasAttachments": lambda m: "true" if attachment_count(m.mid) > 0 else "false",
    "internetMessageId": lambda m: f'"<{m.mid[5:30]}@{m.mb._domain}>"',
    "subject": lambda m: f'"{m.subject()}"',
    "bodyPreview": lambda m: f'"{m.text()[:255]}"',
    "importance": lambda m: '"normal"' if m.h[27] < 230 else '"high"',
    "parentFolderId": lambda m: f'"{m.mb.folder_ids[m.fi]}"',
    "conversationId": _conversation_json,
    "conversationIndex": lambda m: f'"{base64.b64encode(m.h[:22]).decode()}"',
    "isDeliveryReceiptRequested": "false",
    "isReadReceiptRequested": "false",
    "isRead": lambda m: "true" if (m.sent or m.h[28] < 180) else "false",
    "isDraft": lambda m: "true" if FOLDERS[m.fi].well_known == "drafts" else "false",
    "webLink": lambda m: _WEB_LINK.format(m.mid),
    "inferenceClassification": lambda m: '"focused"' if m.h[29] < 205 else '"other"',
    "body": _body_json,
    "sender": _MessageText.sender,
    "from": _MessageText.sender,
    "toRecipients": lambda m: f"[{m.mb.store._names_json[m.k] if m.sent else m.mb._me_json}]",
    "ccRecipients": lambda m: "[]" if m.h[30] < 180 else f"[{m.mb.store._names_json[m.k]}]",
    "bccRecipients": "[]",
    "replyTo": "[]",
    "flag": lambda m: '{"flagStatus":"notFlagged"}' if m.h[31] < 230 else '{"flagStatus":"flagged"}',
}


@functools.lru_cache(maxsize=64)
def _message_plan(select: tuple[str, ...] | None) -> tuple[list[tuple[str, Callable[[_MessageText], str]]], str]:
    """How to render a $select (MESSAGE_SHAPE.project's keys and order): (text before, JSON text function) pairs
    and the closing text; properties with the same text for every message are folded into the text between."""
    keys = list(_MESSAGE_JSON) if select is None else ["@odata.etag", "id", *(k for k in select if k != "id")]
    plan: list[tuple[str, Callable[[_MessageText], str]]] = []
    literal = ""
    for key in keys:
        text = _MESSAGE_JSON.get(key) or MESSAGE_SHAPE.unset_json(key)
        if text is None:
            continue
        literal += ("," if plan or literal else "{") + f'"{key}":'
        if isinstance(text, str):
            literal += text
        else:
            plan.append((literal, text))
            literal = ""
    return plan, literal + "}"


_EPOCH = dt.datetime(1970, 1, 1)


class LRU:
    """Bounded cache of generated (unmutated) collections, sized by item count."""

    def __init__(self, capacity_items: int) -> None:
        self.capacity = capacity_items
        self._data: OrderedDict[tuple[str, ...], Collection] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...], build: Callable[[], Collection]) -> Collection:
        """The cached collection for key, building it when absent."""
        with self._lock:
            hit = self._data.get(key)
            if hit is not None:
                self._data.move_to_end(key)
                return hit
        coll = build()
        with self._lock:
            if key not in self._data:
                self._data[key] = coll
                self._size += coll.count()
                while self._size > self.capacity and len(self._data) > 1:
                    _, old = self._data.popitem(last=False)
                    self._size -= old.count()
            return self._data[key]

    def pop(self, key: tuple[str, ...]) -> Collection | None:
        """Remove and return a cached collection (to pin it)."""
        with self._lock:
            c = self._data.pop(key, None)
            if c is not None:
                self._size -= c.count()
            return c


class Mailbox:
    """One user's Outlook data. Lightweight until something is read."""

    def __init__(self, store: MailboxStore, user: dict[str, Any]) -> None:
        self.store = store
        self.user_id: str = user["id"]
        self.idx: int = user["_index"]
        self.name: str = user["displayName"]
        self.address: str = user["mail"] or user["userPrincipalName"]
        seed = store.seed
        rng = random.Random(f"mbx:{seed}:{self.idx}")
        sc = store.scale
        self.total_messages = max(1, int(sc.messages_per_mailbox * rng.uniform(0.5, 1.5)))
        self.counts = [round(self.total_messages * f.weight) for f in FOLDERS]
        self.n_single = max(1, int(sc.events_per_mailbox * rng.uniform(0.5, 1.5)))
        self.n_series = sc.series_per_mailbox
        self.n_contacts = max(1, int(sc.contacts_per_mailbox * rng.uniform(0.5, 1.5)))
        self.ccounts = [round(self.n_contacts * w) for _, w in CONTACT_FOLDERS]
        self.folder_ids = [make_id(K_FOLDER, self.idx, i, 0, seed) for i in range(len(FOLDERS))]
        self.root_id = make_id(K_FOLDER, self.idx, 0xFFFF, 0, seed)
        self.cfolder_ids = [make_id(K_CFOLDER, self.idx, i, 0, seed) for i in range(len(CONTACT_FOLDERS))]
        self.calendar_ids = [make_id(K_CAL, self.idx, i, 0, seed) for i in range(len(CALENDARS))]
        self._domain = self.address.split("@")[-1]
        self._me_json = f'{{"emailAddress":{{"name":{_js(self.name)},"address":{_js(self.address)}}}}}'
        self._series_facts: dict[int, tuple[int, str, str]] = {}
        self._series_plans: dict[int, tuple[int, int, int, int]] = {}
        self.pinned: dict[tuple[str, ...], Collection] = {}
        self.next_index: dict[tuple[str, ...], int] = {}
        # Outlook ids of moved items: a move gives the item a new regular id (it encodes the folder); its immutable
        # id stays the one it was created with. Every regular id a moved item ever had -> the id it was created with
        self.origins: dict[str, str] = {}
        self.current: dict[str, str] = {}  # the id an item was created with -> its regular id now (moved items)
        self.lock = threading.RLock()

    # ---- the two id types ----------------------------------------------------------------------
    def origin(self, item_id: str) -> str:
        """The regular id an item (a message, contact) was created with, whatever folder it moved to since."""
        return self.origins.get(item_id, item_id)

    def immutable_id(self, item_id: str) -> str:
        """An item's immutable id from any regular id it had (a removed one too): the same in every folder."""
        return immutable_of(self.origins.get(item_id, item_id))

    def regular_id(self, item_id: str) -> str:
        """The item's regular id now, from either id type (Graph takes both in a request's path)."""
        if not item_id.startswith(IMMUTABLE_PREFIX):
            return item_id
        origin = REGULAR_PREFIX + item_id[len(IMMUTABLE_PREFIX) :]
        return self.current.get(origin, origin)

    def as_immutable(self, body: bytes) -> bytes:
        """A page or item of Outlook items (JSON bytes) with immutable ids: each item's ``id`` (``@removed`` entries
        too) and ``seriesMasterId``. Folder ids (``parentFolderId``) stay: containers have one id type."""
        if not self.origins:  # nothing moved: an immutable id is the regular one with the other prefix
            return body.replace(_REGULAR_ID, _IMMUTABLE_ID).replace(_REGULAR_MASTER, _IMMUTABLE_MASTER)
        return _ITEM_ID.sub(lambda m: m[1] + self.immutable_id(m[2].decode()).encode() + b'"', body)

    def note_move(self, old_id: str, new_id: str) -> None:
        """An item moved to another folder: ``new_id`` is its new regular id, its immutable id does not change."""
        with self.lock:
            origin = self.origins.get(old_id, old_id)
            self.origins[new_id] = origin
            self.current[origin] = new_id

    # ---- generic collection access -------------------------------------------------------------
    def _coll(self, key: tuple[str, ...], build: Callable[[], Collection]) -> Collection:
        hit = self.pinned.get(key)
        if hit is not None:
            return hit
        return self.store.lru.get((self.user_id, *key), build)

    def pin(self, key: tuple[str, ...], build: Callable[[], Collection]) -> Collection:
        """The collection for key, kept for good (call before mutating it)."""
        with self.lock:
            hit = self.pinned.get(key)
            if hit is None:
                hit = self.store.lru.pop((self.user_id, *key)) or build()
                self.pinned[key] = hit
            return hit

    def is_pinned(self, key: tuple[str, ...]) -> bool:
        """True once the collection was mutated (unmutated ones have no changes to report)."""
        return key in self.pinned

    # ---- mail folders --------------------------------------------------------------------------
    def folder_index(self, key: str) -> int | None:
        """Folder index from an id or well-known name."""
        if key.lower() in WELL_KNOWN:
            return WELL_KNOWN[key.lower()]
        p = parse_id(key)
        if p and p[0] == K_FOLDER and p[1] == self.idx and p[2] < len(FOLDERS) and self.folder_ids[p[2]] == key:
            return p[2]
        return None

    def folders(self) -> Collection:
        """All mail folders (flat), as mailFolders/delta returns them."""
        return self._coll(("folders",), self._build_folders)

    def _build_folders(self) -> Collection:
        items = []
        for i, f in enumerate(FOLDERS):
            children = sum(1 for g in FOLDERS if g.parent == i)
            items.append(
                {
                    "id": self.folder_ids[i],
                    "displayName": f.name,
                    "parentFolderId": self.root_id if f.parent < 0 else self.folder_ids[f.parent],
                    "childFolderCount": children,
                    "unreadItemCount": self.counts[i] // 3,
                    "totalItemCount": self.counts[i],
                    "isHidden": False,
                }
            )
        return Collection(self.store.clock, items)

    # ---- messages ------------------------------------------------------------------------------
    def messages(self, fi: int) -> Collection:
        """Messages of folder index fi."""
        return self._coll(("msgs", str(fi)), lambda: self._build_messages(fi))

    def pin_messages(self, fi: int) -> Collection:
        """Messages of folder fi, pinned for mutation."""
        return self.pin(("msgs", str(fi)), lambda: self._build_messages(fi))

    def base_message_ids(self, fi: int) -> Iterator[str]:
        """Ids of the seeded messages of folder fi (cheap; no bodies)."""
        seed = self.store.seed
        for i in range(self.counts[fi]):
            yield make_id(K_MESSAGE, self.idx, fi, i, seed)

    def _build_messages(self, fi: int) -> Collection:
        ids = list(self.base_message_ids(fi))
        return LazyCollection(
            self.store.clock,
            ids,
            lambda i: self.make_message(fi, i, ids[i]),
            lambda i, select: self.render_message(fi, i, select, ids[i]),
            MESSAGE_SHAPE,
        )

    def make_message(self, fi: int, i: int, mid: str | None = None) -> dict[str, Any]:
        """The seeded message i of folder fi (or a new one with the given id). Pure function of the id."""
        seed = self.store.seed
        mid = mid or make_id(K_MESSAGE, self.idx, fi, i, seed)
        h = hashlib.blake2b(mid.encode(), digest_size=32).digest()
        minutes = 10 + int.from_bytes(h[0:4], "big") % (60 * 24 * 280)
        when = self.store.anchor_naive - dt.timedelta(minutes=minutes)
        other = self.store._names[int.from_bytes(h[4:6], "big") % len(self.store._names)]
        wk = FOLDERS[fi].well_known
        sent = wk in ("sentitems", "drafts", "outbox")
        me = {"emailAddress": {"name": self.name, "address": self.address}}
        them = {"emailAddress": {"name": other[0], "address": other[1]}}
        nw = len(WORDS)
        subject = f"{WORDS[h[6] % nw].title()} {WORDS[h[7] % nw]} {WORDS[h[8] % nw]} #{i}"
        text = LOREM[: 280 + h[9] * (len(LOREM) - 280) // 255]
        n_att = attachment_count(mid)
        conv = base64.urlsafe_b64encode(hashlib.blake2b(subject.encode(), digest_size=30).digest()).decode()
        ck = base64.b64encode(h[10:25]).decode()
        stamp = when.isoformat() + "Z"
        return {
            "@odata.etag": f'W/"{ck}"',
            "id": mid,
            "createdDateTime": stamp,
            "lastModifiedDateTime": (when + dt.timedelta(minutes=1)).isoformat() + "Z",
            "changeKey": ck,
            "categories": [] if h[25] < 205 else ["Blue category" if h[25] & 1 else "Red category"],
            "receivedDateTime": stamp,
            "sentDateTime": (when - dt.timedelta(seconds=1 + h[26] % 90)).isoformat() + "Z",
            "hasAttachments": n_att > 0,
            "internetMessageId": f"<{mid[5:30]}@{self.address.split('@')[-1]}>",
            "subject": subject,
            "bodyPreview": text[:255],
            "importance": "normal" if h[27] < 230 else "high",
            "parentFolderId": self.folder_ids[fi],
            "conversationId": "AAQkA" + conv,
            "conversationIndex": base64.b64encode(h[:22]).decode(),
            "isDeliveryReceiptRequested": False,
            "isReadReceiptRequested": False,
            "isRead": sent or h[28] < 180,
            "isDraft": wk == "drafts",
            "webLink": f"https://outlook.office365.com/owa/?ItemID={mid}&exvsurl=1&viewmodel=ReadMessageItem",
            "inferenceClassification": "focused" if h[29] < 205 else "other",
            "body": {"contentType": "html", "content": BODY_HTML.format(text=text, sender=other[0])},
            "sender": me if sent else them,
            "from": me if sent else them,
            "toRecipients": [them if sent else me],
            "ccRecipients": [] if h[30] < 180 else [them],
            "bccRecipients": [],
            "replyTo": [],
            "flag": {"flagStatus": "notFlagged" if h[31] < 230 else "flagged"},
        }

    def render_message(self, fi: int, i: int, select: tuple[str, ...] | None = None, mid: str | None = None) -> bytes:
        """JSON bytes of MESSAGE_SHAPE.project(make_message(fi, i), select); computes only the selected properties."""
        m = _MessageText(self, fi, i, mid or make_id(K_MESSAGE, self.idx, fi, i, self.store.seed))
        plan, tail = _message_plan(select)
        return ("".join([head + text(m) for head, text in plan]) + tail).encode()

    def find_message(self, mid: str) -> tuple[int, dict[str, Any]] | None:
        """(folder index, message) by id."""
        p = parse_id(mid)
        if not p or p[0] != K_MESSAGE or p[1] != self.idx or p[2] >= len(FOLDERS):
            return None
        item = self.messages(p[2]).get(mid)
        return (p[2], item) if item is not None else None

    def find_message_head(self, mid: str) -> tuple[int, dict[str, Any]] | None:
        """(folder index, the message's id, hasAttachments and lastModifiedDateTime): what its attachment list
        derives from, without building a seeded message."""
        p = parse_id(mid)
        if not p or p[0] != K_MESSAGE or p[1] != self.idx or p[2] >= len(FOLDERS):
            return None
        coll = self.messages(p[2])
        k = coll.seeded_index(mid) if isinstance(coll, LazyCollection) else None
        if k is None:
            return self.find_message(mid)
        changed = _MessageText(self, p[2], k, mid).when + dt.timedelta(minutes=1)
        head = {
            "id": mid,
            "hasAttachments": attachment_count(mid) > 0,
            "lastModifiedDateTime": f"{changed.isoformat()}Z",
        }
        return p[2], head

    def new_message_index(self, fi: int) -> int:
        """A fresh per-folder index for a created or moved message."""
        with self.lock:
            key = ("msgs", str(fi))
            n = self.next_index.get(key, self.counts[fi] + 1000)
            self.next_index[key] = n + 1
            return n

    # ---- attachments ---------------------------------------------------------------------------
    def attachments(self, item: dict[str, Any], item_id: str | None = None) -> list[dict[str, Any]]:
        """Attachment metadata of a message or event; their ids extend ``item_id`` (the item's id as the request
        asked it: regular or immutable), the rest derives from the item as created (a move keeps them)."""
        out = []
        origin = self.origin(item["id"])
        rng = random.Random(f"att:{origin}")
        n_att = item["_attachments"] if "_attachments" in item else attachment_count(origin)
        for n in range(int(n_att) if item.get("hasAttachments") else 0):
            name, ctype = rng.choice(
                [
                    ("report.pdf", "application/pdf"),
                    ("photo.jpg", "image/jpeg"),
                    ("notes.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
                ]
            )
            out.append(
                {
                    "@odata.type": "#microsoft.graph.fileAttachment",
                    "@odata.mediaContentType": ctype,
                    "id": attachment_id(item_id or item["id"], n),
                    "lastModifiedDateTime": item.get("lastModifiedDateTime"),
                    "name": f"{n + 1}-{name}",
                    "contentType": ctype,
                    "size": rng.randint(2_000, 900_000),
                    "isInline": False,
                    "contentId": None,
                    "contentLocation": None,
                }
            )
        return out

    # ---- calendars and events ------------------------------------------------------------------
    def calendars(self) -> list[dict[str, Any]]:
        """The user's calendars (the first is the default)."""
        out = []
        for i, name in enumerate(CALENDARS):
            out.append(
                {
                    "id": self.calendar_ids[i],
                    "name": name,
                    "color": ["auto", "lightBlue", "lightGreen"][i],
                    "hexColor": "",
                    "isDefaultCalendar": i == 0,
                    "changeKey": base64.b64encode(self.calendar_ids[i][-12:].encode()).decode(),
                    "canShare": i == 0,
                    "canViewPrivateItems": True,
                    "canEdit": i == 0,
                    "allowedOnlineMeetingProviders": ["teamsForBusiness"],
                    "defaultOnlineMeetingProvider": "teamsForBusiness",
                    "isTallyingResponses": i == 0,
                    "isRemovable": i != 0,
                    "owner": {"name": self.name, "address": self.address},
                }
            )
        return out

    def events(self) -> Collection:
        """Event instances of the primary calendar (singles, occurrences, exceptions)."""
        return self._coll(("events",), self._build_events)

    def pin_events(self) -> Collection:
        """Event instances, pinned for mutation."""
        return self.pin(("events",), self._build_events)

    def _build_events(self) -> Collection:
        items = [self.make_event(SINGLE, i) for i in range(self.n_single)]
        for s, k, first, exception in self._series_instances():
            items.append(self.make_event(s, k, first_day=first, exception=exception))
        return Collection(self.store.clock, items)

    def series_plan(self, s: int) -> tuple[int, int, int, int]:
        """(first day, occurrences, exception index, cancelled index or -1) of seeded series ``s``."""
        plan = self._series_plans.get(s)
        if plan is None:
            if s < self.n_series:
                rng = random.Random(f"series:{self.store.seed}:{self.idx}:{s}")
                n = rng.randint(4, 10)
                first = rng.randint(-250, 200)
                exception = rng.randrange(n)
                cancelled = rng.randrange(n) if n > 5 else -1
                plan = (first, n, exception, cancelled)
            else:
                first, n = EXTRA_SERIES[s - self.n_series]
                plan = (first, n, -1, -1)
            self._series_plans[s] = plan
        return plan

    def _series_instances(self, in_window: bool = False) -> Iterator[tuple[int, int, int, bool]]:
        """(series, k, first day, is exception) of every seeded occurrence (``in_window``: those inside the
        pipeline's calendarView window, what its truth counts)."""
        for s in range(self.n_series + len(EXTRA_SERIES)):
            first, n, exception, cancelled = self.series_plan(s)
            for k in range(n):
                if (k == cancelled and k != exception) or (in_window and first + 7 * k < 2 - WINDOW_DAYS):
                    continue
                yield s, k, first, k == exception

    # ---- series masters ------------------------------------------------------------------------
    def series_masters(self) -> Collection:
        """The recurring series of the primary calendar (``type: seriesMaster``, with their recurrence)."""
        return self._coll(("masters",), self._build_masters)

    def pin_series_masters(self) -> Collection:
        """Series masters, pinned for mutation."""
        return self.pin(("masters",), self._build_masters)

    def _build_masters(self) -> Collection:
        return Collection(self.store.clock, [self.make_master(s) for s in range(self.n_series + len(EXTRA_SERIES))])

    def base_master_ids(self) -> list[str]:
        """Ids of the seeded series masters."""
        return [self._series(s)[1] for s in range(self.n_series + len(EXTRA_SERIES))]

    def make_master(self, s: int, first_day: int | None = None, n: int | None = None) -> dict[str, Any]:
        """The seriesMaster of weekly series ``s``: its first occurrence's times, its recurrence pattern/range."""
        plan_first, plan_n, _, _ = self.series_plan(s) if s < self.n_series + len(EXTRA_SERIES) else (0, 0, -1, -1)
        first = plan_first if first_day is None else first_day
        count = plan_n if n is None else n
        _, master, _ = self._series(s)
        item = self.make_event(s, 0, first_day=first)
        start = self.store.anchor_naive + dt.timedelta(days=first)
        last = start + dt.timedelta(days=7 * (count - 1))
        return {
            **item,
            "id": master,
            "type": "seriesMaster",
            "seriesMasterId": None,
            "iCalUId": "040000008200E00074C5B7101A82E008" + hashlib.md5(master.encode()).hexdigest().upper(),
            "recurrence": {
                "pattern": {
                    "type": "weekly",
                    "interval": 1,
                    "month": 0,
                    "dayOfMonth": 0,
                    "daysOfWeek": [start.strftime("%A").lower()],
                    "firstDayOfWeek": "sunday",
                    "index": "first",
                },
                "range": {
                    "type": "endDate",
                    "startDate": start.strftime("%Y-%m-%d"),
                    "endDate": last.strftime("%Y-%m-%d"),
                    "recurrenceTimeZone": "UTC",
                    "numberOfOccurrences": 0,
                },
            },
        }

    def make_event(
        self, series: int, k: int, *, first_day: int = 0, exception: bool = False, eid: str | None = None
    ) -> dict[str, Any]:
        """A single event (series == SINGLE) or occurrence k of a weekly series."""
        store = self.store
        eid = eid or make_id(K_EVENT, self.idx, series, k, store.seed)
        rng = random.Random(eid)
        if series == SINGLE:
            start = store.anchor_naive + dt.timedelta(days=rng.randint(-290, 290), hours=rng.randint(7, 17))
            kind, master, subject = "singleInstance", None, f"{rng.choice(WORDS).title()} {rng.choice(WORDS)}"
            n_att = attachment_count(eid)
        else:
            hour, master, subject = self._series(series)
            start = store.anchor_naive + dt.timedelta(days=first_day + 7 * k, hours=hour + (1 if exception else 0))
            kind = "exception" if exception else "occurrence"
            n_att = 0
        end = start + dt.timedelta(minutes=rng.choice([30, 60, 90]))
        other = store.contact_name(rng)
        ck = base64.b64encode(hashlib.blake2b(eid.encode(), digest_size=15).digest()).decode()
        event = {
            "@odata.etag": f'W/"{ck}"',
            "id": eid,
            "createdDateTime": store.days_before[300],
            "lastModifiedDateTime": store.days_before[rng.randint(1, 299)],
            "changeKey": ck,
            "categories": [],
            "transactionId": None,
            "originalStartTimeZone": "UTC",
            "originalEndTimeZone": "UTC",
            "iCalUId": "040000008200E00074C5B7101A82E008" + hashlib.md5(eid.encode()).hexdigest().upper(),
            "reminderMinutesBeforeStart": 15,
            "isReminderOn": True,
            "hasAttachments": n_att > 0,
            "subject": subject,
            "bodyPreview": LOREM[:120],
            "importance": "normal",
            "sensitivity": "normal",
            "isAllDay": False,
            "isCancelled": False,
            "isOrganizer": rng.random() < 0.5,
            "responseRequested": True,
            "seriesMasterId": master,
            "showAs": "busy",
            "type": kind,
            "webLink": f"https://outlook.office365.com/owa/?itemid={eid}&exvsurl=1&path=/calendar/item",
            "onlineMeetingUrl": None,
            "isOnlineMeeting": False,
            "responseStatus": {"response": "organizer", "time": "0001-01-01T00:00:00Z"},
            "body": {"contentType": "html", "content": f"<html><body><p>{LOREM[:200]}</p></body></html>"},
            "start": {"dateTime": start.isoformat() + ".0000000", "timeZone": "UTC"},  # whole minutes
            "end": {"dateTime": end.isoformat() + ".0000000", "timeZone": "UTC"},
            "location": {"displayName": f"Room {rng.randint(1, 40)}", "locationType": "default"},
            "locations": [],
            "recurrence": None,
            "attendees": [
                {
                    "type": "required",
                    "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
                    "emailAddress": {"name": other[0], "address": other[1]},
                }
            ],
            "organizer": {"emailAddress": {"name": self.name, "address": self.address}},
            "_start": (start - _EPOCH).total_seconds(),  # what .timestamp() of the UTC datetime gives
            "_end": (end - _EPOCH).total_seconds(),
            "_attachments": n_att,
        }
        room = self._room_of(eid if series == SINGLE else f"series:{series}")
        if room is not None:
            self._book(event, room, random.Random(f"room:{eid}"))
        return event

    def _room_of(self, key: str) -> RoomRef | None:
        """The room a single event (by id) or a whole series (``series:<n>``) books, if any."""
        rng = random.Random(f"room:{self.store.seed}:{self.idx}:{key}")
        rooms = self.store.rooms
        if not rooms or rng.random() >= ROOM_SHARE:
            return None
        return rooms[rng.randrange(len(rooms))]

    @staticmethod
    def _book(event: dict[str, Any], room: RoomRef, rng: random.Random) -> None:
        """Invite ``room`` as a resource attendee and make it the location (what Outlook does on booking)."""
        location = {
            "displayName": room.name,
            "locationType": "conferenceRoom",
            "locationEmailAddress": room.email,
            "uniqueId": room.email,
            "uniqueIdType": "directory",
        }
        # a room declines a booking that conflicts with another one (auto-accept); a few do here
        response = "declined" if rng.random() < 0.1 else "accepted"
        event["location"] = location
        event["locations"] = [location]
        event["attendees"] = [
            *event["attendees"],
            {
                "type": "resource",
                "status": {"response": response, "time": event["lastModifiedDateTime"]},
                "emailAddress": {"name": room.name, "address": room.email},
            },
        ]

    def _series(self, series: int) -> tuple[int, str, str]:
        """(hour, master id, subject) of a weekly series: what every occurrence shares."""
        facts = self._series_facts.get(series)
        if facts is None:
            srng = random.Random(f"series:{self.store.seed}:{self.idx}:{series}")
            hour = srng.randint(8, 16)
            master = make_id(K_EVENT, self.idx, series, 0xFFFFFFFF, self.store.seed)
            facts = self._series_facts[series] = (hour, master, f"Weekly {srng.choice(WORDS)} sync")
        return facts

    def base_event_ids(self) -> Iterator[str]:
        """Ids of the seeded event instances inside the sync window (the generated collection's order)."""
        seed = self.store.seed
        for i in range(self.n_single):
            yield make_id(K_EVENT, self.idx, SINGLE, i, seed)
        for s, k, _, _ in self._series_instances(in_window=True):
            yield make_id(K_EVENT, self.idx, s, k, seed)

    def find_event(self, eid: str) -> dict[str, Any] | None:
        """An event instance by id."""
        return self.events().items.get(eid)

    # ---- contacts ------------------------------------------------------------------------------
    def cfolder_index(self, key: str) -> int | None:
        """Contact folder index from an id (or 'contacts' for the default folder)."""
        if key.lower() == "contacts":
            return 0
        try:
            return self.cfolder_ids.index(key)
        except ValueError:
            return None

    def contact_folders(self) -> list[dict[str, Any]]:
        """Child folders of the default Contacts folder (what contactFolders returns)."""
        return [
            {
                "id": self.cfolder_ids[i],
                "displayName": name,
                "parentFolderId": self.cfolder_ids[0],
            }
            for i, (name, _) in enumerate(CONTACT_FOLDERS)
            if i > 0
        ]

    def contacts(self, ci: int) -> Collection:
        """Contacts of contact folder ci."""
        return self._coll(("contacts", str(ci)), lambda: self._build_contacts(ci))

    def pin_contacts(self, ci: int) -> Collection:
        """Contacts of folder ci, pinned for mutation."""
        return self.pin(("contacts", str(ci)), lambda: self._build_contacts(ci))

    def base_contact_ids(self, ci: int) -> Iterator[str]:
        """Ids of the seeded contacts of folder ci."""
        for i in range(self.ccounts[ci]):
            yield make_id(K_CONTACT, self.idx, ci, i, self.store.seed)

    def _build_contacts(self, ci: int) -> Collection:
        return Collection(self.store.clock, (self.make_contact(ci, i) for i in range(self.ccounts[ci])))

    def make_contact(self, ci: int, i: int, cid: str | None = None) -> dict[str, Any]:
        """Seeded contact i of folder ci."""
        cid = cid or make_id(K_CONTACT, self.idx, ci, i, self.store.seed)
        rng = random.Random(cid)
        name, addr = self.store.contact_name(rng)
        given, _, surname = name.partition(" ")
        ck = base64.b64encode(hashlib.blake2b(cid.encode(), digest_size=15).digest()).decode()
        return {
            "@odata.etag": f'W/"{ck}"',
            "id": cid,
            "createdDateTime": iso(self.store.anchor - dt.timedelta(days=rng.randint(30, 900))),
            "lastModifiedDateTime": iso(self.store.anchor - dt.timedelta(days=rng.randint(1, 29))),
            "changeKey": ck,
            "categories": [],
            "parentFolderId": self.cfolder_ids[ci],
            "birthday": None,
            "fileAs": f"{surname}, {given}",
            "displayName": name,
            "givenName": given,
            "initials": None,
            "middleName": None,
            "nickName": None,
            "surname": surname,
            "title": None,
            "jobTitle": rng.choice(["Buyer", "Account Manager", "CTO", None]),
            "companyName": rng.choice(["Fabrikam", "Northwind", "Tailspin", "Litware"]),
            "department": None,
            "officeLocation": None,
            "businessHomePage": None,
            "personalNotes": "",
            "mobilePhone": f"+1 555 01{rng.randint(10, 99)}",
            "homePhones": [],
            "businessPhones": [f"+1 425 555 {rng.randint(1000, 9999)}"],
            "emailAddresses": [{"name": name, "address": addr}],
            "homeAddress": {},
            "businessAddress": {},
            "otherAddress": {},
        }


class MailboxStore:
    """Creates mailboxes lazily and holds the shared LRU of generated collections."""

    def __init__(self, seed: int, scale: Scale, clock: SeqClock, directory: Directory, lru_items: int = 160_000):
        self.seed = seed
        self.scale = scale
        self.clock = clock
        self.directory = directory
        now = dt.datetime.now(dt.UTC)
        self.anchor = dt.datetime(now.year, now.month, now.day, tzinfo=dt.UTC)
        self.anchor_naive = self.anchor.replace(tzinfo=None)
        self.days_before = [iso(self.anchor - dt.timedelta(days=d)) for d in range(301)]  # event timestamps
        self.rooms = bookable_rooms(seed, directory.domain, scale.name)
        self.lru = LRU(lru_items)
        self.warm_state = "off"  # off | running | done (see warm())
        self.warm_items = 0
        self._boxes: dict[str, Mailbox] = {}
        self._lock = threading.Lock()
        names = random.Random(f"contacts:{seed}")
        firsts = "Ann Ben Carla Dev Eva Femi Gus Hana Ivan Jun Kai Lina Milo Nia Omar Pia Quinn Rosa Sam Tia".split()
        lasts = "Abbott Baker Chen Diaz Evans Fox Gupta Hall Ito Jones Khan Lee Moss Ng Ortiz Park Quade Ruiz".split()
        self._names = [
            (f"{f} {lname}", f"{f.lower()}.{lname.lower()}@{names.choice(['fabrikam.com', 'northwind.com'])}")
            for f in firsts
            for lname in lasts
        ]
        self._names_json = [f'{{"emailAddress":{{"name":{_js(n)},"address":{_js(a)}}}}}' for n, a in self._names]

    def contact_name(self, rng: random.Random) -> tuple[str, str]:
        """An external correspondent (name, address)."""
        return self._names[rng.randrange(len(self._names))]

    def resolve(self, key: str) -> Mailbox:
        """The mailbox of a user id/UPN, or the Graph error a real tenant would give."""
        user = self.directory.find_user(key)
        if user is None:
            raise GraphError(404, "ErrorInvalidUser", f"The requested user '{key}' is invalid.")
        kind = user["_mailbox"]
        if kind == "denied":
            raise GraphError(
                403,
                "ErrorAccessDenied",
                "Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings.",
            )
        if kind not in READABLE:
            raise GraphError(
                404,
                "MailboxNotEnabledForRESTAPI",
                "The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
            )
        return self.get(user)

    def get(self, user: dict[str, Any]) -> Mailbox:
        """The (lazily created) mailbox of a user dict."""
        box = self._boxes.get(user["id"])
        if box is None:
            with self._lock:
                box = self._boxes.get(user["id"])
                if box is None:
                    box = Mailbox(self, user)
                    self._boxes[user["id"]] = box
        return box

    def warm(self, stop: threading.Event) -> int:
        """Pre-render every mailbox's messages (default form) into the LRU until it is nearly full."""
        done = 0
        self.warm_state = "running"
        try:
            for mb in self.readable():
                for fi in range(len(FOLDERS)):
                    if stop.is_set() or done + mb.counts[fi] > self.lru.capacity * 0.9:
                        return done
                    mb.messages(fi).rendered(MESSAGE_SHAPE, None)
                    done += mb.counts[fi]
                    self.warm_items = done
                stop.wait(0.0002)  # let request threads have the GIL
            return done
        finally:
            self.warm_state = "done"

    def readable(self) -> Iterator[Mailbox]:
        """Mailboxes of live users that Graph would serve."""
        for u in list(self.directory.users.items.values()):
            if u["_mailbox"] in READABLE:
                yield self.get(u)
