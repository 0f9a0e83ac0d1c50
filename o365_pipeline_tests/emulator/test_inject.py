"""Injected answers (POST /_emulator/inject): replace or patch what Graph routes answer, also inside $batch."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from o365_pipeline.emulator import EmulatorServer

from .conftest import graph_client, tls


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    """A private emulator: these tests change its rules."""
    with EmulatorServer(seed=3, scale="small") as s:
        yield s


@pytest.fixture()
def c(server: EmulatorServer) -> Iterator[httpx.Client]:
    """An authenticated client; the rules are cleared after each test."""
    with graph_client(server) as client:
        yield client
        assert client.delete("/_emulator/inject").json() == {"rules": []}


def _inject(c: httpx.Client, rules: list[dict]) -> list[dict]:
    r = c.post("/_emulator/inject", json=rules)
    assert r.status_code == 200, r.text
    return r.json()["rules"]


def test_rule_replaces_the_answer_the_given_number_of_times(c: httpx.Client) -> None:
    _inject(c, [{"path": r"^/v1\.0/users/delta", "body": [1, 2, 3], "times": 1}])
    first = c.get("/v1.0/users/delta?$select=id")
    assert first.status_code == 200 and first.json() == [1, 2, 3]
    assert first.headers["content-type"].startswith("application/json")
    assert "request-id" in first.headers
    assert isinstance(c.get("/v1.0/users/delta?$select=id").json()["value"], list)
    assert c.get("/_emulator/inject").json()["rules"][0]["hits"] == 1


def test_status_content_type_and_headers_are_sent_as_given(c: httpx.Client) -> None:
    html = "<html><body>Proxy sign-in</body></html>"
    rules = [
        {"path": "/organization", "status": 200, "body": html, "content_type": "text/html", "headers": {"X-P": "1"}},
        {"path": "/teams", "method": "get", "status": 403, "body": {"error": {"code": "Forbidden", "message": "m"}}},
    ]
    _inject(c, rules)
    page = c.get("/v1.0/organization")
    assert (page.status_code, page.text, page.headers["x-p"]) == (200, html, "1")
    assert page.headers["content-type"] == "text/html"
    denied = c.get("/v1.0/teams")
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "Forbidden"
    assert c.get("/v1.0/subscribedSkus").status_code == 200


def test_rules_apply_inside_batch_one_request_at_a_time(c: httpx.Client) -> None:
    _inject(c, [{"path": r"/groups\?", "status": 200, "body": {"value": None}}])
    reqs = [{"id": "1", "method": "GET", "url": "/groups?$select=id"}, {"id": "2", "method": "GET", "url": "/users"}]
    answers = {a["id"]: a for a in c.post("/v1.0/$batch", json={"requests": reqs}).json()["responses"]}
    assert answers["1"]["status"] == 200 and answers["1"]["body"] == {"value": None}
    assert len(answers["2"]["body"]["value"]) > 0


def test_item_patch_changes_the_first_items_of_the_routes_page(c: httpx.Client) -> None:
    patch = {"first": 2, "remove": ["id"], "as_text": ["accountEnabled"], "set": {"city": "Graz"}}
    _inject(c, [{"path": r"^/v1\.0/users\?", "item_patch": patch}])
    items = c.get("/v1.0/users?$select=id,accountEnabled,city").json()["value"]
    assert [("id" in i, i["accountEnabled"], i["city"]) for i in items[:2]] == [
        (False, "true", "Graz"),
        (False, "true", "Graz"),
    ]
    assert all("id" in i and isinstance(i["accountEnabled"], bool) for i in items[2:])


def test_a_wrong_rule_is_refused_and_keeps_the_rules_in_place(c: httpx.Client) -> None:
    _inject(c, [{"path": "/teams", "body": {}}])
    for bad in ([{"path": "("}], [{"body": 1}], [{"path": "x", "times": -1}], [{"path": "x", "colour": 1}], {"a": 1}):
        r = c.post("/_emulator/inject", json=bad)
        assert r.status_code == 400 and r.json()["error"]["code"] == "BadRequest"
    assert [r["path"] for r in c.get("/_emulator/inject").json()["rules"]] == ["/teams"]


def test_a_rule_never_answers_without_a_token(server: EmulatorServer, c: httpx.Client) -> None:
    _inject(c, [{"path": "/organization", "body": {"value": []}}])
    anonymous = httpx.get(f"{server.base_url}/v1.0/organization", verify=tls(server))
    assert anonymous.status_code == 401
