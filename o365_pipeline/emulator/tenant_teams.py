"""Teams channel messages, their replies, and team and channel members of the emulated tenant.

Messages of every channel of every team are generated from the seed the first time any of them is asked, all
channels at once in (team, channel) order: a message id is its creation time in epoch milliseconds, as in Graph,
and the generator keeps every id unique tenant-wide (a clash moves the later one by a millisecond), so the truth
of ``channel_messages`` and ``channel_message_replies`` is bare ids although Graph's ids are unique per channel
only. Changes (``mutate``) take the emulator's change sequence: a channel's delta round reports the root
messages whose reply chain changed in ``(since, upto]`` (the message itself, or one of its replies, as the
chatMessage delta docs describe a "reply chain ... created or changed"). Deleting a message sets its
``deletedDateTime`` (Teams soft-deletes: the message stays listed, without body); a deleted message's replies
are gone with it in the truth.

Members: a team's members are the user members of its group (one owner, guests with the ``guest`` role); a
standard channel's members are its team's, a private or shared channel has its own subset (the owner always).
Membership ids are opaque base64 strings naming the team or channel and the user, as Graph's are.
"""

from __future__ import annotations

import base64
import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .router import GraphError
from .tenant_collab import GroupWorkloads
from .workload_kit import EPOCH_TICKS, TICKS_PER_SECOND, JsonDict, fmt_ticks, rng_for, stable_int
from .workload_overlay import OPS

if TYPE_CHECKING:
    from .tenant import Directory as CoreDirectory

MS = TICKS_PER_SECOND // 1000
_EPOCH_MS = EPOCH_TICKS // MS
_LINES = (
    "Can someone review the {}?",
    "The {} is ready for comments.",
    "Reminder: the {} is due on Friday.",
    "Thanks all, the {} went out today.",
    "Where do we keep the latest {}?",
)
_NOUNS = ("budget", "roadmap", "slides", "contract", "newsletter", "survey", "release notes", "invoice")
_REPLIES = ("Looks good to me.", "On it.", "Thanks!", "I added my comments.", "Let's discuss tomorrow.")


@dataclass
class Channel:
    """One channel's messages: root messages in creation order, their replies, and when each chain changed."""

    team_id: str
    channel_id: str
    roots: dict[str, JsonDict] = field(default_factory=dict)
    replies: dict[str, list[JsonDict]] = field(default_factory=dict)  # root id -> replies in creation order
    created_seq: dict[str, int] = field(default_factory=dict)  # root id -> seq it was created at (0: seeded)
    changed_seq: dict[str, int] = field(default_factory=dict)  # root id -> seq its chain last changed at


def member_id(*parts: str) -> str:
    """An opaque membership id (base64 of the team or channel and the user, as Graph's decode)."""
    return base64.b64encode("##".join(parts).encode()).decode()


