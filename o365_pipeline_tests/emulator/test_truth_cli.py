"""Truth is deterministic per seed; the CLI prints exports and '# ready' and stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx

from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.emulator.throttle import parse_faults

from .conftest import truth


def test_truth_is_deterministic_and_seed_dependent() -> None:
    with EmulatorServer(seed=11) as a, EmulatorServer(seed=11) as b, EmulatorServer(seed=12) as c:
        ta, tb, tc = truth(a), truth(b), truth(c)
    assert ta == tb
    assert ta["users"]["ids_sha256"] != tc["users"]["ids_sha256"]
    for name in ("users", "groups", "group_members", "messages", "events", "contacts", "mail_folders"):
        assert ta[name]["count"] > 0, name


def test_users_option_and_bad_settings() -> None:
    with EmulatorServer(users=35) as s:
        assert truth(s)["users"]["count"] == 35
    for bad in ("429=2", "nosuch=0.1", "garbage"):
        try:
            parse_faults(bad)
        except ValueError as exc:
            assert str(exc).startswith("--faults")
        else:
            raise AssertionError(bad)


def test_cli_serve_prints_exports_and_stops_on_sigterm(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "o365_pipeline.emulator.cli", "serve", "--port", "0", "--state-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        lines = []
        deadline = time.time() + 20
        while time.time() < deadline:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            if not line:
                break
            lines.append(line.rstrip("\n"))
            if line.startswith("# ready"):
                break
        assert lines and lines[-1] == "# ready", lines
        env = {}
        for line in lines[:-1]:
            assert line.startswith("export ")
            k, _, v = line[len("export ") :].partition("=")
            env[k] = v.strip("'")
        for k in (
            "O365_AUTH_SCHEME",
            "O365_AZURE_TENANT",
            "O365_OAUTH_CLIENT_ID",
            "O365_OAUTH_CLIENT_SECRET",
            "O365_GRAPH_URL",
            "O365_LOGIN_URL",
            "O365_CA_BUNDLE",
        ):
            assert env.get(k), k
        assert env["O365_CA_BUNDLE"].startswith(str(tmp_path))
        t = httpx.get(
            f"{env['O365_GRAPH_URL']}/_emulator/truth", verify=ssl.create_default_context(cafile=env["O365_CA_BUNDLE"])
        )
        assert t.json()["entities"]["users"]["count"] == 20
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_rejects_bad_faults() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "o365_pipeline.emulator.cli", "serve", "--faults", "503=7"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode != 0 and "--faults" in r.stderr.strip().splitlines()[-1]
