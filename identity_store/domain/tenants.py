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
    """

    strict_rfc: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Tenant:
    id: str
    name: str
    created: datetime
    settings: TenantSettings = field(default_factory=TenantSettings)
