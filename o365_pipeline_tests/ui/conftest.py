"""A real Dagster webserver on a free port, wired to the emulator, with the project's dagster.yaml, and Chromium.

`dagster-webserver` rather than `dagster dev`: no daemon (runs start at once through the default run
coordinator) and no `dbt parse` on load, which halves the start-up on a 2-core machine.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, sync_playwright

from o365_pipeline.emulator import EmulatorServer
from o365_pipeline_tests.conftest import use_emulator

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"  # Debian's chromium (apt-get install -y chromium); `playwright install` needs a network
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
STARTUP_SECONDS = 90
# Without a daemon, launched runs must start at once instead of waiting in the queue.
RUN_NOW = """
run_coordinator:
  module: dagster._core.run_coordinator
  class: DefaultRunCoordinator
"""


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Poll the webserver until it answers and the code location has loaded."""
    deadline = time.monotonic() + STARTUP_SECONDS
    query = {
        "query": "{ workspaceOrError { ... on Workspace { locationEntries { loadStatus "
        "locationOrLoadError { __typename ... on PythonError { message } } } } } }"
    }
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dagster-webserver exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            answer = httpx.post(f"{url}/graphql", json=query, timeout=5).json()
            entries = answer["data"]["workspaceOrError"]["locationEntries"]
            if entries and all(entry["loadStatus"] == "LOADED" for entry in entries):
                errors = [e["locationOrLoadError"] for e in entries if "message" in e["locationOrLoadError"]]
                if errors:
                    raise RuntimeError(f"the code location failed to load: {errors[0]['message'][-2000:]}")
                return
        except (httpx.HTTPError, KeyError, TypeError, ValueError):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"dagster-webserver not ready after {STARTUP_SECONDS} s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def dagster_webserver(emulator: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """`dagster-webserver` on 127.0.0.1:<free port> with a temporary DAGSTER_HOME; yields its base URL."""
    use_emulator(emulator, tmp_path, monkeypatch)
    home = tmp_path / "dagster_home"
    home.mkdir()
    settings = (ROOT / "dagster.yaml").read_text()
    (home / "dagster.yaml").write_text(settings + RUN_NOW)
    port = free_port()
    log = tmp_path / "webserver.log"
    # The venv's bin on PATH, as for `make dev`: the dbt project is prepared with the `dbt` found there.
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "DAGSTER_HOME": str(home), "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    webserver = Path(sys.executable).parent / "dagster-webserver"
    command = [str(webserver), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(url, process, log)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # our own process group: the webserver and its code server
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def artifacts_dir() -> Path:
    """Where tests leave files for people to look at: ``$O365_TEST_ARTIFACTS``, default ``build/test-artifacts``."""
    folder = Path(os.environ.get("O365_TEST_ARTIFACTS", "").strip() or ROOT / "build" / "test-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def artifacts() -> Path:
    """The artifact folder (created)."""
    return artifacts_dir()


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium driven by Playwright."""
    if not Path(CHROMIUM).exists():
        raise FileNotFoundError(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()
