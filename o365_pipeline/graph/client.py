"""A small, thread-safe Microsoft Graph v1.0 client: paging, delta rounds, retries, throttling, counters.

The client never logs or raises a token, a query string or a secret: errors carry Graph's code and the
request path only.
"""

from __future__ import annotations

import copy
import functools
import ssl
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
import orjson

from .errors import GraphError
from .pacing import GLOBAL, Pacer, PacingSettings, mailbox_of
from .retries import MIN_PAUSE, RETRY_STATUSES, RetryPolicy, Verdict, retry_after_seconds
from .transport import ConnectionPool, Response, TransportError, proxied

T = TypeVar("T")
TokenProvider = Callable[[bool], str]
"""Returns a bearer token; called with ``True`` to force a refresh after a 401."""

BATCH_SIZE = 20  # Graph's $batch limit
__all__ = ["MIN_PAUSE", "RETRY_STATUSES", "GraphClient", "RequestStats", "retry_after_seconds"]


def make_ssl_context(verify: str | bool) -> ssl.SSLContext | bool:
    """Trust the system store plus an extra CA bundle, ignoring ``REQUESTS_CA_BUNDLE``-style overrides.

    Args:
        verify: a PEM file with extra CAs to trust, ``True`` for the system store only, ``False`` never
            (only ever used by tests of the emulator itself).
    """
    if verify is False:
        return False
    context = ssl.create_default_context()
    if isinstance(verify, str) and verify:
        context.load_verify_locations(cafile=verify)
    return context


@dataclass
class RequestStats:
    """Counters of one client, safe to update from several threads."""

    requests: int = 0
    throttled: int = 0
    retries: int = 0
    bytes: int = 0
    pages: int = 0  # collection pages read (``value`` lists), ``$batch`` sub-responses included
    parent: RequestStats | None = field(default=None, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, *, requests: int = 0, throttled: int = 0, retries: int = 0, nbytes: int = 0, pages: int = 0) -> None:
        """Add to the counters (and to the parent's, for a per-entity view of a shared client)."""
        with self._lock:
            self.requests += requests
            self.throttled += throttled
            self.retries += retries
            self.bytes += nbytes
            self.pages += pages
        if self.parent is not None:
            self.parent.add(requests=requests, throttled=throttled, retries=retries, nbytes=nbytes, pages=pages)

    def snapshot(self) -> dict[str, int]:
        """The counters as a plain dict."""
        with self._lock:
            return {
                "requests": self.requests,
                "throttled": self.throttled,
                "retries": self.retries,
                "bytes": self.bytes,
                "pages": self.pages,
            }


@dataclass(frozen=True)
class DeltaPage:
    """One page of a delta round; ``delta_link`` is set on the last page only."""

    items: list[dict[str, Any]]
    delta_link: str | None


@dataclass(frozen=True)
class SentRequest:
    """One request as the client sent it (before the token): what :meth:`GraphClient.send_as_is` sends again."""

    method: str
    url: str
    params: dict[str, str]
    headers: dict[str, str]
    json: Any


