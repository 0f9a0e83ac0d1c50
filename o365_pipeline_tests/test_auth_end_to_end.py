"""Every auth scheme end to end: the real emulator, the installed command, a real DuckDB file.

Per scheme a token is obtained (by the principal that scheme stands for) and `users` is synced; the
AzureAD sign-in is then reused by a Dagster run after its access token expired.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import dagster as dg
import pytest
from dagster_dlt import DagsterDltResource

from o365_pipeline.auth import O365Auth
from o365_pipeline.defs.ingestion import o365_raw_tables, raw_asset_key
from o365_pipeline.emulator import EmulatorServer
from o365_pipeline_tests.auth.certgen import make_cert
from o365_pipeline_tests.auth.runs import approved_login, child_env, raw_count, run_cli
from o365_pipeline_tests.conftest import admin, truth, use_emulator

SCHEMES = ("AzureAD", "AzureMSI", "AzureServicePrincipal", "AzureServicePrincipalCert")


def _claims(token: str) -> dict[str, str]:
    body = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def _access_tokens(server: EmulatorServer) -> list[str]:
    """Access tokens the emulator handed out so far (refresh tokens left out)."""
    return [token for token in server.identity.issued_tokens if token.count(".") == 2]


def _expected_principal(server: EmulatorServer, scheme: str) -> tuple[str, str]:
    identity = server.identity
    if scheme == "AzureAD":
        return identity.public_app.client_id, "user"
    if scheme == "AzureMSI":
        return identity.msi_system.client_id, "app"
    return identity.default_app.client_id, "app"


def _stats(server: EmulatorServer, route: str) -> int:
    return sum(admin(server, "GET", "stats").json()["by_route"].get(route, {}).values())


@pytest.mark.parametrize("scheme", SCHEMES)
def test_scheme_gets_a_token_and_syncs_users_equal_to_truth(scheme: str, tmp_path: Path) -> None:
    with EmulatorServer(seed=3, scale="small", scheme=scheme, state_dir=tmp_path / "emulator") as server:
        env = child_env(server.env(), tmp_path / "run")
        if scheme == "AzureAD":
            login = run_cli(["login"], env, timeout=60)
            assert login.returncode == 0, login.stdout + login.stderr
            assert f"signed in as admin@{server.identity.tenant_domain}" in login.stdout
            assert Path(env["O365_TOKEN_CACHE"]).stat().st_mode & 0o777 == 0o600

        done = run_cli(["sync", "--entities", "users"], env)
        assert done.returncode == 0, done.stderr[-2000:]

        tokens = _access_tokens(server)
        assert tokens, "no access token was issued"
        appid, kind = _expected_principal(server, scheme)
        assert {(_claims(t)["appid"], _claims(t)["idtyp"]) for t in tokens} == {(appid, kind)}
        expected = truth(server)["users"]["count"]
        assert expected > 0 and raw_count(env["O365_DUCKDB_PATH"]) == expected
        assert f"users{' ' * 10}" in done.stdout and f"{expected}" in done.stdout


def test_cert_the_tenant_does_not_know_fails_with_a_clear_error(tmp_path: Path) -> None:
    stranger = make_cert("o365-pipeline app", org="Not Registered", slot=7).pem()
    with EmulatorServer(
        seed=3, scale="small", scheme="AzureServicePrincipalCert", state_dir=tmp_path / "emulator"
    ) as server:
        settings = {**server.env(), "O365_OAUTH_JWT_CERT": stranger, "O365_OAUTH_JWT_CERT_TYPE": "PEMKEY_BLOB"}
        env = child_env(settings, tmp_path / "run")
        done = run_cli(["sync", "--entities", "users"], env)
        assert done.returncode == 1
        # the last line is the one to read (the command may print dlt's traceback above it)
        assert (
            done.stderr.strip()
            .splitlines()[-1]
            .endswith(
                "token request failed: AADSTS700027 the certificate is not registered for this application "
                "(invalid_client); fix O365_OAUTH_JWT_CERT"
            )
        )
        assert "PRIVATE KEY" not in done.stdout + done.stderr
        assert not _access_tokens(server) and _stats(server, "users") == 0
        assert raw_count(env["O365_DUCKDB_PATH"]) is None

        check = run_cli(["test-connection"], env)  # the Create & Test step says the same
        assert check.returncode == 1 and "AADSTS700027" in check.stdout.splitlines()[-1]


def test_device_code_login_then_a_dagster_run_refreshes_the_expired_token_silently(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with EmulatorServer(seed=3, scale="small", scheme="AzureAD", state_dir=tmp_path / "emulator") as server:
        settings = use_emulator(server, tmp_path, monkeypatch)  # the Dagster run reads these through EnvVar
        admin(server, "POST", "identity", {"token_lifetime": 2})
        login = approved_login(server, child_env(server.env(), tmp_path))
        assert login.returncode == 0, login.stdout + login.stderr
        assert login.stdout.startswith(f"To sign in, open {server.base_url}/devicelogin and enter the code ")
        cache = Path(settings["O365_TOKEN_CACHE"])
        signed_in = json.loads(cache.read_text())
        [access] = signed_in["AccessToken"].values()
        [refresh] = signed_in["RefreshToken"].values()
        time.sleep(max(0.0, float(access["expires_on"]) - time.time()) + 0.5)
        assert float(access["expires_on"]) < time.time()  # the cached access token is now expired

        admin(server, "POST", "identity", {"token_lifetime": 3599})
        tokens_before, device_before = _stats(server, "token"), _stats(server, "devicecode")
        result = dg.materialize(
            [o365_raw_tables],
            selection=[raw_asset_key("users")],
            resources={"dlt": DagsterDltResource(), "o365": O365Auth.from_dagster_env()},
        )
        assert result.success
        assert [m.asset_key for m in result.get_asset_materialization_events()] == [raw_asset_key("users")]
        assert raw_count(settings["O365_DUCKDB_PATH"]) == truth(server)["users"]["count"]
        assert _stats(server, "token") == tokens_before + 1  # one refresh_token grant, nothing interactive
        assert _stats(server, "devicecode") == device_before

        refreshed = json.loads(cache.read_text())
        [new_access] = refreshed["AccessToken"].values()
        [new_refresh] = refreshed["RefreshToken"].values()
        assert new_access["secret"] != access["secret"] and float(new_access["expires_on"]) > time.time() + 3000
        assert new_refresh["secret"] != refresh["secret"]  # the rotated refresh token was saved
        assert cache.stat().st_mode & 0o777 == 0o600
