"""The caller: the API key that authenticated this request, and its tenant."""

from __future__ import annotations

import strawberry

__all__ = ["Tenant", "Viewer"]


@strawberry.type(description="The tenant the caller's API key belongs to; every query is scoped to it.")
class Tenant:
    id: strawberry.ID = strawberry.field(description="The tenant's id.")
    name: str = strawberry.field(description="The tenant's name.")


@strawberry.type(description="The API key making the request.")
class Viewer:
    credential_id: strawberry.ID = strawberry.field(
        description="The API key's id (not its secret); this is what events and memberships name as the actor."
    )
    name: str = strawberry.field(
        description="The name the API key was created with (identity-store apikey create --name)."
    )
    scopes: list[str] = strawberry.field(
        description="The scopes the key holds, sorted: users:read, groups:read, write, write:provisioned, "
        "events:subscribe."
    )
    tenant: Tenant = strawberry.field(description="The tenant every query and change of this key is scoped to.")
