"""Planner, group conversations, Teams and channels: discovery, paging to truth, 404s, 401, stable truth."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from o365_pipeline.emulator import EmulatorServer

from .conftest import all_pages, graph_client, mutate, tls, truth

TEAM_FILTER = "$filter=resourceProvisioningOptions/Any(x:x eq 'Team')"
OPS = ("create", "update", "delete")


def _digest(ids: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()


def _groups(client: httpx.Client) -> list[dict]:
    groups, _ = all_pages(client, "/v1.0/groups?$select=id,groupTypes,resourceProvisioningOptions")
    return groups


def test_planner_paging_reaches_truth(server: EmulatorServer, client: httpx.Client) -> None:
    plans: list[dict] = []
    tasks: list[dict] = []
    task_pages = 0
    for group in _groups(client):
        found, _ = all_pages(client, f"/v1.0/groups/{group['id']}/planner/plans")
        assert found == [] or "Unified" in group["groupTypes"]
        plans += found
        for plan in found:
            assert plan["container"] == {
                "containerId": group["id"],
                "type": "group",
                "url": f"https://graph.microsoft.com/v1.0/groups/{group['id']}",
            }
            assert client.get(f"/v1.0/planner/plans/{plan['id']}").json()["title"] == plan["title"]
            items, pages = all_pages(client, f"/v1.0/planner/plans/{plan['id']}/tasks?$top=4")
            assert all(t["planId"] == plan["id"] and t["@odata.etag"].startswith('W/"') for t in items)
            tasks += items
            task_pages += pages
    t = truth(server)
    assert len(plans) == t["planner_plans"]["count"] > 0
    assert _digest([p["id"] for p in plans]) == t["planner_plans"]["ids_sha256"]
    assert len(tasks) == t["planner_tasks"]["count"] and task_pages > len(plans)
    assert _digest([x["id"] for x in tasks]) == t["planner_tasks"]["ids_sha256"]
    assert all(len(p["id"]) == 28 for p in plans)
    r = client.get("/v1.0/planner/plans/AAAAAAAAAAAAAAAAAAAAAAAAAAAA/tasks")
    assert r.status_code == 404


def test_conversations_of_microsoft365_groups_only(server: EmulatorServer, client: httpx.Client) -> None:
    found: list[dict] = []
    multi_page = False
    for group in _groups(client):
        url = f"/v1.0/groups/{group['id']}/conversations?$top=3"
        if "Unified" not in group["groupTypes"]:
            r = client.get(url)
            assert r.status_code == 404 and r.json()["error"]["code"] == "ResourceNotFound"
            continue
        items, pages = all_pages(client, url)
        multi_page = multi_page or pages > 1
        found += items
    t = truth(server)["group_conversations"]
    assert multi_page and len(found) == t["count"]
    assert _digest([c["id"] for c in found]) == t["ids_sha256"]
    assert all(c["topic"] and c["lastDeliveredDateTime"].endswith("Z") for c in found)


def test_teams_discovery_team_and_channels(server: EmulatorServer, client: httpx.Client) -> None:
    groups = _groups(client)
    team_groups, _ = all_pages(client, f"/v1.0/groups?{TEAM_FILTER}&$select=id,displayName&$top=1")
    expected = [g["id"] for g in groups if "Team" in g["resourceProvisioningOptions"]]
    assert sorted(g["id"] for g in team_groups) == sorted(expected)
    t = truth(server)
    assert len(expected) == t["teams"]["count"] > 0 and _digest(expected) == t["teams"]["ids_sha256"]
    listed, _ = all_pages(client, "/v1.0/teams")
    assert sorted(x["id"] for x in listed) == sorted(expected)
    channels: list[dict] = []
    for team_id in expected:
        team = client.get(f"/v1.0/teams/{team_id}").json()
        assert team["id"] == team_id and team["internalId"].endswith("@thread.tacv2")
        body = client.get(f"/v1.0/teams/{team_id}/channels").json()
        assert "@odata.nextLink" not in body
        assert body["value"][0]["displayName"] == "General" and body["value"][0]["id"] == team["internalId"]
        channels += body["value"]
        private = client.get(f"/v1.0/teams/{team_id}/channels?$filter=membershipType eq 'private'").json()
        assert all(c["membershipType"] == "private" for c in private["value"])
    assert len(channels) == t["channels"]["count"]
    assert _digest([c["id"] for c in channels]) == t["channels"]["ids_sha256"]
    not_team = next(g for g in groups if g["id"] not in expected)
    r = client.get(f"/v1.0/teams/{not_team['id']}/channels")
    assert r.status_code == 404 and r.json()["error"]["code"] == "NotFound"


@pytest.mark.parametrize(
    "path", ["/v1.0/teams", "/v1.0/planner/plans/x/tasks", "/v1.0/groups/x/conversations", "/v1.0/teams/x/channels"]
)
def test_requires_token(server: EmulatorServer, path: str) -> None:
    with httpx.Client(base_url=server.base_url, verify=tls(server)) as anonymous:
        assert anonymous.get(path).status_code == 401


def test_truth_is_stable_for_a_seed() -> None:
    from o365_pipeline.emulator.core import Emulator

    tables = ("planner_plans", "planner_tasks", "group_conversations", "teams", "channels")
    a, b = Emulator(seed=8).truth()["entities"], Emulator(seed=8).truth()["entities"]
    other = Emulator(seed=9).truth()["entities"]
    assert all(a[x] == b[x] for x in tables)
    assert all(a[x] != other[x] for x in tables)


def _all_tasks(client: httpx.Client) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for group in _groups(client):
        for plan in all_pages(client, f"/v1.0/groups/{group['id']}/planner/plans")[0]:
            out.update({t["id"]: t for t in all_pages(client, f"/v1.0/planner/plans/{plan['id']}/tasks")[0]})
    return out


def _all_conversations(client: httpx.Client) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for group in _groups(client):
        if "Unified" in group["groupTypes"]:
            out.update({c["id"]: c for c in all_pages(client, f"/v1.0/groups/{group['id']}/conversations")[0]})
    return out


def test_mutations_show_in_lists_and_truth(fresh: EmulatorServer) -> None:
    with graph_client(fresh) as client:
        before_tasks, before_convs = _all_tasks(client), _all_conversations(client)
        ops = [{"entity": e, "op": op, "count": 3} for e in ("planner_tasks", "group_conversations") for op in OPS]
        changes = mutate(fresh, ops)["changes"]
        tasks, convs = _all_tasks(client), _all_conversations(client)
        t = truth(fresh)
        cases = ((tasks, before_tasks, "planner_tasks", 0), (convs, before_convs, "group_conversations", 3))
        for now, before, table, offset in cases:
            created, updated, deleted = (set(changes[offset + i]["ids"]) for i in range(3))
            assert all(len(changes[offset + i]["ids"]) == 3 for i in range(3))
            assert created - deleted <= set(now) and not created & set(before)
            assert not deleted & set(now) and deleted <= set(before) | created
            assert all(now[i] != before[i] for i in updated - deleted - created)
            assert len(now) == t[table]["count"] and _digest(list(now)) == t[table]["ids_sha256"]