class TeamsMessages:
    """Channel messages and replies (with their change log), team and channel members."""

    def __init__(self, groups: GroupWorkloads, core: CoreDirectory, tick: Callable[[], int]) -> None:
        self.groups = groups
        self.core = core
        self.seed = groups.seed
        self._tick = tick
        self._lock = threading.RLock()
        self._channels: dict[tuple[str, str], Channel] = {}
        self._teams_seen: set[str] = set()
        self._taken: set[int] = set()  # every message and reply id (epoch ms) handed out

    # -- generation ------------------------------------------------------------------------
    def _unique_ms(self, ms: int) -> int:
        while ms in self._taken:
            ms += 1
        self._taken.add(ms)
        return ms

    def _ensure(self) -> None:
        """Generate the messages of every team not seen yet, in (team, channel) order (ids stay the same)."""
        with self._lock:
            fresh = sorted(g.id for g in self.groups.directory.groups() if g.team and g.id not in self._teams_seen)
            for team_id in fresh:
                group = self.groups.directory.group(team_id)
                self._teams_seen.add(team_id)
                if group is None:
                    continue
                for channel in sorted(self.groups.channels(group), key=lambda c: c["id"]):
                    self._channels[(team_id, channel["id"])] = self._seed_channel(team_id, channel["id"])

    def _seed_channel(self, team_id: str, channel_id: str) -> Channel:
        rng = rng_for(self.seed, "channel-messages", channel_id)
        out = Channel(team_id, channel_id)
        users = self._team_users(team_id)
        starts = sorted(_EPOCH_MS - rng.randint(1, 200) * 86_400_000 - rng.randint(0, 86_399_999) for _ in range(3))
        for start in starts[: rng.randint(1, 3)]:
            ms = self._unique_ms(start)
            root = self._message(rng, out, ms, None, users)
            out.roots[root["id"]] = root
            out.created_seq[root["id"]] = 0
            out.changed_seq[root["id"]] = 0
            replies = []
            for offset in sorted(rng.randint(60_000, 3 * 86_400_000) for _ in range(rng.choice((0, 0, 1, 2, 3)))):
                replies.append(self._message(rng, out, self._unique_ms(ms + offset), root["id"], users))
            out.replies[root["id"]] = replies
        return out

    def _team_users(self, team_id: str) -> list[str]:
        return [m for m in self.core.members.get(team_id, []) if m in self.core.users.items]

    def _message(self, rng: random.Random, channel: Channel, ms: int, root: str | None, users: list[str]) -> JsonDict:
        """A chatMessage as Graph v1.0 renders one (``root``: the message it replies to)."""
        author = self.core.users.items.get(rng.choice(users)) if users else None
        when = fmt_ticks(ms * MS, 3)
        html = rng.random() < 0.5
        text = rng.choice(_REPLIES) if root else rng.choice(_LINES).format(rng.choice(_NOUNS))
        tenant = self.core.tenant_id
        thread = channel.channel_id.replace(":", "%3A").replace("@", "%40")
        return {
            "id": str(ms),
            "replyToId": root,
            "etag": str(ms),
            "messageType": "message",
            "createdDateTime": when,
            "lastModifiedDateTime": when,
            "lastEditedDateTime": None,
            "deletedDateTime": None,
            "subject": None if root or rng.random() < 0.6 else f"About the {rng.choice(_NOUNS)}",
            "summary": None,
            "chatId": None,
            "importance": "normal" if rng.random() < 0.9 else "high",
            "locale": "en-us",
            "webUrl": f"https://teams.microsoft.com/l/message/{thread}/{ms}?groupId={channel.team_id}"
            f"&tenantId={tenant}&createdTime={ms}&parentMessageId={root or ms}",
            "policyViolation": None,
            "eventDetail": None,
            "from": {
                "application": None,
                "device": None,
                "user": None
                if author is None
                else {
                    "@odata.type": "#microsoft.graph.teamworkUserIdentity",
                    "id": author["id"],
                    "displayName": author["displayName"],
                    "userIdentityType": "aadUser",
                },
            },
            "body": {"contentType": "html", "content": f"<p>{text}</p>"}
            if html
            else {"contentType": "text", "content": text},
            "channelIdentity": {"teamId": channel.team_id, "channelId": channel.channel_id},
            "attachments": [],
            "mentions": [],
            "reactions": [],
            "messageHistory": [],
        }

    # -- reading ---------------------------------------------------------------------------
    def channel(self, team_id: str, channel_id: str) -> Channel | None:
        """A channel's messages (None: no such channel of a live team)."""
        self._ensure()
        with self._lock:
            found = self._channels.get((team_id, channel_id))
        group = self.groups.directory.group(team_id)
        return found if found is not None and group is not None and group.team else None

    def root_ids(self, channel: Channel, since: int | None, upto: int) -> list[str]:
        """Root messages of a full round as of ``upto`` (``since`` None), or whose chain changed in (since, upto]."""
        with self._lock:
            if since is None:
                return [rid for rid in channel.roots if channel.created_seq[rid] <= upto]
            return sorted(
                (rid for rid, seq in channel.changed_seq.items() if since < seq <= upto),
                key=channel.changed_seq.__getitem__,
            )

    def replies_of(self, channel: Channel, root_id: str) -> list[JsonDict]:
        """The replies of a root message (deleted ones with ``deletedDateTime``; none once the root is deleted)."""
        with self._lock:
            root = channel.roots.get(root_id)
            if root is None or root["deletedDateTime"] is not None:
                return []
            return list(channel.replies.get(root_id, []))

    # -- members ---------------------------------------------------------------------------
    def team_members(self, team_id: str) -> list[JsonDict]:
        """aadUserConversationMembers of a team: its group's user members, one of them the owner."""
        users = self._team_users(team_id)
        owner = min(users, key=lambda u: stable_int(self.seed, "team-owner", team_id, u)) if users else None
        return [self._member(member_id(team_id, u), u, owner) for u in users]

    def channel_members(self, team_id: str, channel: JsonDict) -> list[JsonDict]:
        """Members of a channel: the team's for a standard channel, a subset (owner included) for the others."""
        users = self._team_users(team_id)
        owner = min(users, key=lambda u: stable_int(self.seed, "team-owner", team_id, u)) if users else None
        cid = channel["id"]
        if channel["membershipType"] != "standard":
            users = [u for u in users if u == owner or stable_int(self.seed, "channel-member", cid, u) % 2 == 0]
        return [self._member(member_id("1", team_id, cid, u), u, owner) for u in users]

    def _member(self, mid: str, user_id: str, owner: str | None) -> JsonDict:
        user = self.core.users.items[user_id]
        guest = user.get("userType") == "Guest"
        return {
            "@odata.type": "#microsoft.graph.aadUserConversationMember",
            "id": mid,
            "roles": ["owner"] if user_id == owner else ["guest"] if guest else [],
            "displayName": user["displayName"],
            "visibleHistoryStartDateTime": "0001-01-01T00:00:00Z",
            "userId": user_id,
            "email": user.get("mail"),
            "tenantId": self.core.tenant_id,
        }

    # -- truth -----------------------------------------------------------------------------
    def _live_channels(self) -> Iterator[Channel]:
        self._ensure()
        live = {(g.id, c["id"]) for g in self.groups.directory.groups() if g.team for c in self.groups.channels(g)}
        with self._lock:
            channels = [c for key, c in self._channels.items() if key in live]
        yield from channels

    def truth_ids(self) -> dict[str, Iterator[str]]:
        """Truth id streams: live root messages, live replies of live roots, team and channel members."""

        def messages() -> Iterator[str]:
            for channel in self._live_channels():
                yield from (rid for rid, m in channel.roots.items() if m["deletedDateTime"] is None)

        def replies() -> Iterator[str]:
            for channel in self._live_channels():
                for rid in channel.roots:
                    yield from (r["id"] for r in self.replies_of(channel, rid) if r["deletedDateTime"] is None)

        def team_members() -> Iterator[str]:
            for group in self.groups.directory.groups():
                if group.team:
                    yield from (m["id"] for m in self.team_members(group.id))

        def channel_members() -> Iterator[str]:
            for group in self.groups.directory.groups():
                for channel in self.groups.channels(group):
                    yield from (m["id"] for m in self.channel_members(group.id, channel))

        return {
            "channel_messages": messages(),
            "channel_message_replies": replies(),
            "team_members": team_members(),
            "channel_members": channel_members(),
        }

    # -- mutations -------------------------------------------------------------------------
    def mutate(self, table: str, op: str, count: int, rng: random.Random) -> list[str]:
        """Create, edit or (soft-)delete ``count`` root messages (``channel_messages``) or replies
        (``channel_message_replies``) of random channels; returns the changed ids."""
        if op not in OPS:
            raise GraphError(400, "BadRequest", f"{table}: unknown op {op!r}; use create, update or delete")
        done: list[str] = []
        with self._lock:
            channels = sorted(self._live_channels(), key=lambda c: (c.team_id, c.channel_id))
            for _ in range(count * 20):
                if len(done) >= count or not channels:
                    break
                channel = rng.choice(channels)
                live = [rid for rid, m in channel.roots.items() if m["deletedDateTime"] is None]
                if table == "channel_messages":
                    changed = self._mutate_root(channel, op, live, rng)
                else:
                    changed = self._mutate_reply(channel, op, live, rng)
                if changed is not None:
                    done.append(changed)
        return done

    def _mutate_root(self, channel: Channel, op: str, live: list[str], rng: random.Random) -> str | None:
        if op != "create" and not live:
            return None
        seq = self._tick()
        ms = self._unique_ms(_EPOCH_MS + 86_400_000 + seq * 37_000)
        if op == "create":
            root = self._message(rng, channel, ms, None, self._team_users(channel.team_id))
            channel.roots[root["id"]] = root
            channel.replies[root["id"]] = []
            channel.created_seq[root["id"]] = seq
            channel.changed_seq[root["id"]] = seq
            return str(root["id"])
        rid = rng.choice(live)
        channel.roots[rid] = self._changed(channel.roots[rid], op, ms)
        channel.changed_seq[rid] = seq
        return rid

    def _mutate_reply(self, channel: Channel, op: str, live: list[str], rng: random.Random) -> str | None:
        if not live:
            return None
        rid = rng.choice(live)
        replies = channel.replies.setdefault(rid, [])
        current = [i for i, r in enumerate(replies) if r["deletedDateTime"] is None]
        if op != "create" and not current:
            return None
        seq = self._tick()
        ms = self._unique_ms(_EPOCH_MS + 86_400_000 + seq * 37_000)
        if op == "create":
            reply = self._message(rng, channel, ms, rid, self._team_users(channel.team_id))
            replies.append(reply)
        else:
            index = rng.choice(current)
            reply = replies[index] = self._changed(replies[index], op, ms)
        channel.changed_seq[rid] = seq  # the reply chain changed: the root shows in the next delta round
        return str(reply["id"])

    @staticmethod
    def _changed(message: JsonDict, op: str, ms: int) -> JsonDict:
        """An edited (``update``) or soft-deleted (``delete``) copy of a message."""
        when = fmt_ticks(ms * MS, 3)
        if op == "update":
            body = {"contentType": "html", "content": f"<p>Edited at {when}.</p>"}
            return {**message, "body": body, "lastEditedDateTime": when, "lastModifiedDateTime": when, "etag": str(ms)}
        body = {"contentType": message["body"]["contentType"], "content": ""}
        return {**message, "body": body, "deletedDateTime": when, "lastModifiedDateTime": when, "etag": str(ms)}
