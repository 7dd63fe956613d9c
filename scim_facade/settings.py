"""The SCIM facade's settings: its limits and which bearer tokens it accepts."""

from __future__ import annotations

from dataclasses import dataclass

from scim_facade.access_tokens import AccessTokens
from scim_facade.entra_tokens import EntraTokens

__all__ = ["ScimSettings"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ScimSettings:
    """The facade's limits; ServiceProviderConfig reports them as they are."""

    max_results: int = 200
    max_payload_size: int = 1_048_576
    token_cache_seconds: float = 30.0
    trust_forwarded: bool = False
    cursor_timeout_seconds: int = 600
    bulk_max_operations: int = 1000
    cursor_key: bytes | None = None
    rate_limit_per_second: float = 100.0
    rate_limit_burst: int = 200
    # A tenant's requests worked on at once, and how many more may wait for a slot and how long
    # (see tenant_slots); 0 in flight turns the bound off. As many may wait as the rate's burst
    # admits, so a burst the rate allows is queued, never refused for the bound.
    tenant_max_in_flight: int = 4
    tenant_max_waiting: int = 200
    tenant_wait_seconds: float = 10.0
    # Bearer JWTs beside the long-lived secrets: our token endpoint's access tokens, and
    # Entra-issued tokens for linked tenants. None turns that kind off.
    access_tokens: AccessTokens | None = None
    entra_tokens: EntraTokens | None = None
