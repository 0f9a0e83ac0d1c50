"""``o365-pipeline sync`` progress: plain periodic lines into a pipe, an in-place display on a terminal.

The piped sync reads an emulator that answers 5 % of requests with 503 (Retry-After 1 s): its mailboxes finish
at different times over a few seconds, so progress is seen mid-way.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.progress import progress_seconds
from o365_pipeline_tests.conftest import admin

CLI = str(Path(sys.executable).parent / "o365-pipeline")
ENTITIES = "messages,events,contacts,drive_items,mail_folders"
SUMMARY = re.compile(r"^progress: sync ([\d.]+) s, [a-z ]+: (\d+)/5 entities read, (\d+) rows, (\d+) requests")
MAILBOXES = re.compile(r"^progress: ([a-z_]+): (\d+)/(\d+) mailboxes, (\d+) rows, (\d+) requests, [\d.]+ req/s")


@pytest.fixture(scope="module")
def unsteady_tenant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    """A `small` tenant where some requests wait a second (503, Retry-After 1) before they succeed."""
    with EmulatorServer(seed=3, scale="small", state_dir=tmp_path_factory.mktemp("emulator")) as server:
        admin(server, "POST", "faults", {"503": 0.05})
        yield server


def sync_env(emulator: EmulatorServer, tmp_path: Path, seconds: float = 0.1) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("O365_ENTITIES", "O365_USERS")}
    return {
        **env,
        **emulator.env(),
        "O365_DUCKDB_PATH": str(tmp_path / "o365.duckdb"),
        "DLT_DATA_DIR": str(tmp_path / "dlt"),
        "O365_PROGRESS_SECONDS": str(seconds),
    }


def table_rows(stdout: str) -> dict[str, int]:
    """Rows per entity from the final table."""
    return {
        line.split()[0]: int(line.split()[1])
        for line in stdout.splitlines()
        if line.split()[:1] and line.split()[0] in ENTITIES.split(",")
    }


def test_a_sync_into_a_pipe_prints_periodic_progress_lines(unsteady_tenant: EmulatorServer, tmp_path: Path) -> None:
    done = subprocess.run(
        [CLI, "sync", "--entities", ENTITIES],
        capture_output=True,
        text=True,
        env=sync_env(unsteady_tenant, tmp_path, 0.2),
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    final = table_rows(done.stdout)
    assert set(final) == set(ENTITIES.split(",")) and "progress" not in done.stdout
    lines = done.stderr.splitlines()
    summaries = [tuple(map(float, m.groups())) for line in lines if (m := SUMMARY.match(line))]
    assert len(summaries) >= 3, done.stderr[-2000:]
    for earlier, later in zip(summaries, summaries[1:], strict=False):
        assert all(a <= b for a, b in zip(earlier, later, strict=True))  # seconds, entities, rows, requests grow
    assert summaries[-1][2] <= sum(final.values()) and summaries[-1][3] > summaries[0][3]
    mailboxes = [m.groups() for line in lines if (m := MAILBOXES.match(line))]
    assert mailboxes, done.stderr[-2000:]
    for name, finished, total, rows, _ in mailboxes:
        assert 0 <= int(finished) <= int(total) and int(total) > 0 and int(rows) <= final[name]
    assert any(0 < int(finished) < int(total) for _, finished, total, _, _ in mailboxes)  # seen mid-way


def test_a_sync_on_a_terminal_redraws_its_progress_in_place(emulator: EmulatorServer, tmp_path: Path) -> None:
    master, slave = os.openpty()
    process = subprocess.Popen(
        [CLI, "sync", "--entities", ENTITIES],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=sync_env(emulator, tmp_path),
    )
    os.close(slave)
    output = bytearray()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the terminal closed: the command ended
            break
        if not chunk:
            break
        output += chunk
    os.close(master)
    assert process.wait(timeout=30) == 0, output[-2000:]
    text = output.decode(errors="replace")
    redraws = re.findall(r"\x1b\[\d+F\x1b\[J", text)
    assert len(redraws) >= 3, text[-2000:]  # drawn, erased and drawn again in place
    assert "mailboxes" in text and "progress:" not in text
    assert "synced 5 entities" in text


def test_the_progress_setting_names_itself_when_wrong() -> None:
    assert progress_seconds(None, {"O365_PROGRESS_SECONDS": "2.5"}) == 2.5
    assert progress_seconds("0", {}) == 0 and progress_seconds(None, {}) == 10
    with pytest.raises(ValueError, match="O365_PROGRESS_SECONDS"):
        progress_seconds("soon", {})
