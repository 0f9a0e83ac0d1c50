"""The token never leaves Graph: a nextLink elsewhere is not followed, a stored link from an earlier root is not.

A hostile link (served by the emulator through `/_emulator/inject`) points at a listener the test starts, which
the client would trust (plain http, or https with a certificate from a CA in `O365_CA_BUNDLE`): it must receive
nothing at all.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.emulator.tls import generate_tls, server_context
from o365_pipeline_tests.auth.runs import raw_count
from o365_pipeline_tests.conftest import admin, truth
from o365_pipeline_tests.test_failure_paths import sync


class Listener(http.server.ThreadingHTTPServer):
    """A host that is not Graph: records every request (path, Authorization header) and answers an empty page."""

    daemon_threads = True

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        super().__init__(("127.0.0.1", 0), _Record)


class _Record(http.server.BaseHTTPRequestHandler):
    server: Listener

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self.server.seen.append((self.path, self.headers.get("Authorization", "")))
        body = b'{"value": []}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        return


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    with EmulatorServer(seed=3, scale="small", state_dir=tmp_path_factory.mktemp("emulator")) as server:
        yield server


@pytest.fixture(params=["https", "http"])
def hostile(request: pytest.FixtureRequest, tmp_path: Path, tenant: EmulatorServer) -> Iterator[tuple[Listener, str]]:
    """(listener, its base URL): https with a CA the sync trusts too, or plain http."""
    listener = Listener()
    if request.param == "https":
        files = generate_tls(tmp_path / "hostile", "127.0.0.1")
        listener.socket = server_context(files).wrap_socket(listener.socket, server_side=True)
        bundle = tmp_path / "trusted.pem"  # the sync trusts this host's certificate as much as Graph's
        bundle.write_text(Path(tenant.ca_path).read_text() + files.ca_cert.read_text())
    thread = threading.Thread(target=listener.serve_forever, daemon=True)
    thread.start()
    yield listener, f"{request.param}://127.0.0.1:{listener.server_address[1]}"
    listener.shutdown()
    listener.server_close()


def test_a_next_link_to_another_host_is_not_followed(
    tenant: EmulatorServer, hostile: tuple[Listener, str], tmp_path: Path
) -> None:
    listener, base = hostile
    link = f"{base}/v1.0/users/delta?$skiptoken=stolen"
    rules = [{"path": r"^/v1\.0/users/delta", "body": {"value": [], "@odata.nextLink": link}}]
    bundle = tmp_path / "trusted.pem"
    extra = {"O365_CA_BUNDLE": str(bundle)} if bundle.exists() else {}
    run = sync(tenant, tmp_path, "users", rules, extra)
    assert run.code == 1, run.stderr[-2000:]
    assert run.last_line == (
        f"error: Graph 0 ForeignLink on /v1.0/users/delta: Graph sent a link to {base}, which is not the Graph "
        f"root {tenant.base_url} (O365_GRAPH_URL): not followed, the token goes to the Graph root only"
    )
    assert listener.seen == []  # no request, no Authorization header
    assert raw_count(tmp_path / "o365.duckdb", "users") is None


def test_a_stored_link_of_an_earlier_graph_root_is_not_followed(tenant: EmulatorServer, tmp_path: Path) -> None:
    with EmulatorServer(seed=3, scale="small", state_dir=tmp_path / "earlier") as earlier:
        first = sync(earlier, tmp_path, "users,groups")
        assert first.code == 0, first.stderr[-2000:]
        admin(earlier, "POST", "stats/reset")
        moved = sync(tenant, tmp_path, "users,groups")  # O365_GRAPH_URL now names another root
        assert moved.code == 0, moved.stderr[-2000:]
        asked = admin(earlier, "GET", "stats").json()["by_route"]
        assert [route for route in asked if not route.startswith("admin_")] == []  # the earlier root got nothing
    expected = truth(tenant)
    assert raw_count(tmp_path / "o365.duckdb", "users") == expected["users"]["count"]
