"""Serving-speed benchmark of the emulator: `python -m o365_pipeline.emulator.bench --scale bench`.

Starts the emulator as its own process (`python -m o365_pipeline.emulator.cli serve`), reads every message
folder of every readable mailbox through `messages/delta` with `Prefer: odata.maxpagesize=N` on a thread pool
of keep-alive httpx clients, twice (cold, then warm), and prints items/s, pages/s and MB/s per pass. Then it
starts the emulator at each of `--start-scales` and prints its start time and peak RSS (VmHWM).
"""

from __future__ import annotations

import argparse
import http.client
import json
import ssl
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from .process import EmulatorProcess


@dataclass
class PassResult:
    """One pass over every folder stream."""

    name: str
    items: int
    pages: int
    bytes: int
    seconds: float

    @property
    def items_per_s(self) -> float:
        """Message items per second."""
        return self.items / self.seconds if self.seconds else 0.0

    @property
    def pages_per_s(self) -> float:
        """Pages per second."""
        return self.pages / self.seconds if self.seconds else 0.0

    @property
    def mb_per_s(self) -> float:
        """Body megabytes (10^6) per second."""
        return self.bytes / 1e6 / self.seconds if self.seconds else 0.0


@dataclass
class StartResult:
    """Start time and memory of the emulator at one scale."""

    scale: str
    start_s: float
    peak_rss_mb: float


class Reader:
    """Thread-local keep-alive connections with one app token (httpx, or stdlib http.client)."""

    def __init__(self, env: dict[str, str], client: str = "httpx") -> None:
        self.base = env["O365_GRAPH_URL"].rstrip("/") + "/v1.0"
        self.ctx = ssl.create_default_context(cafile=env["O365_CA_BUNDLE"])
        self.kind = client
        self._local = threading.local()
        form = {
            "client_id": env["O365_OAUTH_CLIENT_ID"],
            "client_secret": env["O365_OAUTH_CLIENT_SECRET"],
            "grant_type": "client_credentials",
            "scope": "https://graph.microsoft.com/.default",
        }
        url = f"{env['O365_LOGIN_URL'].rstrip('/')}/{env['O365_AZURE_TENANT']}/oauth2/v2.0/token"
        r = httpx.post(url, data=form, verify=self.ctx, timeout=30)
        r.raise_for_status()
        self.auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
        self._conns: list[Any] = []
        self._lock = threading.Lock()

    def _conn(self) -> Any:
        c = getattr(self._local, "conn", None)
        if c is None:
            if self.kind == "httpx":
                c = httpx.Client(verify=self.ctx, timeout=60, headers=self.auth)
            else:
                u = urlsplit(self.base)
                c = http.client.HTTPSConnection(u.hostname or "127.0.0.1", u.port, context=self.ctx, timeout=60)
            self._local.conn = c
            with self._lock:
                self._conns.append(c)
        return c

    def get(self, url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        """GET a Graph path (relative to /v1.0) or an absolute link: (status, body)."""
        full = url if url.startswith("https://") else f"{self.base}/{url}"
        c = self._conn()
        if self.kind == "httpx":
            r = c.get(full, headers=headers)
            return r.status_code, r.content
        u = urlsplit(full)
        c.request("GET", u.path + (f"?{u.query}" if u.query else ""), headers={**self.auth, **(headers or {})})
        resp = c.getresponse()
        return resp.status, resp.read()

    def close(self) -> None:
        """Close every connection."""
        for c in self._conns:
            c.close()


def folder_streams(reader: Reader) -> list[str]:
    """messages/delta paths of every folder of every readable mailbox (not timed)."""
    users: list[str] = []
    url = "users?$select=id&$top=999"
    while url:
        page = orjson.loads(reader.get(url)[1])
        users += [u["id"] for u in page["value"]]
        url = page.get("@odata.nextLink", "")

    def folders(uid: str) -> list[str]:
        out: list[str] = []
        link = f"users/{uid}/mailFolders/delta?$select=id"
        while link:
            status, body = reader.get(link)
            if status != 200:  # unlicensed, outside the access policy, guest
                return []
            page = orjson.loads(body)
            out += [f"users/{uid}/mailFolders/{f['id']}/messages/delta" for f in page["value"]]
            link = page.get("@odata.nextLink", "")
        return out

    with ThreadPoolExecutor(8) as pool:
        return [p for ps in pool.map(folders, users) for p in ps]


def read_pass(
    reader: Reader, streams: list[str], *, name: str, threads: int, page_size: int, select: str = ""
) -> PassResult:
    """Follow every stream to its deltaLink on `threads` threads; count items, pages, body bytes."""
    prefer = {"Prefer": f"odata.maxpagesize={page_size}"}
    query = f"?$select={select}" if select else ""

    def one(path: str) -> tuple[int, int, int]:
        items = pages = size = 0
        link = path + query
        while link:
            status, body = reader.get(link, prefer)
            if status != 200:
                raise RuntimeError(f"{status} on {link}: {body[:200]!r}")
            page = orjson.loads(body)
            items += len(page["value"])
            pages += 1
            size += len(body)
            link = page.get("@odata.nextLink", "")
        return items, pages, size

    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(one, streams))
    seconds = time.perf_counter() - t0
    return PassResult(name, *(sum(x) for x in zip(*results, strict=True)), seconds)  # type: ignore[call-arg]


