"""The HTTPS front: a threading HTTP/1.1 (keep-alive) server around the emulator core."""

from __future__ import annotations

import email.utils
import functools
import http.client
import shutil
import socket
import ssl
import struct
import tempfile
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from .core import Emulator
from .identity import exports_for_scheme
from .latency import LatencyModel
from .router import Request, parse_query
from .tls import TlsFiles, generate_tls, server_context


@functools.lru_cache(maxsize=4)
def _http_date_of(second: int) -> str:
    return email.utils.formatdate(second, usegmt=True)


def _http_date() -> str:
    """The Date header value (formatted once per second)."""
    return _http_date_of(int(time.time()))


MAX_HEADER_LINE = 65536  # http.client's limits for a header line and the number of header lines
MAX_HEADERS = 100


def _read_headers(rfile: Any) -> http.client.HTTPMessage:
    """A request's header block as http.client.parse_headers returns it (same limits and values: leading blanks
    dropped, folded lines appended), split by a plain loop instead of the email parser."""
    headers = http.client.HTTPMessage()
    name, value = "", ""
    for _ in range(MAX_HEADERS):
        line = rfile.readline(MAX_HEADER_LINE + 1)
        if len(line) > MAX_HEADER_LINE:
            raise http.client.LineTooLong("header line")
        if line in (b"\r\n", b"\n", b""):
            if name:
                headers[name] = value.rstrip("\r\n")
            return headers
        text = line.decode("iso-8859-1")
        if text[0] in " \t" and name:
            value += text
            continue
        if name:
            headers[name] = value.rstrip("\r\n")
        name, _, value = text.partition(":")
        value = value.lstrip(" \t")
    raise http.client.HTTPException(f"got more than {MAX_HEADERS} headers")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "o365-emulator"
    sys_version = ""
    timeout = 120
    server: _HttpsServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return

    def parse_request(self) -> bool:
        """BaseHTTPRequestHandler.parse_request with the header block split by a plain loop instead of the
        email parser (~30 us a request); same checks and answers (400, 505, 431, Connection, Expect)."""
        self.command = None  # type: ignore[assignment]
        self.request_version = self.default_request_version
        self.close_connection = True
        self.requestline = requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        words = requestline.split()
        if not words:
            return False
        if len(words) >= 3:
            version = words[-1]
            try:
                parts = version[5:].split(".") if version.startswith("HTTP/") else []
                if len(parts) != 2 or not all(n.isdigit() and len(n) <= 10 for n in parts):
                    raise ValueError(version)
                number = (int(parts[0]), int(parts[1]))
            except ValueError:
                self.send_error(HTTPStatus.BAD_REQUEST, f"Bad request version ({version!r})")
                return False
            self.close_connection = number < (1, 1)
            if number >= (2, 0):
                self.send_error(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, f"Invalid HTTP version ({version[5:]})")
                return False
            self.request_version = version
        if not 2 <= len(words) <= 3:
            self.send_error(HTTPStatus.BAD_REQUEST, f"Bad request syntax ({requestline!r})")
            return False
        self.command, self.path = words[0], words[1]
        if len(words) == 2:
            self.close_connection = True
            if self.command != "GET":
                self.send_error(HTTPStatus.BAD_REQUEST, f"Bad HTTP/0.9 request type ({self.command!r})")
                return False
        if self.path.startswith("//"):
            self.path = "/" + self.path.lstrip("/")
        try:
            self.headers = _read_headers(self.rfile)
        except http.client.LineTooLong as err:
            self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Line too long", str(err))
            return False
        except http.client.HTTPException as err:
            self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Too many headers", str(err))
            return False
        conntype = self.headers.get("Connection", "").lower()
        if conntype == "close":
            self.close_connection = True
        elif conntype == "keep-alive":
            self.close_connection = False
        expect = self.headers.get("Expect", "")
        if expect.lower() == "100-continue" and self.request_version >= "HTTP/1.1":
            return self.handle_expect_100()
        return True

    def _dispatch(self) -> None:
        path, _, raw_q = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        req = Request(self.command, path, parse_query(raw_q), headers, body, raw_query=raw_q)
        resp = self.server.emu.handle(req)
        try:
            reason = HTTPStatus(resp.status).phrase
        except ValueError:
            reason = "Unknown"
        lines = [
            f"HTTP/1.1 {resp.status} {reason}",
            f"Content-Type: {resp.content_type}",
            f"Content-Length: {len(resp.body)}",
            f"Date: {_http_date()}",
        ]
        lines += [f"{k}: {v}" for k, v in resp.headers]
        if self.close_connection or resp.fault:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if resp.fault == "reset":
            self.close_connection = True
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return
        if resp.fault == "truncate":
            self.close_connection = True
            self.wfile.write(head + resp.body[: len(resp.body) // 2])
            return
        if len(resp.body) < 65536:
            self.wfile.write(head + resp.body)
        else:
            self.wfile.write(head)
            self.wfile.write(resp.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (ConnectionError, ssl.SSLError, TimeoutError, OSError):
            self.close_connection = True


class _HttpsServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    # listen() backlog (socketserver's default is 5): a client opening many connections at once (under latency,
    # one per request in flight) otherwise sees SYNs dropped and retried after 1 s. 200 fresh connections with
    # 200 ms latency: 2.0-2.9 s and ~75 requests over 1 s with 5; 0.85 s and none over 0.4 s with 1024.
    request_queue_size = 1024

    def __init__(self, addr: tuple[str, int], ctx: ssl.SSLContext, emu: Emulator) -> None:
        self.ctx = ctx
        self.emu = emu
        super().__init__(addr, _Handler)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        # TLS handshake in the connection's own thread, so a slow client cannot block accept().
        try:
            request.settimeout(30)
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            tls = self.ctx.wrap_socket(request, server_side=True)
            tls.settimeout(_Handler.timeout)
        except (OSError, ssl.SSLError):
            self.shutdown_request(request)
            return
        super().process_request_thread(tls, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        return


class EmulatorServer:
    """The Graph + identity emulator on a real HTTPS port, served from a background thread."""

    def __init__(
        self,
        *,
        seed: int = 3,
        scale: str = "small",
        users: int | None = None,
        throttle: bool = False,
        faults: dict[str, float] | None = None,
        scheme: str = "AzureServicePrincipal",
        state_dir: str | Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: LatencyModel | None = None,
    ) -> None:
        self.emu = Emulator(
            seed=seed, scale=scale, users=users, throttle=throttle, faults=faults, scheme=scheme, latency=latency
        )
        self.scheme = scheme
        self.host = host
        self.port = port
        self._own_state = state_dir is None
        self.state_dir = Path(state_dir) if state_dir is not None else Path(tempfile.mkdtemp(prefix="o365-emu-"))
        self._httpd: _HttpsServer | None = None
        self._thread: threading.Thread | None = None
        self._tls: TlsFiles | None = None
        # Set True before start() to pre-render message pages (default form) in a background thread.
        # Off by default: pages render fast from fragments and a warm thread would compete for the GIL.
        self.warm = False
        self._warm_stop = threading.Event()

    @property
    def identity(self) -> Any:
        """The IdentityProvider (app registrations, token lifetime)."""
        return self.emu.identity

    @property
    def base_url(self) -> str:
        """https://HOST:PORT (no trailing slash); valid after start()."""
        return self.emu.base_url

    @property
    def ca_path(self) -> Path:
        """PEM file of the generated CA; valid after start()."""
        if self._tls is None:
            raise RuntimeError("EmulatorServer.start() has not run")
        return self._tls.ca_cert

    def start(self) -> EmulatorServer:
        """Generate TLS files, bind the port and serve in a daemon thread."""
        self._tls = generate_tls(self.state_dir, self.host)
        self._httpd = _HttpsServer((self.host, self.port), server_context(self._tls), self.emu)
        port = self._httpd.server_address[1]
        shown = self.host if self.host not in ("0.0.0.0", "", "::") else "127.0.0.1"
        self.emu.base_url = f"https://{shown}:{port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2}, name="o365-emulator", daemon=True
        )
        self._thread.start()
        if self.warm and self.emu.mailboxes is not None:
            threading.Thread(
                target=self.emu.mailboxes.warm, args=(self._warm_stop,), name="o365-emulator-warm", daemon=True
            ).start()
        return self

    def stop(self) -> None:
        """Stop serving and remove a temporary state dir."""
        self._warm_stop.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._own_state:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def env(self) -> dict[str, str]:
        """The O365_* settings that reach this emulator (same as the CLI's export lines)."""
        return exports_for_scheme(
            self.scheme,
            identity=self.emu.identity,
            base_url=self.base_url,
            ca_path=self.ca_path,
            state_dir=self.state_dir,
        )

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
