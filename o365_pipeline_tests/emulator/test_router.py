"""Router: the first registered route whose pattern matches wins; 405 for a known path with another method."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from o365_pipeline.emulator.router import SEG, GraphError, Handler, Request, Response, Router, parse_query


def _handler(name: str) -> Handler:
    def handle(req: Request) -> Response:
        return Response(200, name.encode())

    return handle


def test_first_matching_route_wins_and_params_are_decoded() -> None:
    r = Router()
    r.add("GET", rf"/users/(?P<user>{SEG})/messages", _handler("messages"), name="messages", kind="graph")
    r.add("GET", rf"/users/(?P<user>{SEG})/(?P<what>{SEG})", _handler("any"), name="any", kind="graph")
    r.add("POST", rf"/users/(?P<user>{SEG})/sendMail", _handler("send"), name="send", kind="graph")
    route, params = r.match("GET", "/v1.0/users/a%40b.com/messages")
    assert route.name == "messages" and params == {"user": "a@b.com"}
    route, params = r.match("GET", "/v1.0/users/u1/sendMail")
    assert route.name == "any" and params == {"user": "u1", "what": "sendMail"}
    assert r.match("POST", "/v1.0/users/u1/sendMail")[0].name == "send"
    with pytest.raises(GraphError) as err:
        r.match("POST", "/v1.0/users/u1/messages")
    assert err.value.status == 405
    with pytest.raises(GraphError) as err:
        r.match("GET", "/v1.0/nothing/here/at/all")
    assert err.value.status == 400 and "'nothing'" in err.value.message
    r.add("GET", r"/v1\.0/nothing/here/at/all", _handler("late"), name="late", kind="identity")
    assert r.match("GET", "/v1.0/nothing/here/at/all")[0].name == "late"  # routes added later are matched too
    with pytest.raises(GraphError) as err:
        r.match("GET", "/elsewhere")
    assert err.value.status == 404


@pytest.mark.parametrize(
    "raw",
    ["", "a", "a=", "=b", "a=1&a=2", "&&a=1&", "a=b=c", "x&y=1", "a=%20b&c=d+e", "a=1;b=2", "$select=id,name&$top=5"],
)
def test_parse_query_is_parse_qsl_keeping_blanks(raw: str) -> None:
    assert parse_query(raw) == dict(parse_qsl(raw, keep_blank_values=True))
