"""Outlook: folders, message paging/delta, moves, attachments, calendarView delta, contacts, mailbox errors."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import httpx
import pytest

from o365_pipeline.emulator import EmulatorServer

from .conftest import all_pages, delta_round, graph_client, mutate, tls, truth

WINDOW = "startDateTime=2000-01-01T00:00:00Z&endDateTime=2100-01-01T00:00:00Z"
# the pipeline's window (today +- 365 days), which truth counts events in: some series reach beyond it
_NOW = dt.datetime.now(dt.UTC)
SYNC_WINDOW = f"startDateTime={_NOW - dt.timedelta(days=365):%Y-%m-%dT%H:%M:%SZ}&endDateTime=" + (
    f"{_NOW + dt.timedelta(days=365):%Y-%m-%dT%H:%M:%SZ}"
)


def _users(c: httpx.Client) -> list[dict]:
    users, _ = all_pages(c, "/v1.0/users?$select=id,userPrincipalName,userType")
    return users


def _mailbox_users(c: httpx.Client) -> list[str]:
    return [u["id"] for u in _users(c) if c.get(f"/v1.0/users/{u['id']}/mailFolders?$top=1").status_code == 200]


def test_mailbox_errors(client: httpx.Client) -> None:
    codes = {}
    for u in _users(client):
        r = client.get(f"/v1.0/users/{u['id']}/mailFolders")
        if r.status_code != 200:
            codes[u["userPrincipalName"]] = (r.status_code, r.json()["error"]["code"])
    assert (403, "ErrorAccessDenied") in codes.values()
    assert (404, "MailboxNotEnabledForRESTAPI") in codes.values()
    assert any("#EXT#" in upn for upn in codes)


IMMUTABLE = 'IdType="ImmutableId"'


@pytest.mark.parametrize("id_type", ["regular", "immutable"])
def test_full_sync_of_every_outlook_entity_equals_truth(
    server: EmulatorServer, client: httpx.Client, id_type: str
) -> None:
    """Every Outlook route answers the id type asked (Prefer: IdType="ImmutableId" alone or beside maxpagesize, in
    each request) and the attachment routes take the ids they gave; truth reports either type."""
    prefer = [IMMUTABLE] if id_type == "immutable" else []
    one = {"Prefer": ", ".join(prefer)} if prefer else None
    got: dict[str, set[str]] = {
        k: set()
        for k in (
            "mail_folders",
            "messages",
            "message_attachments",
            "calendars",
            "events",
            "event_attachments",
            "contact_folders",
            "contacts",
        )
    }
    for uid in _mailbox_users(client):
        u = f"/v1.0/users/{uid}"
        folders, _ = delta_round(client, f"{u}/mailFolders/delta()", one)
        got["mail_folders"] |= {f"{uid}/{f['id']}" for f in folders}
        top, pages = all_pages(client, f"{u}/mailFolders", one)
        assert pages == 2 and {f["id"] for f in top} < {f["id"] for f in folders}
        for f in folders:
            msgs, _ = delta_round(
                client,
                f"{u}/mailFolders/{quote(f['id'], safe='')}/messages/delta?$select=subject,hasAttachments",
                headers={"Prefer": ", ".join(["odata.maxpagesize=5", *prefer])},
            )
            for m in msgs:
                assert set(m) <= {"@odata.etag", "@odata.type", "id", "subject", "hasAttachments"}
                got["messages"].add(f"{uid}/{m['id']}")
                if m["hasAttachments"]:
                    atts, _ = all_pages(client, f"{u}/messages/{m['id']}/attachments", one)
                    assert atts
                    got["message_attachments"] |= {f"{uid}/{a['id']}" for a in atts}
        cals, _ = all_pages(client, f"{u}/calendars", one)
        got["calendars"] |= {f"{uid}/{c['id']}" for c in cals}
        events, _ = delta_round(client, f"{u}/calendarView/delta?{SYNC_WINDOW}", one)
        assert {e["type"] for e in events} >= {"singleInstance", "occurrence", "exception"}
        got["events"] |= {f"{uid}/{e['id']}" for e in events}
        for e in events:
            if e["hasAttachments"]:
                atts, _ = all_pages(client, f"{u}/events/{e['id']}/attachments", one)
                got["event_attachments"] |= {f"{uid}/{a['id']}" for a in atts}
        cfs, _ = delta_round(client, f"{u}/contactFolders/delta", one)
        got["contact_folders"] |= {f"{uid}/{f['id']}" for f in cfs}
        default = client.get(f"{u}/contacts?$top=1", headers=one).json()["value"][0]["parentFolderId"]
        for fid in [default] + [f["id"] for f in cfs]:
            cs, _ = delta_round(client, f"{u}/contactFolders/{fid}/contacts/delta", one)
            got["contacts"] |= {f"{uid}/{c['id']}" for c in cs}
    t = truth(server, id_type)
    prefix = "AAkALgAA" if id_type == "immutable" else "AAMkA"
    assert all(i.split("/", 1)[1].startswith(prefix) for name in ("messages", "events", "contacts") for i in got[name])
    for name, ids in got.items():
        assert len(ids) == t[name]["count"], name
        import hashlib

        assert hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest() == t[name]["ids_sha256"], name


def test_message_list_paging_and_limits(client: httpx.Client) -> None:
    uid = max(
        _mailbox_users(client),
        key=lambda u: client.get(f"/v1.0/users/{u}/mailFolders/inbox").json()["totalItemCount"],
    )
    first = client.get(f"/v1.0/users/{uid}/mailFolders/inbox/messages")
    assert len(first.json()["value"]) == 10 and "$skip=10" in first.json()["@odata.nextLink"]
    items, _ = all_pages(client, f"/v1.0/users/{uid}/mailFolders/inbox/messages?$top=3&$select=subject")
    assert len(items) == client.get(f"/v1.0/users/{uid}/mailFolders/inbox").json()["totalItemCount"]
    assert client.get(f"/v1.0/users/{uid}/mailFolders/inbox/messages?$top=1000").status_code == 200
    assert client.get(f"/v1.0/users/{uid}/mailFolders/inbox/messages?$top=1001").status_code == 400
    r = client.get(f"/v1.0/users/{uid}/calendarView/delta")
    assert r.status_code == 400
    assert client.get(f"/v1.0/users/{uid}/calendarView/delta?{WINDOW}&$select=subject").status_code == 400


def test_message_delta_mutations_and_moves(fresh: EmulatorServer) -> None:
    with graph_client(fresh) as c:
        uids = _mailbox_users(c)
        links: dict[tuple[str, str], str] = {}
        for uid in uids:
            folders, _ = delta_round(c, f"/v1.0/users/{uid}/mailFolders/delta")
            for f in folders:
                _, links[(uid, f["id"])] = delta_round(
                    c,
                    f"/v1.0/users/{uid}/mailFolders/{quote(f['id'], safe='')}/messages/delta?$select=subject",
                    headers={"Prefer": "odata.maxpagesize=50"},
                )
        for key, link in list(links.items()):
            items, links[key] = delta_round(c, link)
            assert items == []
        res = mutate(
            fresh,
            [
                {"entity": "messages", "op": "create", "count": 2},
                {"entity": "messages", "op": "update", "count": 2},
                {"entity": "messages", "op": "delete", "count": 2},
                {"entity": "messages", "op": "move", "count": 1},
            ],
            seed=7,
        )
        expected = {i for ch in res["changes"] for i in ch["ids"]}
        seen: set[str] = set()
        removed: set[str] = set()
        for (uid, _fid), link in links.items():
            items, _ = delta_round(c, link)
            for m in items:
                seen.add(f"{uid}/{m['id']}")
                if "@removed" in m:
                    assert m["@removed"]["reason"] == "deleted"
                    removed.add(f"{uid}/{m['id']}")
        assert seen == expected
        move = next(ch for ch in res["changes"] if ch["op"] == "move")
        new_id, old_id = move["ids"]
        assert old_id in removed and new_id in seen - removed


def test_immutable_ids_survive_moves_and_regular_ids_do_not(fresh: EmulatorServer) -> None:
    """A move with Prefer: IdType="ImmutableId": the old folder's delta reports the id removed, the new folder's
    reports the same id present, its attachments keep their ids; the same links without the header answer the new
    and the old regular ids. Truth in immutable ids does not change with moves."""
    with graph_client(fresh) as c:
        uids = _mailbox_users(c)
        links: dict[tuple[str, str], str] = {}
        for uid in uids:
            folders, _ = delta_round(c, f"/v1.0/users/{uid}/mailFolders/delta")
            for f in folders:
                url = f"/v1.0/users/{uid}/mailFolders/{quote(f['id'], safe='')}/messages/delta?$select=hasAttachments"
                _, links[(uid, f["id"])] = delta_round(c, url, {"Prefer": f"odata.maxpagesize=50, {IMMUTABLE}"})
            cfs, _ = delta_round(c, f"/v1.0/users/{uid}/contactFolders/delta")
            default = c.get(f"/v1.0/users/{uid}/contacts?$top=1").json()["value"][0]["parentFolderId"]
            for fid in [default] + [f["id"] for f in cfs]:
                _, links[(uid, fid)] = delta_round(c, f"/v1.0/users/{uid}/contactFolders/{fid}/contacts/delta")
        before, before_regular = truth(fresh), truth(fresh, "regular")
        res = mutate(fresh, [{"entity": e, "op": "move", "count": 3} for e in ("messages", "contacts")], seed=11)
        moved_regular = {i for ch in res["changes"] for i in ch["ids"]}
        after, after_regular = truth(fresh), truth(fresh, "regular")
        for name in ("messages", "message_attachments", "contacts"):
            assert after[name] == before[name], name  # same ids, each once
        assert after_regular["messages"] != before_regular["messages"]
        assert after_regular["contacts"] != before_regular["contacts"]
        present: dict[str, dict] = {}
        removed: set[str] = set()
        regular: set[str] = set()
        for (uid, _), link in links.items():
            items, _ = delta_round(c, link, {"Prefer": IMMUTABLE})
            for item in items:
                assert item["id"].startswith("AAkALgAA")
                if "@removed" in item:
                    removed.add(f"{uid}/{item['id']}")
                else:
                    present[f"{uid}/{item['id']}"] = item
            regular |= {f"{uid}/{item['id']}" for item in delta_round(c, link)[0]}
        assert removed and removed == set(present)  # each moved item: removed from one folder, in another
        assert regular == moved_regular and len(regular) == 2 * len(removed)
        for key, item in present.items():
            uid, item_id = key.split("/", 1)
            if item.get("hasAttachments"):
                atts, _ = all_pages(c, f"/v1.0/users/{uid}/messages/{item_id}/attachments", {"Prefer": IMMUTABLE})
                assert atts and all(a["id"].startswith(item_id.rstrip("=")) for a in atts)


def test_expired_outlook_delta_token_gives_410(fresh: EmulatorServer) -> None:
    with graph_client(fresh) as c:
        uid = _mailbox_users(c)[0]
        _, link = delta_round(c, f"/v1.0/users/{uid}/mailFolders/inbox/messages/delta")
        httpx.post(f"{fresh.base_url}/_emulator/faults", json={"expire_delta": 1.0}, verify=tls(fresh))
        r = c.get(link)
        assert r.status_code == 410 and r.json()["error"]["code"] == "SyncStateNotFound"


def test_event_and_contact_mutations_reach_delta(fresh: EmulatorServer) -> None:
    with graph_client(fresh) as c:
        uids = _mailbox_users(c)
        ev_links = {uid: delta_round(c, f"/v1.0/users/{uid}/calendarView/delta?{WINDOW}")[1] for uid in uids}
        res = mutate(
            fresh,
            [
                {"entity": "events", "op": "create", "count": 1},
                {"entity": "events", "op": "delete", "count": 1},
                {"entity": "events", "op": "update", "count": 1},
            ],
            seed=3,
        )
        expected = {i for ch in res["changes"] for i in ch["ids"]}
        seen = set()
        for uid, link in ev_links.items():
            items, _ = delta_round(c, link)
            seen |= {f"{uid}/{e['id']}" for e in items}
        assert seen == expected
        t = truth(fresh)
        before = t["contacts"]["count"]
        mutate(fresh, [{"entity": "contacts", "op": "create", "count": 3}])
        assert truth(fresh)["contacts"]["count"] == before + 3


def test_ids_work_percent_encoded_or_not_and_delta_function_form(client: httpx.Client) -> None:
    uid = _mailbox_users(client)[0]
    folders, _ = delta_round(client, f"/v1.0/users/{uid}/mailFolders/delta")
    fid = next(f["id"] for f in folders if f["displayName"] == "Sent Items")
    assert fid.endswith("=")
    a = client.get(f"/v1.0/users/{uid}/mailFolders/{fid}/messages/delta()?$select=id")
    b = client.get(f"/v1.0/users/{uid}/mailFolders/{quote(fid, safe='')}/messages/delta?$select=id")
    assert a.status_code == b.status_code == 200
    assert a.json()["value"] == b.json()["value"]
    r = client.get(f"/v1.0/users/{uid}/mailFolders/AAMkAnotAFolder%3D/messages")
    assert r.status_code == 404 and r.json()["error"]["code"] == "ErrorItemNotFound"


def test_events_list_has_singles_and_series_masters(client: httpx.Client) -> None:
    uid = _mailbox_users(client)[0]
    items, _ = all_pages(client, f"/v1.0/users/{uid}/events?$top=5")
    types = {e["type"] for e in items}
    assert types == {"singleInstance", "seriesMaster"}
    masters = {e["id"] for e in items if e["type"] == "seriesMaster"}
    view, _ = delta_round(client, f"/v1.0/users/{uid}/calendarView/delta?{WINDOW}")
    assert masters == {e["seriesMasterId"] for e in view if e["seriesMasterId"]}
    assert all("_start" not in e for e in items)
    assert client.get(f"/v1.0/users/{uid}/events?$top=1&$select=id").json()["value"][0].keys() <= {"id", "@odata.etag"}


def test_series_masters_by_filter_carry_their_recurrence_also_outside_the_window(client: httpx.Client) -> None:
    uid = _mailbox_users(client)[0]
    everything, _ = all_pages(client, f"/v1.0/users/{uid}/events")
    only_masters = quote("type eq 'seriesMaster'")
    masters, _ = all_pages(client, f"/v1.0/users/{uid}/events?$filter={only_masters}")
    assert masters and {e["id"] for e in masters} == {e["id"] for e in everything if e["type"] == "seriesMaster"}
    assert all(e["type"] == "seriesMaster" and e["recurrence"]["pattern"]["type"] == "weekly" for e in masters)
    # one series ended more than a year ago, one began before then: the pipeline's calendarView window
    # (today +- 365 days) holds none / only part of their occurrences
    year_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(days=366)).date().isoformat()
    ranges = [e["recurrence"]["range"] for e in masters]
    assert any(r["endDate"] < year_ago for r in ranges)
    assert any(r["startDate"] < year_ago < r["endDate"] for r in ranges)
    bad = client.get(f"/v1.0/users/{uid}/events?$filter=showAs eq 'busy'")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "ErrorInvalidUrlQueryFilter"
