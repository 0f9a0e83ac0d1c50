"""Authentication for Microsoft Graph: the `O365Auth` Dagster resource and its helpers."""

from .errors import O365AuthError
from .resource import O365Auth
from .settings import GraphEndpoints

__all__ = ["GraphEndpoints", "O365Auth", "O365AuthError"]
