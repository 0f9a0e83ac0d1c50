"""``make dev`` really started on a free port, a run launched as the UI does and its page open in a browser, then
Ctrl-C: nothing of ours is left within seconds (before, ``dagster dev`` and its webserver, daemon and code server
outlived it by more than a minute)."""

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
from playwright.sync_api import Browser

from o365_pipeline.dev import GRACE_SECONDS, group_members
from o365_pipeline_tests.ui.conftest import ROOT, free_port

STARTUP_SECONDS = 240
# Dagster's clean shutdown, then the kill of what is left, then the emulator: seconds, not a minute.
STOP_SECONDS = GRACE_SECONDS + 10
LAUNCH = """
mutation($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
  }
}"""


def live(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its parent to reap it does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def descendants(root: int) -> set[int]:
    """Every live process below ``root``."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return {pid for pid in found if live(pid)}


def group_of(pid: int) -> int | None:
    """The process group of ``pid``; None once it is gone."""
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def graphql(url: str, query: str, variables: dict | None = None, timeout: float = 120) -> dict:
    answer = httpx.post(f"{url}/graphql", json={"query": query, "variables": variables or {}}, timeout=timeout)
    answer.raise_for_status()
    return answer.json()["data"]


def wait_for_location(url: str, make: subprocess.Popen[bytes], log: Path) -> str:
    """The code location's name once ``dagster dev`` has loaded it."""
    query = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        assert make.poll() is None, f"make dev exited with {make.returncode}:\n{log.read_text()[-3000:]}"
        try:
            entries = graphql(url, query, timeout=5)["workspaceOrError"]["locationEntries"]
            if entries and entries[0]["loadStatus"] == "LOADED":
                return entries[0]["name"]
        except (httpx.HTTPError, KeyError, TypeError, ValueError):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"make dev not ready after {STARTUP_SECONDS} s:\n{log.read_text()[-3000:]}")


def launch_users_run(url: str, location: str) -> str:
    """Materialize o365_raw/users the way the UI's Materialize button does; returns the run id."""
    selector = {
        "repositoryLocationName": location,
        "repositoryName": "__repository__",
        "jobName": "__ASSET_JOB",
        "assetSelection": [{"path": ["o365_raw", "users"]}],
    }
    launched = graphql(url, LAUNCH, {"params": {"selector": selector, "mode": "default", "runConfigData": {}}})
    assert launched["launchRun"]["__typename"] == "LaunchRunSuccess", launched
    return launched["launchRun"]["run"]["runId"]


def wait_for_success(url: str, run_id: str, deadline_seconds: float = 180) -> None:
    """Until the run succeeded (the daemon dequeues it, the code server runs it in a process of its own)."""
    query = "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        status = graphql(url, query, {"id": run_id})["runOrError"]["status"]
        assert status not in ("FAILURE", "CANCELED"), status
        if status == "SUCCESS":
            return
        time.sleep(0.5)
    raise TimeoutError(f"run {run_id} did not finish in {deadline_seconds} s")


def test_ctrl_c_stops_make_dev_after_a_run_from_the_ui(tmp_path: Path, browser: Browser) -> None:
    port = free_port()
    env = {
        **os.environ,
        "O365_DUCKDB_PATH": str(tmp_path / "dev.duckdb"),
        "DLT_DATA_DIR": str(tmp_path / "dlt"),
    }
    log = tmp_path / "make-dev.log"
    command = ["make", "-s", "dev", f"DEV_PORT={port}", f"DEV_HOME={tmp_path / 'home'}"]
    with log.open("wb") as out:
        # A session of its own, as a terminal gives `make dev`: Ctrl-C is SIGINT to this whole process group.
        make = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    dagster_groups: set[int] = set()
    try:
        location = wait_for_location(url, make, log)
        run_id = launch_users_run(url, location)
        wait_for_success(url, run_id)
        # The run's page open in a browser, as after launching from the UI: its live connection is what kept
        # dagster dev's webserver (and so dagster dev) from stopping for a minute.
        page = browser.new_page()
        page.goto(f"{url}/runs/{run_id}")
        page.get_by_text("Success", exact=True).first.wait_for(timeout=60_000)
        ours = descendants(make.pid) | {make.pid}
        dagster_groups.update({os.getpgid(pid) for pid in ours if live(pid)} - {make.pid})
        assert any("dagster_webserver" in command_line(pid) for pid in ours)

        os.killpg(make.pid, signal.SIGINT)
        started = time.monotonic()
        while time.monotonic() - started < STOP_SECONDS:
            left = [pid for pid in ours if live(pid)] + [p for g in dagster_groups for p in group_members(g)]
            if not left:
                break
            time.sleep(0.1)
        seconds = time.monotonic() - started
        assert not left, f"still running {seconds:.0f} s after Ctrl-C: {[command_line(pid)[:120] for pid in left]}"
        assert make.wait(timeout=5) != 0
        said = [line for line in log.read_text().splitlines() if line.startswith("make dev:")]
        print(f"nothing of ours left {seconds:.1f} s after Ctrl-C; {said}")
        assert any("Dagster stopped in" in line for line in said), said
    finally:
        # dagster dev runs in a process group of its own: end it too, however far the test got.
        groups = {make.pid, *dagster_groups, *(group_of(pid) for pid in descendants(make.pid))} - {None}
        for group in groups:
            try:
                os.killpg(group, signal.SIGKILL)
            except ProcessLookupError:
                pass
