"""Identity endpoints: discovery, token errors, msal against the real token endpoint."""

from __future__ import annotations

import time

import httpx
import msal
import requests

from o365_pipeline.emulator import EmulatorServer

from .conftest import get_token, tls


def _post_token(server: EmulatorServer, tenant: str, **form: str) -> httpx.Response:
    return httpx.post(f"{server.base_url}/{tenant}/oauth2/v2.0/token", data=form, verify=tls(server))


def test_openid_configuration_points_back_at_https_server(server: EmulatorServer) -> None:
    env = server.env()
    for tenant in (env["O365_AZURE_TENANT"], "contoso3.onmicrosoft.com"):
        doc = httpx.get(f"{server.base_url}/{tenant}/v2.0/.well-known/openid-configuration", verify=tls(server)).json()
        assert doc["token_endpoint"].startswith(server.base_url + "/")
        assert doc["token_endpoint"].startswith("https://")
        assert "authorization_endpoint" in doc and "device_authorization_endpoint" in doc and "issuer" in doc
    r = httpx.get(f"{server.base_url}/common/discovery/instance?api-version=1.1", verify=tls(server))
    assert r.json()["tenant_discovery_endpoint"].startswith(server.base_url)


def test_token_errors(server: EmulatorServer) -> None:
    env = server.env()
    base = {
        "client_id": env["O365_OAUTH_CLIENT_ID"],
        "grant_type": "client_credentials",
        "scope": "https://graph.microsoft.com/.default",
    }
    r = _post_token(server, env["O365_AZURE_TENANT"], **base, client_secret="wrong")
    assert r.status_code == 400
    body = r.json()
    assert body["error"] == "invalid_client" and body["error_codes"] == [7000215]
    assert body["error_description"].startswith("AADSTS7000215: Invalid client secret provided.")
    assert {"trace_id", "correlation_id", "timestamp"} <= set(body)
    assert "wrong" not in r.text
    r = _post_token(
        server,
        env["O365_AZURE_TENANT"],
        **{**base, "client_id": "00000000-0000-0000-0000-000000000001"},
        client_secret="x",
    )
    assert r.status_code == 400 and r.json()["error_codes"] == [700016]
    r = _post_token(server, "nosuchtenant.onmicrosoft.com", **base, client_secret=env["O365_OAUTH_CLIENT_SECRET"])
    assert r.status_code == 400 and r.json()["error_codes"] == [90002]


def test_msal_client_credentials_round_trip(server: EmulatorServer) -> None:
    env = server.env()
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would otherwise override verify
    session.verify = str(server.ca_path)
    app = msal.ConfidentialClientApplication(
        env["O365_OAUTH_CLIENT_ID"],
        client_credential=env["O365_OAUTH_CLIENT_SECRET"],
        authority=f"{env['O365_LOGIN_URL']}/{env['O365_AZURE_TENANT']}",
        http_client=session,
        instance_discovery=False,
    )
    result = app.acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])
    assert result.get("token_type") == "Bearer", result
    r = httpx.get(
        f"{server.base_url}/v1.0/organization",
        headers={"Authorization": f"Bearer {result['access_token']}"},
        verify=tls(server),
    )
    assert r.status_code == 200
    assert r.json()["value"][0]["id"] == env["O365_AZURE_TENANT"]


def test_401_without_and_with_expired_token() -> None:
    with EmulatorServer() as s:
        r = httpx.get(f"{s.base_url}/v1.0/users", verify=tls(s))
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "InvalidAuthenticationToken"
        fresh = {"Authorization": f"Bearer {get_token(s)}"}
        assert httpx.get(f"{s.base_url}/v1.0/users", headers=fresh, verify=tls(s)).status_code == 200
        # A token that lives one second, asked after the check above: on a loaded machine the request that
        # follows its issue could otherwise already be late.
        s.identity.token_lifetime = 1
        tok = get_token(s)
        h = {"Authorization": f"Bearer {tok}"}
        time.sleep(1.1)
        r = httpx.get(f"{s.base_url}/v1.0/users", headers=h, verify=tls(s))
        assert r.status_code == 401
        err = r.json()["error"]
        assert err["code"] == "InvalidAuthenticationToken"
        assert {"date", "request-id", "client-request-id"} <= set(err["innerError"])
        bad = tok[:-4] + "AAAA"
        r = httpx.get(f"{s.base_url}/v1.0/users", headers={"Authorization": f"Bearer {bad}"}, verify=tls(s))
        assert r.status_code == 401
