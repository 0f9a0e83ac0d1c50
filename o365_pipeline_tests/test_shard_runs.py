"""Mailbox shards on Dagster's own machinery, for real: a throwaway PostgreSQL holds both the Dagster instance
(``deploy/dagster.yaml``: postgres storage, the queued run coordinator) and the raw tables; ``dagster-daemon run``
is a real subprocess; every shard of the ``small`` tenant (4 shards, 4 at once) is launched through the run queue
(``dagster job backfill``), then the raw tables must equal the emulator's truth, every shard must have kept its
own dlt state, and ``dbt build --target postgres`` must pass."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import psycopg2
import pytest
from dlt.common.versioned_state import decompress_state

from o365_pipeline.auth import O365Auth
from o365_pipeline.bench.postgres import create_database
from o365_pipeline.config import PipelineConfig
from o365_pipeline.defs.partitions import MAILBOX_JOB, TENANT_ENTITIES
from o365_pipeline.destinations import SCHEMA_LOCK
from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.graph.link_state import load_links
from o365_pipeline.shards import Shard, shard_keys
from o365_pipeline.sync import run_sync
from o365_pipeline_tests.conftest import (
    assert_postgres_equals_truth,
    dbt_build_postgres,
    query,
    use_emulator,
)

ROOT = Path(__file__).resolve().parents[1]
SHARDS = 4
BIN = Path(sys.executable).parent
RUN_TIMEOUT = 300  # seconds for the four shard runs; they take ~30 s here


@pytest.fixture
def instance_env(
    emulator: EmulatorServer,
    postgres: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[dict[str, str]]:
    """The settings of a shard deployment: the emulator, Postgres as destination and as Dagster's storage
    (database ``dagster``), ``deploy/dagster.yaml`` as the instance, 4 shards, 4 runs at once."""
    use_emulator(emulator, tmp_path, monkeypatch)
    create_database(postgres, "dagster")
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    settings = {
        **postgres,
        "O365_DESTINATION": "postgres",
        "O365_DBT_TARGET": "postgres",
        "O365_MAILBOX_SHARDS": str(SHARDS),
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_HOST": postgres["O365_PG_HOST"],
        "DAGSTER_PG_PORT": postgres["O365_PG_PORT"],
        "DAGSTER_PG_USER": "o365",
        "DAGSTER_PG_PASSWORD": "unused-trust-auth",
        "DAGSTER_PG_DB": "dagster",
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    yield {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}"}


def dagster(env: dict[str, str], *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(BIN / "dagster"), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done


def finished(instance: dg.DagsterInstance) -> list[dg.RunRecord]:
    return instance.get_run_records(
        dg.RunsFilter(job_name=MAILBOX_JOB, statuses=[dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE])
    )


def most_at_once(records: list[dg.RunRecord]) -> int:
    """The most runs in progress at one moment (from their start and end times)."""
    edges = sorted(
        [(record.start_time, 1) for record in records if record.start_time]
        + [(record.end_time, -1) for record in records if record.end_time]
    )
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak


def mailboxes_in_state(settings: dict[str, str]) -> dict[str, set[str]]:
    """Per dlt pipeline of a shard: the mailboxes its stored deltaLinks read (its newest state row)."""
    rows = query(
        settings,
        "select distinct on (pipeline_name) pipeline_name, state from o365_raw._dlt_pipeline_state "
        "order by pipeline_name, version desc",
    )
    found: dict[str, set[str]] = {}
    for name, packed in rows:
        state = decompress_state(packed)
        mailboxes: set[str] = set()
        for source in state.get("sources", {}).values():
            for resource in source.get("resources", {}).values():
                for link in load_links(resource).values():
                    mailboxes.update(re.findall(r"users/([^/?]+)/", link))
        found[name] = mailboxes
    return found


def test_every_shard_runs_through_the_queue_into_postgres_with_its_own_state(
    emulator: EmulatorServer,
    instance_env: dict[str, str],
    postgres: dict[str, str],
    tmp_path: Path,
) -> None:
    # The tenant-wide tables (directory, groups, calendars ...) headless; the mailboxes through the queue.
    run_sync(O365Auth.from_env(), PipelineConfig.from_env(), entities=TENANT_ENTITIES)

    # The instance's Postgres schema is created here, once: the daemon and the backfill command creating it at the
    # same time race ("type event_logs already exists") and the daemon dies.
    with dg.DagsterInstance.get():
        pass
    daemon = subprocess.Popen(
        [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"],
        cwd=ROOT,
        env=instance_env,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "daemon.log", "w"),  # noqa: SIM115 (closed with the process)
        start_new_session=True,
    )
    try:
        dagster(instance_env, "job", "backfill", "-w", "workspace.yaml", "-j", MAILBOX_JOB, "--all", "all",
                "--noprompt")  # fmt: skip
        with dg.DagsterInstance.get() as instance:
            queued = instance.get_run_records(dg.RunsFilter(job_name=MAILBOX_JOB))
            assert len(queued) == SHARDS  # one run per shard, submitted to the queue
            deadline = time.monotonic() + RUN_TIMEOUT
            while len(done := finished(instance)) < SHARDS:
                assert daemon.poll() is None, (tmp_path / "daemon.log").read_text()[-3000:]
                assert time.monotonic() < deadline, f"{len(done)} of {SHARDS} shard runs done"
                time.sleep(1)
            records = instance.get_run_records(dg.RunsFilter(job_name=MAILBOX_JOB))
            assert {r.dagster_run.status for r in records} == {dg.DagsterRunStatus.SUCCESS}
            assert sorted(r.dagster_run.tags["dagster/partition"] for r in records) == shard_keys(SHARDS)
            assert {r.dagster_run.tags["o365/tenant"] for r in records} == {os.environ["O365_AZURE_TENANT"]}
            assert most_at_once(records) >= 2  # the queue let them run side by side (Postgres has no pool)
            for record in records:  # each run paced to a quarter of Graph's per-app budget (4 runs at once)
                logs = [event.message for event in instance.all_logs(record.dagster_run.run_id)]
                assert any("Graph budget share 32500/10s (4 runs at once)" in line for line in logs), record
    finally:
        if daemon.poll() is None:
            os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(timeout=60)

    assert_postgres_equals_truth(postgres, emulator)

    # Each shard kept its own state: its own pipeline, whose links read only the shard's mailboxes.
    states = mailboxes_in_state(postgres)
    shard_states = {name: boxes for name, boxes in states.items() if "__shard_" in name}
    assert sorted(shard_states) == [f"o365_o365_raw__{key}" for key in shard_keys(SHARDS)]
    every: set[str] = set()
    for name, boxes in shard_states.items():
        shard = Shard.parse(name.rsplit("__", 1)[1])
        assert boxes and all(shard.owns(box) for box in boxes), name
        assert not boxes & every  # no mailbox in two shards' state
        every |= boxes
    stored = {row[0] for row in query(postgres, "select distinct user_id from o365_raw.messages")}
    assert stored <= every

    dbt_build_postgres(tmp_path / "dbt")


def test_shard_runs_change_the_schema_one_at_a_time(
    emulator: EmulatorServer, postgres: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two first loads at once would both create the same tables: the second waits for the first's schema lock."""
    use_emulator(emulator, tmp_path, monkeypatch)
    create_database(postgres, "first_loads")
    for name, value in {**postgres, "O365_DESTINATION": "postgres", "O365_PG_DBNAME": "first_loads"}.items():
        monkeypatch.setenv(name, value)
    holder = psycopg2.connect(host="127.0.0.1", port=int(postgres["O365_PG_PORT"]), user="o365", dbname="first_loads")
    holder.autocommit = True
    holder.cursor().execute("select pg_advisory_lock(%s)", (SCHEMA_LOCK,))  # another run is changing the schema
    failures: list[BaseException] = []

    def shard_run() -> None:
        try:
            run_sync(O365Auth.from_env(), PipelineConfig.from_env(), entities=("mail_folders",), shard=Shard(0, 2))
        except BaseException as exc:  # reported by the test thread
            failures.append(exc)

    worker = threading.Thread(target=shard_run, daemon=True)
    worker.start()
    waiting = 0
    deadline = time.monotonic() + 120
    while not waiting and worker.is_alive() and time.monotonic() < deadline:
        time.sleep(0.2)
        cur = holder.cursor()
        cur.execute("select count(*) from pg_locks where locktype = 'advisory' and not granted")
        waiting = cur.fetchone()[0]
    assert waiting == 1 and worker.is_alive(), failures  # the run waits to create its dataset
    cur = holder.cursor()
    cur.execute("select count(*) from information_schema.schemata where schema_name = 'o365_raw'")
    assert cur.fetchone()[0] == 0
    holder.cursor().execute("select pg_advisory_unlock(%s)", (SCHEMA_LOCK,))
    worker.join(timeout=120)
    holder.close()
    assert not worker.is_alive() and not failures, failures
    assert query({**postgres, "O365_PG_DBNAME": "first_loads"}, "select count(*) from o365_raw.mail_folders")[0][0] > 0
