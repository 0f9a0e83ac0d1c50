"""Audit logs: newest-first paging to truth, date $filter bounds, $top limits, create mutations, 401."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from o365_pipeline.emulator import EmulatorServer

from .conftest import all_pages, graph_client, mutate, tls, truth

LOGS = [("directoryAudits", "directory_audits", "activityDateTime"), ("signIns", "sign_ins", "createdDateTime")]


def _digest(ids: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()


@pytest.mark.parametrize(("path", "table", "prop"), LOGS)
def test_paging_reaches_truth_newest_first(
    server: EmulatorServer, client: httpx.Client, path: str, table: str, prop: str
) -> None:
    items, pages = all_pages(client, f"/v1.0/auditLogs/{path}?$top=37")
    t = truth(server)[table]
    assert pages > 1
    assert len(items) == t["count"] > 50
    assert _digest([i["id"] for i in items]) == t["ids_sha256"]
    times = [i[prop] for i in items]
    assert times == sorted(times, reverse=True) and len(set(times)) == len(times)
    assert all(len(x) == len("2026-11-01T00:00:00.0000000Z") for x in times)


@pytest.mark.parametrize(("path", "table", "prop"), LOGS)
def test_date_filter_bounds(client: httpx.Client, path: str, table: str, prop: str) -> None:
    everything, _ = all_pages(client, f"/v1.0/auditLogs/{path}")
    times = sorted(i[prop] for i in everything)
    low, high = times[10], times[-10]
    q = f"$filter={prop} ge {low} and {prop} lt {high}&$top=5"
    window, pages = all_pages(client, f"/v1.0/auditLogs/{path}?{q}")
    assert pages > 1
    assert sorted(i[prop] for i in window) == [x for x in times if low <= x < high]
    gt, _ = all_pages(client, f"/v1.0/auditLogs/{path}?$filter={prop} gt {low}")
    assert len(gt) == len([x for x in times if x > low])
    le, _ = all_pages(client, f"/v1.0/auditLogs/{path}?$filter={prop} le {low}")
    assert len(le) == 11


def test_top_limits_select_and_bad_filter(client: httpx.Client) -> None:
    assert client.get("/v1.0/auditLogs/signIns?$top=1000").status_code == 200
    assert client.get("/v1.0/auditLogs/signIns?$top=1001").status_code == 400
    body = client.get("/v1.0/auditLogs/directoryaudits?$top=2&$select=activityDateTime,category").json()
    assert all(set(i) == {"id", "activityDateTime", "category"} for i in body["value"])
    assert "$select=activityDateTime,category" in body["@odata.nextLink"]
    r = client.get("/v1.0/auditLogs/signIns?$filter=userId eq 'x'")
    assert r.status_code == 400 and "createdDateTime" in r.json()["error"]["message"]


def test_created_events_are_newer(fresh: EmulatorServer) -> None:
    with graph_client(fresh) as client:
        newest = client.get("/v1.0/auditLogs/signIns?$top=1").json()["value"][0]["createdDateTime"]
        before = truth(fresh)["sign_ins"]["count"]
        made = mutate(fresh, [{"entity": "sign_ins", "op": "create", "count": 5}])["changes"][0]["ids"]
        new, _ = all_pages(client, f"/v1.0/auditLogs/signIns?$filter=createdDateTime gt {newest}")
        assert sorted(i["id"] for i in new) == sorted(made)
        assert truth(fresh)["sign_ins"]["count"] == before + 5
        r = httpx.post(
            f"{fresh.base_url}/_emulator/mutate",
            json={"seed": 1, "ops": [{"entity": "directory_audits", "op": "delete", "count": 1}]},
            verify=tls(fresh),
        )
        assert r.status_code == 400


def test_requires_token(server: EmulatorServer) -> None:
    with httpx.Client(base_url=server.base_url, verify=tls(server)) as anonymous:
        assert anonymous.get("/v1.0/auditLogs/signIns").status_code == 401


def test_truth_is_stable_for_a_seed() -> None:
    from o365_pipeline.emulator.core import Emulator

    a, b = Emulator(seed=5).truth()["entities"], Emulator(seed=5).truth()["entities"]
    assert a["sign_ins"] == b["sign_ins"] and a["directory_audits"] == b["directory_audits"]
    assert a["sign_ins"] != Emulator(seed=6).truth()["entities"]["sign_ins"]
