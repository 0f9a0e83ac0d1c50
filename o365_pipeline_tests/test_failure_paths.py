"""Every failure of a reader, a hand-over between readers or a fan-out ends `o365-pipeline sync` in bounded time.

Each case runs the installed command against the emulator with an injected answer (`/_emulator/inject`) and a
deadline: a regression that hangs fails here instead of hanging CI. RELIABILITY.md lists the cases and figures.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from o365_pipeline.emulator import EmulatorServer
from o365_pipeline_tests.auth.runs import CLI, child_env, raw_count
from o365_pipeline_tests.conftest import admin, truth
from o365_pipeline_tests.emulator.conftest import delta_round, graph_client

DEADLINE = 60.0  # seconds; these runs end in under 15 s on the shared build machine
ALL = ""  # every entity, as a default run selects: the hang of issue 12 needed the attachment table riding along


@dataclass(frozen=True)
class Run:
    """What one `o365-pipeline sync` did."""

    code: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def last_line(self) -> str:
        lines = self.stderr.strip().splitlines()
        return lines[-1] if lines else ""


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    """One emulator for the module; each test sets its own injected answers (cleared after it)."""
    with EmulatorServer(seed=3, scale="small", state_dir=tmp_path_factory.mktemp("emulator")) as server:
        yield server


@pytest.fixture(autouse=True)
def _clear_rules(tenant: EmulatorServer) -> Iterator[None]:
    yield
    tenant.emu.inject.set([])


def sync(
    tenant: EmulatorServer,
    workdir: Path,
    entities: str = ALL,
    rules: list[dict[str, Any]] | None = None,
    settings: dict[str, str] | None = None,
) -> Run:
    """`o365-pipeline sync` with ``rules`` injected, failing the test when it does not end within DEADLINE."""
    tenant.emu.inject.set(rules or [])
    env = child_env({**tenant.env(), "O365_PROGRESS_SECONDS": "0", **(settings or {})}, workdir)
    if entities:
        env["O365_ENTITIES"] = entities
    started = time.monotonic()
    try:
        done = subprocess.run([str(CLI), "sync"], env=env, capture_output=True, text=True, timeout=DEADLINE)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"sync hung: no end within {DEADLINE:.0f} s; stderr ends {exc.stderr!r:.800}")
    return Run(done.returncode, done.stdout, done.stderr, time.monotonic() - started)


def denied(path: str, code: str = "Authorization_RequestDenied") -> dict[str, Any]:
    """A rule answering 403 on ``path`` as Graph does for an app without the permission."""
    message = "Insufficient privileges to complete the operation."
    return {"path": path, "status": 403, "body": {"error": {"code": code, "message": message}}}


def bad_request(path: str) -> dict[str, Any]:
    """A rule answering 400 on ``path``."""
    return {"path": path, "status": 400, "body": {"error": {"code": "BadRequest", "message": "Invalid request."}}}


FAILURES = {
    # every entity selected, as by default: the cases of issue 12 hung at "extracting: 20/27 entities read"
    "organization 400": (ALL, [bad_request(r"^/v1\.0/organization")], "BadRequest on /v1.0/organization"),
    "users/delta body [1,2,3]": (ALL, [{"path": r"^/v1\.0/users/delta", "body": [1, 2, 3]}], "a JSON array"),
    "users/delta value null": (ALL, [{"path": r"^/v1\.0/users/delta", "body": {"value": None}}], "value: null"),
    # one parent of a children fan-out fails while the attachment tables ride on their parents' readers
    "one team's channels 400": (ALL, [bad_request(r"/channels")], "BadRequest"),
    # a proxy's sign-in page with status 200: said at once (it was retried as a truncated body for 86-109 s)
    "an HTML page from a proxy": (
        "organization",
        [{"path": "/organization", "body": "<html><body>Sign in</body></html>", "content_type": "text/html"}],
        "Graph answered an HTML page (content-type text/html), not JSON",
    ),
}


@pytest.mark.parametrize("case", list(FAILURES))
def test_a_failing_reader_ends_the_sync_at_once_with_one_line(
    case: str, tenant: EmulatorServer, tmp_path: Path
) -> None:
    entities, rules, says = FAILURES[case]
    run = sync(tenant, tmp_path, entities, rules)
    assert run.code == 1, run.stderr[-2000:]
    assert run.last_line.startswith("error: ") and says in run.last_line, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    assert raw_count(tmp_path / "o365.duckdb", "users") is None  # a failed run loads nothing


def test_a_missing_permission_skips_that_entity_loads_the_rest_and_exits_non_zero(
    tenant: EmulatorServer, tmp_path: Path
) -> None:
    run = sync(tenant, tmp_path, ALL, [denied(r"^/v1\.0/teams"), denied("/subscribedSkus", "Forbidden")])
    assert run.code == 1, run.stderr[-2000:]
    listed = ("channel_members", "channel_message_replies", "channel_messages", "channels")  # they list teams first
    needs = ", ".join(f"{name} needs the Graph permission Team.ReadBasic.All" for name in listed)
    assert run.last_line == (
        f"error: {needs}, subscribed_skus needs the Graph permission Organization.Read.All, team_members needs the "
        "Graph permission Team.ReadBasic.All, teams needs the Graph permission Team.ReadBasic.All: grant it, or leave "
        "the entity out with O365_ENTITIES"
    )
    warnings = [line for line in run.stderr.splitlines() if "not read: Graph refused" in line]
    assert len(warnings) == 7  # one per entity, naming the permission
    assert all(("Team.ReadBasic.All" in line) != ("subscribed_skus" in line) for line in warnings)
    expected = truth(tenant)
    for table in ("users", "organization", "messages", "message_attachments", "events", "planner_tasks"):
        assert raw_count(tmp_path / "o365.duckdb", table) == expected[table]["count"], table
    assert raw_count(tmp_path / "o365.duckdb", "teams") is None
    again = sync(tenant, tmp_path, ALL, [])  # granted: the skipped entities load, nothing else changes
    assert again.code == 0, again.stderr[-2000:]
    for table in ("teams", "channels", "subscribed_skus", "users", "messages"):
        assert raw_count(tmp_path / "o365.duckdb", table) == expected[table]["count"], table


def test_a_page_without_value_fails_and_its_changes_are_read_next_time(tenant: EmulatorServer, tmp_path: Path) -> None:
    assert sync(tenant, tmp_path, "users").code == 0
    admin(tenant, "POST", "mutate", {"seed": 5, "ops": [{"entity": "users", "op": "create", "count": 2}]})
    with graph_client(tenant) as client:
        _, past_the_changes = delta_round(client, "/v1.0/users/delta")
    page = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users", "@odata.deltaLink": past_the_changes}
    skipped = sync(tenant, tmp_path, "users", [{"path": r"^/v1\.0/users/delta", "body": page, "times": 1}])
    assert skipped.code == 1 and "NotACollectionPage" in skipped.last_line and "no 'value' list" in skipped.last_line
    assert sync(tenant, tmp_path, "users").code == 0
    assert raw_count(tmp_path / "o365.duckdb", "users") == truth(tenant)["users"]["count"]  # the 2 new users too
