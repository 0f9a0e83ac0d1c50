"""Group workloads of the emulated tenant: Planner plans and tasks, group conversations, teams, channels.

Everything is a pure function of ``(seed, group id)`` plus an `Overlay` of what `mutate` changed
(tasks, conversations), so any scale is memory-flat. Only Microsoft 365 (``Unified``) groups have
plans and conversations; the teamified ones (`team_provisioning`) also have a team and channels.
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Callable, Iterator
from urllib.parse import quote

from .workload_directory import Directory, GroupRef, UserRef
from .workload_kit import (
    EPOCH_TICKS,
    TICKS_PER_SECOND,
    JsonDict,
    b64_id,
    b64url_id,
    digest_bytes,
    fmt_ticks,
    rng_for,
    stable_int,
)
from .workload_overlay import Overlay, copy_with, mutation_time, run_mutation

DAY = 86400 * TICKS_PER_SECOND
PLANNER_APP_ID = "09abbdfd-ed23-44ee-a2d9-a627aa1c90f3"
_PLAN_TITLES = ("Launch plan", "Sprint board", "Onboarding", "Quarterly goals", "Event planning", "Backlog")
_TASK_VERBS = ("Draft", "Review", "Update", "Prepare", "Publish", "Schedule", "Audit", "Collect")
_TASK_NOUNS = ("budget", "roadmap", "slides", "contract", "newsletter", "survey", "release notes", "invoice")
_TOPICS = ("Welcome!", "Weekly sync", "Question about the budget", "Offsite", "Release day", "Customer feedback")
_CHANNELS = ("Announcements", "Design", "Random", "Support", "Planning", "Releases", "Leads")


def team_provisioning(seed: int, group_id: str, unified: bool) -> list[str]:
    """``resourceProvisioningOptions`` of a group: two thirds of Microsoft 365 groups are teams."""
    return ["Team"] if unified and stable_int(seed, "team", group_id) % 3 != 2 else []


def _etag(*parts: object) -> str:
    return 'W/"' + b64_id(b"JzEt", 20, *parts) + '"'


class GroupWorkloads:
    """Planner, conversations, teams and channels of every group, generated on demand."""

    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        self.seed = directory.seed
        self._plan_index: dict[str, tuple[str, int]] = {}
        self._lock = threading.Lock()
        self._licensed: tuple[int, list[UserRef]] = (-1, [])
        self.overlay = Overlay()

    def _users(self) -> list[UserRef]:
        version = self.directory.users_version()
        if self._licensed[0] != version:
            self._licensed = (version, [u for u in self.directory.users() if u.licensed])
        return self._licensed[1]

    # -- Planner ---------------------------------------------------------------------------
    def plan_id(self, group_id: str, index: int) -> str:
        """A plan id (28 base64url characters, as Planner writes them)."""
        return b64url_id(21, self.seed, "plan", group_id, index)

    def plans(self, group: GroupRef) -> list[JsonDict]:
        """The plans a Microsoft 365 group owns (none for security groups)."""
        if not group.unified:
            return []
        rng = rng_for(self.seed, "plans", group.id)
        users = self._users()
        out = []
        for index in range(rng.choice((0, 1, 1, 2, 3))):
            pid = self.plan_id(group.id, index)
            creator = users[rng.randrange(len(users))] if users else None
            created = EPOCH_TICKS - rng.randint(20, 600) * DAY
            out.append(
                {
                    "@odata.etag": _etag(self.seed, "plan-etag", pid),
                    "createdDateTime": fmt_ticks(created),
                    "owner": group.id,
                    "title": f"{group.display_name} {rng.choice(_PLAN_TITLES)}",
                    "id": pid,
                    "createdBy": {
                        "user": {"displayName": None, "id": creator.id if creator else None},
                        "application": {"displayName": None, "id": PLANNER_APP_ID},
                    },
                    "container": {
                        "containerId": group.id,
                        "type": "group",
                        "url": f"https://graph.microsoft.com/v1.0/groups/{group.id}",
                    },
                }
            )
        return out

    def plan(self, plan_id: str) -> tuple[GroupRef, JsonDict] | None:
        """A plan by id with its group, or None."""
        with self._lock:
            hit = self._plan_index.get(plan_id)
            if hit is None:
                self._plan_index = {
                    self.plan_id(g.id, i): (g.id, i) for g in self.directory.groups() if g.unified for i in range(4)
                }
                hit = self._plan_index.get(plan_id)
        if hit is None:
            return None
        group = self.directory.group(hit[0])
        if group is None:
            return None
        for plan in self.plans(group):
            if plan["id"] == plan_id:
                return group, plan
        return None

    def tasks(self, group: GroupRef, plan: JsonDict) -> list[JsonDict]:
        """The tasks of a plan."""
        rng = rng_for(self.seed, "tasks", plan["id"])
        users = self._users()
        buckets = [b64url_id(21, self.seed, "bucket", plan["id"], b) for b in range(rng.randint(1, 4))]
        out = []
        for index in range(rng.randint(3, 25)):
            tid = b64url_id(21, self.seed, "task", plan["id"], index)
            created = EPOCH_TICKS - rng.randint(1, 300) * DAY
            done = rng.random() < 0.35
            assignees = rng.sample(users, k=min(len(users), rng.randint(0, 2))) if users else []
            creator = users[rng.randrange(len(users))] if users else None
            out.append(
                {
                    "@odata.etag": _etag(self.seed, "task-etag", tid),
                    "planId": plan["id"],
                    "bucketId": rng.choice(buckets),
                    "title": f"{rng.choice(_TASK_VERBS)} {rng.choice(_TASK_NOUNS)}",
                    "orderHint": f"85{rng.randint(10**10, 10**11)}",
                    "assigneePriority": "",
                    "percentComplete": 100 if done else rng.choice((0, 0, 50)),
                    "priority": rng.choice((1, 3, 5, 9)),
                    "startDateTime": None,
                    "createdDateTime": fmt_ticks(created),
                    "dueDateTime": fmt_ticks(created + rng.randint(3, 60) * DAY, 0) if rng.random() < 0.6 else None,
                    "hasDescription": rng.random() < 0.4,
                    "previewType": "automatic",
                    "completedDateTime": fmt_ticks(created + rng.randint(1, 20) * DAY) if done else None,
                    "completedBy": {"user": {"displayName": None, "id": assignees[0].id}}
                    if done and assignees
                    else None,
                    "referenceCount": 0,
                    "checklistItemCount": (checklist := rng.randint(0, 4)),
                    "activeChecklistItemCount": 0 if done else checklist,
                    "conversationThreadId": None,
                    "id": tid,
                    "createdBy": {
                        "user": {"displayName": None, "id": creator.id if creator else None},
                        "application": {"displayName": None, "id": PLANNER_APP_ID},
                    },
                    "appliedCategories": {f"category{rng.randint(1, 6)}": True} if rng.random() < 0.3 else {},
                    "assignments": {
                        a.id: {
                            "@odata.type": "#microsoft.graph.plannerAssignment",
                            "assignedDateTime": fmt_ticks(created + DAY),
                            "orderHint": "8585269241797421508",
                            "assignedBy": {"user": {"displayName": None, "id": creator.id if creator else None}},
                        }
                        for a in assignees
                    },
                }
            )
        return self.overlay.apply(f"tasks:{plan['id']}", out)

    # -- conversations ---------------------------------------------------------------------
    def conversations(self, group: GroupRef) -> list[JsonDict]:
        """The conversations of a Microsoft 365 group, most recently delivered first."""
        if not group.unified:
            return []
        rng = rng_for(self.seed, "conversations", group.id)
        users = self._users()
        out = []
        for index in range(rng.randint(1, 12)):
            senders = rng.sample(users, k=min(len(users), rng.randint(1, 3))) if users else []
            out.append(
                {
                    "id": b64_id(b"\x00\x04\x24\x00", 44, self.seed, "conv", group.id, index),
                    "topic": rng.choice(_TOPICS),
                    "hasAttachments": rng.random() < 0.2,
                    "lastDeliveredDateTime": fmt_ticks(EPOCH_TICKS - rng.randint(0, 200 * 86400) * TICKS_PER_SECOND, 0),
                    "uniqueSenders": [s.display_name for s in senders],
                    "preview": f"Hello team, a note about {rng.choice(_TASK_NOUNS)}.",
                }
            )
        out.sort(key=lambda c: c["lastDeliveredDateTime"], reverse=True)
        return sorted(
            self.overlay.apply(f"conversations:{group.id}", out),
            key=lambda c: c["lastDeliveredDateTime"],
            reverse=True,
        )

    # -- Teams -----------------------------------------------------------------------------
    def _thread_id(self, *parts: object) -> str:
        return f"19:{digest_bytes(16, self.seed, 'thread', *parts).hex()}@thread.tacv2"

    def team(self, group: GroupRef) -> JsonDict | None:
        """The team of a teamified group, or None."""
        if not group.team:
            return None
        rng = rng_for(self.seed, "team", group.id)
        internal = self._thread_id(group.id, "General")
        tenant = self.directory.tenant_id
        return {
            "id": group.id,
            "createdDateTime": fmt_ticks(EPOCH_TICKS - rng.randint(30, 700) * DAY, 3),
            "displayName": group.display_name,
            "description": f"{group.display_name} team",
            "internalId": internal,
            "classification": None,
            "specialization": "none",
            "visibility": "private" if rng.random() < 0.3 else "public",
            "webUrl": f"https://teams.microsoft.com/l/team/{quote(internal, safe='')}/conversations"
            f"?groupId={group.id}&tenantId={tenant}",
            "isArchived": rng.random() < 0.05,
            "tenantId": tenant,
            "memberSettings": {
                "allowCreateUpdateChannels": True,
                "allowDeleteChannels": True,
                "allowAddRemoveApps": True,
                "allowCreateUpdateRemoveTabs": True,
                "allowCreateUpdateRemoveConnectors": True,
            },
            "guestSettings": {"allowCreateUpdateChannels": False, "allowDeleteChannels": False},
            "messagingSettings": {
                "allowUserEditMessages": True,
                "allowUserDeleteMessages": True,
                "allowOwnerDeleteMessages": True,
                "allowTeamMentions": True,
                "allowChannelMentions": True,
            },
            "funSettings": {
                "allowGiphy": True,
                "giphyContentRating": "moderate",
                "allowStickersAndMemes": True,
                "allowCustomMemes": True,
            },
            "summary": None,
        }

    def channels(self, group: GroupRef) -> list[JsonDict]:
        """The channels of a team: General first, then standard, private and shared ones."""
        if not group.team:
            return []
        rng = rng_for(self.seed, "channels", group.id)
        tenant = self.directory.tenant_id
        names = ["General"] + rng.sample(_CHANNELS, rng.randint(0, 5))
        out = []
        for index, name in enumerate(names):
            cid = self._thread_id(group.id, name)
            kind = "standard" if index == 0 or rng.random() < 0.7 else rng.choice(("private", "shared"))
            out.append(
                {
                    "id": cid,
                    "createdDateTime": fmt_ticks(EPOCH_TICKS - rng.randint(1, 600) * DAY, 3),
                    "displayName": name,
                    "description": f"{name} channel of {group.display_name}" if index else group.display_name,
                    "isFavoriteByDefault": None,
                    "email": "",
                    "tenantId": tenant,
                    "webUrl": f"https://teams.microsoft.com/l/channel/{quote(cid, safe='')}/{quote(name)}"
                    f"?groupId={group.id}&tenantId={tenant}",
                    "membershipType": kind,
                }
            )
        return out

    # -- mutations -------------------------------------------------------------------------
    def mutate_tasks(self, op: str, count: int, rng: random.Random, tick: Callable[[], int]) -> list[str]:
        """Create, update (title, progress) or delete Planner tasks of random plans; returns task ids."""
        plans = [(g, p) for g in self.directory.groups() for p in self.plans(g)]

        def pick(r: random.Random) -> tuple[str, list[JsonDict]] | None:
            if not plans:
                return None
            group, plan = r.choice(plans)
            return f"tasks:{plan['id']}", self.tasks(group, plan)

        def make(scope: str, items: list[JsonDict], r: random.Random) -> JsonDict:
            seq = tick()
            plan_id = scope.split(":", 1)[1]
            tid = b64url_id(21, self.seed, "task-new", plan_id, seq)
            return {
                "@odata.etag": _etag(self.seed, "task-etag", tid, seq),
                "planId": plan_id,
                "bucketId": items[0]["bucketId"] if items else b64url_id(21, self.seed, "bucket", plan_id, 0),
                "title": f"{r.choice(_TASK_VERBS)} {r.choice(_TASK_NOUNS)} (new)",
                "orderHint": f"85{r.randint(10**10, 10**11)}",
                "assigneePriority": "",
                "percentComplete": 0,
                "priority": 5,
                "startDateTime": None,
                "createdDateTime": mutation_time(seq),
                "dueDateTime": None,
                "hasDescription": False,
                "previewType": "automatic",
                "completedDateTime": None,
                "completedBy": None,
                "referenceCount": 0,
                "checklistItemCount": 0,
                "activeChecklistItemCount": 0,
                "conversationThreadId": None,
                "id": tid,
                "createdBy": {
                    "user": {"displayName": None, "id": None},
                    "application": {"displayName": None, "id": PLANNER_APP_ID},
                },
                "appliedCategories": {},
                "assignments": {},
            }

        def change(item: JsonDict, r: random.Random) -> JsonDict:
            seq = tick()
            done = r.random() < 0.5
            return copy_with(
                item,
                **{
                    "@odata.etag": _etag(self.seed, "task-etag", item["id"], seq),
                    "title": f"{item['title'].split(' (')[0]} (v{seq})",
                    "percentComplete": 100 if done else 50,
                    "completedDateTime": mutation_time(seq) if done else None,
                },
            )

        return run_mutation("planner_tasks", op, count, rng, pick, make, change, self.overlay)

    def mutate_conversations(self, op: str, count: int, rng: random.Random, tick: Callable[[], int]) -> list[str]:
        """Create, update (new reply) or delete conversations of random Microsoft 365 groups."""
        unified = [g for g in self.directory.groups() if g.unified]

        def pick(r: random.Random) -> tuple[str, list[JsonDict]] | None:
            if not unified:
                return None
            group = r.choice(unified)
            return f"conversations:{group.id}", self.conversations(group)

        def make(scope: str, items: list[JsonDict], r: random.Random) -> JsonDict:
            seq = tick()
            users = self._users()
            return {
                "id": b64_id(b"\x00\x04\x24\x00", 44, self.seed, "conv-new", scope, seq),
                "topic": f"{r.choice(_TOPICS)} (new)",
                "hasAttachments": False,
                "lastDeliveredDateTime": mutation_time(seq)[:19] + "Z",
                "uniqueSenders": [r.choice(users).display_name] if users else [],
                "preview": "A new conversation.",
            }

        def change(item: JsonDict, r: random.Random) -> JsonDict:
            seq = tick()
            return copy_with(item, lastDeliveredDateTime=mutation_time(seq)[:19] + "Z", preview=f"Reply {seq}.")

        return run_mutation("group_conversations", op, count, rng, pick, make, change, self.overlay)

    # -- truth -----------------------------------------------------------------------------
    def truth_ids(self) -> dict[str, Iterator[str]]:
        """Truth id streams per raw table (Graph ids here are tenant-unique, so plain ids)."""
        groups = list(self.directory.groups())

        def plans() -> Iterator[str]:
            for g in groups:
                yield from (p["id"] for p in self.plans(g))

        def tasks() -> Iterator[str]:
            for g in groups:
                for p in self.plans(g):
                    yield from (t["id"] for t in self.tasks(g, p))

        def conversations() -> Iterator[str]:
            for g in groups:
                yield from (c["id"] for c in self.conversations(g))

        def teams() -> Iterator[str]:
            yield from (g.id for g in groups if g.team)

        def channels() -> Iterator[str]:
            for g in groups:
                yield from (c["id"] for c in self.channels(g))

        return {
            "planner_plans": plans(),
            "planner_tasks": tasks(),
            "group_conversations": conversations(),
            "teams": teams(),
            "channels": channels(),
        }


_TEAM_FILTER = re.compile(
    r"^\s*resourceProvisioningOptions/any\(\s*(\w+)\s*:\s*\1\s+eq\s+'Team'\s*\)\s*$", re.IGNORECASE
)


def is_team_filter(raw: str | None) -> bool:
    """True for ``resourceProvisioningOptions/Any(x:x eq 'Team')``, the documented way to list teams' groups."""
    return raw is not None and _TEAM_FILTER.match(raw) is not None
