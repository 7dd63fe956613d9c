"""The SCIM 2.0 service provider (RFC 7643/7644) over the identity domain.

:func:`scim_mount` gives the Starlette mount at ``/scim/v2`` and :func:`token_route` the OAuth
token endpoint at ``/oauth2/token``; the composition root wires them.
"""

from __future__ import annotations

from scim_facade.access_tokens import AccessTokens, generate_signing_key
from scim_facade.app import PREFIX, ScimSettings, scim_mount
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
