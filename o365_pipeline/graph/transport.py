"""Keep-alive HTTPS on the standard library's ``http.client``: the Graph client's transport for its requests.

Per page it spends about a third of httpx's CPU (no pure-Python HTTP/1.1 state machine), which matters when
pages arrive faster than one core parses them. Connections are reused across threads from an idle pool; a
kept-alive connection the server closed meanwhile is replaced once, transparently. Trust is explicit (the
:class:`ssl.SSLContext` given); environment proxies are not used (:func:`proxied` tells when they are set).
"""

from __future__ import annotations

import http.client
import ssl
import threading
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.parse import quote, urlsplit

import orjson


class TransportError(Exception):
    """The request did not get a complete answer (connection refused, reset, timed out, body cut short)."""


@dataclass(frozen=True)
class Response:
    """A complete answer: what the client reads of it (named as httpx names them)."""

    status_code: int
    reason_phrase: str
    headers: Message
    content: bytes


def proxied() -> bool:
    """Whether the environment asks for an HTTPS proxy (this transport does not speak to proxies)."""
    return bool(urllib.request.getproxies().get("https"))


def query_string(params: Mapping[str, str]) -> str:
    """``name=value&...`` with OData's ``$``, ``,`` and ``()`` left readable, everything else percent-encoded."""
    return "&".join(f"{quote(name, safe='$')}={quote(value, safe=',:$()')}" for name, value in params.items())


class ConnectionPool:
    """Idle keep-alive connections per host, shared by every thread; at most ``max_idle`` kept per host."""

    def __init__(
        self,
        context: ssl.SSLContext | bool,
        *,
        timeout: float,
        headers: Mapping[str, str],
        max_idle: int = 8,
    ) -> None:
        if context is False:  # tests of the emulator itself only
            context = ssl._create_unverified_context()  # noqa: S323
        elif context is True:
            context = ssl.create_default_context()
        self._context: ssl.SSLContext = context
        self._timeout = timeout
        self._headers = dict(headers)
        self._max_idle = max_idle
        self._idle: dict[tuple[str, str, int | None], list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()

    def _connect(self, key: tuple[str, str, int | None]) -> http.client.HTTPConnection:
        scheme, host, port = key
        if scheme == "https":
            return http.client.HTTPSConnection(host, port, timeout=self._timeout, context=self._context)
        return http.client.HTTPConnection(host, port, timeout=self._timeout)

    def _take(self, key: tuple[str, str, int | None]) -> http.client.HTTPConnection | None:
        with self._lock:
            idle = self._idle.get(key)
            return idle.pop() if idle else None

    def _give(self, key: tuple[str, str, int | None], connection: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < self._max_idle:
                idle.append(connection)
                return
        connection.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
    ) -> Response:
        """Send one request and read its whole answer; raises :class:`TransportError` when there is none."""
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname or "", parts.port)
        target = parts.path or "/"
        query = "&".join(q for q in (parts.query, query_string(params) if params else "") if q)
        if query:
            target += "?" + query
        body = orjson.dumps(json) if json is not None else None
        sent = {**self._headers, **(headers or {})}
        if body is not None:
            sent["Content-Type"] = "application/json"
        while True:
            connection = self._take(key)
            reused = connection is not None
            connection = connection or self._connect(key)
            try:
                connection.request(method, target, body=body, headers=sent)
                answer = connection.getresponse()
                content = answer.read()
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                if reused and isinstance(exc, (http.client.RemoteDisconnected, ConnectionError)):
                    continue  # the server closed an idle kept-alive connection: once more on a fresh one
                raise TransportError(type(exc).__name__) from exc
            if answer.will_close:
                connection.close()
            else:
                self._give(key, connection)
            return Response(answer.status, answer.reason, answer.headers, content)

    def close(self) -> None:
        """Close every idle connection."""
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()
