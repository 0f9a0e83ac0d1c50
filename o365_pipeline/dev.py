"""``make dev``: the emulator in the background and ``dagster dev`` wired to it, stopped as a whole on Ctrl-C or
SIGTERM.

``dagster dev`` stops its webserver, daemon and code servers itself on SIGINT, but waits up to a minute for each
of them (the webserver's graceful shutdown waits for open browser connections; a run worker finishes its step).
So it runs in a process group of its own, which holds everything it starts (webserver, daemon, code servers, run
workers and their dbt): on Ctrl-C or SIGTERM we send that group one SIGINT, give Dagster ``GRACE_SECONDS`` to stop
cleanly, then kill whatever of the group is left, and stop the emulator.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from .emulator.process import EmulatorProcess
from .emulator.workload_kit import TENANT_EPOCH

ROOT = Path(__file__).resolve().parent.parent
GRACE_SECONDS = 10.0
PR_SET_PDEATHSIG = 1  # prctl option (<sys/prctl.h>): the signal a child gets when its parent dies


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group, read from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            members.append(int(entry.name))
    return members


def stop_group(process: subprocess.Popen[bytes], grace: float = GRACE_SECONDS) -> float:
    """SIGINT to ``process``'s group (Dagster's own clean shutdown), SIGKILL to what is left of it after ``grace``
    seconds; returns the seconds until the group was empty."""
    started = time.monotonic()
    pgid = process.pid
    _signal_group(pgid, signal.SIGINT)
    while time.monotonic() - started < grace:
        process.poll()  # reap dagster dev itself; its children are reaped by it or by init
        if not group_members(pgid):
            return time.monotonic() - started
        time.sleep(0.1)
    left = group_members(pgid)
    print(f"make dev: {len(left)} Dagster processes still running after {grace:.0f} s: killed", file=sys.stderr)
    _signal_group(pgid, signal.SIGKILL)
    process.wait()
    while group_members(pgid) and time.monotonic() - started < grace + 5:
        time.sleep(0.05)
    return time.monotonic() - started


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:  # the group is empty already
        pass


def _interrupt_when_parent_dies() -> None:
    """In the child before exec: Linux sends it SIGINT if we die (even by SIGKILL), so it never outlives us."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGINT)


def dagster_dev(port: int, home: Path, settings: dict[str, str]) -> subprocess.Popen[bytes]:
    """``dagster dev`` on 127.0.0.1:``port`` with ``DAGSTER_HOME=home``, in a new process group."""
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        **settings,
        "DAGSTER_HOME": str(home),
        # the dbt project is prepared with the `dbt` found on PATH
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    command = [str(bin_dir / "dagster"), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)]
    on_linux = sys.platform.startswith("linux")
    return subprocess.Popen(
        command, cwd=ROOT, env=env, process_group=0, preexec_fn=_interrupt_when_parent_dies if on_linux else None
    )


def write_exports(path: Path, settings: dict[str, str]) -> None:
    """The emulator's settings as ``export`` lines, for a shell that wants to reach the same emulator."""
    path.write_text("".join(f"export {name}={shlex.quote(value)}\n" for name, value in settings.items()))


def run_dev(port: int, home: Path) -> int:
    """Emulator, then ``dagster dev`` until it exits or we get SIGINT/SIGTERM; returns the exit status."""
    home = home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    stop = threading.Event()
    received: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        received.append(signum)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with EmulatorProcess("small", home / "emulator") as emulator:
            write_exports(home / "emulator.env", emulator.env)
            if stop.is_set():
                return 128 + received[0]
            # the marts measure recency from the emulated tenant's own "now" (as the demo does)
            dev = dagster_dev(port, home, {**emulator.env, "O365_AS_OF": TENANT_EPOCH.isoformat()})
            while dev.poll() is None and not stop.wait(0.5):
                pass
            if dev.poll() is not None:
                return dev.returncode
            seconds = stop_group(dev)
            print(f"make dev: Dagster stopped in {seconds:.1f} s", file=sys.stderr)
            return 128 + received[0]
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m o365_pipeline.dev --port N --home DIR``."""
    parser = argparse.ArgumentParser(prog="o365_pipeline.dev", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=3000, help="the Dagster UI's port (default 3000)")
    parser.add_argument(
        "--home", type=Path, default=ROOT / ".dagster_home", help="DAGSTER_HOME (default .dagster_home)"
    )
    args = parser.parse_args(argv)
    return run_dev(args.port, args.home)


if __name__ == "__main__":
    sys.exit(main())
