"""How the per-user raw tables are partitioned: not at all (the default: one run syncs every mailbox), by mailbox
shard (``O365_MAILBOX_SHARDS=N``: N static partitions, for scale-out) or by mailbox (``O365_PARTITION_BY_MAILBOX=1``:
dynamic partitions kept equal to the mail-enabled users by a sensor). One or the other, never both.

A partition (shard or mailbox) has its own dlt pipeline (see ``sync.pipeline_name``), so its deltaLinks never
collide with another partition's, and runs of different partitions can run side by side where the destination
takes concurrent writers.
"""

import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from ..auth import O365Auth
from ..config import PipelineConfig, SettingError
from ..graph.client import GraphClient
from ..graph.entities import ENTITIES, Entity
from ..graph.errors import GraphError
from ..shards import MAILBOX_ENTITIES, MAILBOX_SHARDS, is_per_mailbox, mailbox_shards, shard_keys
from ..sync import make_client

PARTITION_BY_MAILBOX = "O365_PARTITION_BY_MAILBOX"
MAILBOXES = dg.DynamicPartitionsDefinition(name="mailboxes")
MAILBOX_JOB = "sync_mailboxes"
SENSOR_SECONDS = 300  # a new mailbox is picked up within five minutes; a tick without change is one request
USER_SELECT = "id,userPrincipalName,mail,userType"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def partition_by_mailbox(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``O365_PARTITION_BY_MAILBOX`` shards the per-user raw tables by mailbox.

    Raises:
        SettingError: naming the setting when its value is not a boolean.
    """
    value = (os.environ if environ is None else environ).get(PARTITION_BY_MAILBOX, "").strip().lower()
    if value not in _TRUE | _FALSE:
        raise SettingError(PARTITION_BY_MAILBOX, f"{value!r} is not 1/0 (true/false)")
    return value in _TRUE


def shard_count(environ: Mapping[str, str] | None = None) -> int:
    """``O365_MAILBOX_SHARDS`` (0: no shards), refused together with ``O365_PARTITION_BY_MAILBOX``.

    Raises:
        SettingError: naming the setting to fix.
    """
    count = mailbox_shards(environ)
    if count and partition_by_mailbox(environ):
        raise SettingError(
            MAILBOX_SHARDS,
            f"set together with {PARTITION_BY_MAILBOX}=1: per-user tables are partitioned by shard or by mailbox, "
            "not both (unset one of them)",
        )
    return count


def shard_partitions(count: int) -> dg.StaticPartitionsDefinition:
    """The static partitions of ``count`` mailbox shards (``shard_00of16`` ...)."""
    return dg.StaticPartitionsDefinition(shard_keys(count))


TENANT_TAG = "o365/tenant"  # on every run of the per-mailbox job: the instance limits the runs per tenant


def tenant_tag(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``{"o365/tenant": O365_AZURE_TENANT}`` (``default`` when unset): the run tag the instance's
    ``tag_concurrency_limits`` count a tenant's runs by."""
    tenant = (os.environ if environ is None else environ).get("O365_AZURE_TENANT", "").strip()
    return {TENANT_TAG: tenant or "default"}


def runs_at_once(instance: dg.DagsterInstance) -> int | None:
    """The runs of one tenant the instance's run queue lets run together: the lowest of ``max_concurrent_runs``
    and the ``o365/tenant`` tag limits (``concurrency: runs:`` of dagster.yaml); None without a run queue.

    Each run paces to its share of Graph's per-app budget: the budget divided by this.
    """
    queue = instance.get_concurrency_config().run_queue_config
    if queue is None:
        return None
    limits = [queue.max_concurrent_runs] if queue.max_concurrent_runs > 0 else []
    limits += [int(limit["limit"]) for limit in queue.tag_concurrency_limits if limit.get("key") == TENANT_TAG]
    return max(1, min(limits)) if limits else None


def is_partitioned(entity: Entity) -> bool:
    """Whether an entity is partitioned by mailbox (or shard): read mailbox by mailbox and merged on
    (user_id, id)."""
    return is_per_mailbox(entity)


TENANT_ENTITIES: tuple[str, ...] = tuple(name for name in ENTITIES if name not in MAILBOX_ENTITIES)


def eligible(user: Mapping[str, Any], only: Iterable[str] = ()) -> bool:
    """A user whose content is read: a member with a mail address (as ``Tenant.users_for_content``), within
    ``O365_USERS`` when set."""
    if not user.get("mail") or user.get("userType") == "Guest":
        return False
    names = {name.lower() for name in only}
    return not names or str(user["id"]).lower() in names or str(user.get("userPrincipalName", "")).lower() in names


@dataclass(frozen=True)
class UserChanges:
    """What a users/delta round said: eligibility per user id (``False`` = gone or not mail-enabled)."""

    mailboxes: dict[str, bool]
    delta_link: str | None
    full_round: bool  # started without a link: ``mailboxes`` lists every user, missing ones are gone


def read_user_changes(client: GraphClient, link: str | None, only: Sequence[str] = ()) -> UserChanges:
    """One users/delta round from ``link`` (a full round without one, or when Graph expired it).

    Updates carry only the changed properties: users whose mail or userType is missing are read again
    (``$batch``) before deciding.
    """
    try:
        return _round(client, link, only)
    except GraphError as exc:
        if not (link and exc.is_delta_expired):
            raise
        return _round(client, None, only)


def _round(client: GraphClient, link: str | None, only: Sequence[str]) -> UserChanges:
    seen: dict[str, bool] = {}
    partial: list[str] = []
    delta_link = None
    for page in client.iter_delta(link or "users/delta", params=None if link else {"$select": USER_SELECT}):
        for item in page.items:
            if "@removed" in item:
                seen[item["id"]] = False
            elif "mail" in item and "userType" in item:
                seen[item["id"]] = eligible(item, only)
            else:
                partial.append(item["id"])
        delta_link = page.delta_link or delta_link
    paths = {f"users/{user_id}?$select={USER_SELECT}": user_id for user_id in partial if user_id not in seen}
    full = client.batch_get(list(paths)) if paths else {}
    for path, user_id in paths.items():
        seen[user_id] = path in full and eligible(full[path], only)
    return UserChanges(mailboxes=seen, delta_link=delta_link, full_round=link is None)


def partition_changes(changes: UserChanges, existing: Iterable[str]) -> tuple[list[str], list[str]]:
    """(mailboxes to add, mailboxes to delete) given the partitions that exist now."""
    have = set(existing)
    wanted = {user_id for user_id, ok in changes.mailboxes.items() if ok}
    if changes.full_round:
        return sorted(wanted - have), sorted(have - wanted)
    gone = {user_id for user_id, ok in changes.mailboxes.items() if not ok}
    return sorted(wanted - have), sorted(gone & have)


GONE_TAG = "o365/mailbox_gone"


def retired(instance: dg.DagsterInstance, mailbox: str) -> bool:
    """Whether the final run of a gone mailbox (which deletes its rows and state) has succeeded."""
    runs = instance.get_run_records(
        dg.RunsFilter(tags={GONE_TAG: mailbox}, statuses=[dg.DagsterRunStatus.SUCCESS]), limit=1
    )
    return bool(runs)


def mailbox_partition_sensor(job: UnresolvedAssetJobDefinition, running: bool) -> dg.SensorDefinition:
    """The sensor adding new mail-enabled users as mailbox partitions (with a first run each) and retiring
    the partitions of users deleted or no longer mail-enabled: a last run deletes the mailbox's rows and
    state, then a later tick deletes the partition. Its cursor: the users/delta link and the mailboxes retiring.
    """

    @dg.sensor(
        name="mailbox_partitions",
        job=job,
        minimum_interval_seconds=SENSOR_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING if running else dg.DefaultSensorStatus.STOPPED,
        description="Adds a mailbox partition per new mail-enabled user (and syncs it); for users gone, runs "
        "their partition once more (it deletes their rows) and then deletes the partition.",
    )
    def mailbox_partitions(context: dg.SensorEvaluationContext, o365: O365Auth) -> dg.SensorResult:
        """Read users/delta from the cursor's link and turn the changes into partition requests and runs."""
        settings = PipelineConfig.from_env()
        cursor = json.loads(context.cursor) if context.cursor else {}
        retiring: set[str] = set(cursor.get("retiring", []))
        with make_client(o365) as client:
            changes = read_user_changes(client, cursor.get("delta"), settings.users)
        existing = context.instance.get_dynamic_partitions(MAILBOXES.name)
        added, gone = partition_changes(changes, existing)
        retiring -= {user_id for user_id, ok in changes.mailboxes.items() if ok}  # back before it was deleted
        done = sorted(key for key in retiring if retired(context.instance, key))
        new_gone = sorted(set(gone) - retiring)
        retiring = (retiring | set(gone)) - set(done)
        requests: list[dg.AddDynamicPartitionsRequest | dg.DeleteDynamicPartitionsRequest] = []
        if added:
            requests.append(MAILBOXES.build_add_request(added))
        if done:
            requests.append(MAILBOXES.build_delete_request(done))
        context.log.info(f"mailbox partitions: {len(added)} added, {len(new_gone)} gone, {len(done)} deleted")
        return dg.SensorResult(
            run_requests=[
                *(dg.RunRequest(partition_key=key, tags={"o365/reason": "new mailbox"}) for key in added),
                *(dg.RunRequest(partition_key=key, tags={GONE_TAG: key}) for key in new_gone),
            ],
            dynamic_partitions_requests=requests,
            cursor=json.dumps({"delta": changes.delta_link or cursor.get("delta"), "retiring": sorted(retiring)}),
        )

    return mailbox_partitions


def mailbox_run_requests(context: dg.ScheduleEvaluationContext) -> Iterator[dg.RunRequest | dg.SkipReason]:
    """One run request per mailbox shard, or per mailbox partition (for the schedules of per-user workloads)."""
    count = mailbox_shards()
    if count:
        for key in shard_keys(count):
            yield dg.RunRequest(run_key=key, partition_key=key, tags=tenant_tag())
        return
    keys = context.instance.get_dynamic_partitions(MAILBOXES.name)
    if not keys:
        yield dg.SkipReason("no mailbox partitions yet: the mailbox_partitions sensor adds them")
    for key in keys:
        yield dg.RunRequest(run_key=key, partition_key=key)
