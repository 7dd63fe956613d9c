"""The caller: the API key that authenticated this request, and its tenant."""

from __future__ import annotations

import strawberry

__all__ = ["Tenant", "Viewer"]


@strawberry.type(description="The tenant the caller's API key belongs to; every query is scoped to it.")
class Tenant:
    id: strawberry.ID
    name: str


@strawberry.type(description="The API key making the request.")
class Viewer:
    credential_id: strawberry.ID
    name: str
    scopes: list[str]
    tenant: Tenant
