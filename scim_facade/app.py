"""The SCIM 2.0 HTTP surface (RFC 7644 §3), mounted at ``/scim/v2``.

Each endpoint authenticates the bearer token, turns the request into a domain command or query,
and renders the result. Errors of every kind leave as SCIM Error messages (see :mod:`errors`).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Mount, Route, Router
from starlette.types import Receive, Scope, Send

from identity_store import (
    Actor,
    CommandBus,
    CreateGroup,
    CreateUser,
    DeleteGroup,
    DeleteUser,
    DomainError,
    Group,
    Membership,
    MemberType,
    PatchGroup,
    PatchUser,
    ReplaceGroup,
    ReplaceUser,
    RequestContext,
    Store,
    TenantStore,
    User,
)
from identity_store.domain.filters import META_PATHS, Filter
from identity_store.domain.patch import PatchPolicy
from identity_store.queries import CursorPage, IndexPage, Page, Query, Sort, UserView
from scim_facade import discovery
from scim_facade.access_tokens import AccessTokens
from scim_facade.auth import Authenticated, TokenVerifier
from scim_facade.bulk import BulkLimits, run_bulk
from scim_facade.cursors import CursorSeal
from scim_facade.entra_tokens import EntraTokens
from scim_facade.errors import ScimError, ScimResponse, error_response, from_domain
from scim_facade.filters import NEVER, compile_filter, compile_lenient, membership_check, split_urn
from scim_facade.limits import RateLimiter
from scim_facade.patch import group_patch, user_patch
from scim_facade.request_limits import LIMITS, MAX_ATTRIBUTE_NAMES, check_text, parse_json, valid_id
from scim_facade.resources import (
    ResourceKind,
    Selection,
    etag,
    group_attributes,
    group_kind,
    manager_ids,
    parse_etag,
    render_group,
    render_user,
    selection,
    user_attributes,
    user_kind,
)

__all__ = ["PREFIX", "ScimSettings", "scim_mount"]

log = logging.getLogger("scim_facade")
request_log = logging.getLogger("scim_facade.requests")

PREFIX = "/scim/v2"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
_ACCEPTED_MEDIA = {"application/scim+json", "application/json", ""}
# As the verifier answers a token it cannot accept (RFC 6750 §3.1).
_INVALID_TOKEN = {"WWW-Authenticate": 'Bearer realm="scim", error="invalid_token"'}
# What a sealed cursor is made of (base64url and a dot); anything else was not issued here.
_CURSOR = re.compile(r"[A-Za-z0-9_=.-]{0,4096}")
_INTEGER = re.compile(r"[+-]?[0-9]{1,10}")


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
    # Bearer JWTs beside the long-lived secrets: our token endpoint's access tokens, and
    # Entra-issued tokens for linked tenants. None turns that kind off.
    access_tokens: AccessTokens | None = None
    entra_tokens: EntraTokens | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class _Call:
    """One authenticated request: who, for which tenant, and where the service lives."""

    request: Request
    auth: Authenticated
    context: RequestContext
    tenant: TenantStore
    bus: CommandBus
    base_url: str
    policy: PatchPolicy


Handler = Callable[[_Call], Awaitable[Response]]


@dataclass(frozen=True, slots=True, kw_only=True)
class _ListParams:
    filter: str | None = None
    sort_by: str | None = None
    descending: bool = False
    start_index: int = 1
    count: int | None = None
    raw_count: int | None = None
    cursor: str | None = None
    chosen: Selection = field(default_factory=Selection)


class _Service:
    def __init__(
        self, get_store: Callable[[], Store], get_bus: Callable[[], CommandBus], settings: ScimSettings
    ) -> None:
        self._get_store = get_store
        self._get_bus = get_bus
        self._settings = settings
        self._verifiers: dict[int, TokenVerifier] = {}
        self._limiter = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
        self.cursors = CursorSeal(
            settings.cursor_key or secrets.token_bytes(32), timeout_seconds=settings.cursor_timeout_seconds
        )

    # --- plumbing ---------------------------------------------------------------------------

    def _verifier(self, store: Store) -> TokenVerifier:
        verifier = self._verifiers.get(id(store))
        if verifier is None:
            verifier = TokenVerifier(
                store,
                cache_seconds=self._settings.token_cache_seconds,
                access_tokens=self._settings.access_tokens,
                entra_tokens=self._settings.entra_tokens,
            )
            self._verifiers = {id(store): verifier}
        return verifier

    def _base_url(self, request: Request) -> str:
        scheme, host = request.url.scheme, request.url.netloc
        if self._settings.trust_forwarded:
            scheme = request.headers.get("x-forwarded-proto", scheme).split(",")[0].strip() or scheme
            host = request.headers.get("x-forwarded-host", host).split(",")[0].strip() or host
        return f"{scheme}://{host}{PREFIX}"

    def endpoint(self, methods: Mapping[str, Handler]) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            correlation_id = (request.headers.get("x-request-id") or uuid.uuid4().hex)[:200]
            started = time.perf_counter()
            who: dict[str, str] = {}
            response = await self._run(request, methods, correlation_id, who)
            response.headers["X-Request-Id"] = correlation_id
            _log_request(request, methods, response.status_code, who, correlation_id, started)
            return response

        return run

    async def _run(
        self, request: Request, methods: Mapping[str, Handler], correlation_id: str, who: dict[str, str]
    ) -> Response:
        if_match = "if-match" in request.headers
        try:
            handler = methods.get(request.method)
            if handler is None:
                # Checked before the token: which methods an endpoint has is public (RFC 9110 §15.5.6).
                allowed = ", ".join(methods)
                raise ScimError(405, f"{request.method} is not supported here", headers={"Allow": allowed})
            store = self._get_store()
            authorizations = request.headers.getlist("authorization")
            if len(authorizations) > 1:
                # Which one would count is anyone's guess (RFC 9110 §5.3: not a list header).
                raise ScimError(401, "send exactly one Authorization header", headers=_INVALID_TOKEN)
            auth = await self._verifier(store).verify(authorizations[0] if authorizations else None)
            who.update(tenant=auth.tenant.id, credential=auth.credential_id)
            retry_after = self._limiter.check(auth.tenant.id)
            if retry_after is not None:
                raise ScimError(
                    429, "too many requests for this tenant; retry later", headers={"Retry-After": str(retry_after)}
                )
            resource_id = request.path_params.get("id")
            if isinstance(resource_id, str) and not valid_id(resource_id):
                # Before the body is read: an id no resource could have is a 404 whatever is sent.
                raise ScimError(404, "no such resource")
            strict = auth.tenant.settings.strict_rfc
            policy = PatchPolicy(create_unmatched=not strict, remove_by_value=not strict, lenient_values=not strict)
            context = RequestContext(
                tenant_id=auth.tenant.id,
                # Entra provisions over SCIM: it masters what it provisions.
                actor=Actor(credential_id=auth.credential_id, kind=auth.kind, may_change_provisioned=True),
                correlation_id=correlation_id,
                patch_policy=policy,
            )
            call = _Call(
                request=request,
                auth=auth,
                context=context,
                tenant=store.tenant(auth.tenant.id),
                bus=self._get_bus(),
                base_url=self._base_url(request),
                policy=policy,
            )
            return await handler(call)
        except ScimError as error:
            return error.response()
        except DomainError as error:
            return from_domain(error, if_match=if_match).response()
        except Exception:
            log.exception("unexpected failure on %s %s", request.method, request.url.path)
            return error_response(500, "the request could not be completed")

    async def body(self, request: Request) -> dict[str, Any]:
        """The JSON object of the request body (RFC 7644 §3.1, §8.1); 400/413/415 otherwise."""
        media = request.headers.get("content-type", "").split(";")[0].strip().casefold()
        if media not in _ACCEPTED_MEDIA:
            raise ScimError(415, "send application/scim+json or application/json")
        limit = self._settings.max_payload_size
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise ScimError(413, f"the body exceeds {limit} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ScimError(413, f"the body exceeds {limit} bytes")
            chunks.append(chunk)
        parsed = parse_json(b"".join(chunks))
        if not isinstance(parsed, dict):
            raise ScimError(400, "the body must be a JSON object", scim_type="invalidSyntax")
        return parsed

    # --- parameters -------------------------------------------------------------------------

    def list_params(self, call: _Call, kind: ResourceKind | None, body: Mapping[str, Any] | None) -> _ListParams:
        """Query parameters (GET) or a SearchRequest body (POST .search, RFC 7644 §3.4.3)."""
        if body is not None:
            schemas = body.get("schemas")
            if schemas is not None and (
                not isinstance(schemas, list) or SEARCH_REQUEST.casefold() not in {str(s).casefold() for s in schemas}
            ):
                raise ScimError(400, f"a search body must name {SEARCH_REQUEST}", scim_type="invalidSyntax")
            raw: Mapping[str, Any] = body
        else:
            raw = call.request.query_params
        filter_text = _optional_str(raw, "filter")
        sort_by = _optional_str(raw, "sortBy")
        order = (_optional_str(raw, "sortOrder") or "ascending").casefold()
        if order not in {"ascending", "descending"}:
            raise ScimError(400, "sortOrder must be ascending or descending", scim_type="invalidValue")
        start_index = max(_optional_int(raw, "startIndex") or 1, 1)
        raw_count = count = _optional_int(raw, "count")
        if count is not None:
            count = min(max(count, 0), self._settings.max_results)
        cursor = raw.get("cursor")
        if cursor is not None and (not isinstance(cursor, str) or _CURSOR.fullmatch(cursor) is None):
            raise ScimError(400, "cursor must be a cursor this service issued", scim_type="invalidCursor")
        attributes = _names(raw, "attributes")
        excluded = _names(raw, "excludedAttributes")
        chosen = selection(attributes, excluded, kind.schema) if kind is not None else Selection()
        return _ListParams(
            filter=filter_text,
            sort_by=sort_by,
            descending=order == "descending",
            start_index=start_index,
            count=count,
            raw_count=raw_count,
            cursor=cursor,
            chosen=chosen,
        )

    def chosen(self, call: _Call, kind: ResourceKind) -> Selection:
        params = call.request.query_params
        return selection(_names(params, "attributes"), _names(params, "excludedAttributes"), kind.schema)

    # --- queries ----------------------------------------------------------------------------

    async def find(
        self,
        call: _Call,
        kind: ResourceKind,
        params: _ListParams,
        page: IndexPage | CursorPage,
        compiled: Filter | None = None,
    ) -> tuple[list[dict[str, Any]], Page[Any]]:
        if compiled is None and params.filter:
            compiled = compile_filter(params.filter, kind.schema, lenient_booleans=call.policy.lenient_values)
        sort = Sort(path=_sort_path(kind, params.sort_by), descending=params.descending)
        projection = params.chosen.projection(kind.schema)
        query = Query(filter=compiled, sort=sort, page=page, projection=projection)
        if kind is user_kind:
            users = await call.tenant.users.find_views(query, groups=_shows_groups(params.chosen))
            rendered_users = [_render_view(call, v, params.chosen) for v in users.items]
            return rendered_users, users
        groups = await call.tenant.groups.find(query)
        members = (
            await call.tenant.memberships.members_of([g.id for g in groups.items])
            if projection.members and groups.items
            else {}
        )
        names = (
            await _member_names(call, [m for ms in members.values() for m in ms])
            if params.chosen.returns("members", "display")
            else {}
        )
        rendered = [render_group(g, members.get(g.id, []), call.base_url, params.chosen, names) for g in groups.items]
        return rendered, groups

    async def list_resources(self, call: _Call, kind: ResourceKind, body: Mapping[str, Any] | None) -> Response:
        params = self.list_params(call, kind, body)
        count = self._settings.max_results if params.count is None else params.count
        if params.cursor is not None:
            return await self.list_by_cursor(call, kind, params)
        compiled: Filter | None = None
        if kind is group_kind and params.filter:
            check = membership_check(params.filter)
            if check is not None:
                group_id, member_id = check
                member_of = (await call.tenant.memberships.groups_of([member_id])).get(member_id, [])
                compiled = (
                    compile_filter(f"id eq {json.dumps(group_id)}", kind.schema) if group_id in member_of else NEVER
                )
        page_of = IndexPage(start_index=params.start_index, count=count)
        items, page = await self.find(call, kind, params, page_of, compiled)
        return _list_response(items, page.total or 0, params.start_index)

    async def list_by_cursor(self, call: _Call, kind: ResourceKind, params: _ListParams) -> Response:
        """RFC 9865 §2: an empty ``cursor`` asks for the first page; later ones come from
        ``nextCursor``/``previousCursor``, with the same ``count``."""
        maximum = self._settings.max_results
        if params.raw_count is not None and not 0 <= params.raw_count <= maximum:
            raise ScimError(400, f"count must be between 0 and {maximum}", scim_type="invalidCount")
        count = maximum if params.count is None else params.count
        bound = CursorSeal.fingerprint(
            call.auth.tenant.id, kind.name, params.filter, params.sort_by, str(params.descending)
        )
        page: CursorPage
        if params.cursor:
            opened = self.cursors.open(params.cursor, query=bound, count=count)
            page = CursorPage(cursor=opened.position, count=count, backwards=opened.backwards)
        else:
            page = CursorPage(count=count)
        items, found = await self.find(call, kind, params, page)
        body: dict[str, Any] = {
            "schemas": [LIST_RESPONSE],
            "totalResults": found.total or 0,
            "itemsPerPage": len(items),
            "Resources": items,
        }
        if found.next_cursor is not None:
            body["nextCursor"] = self.cursors.seal(found.next_cursor, backwards=False, query=bound, count=count)
        if found.previous_cursor is not None:
            body["previousCursor"] = self.cursors.seal(found.previous_cursor, backwards=True, query=bound, count=count)
        return ScimResponse(body)

    async def search_root(self, call: _Call) -> Response:
        """POST /.search (RFC 7644 §3.4.3): users first, then groups, paged as one list.

        A filter attribute only one resource type has evaluates to false on the other
        (§3.4.2.1); one that neither has is ``invalidFilter``.
        """
        body = await self.body(call.request)
        params = self.list_params(call, None, body)
        count = self._settings.max_results if params.count is None else params.count
        kinds = (user_kind, group_kind)
        compiled: dict[str, Filter | None] = {}
        missing: list[frozenset[str]] = []
        for kind in kinds:
            if params.filter:
                node, unknown = compile_lenient(params.filter, kind.schema)
                compiled[kind.name] = node
                missing.append(unknown)
            else:
                compiled[kind.name] = None
        if missing and (missing[0] & missing[1]):
            raise ScimError(
                400, f"no resource type has {sorted(missing[0] & missing[1])[0]!r}", scim_type="invalidFilter"
            )
        results: list[dict[str, Any]] = []
        total = 0
        offset = params.start_index - 1
        for kind in kinds:
            wanted = max(count - len(results), 0)
            start = max(offset - total, 0) + 1
            try:
                chosen = self.list_params(call, kind, body).chosen
            except ScimError:
                chosen = Selection()  # the attributes asked for belong to the other resource type
            sortable = _sortable(kind, params.sort_by)
            kind_params = replace(params, sort_by=params.sort_by if sortable else None, chosen=chosen)
            items, found = await self.find(
                call, kind, kind_params, IndexPage(start_index=start, count=wanted), compiled[kind.name]
            )
            results.extend(items)
            total += found.total or 0
        return _list_response(results, total, params.start_index)

    # --- users ------------------------------------------------------------------------------

    async def get_user(self, call: _Call) -> Response:
        chosen = self.chosen(call, user_kind)
        projection = chosen.projection(user_kind.schema)
        view = await call.tenant.users.get_view(_id(call), projection, groups=_shows_groups(chosen))
        if _not_modified(call, view.user.version):
            return _no_change(view.user.version)
        return _resource(call, _render_view(call, view, chosen), view.user.version)

    # Every write reads its parameters (``attributes``...) before it writes: a request refused
    # for a bad parameter must not have changed anything.

    async def create_user(self, call: _Call) -> Response:
        chosen = self.chosen(call, user_kind)
        attributes = user_attributes(await self.body(call.request), lenient=call.policy.lenient_values)
        user = await call.bus.dispatch(call.context, CreateUser(attributes=attributes))
        managers = await _manager_names(call, [user])
        return _created(call, render_user(user, call.base_url, chosen, (), managers), user)

    async def replace_user(self, call: _Call) -> Response:
        chosen = self.chosen(call, user_kind)
        attributes = user_attributes(await self.body(call.request), lenient=call.policy.lenient_values)
        command = ReplaceUser(user_id=_id(call), attributes=attributes, expected_version=_expected_version(call))
        user = await call.bus.dispatch(call.context, command)
        return await self._render_user(call, user, chosen)

    async def patch_user(self, call: _Call) -> Response:
        chosen = self.chosen(call, user_kind)
        operations = user_patch(await self.body(call.request), call.policy)
        command = PatchUser(user_id=_id(call), operations=operations, expected_version=_expected_version(call))
        user = await call.bus.dispatch(call.context, command)
        if _minimal(call):
            return _no_content(user.version)
        return await self._render_user(call, user, chosen)

    async def _render_user(self, call: _Call, user: User, chosen: Selection) -> Response:
        """The user a write returned, with its groups and manager's name read in one query."""
        view = await call.tenant.users.get_view(user.id, groups=_shows_groups(chosen))
        managers = {user.manager_id: view.manager_name} if user.manager_id and view.manager_name else {}
        return _resource(call, render_user(user, call.base_url, chosen, view.group_ids, managers), user.version)

    async def delete_user(self, call: _Call) -> Response:
        await call.bus.dispatch(call.context, DeleteUser(user_id=_id(call), expected_version=_expected_version(call)))
        return Response(status_code=204)

    # --- groups -----------------------------------------------------------------------------

    async def _render_group(
        self, call: _Call, group: Group, chosen: Selection, *, members_by_default: bool
    ) -> Response:
        projection = chosen.projection(group_kind.schema)
        wants_members = projection.members if (members_by_default or chosen.include) else False
        members = await call.tenant.memberships.members(group.id) if wants_members else None
        names = await _member_names(call, members or []) if chosen.returns("members", "display") else {}
        return _resource(call, render_group(group, members, call.base_url, chosen, names), group.version)

    async def get_group(self, call: _Call) -> Response:
        chosen = self.chosen(call, group_kind)
        projection = chosen.projection(group_kind.schema)
        group = await call.tenant.groups.get(_id(call), projection)
        if _not_modified(call, group.version):
            return _no_change(group.version)
        members = await call.tenant.memberships.members(group.id) if projection.members else None
        names = await _member_names(call, members or []) if chosen.returns("members", "display") else {}
        return _resource(call, render_group(group, members, call.base_url, chosen, names), group.version)

    async def create_group(self, call: _Call) -> Response:
        chosen = self.chosen(call, group_kind)
        attributes, member_ids = group_attributes(await self.body(call.request), lenient=call.policy.lenient_values)
        group = await call.bus.dispatch(call.context, CreateGroup(attributes=attributes, member_ids=member_ids))
        response = await self._render_group(call, group, chosen, members_by_default=True)
        response.status_code = 201
        response.headers["Location"] = f"{call.base_url}/Groups/{group.id}"
        return response

    async def replace_group(self, call: _Call) -> Response:
        chosen = self.chosen(call, group_kind)
        attributes, member_ids = group_attributes(await self.body(call.request), lenient=call.policy.lenient_values)
        command = ReplaceGroup(
            group_id=_id(call), attributes=attributes, member_ids=member_ids, expected_version=_expected_version(call)
        )
        group = await call.bus.dispatch(call.context, command)
        return await self._render_group(call, group, chosen, members_by_default=True)

    async def patch_group(self, call: _Call) -> Response:
        """PATCH a group; 204 unless the client asks for the resource (RFC 7644 §3.5.2 lets the
        server choose). Entra expects 204, and a body would cost reads a member change never needs.
        Asked for with ``Prefer: return=representation`` or ``attributes``/``excludedAttributes``,
        the body carries ``members`` only when ``attributes`` names them."""
        chosen = self.chosen(call, group_kind)
        changes = group_patch(await self.body(call.request), call.policy)
        command = PatchGroup(
            group_id=_id(call),
            operations=tuple(changes.operations),
            add_member_ids=tuple(changes.add_ids),
            remove_member_ids=tuple(changes.remove_ids),
            remove_all_members=changes.remove_all,
            expected_version=_expected_version(call),
        )
        group = await call.bus.dispatch(call.context, command)
        if not _wants_representation(call):
            return _no_content(group.version)
        return await self._render_group(call, group, chosen, members_by_default=False)

    async def delete_group(self, call: _Call) -> Response:
        command = DeleteGroup(group_id=_id(call), expected_version=_expected_version(call))
        await call.bus.dispatch(call.context, command)
        return Response(status_code=204)

    # --- everything else --------------------------------------------------------------------

    async def bulk(self, call: _Call) -> Response:
        """POST /Bulk (RFC 7644 §3.7); limits as ServiceProviderConfig declares them (413 above)."""
        body = await self.body(call.request)
        limits = BulkLimits(
            max_operations=self._settings.bulk_max_operations, max_payload_size=self._settings.max_payload_size
        )
        result = await run_bulk(
            body, bus=call.bus, context=call.context, policy=call.policy, base_url=call.base_url, limits=limits
        )
        return ScimResponse(result)

    async def me(self, call: _Call) -> Response:
        raise ScimError(501, "/Me is not supported: provisioning credentials are not users")

    async def service_provider_config(self, call: _Call) -> Response:
        return ScimResponse(
            discovery.service_provider_config(
                call.base_url,
                max_results=self._settings.max_results,
                max_payload_size=self._settings.max_payload_size,
                cursor_timeout=self._settings.cursor_timeout_seconds,
                bulk_max_operations=self._settings.bulk_max_operations,
                limits=LIMITS,
            )
        )

    async def resource_types(self, call: _Call) -> Response:
        return _discovery_list(call, discovery.resource_types(call.base_url))

    async def schemas(self, call: _Call) -> Response:
        return _discovery_list(call, discovery.schemas(call.base_url))


