"""The authenticated call, and the boundary that turns every failure into a SCIM Error.

Every SCIM endpoint is a function of one :class:`Call`: who is asking (the verified bearer
token, RFC 6750), for which tenant, with which PATCH policy, and where the service lives (for
``location``). :class:`CallBoundary` builds it, in this order: method (405, before the token:
which methods an endpoint has is public, RFC 9110 §15.5.6), token (401), the tenant's rate
(429), the path's id (404); then it runs the endpoint and renders whatever it raised as an
Error (RFC 7644 §3.12). The service logs one line per request (identity_service.request_log).
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from identity_store import Actor, CommandBus, DomainError, RequestContext, Store, TenantStore
from identity_store.activity import RequestActivity, activity_of
from identity_store.domain.extensions import CORE_ONLY, TenantSchemas
from identity_store.domain.patch import PatchPolicy
from scim_facade.auth import INVALID_TOKEN_CHALLENGE, Authenticated, TokenVerifier
from scim_facade.body_notes import patch_notes, resource_notes
from scim_facade.counts import ScimCounts
from scim_facade.cursors import CursorSeal
from scim_facade.errors import ScimError, from_domain
from scim_facade.limits import RateLimiter
from scim_facade.probes import PROBE_BURST, PROBE_RATE, is_probe
from scim_facade.request_bodies import read_body
from scim_facade.request_limits import valid_id
from scim_facade.resources import ResourceKind, tenant_kinds
from scim_facade.settings import ScimSettings
from scim_facade.tenant_slots import TenantSlots

__all__ = ["PREFIX", "Call", "CallBoundary", "Handler"]

log = logging.getLogger("scim_facade")

PREFIX = "/scim/v2"
_RESOURCE_TYPES = {"Users": "User", "Groups": "Group"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Call:
    """One authenticated request: who, for which tenant, and where the service lives."""

    request: Request
    auth: Authenticated
    context: RequestContext
    tenant: TenantStore
    bus: CommandBus
    base_url: str
    policy: PatchPolicy
    settings: ScimSettings
    cursors: CursorSeal
    #: What the activity log will say of this request (None when the facade is mounted alone).
    activity: RequestActivity | None = None
    #: The tenant's schemas, with its registered extensions (read once per request, cached).
    schemas: TenantSchemas = CORE_ONLY

    @property
    def user_kind(self) -> ResourceKind:
        """User as this tenant has it (its extensions included)."""
        return tenant_kinds(self.schemas)[0]

    @property
    def group_kind(self) -> ResourceKind:
        return tenant_kinds(self.schemas)[1]

    async def body(self) -> dict[str, Any]:
        """The request's JSON object, within the payload limit (see :mod:`request_bodies`)."""
        return await read_body(self.request, self.settings.max_payload_size)

    async def resource_body(self, kind: ResourceKind, *, patch: bool = False) -> dict[str, Any]:
        """:meth:`body`, with what it changes and what the service will ignore noted for the
        activity log (see :mod:`body_notes`), and the resource's name when it gives one."""
        body = await self.body()
        activity = self.activity
        if activity is not None:
            changed, ignored = patch_notes(body, kind) if patch else resource_notes(body, kind)
            activity.note_changed(changed)
            activity.note_ignored(ignored)
            name = body.get("userName", body.get("displayName"))
            if isinstance(name, str) and activity.resource_name is None:
                activity.resource_name = name[:256]
        return body

    def wrote(self, kind: ResourceKind, resource_id: str, name: str | None) -> None:
        """Note the resource a write created or changed, for the activity log."""
        activity = self.activity
        if activity is not None:
            activity.resource_type = kind.name
            activity.resource_id = resource_id
            if name is not None:
                activity.resource_name = name[:256]


Handler = Callable[[Call], Awaitable[Response]]


