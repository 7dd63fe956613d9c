"""Which credentials sign in to the console: unrevoked, unexpired ``console-admin`` credentials.

A secret is found by the credential id it carries and checked against the stored digest in
constant time; a secret naming no credential is compared with a digest all the same, so the
answer takes as long whether or not the id exists.
"""

from __future__ import annotations

import hmac

from identity_store import NotFound, Store
from identity_store.domain.credentials import Credential, CredentialKind, digest, parse_secret
from identity_store.domain.resources import now

__all__ = ["CONSOLE_SCOPE", "admin_by_secret", "still_admin"]

#: The scope of every console admin credential (the command line gives it).
CONSOLE_SCOPE = "console:admin"

_NO_SUCH_DIGEST = digest("no credential has this secret")


async def admin_by_secret(store: Store, secret: str) -> Credential | None:
    credential_id = parse_secret(secret)
    credential = await _credential(store, credential_id) if credential_id is not None else None
    if credential is None:
        hmac.compare_digest(_NO_SUCH_DIGEST, digest(secret))
        return None
    if not credential.matches(secret) or not _usable(credential):
        return None
    return credential


async def still_admin(store: Store, credential_id: str, tenant_id: str) -> Credential | None:
    """The session's credential as it is now, while it may still sign in (else ``None``)."""
    credential = await _credential(store, credential_id)
    if credential is None or credential.tenant_id != tenant_id or not _usable(credential):
        return None
    return credential


async def _credential(store: Store, credential_id: str) -> Credential | None:
    try:
        return await store.credentials.get(credential_id)
    except NotFound:
        return None


def _usable(credential: Credential) -> bool:
    return credential.kind is CredentialKind.CONSOLE_ADMIN and credential.usable_at(now())
