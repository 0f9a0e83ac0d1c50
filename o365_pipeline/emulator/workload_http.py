"""HTTP-side helpers of the files, Planner, Teams, Bookings and audit route modules.

Thin wrappers over the core's paging and rendering so every workload pages, selects and links
the same way the core's routes do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote

from .odata import Shape, dumps
from .paging import list_page, page_body
from .router import GraphError, Request, Response

if TYPE_CHECKING:
    from .core import Emulator

CTX = "https://graph.microsoft.com/v1.0/$metadata#"
_SAFE = "$,()'=:@!*"


def same_query_link(emu: Emulator, req: Request, drop: tuple[str, ...], add: list[tuple[str, str]]) -> str:
    """A link to the request's path repeating its query minus ``drop`` plus ``add``."""
    pairs = [(k, v) for k, v in parse_qsl(req.raw_query, keep_blank_values=True) if k not in drop] + add
    qs = "&".join(f"{quote(k, safe=_SAFE)}={quote(v, safe=_SAFE)}" for k, v in pairs)
    return f"{emu.base_url}{req.path}" + (f"?{qs}" if qs else "")


def render_list(
    req: Request,
    emu: Emulator,
    *,
    scope: str,
    items: Sequence[dict[str, Any]],
    shape: Shape,
    context: str,
    default: int,
    maximum: int,
) -> Response:
    """One page of ``items`` honouring `$select`, `$top` and `$skiptoken` (opaque nextLinks)."""
    select = shape.parse_select(req.query.get("$select"), items[0] if items else None)
    rendered = [dumps(shape.project(it, select)) for it in items]
    return list_page(
        req,
        emu,
        scope=scope,
        rendered=rendered,
        context=context,
        default=default,
        maximum=maximum,
        family=shape.family,
    )


def render_all(req: Request, items: Sequence[dict[str, Any]], shape: Shape, context: str) -> Response:
    """A whole collection in one page (no nextLink), honouring `$select`."""
    select = shape.parse_select(req.query.get("$select"), items[0] if items else None)
    return Response(200, page_body(context, [dumps(shape.project(it, select)) for it in items], []))


def render_entity(req: Request, item: dict[str, Any], shape: Shape, context: str) -> Response:
    """One entity with its ``@odata.context``, honouring `$select`."""
    select = shape.parse_select(req.query.get("$select"), item)
    return Response(200, dumps({"@odata.context": context, **shape.project(item, select)}))


def not_found(code: str, message: str) -> GraphError:
    """A 404 in Graph's error shape."""
    return GraphError(404, code, message)


def directory_not_found(key: str) -> GraphError:
    """The directory's 404 for an unknown user or group id."""
    return GraphError(
        404,
        "Request_ResourceNotFound",
        f"Resource '{key}' does not exist or one of its queried reference-property objects are not present.",
    )