class CallBoundary:
    """Turns requests into :class:`Call` objects for the endpoints, and failures into Errors."""

    def __init__(
        self,
        get_store: Callable[[], Store],
        get_bus: Callable[[], CommandBus],
        settings: ScimSettings,
        counts: ScimCounts | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        """``limiter`` is the tenants' rate limit (one of the settings' rate and burst when not
        given; the service passes the one it shares with its other instances)."""
        self.counts = counts if counts is not None else ScimCounts()
        self._get_store = get_store
        self._get_bus = get_bus
        self._settings = settings
        self._verifiers: dict[int, TokenVerifier] = {}
        # Not ``limiter or ...``: a limiter with no buckets yet has length 0, so is falsy, and the
        # shared one the service passes was silently replaced by a private one.
        self._limiter = (
            limiter if limiter is not None else RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
        )
        self._probe_limiter = RateLimiter(PROBE_RATE if settings.rate_limit_per_second > 0 else 0, PROBE_BURST)
        self._slots = TenantSlots(
            settings.tenant_max_in_flight,
            waiting=settings.tenant_max_waiting,
            wait_seconds=settings.tenant_wait_seconds,
        )
        self._cursors = CursorSeal(
            settings.cursor_key or secrets.token_bytes(32), timeout_seconds=settings.cursor_timeout_seconds
        )

    def endpoint(self, methods: Mapping[str, Handler]) -> Callable[[Request], Awaitable[Response]]:
        """A request handler dispatching on the method to ``methods``."""

        async def run(request: Request) -> Response:
            activity = activity_of(request.scope)
            correlation_id = (
                activity.request_id
                if activity is not None
                else (request.headers.get("x-request-id") or uuid.uuid4().hex)[:200]
            )
            response = await self._run(request, methods, correlation_id)
            response.headers["X-Request-Id"] = correlation_id
            handler = methods.get(request.method)
            operation = getattr(handler, "__name__", None) if handler is not None else None
            if activity is not None:
                activity.operation = operation
            return response

        return run

    def _verifier(self, store: Store) -> TokenVerifier:
        verifier = self._verifiers.get(id(store))
        if verifier is None:
            verifier = TokenVerifier(
                store,
                cache_seconds=self._settings.token_cache_seconds,
                access_tokens=self._settings.access_tokens,
                entra_tokens=self._settings.entra_tokens,
                cache_counts=self.counts.token_cache,
            )
            self._verifiers = {id(store): verifier}
        return verifier

    def _base_url(self, request: Request) -> str:
        scheme, host = request.url.scheme, request.url.netloc
        if self._settings.trust_forwarded:
            scheme = request.headers.get("x-forwarded-proto", scheme).split(",")[0].strip() or scheme
            host = request.headers.get("x-forwarded-host", host).split(",")[0].strip() or host
        return f"{scheme}://{host}{PREFIX}"

    async def _run(self, request: Request, methods: Mapping[str, Handler], correlation_id: str) -> Response:
        if_match = "if-match" in request.headers
        try:
            handler = methods.get(request.method)
            if handler is None:
                allowed = ", ".join(methods)
                raise ScimError(405, f"{request.method} is not supported here", headers={"Allow": allowed})
            auth, probe = await self._admit(request)
            if probe:
                return await handler(await self._call(request, auth, correlation_id))
            tenant_id = auth.tenant.id
            if not await self._slots.enter(tenant_id):
                self.counts.over_in_flight += 1
                raise ScimError(
                    429,
                    "too many requests in progress for this tenant; retry later",
                    headers={"Retry-After": "1"},
                    fixed=True,
                )
            try:
                return await handler(await self._call(request, auth, correlation_id))
            finally:
                # A streamed body is sent after this: the slot covers the work, not the sending.
                self._slots.leave(tenant_id)
        except ScimError as error:
            return _refused(request, error)
        except DomainError as error:
            return _refused(request, from_domain(error, if_match=if_match))
        except ClientDisconnect:
            # The client went away (or the server gave up on its body, see identity_service's
            # connection bounds) while its body was read: its mistake, and nobody hears the answer.
            log.info("the client left before sending all of its body: %s %s", request.method, request.url.path)
            return _refused(request, ScimError(400, "the request body was not received", scim_type="invalidSyntax"))
        except Exception:
            log.exception("unexpected failure on %s %s", request.method, request.url.path)
            return _refused(request, ScimError(500, "the request could not be completed"))

    async def _admit(self, request: Request) -> tuple[Authenticated, bool]:
        """The verified caller, within its tenant's rate, and whether the request is a probe."""
        store = self._get_store()
        authorizations = request.headers.getlist("authorization")
        if len(authorizations) > 1:
            # Which one would count is anyone's guess (RFC 9110 §5.3: not a list header).
            raise ScimError(401, "send exactly one Authorization header", headers=INVALID_TOKEN_CHALLENGE)
        auth = await self._verifier(store).verify(authorizations[0] if authorizations else None)
        activity = activity_of(request.scope)
        if activity is not None:
            activity.tenant_id = auth.tenant.id
            activity.credential_id = auth.credential_id
            activity.credential_name = auth.name
            activity.resource_type = _resource_type(request.url.path)
        probe = is_probe(request)
        retry_after = (self._probe_limiter if probe else self._limiter).check(auth.tenant.id)
        if retry_after is not None:
            self.counts.rate_limited += 1
            raise ScimError(
                429,
                "too many requests for this tenant; retry later",
                headers={"Retry-After": str(retry_after)},
                fixed=True,
            )
        return auth, probe

    async def _call(self, request: Request, auth: Authenticated, correlation_id: str) -> Call:
        activity = activity_of(request.scope)
        resource_id = request.path_params.get("id")
        if isinstance(resource_id, str) and not valid_id(resource_id):
            # Before the body is read: an id no resource could have is a 404 whatever is sent.
            raise ScimError(404, "no such resource")
        if isinstance(resource_id, str) and activity is not None:
            activity.resource_id = resource_id
        strict = auth.tenant.settings.strict_rfc
        policy = PatchPolicy(create_unmatched=not strict, remove_by_value=not strict, lenient_values=not strict)
        bus = self._get_bus()
        store = self._get_store()
        schemas = await bus.schemas.of(auth.tenant.id)
        context = RequestContext(
            tenant_id=auth.tenant.id,
            # Entra provisions over SCIM: it masters what it provisions.
            actor=Actor(credential_id=auth.credential_id, kind=auth.kind, may_change_provisioned=True),
            correlation_id=correlation_id,
            patch_policy=policy,
            schemas=schemas,
        )
        return Call(
            request=request,
            auth=auth,
            context=context,
            tenant=store.tenant(auth.tenant.id, schemas),
            bus=bus,
            schemas=schemas,
            base_url=self._base_url(request),
            policy=policy,
            settings=self._settings,
            cursors=self._cursors,
            activity=activity,
        )


def _refused(request: Request, error: ScimError) -> Response:
    """The Error answering ``error``; the activity log keeps its ``scimType`` and ``detail``."""
    activity = activity_of(request.scope)
    if activity is not None:
        activity.scim_type = error.scim_type
        activity.detail = error.detail
    return error.response()


def _resource_type(path: str) -> str | None:
    """The resource type a path is about: the first segment below the prefix (``/Users/...``)."""
    segment = path.removeprefix(PREFIX).lstrip("/").partition("/")[0]
    return _RESOURCE_TYPES.get(segment)
