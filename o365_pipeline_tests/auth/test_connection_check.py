"""`test-connection`: one line per entity, exit status, reason on the last line."""

from __future__ import annotations

import socket
from pathlib import Path

from o365_pipeline.auth import O365Auth
from o365_pipeline.auth.connection_check import Probe, run_connection_check
from o365_pipeline.emulator import EmulatorServer

from .conftest import token_requests


def test_probe_lines_and_success(sp_server: EmulatorServer) -> None:
    directory = sp_server.emu.directory
    unlicensed, outside_policy = directory.make_user(3)["id"], directory.make_user(9)["id"]
    assert directory.make_user(3)["_mailbox"] == "none" and directory.make_user(9)["_mailbox"] == "denied"
    probes = [
        Probe("users", "users?$top=1&$select=id", "User.Read.All"),
        Probe("messages", "users/{user_id}/messages?$top=1", "Mail.Read"),
        Probe("messages_unlicensed", f"users/{unlicensed}/messages?$top=1", "Mail.Read"),
        Probe("messages_denied", f"users/{outside_policy}/messages?$top=1", "Mail.Read"),
        Probe("nowhere", "noSuchCollection", "Nothing.Read"),
    ]
    lines: list[str] = []
    assert run_connection_check(O365Auth.from_env(sp_server.env()), probes, out=lines.append) == 0
    assert lines[0] == "token: obtained (AzureServicePrincipal)"
    assert lines[1:6] == [
        "users: readable",
        "messages: readable",
        "messages_unlicensed: mailbox not enabled",
        "messages_denied: missing permission Mail.Read",
        lines[5],
    ]
    assert lines[5].startswith("nowhere: error HTTP 4")
    assert lines[-1] == "ok: token obtained and Graph answered; 2 of 5 entities readable"


def test_no_token_fails_with_the_reason_last(sp_server: EmulatorServer) -> None:
    env = {**sp_server.env(), "O365_OAUTH_CLIENT_SECRET": "emu~definitely-wrong"}
    lines: list[str] = []
    assert (
        run_connection_check(O365Auth.from_env(env), [Probe("users", "users", "User.Read.All")], out=lines.append) == 1
    )
    assert lines[-1].startswith("failed: no token:") and "O365_OAUTH_CLIENT_SECRET" in lines[-1]
    assert "emu~definitely-wrong" not in "\n".join(lines)


def test_bad_settings_fail_with_the_reason_last() -> None:
    lines: list[str] = []
    assert run_connection_check(O365Auth.from_env({"O365_AUTH_SCHEME": "Basic"}), [], out=lines.append) == 1
    assert "O365_AUTH_SCHEME" in lines[-1]


def test_graph_unreachable(sp_server: EmulatorServer) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**sp_server.env(), "O365_GRAPH_URL": f"https://127.0.0.1:{port}"}
    lines: list[str] = []
    assert run_connection_check(O365Auth.from_env(env), [], out=lines.append) == 1
    assert "did not answer" in lines[-1] and "O365_GRAPH_URL" in lines[-1]


def test_graph_rejecting_the_token_after_a_forced_refresh(
    sp_server: EmulatorServer, fresh_server: EmulatorServer, tmp_path: Path
) -> None:
    # tokens from one emulator's identity endpoints are not valid at another's Graph
    bundle = tmp_path / "both-cas.pem"
    bundle.write_bytes(sp_server.ca_path.read_bytes() + fresh_server.ca_path.read_bytes())
    env = {**sp_server.env(), "O365_GRAPH_URL": fresh_server.base_url, "O365_CA_BUNDLE": str(bundle)}
    before = token_requests(sp_server)
    lines: list[str] = []
    assert run_connection_check(O365Auth.from_env(env), [], out=lines.append) == 1
    assert lines[-1] == "failed: Graph rejected the token (HTTP 401 InvalidAuthenticationToken)"
    assert token_requests(sp_server) - before == 2  # the 401 forced exactly one refresh
