"""Teams channel messages, replies and members: ``/teams/{id}/channels/{id}/messages`` (list),
``.../messages/delta`` (``$top`` up to 50, ``$expand=replies``), ``.../messages/{id}/replies`` (``$top`` up to 50),
``/teams/{id}/members`` and ``/teams/{id}/channels/{id}/members``. Truth: ``channel_messages``,
``channel_message_replies``, ``team_members``, ``channel_members``; mutate: ``channel_messages`` and
``channel_message_replies`` (create, update = edit, delete = soft-delete).

Delta follows the chatMessage delta docs: root messages only (replies through ``$expand=replies``, at most 1000 per
message with ``replies@odata.nextLink`` beyond), a round pages by ``@odata.nextLink`` (``$skiptoken``) and ends
with an ``@odata.deltaLink`` (``$deltatoken``); a later round returns the root messages whose reply chain changed,
a deleted one with ``deletedDateTime`` set (no ``@removed``). Only ``$top``, ``$expand=replies`` are served
(``$filter``/``$select`` answer 400 here); an expired token answers 410 ``SyncStateNotFound`` with a ``Location``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..odata import Shape, dumps
from ..paging import page_body, page_size
from ..router import DELTA, SEG, GraphError, Request, Response
from ..tenant_teams import Channel, TeamsMessages
from ..workload_http import CTX, render_all, render_list
from ..workloads import workloads_for

if TYPE_CHECKING:
    from ..core import Emulator

MESSAGE = Shape("microsoft.graph.chatMessage", None, "graph")
MEMBER = Shape("microsoft.graph.conversationMember", None, "graph")
DEFAULT_PAGE = 20
MAX_PAGE = 50  # "$top ... The upper limit is 50" (chatMessage delta, list replies)
INLINE_REPLIES = 1000  # "If a channel message contains more than 1000 replies, replies@odata.nextLink ..."
_SERVED = {"$top", "$expand", "$skiptoken", "$deltatoken"}


def register(emu: Emulator) -> None:
    """Add the channel message and member routes, their truth sources and mutators."""
    wl = workloads_for(emu)
    teams: TeamsMessages = wl.teams
    r = emu.router
    base_path = rf"/teams/(?P<team>{SEG})/channels/(?P<channel>{SEG})"

    def channel_not_found(req: Request) -> GraphError:
        return GraphError(404, "NotFound", f"Channel {req.params['channel']} not found in team {req.params['team']}.")

    def channel_or_404(req: Request) -> Channel:
        channel = teams.channel(req.params["team"], req.params["channel"])
        if channel is None:
            raise channel_not_found(req)
        return channel

    def replies_link(channel: Channel, root_id: str, offset: int) -> str:
        token = emu.codec.encode({"r": f"replies:{channel.channel_id}/{root_id}", "o": offset})
        return (
            f"{emu.base_url}/v1.0/teams/{channel.team_id}/channels/{channel.channel_id}/messages/{root_id}/replies"
            f"?$skiptoken={token}"
        )

    def render_root(channel: Channel, root_id: str, expand: bool) -> bytes:
        root: dict[str, Any] = dict(channel.roots[root_id])
        if expand:
            replies = teams.replies_of(channel, root_id)
            root["replies@odata.context"] = (
                CTX + f"teams('{channel.team_id}')/channels('{channel.channel_id}')/messages('{root_id}')/replies"
            )
            root["replies"] = replies[:INLINE_REPLIES]
            if len(replies) > INLINE_REPLIES:
                root["replies@odata.nextLink"] = replies_link(channel, root_id, INLINE_REPLIES)
        return dumps(root)

    @r.graph("GET", base_path + "/messages", name="channel_messages", kind="graph")
    def messages(req: Request) -> Response:
        channel = channel_or_404(req)
        items = [channel.roots[rid] for rid in teams.root_ids(channel, None, emu.clock.now)]
        return render_list(
            req,
            emu,
            scope=f"messages:{channel.channel_id}",
            items=items,
            shape=MESSAGE,
            context=CTX + f"teams('{channel.team_id}')/channels('{channel.channel_id}')/messages",
            default=DEFAULT_PAGE,
            maximum=MAX_PAGE,
        )

    @r.graph("GET", base_path + f"/messages/{DELTA}", name="channel_messages_delta", kind="graph")
    def messages_delta(req: Request) -> Response:
        channel = channel_or_404(req)
        q = req.query
        unserved = sorted(k for k in q if k.startswith("$") and k not in _SERVED)
        if unserved:
            name = unserved[0].lstrip("$").capitalize()
            raise GraphError(400, "BadRequest", f"Parameter '{name}' not supported for this request.")
        key = f"{channel.team_id}/{channel.channel_id}"
        base = f"{emu.base_url}{req.path}"
        now = emu.clock.now
        token_key = "$deltatoken" if "$deltatoken" in q else "$skiptoken" if "$skiptoken" in q else ""
        if token_key:
            p = emu.codec.decode(q[token_key])
            expired = token_key == "$deltatoken" and emu.faults.hit("expire_delta")
            if expired:
                emu.stats.fault("expire_delta")
            if p is None or p.get("k") != key or int(p.get("u", -1)) > now or expired:
                raise GraphError(
                    410, "SyncStateNotFound", "The sync state is not found or has expired.", [("Location", base)]
                )
            size, expand = int(p["ps"]), bool(p["x"])
            if token_key == "$deltatoken":
                since, upto, offset = int(p["u"]), now, 0
            else:
                since, upto, offset = p.get("s"), int(p["u"]), int(p["o"])
        else:
            expand_raw = q.get("$expand")
            if expand_raw is not None and expand_raw.strip() != "replies":
                raise GraphError(400, "BadRequest", f"Invalid $expand '{expand_raw}': only replies can be expanded.")
            size = page_size(req, default=DEFAULT_PAGE, maximum=MAX_PAGE, family="graph")
            expand, since, upto, offset = expand_raw is not None, None, now, 0
        ids = teams.root_ids(channel, None if since is None else int(since), upto)
        values = [render_root(channel, rid, expand) for rid in ids[offset : offset + size]]
        state = {"k": key, "ps": size, "x": expand}
        if offset + size < len(ids):
            token = emu.codec.encode({**state, "s": since, "u": upto, "o": offset + size})
            extra = [("@odata.nextLink", f"{base}?$skiptoken={token}")]
        else:
            extra = [("@odata.deltaLink", f"{base}?$deltatoken={emu.codec.encode({**state, 'u': upto})}")]
        return Response(200, page_body(CTX + "Collection(chatMessage)", values, extra))

    @r.graph("GET", base_path + rf"/messages/(?P<message>{SEG})/replies", name="channel_message_replies", kind="graph")
    def replies(req: Request) -> Response:
        channel = channel_or_404(req)
        root_id = req.params["message"]
        if root_id not in channel.roots:
            raise GraphError(404, "NotFound", f"Message {root_id} not found.")
        return render_list(
            req,
            emu,
            scope=f"replies:{channel.channel_id}/{root_id}",
            items=teams.replies_of(channel, root_id),
            shape=MESSAGE,
            context=CTX + f"teams('{channel.team_id}')/channels('{channel.channel_id}')/messages('{root_id}')/replies",
            default=DEFAULT_PAGE,
            maximum=MAX_PAGE,
        )

    @r.graph("GET", rf"/teams/(?P<team>{SEG})/members", name="team_members", kind="graph")
    def team_members(req: Request) -> Response:
        group = wl.directory.group(req.params["team"])
        if group is None or not group.team:
            raise GraphError(404, "NotFound", f"No team found with Group Id {req.params['team']}")
        items = teams.team_members(group.id)
        return render_all(req, items, MEMBER, CTX + f"teams('{group.id}')/members")

    @r.graph("GET", base_path + "/members", name="channel_members", kind="graph")
    def channel_members(req: Request) -> Response:
        group = wl.directory.group(req.params["team"])
        found = [c for c in wl.groups.channels(group) if c["id"] == req.params["channel"]] if group else []
        if group is None or not found:
            raise channel_not_found(req)
        items = teams.channel_members(group.id, found[0])
        return render_all(req, items, MEMBER, CTX + f"teams('{group.id}')/channels('{found[0]['id']}')/members")

    for table in ("channel_messages", "channel_message_replies", "team_members", "channel_members"):
        emu.add_truth(table, lambda table=table: teams.truth_ids()[table])
    for table in ("channel_messages", "channel_message_replies"):
        emu.add_mutator(table, lambda op, count, rng, table=table: teams.mutate(table, op, count, rng))
