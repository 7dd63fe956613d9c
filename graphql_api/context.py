"""What every resolver can reach: the caller, its tenant's store, the command bus, the loaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from graphql_api.auth import ApiKeys, Principal
from graphql_api.cost import DEFAULT_MAX_NODES
from graphql_api.event_feed import EventFeed
from graphql_api.loaders import Loaders
from graphql_api.scim_filters import ScimFilterCompiler
from graphql_api.scopes import Scope
from identity_store import Actor, CommandBus, NotFound, RequestContext, Store, TenantStore
from identity_store.activity import ActivityLog, RequestActivity
from identity_store.domain.credentials import CredentialKind
from identity_store.domain.extensions import TenantSchemas

__all__ = ["Context", "NotAuthenticated"]


class NotAuthenticated(Exception):
    """A resolver ran without an authenticated principal (only possible on a misconfigured mount)."""


@dataclass(kw_only=True)
class Context:
    """One per HTTP request, or one per WebSocket connection (authenticated on ``connection_init``)."""

    store: Store
    #: The one command bus of the store (see identity_store.bootstrap).
    bus: CommandBus
    request_id: str
    #: The process's event pollers, shared by every connection (see graphql_api.event_feed).
    event_feed: EventFeed = field(default_factory=EventFeed)
    credential_recheck_interval: float = 30.0
    #: The node limit of each operation (see graphql_api.cost).
    max_query_nodes: int = DEFAULT_MAX_NODES
    principal: Principal | None = None
    scim_filter: ScimFilterCompiler | None = None
    connection_params: object = None
    #: On a WebSocket: the verified keys and the connection's key, to check it at each operation.
    api_keys: ApiKeys | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)
    #: What the request's activity record will say (see identity_store.activity); None on a WebSocket.
    activity: RequestActivity | None = None
    #: Where the activity log is read (None: the service keeps none).
    activity_log: ActivityLog | None = None
    _loaders: Loaders | None = field(default=None, repr=False)
    _schemas: TenantSchemas | None = field(default=None, repr=False)

    @property
    def caller(self) -> Principal:
        if self.principal is None:
            raise NotAuthenticated("not authenticated")
        return self.principal

    @property
    def tenant(self) -> TenantStore:
        """The caller's tenant: every read goes through it, so no field can reach another tenant.
        Once :meth:`schemas` was read, its filters know the tenant's extension attributes."""
        return self.store.tenant(self.caller.tenant_id, self._schemas)

    async def schemas(self) -> TenantSchemas:
        """The tenant's schemas with its extensions, read once per request (the bus keeps them
        for the SCIM token cache's time, see identity_store.tenant_schemas)."""
        if self._schemas is None:
            self._schemas = await self.bus.schemas.of(self.caller.tenant_id)
        return self._schemas

    @property
    def loaders(self) -> Loaders:
        if self._loaders is None:
            self._loaders = Loaders(self.tenant, self.store.credentials)
        return self._loaders

    def forget_loaded(self) -> None:
        """Drop the loaders' cache (between the events of a long-lived subscription), and the
        tenant's schemas with it."""
        self._loaders = None
        self._schemas = None

    async def still_authenticated(self) -> bool:
        """Whether the caller's API key is still valid now (not revoked, not expired)."""
        if self.principal is None:
            return False
        try:
            credential = await self.store.credentials.get(self.principal.credential_id)
        except NotFound:
            return False
        return credential.usable_at(datetime.now(UTC))

    async def reauthenticate(self) -> bool:
        """Check the connection's API key again, through the cache as an HTTP request does.

        Without a key to check (an HTTP request, already authenticated) the principal stands.
        A key found invalid is forgotten, so no later operation on the connection may use it.
        Raises :class:`~identity_store.StoreUnavailable` when the key cannot be read now.
        """
        if self.api_keys is None or self.api_key is None:
            return self.principal is not None
        principal = await self.api_keys.authenticate(self.store, self.api_key)
        if principal is None or self.principal is None or principal.credential_id != self.principal.credential_id:
            self.principal = None
            return False
        self.principal = principal
        return True

    @property
    def request_context(self) -> RequestContext:
        caller = self.caller
        return RequestContext(
            tenant_id=caller.tenant_id,
            actor=Actor(
                credential_id=caller.credential_id,
                kind=CredentialKind.API_KEY.value,
                # Who masters what is the domain's rule (identity_store.domain.ownership); the
                # key's scope only says whether this caller has the right.
                may_change_provisioned=Scope.WRITE_PROVISIONED.value in caller.scopes,
            ),
            correlation_id=self.request_id,
            schemas=self._schemas,
        )
