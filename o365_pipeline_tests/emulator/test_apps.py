"""Applications, service principals and devices: seeded credentials, delta rounds, key bytes, permissions, truth."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import httpx

from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.emulator.workload_kit import TENANT_EPOCH

from .conftest import all_pages, delta_round, graph_client, mutate, tls, truth


def _digest(ids: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()


def _days_left(credential: dict) -> float:
    end = datetime.fromisoformat(credential["endDateTime"].replace("Z", "+00:00"))
    return (end - TENANT_EPOCH) / timedelta(days=1)


def test_lists_match_truth_and_credentials_spread_around_the_tenants_now(
    server: EmulatorServer, client: httpx.Client
) -> None:
    t = truth(server)
    counts = {}
    for table, path in (
        ("applications", "applications"),
        ("service_principals", "servicePrincipals"),
        ("devices", "devices"),
    ):
        items, pages = all_pages(client, f"/v1.0/{path}?$top=4")
        assert pages > 1
        assert len(items) == t[table]["count"]
        assert _digest([i["id"] for i in items]) == t[table]["ids_sha256"]
        counts[table] = len(items)
    assert counts == {"applications": 10, "service_principals": 13, "devices": 20}

    apps, _ = all_pages(client, "/v1.0/applications?$select=id,appId,passwordCredentials,keyCredentials")
    credentials = [c for a in apps for c in a["passwordCredentials"] + a["keyCredentials"]]
    days = [_days_left(c) for c in credentials]
    assert any(d < 0 for d in days) and any(0 <= d < 30 for d in days) and any(d > 30 for d in days)
    assert any(not a["passwordCredentials"] and not a["keyCredentials"] for a in apps)  # an app without any
    # lists show what Graph shows: a hint, never the secret or the certificate's bytes
    assert all(c["secretText"] is None and len(c["hint"]) == 3 for a in apps for c in a["passwordCredentials"])
    assert all(c["key"] is None and c["type"] == "AsymmetricX509Cert" for a in apps for c in a["keyCredentials"])

    sps, _ = all_pages(client, "/v1.0/servicePrincipals?$select=id,appId,appOwnerOrganizationId")
    assert {a["appId"] for a in apps} < {s["appId"] for s in sps}  # every app has its service principal, and more


def test_a_single_object_asked_for_key_credentials_carries_the_key_bytes(client: httpx.Client) -> None:
    apps, _ = all_pages(client, "/v1.0/applications?$select=id,keyCredentials")
    app = next(a for a in apps if a["keyCredentials"])
    one = client.get(f"/v1.0/applications/{app['id']}?$select=id,keyCredentials").json()
    assert one["keyCredentials"][0]["key"] and one["keyCredentials"][0]["keyId"] == app["keyCredentials"][0]["keyId"]
    assert client.get(f"/v1.0/applications/{app['id']}").json()["keyCredentials"][0]["key"] is None
    r = client.get("/v1.0/devices/00000000-0000-0000-0000-000000000000")
    assert r.status_code == 404 and r.json()["error"]["code"] == "Request_ResourceNotFound"


def test_delta_rounds_report_changed_properties_and_removals(fresh: EmulatorServer) -> None:
    with graph_client(fresh) as c:
        apps, app_link = delta_round(c, "/v1.0/applications/delta?$select=id,displayName,passwordCredentials")
        sps, sp_link = delta_round(c, "/v1.0/servicePrincipals/delta()?$select=id,appId")
        devices, device_link = delta_round(c, "/v1.0/devices/delta?$select=id,displayName,accountEnabled")
        assert (len(apps), len(sps), len(devices)) == (10, 13, 20)
        assert delta_round(c, app_link)[0] == []

        done = mutate(
            fresh,
            [
                {"entity": "applications", "op": "update", "count": 1},
                {"entity": "applications", "op": "delete", "count": 1},
                {"entity": "devices", "op": "update", "count": 1},
                {"entity": "devices", "op": "delete", "count": 1},
                {"entity": "devices", "op": "create", "count": 1},
            ],
        )
        (updated,), (deleted,) = done["changes"][0]["ids"], done["changes"][1]["ids"]
        changed, _ = delta_round(c, app_link)
        by_id = {i["id"]: i for i in changed}
        if updated != deleted:  # an update is only the changed property (and the id)
            assert set(by_id[updated]) == {"id", "passwordCredentials"}
            added = by_id[updated]["passwordCredentials"][-1]
            assert 9 <= _days_left(added) < 11
        assert by_id[deleted]["@removed"] == {"reason": "changed"}
        sp_changes, _ = delta_round(c, sp_link)
        assert [s["@removed"] for s in sp_changes] == [{"reason": "deleted"}]  # the deleted app's principal

        device_changes, _ = delta_round(c, device_link)
        (device_updated,), (device_deleted,), (device_created,) = (ch["ids"] for ch in done["changes"][2:])
        by_id = {i["id"]: i for i in device_changes}
        assert by_id[device_deleted]["@removed"] == {"reason": "deleted"}
        assert by_id[device_created]["displayName"]
        if device_updated != device_deleted:
            assert by_id[device_updated] == {"id": device_updated, "accountEnabled": False}
        t = truth(fresh)
        assert t["applications"]["count"] == 9 and t["service_principals"]["count"] == 12
        assert t["devices"]["count"] == 20


def test_the_routes_need_their_permissions(fresh: EmulatorServer) -> None:
    secret = "scoped~secret"
    app = fresh.emu.identity.register_app("scoped app", secret=secret)
    app.roles = ["User.Read.All"]
    token = httpx.post(
        f"{fresh.base_url}/{fresh.env()['O365_AZURE_TENANT']}/oauth2/v2.0/token",
        data={
            "client_id": app.client_id,
            "client_secret": secret,
            "grant_type": "client_credentials",
            "scope": "https://graph.microsoft.com/.default",
        },
        verify=tls(fresh),
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=fresh.base_url, verify=tls(fresh), headers=headers) as c:
        for path, permission in (
            ("/v1.0/applications/delta", "Application.Read.All"),
            ("/v1.0/servicePrincipals", "Application.Read.All"),
            ("/v1.0/devices/delta", "Device.Read.All"),
        ):
            r = c.get(path)
            assert r.status_code == 403 and r.json()["error"]["code"] == "Authorization_RequestDenied", path
            assert permission in r.json()["error"]["message"]
        assert c.get("/v1.0/users?$top=1").status_code == 200
