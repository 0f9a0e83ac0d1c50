"""Directory routes: users, groups (+members, delta with members@delta), organization, subscribedSkus."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..filters import compile_filter
from ..odata import Change, dumps
from ..paging import delta_page, list_page, removed_entry
from ..router import DELTA, SEG, GraphError, Request, Response
from ..tenant import GROUP_SHAPE, MEMBER_SHAPE, ORG_SHAPE, SKU_SHAPE, USER_SHAPE
from ..tenant_collab import is_team_filter

if TYPE_CHECKING:
    from ..core import Emulator

CTX = "https://graph.microsoft.com/v1.0/$metadata#"
# groups/delta relationships a $select may name: their changes come as <name>@delta lists of ids
NAVIGATION = ("members", "owners")

# $filter on /users as the docs list it per property (default query), and what advanced queries
# (ConsistencyLevel: eventual) add: ne and endswith.
_EQ_START = {"eq", "startswith"}
USER_FILTERS: dict[str, set[str]] = {
    "accountEnabled": {"eq"},
    "userType": {"eq"},
    "id": {"eq"},
    "usageLocation": {"eq"},
    "createdDateTime": {"eq", "ge", "gt", "le", "lt"},
    **{
        p: set(_EQ_START)
        for p in (
            "displayName givenName surname mail userPrincipalName jobTitle department city country "
            "companyName employeeId officeLocation state postalCode preferredLanguage mailNickname"
        ).split()
    },
}
USER_FILTERS_ADVANCED: dict[str, set[str]] = {
    p: ops | {"ne"} | ({"endswith"} if p in ("mail", "userPrincipalName", "displayName") else set())
    for p, ops in USER_FILTERS.items()
}


def _user_filter_error(prop: str) -> GraphError:
    if not prop:
        return GraphError(400, "BadRequest", "Invalid filter clause: syntax error in the $filter expression.")
    return GraphError(
        400,
        "Request_UnsupportedQuery",
        f"Unsupported or invalid query filter clause specified for property '{prop}' of resource 'User'.",
    )


def register(emu: Emulator) -> None:
    """Add the directory routes, truth sources and mutators."""
    d = emu.directory
    r = emu.router

    def sample(coll: Any) -> dict[str, Any] | None:
        return next(iter(coll.items.values()), None)

    @r.graph("GET", r"/users", name="users", kind="directory", cost=2)
    def users(req: Request) -> Response:
        sel = USER_SHAPE.parse_select(req.query.get("$select"), sample(d.users))
        ctx = CTX + "users" + (f"({','.join(sel)})" if sel else "")
        flt = req.query.get("$filter")
        if flt is None:
            rendered = d.users.rendered(USER_SHAPE, sel)
        else:
            advanced = req.header("consistencylevel").lower() == "eventual"
            pred = compile_filter(flt, USER_FILTERS_ADVANCED if advanced else USER_FILTERS, _user_filter_error)
            rendered = [dumps(USER_SHAPE.project(u, sel)) for u in list(d.users.items.values()) if pred(u)]
        return list_page(
            req,
            emu,
            scope="users" if flt is None else f"users?{flt}",
            rendered=rendered,
            context=ctx,
            default=100,
            maximum=999,
            family="directory",
            countable=True,
        )

    @r.graph("GET", rf"/users/{DELTA}", name="users_delta", kind="directory", cost=2)
    def users_delta(req: Request) -> Response:
        return delta_page(
            req,
            emu,
            scope="users",
            coll=d.users,
            shape=USER_SHAPE,
            context=CTX + "users",
            default=d.scale.directory_delta_page,
            maximum=999,
        )

    def count_of(coll: Any) -> Any:
        def handler(req: Request) -> Response:
            if req.header("consistencylevel").lower() != "eventual":
                raise GraphError(
                    400, "Request_BadRequest", "$count is not currently supported without ConsistencyLevel: eventual."
                )
            return Response(200, str(len(coll.items)).encode(), content_type="text/plain; charset=utf-8")

        return handler

    r.add("GET", r"/users/(?:\$|%24)count", count_of(d.users), name="users_count", kind="directory", cost=1)
    r.add("GET", r"/groups/(?:\$|%24)count", count_of(d.groups), name="groups_count", kind="directory", cost=1)

    @r.graph("GET", rf"/users/(?P<user>{SEG})", name="user", kind="directory", cost=1)
    def user(req: Request) -> Response:
        u = d.find_user(req.params["user"])
        if u is None:
            raise GraphError(
                404,
                "Request_ResourceNotFound",
                f"Resource '{req.params['user']}' does not exist or one of its queried reference-property "
                "objects are not present.",
            )
        sel = USER_SHAPE.parse_select(req.query.get("$select"), u)
        body = USER_SHAPE.project(u, sel)
        return Response(200, dumps({"@odata.context": CTX + "users/$entity", **body}))

    def expand_members(req: Request) -> tuple[str, ...] | None:
        """$expand=members[($select=a,b)] -> the member $select (() = all); None without $expand."""
        raw = req.query.get("$expand")
        if raw is None:
            return None
        m = re.fullmatch(r"members(?:\(\$select=([^)]*)\))?", raw.strip())
        if m is None:
            raise GraphError(400, "Request_BadRequest", f"Expanding '{raw}' is not supported on groups.")
        return tuple(sorted(p.strip() for p in m.group(1).split(",") if p.strip())) if m.group(1) else ()

    def with_members(g: dict[str, Any], sel: tuple[str, ...] | None, msel: tuple[str, ...]) -> bytes:
        """A group with its first 20 members expanded, as Graph does."""
        objs = [d.member_object(m) for m in d.members.get(g["id"], [])[:20]]
        members = [MEMBER_SHAPE.project(o, msel or None) for o in objs]
        return dumps({**GROUP_SHAPE.project(g, sel), "members": members})

    @r.graph("GET", r"/groups", name="groups", kind="directory", cost=2)
    def groups(req: Request) -> Response:
        sel = GROUP_SHAPE.parse_select(req.query.get("$select"), sample(d.groups))
        rendered = d.groups.rendered(GROUP_SHAPE, sel)
        expand = expand_members(req)
        if is_team_filter(req.query.get("$filter")):  # Teams discovery, see routes/teams.py
            teams = [g for g in list(d.groups.items.values()) if "Team" in g["resourceProvisioningOptions"]]
            rendered = [dumps(GROUP_SHAPE.project(g, sel)) for g in teams]
        elif expand is not None:
            rendered = [with_members(g, sel, expand) for g in list(d.groups.items.values())]
        return list_page(
            req,
            emu,
            scope="groups",
            rendered=rendered,
            context=CTX + "groups",
            default=100,
            maximum=999,
            family="directory",
            countable=True,
        )

    def member_entries(
        gid: str,
        group_body: dict[str, Any],
        mems: list[dict[str, Any]] | None,
        owners: list[dict[str, Any]] | None,
    ) -> list[bytes]:
        """A group's delta entries: a big group repeats over several entries of members@delta (the first one
        also carries owners@delta when owners are selected)."""
        chunk = d.scale.member_chunk
        extra = {} if owners is None else {"owners@delta": owners}
        if mems is None:
            return [dumps({**group_body, **extra})]
        if not mems:
            return [dumps({**group_body, "members@delta": [], **extra})]
        return [
            dumps({**group_body, "members@delta": mems[i : i + chunk], **(extra if i == 0 else {})})
            for i in range(0, len(mems), chunk)
        ]

    def wants_members(select: tuple[str, ...] | None) -> bool:
        return select is None or "members" in select

    def wants_owners(select: tuple[str, ...] | None) -> bool:
        # "track ownership ... by selecting any group relationship of type directoryObject collection" (docs)
        return select is not None and "owners" in select

    def group_body(g: dict[str, Any], select: tuple[str, ...] | None) -> dict[str, Any]:
        sel = None if select is None else tuple(p for p in select if p not in NAVIGATION)
        return GROUP_SHAPE.project(g, sel)

    def current(ids: list[str]) -> list[dict[str, Any]]:
        return [{"@odata.type": d.member_object(m)["@odata.type"], "id": m} for m in ids]

    def logged(log: list[tuple[int, str, bool]], since: int, upto: int) -> list[dict[str, Any]]:
        """The last change of each member (or owner) within the round's window: added, or @removed."""
        last: dict[str, bool] = {}
        for seq, mid, added in log:
            if since < seq <= upto:
                last[mid] = added
        out = []
        for mid, added in last.items():
            entry = {"@odata.type": d.member_object(mid)["@odata.type"], "id": mid}
            out.append(entry if added else {**entry, "@removed": {"reason": "deleted"}})
        return out

    def groups_full(select: tuple[str, ...] | None) -> list[bytes]:
        out: list[bytes] = []
        for gid, g in list(d.groups.items.items()):
            body = group_body(g, select)
            mems = current(d.members.get(gid, [])) if wants_members(select) else None
            owners = current(d.owners.get(gid, [])) if wants_owners(select) else None
            if mems is None and owners is None:
                out.append(dumps(body))
            else:
                out.extend(member_entries(gid, body, mems, owners))
        return out

    # the round's `since` is not passed to change_entries; it is kept in this closure per call
    def groups_changes(since_upto: list[int]) -> Any:
        def fn(ch: Change, select: tuple[str, ...] | None) -> list[bytes]:
            g = d.groups.items.get(ch.id)
            if ch.kind != "upsert" or g is None:
                return [removed_entry(GROUP_SHAPE.odata_type, ch.id, "changed" if ch.kind == "changed" else "deleted")]
            fields = ch.fields
            if fields is not None:
                keys = tuple(sorted(f for f in fields if f not in NAVIGATION and (select is None or f in select)))
                body = GROUP_SHAPE.project(g, keys)
            else:
                body = group_body(g, select)
            if not wants_members(select) and not wants_owners(select):
                return [dumps(body)]
            since, upto = since_upto
            mems = owners = None
            if wants_members(select):
                full = fields is None
                mems = current(d.members.get(ch.id, [])) if full else logged(d.member_log.get(ch.id, []), since, upto)
            if wants_owners(select):
                full = fields is None
                owners = current(d.owners.get(ch.id, [])) if full else logged(d.owner_log.get(ch.id, []), since, upto)
            return member_entries(ch.id, body, mems, owners)

        return fn

    @r.graph("GET", rf"/groups/{DELTA}", name="groups_delta", kind="directory", cost=2)
    def groups_delta(req: Request) -> Response:
        # Work out the round's change window the same way delta_page does, for members@delta.
        p = None
        for k in ("$deltatoken", "$skiptoken"):
            if k in req.query and req.query[k] != "latest":
                p = emu.codec.decode(req.query[k])
        since_upto = [0, emu.clock.now]
        if p is not None:
            if "$deltatoken" in req.query:
                since_upto = [int(p.get("u", 0)), emu.clock.now]
            elif p.get("s") is not None:
                since_upto = [int(p["s"]), int(p.get("u", 0))]
        return delta_page(
            req,
            emu,
            scope="groups",
            coll=d.groups,
            shape=GROUP_SHAPE,
            context=CTX + "groups",
            default=d.scale.directory_delta_page,
            maximum=999,
            full_entries=groups_full,
            change_entries=groups_changes(since_upto),
            select_extra=NAVIGATION,
        )

    def find_group(gid: str) -> dict[str, Any]:
        g = d.groups.items.get(gid)
        if g is None:
            raise GraphError(
                404,
                "Request_ResourceNotFound",
                f"Resource '{gid}' does not exist or one of its queried reference-property objects are not present.",
            )
        return g

    @r.graph("GET", rf"/groups/(?P<group>{SEG})", name="group", kind="directory", cost=1)
    def group(req: Request) -> Response:
        g = find_group(req.params["group"])
        sel = GROUP_SHAPE.parse_select(req.query.get("$select"), g)
        return Response(200, dumps({"@odata.context": CTX + "groups/$entity", **GROUP_SHAPE.project(g, sel)}))

    @r.graph("GET", rf"/groups/(?P<group>{SEG})/members", name="group_members", kind="directory", cost=3)
    def members(req: Request) -> Response:
        gid = req.params["group"]
        find_group(gid)
        objs = [d.member_object(m) for m in d.members.get(gid, [])]
        sel_raw = req.query.get("$select")
        sel = None
        if sel_raw:
            sel = tuple(sorted({p.strip() for p in sel_raw.split(",") if p.strip()}))
        rendered = [dumps(MEMBER_SHAPE.project(o, sel)) for o in objs]
        return list_page(
            req,
            emu,
            scope=f"members:{gid}",
            rendered=rendered,
            context=CTX + "directoryObjects",
            default=100,
            maximum=999,
            family="directory",
            countable=True,
        )

    @r.graph("GET", rf"/groups/(?P<group>{SEG})/owners", name="group_owners", kind="directory", cost=3)
    def owners(req: Request) -> Response:
        gid = req.params["group"]
        find_group(gid)
        sel_raw = req.query.get("$select")
        sel = tuple(sorted({p.strip() for p in sel_raw.split(",") if p.strip()})) if sel_raw else None
        rendered = [dumps(MEMBER_SHAPE.project(d.member_object(o), sel)) for o in d.owners.get(gid, [])]
        return list_page(
            req,
            emu,
            scope=f"owners:{gid}",
            rendered=rendered,
            context=CTX + "directoryObjects",
            default=100,
            maximum=999,
            family="directory",
            countable=True,
        )

    @r.graph("GET", r"/organization", name="organization", kind="directory", cost=1)
    def organization(req: Request) -> Response:
        sel = ORG_SHAPE.parse_select(req.query.get("$select"), sample(d.organization))
        return list_page(
            req,
            emu,
            scope="organization",
            rendered=d.organization.rendered(ORG_SHAPE, sel),
            context=CTX + "organization",
            default=100,
            maximum=999,
            family="directory",
        )

    @r.graph("GET", r"/subscribedSkus", name="subscribed_skus", kind="directory", cost=1)
    def skus(req: Request) -> Response:
        sel = SKU_SHAPE.parse_select(req.query.get("$select"), sample(d.skus))
        return list_page(
            req,
            emu,
            scope="skus",
            rendered=d.skus.rendered(SKU_SHAPE, sel),
            context=CTX + "subscribedSkus",
            default=100,
            maximum=999,
            family="directory",
        )

    emu.add_truth("users", lambda: list(d.users.items))
    emu.add_truth("groups", lambda: list(d.groups.items))
    emu.add_truth("group_members", d.group_member_ids)
    emu.add_truth("group_owners", d.group_owner_ids)
    emu.add_truth("organization", lambda: list(d.organization.items))
    emu.add_truth("subscribed_skus", lambda: list(d.skus.items))
    emu.add_mutator("users", lambda op, n, rng: mutate_users(emu, op, n, rng))
    emu.add_mutator("groups", lambda op, n, rng: mutate_groups(emu, op, n, rng))
    emu.add_mutator("group_members", lambda op, n, rng: mutate_members(emu, op, n, rng))
    emu.add_mutator("group_owners", lambda op, n, rng: mutate_owners(emu, op, n, rng))


