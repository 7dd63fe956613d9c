"""Tenants: every record belongs to exactly one, and no operation can cross them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["Tenant", "TenantSettings"]


@dataclass(frozen=True, slots=True, kw_only=True)
class TenantSettings:
    """Per-tenant behaviour.

    ``strict_rfc`` turns off the Entra ID habits that contradict RFC 7644 (remove with a value,
    creating an element when a filtered path matches none, string booleans); by default the
    Entra-compatible behaviour is on, because Entra is the client this product exists for.

    ``entra_tenant_id`` links the tenant to one Microsoft Entra tenant: JWTs that Entra issues
    for that tenant (issuer ``https://sts.windows.net/<id>/``) then authenticate as this tenant.
    An Entra tenant can be linked to at most one tenant here.

    ``deleted_retention_days``: how long a deleted user or group stays restorable before the purge
    job removes it for good (see :mod:`identity_store.domain.deletions`); ``None`` takes the
    service's default (``IDENTITY_DELETED_RETENTION_DAYS``).
    """

    strict_rfc: bool = False
    entra_tenant_id: str | None = None
    deleted_retention_days: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Tenant:
    id: str
    name: str
    created: datetime
    settings: TenantSettings = field(default_factory=TenantSettings)
