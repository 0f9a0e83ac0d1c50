"""OneDrive: drive resource, unlicensed users, drive delta rounds (token=, deleted facet, latest, 410)."""

from __future__ import annotations

import hashlib

import httpx

from o365_pipeline.emulator import EmulatorServer

from .conftest import all_pages, delta_round, graph_client, mutate, tls, truth


def _digest(ids: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()


def _users(client: httpx.Client) -> list[dict]:
    users, _ = all_pages(client, "/v1.0/users?$select=id,userPrincipalName,assignedLicenses")
    return users


def _full_state(client: httpx.Client, users: list[dict]) -> tuple[dict[str, dict], dict[str, str]]:
    """Every licensed user's drive after a full delta round: ({user_id/item_id: item}, {user_id: deltaLink})."""
    state: dict[str, dict] = {}
    links: dict[str, str] = {}
    for user in users:
        if not user["assignedLicenses"]:
            continue
        items, link = delta_round(client, f"/v1.0/users/{user['id']}/drive/root/delta?$top=7")
        for item in items:
            state[f"{user['id']}/{item['id']}"] = item
        links[user["id"]] = link
    return state, links


def _apply(state: dict[str, dict], user_id: str, items: list[dict]) -> None:
    for item in items:  # the last occurrence wins
        key = f"{user_id}/{item['id']}"
        if "deleted" in item:
            state.pop(key, None)
        else:
            state[key] = item


def test_full_rounds_match_truth(server: EmulatorServer, client: httpx.Client) -> None:
    state, links = _full_state(client, _users(client))
    t = truth(server)["drive_items"]
    assert len(state) == t["count"] > 100
    assert _digest(list(state)) == t["ids_sha256"]
    assert all("?token=" in link for link in links.values())
    roots = [i for i in state.values() if "root" in i]
    assert len(roots) == len(links)
    files = [i for i in state.values() if "file" in i]
    assert all(i["file"]["mimeType"] and i["file"]["hashes"]["quickXorHash"] for i in files)
    assert all("path" not in i["parentReference"] and "@microsoft.graph.downloadUrl" not in i for i in files)
    assert all(i["parentReference"]["driveId"].startswith("b!") and i["parentReference"]["id"] for i in files)
    assert any(i.get("shared", {}).get("scope") == "anonymous" for i in files)
    assert all(isinstance(i["folder"]["childCount"], int) for i in state.values() if "folder" in i)
    nested = [i for i in files if i["parentReference"]["id"] not in {r["id"] for r in roots}]
    assert nested and all(i["webUrl"].count("/") > 6 for i in nested)


def test_drive_resource_and_unlicensed_user(client: httpx.Client) -> None:
    users = _users(client)
    licensed = next(u for u in users if u["assignedLicenses"])
    drive = client.get(f"/v1.0/users/{licensed['userPrincipalName']}/drive").json()
    assert drive["driveType"] == "business" and drive["owner"]["user"]["id"] == licensed["id"]
    assert client.get(f"/v1.0/drives/{drive['id']}?$select=id,quota").json().keys() >= {"id", "quota"}
    by_drive, _ = delta_round(client, f"/v1.0/drives/{drive['id']}/root/delta()")
    by_user, _ = delta_round(client, f"/v1.0/users/{licensed['id']}/drive/root/delta")
    assert [i["id"] for i in by_drive] == [i["id"] for i in by_user]
    unlicensed = next(u for u in users if not u["assignedLicenses"])
    r = client.get(f"/v1.0/users/{unlicensed['id']}/drive/root/delta")
    assert r.status_code == 404 and r.json()["error"]["code"] == "ResourceNotFound"
    assert client.get("/v1.0/drives/b!nope/root/delta").status_code == 404


def test_select_is_kept_across_pages(client: httpx.Client) -> None:
    user = next(u for u in _users(client) if u["assignedLicenses"])
    items, pages = [], 0
    url = f"/v1.0/users/{user['id']}/drive/root/delta?$select=id,name,size&$top=3"
    while url:
        body = client.get(url).json()
        items += body["value"]
        pages += 1
        url = body.get("@odata.nextLink")
        assert url is None or "$select" not in url
    assert pages > 1
    assert all(set(i) - {"@odata.type"} == {"id", "name", "size"} for i in items)
    assert client.get(f"/v1.0/users/{user['id']}/drive/root/delta?$top=1001").status_code == 400


def test_incremental_round_reports_changes_and_deletions(fresh: EmulatorServer) -> None:
    with graph_client(fresh) as client:
        users = _users(client)
        state, links = _full_state(client, users)
        changes = mutate(
            fresh,
            [
                {"entity": "drive_items", "op": "create", "count": 6},
                {"entity": "drive_items", "op": "update", "count": 6},
                {"entity": "drive_items", "op": "delete", "count": 4},
            ],
        )["changes"]
        deleted = set(changes[2]["ids"])
        repeated = False
        for user_id, link in links.items():
            items, new_link = delta_round(client, link)
            ids = [i["id"] for i in items]
            repeated = repeated or len(ids) != len(set(ids))
            assert all("name" not in i for i in items if "deleted" in i)
            _apply(state, user_id, items)
            assert new_link != link
            again, _ = delta_round(client, new_link)
            assert again == []
        t = truth(fresh)["drive_items"]
        assert len(state) == t["count"]
        assert _digest(list(state)) == t["ids_sha256"]
        assert not deleted & set(state)
        assert repeated  # parent folders come again with each changed child


def test_token_latest_and_resync(fresh: EmulatorServer) -> None:
    with graph_client(fresh) as client:
        user = next(u for u in _users(client) if u["assignedLicenses"])
        url = f"/v1.0/users/{user['id']}/drive/root/delta"
        body = client.get(f"{url}?token=latest").json()
        assert body["value"] == [] and "@odata.nextLink" not in body
        latest = body["@odata.deltaLink"]
        assert delta_round(client, latest)[0] == []
        updated = mutate(fresh, [{"entity": "drive_items", "op": "update", "count": 40}])["changes"][0]["ids"]
        mine = {i.split("/")[1] for i in updated if i.startswith(user["id"] + "/")}
        changed, _ = delta_round(client, latest)
        assert mine and mine <= {i["id"] for i in changed}
        assert all("deleted" not in i for i in changed) and any("folder" in i for i in changed)
        only, _ = delta_round(client, latest, headers={"deltaExcludeParent": "true"})
        assert {i["id"] for i in only} == mine and all("file" in i for i in only)
        for bad in (f"{url}?token=garbage", f"{url}(token='garbage')"):
            r = client.get(bad)
            assert r.status_code == 410
            assert r.json()["error"]["code"] == "resyncRequired"
            location = r.headers["Location"]
            assert location.endswith(f"/v1.0/users/{user['id']}/drive/root/delta")
            items, _ = delta_round(client, location)
            assert any("root" in i for i in items)
        faults = f"{fresh.base_url}/_emulator/faults"
        assert httpx.post(faults, json={"expire_delta": 1.0}, verify=tls(fresh)).status_code == 200
        assert client.get(latest).status_code == 410
        assert httpx.post(faults, json={"expire_delta": 0.0}, verify=tls(fresh)).status_code == 200
        assert client.get(latest).status_code == 200


def test_requires_token(server: EmulatorServer, client: httpx.Client) -> None:
    user = next(u for u in _users(client) if u["assignedLicenses"])
    with httpx.Client(base_url=server.base_url, verify=tls(server)) as anonymous:
        r = anonymous.get(f"/v1.0/users/{user['id']}/drive/root/delta")
    assert r.status_code == 401 and r.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_truth_is_stable_for_a_seed() -> None:
    from o365_pipeline.emulator.core import Emulator

    a, b, c = Emulator(seed=11), Emulator(seed=11), Emulator(seed=12)
    assert a.truth()["entities"]["drive_items"] == b.truth()["entities"]["drive_items"]
    assert a.truth()["entities"]["drive_items"] != c.truth()["entities"]["drive_items"]


def test_timestamp_token(fresh: EmulatorServer) -> None:
    with graph_client(fresh) as client:
        user = next(u for u in _users(client) if u["assignedLicenses"])
        url = f"/v1.0/users/{user['id']}/drive/root/delta"
        latest = client.get(f"{url}?token=latest").json()["@odata.deltaLink"]
        mutate(fresh, [{"entity": "drive_items", "op": "update", "count": 60}])
        changed = [i for i in delta_round(client, latest)[0] if "file" in i]
        assert changed
        first = min(i["lastModifiedDateTime"] for i in changed)
        since, _ = delta_round(client, f"{url}?token={first}")
        assert {i["id"] for i in changed} <= {i["id"] for i in since}
        everything, _ = delta_round(client, f"{url}?token=2020-01-01T00:00:00Z")
        assert any("root" in i for i in everything) and len(everything) > len(changed)
        after, _ = delta_round(client, f"{url}?token=2030-01-01T00:00:00Z")
        assert after == []
