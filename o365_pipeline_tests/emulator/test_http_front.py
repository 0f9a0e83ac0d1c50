"""The HTTPS front's own request parsing: same headers as http.client, same keep-alive and error answers."""

from __future__ import annotations

import http.client
import io
import socket
import ssl

import pytest

from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.emulator.server import _read_headers

from .conftest import tls

BLOCKS = [
    b"Host: a\r\nAuthorization: Bearer x.y.z\r\nContent-Length: 10\r\n\r\nBODY",
    b"Host: a\r\nX-Fold: one\r\n  two\r\n\tthree\r\nAccept:   */*  \r\n\r\n",
    b"Dup: 1\r\nDup: 2\r\nEmpty:\r\nNoSpace:v\r\n\n",
    b"Host: a\r\n",
    b"\r\n",
    "Name: caf\u00e9\r\n\r\n".encode("latin-1"),
    b"".join(b"H%d: v\r\n" % i for i in range(99)) + b"\r\n",
]


@pytest.mark.parametrize("block", BLOCKS)
def test_headers_equal_http_client_parse_headers(block: bytes) -> None:
    assert _read_headers(io.BytesIO(block)).items() == http.client.parse_headers(io.BytesIO(block)).items()


@pytest.mark.parametrize(
    "block", [b"".join(b"H%d: v\r\n" % i for i in range(100)) + b"\r\n", b"X: " + b"a" * 70000 + b"\r\n\r\n"]
)
def test_header_limits_equal_http_client(block: bytes) -> None:
    with pytest.raises(http.client.HTTPException) as ours:
        _read_headers(io.BytesIO(block))
    with pytest.raises(http.client.HTTPException) as stdlib:
        http.client.parse_headers(io.BytesIO(block))
    assert type(ours.value) is type(stdlib.value)


def _exchange(server: EmulatorServer, raw: bytes) -> bytes:
    """Send raw bytes over TLS and read until the server closes the connection (or 5 s pass)."""
    host, port = server.base_url.removeprefix("https://").split(":")
    ctx: ssl.SSLContext = tls(server)
    with (
        socket.create_connection((host, int(port)), timeout=5) as sock,
        ctx.wrap_socket(sock, server_hostname=host) as s,
    ):
        s.sendall(raw)
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
        except (TimeoutError, ssl.SSLError, ConnectionError):
            pass
        return out


def test_keep_alive_close_and_errors(server: EmulatorServer) -> None:
    get = b"GET /common/discovery/instance HTTP/1.1\r\nHost: x\r\n\r\n"
    two = _exchange(server, get + get.replace(b"Host: x", b"Host: x\r\nConnection: close"))
    assert two.count(b"HTTP/1.1 200 OK") == 2 and b"Connection: close" in two  # kept alive, then closed
    old = _exchange(server, b"GET /common/discovery/instance HTTP/1.0\r\n\r\n" + get)
    assert old.count(b"HTTP/1.1 200 OK") == 1  # HTTP/1.0 closes after one answer
    # a request line without a usable version is answered HTTP/0.9 style (no status line), as the stdlib does
    assert b"Error code: 400" in _exchange(server, b"GET / HTTP/x.y\r\n\r\n")
    assert b"Error code: 505" in _exchange(server, b"GET / HTTP/2.0\r\n\r\n")
    assert _exchange(server, b"GET / HTTP/1.1\r\n" + b"H: v\r\n" * 101 + b"\r\n").startswith(b"HTTP/1.1 431")
    assert b"Error code: 400" in _exchange(server, b"POST /x\r\n\r\n")  # HTTP/0.9 form, GET only
