"""Bookings: businesses, their five collections paged to truth, calendarView windows, 404/400/401."""

from __future__ import annotations

import hashlib
from urllib.parse import quote

import httpx

from o365_pipeline.emulator import EmulatorServer

from .conftest import all_pages, graph_client, mutate, tls, truth

BASE = "/v1.0/solutions/bookingBusinesses"
TABLES = {
    "appointments": "booking_appointments",
    "customers": "booking_customers",
    "services": "booking_services",
    "staffMembers": "booking_staff_members",
    "customQuestions": "booking_custom_questions",
}


def _digest(ids: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()


def test_collections_page_to_truth(server: EmulatorServer, client: httpx.Client) -> None:
    businesses, _ = all_pages(client, BASE)
    t = truth(server)
    assert len(businesses) == t["booking_businesses"]["count"] >= 2
    assert _digest([b["id"] for b in businesses]) == t["booking_businesses"]["ids_sha256"]
    assert all(set(b) == {"id", "displayName"} for b in businesses)
    for segment, table in TABLES.items():
        found: list[dict] = []
        pages = 0
        for b in businesses:
            items, n = all_pages(client, f"{BASE}/{quote(b['id'])}/{segment}?$top=4")
            found += items
            pages += n
        assert len(found) == t[table]["count"] > 0, segment
        assert _digest([x["id"] for x in found]) == t[table]["ids_sha256"], segment
        assert pages > len(businesses) or segment in ("services", "staffMembers", "customQuestions")
    full = client.get(f"{BASE}/{businesses[0]['id']}").json()
    assert full["email"] == businesses[0]["id"] and full["businessHours"]


def test_calendar_view_window_and_query(client: httpx.Client) -> None:
    business = all_pages(client, BASE)[0][0]["id"]
    everything, _ = all_pages(client, f"{BASE}/{business}/appointments")
    assert all("_start" not in a for a in everything)
    start, end = "2026-11-01T00:00:00Z", "2026-11-20T00:00:00Z"
    window, _ = all_pages(client, f"{BASE}/{business}/calendarView?start={start}&end={end}&$top=2")
    expected = [
        a["id"]
        for a in everything
        if a["startDateTime"]["dateTime"] < "2026-11-20" and a["endDateTime"]["dateTime"] > "2026-11-01"
    ]
    assert sorted(a["id"] for a in window) == sorted(expected)
    r = client.get(f"{BASE}/{business}/calendarView?start={start}")
    assert r.status_code == 400 and "end" in r.json()["error"]["message"]
    name = client.get(f"{BASE}/{business}").json()["displayName"]
    matched = client.get(f"{BASE}?query={quote(name.split()[0])}").json()["value"]
    assert business in [b["id"] for b in matched]
    assert client.get(f"{BASE}/Nobody9@example.com/customers").status_code == 404


def test_requires_token(server: EmulatorServer) -> None:
    with httpx.Client(base_url=server.base_url, verify=tls(server)) as anonymous:
        assert anonymous.get(BASE).status_code == 401


def test_truth_is_stable_for_a_seed() -> None:
    from o365_pipeline.emulator.core import Emulator

    tables = ["booking_businesses", *TABLES.values()]
    a, b = Emulator(seed=4).truth()["entities"], Emulator(seed=4).truth()["entities"]
    assert all(a[x] == b[x] for x in tables)
    assert a["booking_appointments"] != Emulator(seed=5).truth()["entities"]["booking_appointments"]


def test_appointment_mutations(fresh: EmulatorServer) -> None:
    with graph_client(fresh) as client:
        businesses = [b["id"] for b in all_pages(client, BASE)[0]]

        def appointments() -> dict[str, dict]:
            return {a["id"]: a for b in businesses for a in all_pages(client, f"{BASE}/{b}/appointments")[0]}

        before = appointments()
        ops = [{"entity": "booking_appointments", "op": op, "count": 4} for op in ("create", "update", "delete")]
        created, updated, deleted = (set(c["ids"]) for c in mutate(fresh, ops)["changes"])
        now = appointments()
        assert created - deleted <= set(now) and not created & set(before)
        assert not deleted & set(now)
        moved = updated - deleted - created
        assert moved and all(
            now[i]["startDateTime"]["dateTime"] > before[i]["startDateTime"]["dateTime"] for i in moved
        )
        t = truth(fresh)["booking_appointments"]
        assert len(now) == t["count"] and _digest(list(now)) == t["ids_sha256"]
