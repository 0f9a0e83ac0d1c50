"""Throttling (--throttle), injected faults, stats counters."""

from __future__ import annotations

import concurrent.futures as cf

import httpx
import pytest

from o365_pipeline.emulator import EmulatorServer

from .conftest import get_token, tls


def _admin(s: EmulatorServer, path: str, body: dict | None = None) -> dict:
    if body is None:
        return httpx.get(f"{s.base_url}{path}", verify=tls(s)).json()
    return httpx.post(f"{s.base_url}{path}", json=body, verify=tls(s)).json()


def test_outlook_concurrency_and_rate_limits_answer_429() -> None:
    with EmulatorServer(throttle=True) as s:
        tok = get_token(s)
        h = {"Authorization": f"Bearer {tok}"}
        uid = httpx.get(f"{s.base_url}/v1.0/users?$top=1", headers=h, verify=tls(s)).json()["value"][0]["id"]
        url = f"{s.base_url}/v1.0/users/{uid}/mailFolders/inbox/messages?$top=50"

        def one(_: int) -> httpx.Response:
            with httpx.Client(verify=tls(s), headers=h) as c:
                return c.get(url)

        with cf.ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(one, range(120)))
        throttled = [a for a in answers if a.status_code == 429]
        assert throttled, "expected 429s with 120 requests against one mailbox"
        assert all(a.status_code in (200, 429) for a in answers)
        ra = throttled[0].headers["Retry-After"]
        assert float(ra) > 0
        assert throttled[0].json()["error"]["code"] == "TooManyRequests"
        assert _admin(s, "/_emulator/stats")["throttled"] == len(throttled)


def test_directory_resource_units_throttle() -> None:
    with (
        EmulatorServer(throttle=True) as s,
        httpx.Client(verify=tls(s), headers={"Authorization": f"Bearer {get_token(s)}"}) as c,
    ):
        codes = [
            c.get(f"{s.base_url}/v1.0/groups/{g}/members").status_code
            for g in [c.get(f"{s.base_url}/v1.0/groups?$top=1").json()["value"][0]["id"]] * 60
        ]
        assert 429 in codes and codes[0] == 200


@pytest.mark.parametrize("kind", ["429", "503"])
def test_fault_rates(kind: str) -> None:
    with (
        EmulatorServer(faults={kind: 1.0}) as s,
        httpx.Client(verify=tls(s), headers={"Authorization": f"Bearer {get_token(s)}"}) as c,
    ):
        r = c.get(f"{s.base_url}/v1.0/users")
        assert r.status_code == int(kind)
        if kind == "429":
            assert 0 < float(r.headers["Retry-After"]) < 1
        _admin(s, "/_emulator/faults", {})
        assert c.get(f"{s.base_url}/v1.0/users").status_code == 200


def test_reset_and_truncate_faults_break_the_connection() -> None:
    with EmulatorServer() as s, httpx.Client(verify=tls(s), headers={"Authorization": f"Bearer {get_token(s)}"}) as c:
        _admin(s, "/_emulator/faults", {"reset": 1.0})
        with pytest.raises(httpx.TransportError):
            c.get(f"{s.base_url}/v1.0/users")
        _admin(s, "/_emulator/faults", {"truncate": 1.0})
        with pytest.raises(httpx.TransportError):
            c.get(f"{s.base_url}/v1.0/users")
        _admin(s, "/_emulator/faults", {"expire_token": 1.0})
        assert c.get(f"{s.base_url}/v1.0/users").status_code == 401
        r = httpx.post(f"{s.base_url}/_emulator/faults", json={"bogus": 1}, verify=tls(s))
        assert r.status_code == 400


def test_stats_count_and_reset(server: EmulatorServer, client: httpx.Client) -> None:
    _admin(server, "/_emulator/stats/reset", {})
    client.get("/v1.0/users")
    client.get("/v1.0/users?$top=1000")
    st = _admin(server, "/_emulator/stats")
    assert st["by_route"]["users"] == {"200": 1, "400": 1}
    assert st["bytes_sent"] > 0


def test_throttle_admin_route_switches_and_tunes_limits() -> None:
    with EmulatorServer() as s, httpx.Client(verify=tls(s), headers={"Authorization": f"Bearer {get_token(s)}"}) as c:
        assert _admin(s, "/_emulator/throttle")["enabled"] is False
        cfg = _admin(s, "/_emulator/throttle", {"enabled": True, "global_requests": 3, "window_s": 5})
        assert cfg["enabled"] and cfg["global_requests"] == 3
        codes = [c.get(f"{s.base_url}/v1.0/organization").status_code for _ in range(5)]
        assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]
        r = httpx.post(f"{s.base_url}/_emulator/throttle", json={"nope": 1}, verify=tls(s))
        assert r.status_code == 400


def test_retry_after_can_be_an_http_date() -> None:
    import email.utils

    with (
        EmulatorServer(faults={"429": 1.0, "retry_after_date": 1.0}) as s,
        httpx.Client(verify=tls(s), headers={"Authorization": f"Bearer {get_token(s)}"}) as c,
    ):
        r = c.get(f"{s.base_url}/v1.0/users")
        assert r.status_code == 429
        assert email.utils.parsedate_to_datetime(r.headers["Retry-After"]) is not None
