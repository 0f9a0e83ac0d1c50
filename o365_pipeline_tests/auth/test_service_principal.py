"""AzureServicePrincipal against the emulator: token accepted by Graph, caching, refresh, errors, trust."""

from __future__ import annotations

import base64
import json
import threading
import time

import pytest
import requests

from o365_pipeline.auth import O365Auth, O365AuthError
from o365_pipeline.emulator import EmulatorServer

from .conftest import admin, graph_get, token_requests


def test_token_is_accepted_by_graph(sp_server: EmulatorServer) -> None:
    auth = O365Auth.from_env(sp_server.env())
    token = auth.get_token()
    response = graph_get(sp_server, token)
    assert response.status_code == 200, response.text
    assert response.json()["value"][0]["id"]
    assert graph_get(sp_server, "not-a-token").status_code == 401  # the check above can fail


def test_env_ca_bundle_does_not_override_o365_ca_bundle(sp_server: EmulatorServer) -> None:
    # the autouse fixture points REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE at an unrelated CA: a plain
    # requests.Session picks it up and fails; the auth resource's pinned session must not
    with pytest.raises(requests.exceptions.SSLError):
        requests.Session().get(f"{sp_server.base_url}/common/discovery/instance", verify=True, timeout=10)
    assert O365Auth.from_env(sp_server.env()).get_token()


def test_missing_ca_bundle_is_a_one_line_error(sp_server: EmulatorServer) -> None:
    env = {k: v for k, v in sp_server.env().items() if k != "O365_CA_BUNDLE"}
    with pytest.raises(O365AuthError) as info:
        O365Auth.from_env(env).get_token()
    assert info.value.setting == "O365_CA_BUNDLE"


def test_token_cached_in_memory_and_thread_safe(sp_server: EmulatorServer) -> None:
    auth = O365Auth.from_env(sp_server.env())
    before = token_requests(sp_server)
    tokens: list[str] = []
    threads = [threading.Thread(target=lambda: tokens.append(auth.get_token())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(tokens) == 8 and len(set(tokens)) == 1
    assert token_requests(sp_server) - before == 1
    forced = auth.get_token(force_refresh=True)
    assert forced != tokens[0]
    assert token_requests(sp_server) - before == 2
    assert auth.get_token() == forced


def test_token_refreshed_before_expiry(fresh_server: EmulatorServer) -> None:
    admin(fresh_server, "POST", "identity", {"token_lifetime": 303})  # 3 s beyond the 5 min margin
    auth = O365Auth.from_env(fresh_server.env())
    first = auth.get_token()
    assert auth.get_token() == first
    time.sleep(3.1)
    second = auth.get_token()
    assert second != first
    assert graph_get(fresh_server, second).status_code == 200


@pytest.mark.parametrize(
    ("change", "setting", "code"),
    [
        ({"O365_OAUTH_CLIENT_SECRET": "emu~wrong-secret-value"}, "O365_OAUTH_CLIENT_SECRET", "AADSTS7000215"),
        ({"O365_OAUTH_CLIENT_ID": "00000000-0000-0000-0000-00000000beef"}, "O365_OAUTH_CLIENT_ID", "AADSTS700016"),
        ({"O365_AZURE_TENANT": "nosuchtenant.onmicrosoft.com"}, "O365_AZURE_TENANT", "AADSTS90002"),
    ],
)
def test_identity_errors_name_the_setting(
    sp_server: EmulatorServer, change: dict[str, str], setting: str, code: str
) -> None:
    env = {**sp_server.env(), **change}
    with pytest.raises(O365AuthError) as info:
        O365Auth.from_env(env).get_token()
    message = str(info.value)
    assert info.value.setting == setting
    assert code in message and setting in message and "\n" not in message
    assert env["O365_OAUTH_CLIENT_SECRET"] not in message and env["O365_OAUTH_CLIENT_SECRET"] not in repr(info.value)


def test_missing_consent_is_65001(sp_server: EmulatorServer) -> None:
    app = admin(sp_server, "POST", "apps", {"display_name": "no consent", "consented": False})
    env = {**sp_server.env(), "O365_OAUTH_CLIENT_ID": app["client_id"], "O365_OAUTH_CLIENT_SECRET": app["secret"]}
    with pytest.raises(O365AuthError) as info:
        O365Auth.from_env(env).get_token()
    assert "AADSTS65001" in str(info.value) and "consent" in str(info.value)
    assert app["secret"] not in str(info.value)


def test_secret_absent_from_repr_after_use(sp_server: EmulatorServer) -> None:
    env = sp_server.env()
    auth = O365Auth.from_env(env)
    token = auth.get_token()
    for text in (repr(auth), str(auth), repr(auth.settings())):
        assert env["O365_OAUTH_CLIENT_SECRET"] not in text and token not in text


def test_national_cloud_scope_reaches_graph(sp_server: EmulatorServer) -> None:
    auth = O365Auth.from_env({**sp_server.env(), "O365_AZURE_ENVIRONMENT": "USGOVT"})
    assert auth.endpoints().scope == "https://graph.microsoft.us/.default"
    token = auth.get_token()
    assert _claims(token)["aud"] == "https://graph.microsoft.us"
    assert graph_get(sp_server, token).status_code == 200


def _claims(token: str) -> dict[str, str]:
    body = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
