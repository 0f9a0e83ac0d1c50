"""The ``o365-pipeline`` command line: emulator, login, test-connection, sync (CONTRACT section 2)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from .config import PipelineConfig, SettingError, split_list

if TYPE_CHECKING:
    from .graph.source import EntityStats
    from .shards import Shard


def _sync(args: argparse.Namespace) -> int:
    from .auth import GraphAuth
    from .graph.entities import select_entities
    from .graph.source import SyncRun
    from .progress import SyncProgress, progress_seconds
    from .shards import MAILBOX_ENTITIES
    from .sync import run_sync

    config = PipelineConfig.from_env()
    entities = split_list(args.entities)
    seconds = progress_seconds(args.progress_seconds)
    names = [entity.name for entity in select_entities(entities or config.entities)]
    if args.shard:
        names = [name for name in names if name in MAILBOX_ENTITIES]

    def watch(run: SyncRun) -> contextlib.AbstractContextManager[object]:
        if not seconds:
            return contextlib.nullcontext()
        return SyncProgress(run, names, sys.stderr, seconds, live=sys.stderr.isatty())

    shard = _shard(args.shard)
    report = run_sync(
        GraphAuth.from_env(), config, entities=entities, full_refresh=args.full_refresh, watch=watch, shard=shard
    )
    print(
        f"{'entity':<28}{'rows':>10}{'deleted':>9}{'pages':>8}{'requests':>10}{'throttled':>11}{'retries':>9}"
        f"{'skipped':>9}{'seconds':>9}"
    )
    for name, stats in sorted(report.stats.items()):
        print(
            f"{name:<28}{stats.rows:>10}{stats.deleted:>9}{stats.pages:>8}{stats.requests:>10}{stats.throttled:>11}"
            f"{stats.retries:>9}{stats.skipped:>9}{stats.seconds:>9.2f}"
        )
    print(f"synced {len(report.stats)} entities in {report.seconds:.1f} s")
    return _denied_exit(report.stats)


def _denied_exit(stats: Mapping[str, EntityStats]) -> int:
    """1 when Graph refused an entity (403: a permission missing; each was logged as it happened), with one last
    line naming the entities, the permissions and what to do; else 0."""
    denied = {name: s.denied for name, s in sorted(stats.items()) if s.denied is not None}
    if not denied:
        return 0
    needs = ", ".join(f"{name} needs the Graph permission {refused.permission}" for name, refused in denied.items())
    print(f"error: {needs}: grant it, or leave the entity out with O365_ENTITIES", file=sys.stderr)
    return 1


def _shard(key: str | None) -> Shard | None:
    """The shard of ``--shard`` (``shard_03of16``), or None.

    Raises:
        SettingError: the key is not a shard key.
    """
    from .shards import Shard

    if not key:
        return None
    try:
        return Shard.parse(key)
    except ValueError as exc:
        raise SettingError("--shard", str(exc)) from None


def _test_connection(args: argparse.Namespace) -> int:
    from .auth import GraphAuth
    from .auth.connection_check import Probe, run_connection_check
    from .graph.entities import select_entities

    probes = [Probe(e.name, e.probe, e.permission) for e in select_entities(PipelineConfig.from_env().entities)]
    return run_connection_check(GraphAuth.from_env(), probes)


def _login(args: argparse.Namespace) -> int:
    from .auth import GraphAuth
    from .auth.device_code import login

    return login(GraphAuth.from_env())


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo()


def _bench(args: argparse.Namespace) -> int:
    from .bench.main import run

    return run(args.scale, args.out, throttle_seconds=args.throttle_seconds, workdir=args.workdir, users=args.users)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="o365-pipeline", description="Replicate Microsoft 365 data through Microsoft Graph into DuckDB."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("emulator", help="the bundled Graph + identity emulator (emulator serve --help)")
    commands.add_parser("login", help="AzureAD scheme: device-code sign-in, caches the token").set_defaults(
        handler=_login
    )
    commands.add_parser("test-connection", help="get a token and probe every entity").set_defaults(
        handler=_test_connection
    )
    commands.add_parser("demo", help="emulator + every asset into data/demo.duckdb, then a row summary").set_defaults(
        handler=_demo
    )
    sync = commands.add_parser("sync", help="run the dlt sync headless into the configured DuckDB file")
    sync.add_argument("--entities", default="", help="comma list of raw tables (default O365_ENTITIES, else all)")
    sync.add_argument("--full-refresh", action="store_true", help="drop the tables and delta state, re-read all")
    sync.add_argument(
        "--progress-seconds",
        default=None,
        help="seconds between progress lines when not on a terminal (default O365_PROGRESS_SECONDS, else 10; 0: off)",
    )
    sync.add_argument(
        "--shard",
        default=None,
        help="read one mailbox shard (e.g. shard_03of16) of the per-mailbox tables with its own state",
    )
    sync.set_defaults(handler=_sync)
    bench = commands.add_parser("bench", help="the benchmark harness: prints a table, writes bench/results.json")
    bench.add_argument("--scale", choices=["small", "bench", "large"], default="bench")
    bench.add_argument("--out", default="bench/results.json", help="where the results document goes")
    bench.add_argument("--throttle-seconds", type=float, default=20.0, help="wanted length of the throttled run")
    bench.add_argument("--workdir", default=None, help="keep DuckDB files and logs here (default: a temp folder)")
    bench.add_argument("--users", type=int, default=None, help="tenant users instead of the scale's count")
    bench.set_defaults(handler=_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["emulator"]:
        from .emulator.cli import main as emulator_main

        return emulator_main(argv[1:])
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = _parser().parse_args(argv)
    try:
        return args.handler(args)
    except (SettingError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # one readable line, never a traceback full of config
        cause = _known_cause(exc)
        if cause is None:
            raise
        print(f"error: {cause}", file=sys.stderr)
        return 1


def _known_cause(exc: BaseException) -> BaseException | None:
    """The auth, Graph or schema-change error behind ``exc`` (dlt wraps what a resource raises), if that is what
    failed."""
    from .auth import O365AuthError
    from .destination_access import DestinationBusyError
    from .graph.errors import GraphError, MissingKeyError, SchemaChangeError
    from .sync import DestinationMemoryError, LoadDiscardedError

    known = (
        O365AuthError,
        GraphError,
        SchemaChangeError,
        MissingKeyError,
        DestinationMemoryError,
        DestinationBusyError,
        LoadDiscardedError,
        SettingError,
    )
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, known):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


if __name__ == "__main__":
    sys.exit(main())
