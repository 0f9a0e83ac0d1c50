"""`o365-pipeline login`: device code sign-in for the AzureAD scheme, stored in the 0600 token cache."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import O365AuthError
from .tokens import GraphAuth

if TYPE_CHECKING:
    from .resource import O365Auth


def _print(line: str) -> None:
    """Print and flush: the code must show at once even when stdout is a pipe (CI logs, `| tee`)."""
    print(line, flush=True)


def login(auth: GraphAuth | O365Auth, out: Callable[[str], Any] = _print) -> int:
    """Print the verification URL and code, wait for sign-in, save the cache. Returns 0 on success."""
    try:
        scheme = auth.interactive()
        account = scheme.login(out)
    except O365AuthError as exc:
        out(f"login failed: {exc}")
        return 1
    except KeyboardInterrupt:
        out("login cancelled; the token cache is unchanged")
        return 130
    out(f"signed in as {account}; token cache {scheme.cache_file.path}")
    return 0