def run(
    scale: str,
    *,
    seed: int,
    threads: int,
    page_size: int,
    start_scales: list[str],
    client: str = "httpx",
    select: str = "",
) -> dict[str, Any]:
    """The whole benchmark; prints a table and returns the figures."""
    out: dict[str, Any] = {"scale": scale, "client": client, "threads": threads, "page_size": page_size}
    out["select"] = select
    out.update(passes=[], start=[])
    with tempfile.TemporaryDirectory(prefix="emu-bench-") as tmp:
        emu = EmulatorProcess(scale, Path(tmp), seed=seed).start(wait_warm=False)
        try:
            reader = Reader(emu.env, client)
            streams = folder_streams(reader)
            out["streams"] = len(streams)
            for name in ("cold", "warm"):
                cpu0 = emu.cpu_seconds()
                res = read_pass(reader, streams, name=name, threads=threads, page_size=page_size, select=select)
                cpu = emu.cpu_seconds() - cpu0
                out["passes"].append(
                    {
                        **asdict(res),
                        "items_per_s": res.items_per_s,
                        "pages_per_s": res.pages_per_s,
                        "mb_per_s": res.mb_per_s,
                        "server_cpu_s": cpu,
                    }
                )
                print(
                    f"{scale} {client} {name:<5} {res.items:>9} items {res.pages:>6} pages {res.bytes / 1e6:>8.1f} MB "
                    f"{res.seconds:>6.2f} s  {res.items_per_s:>9.0f} items/s {res.pages_per_s:>7.0f} pages/s "
                    f"{res.mb_per_s:>6.1f} MB/s  server CPU {cpu:.2f} s",
                    flush=True,
                )
            reader.close()
            out["serving_peak_rss_mb"] = emu.peak_rss_mb()
            print(f"{scale} emulator peak RSS after both passes: {out['serving_peak_rss_mb']:.0f} MiB", flush=True)
        finally:
            emu.stop()
        for s in start_scales:
            proc = EmulatorProcess(s, Path(tmp), seed=seed).start(wait_warm=False)
            try:
                res_s = StartResult(s, proc.ready_seconds, proc.peak_rss_mb())
            finally:
                proc.stop()
            out["start"].append(asdict(res_s))
            print(f"start {s:<6} {res_s.start_s:>6.2f} s to ready, peak RSS {res_s.peak_rss_mb:>6.0f} MiB", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    p = argparse.ArgumentParser(prog="python -m o365_pipeline.emulator.bench", description=__doc__)
    p.add_argument("--scale", default="bench", help="tenant to read: small | bench | large")
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--threads", type=int, default=6, help="client threads (4-8 on this machine)")
    p.add_argument("--page-size", type=int, default=1000, help="Prefer: odata.maxpagesize (Graph allows 1000)")
    p.add_argument("--start-scales", default="small,bench,large", help="scales whose start time/RSS to measure")
    p.add_argument("--client", choices=("httpx", "stdlib"), default="httpx", help="httpx or http.client")
    p.add_argument("--select", default="", help="$select of the message delta rounds (default shape when empty)")
    p.add_argument("--json", default="", help="also write the figures to this file")
    a = p.parse_args(argv)
    scales = [s for s in a.start_scales.split(",") if s]
    out = run(
        a.scale,
        seed=a.seed,
        threads=a.threads,
        page_size=a.page_size,
        start_scales=scales,
        client=a.client,
        select=a.select,
    )
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
