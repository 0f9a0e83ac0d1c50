"""AzureMSI through msal's App Service path (IDENTITY_ENDPOINT / IDENTITY_HEADER) against the emulator."""

from __future__ import annotations

import base64
import json

import pytest

from o365_pipeline.auth import O365Auth, O365AuthError
from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.emulator.identity import exports_for_scheme

from .conftest import graph_get


def _msi_env(server: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = exports_for_scheme(
        "AzureMSI",
        identity=server.identity,
        base_url=server.base_url,
        ca_path=server.ca_path,
        state_dir=server.state_dir,
    )
    assert env["IDENTITY_ENDPOINT"].startswith(server.base_url)  # never the VM metadata address
    monkeypatch.setenv("IDENTITY_ENDPOINT", env["IDENTITY_ENDPOINT"])
    monkeypatch.setenv("IDENTITY_HEADER", env["IDENTITY_HEADER"])
    return env


def _claims(token: str) -> dict[str, str]:
    body = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def test_system_assigned(sp_server: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    auth = O365Auth.from_env(_msi_env(sp_server, monkeypatch))
    token = auth.get_token()
    assert graph_get(sp_server, token).status_code == 200
    assert _claims(token)["appid"] == sp_server.identity.msi_system.client_id
    assert auth.get_token() == token
    assert auth.get_token(force_refresh=True) != token


def test_user_assigned(sp_server: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {**_msi_env(sp_server, monkeypatch), "O365_MSI_CLIENT_ID": sp_server.identity.msi_user.client_id}
    token = O365Auth.from_env(env).get_token()
    assert _claims(token)["appid"] == sp_server.identity.msi_user.client_id
    assert graph_get(sp_server, token).status_code == 200


def test_unknown_user_assigned_identity(sp_server: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {**_msi_env(sp_server, monkeypatch), "O365_MSI_CLIENT_ID": "00000000-0000-0000-0000-0000000000aa"}
    with pytest.raises(O365AuthError) as info:
        O365Auth.from_env(env).get_token()
    assert info.value.setting == "O365_MSI_CLIENT_ID" and "Managed Identity" in str(info.value)


def test_wrong_identity_header_is_refused(sp_server: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    env = _msi_env(sp_server, monkeypatch)
    monkeypatch.setenv("IDENTITY_HEADER", "not-the-header")
    with pytest.raises(O365AuthError) as info:
        O365Auth.from_env(env).get_token()
    assert "IDENTITY_HEADER" in str(info.value) and "\n" not in str(info.value)


def test_something_else_answering_on_the_endpoint(sp_server: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    env = _msi_env(sp_server, monkeypatch)
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"{sp_server.base_url}/devicelogin")  # a text page, not a token
    with pytest.raises(O365AuthError) as info:
        O365Auth.from_env(env).get_token()
    assert info.value.setting == "O365_AUTH_SCHEME" and "not a token" in str(info.value)
