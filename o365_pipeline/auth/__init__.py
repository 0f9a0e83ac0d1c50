"""Authentication for Microsoft Graph: `GraphAuth` (tokens, no Dagster) and the `O365Auth` Dagster resource.

`O365Auth` is imported on first use, so the headless paths never load Dagster.
"""

from typing import TYPE_CHECKING, Any

from .errors import O365AuthError
from .settings import GraphEndpoints
from .tokens import GraphAuth, GraphCredentials

if TYPE_CHECKING:
    from .resource import O365Auth

__all__ = ["GraphAuth", "GraphCredentials", "GraphEndpoints", "O365Auth", "O365AuthError"]


def __getattr__(name: str) -> Any:
    if name == "O365Auth":
        from .resource import O365Auth

        return O365Auth
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
