"""`o365-pipeline emulator serve ...`: run the emulator until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import gc
import shlex
import signal
import sys
import threading
from types import FrameType

from .latency import parse_latency
from .scales import SCALES
from .throttle import parse_faults


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="o365-pipeline emulator", description="Microsoft Graph + identity emulator")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="serve Graph v1.0 and the identity endpoints over HTTPS")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--seed", type=int, default=3)
    s.add_argument("--users", type=int, default=None)
    s.add_argument("--scale", choices=sorted(SCALES), default="small")
    s.add_argument("--faults", default="", help="e.g. '429=0.05,503=0.02,reset=0.01' or a JSON object")
    s.add_argument("--throttle", action="store_true")
    s.add_argument(
        "--latency",
        default="",
        help="Graph's response time, e.g. '150ms+1ms/item' (jitter 0.3) or '150ms+1ms/item,jitter=0.2'; off by default",
    )
    s.add_argument("--scheme", default="AzureServicePrincipal")
    s.add_argument("--state-dir", default=None)
    return p


def main(argv: list[str]) -> int:
    """Entry point; argv excludes the word 'emulator'. Returns the exit code."""
    args = _parser().parse_args(argv)
    from .server import EmulatorServer

    # Every answer allocates many short-lived objects; Python's default GC thresholds made ~7 full collections
    # over the seeded tenant per bench-scale sync (~1.2 s of its ~8.7 CPU-s). The emulator's own process only.
    gc.set_threshold(50_000, 50, 100)

    try:
        faults = parse_faults(args.faults)
        latency = parse_latency(args.latency)
        server = EmulatorServer(
            seed=args.seed,
            scale=args.scale,
            users=args.users,
            throttle=args.throttle,
            faults=faults,
            scheme=args.scheme,
            state_dir=args.state_dir,
            host=args.host,
            port=args.port,
            latency=latency,
        )
    except ValueError as exc:
        print(f"emulator: {exc}", file=sys.stderr)
        return 2
    try:
        server.start()
    except OSError as exc:
        print(
            f"emulator: --host/--port: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr
        )
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        env = server.env()
    except ValueError as exc:
        print(f"emulator: {exc}", file=sys.stderr)
        server.stop()
        return 2
    for k, v in env.items():
        print(f"export {k}={shlex.quote(v)}")
    print("# ready", flush=True)
    while not stop.wait(0.5):
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
