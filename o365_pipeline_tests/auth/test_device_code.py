"""AzureAD: device code login, the 0600 token cache file, silent use and refresh from it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from o365_pipeline.auth import O365Auth, O365AuthError
from o365_pipeline.auth.device_code import login
from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.emulator.identity import exports_for_scheme

from .conftest import admin, graph_get, token_requests


def _ad_env(server: EmulatorServer, state_dir: Path) -> dict[str, str]:
    return exports_for_scheme(
        "AzureAD", identity=server.identity, base_url=server.base_url, ca_path=server.ca_path, state_dir=state_dir
    )


def test_login_then_silent_tokens_from_the_cache_file(fresh_server: EmulatorServer, tmp_path: Path) -> None:
    env = _ad_env(fresh_server, tmp_path / "state")
    cache = Path(env["O365_TOKEN_CACHE"])
    lines: list[str] = []
    assert login(O365Auth.from_env(env), out=lines.append) == 0, lines
    assert re.search(rf"open {re.escape(fresh_server.base_url)}/devicelogin and enter the code [A-Z0-9]{{9}}", lines[0])
    assert lines[-1].startswith(f"signed in as admin@{fresh_server.identity.tenant_domain}")
    assert cache.stat().st_mode & 0o777 == 0o600

    before = token_requests(fresh_server)
    auth = O365Auth.from_env(env)  # a later run: new process state, same cache file
    token = auth.get_token()
    assert graph_get(fresh_server, token).status_code == 200
    assert token_requests(fresh_server) == before  # the access token came from the file

    refreshed = auth.get_token(force_refresh=True)  # refresh_token grant
    assert refreshed != token and token_requests(fresh_server) == before + 1
    assert graph_get(fresh_server, refreshed).status_code == 200
    assert cache.stat().st_mode & 0o777 == 0o600

    fresh_server.identity.revoke_refresh_tokens()
    with pytest.raises(O365AuthError) as info:
        O365Auth.from_env(env).get_token(force_refresh=True)
    assert info.value.setting == "O365_TOKEN_CACHE" and "o365-pipeline login" in str(info.value)


def test_expired_access_token_is_refreshed_silently(fresh_server: EmulatorServer, tmp_path: Path) -> None:
    admin(fresh_server, "POST", "identity", {"token_lifetime": 60})  # under msal's 5 minute margin
    env = _ad_env(fresh_server, tmp_path)
    assert login(O365Auth.from_env(env), out=lambda line: None) == 0
    before = token_requests(fresh_server)
    first = O365Auth.from_env(env).get_token()
    assert token_requests(fresh_server) == before + 1  # refreshed, not taken from the cache
    assert graph_get(fresh_server, first).status_code == 200


def test_no_cached_account_says_run_login(sp_server: EmulatorServer, tmp_path: Path) -> None:
    env = _ad_env(sp_server, tmp_path)
    with pytest.raises(O365AuthError) as info:
        O365Auth.from_env(env).get_token()
    assert info.value.setting == "O365_TOKEN_CACHE" and "run `o365-pipeline login`" in str(info.value)


@pytest.mark.parametrize(("action", "status"), [("approve", 0), ("decline", 1)])
def test_sign_in_approved_or_declined_by_the_user(
    fresh_server: EmulatorServer, tmp_path: Path, action: str, status: int
) -> None:
    admin(fresh_server, "POST", "identity", {"device_auto_approve": False})
    lines: list[str] = []

    def out(line: str) -> None:
        lines.append(line)
        code = re.search(r"code ([A-Z0-9]+)", line)
        if code:
            admin(fresh_server, "POST", "devicelogin", {"user_code": code.group(1), "action": action})

    assert login(O365Auth.from_env(_ad_env(fresh_server, tmp_path)), out=out) == status
    if action == "decline":
        assert lines[-1].startswith("login failed:") and "authorization_declined" in lines[-1]
    else:
        assert lines[-1].startswith("signed in as ")


def test_login_needs_the_azure_ad_scheme(sp_server: EmulatorServer) -> None:
    lines: list[str] = []
    assert login(O365Auth.from_env(sp_server.env()), out=lines.append) == 1
    assert "O365_AUTH_SCHEME" in lines[-1]


def test_processes_sharing_the_cache_file_see_each_others_refresh(fresh_server: EmulatorServer, tmp_path: Path) -> None:
    env = _ad_env(fresh_server, tmp_path)
    assert login(O365Auth.from_env(env), out=lambda line: None) == 0
    first, second = O365Auth.from_env(env), O365Auth.from_env(env)
    second.interactive()  # loads the cache file now
    refreshed = first.get_token(force_refresh=True)
    before = token_requests(fresh_server)
    assert second.get_token() == refreshed  # reloaded from the file, not the stale copy
    assert token_requests(fresh_server) == before


def test_login_again_replaces_the_cached_sign_in(fresh_server: EmulatorServer, tmp_path: Path) -> None:
    env = _ad_env(fresh_server, tmp_path)
    assert login(O365Auth.from_env(env), out=lambda line: None) == 0
    fresh_server.identity.revoke_refresh_tokens()
    assert login(O365Auth.from_env(env), out=lambda line: None) == 0
    assert O365Auth.from_env(env).get_token(force_refresh=True)  # the new refresh token was saved


def test_login_with_an_app_that_does_not_allow_public_client_flows(sp_server: EmulatorServer, tmp_path: Path) -> None:
    env = {**_ad_env(sp_server, tmp_path), "O365_OAUTH_CLIENT_ID": sp_server.identity.default_app.client_id}
    lines: list[str] = []
    assert login(O365Auth.from_env(env), out=lines.append) == 1
    assert "AADSTS7000218" in lines[-1] and "Allow public client flows" in lines[-1]
    assert lines[-1].endswith("fix O365_OAUTH_CLIENT_ID")