# --- helpers --------------------------------------------------------------------------------


def _outcome(status: int) -> str:
    if status < 400:
        return "ok"
    if status == 429:
        return "throttled"
    if status in (401, 403):
        return "unauthorized"
    return "client_error" if status < 500 else "server_error"


def _log_request(
    request: Request,
    methods: Mapping[str, Handler],
    status: int,
    who: Mapping[str, str],
    correlation_id: str,
    started: float,
) -> None:
    """One structured line per request: who (tenant, credential), what (operation), and how it
    ended, so an admin can see why an Entra job would be quarantined (404s, 401s, 429s, 5xx)."""
    handler = methods.get(request.method)
    fields = {
        "tenant": who.get("tenant"),
        "credential": who.get("credential"),
        "operation": getattr(handler, "__name__", None) if handler is not None else None,
        "method": request.method,
        "path": request.url.path,
        "status": status,
        "outcome": _outcome(status),
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        "request_id": correlation_id,
    }
    level = logging.WARNING if status >= 500 or status == 429 else logging.INFO
    request_log.log(level, json.dumps(fields, sort_keys=True), extra={"scim_request": fields})


def _optional_str(raw: Mapping[str, Any], name: str) -> str | None:
    value = raw.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ScimError(400, f"{name} must be a string", scim_type="invalidValue")
    return value