def mutate_users(emu: Emulator, op: str, n: int, rng: random.Random) -> list[str]:
    """Create, update (jobTitle/department), soft-delete (delete) or permanently delete (purge) n users."""
    d = emu.directory
    out: list[str] = []
    for _ in range(n):
        if op == "create":
            out.append(d.add_user()["id"])
            continue
        live = [u for u in d.users.items.values() if u["_mailbox"] != "shared"]
        if not live:
            break
        u = live[rng.randrange(len(live))]
        if op == "update":
            nu = dict(
                u,
                jobTitle=f"{rng.choice(['Senior', 'Principal', 'Lead'])} {u['jobTitle'] or 'Guest'}",
                department=rng.choice(["Sales", "Research", "Support"]),
            )
            d.users.upsert(nu, fields=["jobTitle", "department"])
        elif op in ("delete", "purge"):
            d.remove_user(u["id"], "changed" if op == "delete" else "deleted")
        else:
            raise GraphError(400, "BadRequest", f"unknown op {op!r} for users (create|update|delete|purge)")
        out.append(u["id"])
    return out


def mutate_groups(emu: Emulator, op: str, n: int, rng: random.Random) -> list[str]:
    """Create, update (description), soft-delete (delete) or permanently delete (purge) n groups."""
    d = emu.directory
    out: list[str] = []
    for _ in range(n):
        if op == "create":
            from ..tenant import det_uuid

            gid = det_uuid("group", d.seed, "m", emu.clock.now, rng.random())
            g = d.make_group(gid, f"New Group {len(d.groups.items)}", rng.random() < 0.5, rng)
            d.members[gid] = []
            d.member_log[gid] = []
            d.owners[gid] = []
            d.owner_log[gid] = []
            d.groups.upsert(g)
            for u in rng.sample(list(d.users.items), k=min(3, len(d.users.items))):
                d.set_membership(gid, u, True)
            if d.members[gid]:  # whoever creates a group owns it
                d.set_ownership(gid, d.members[gid][0], True)
            out.append(gid)
            continue
        gids = list(d.groups.items)
        if not gids:
            break
        gid = gids[rng.randrange(len(gids))]
        if op == "update":
            g = dict(d.groups.items[gid], description=f"Updated {rng.randint(1, 10**6)}")
            d.groups.upsert(g, fields=["description"])
        elif op in ("delete", "purge"):
            d.remove_group(gid, "changed" if op == "delete" else "deleted")
        else:
            raise GraphError(400, "BadRequest", f"unknown op {op!r} for groups (create|update|delete|purge)")
        out.append(gid)
    return out


