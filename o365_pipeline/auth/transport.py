"""msal's HTTP transport: a requests.Session whose trust is pinned, immune to REQUESTS_CA_BUNDLE & co."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests


class PinnedTrustSession(requests.Session):
    """A Session that always verifies TLS with `verify`, whatever the environment says.

    requests merges REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE into a Session's `verify` when `trust_env`
    is on; this subclass keeps env proxies but forces its own `verify` on every request.
    """

    def __init__(self, verify: str | bool = True, timeout: float = 30.0) -> None:
        super().__init__()
        self.verify = verify
        self._timeout = timeout

    def merge_environment_settings(
        self,
        url: str | bytes | None,
        proxies: Mapping[str, Any] | None,
        stream: bool | None,
        verify: bool | str | None,
        cert: Any,
    ) -> dict[str, Any]:
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        settings["verify"] = self.verify
        return settings

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout)
        return super().request(method, url, *args, **kwargs)