def _optional_int(raw: Mapping[str, Any], name: str) -> int | None:
    value = raw.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    # ASCII digits only: str.isdigit() also takes "²" and other digits int() refuses.
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()) is not None:
        return int(value)
    raise ScimError(400, f"{name} must be an integer", scim_type="invalidValue")


def _names(raw: Mapping[str, Any], name: str) -> list[str] | None:
    value = raw.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        names = value.split(",", MAX_ATTRIBUTE_NAMES)
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        names = value
    else:
        raise ScimError(400, f"{name} must be a list of attribute names", scim_type="invalidValue")
    if len(names) > MAX_ATTRIBUTE_NAMES:
        raise ScimError(400, f"{name} may name at most {MAX_ATTRIBUTE_NAMES} attributes", scim_type="tooMany")
    return [check_text(name, n) for n in names]


def _sort_path(kind: ResourceKind, sort_by: str | None) -> tuple[str, ...] | None:
    if not sort_by:
        return None
    try:
        names = split_urn(sort_by.strip())
        folded = tuple(n.casefold() for n in names)
        for meta_path in META_PATHS:
            if folded == tuple(p.casefold() for p in meta_path):
                return meta_path
        return kind.schema.resolve(names)[0]
    except DomainError as error:  # InvalidPath: no such attribute; InvalidValue: an unknown URN
        raise ScimError(400, f"cannot sort by {sort_by!r}: {error.message}", scim_type="invalidValue") from None