def mutate_members(emu: Emulator, op: str, n: int, rng: random.Random) -> list[str]:
    """Add (create) or remove (delete) n group memberships; ids as 'group_id/member_id'."""
    d = emu.directory
    return _mutate_links(
        op, n, rng, "group_members", list(d.groups.items), d.members, list(d.users.items), d.set_membership
    )


def mutate_owners(emu: Emulator, op: str, n: int, rng: random.Random) -> list[str]:
    """Add (create) or remove (delete) n group owners (member users); ids as 'group_id/owner_id'."""
    d = emu.directory
    members = [uid for uid, user in d.users.items.items() if user["userType"] == "Member"]
    return _mutate_links(op, n, rng, "group_owners", list(d.groups.items), d.owners, members, d.set_ownership)


def _mutate_links(
    op: str,
    n: int,
    rng: random.Random,
    table: str,
    groups: list[str],
    links: dict[str, list[str]],
    candidates: list[str],
    set_link: Callable[[str, str, bool], None],
) -> list[str]:
    """n links of a group relation added (create: one of ``candidates`` not linked yet) or removed (delete);
    ids ``group_id/object_id``."""
    if op not in ("create", "delete"):
        raise GraphError(400, "BadRequest", f"unknown op {op!r} for {table} (create|delete)")
    out: list[str] = []
    for _ in range(n):
        gid = rng.choice(groups)
        linked = links.get(gid, [])
        choices = [c for c in candidates if c not in linked] if op == "create" else linked
        if not choices:
            continue
        object_id = rng.choice(choices)
        set_link(gid, object_id, op == "create")
        out.append(f"{gid}/{object_id}")
    return out
