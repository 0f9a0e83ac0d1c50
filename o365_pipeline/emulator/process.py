"""The bundled emulator as a separate process (``o365-pipeline emulator serve``), for the demo and the benchmarks."""

from __future__ import annotations

import os
import shlex
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx


def read_exports(process: subprocess.Popen[str]) -> dict[str, str]:
    """The settings ``emulator serve`` prints as ``export NAME=VALUE`` lines, read up to its ``# ready`` line."""
    assert process.stdout is not None
    env: dict[str, str] = {}
    for line in process.stdout:
        if line.startswith("# ready"):
            return env
        if line.startswith("export "):
            name, _, value = line[len("export ") :].strip().partition("=")
            env[name] = shlex.split(value)[0] if value else ""
    raise RuntimeError(f"the emulator exited before it was ready (status {process.wait()})")


class EmulatorProcess:
    """``o365-pipeline emulator serve --port 0 ...`` in the background; ``env`` holds its ``export`` lines."""

    def __init__(
        self,
        scale: str,
        state_dir: Path,
        *,
        users: int | None = None,
        throttle: bool = False,
        seed: int | None = None,
        latency: str = "",
    ) -> None:
        self.args = ["--scale", scale, "--state-dir", str(state_dir)]
        if latency:  # e.g. "150ms+1ms/item" (emulator serve --latency)
            self.args += ["--latency", latency]
        if seed is not None:
            self.args += ["--seed", str(seed)]
        if users:
            self.args += ["--users", str(users)]
        if throttle:
            self.args.append("--throttle")
        self.env: dict[str, str] = {}
        self.ready_seconds = 0.0  # spawn to ``# ready``, interpreter start included
        self._process: subprocess.Popen[str] | None = None
        self._http: httpx.Client | None = None

    @property
    def base_url(self) -> str:
        """The emulator's root URL (Graph is under ``/v1.0``)."""
        return self.env["O365_GRAPH_URL"]

    def start(self, timeout: float = 120.0, wait_warm: bool = True) -> EmulatorProcess:
        """Start it, read the settings it prints until ``# ready``, then (``wait_warm``) wait for its warm-up."""
        started = time.perf_counter()
        cli = Path(sys.executable).parent / "o365-pipeline"
        self._process = subprocess.Popen(
            [str(cli), "emulator", "serve", "--port", "0", *self.args],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.env = read_exports(self._process)
        self.ready_seconds = time.perf_counter() - started
        self._http = httpx.Client(verify=ssl.create_default_context(cafile=self.env["O365_CA_BUNDLE"]), timeout=60)
        deadline = time.monotonic() + timeout
        while wait_warm and self.admin("GET", "stats").get("warm", {}).get("state", "done") not in ("done", "off"):
            if time.monotonic() > deadline:
                raise RuntimeError("the emulator's warm-up did not finish in time")
            time.sleep(0.5)
        return self

    def admin(self, method: str, route: str, body: object = None) -> dict[str, Any]:
        """Call ``/_emulator/<route>`` and return its JSON answer."""
        assert self._http is not None
        response = self._http.request(method, f"{self.base_url}/_emulator/{route}", json=body)
        response.raise_for_status()
        return response.json()

    def peak_rss_mb(self) -> float:
        """Peak resident memory of the process so far (VmHWM), in MiB."""
        assert self._process is not None
        for line in Path(f"/proc/{self._process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def cpu_seconds(self) -> float:
        """User + system CPU seconds the process used so far."""
        assert self._process is not None
        fields = Path(f"/proc/{self._process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL after 10 s)."""
        if self._http is not None:
            self._http.close()
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def __enter__(self) -> EmulatorProcess:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()
