"""The SCIM 2.0 service provider (RFC 7643/7644) over the identity domain.

:func:`scim_mount` gives the Starlette mount at ``/scim/v2`` and :func:`token_route` the OAuth
token endpoint at ``/oauth2/token``; the composition root wires them.

The names are imported when first used (PEP 562): scim2-models builds its message models on
import, most of a second, and the command line, which only needs a signing key or a path,
should not wait for it.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scim_facade.access_tokens import AccessTokens, generate_signing_key
    from scim_facade.app import ScimSettings, scim_mount
    from scim_facade.calls import PREFIX
    from scim_facade.client_assertions import ClientAssertions
    from scim_facade.counts import ScimCounts
    from scim_facade.entra_tokens import EntraTokens
    from scim_facade.jwks import KeySet, KeySets
    from scim_facade.token_endpoint import TOKEN_PATH, token_route
    from scim_facade.token_throttle import TokenThrottle, TokenThrottleSettings

__all__ = [
    "PREFIX",
    "TOKEN_PATH",
    "AccessTokens",
    "ClientAssertions",
    "EntraTokens",
    "KeySet",
    "KeySets",
    "ScimCounts",
    "ScimSettings",
    "TokenThrottle",
    "TokenThrottleSettings",
    "generate_signing_key",
    "scim_mount",
    "token_route",
]

_HOMES = {
    "PREFIX": "scim_facade.calls",
    "TOKEN_PATH": "scim_facade.token_endpoint",
    "AccessTokens": "scim_facade.access_tokens",
    "generate_signing_key": "scim_facade.access_tokens",
    "ClientAssertions": "scim_facade.client_assertions",
    "ScimCounts": "scim_facade.counts",
    "EntraTokens": "scim_facade.entra_tokens",
    "KeySet": "scim_facade.jwks",
    "KeySets": "scim_facade.jwks",
    "ScimSettings": "scim_facade.app",
    "scim_mount": "scim_facade.app",
    "token_route": "scim_facade.token_endpoint",
    "TokenThrottle": "scim_facade.token_throttle",
    "TokenThrottleSettings": "scim_facade.token_throttle",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'scim_facade' has no attribute {name!r}")
    return getattr(import_module(home), name)
