"""`o365-pipeline test-connection`: get a token, then probe each entity's Graph path once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from ..graph.tenant import selected_sites
from .errors import O365AuthError
from .tokens import GraphAuth

if TYPE_CHECKING:
    from .resource import O365Auth

MAILBOX_NOT_ENABLED = "MailboxNotEnabledForRESTAPI"


@dataclass(frozen=True)
class Probe:
    """One entity to probe: `path` is relative to /v1.0 and may contain `{user_id}`, `{team_id}`, `{channel_id}`."""

    entity: str
    path: str
    permission: str


def _error_code(response: httpx.Response) -> str:
    try:
        body: Any = response.json()
    except ValueError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    return str(error.get("code") or "") if isinstance(error, dict) else ""


class _Graph:
    """Graph GETs with the auth token; on a 401, one forced token refresh and one retry."""

    def __init__(self, auth: GraphAuth | O365Auth, client: httpx.Client) -> None:
        self._auth = auth
        self._client = client
        self._token = auth.get_token()

    def get(self, path: str) -> httpx.Response:
        response = self._client.get(path, headers={"Authorization": f"Bearer {self._token}"})
        if response.status_code == 401:
            self._token = self._auth.get_token(force_refresh=True)
            response = self._client.get(path, headers={"Authorization": f"Bearer {self._token}"})
        return response


def _values(response: httpx.Response) -> list[Any]:
    try:
        body: Any = response.json()
    except ValueError:
        return []
    values = body.get("value") if isinstance(body, dict) else None
    return values if isinstance(values, list) else []


class _FirstChannel:
    """The first team and its first channel, asked once when a probe names them."""

    def __init__(self, graph: _Graph) -> None:
        self._graph = graph
        self._ids: tuple[str, str] | None = None
        self._asked = False

    def ids(self) -> tuple[str, str] | None:
        if not self._asked:
            self._asked = True
            teams = _values(self._graph.get("teams?$top=1&$select=id"))
            if teams:
                team_id = str(teams[0]["id"])
                channels = _values(self._graph.get(f"teams/{team_id}/channels?$select=id"))
                if channels:
                    self._ids = (team_id, str(channels[0]["id"]))
        return self._ids


def _verdict(response: httpx.Response, probe: Probe) -> str:
    code = _error_code(response)
    if response.is_success or response.is_redirect:  # a usage report answers 302 to its download
        return "readable"
    if code == MAILBOX_NOT_ENABLED:
        return "mailbox not enabled"
    if response.status_code == 403:
        return f"missing permission {probe.permission}"
    return f"error HTTP {response.status_code} {code}".rstrip()


class _SiteToProbe:
    """The SharePoint site the site probes ask about: the first of ``O365_SITES`` (an app holding
    ``Sites.Selected``), else the first site ``sites/getAllSites`` lists; asked once."""

    missing = "missing permission Sites.Read.All (or Sites.Selected with the granted sites in O365_SITES)"

    def __init__(self, graph: _Graph) -> None:
        self._graph = graph
        self._asked = False
        self._site: str | None = None

    def site_id(self) -> str | None:
        if not self._asked:
            self._asked = True
            configured = selected_sites()
            if configured:
                self._site = configured[0]
            else:
                listed = self._graph.get("sites/getAllSites?$top=1&$select=id")
                found = _values(listed) if listed.is_success else []
                self._site = str(found[0]["id"]) if found else None
        return self._site


def run_connection_check(auth: GraphAuth | O365Auth, probes: Sequence[Probe], out: Callable[[str], Any] = print) -> int:
    """Print one line per entity (readable / missing permission X / mailbox not enabled).

    Returns 0 when a token was obtained and Graph answered, 1 otherwise (reason on the last line).
    """
    try:
        auth.validate()
        scheme = auth.settings().scheme
        with httpx.Client(
            base_url=f"{auth.endpoints().graph_root}/v1.0/", verify=auth.ssl_context(), timeout=30.0
        ) as client:
            graph = _Graph(auth, client)
            out(f"token: obtained ({scheme})")
            first = graph.get("users?$top=1&$select=id")
            if first.status_code == 401:
                out(f"failed: Graph rejected the token (HTTP 401 {_error_code(first)})".rstrip())
                return 1
            users = _values(first) if first.is_success else []
            user_id = str(users[0]["id"]) if users else None
            readable = 0
            sites = _SiteToProbe(graph)
            channel = _FirstChannel(graph)
            for probe in probes:
                if "{user_id}" in probe.path and user_id is None:
                    out(f"{probe.entity}: not checked (no user readable: needs User.Read.All)")
                    continue
                if "{site_id}" in probe.path and sites.site_id() is None:
                    out(f"{probe.entity}: {sites.missing}")
                    continue
                path = probe.path.replace("{user_id}", user_id or "").replace("{site_id}", sites.site_id() or "")
                if "{team_id}" in path:
                    ids = channel.ids()
                    if ids is None:
                        out(f"{probe.entity}: not checked (no team with a channel readable)")
                        continue
                    path = path.replace("{team_id}", ids[0]).replace("{channel_id}", ids[1])
                verdict = _verdict(graph.get(path.lstrip("/")), probe)
                readable += verdict == "readable"
                out(f"{probe.entity}: {verdict}")
    except O365AuthError as exc:
        out(f"failed: no token: {exc}")
        return 1
    except httpx.HTTPError as exc:
        root = auth.endpoints().graph_root
        out(f"failed: Graph at {root} did not answer ({type(exc).__name__}); check O365_GRAPH_URL")
        return 1
    out(f"ok: token obtained and Graph answered; {readable} of {len(probes)} entities readable")
    return 0
