"""O365Auth as a Dagster resource: EnvVar config resolved in a run, token works, secret not in the run log."""

from __future__ import annotations

import ssl
import subprocess
import sys

import dagster as dg
import httpx
import pytest

from o365_pipeline.auth import O365Auth
from o365_pipeline.emulator import EmulatorServer


def test_materialize_with_env_var_config(sp_server: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    env = sp_server.env()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("O365_MSI_CLIENT_ID", raising=False)

    @dg.asset
    def first_user(o365_auth: O365Auth) -> str:
        with httpx.Client(verify=o365_auth.ssl_context()) as client:
            response = client.get(
                f"{o365_auth.endpoints().graph_root}/v1.0/users?$top=1&$select=id",
                headers={"Authorization": f"Bearer {o365_auth.get_token()}"},
            )
        response.raise_for_status()
        return str(response.json()["value"][0]["id"])

    resource = O365Auth.from_dagster_env()
    assert env["O365_OAUTH_CLIENT_SECRET"] not in repr(resource)
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([first_user], resources={"o365_auth": resource}, instance=instance)
    assert result.success
    assert result.output_for_node("first_user") == sp_server.emu.directory.make_user(0)["id"]
    logged = "\n".join(str(record) for record in instance.all_logs(result.run_id))
    assert env["O365_OAUTH_CLIENT_SECRET"] not in logged
    assert isinstance(resource.ssl_context(), ssl.SSLContext)


def test_the_headless_sync_path_does_not_load_dagster() -> None:
    """`o365-pipeline sync` and the benchmarks use GraphAuth: Dagster's ~60 MB of imports stay out of them."""
    code = (
        "import sys, o365_pipeline.cli, o365_pipeline.sync, o365_pipeline.bench.child, o365_pipeline.bench.naive\n"
        "from o365_pipeline.auth import GraphAuth\n"
        "print('dagster' in sys.modules)\n"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"
