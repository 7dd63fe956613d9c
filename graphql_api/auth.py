"""Authenticating API keys: ``Authorization: Bearer <key>`` over HTTP, ``connection_params`` over WebSocket.

A key is one of the store's credentials of kind :attr:`CredentialKind.API_KEY`; its secret is
kept only as a digest. The tenant comes from the credential, never from the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from identity_store import NotFound, Store
from identity_store.domain.credentials import CredentialKind, parse_secret

__all__ = ["Principal", "authenticate", "bearer_token"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    """The authenticated caller: an API key of one tenant, with its scopes."""

    credential_id: str
    name: str
    tenant_id: str
    scopes: frozenset[str]


def bearer_token(authorization: object) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` value (the scheme is case-insensitive)."""
    if not isinstance(authorization, str):
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.casefold() != "bearer" or not token.strip():
        return None
    return token.strip()


async def authenticate(store: Store, secret: str | None) -> Principal | None:
    """The principal of a valid, unexpired, unrevoked API key; ``None`` for anything else."""
    if secret is None:
        return None
    credential_id = parse_secret(secret)
    if credential_id is None:
        return None
    try:
        credential = await store.credentials.get(credential_id)
    except NotFound:
        return None
    if (
        credential.kind is not CredentialKind.API_KEY
        or not credential.usable_at(datetime.now(UTC))
        or not credential.matches(secret)
    ):
        return None
    return Principal(
        credential_id=credential.id, name=credential.name, tenant_id=credential.tenant_id, scopes=credential.scopes
    )