def _shows_groups(chosen: Selection) -> bool:
    """Whether ``groups`` is returned, and so read, with users."""
    return chosen.projection(user_kind.schema).includes("groups")


def _render_view(call: _Call, view: UserView, chosen: Selection) -> dict[str, Any]:
    user = view.user
    managers = {user.manager_id: view.manager_name} if user.manager_id and view.manager_name else {}
    return render_user(user, call.base_url, chosen, view.group_ids, managers)


async def _manager_names(call: _Call, users: Sequence[User]) -> dict[str, str]:
    """The display names of the managers of ``users`` (one read, only when some have a manager)."""
    ids = manager_ids(users)
    if not ids:
        return {}
    found = await call.tenant.users.get_many(ids)
    return {m.id: name for m in found if isinstance(name := m.attributes.get("displayName"), str)}


def _sortable(kind: ResourceKind, sort_by: str | None) -> bool:
    try:
        _sort_path(kind, sort_by)
    except ScimError:
        return False
    return True


def _id(call: _Call) -> str:
    """The resource id in the path; one no resource could have (a CR/LF, a lone surrogate, a
    kilobyte of text) is a 404 here, so it never reaches the store."""
    value = call.request.path_params["id"]
    assert isinstance(value, str)
    if not valid_id(value):
        raise ScimError(404, "no such resource")
    return value