class GraphClient:
    """Talks to ``{graph_root}/v1.0`` with a bearer token from ``token_provider``.

    Concurrency is bounded twice, as Graph asks: at most ``max_in_flight`` requests overall and at most
    ``pacing.mailbox_concurrency`` (Outlook's documented 4) for any one mailbox; ``pacing.max_in_flight``
    (``O365_MAX_IN_FLIGHT``, default 128) overall, on a bounded pool of connections. The request rate is paced
    to ``pacing``'s limits (:mod:`.pacing`). A throttled request waits for ``Retry-After`` and is sent again for
    as long as the throttling lasts (up to ``pacing.give_up_seconds`` without a break).
    """

    def __init__(
        self,
        graph_root: str,
        token_provider: TokenProvider,
        verify: str | bool = True,
        *,
        max_in_flight: int | None = None,
        pacing: PacingSettings | None = None,
        max_attempts: int = 8,
        timeout: float = 100.0,
        backoff_base: float = 0.5,
        backoff_cap: float = 60.0,
    ) -> None:
        self.base_url = graph_root.rstrip("/") + "/v1.0"
        self.stats = RequestStats()
        self.mailbox_requests: Counter[str] = Counter()  # per mailbox, shared by every view (throttling budgets)
        self._token_provider = token_provider
        self._token: list[str] = []  # shared by every view of this client
        self._token_lock = threading.Lock()
        self.pacing = pacing or PacingSettings()
        max_in_flight = max_in_flight or self.pacing.max_in_flight
        self.cancelled = threading.Event()  # shared by every view: set by cancel()
        self.pacer = Pacer(self.pacing, self.cancelled)  # shared by every view
        self.retries = RetryPolicy(max_attempts, backoff_base, backoff_cap, self.pacing.give_up_seconds)
        self._global = threading.BoundedSemaphore(max_in_flight)
        self.max_in_flight = max_in_flight
        self.request_log: list[SentRequest] | None = None  # set to a list to record every request (benchmarks)
        # preferences this view adds to the Prefer header of every request it sends, each one inside $batch too
        # (Outlook's IdType="ImmutableId" applies to the request carrying it only)
        self.prefer: tuple[str, ...] = ()
        # [pages, items] of the longest chain of nextLinks read (one after the other by nature), for every view
        self.longest_chain: list[int] = [0, 0]
        self._per_mailbox = self.pacing.mailbox_concurrency
        self._mailboxes: dict[str, threading.BoundedSemaphore] = defaultdict(
            lambda: threading.BoundedSemaphore(self._per_mailbox)
        )
        self._mailboxes_lock = threading.Lock()
        headers = {"Accept": "application/json", "User-Agent": "o365-pipeline"}
        self._http: httpx.Client | ConnectionPool = (
            httpx.Client(  # only httpx speaks to the proxy the environment names
                verify=make_ssl_context(verify),
                timeout=timeout,
                limits=httpx.Limits(max_connections=max_in_flight, max_keepalive_connections=max_in_flight),
                headers=headers,
            )
            if proxied()
            else ConnectionPool(make_ssl_context(verify), timeout=timeout, headers=headers, max_idle=max_in_flight)
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> GraphClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def cancel(self) -> None:
        """Stop the sync's requests: from now on no request is sent (every view raises :class:`Cancelled`),
        and waits for ``Retry-After``, backoff or pacing end at once. Used when one entity failed the run."""
        self.cancelled.set()

    def view(self) -> GraphClient:
        """The same client (connections, token, concurrency limits) counting its requests separately."""
        clone = copy.copy(self)
        clone.stats = RequestStats(parent=self.stats)
        return clone

    def url(self, path: str) -> str:
        """Absolute URL of a path relative to ``/v1.0``; an absolute URL (a nextLink or deltaLink) only when it
        is on the Graph root (same scheme, host and port), so the token never goes anywhere else.

        Raises:
            GraphError: ``ForeignLink`` for an absolute URL elsewhere (nothing is sent).
        """
        if "://" not in path:
            return f"{self.base_url}/{path.lstrip('/')}"
        if origin(path) != origin(self.base_url):
            raise GraphError(
                0,
                "ForeignLink",
                f"Graph sent a link to {shown_origin(path)}, which is not the Graph root {shown_origin(self.base_url)} "
                "(O365_GRAPH_URL): not followed, the token goes to the Graph root only",
                urlsplit(path).path,
            )
        return path

    def rebased(self, link: str) -> str:
        """A stored deltaLink on the current Graph root: one kept from an earlier root (``O365_GRAPH_URL``
        changed) is asked of this one (which answers it or sends the stream into a resync), never followed."""
        parts = urlsplit(link)
        if "://" not in link or origin(link) == origin(self.base_url) or not parts.path.startswith("/v1.0/"):
            return link
        return self.base_url + parts.path[len("/v1.0") :] + (f"?{parts.query}" if parts.query else "")

    def _bearer(self, force_refresh: bool = False) -> str:
        with self._token_lock:
            if force_refresh or not self._token:
                self._token[:] = [self._token_provider(force_refresh)]
            return self._token[0]

    @contextmanager
    def _slot(self, cost: int, mailboxes: Mapping[str, int]) -> Iterator[None]:
        """Hold a concurrency slot of each mailbox (in a fixed order: no deadlock), wait until the request
        fits the paced limits, then take a slot of the client."""
        with ExitStack() as held:
            for mailbox in sorted(mailboxes):
                with self._mailboxes_lock:
                    semaphore = self._mailboxes[mailbox]
                held.enter_context(semaphore)
            entries = self.pacer.acquire(cost, mailboxes)
            try:
                with self._global:
                    yield
            finally:
                self.pacer.answered(entries)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        mailbox: str | None = None,
        inner: Mapping[str, int] | None = None,
        inner_count: int = 0,
    ) -> dict[str, Any]:
        """Send one request and return its JSON body, retrying throttling and transient failures.

        Retries 429/5xx after ``Retry-After`` (or jittered exponential backoff), transport errors and
        truncated bodies (:mod:`.retries`); refreshes the token once on 401. Raises :class:`GraphError` otherwise.
        ``inner`` and ``inner_count`` describe the requests inside a ``$batch`` (per mailbox, in all) for pacing.
        """
        url = self.url(path)
        where = urlsplit(url).path
        if inner is None:  # a $batch envelope carries none: its inner requests carry their own
            headers = with_prefer(headers, self.prefer)
        if self.request_log is not None:
            self.request_log.append(SentRequest(method, url, dict(params or {}), dict(headers or {}), json))
        mailboxes: Mapping[str, int] = inner if inner is not None else ({mailbox: 1} if mailbox else {})
        # a 429 holds back this mailbox; a $batch or a request outside a mailbox holds back everything
        throttled_scope = mailbox if inner is None and mailbox else GLOBAL
        refreshed = False

        def send() -> dict[str, Any] | Verdict:
            nonlocal refreshed
            request_headers = {"Authorization": f"Bearer {self._bearer()}", **(headers or {})}
            try:
                with self._slot(1 + inner_count, mailboxes):
                    response = self._http.request(method, url, params=params, headers=request_headers, json=json)
                    content = response.content
            except (httpx.TransportError, TransportError) as exc:
                self.stats.add(requests=1)
                return Verdict(GraphError(0, type(exc).__name__, "connection failed", where), waits=[None])
            status = response.status_code
            self.stats.add(requests=1, nbytes=len(content))
            if mailboxes and status != 429:
                with self._mailboxes_lock:
                    self.mailbox_requests.update(mailboxes)
            if status < 300:
                return self._body(response, content, where)
            error = _error_from(response, content, where)
            if status == 401 and not refreshed:
                refreshed = True
                self._bearer(force_refresh=True)
                return Verdict(error)  # again at once, with the new token
            if status not in RETRY_STATUSES:
                raise error
            retry_after = retry_after_seconds(response.headers.get("Retry-After"))
            if status == 429:
                return Verdict(error, holds=[(throttled_scope, retry_after)])
            return Verdict(error, waits=[retry_after])

        return self._retrying(send)

    def _retrying(self, send: Callable[[], T | Verdict]) -> T:
        """Send rounds until one finishes, by the client's one retry policy (:meth:`.retries.RetryPolicy.run`)."""
        return self.retries.run(send, pacer=self.pacer, cancelled=self.cancelled, stats=self.stats)

    def _body(self, response: httpx.Response | Response, content: bytes, where: str) -> dict[str, Any] | Verdict:
        """A successful answer's JSON body; a truncated one is a failed try; an HTML page raises."""
        if _is_html(response, content):  # a proxy or sign-in page: retrying will not make it Graph
            raise html_error(response.status_code, where)
        try:
            body = orjson.loads(content) if content else {}
        except orjson.JSONDecodeError:
            error = GraphError(response.status_code, "TruncatedBody", "response body was not complete JSON", where)
            return Verdict(error, waits=[None])
        if isinstance(body, dict) and isinstance(body.get("value"), list):
            self.stats.add(pages=1)
        return body

    def send_as_is(self, sent: SentRequest) -> tuple[int, int]:
        """Send a recorded request once: no pacing, retry or parsing (the benchmark's fetch limit). Returns the
        answer's status and body size."""
        headers = {"Authorization": f"Bearer {self._bearer()}", **sent.headers}
        response = self._http.request(sent.method, sent.url, params=sent.params, headers=headers, json=sent.json)
        return response.status_code, len(response.content)

    def get(self, path: str, **kwargs: Any) -> dict[str, Any]:
        """GET one page or object."""
        return self.request("GET", path, **kwargs)

    # ---- usage reports: a redirect to a download elsewhere --------------------------------------------------
    def download(self, path: str) -> bytes:
        """The file a Graph function redirects to (a usage report's CSV): Graph answers ``path`` with
        ``302 Found`` and a short-lived pre-authenticated URL on another host, fetched WITHOUT the token (it
        goes to the Graph root only, :meth:`url`).

        Raises:
            GraphError: Graph did not redirect, the link is not https, or the download failed.
        """
        try:
            self.request("GET", path)
        except GraphError as exc:
            if exc.status not in (301, 302, 303, 307, 308) or not exc.location:
                raise
            return self._preauthenticated(exc.location, exc.path)
        raise GraphError(200, "NotARedirect", "Graph answered with content, not a redirect to a download", path)

    def _preauthenticated(self, url: str, where: str) -> bytes:
        """GET a pre-authenticated download URL: no Authorization header; transient failures retried (the
        client's one retry policy). Errors name the download host's code, never its URL (the URL is the
        credential)."""
        if urlsplit(url).scheme.lower() != "https":
            raise GraphError(0, "InsecureDownload", f"the download link ({shown_origin(url)}) is not https", where)

        def send() -> bytes | Verdict:
            try:
                with self._global:
                    response = self._http.request("GET", url, headers={"Accept": "*/*"})
                    content = response.content
            except (httpx.TransportError, TransportError) as exc:
                self.stats.add(requests=1)
                return Verdict(GraphError(0, type(exc).__name__, "the download's connection failed", where), [None])
            self.stats.add(requests=1, nbytes=len(content))
            if response.status_code < 300:
                return content
            error = _error_from(response, content, where)
            error.location = None
            if response.status_code not in RETRY_STATUSES:
                # not Graph's answer: a 403 here is an expired or refused link, not a missing Graph permission
                raise GraphError(
                    0,
                    "DownloadRefused",
                    f"the download Graph redirected to answered {response.status_code} ({error.code}); "
                    "the next run asks Graph for a new link",
                    where,
                )
            return Verdict(error, waits=[retry_after_seconds(response.headers.get("Retry-After"))])

        return self._retrying(send)

    def relative(self, url: str) -> str | None:
        """``url`` relative to ``/v1.0`` (as ``$batch`` wants it), or None when it points elsewhere."""
        if url.startswith(self.base_url + "/"):
            return url[len(self.base_url) :]
        return None if "://" in url else "/" + url.lstrip("/")

    def batch(
        self, requests: list[tuple[str, Mapping[str, str] | None]], *, mailbox: str | None = None
    ) -> list[dict[str, Any] | GraphError]:
        """GET many relative URLs (with their headers) through ``$batch``, 20 per request.

        Returns, in the order asked, each answer's JSON body or the :class:`GraphError` it ended with.
        Throttled or failed-transiently answers are retried alone, after their own ``Retry-After``, by the same
        policy as a single request (:mod:`.retries`); a throttled answer holds back its own mailbox only. Each
        inner request is paced in its mailbox (read from its URL, else ``mailbox``).
        """
        requests = [(url, with_prefer(h, self.prefer)) for url, h in requests]  # each inner request its own
        results: list[dict[str, Any] | GraphError] = [GraphError(0, "NotSent", "", "$batch")] * len(requests)
        owners = [mailbox_of(url) or mailbox for url, _ in requests]
        for start in range(0, len(requests), BATCH_SIZE):
            pending = {i: requests[i] for i in range(start, min(start + BATCH_SIZE, len(requests)))}
            self._retrying(functools.partial(self._batch_round, pending, owners, results))
        return results

    def _batch_round(
        self,
        pending: dict[int, tuple[str, Mapping[str, str] | None]],
        owners: list[str | None],
        results: list[dict[str, Any] | GraphError],
    ) -> None | Verdict:
        """Send the pending requests as one ``$batch``; keep each final answer in ``results`` and drop it from
        ``pending``. ``None`` when none is left, else the verdict on those to send again."""
        body = {
            "requests": [
                {"id": str(i), "method": "GET", "url": "/" + url.lstrip("/"), **({"headers": dict(h)} if h else {})}
                for i, (url, h) in pending.items()
            ]
        }
        inner = Counter(owner for i in pending if (owner := owners[i]))
        answer = self.request("POST", "$batch", json=body, inner=inner, inner_count=len(pending))
        unanswered = set(pending)
        waits: list[float | None] = []
        holds: list[tuple[str, float | None]] = []
        for response in answer.get("responses", []):
            i, status = int(response["id"]), int(response.get("status", 0))
            if i not in unanswered:
                continue
            unanswered.discard(i)
            headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
            if status in RETRY_STATUSES:
                retry_after = retry_after_seconds(headers.get("retry-after"))
                if status == 429:
                    holds.append((owners[i] or GLOBAL, retry_after))
                else:
                    waits.append(retry_after)
                continue
            pending.pop(i)
            results[i] = result = _inner_result(response, status, headers)
            if isinstance(result, dict) and isinstance(result.get("value"), list):
                self.stats.add(pages=1)
        if not pending:
            return None
        waits += [None] * len(unanswered)  # left out of the answer: a failed try, never a busy loop
        error = (
            GraphError(503, "BatchFailed", f"{len(pending)} batched requests kept failing", "$batch")
            if waits
            else GraphError(429, "TooManyRequests", f"{len(pending)} batched requests throttled", "$batch")
        )
        return Verdict(error, waits=waits, holds=holds)

    def batch_get(self, paths: list[str], *, mailbox: str | None = None) -> dict[str, dict[str, Any]]:
        """GET many paths through ``$batch`` (20 per request); returns each path's JSON body.

        A 404 (gone meanwhile) is left out; any other failure raises :class:`GraphError`.
        """
        results: dict[str, dict[str, Any]] = {}
        for path, answer in zip(paths, self.batch([(path, None) for path in paths], mailbox=mailbox), strict=True):
            if isinstance(answer, GraphError):
                if answer.status == 404:
                    continue
                raise answer
            results[path] = answer
        return results

    def iter_pages(
        self,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        mailbox: str | None = None,
        first: dict[str, Any] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield every page of a collection, following ``@odata.nextLink`` verbatim.

        Headers (``ConsistencyLevel``, ``Prefer``) are resent on every page, as Graph requires. ``first`` is
        the first page when it was already fetched (through ``$batch``).
        """
        page = first if first is not None else self.get(path, params=params, headers=headers, mailbox=mailbox)
        pages, items = 1, 0
        while True:
            page = collection_page(page, urlsplit(self.url(path)).path)
            items += len(page.get("value") or ())
            yield page
            next_link = page.get("@odata.nextLink")
            if not next_link:
                self._note_chain(pages, items)
                return
            path = next_link
            page = self.get(next_link, headers=headers, mailbox=mailbox)
            pages += 1

    def _note_chain(self, pages: int, items: int) -> None:
        with self._mailboxes_lock:
            if pages > self.longest_chain[0]:
                self.longest_chain[:] = [pages, items]

    def iter_delta(
        self,
        start: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        mailbox: str | None = None,
        first: dict[str, Any] | None = None,
    ) -> Iterator[DeltaPage]:
        """Run one delta round from ``start`` (an initial path or a stored deltaLink).

        Yields each page's items; the last page carries the new deltaLink. Params are only sent with an
        initial path: a stored deltaLink already encodes its query (one from an earlier Graph root is rebased).
        """
        for page in self.iter_pages(self.rebased(start), params=params, headers=headers, mailbox=mailbox, first=first):
            yield DeltaPage(items=page.get("value", []), delta_link=page.get("@odata.deltaLink"))


def with_prefer(headers: Mapping[str, str] | None, preferences: tuple[str, ...]) -> Mapping[str, str] | None:
    """``headers`` with ``preferences`` added to their Prefer header: one header, the values comma-separated
    (``odata.maxpagesize=1000, IdType="ImmutableId"``), as Graph takes them."""
    if not preferences:
        return headers
    out = dict(headers or {})
    name = next((key for key in out if key.lower() == "prefer"), "Prefer")
    values = [value.strip() for value in out.get(name, "").split(",") if value.strip()]
    out[name] = ", ".join([*values, *(p for p in preferences if p not in values)])
    return out


_DEFAULT_PORTS = {"https": 443, "http": 80}


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of an absolute URL, lower case, the scheme's default port filled in."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:  # a port that is not a number: matches nothing
        port = -1
    return scheme, (parts.hostname or "").lower(), port


def shown_origin(url: str) -> str:
    """``scheme://host:port`` of a URL, for messages (never its path or query: they may hold tokens)."""
    scheme, host, port = origin(url)
    return f"{scheme}://{host}:{port}"


def collection_page(page: Any, where: str) -> dict[str, Any]:
    """``page`` when it is a Graph collection page (a JSON object with a ``value`` list).

    Raises:
        GraphError: anything else (a JSON array, ``value`` missing or null, an error object answered with 200):
            taking it as an empty page would move the stream's deltaLink past changes never read.
    """
    if isinstance(page, dict) and isinstance(page.get("value"), list):
        return page
    if not isinstance(page, dict):
        got = f"a JSON {_JSON_NAMES.get(type(page), type(page).__name__)}"
    else:
        got = "value: null" if page.get("value", 0) is None else "no 'value' list"
    message = f"the answer is not a Graph collection page ({got}); nothing of it is kept, the next run asks again"
    raise GraphError(200, "NotACollectionPage", message, where)


_JSON_NAMES = {list: "array", str: "string", int: "number", float: "number", bool: "boolean", type(None): "null"}


def _is_html(response: httpx.Response | Response, content: bytes) -> bool:
    """Whether an answer is an HTML page (a proxy's or a sign-in page), not Graph's JSON."""
    content_type = str(response.headers.get("Content-Type") or "").lower()
    return "html" in content_type or content[:64].lstrip().startswith((b"<!", b"<html", b"<HTML"))


def html_error(status: int, where: str) -> GraphError:
    """The one-line error for an HTML page answered where Graph's JSON was expected."""
    return GraphError(
        status,
        "NotGraph",
        "Graph answered an HTML page (content-type text/html), not JSON: something between here and Graph (a "
        "proxy, a captive portal, a wrong host) answers instead; check O365_GRAPH_URL and the proxy settings "
        "(HTTPS_PROXY)",
        where,
    )


def _inner_result(response: Mapping[str, Any], status: int, headers: Mapping[str, str]) -> dict[str, Any] | GraphError:
    """A final ``$batch`` answer: its body when it succeeded, else the :class:`GraphError` it is."""
    if status < 300:
        return _inner_body(response, headers)
    error = (response.get("body") or {}).get("error", {})
    return GraphError(
        status, error.get("code", f"HTTP{status}"), error.get("message", ""), "$batch", headers.get("location")
    )


def _inner_body(response: Mapping[str, Any], headers: Mapping[str, str]) -> dict[str, Any] | GraphError:
    """A successful ``$batch`` answer's body: its JSON object, or the error an HTML page or a non-object is."""
    body = response.get("body")
    if "html" in headers.get("content-type", "").lower():
        return html_error(int(response.get("status", 0)), "$batch")
    if body is None:
        return {}
    if not isinstance(body, dict):
        return GraphError(
            200, "NotACollectionPage", f"the answer is not a JSON object (a {type(body).__name__})", "$batch"
        )
    return body


def _error_from(response: httpx.Response | Response, content: bytes, where: str) -> GraphError:
    code, message = f"HTTP{response.status_code}", response.reason_phrase
    try:
        error = orjson.loads(content).get("error", {})
        code = error.get("code") or code
        message = error.get("message") or message
    except (orjson.JSONDecodeError, AttributeError):
        pass
    return GraphError(response.status_code, code, message, where, response.headers.get("Location"))
