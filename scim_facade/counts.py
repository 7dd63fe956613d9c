"""What the SCIM front end counts while it serves: read by the service's metrics, never reset."""

from __future__ import annotations

from dataclasses import dataclass, field

from identity_store.domain.credentials import CacheCounts

__all__ = ["ScimCounts"]


@dataclass(slots=True)
class ScimCounts:
    #: Lookups of bearer secrets in the verified-token cache (see :class:`~scim_facade.auth.TokenVerifier`).
    token_cache: CacheCounts = field(default_factory=CacheCounts)
    #: Requests refused with 429 by the per-tenant rate limit (:mod:`scim_facade.limits`).
    rate_limited: int = 0
    #: Requests refused with 429 by the per-tenant bound on requests in flight (:mod:`scim_facade.tenant_slots`).
    over_in_flight: int = 0