def _expected_version(call: _Call) -> int | None:
    """If-Match (RFC 7644 §3.14, RFC 7232 §3.1): the version the write is conditional on."""
    header = call.request.headers.get("if-match")
    if header is None or header.strip() == "*":
        return None
    for candidate in header.split(","):
        version = parse_etag(candidate)
        if version is not None:
            return version
    raise ScimError(412, "If-Match names no version of this resource")


def _not_modified(call: _Call, version: int) -> bool:
    header = call.request.headers.get("if-none-match")
    if header is None:
        return False
    if header.strip() == "*":
        return True
    return any(parse_etag(candidate) == version for candidate in header.split(","))


def _no_change(version: int) -> Response:
    return Response(status_code=304, headers={"ETag": etag(version)})


def _no_content(version: int) -> Response:
    return Response(status_code=204, headers={"ETag": etag(version)})


def _minimal(call: _Call) -> bool:
    """RFC 7240: ``Prefer: return=minimal`` asks for no body."""
    return "return=minimal" in call.request.headers.get("prefer", "").replace(" ", "").casefold()


def _wants_representation(call: _Call) -> bool:
    params = call.request.query_params
    if "attributes" in params or "excludedAttributes" in params:
        return True
    return "return=representation" in call.request.headers.get("prefer", "").replace(" ", "").casefold()


