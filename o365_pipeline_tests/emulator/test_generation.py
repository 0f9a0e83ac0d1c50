"""The fast message renderer must produce exactly what rendering the message dict produces."""

from __future__ import annotations

import datetime as dt
import json

from o365_pipeline.emulator.core import Emulator
from o365_pipeline.emulator.mailbox import MESSAGE_SHAPE
from o365_pipeline.emulator.odata import dumps

SELECT = tuple(sorted(["subject", "from", "toRecipients", "isRead", "flag", "categories", "bodyPreview"]))
PIPELINE_SELECT = (  # the pipeline's message stream (metadata, no body)
    "id,subject,from,sender,toRecipients,ccRecipients,receivedDateTime,sentDateTime,hasAttachments,importance,"
    "isRead,isDraft,parentFolderId,conversationId,internetMessageId,bodyPreview,categories,flag,lastModifiedDateTime"
).split(",")
SELECTS = (
    None,
    SELECT,
    ("subject",),
    ("hasAttachments", "id", "lastModifiedDateTime"),  # the attachment reader's parent stream
    tuple(sorted(PIPELINE_SELECT)),
    ("body", "internetMessageHeaders", "isDeliveryReceiptRequested", "replyTo", "uniqueBody"),  # constants, unset
)


def test_fragment_rendering_equals_dict_rendering() -> None:
    emu = Emulator(seed=5, scale="small")
    checked = 0
    for mb in emu.mailboxes.readable():
        for fi in range(len(mb.counts)):
            for i in range(mb.counts[fi]):
                item = mb.make_message(fi, i)
                for sel in SELECTS:
                    assert mb.render_message(fi, i, sel) == dumps(MESSAGE_SHAPE.project(item, sel))
                checked += 1
    assert checked > 100


def test_lazy_folder_pages_do_not_build_dicts_until_written() -> None:
    emu = Emulator(seed=5, scale="small")
    mb = next(emu.mailboxes.readable())
    coll = mb.messages(0)
    assert coll.rendered(MESSAGE_SHAPE, None) and coll.rendered(MESSAGE_SHAPE, SELECT)
    assert not coll.materialized
    first = coll.sample()
    assert first is not None and coll.get(first["id"]) == first
    assert not coll.materialized
    pinned = mb.pin_messages(0)
    pinned.remove(first["id"])
    assert pinned.materialized
    assert first["id"] not in {json.loads(b)["id"] for b in pinned.rendered(MESSAGE_SHAPE, None)}


def test_message_head_equals_the_seeded_message() -> None:
    emu = Emulator(seed=5, scale="small")
    mb = next(emu.mailboxes.readable())
    for fi in range(len(mb.counts)):
        for i in range(mb.counts[fi]):
            item = mb.make_message(fi, i)
            head = mb.find_message_head(item["id"])
            assert head == (fi, {k: item[k] for k in ("id", "hasAttachments", "lastModifiedDateTime")})
    mid = next(mb.base_message_ids(0))
    pinned = mb.pin_messages(0)
    pinned.upsert(dict(pinned.items[mid], hasAttachments=False), fields=["hasAttachments"])
    found = mb.find_message_head(mid)
    assert found is not None and found[1]["hasAttachments"] is False  # a written folder answers from its dicts
    assert mb.find_message_head(mid[:-4] + "AAA=") is None


def test_event_times_agree_with_their_internal_timestamps() -> None:
    emu = Emulator(seed=5, scale="small")
    store = emu.mailboxes
    checked = 0
    for mb in store.readable():
        masters: dict[str, tuple[str, str]] = {}
        for e in mb.events().items.values():
            for key in ("start", "end"):
                when = dt.datetime.strptime(e[key]["dateTime"], "%Y-%m-%dT%H:%M:%S.0000000").replace(tzinfo=dt.UTC)
                assert when.timestamp() == e[f"_{key}"] and e[key]["timeZone"] == "UTC"
            assert e["createdDateTime"] == (store.anchor - dt.timedelta(days=300)).strftime("%Y-%m-%dT%H:%M:%SZ")
            changed = dt.datetime.strptime(e["lastModifiedDateTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
            assert 1 <= (store.anchor - changed).days <= 299 and changed.time() == dt.time(0)
            if e["seriesMasterId"]:  # occurrences of a series share its subject and hour (exceptions move +1 h)
                hour = int(e["start"]["dateTime"][11:13]) - (e["type"] == "exception")
                assert masters.setdefault(e["seriesMasterId"], (e["subject"], hour)) == (e["subject"], hour)
            checked += 1
    assert checked > 100
