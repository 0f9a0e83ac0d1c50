"""Immutable Outlook ids in the client and the readers: the preference rides in one Prefer header on every request
(each one inside $batch too), and a mailbox's folder rounds tell a move (same id removed from one folder, present
in another, not modified since the last run) from a change."""

from __future__ import annotations

from o365_pipeline.auth import O365Auth
from o365_pipeline.graph.client import with_prefer
from o365_pipeline.graph.entities import ENTITIES
from o365_pipeline.graph.errors import GraphError
from o365_pipeline.graph.feed import Changes, ParentFeed, publish
from o365_pipeline.graph.id_types import IMMUTABLE, PREFER_IMMUTABLE, REGULAR, preferences
from o365_pipeline.graph.readers import DELETED_COLUMN, HOLD_ROWS, MailboxRound, Rows
from o365_pipeline.sync import make_client

OLD = "2026-01-01T00:00:00Z"  # before the last run started (``BEFORE``)
NEW = "2026-06-01T00:00:00Z"
BEFORE = 1767225600.0 + 86400 * 30  # 2026-01-31


def row(item_id: str, *, removed: bool = False, modified: str = OLD) -> dict[str, object]:
    if removed:
        return {"id": item_id, DELETED_COLUMN: True}
    return {"id": item_id, "lastModifiedDateTime": modified, "hasAttachments": True, DELETED_COLUMN: False}


def rounds(reconciled: MailboxRound, pages: list[tuple[list[dict[str, object]], bool]]) -> list[Rows]:
    out = [rows for page, changes in pages for rows in reconciled.add(page, changes)]
    return out + list(reconciled.end())


def test_prefer_values_share_one_header() -> None:
    assert with_prefer(None, ()) is None
    assert with_prefer({"Prefer": "odata.maxpagesize=1000"}, (PREFER_IMMUTABLE,)) == {
        "Prefer": 'odata.maxpagesize=1000, IdType="ImmutableId"'
    }
    assert with_prefer({"prefer": PREFER_IMMUTABLE}, (PREFER_IMMUTABLE,)) == {"prefer": PREFER_IMMUTABLE}
    assert with_prefer(None, (PREFER_IMMUTABLE,)) == {"Prefer": PREFER_IMMUTABLE}
    outlook = [name for name, entity in ENTITIES.items() if preferences(entity, IMMUTABLE)]
    assert {"messages", "message_attachments", "events", "contacts"} <= set(outlook)
    assert "users" not in outlook and "drive_items" not in outlook
    assert not any(preferences(entity, REGULAR) for entity in ENTITIES.values())


def test_a_move_in_either_order_is_told_from_a_change() -> None:
    reconciled = MailboxRound(hold_moves=True, unchanged_before=BEFORE)
    out = rounds(
        reconciled,
        [
            ([row("a"), row("b", modified=NEW), row("c")], True),  # the new folder first
            ([row("a", removed=True), row("b", removed=True), row("d", removed=True)], True),  # then the old one
            ([row("e", removed=True)], True),
            ([row("e"), row("f")], False),  # a full round (a new folder): handed on at once, never a move
        ],
    )
    assert [sorted(r["id"] for r in rows.rows) for rows in out] == [["e", "f"], ["a", "b", "c"], ["d"]]
    assert [rows.moved for rows in out] == [frozenset(), frozenset({"a"}), frozenset()]  # b was modified: a change
    assert out[2].rows[0][DELETED_COLUMN]  # d is removed, e and a are not: present in another folder


def test_regular_ids_and_unknown_last_runs_hold_nothing() -> None:
    for reconciled in (MailboxRound(), MailboxRound(hold_moves=True, unchanged_before=None)):
        out = rounds(reconciled, [([row("a")], True), ([row("a", removed=True), row("b", removed=True)], True)])
        assert [[r["id"] for r in rows.rows] for rows in out] == [["a"], ["b"]]
        assert not any(rows.moved for rows in out)


def test_held_rows_stay_bounded() -> None:
    reconciled = MailboxRound(hold_moves=True, unchanged_before=BEFORE)
    out = list(reconciled.add([row(f"m{n}") for n in range(HOLD_ROWS + 1)], True))
    assert len(out) == 1 and len(out[0].rows) == HOLD_ROWS + 1 and not out[0].moved
    assert not reconciled.held


def test_moved_parents_are_not_handed_to_their_attachment_table() -> None:
    feed = ParentFeed("messages", capacity=10)
    moved = Rows([{**row("a"), "user_id": "u"}, {**row("b"), "user_id": "u"}], moved=frozenset({"a"}))
    assert list(publish(iter([moved]), feed)) == [moved]
    assert feed.get() == Changes("u", ("b",), ("b",))


def test_the_client_asks_each_request_and_each_batched_one_for_immutable_ids(o365_env: dict[str, str]) -> None:
    with make_client(O365Auth.from_env()) as client:
        view = client.view()
        view.prefer = (PREFER_IMMUTABLE,)
        for user in client.get("users", params={"$select": "id", "$top": "999"})["value"]:
            try:
                page = view.get(
                    f"users/{user['id']}/mailFolders/inbox/messages/delta",
                    params={"$select": "hasAttachments"},
                    headers={"Prefer": "odata.maxpagesize=5"},
                )
            except GraphError:  # an unreadable mailbox
                continue
            break
        assert len(page["value"]) == 5  # both preferences honoured from one header
        assert all(item["id"].startswith("AAkALgAA") for item in page["value"])
        paths = [f"users/{user['id']}/messages/{item['id']}/attachments" for item in page["value"]]
        immutable = view.batch([(path, None) for path in paths])
        regular = client.batch([(path, None) for path in paths])
        for item, answer, plain in zip(page["value"], immutable, regular, strict=True):
            assert isinstance(answer, dict) and isinstance(plain, dict)
            assert len(answer["value"]) == len(plain["value"])
            assert all(a["id"].startswith(item["id"].rstrip("=")) for a in answer["value"])
            assert all(a["id"].startswith("AAMkA") for a in plain["value"])