def _resource(call: _Call, body: dict[str, Any], version: int) -> Response:
    return ScimResponse(body, headers={"ETag": etag(version)})


def _created(call: _Call, body: dict[str, Any], resource: User | Group) -> Response:
    location = f"{call.base_url}/{'Users' if isinstance(resource, User) else 'Groups'}/{resource.id}"
    return ScimResponse(body, status_code=201, headers={"ETag": etag(resource.version), "Location": location})


def _list_response(items: list[dict[str, Any]], total: int, start_index: int) -> Response:
    return ScimResponse(
        {
            "schemas": [LIST_RESPONSE],
            "totalResults": total,
            "startIndex": start_index,
            "itemsPerPage": len(items),
            "Resources": items,
        }
    )


def _discovery_list(call: _Call, resources: list[dict[str, Any]]) -> Response:
    wanted = call.request.path_params.get("id")
    if wanted is not None:
        for resource in resources:
            if str(resource["id"]).casefold() == str(wanted).casefold():
                return ScimResponse(resource)
        raise ScimError(404, f"no such resource {wanted!r}")
    return _list_response(resources, len(resources), 1)


async def _not_found(scope: Scope, receive: Receive, send: Send) -> None:
    response = error_response(404, "no such SCIM endpoint")
    await response(scope, receive, send)


async def _member_names(call: _Call, memberships: Sequence[Membership]) -> dict[str, str]:
    """The ``display`` of every member of a page of groups: one query per member type (users,
    nested groups) for the whole page, never one per member."""
    user_ids = sorted({m.member_id for m in memberships if m.member_type is MemberType.USER})
    group_ids = sorted({m.member_id for m in memberships if m.member_type is not MemberType.USER})
    names = await call.tenant.users.display_names(user_ids) if user_ids else {}
    if group_ids:
        names.update(await call.tenant.groups.display_names(group_ids))
    return names


class _AnyMethod:
    """An ASGI app around a request handler (Starlette routes a plain function for GET only)."""

    def __init__(self, handle: Callable[[Request], Awaitable[Response]]) -> None:
        self._handle = handle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self._handle(Request(scope, receive))
        await response(scope, receive, send)


def _route_path(scope: Scope) -> str:
    """The path below the application's root path (as Starlette's routing computes it)."""
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    return path[len(root_path) :] if root_path and path.startswith(root_path + "/") else path


class _ScimMount(Mount):
    """:data:`PREFIX` and every path under it, whatever it holds, reach the SCIM router.

    Starlette's own Mount pattern stops at a line break, so ``/Users/a%0D%0Ab`` would fall through
    to the application's plain-text 404, and ``/scim/v2`` would be redirected."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http":
            path = _route_path(scope)
            if path == PREFIX or path.startswith(PREFIX + "/"):
                root_path = scope.get("root_path", "")
                return Match.FULL, {
                    "path_params": dict(scope.get("path_params", {})),
                    "app_root_path": scope.get("app_root_path", root_path),
                    "root_path": root_path + PREFIX,
                    "endpoint": self.app,
                }
        return super().matches(scope)


def scim_mount(
    get_store: Callable[[], Store], get_bus: Callable[[], CommandBus], settings: ScimSettings | None = None
) -> Mount:
    """The SCIM endpoints, mounted at :data:`PREFIX`; ``get_store`` gives the store at request time."""
    service = _Service(get_store, get_bus, settings or ScimSettings())
    s = service
    all_methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]

    async def list_users(call: _Call) -> Response:
        return await s.list_resources(call, user_kind, None)

    async def list_groups(call: _Call) -> Response:
        return await s.list_resources(call, group_kind, None)

    async def search_users(call: _Call) -> Response:
        return await s.list_resources(call, user_kind, await s.body(call.request))

    async def search_groups(call: _Call) -> Response:
        return await s.list_resources(call, group_kind, await s.body(call.request))

    def route(path: str, methods: Mapping[str, Handler]) -> Route:
        # An ASGI endpoint with methods=None receives every method, so OPTIONS, TRACE or any other
        # gets the endpoint's SCIM 405 with Allow instead of Starlette's plain-text one.
        return Route(path, _AnyMethod(s.endpoint(methods)), methods=None)

    routes = [
        route("/Users", {"GET": list_users, "POST": s.create_user}),
        route("/Users/.search", {"POST": search_users}),
        route(
            "/Users/{id}",
            {"GET": s.get_user, "PUT": s.replace_user, "PATCH": s.patch_user, "DELETE": s.delete_user},
        ),
        route("/Groups", {"GET": list_groups, "POST": s.create_group}),
        route("/Groups/.search", {"POST": search_groups}),
        route(
            "/Groups/{id}",
            {"GET": s.get_group, "PUT": s.replace_group, "PATCH": s.patch_group, "DELETE": s.delete_group},
        ),
        route("/.search", {"POST": s.search_root}),
        route("/Bulk", {"POST": s.bulk}),
        route("/Me", dict.fromkeys(all_methods, s.me)),
        route("/ServiceProviderConfig", {"GET": s.service_provider_config}),
        route("/ResourceTypes", {"GET": s.resource_types}),
        route("/ResourceTypes/{id}", {"GET": s.resource_types}),
        route("/Schemas", {"GET": s.schemas}),
        route("/Schemas/{id}", {"GET": s.schemas}),
    ]
    # No slash redirects: ``/Users/`` and ``/Users//`` are SCIM 404s, never a 307 elsewhere.
    return _ScimMount(PREFIX, app=Router(routes=routes, default=_not_found, redirect_slashes=False))
