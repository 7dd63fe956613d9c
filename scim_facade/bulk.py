"""Bulk operations (RFC 7644 §3.7): many writes in one request, with bulkId cross-references.

Operations run in order, each as its own command (RFC 7644 does not make a bulk request atomic).
A value ``"bulkId:<id>"`` anywhere in ``data`` or ``path`` stands for the id of the resource an
earlier operation with that ``bulkId`` created; an operation whose reference is not resolved yet
is retried after the others (so a group may be listed before the user it contains), and one that
can never be resolved fails with 409. ``failOnErrors`` stops the run after that many errors.

Cost: the references of each operation are found once, by one walk of its ``data`` and
``path``; an operation that waits is woken only when the last resource it names is created, so
a request costs in proportion to its size whatever the order of its operations (resolving by
repeated passes would cost operations x passes). Nesting is bounded before this module sees the
body (:data:`~scim_facade.request_limits.MAX_JSON_DEPTH`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scim2_models import BulkRequest, BulkResponse
from starlette.responses import Response

from identity_store import CommandBus, DomainError, RequestContext
from identity_store.domain.extensions import CORE_ONLY
from identity_store.domain.patch import PatchPolicy
from scim_facade import commands
from scim_facade.calls import Call
from scim_facade.errors import ScimError, ScimResponse, from_domain
from scim_facade.request_limits import valid_id
from scim_facade.resources import etag, parse_etag

__all__ = [
    "BULK_REQUEST",
    "BULK_RESPONSE",
    "BulkLimits",
    "Unresolved",
    "post_bulk",
    "references",
    "run_bulk",
    "substitute",
]

BULK_REQUEST = str(BulkRequest.__schema__)
BULK_RESPONSE = str(BulkResponse.__schema__)
_PREFIX = "bulkId:"


@dataclass(frozen=True, slots=True, kw_only=True)
class BulkLimits:
    max_operations: int
    max_payload_size: int


class Unresolved(Exception):
    """A ``bulkId:`` reference to a resource no operation has created (yet)."""

    def __init__(self, bulk_id: str) -> None:
        super().__init__(bulk_id)
        self.bulk_id = bulk_id


def substitute(value: Any, created: Mapping[str, str]) -> Any:
    """``value`` with every ``"bulkId:<id>"`` replaced by the id ``created`` maps it to (§3.7.2)."""
    if isinstance(value, str) and value.startswith(_PREFIX):
        key = value[len(_PREFIX) :]
        if key not in created:
            raise Unresolved(key)
        return created[key]
    if isinstance(value, list):
        return [substitute(v, created) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, created) for k, v in value.items()}
    return value


def references(value: Any) -> set[str]:
    """The bulkIds that ``value`` refers to, found without recursion."""
    found: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if item.startswith(_PREFIX):
                found.add(item[len(_PREFIX) :])
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
    return found


def _path(path: str, created: Mapping[str, str]) -> tuple[str, str | None]:
    parts = [p for p in path.split("/") if p]
    if not parts or parts[0] not in {"Users", "Groups"} or len(parts) > 2:
        raise ScimError(400, f"unsupported bulk path {path!r}", scim_type="invalidPath")
    resource_id = substitute(parts[1], created) if len(parts) == 2 else None
    if resource_id is not None and not valid_id(resource_id):
        raise ScimError(404, "no such resource")
    return parts[0], resource_id


@dataclass(frozen=True, slots=True, kw_only=True)
class _Target:
    bus: CommandBus
    context: RequestContext
    policy: PatchPolicy
    base_url: str


async def _execute(
    target: _Target, method: str, path: str, data: Any, version: object, created: dict[str, str]
) -> tuple[int, str | None, int | None]:
    """Run one operation; its status, the resource id and its new version."""
    endpoint, resource_id = _path(path, created)
    data = substitute(data, created)
    if version is not None and not isinstance(version, str):
        raise ScimError(400, "version must be an entity tag string", scim_type="invalidSyntax")
    expected = parse_etag(version) if version else None
    if method != "DELETE" and not isinstance(data, dict):
        raise ScimError(400, "data must be an object", scim_type="invalidSyntax")
    users = endpoint == "Users"
    policy = target.policy
    # The tenant's extensions, as the request read them: a bulk body maps URNs as an endpoint's does.
    schemas = target.context.schemas or CORE_ONLY
    if method == "POST" and resource_id is None:
        created_resource = await target.bus.dispatch(
            target.context,
            commands.create_user(data, policy, schemas) if users else commands.create_group(data, policy, schemas),
        )
        return 201, created_resource.id, created_resource.version
    if resource_id is None or method == "POST":
        raise ScimError(405, f"{method} is not supported on {path}")
    if method in ("PUT", "PATCH"):
        if users:
            write_user = commands.replace_user if method == "PUT" else commands.patch_user
            user = await target.bus.dispatch(target.context, write_user(resource_id, data, policy, expected, schemas))
            return 200, user.id, user.version
        write_group = commands.replace_group if method == "PUT" else commands.patch_group
        group = await target.bus.dispatch(target.context, write_group(resource_id, data, policy, expected, schemas))
        return 200, group.id, group.version
    if method == "DELETE":
        if users:
            await target.bus.dispatch(target.context, commands.delete_user(resource_id, expected))
        else:
            await target.bus.dispatch(target.context, commands.delete_group(resource_id, expected))
        return 204, None, None
    raise ScimError(405, f"{method} is not a bulk method")


def _operations(body: Mapping[str, Any], limits: BulkLimits) -> list[dict[str, Any]]:
    """The operations of a BulkRequest (§3.7.1), read by hand: scim2-models' ``BulkRequest``
    validates each ``data`` as a User, Group or PatchOp before its ``bulkId`` references can be
    resolved, and would refuse what Entra sends and the endpoints accept (capitalised ops,
    ``"False"`` strings, attributes RFC 7643 does not define)."""
    schemas = body.get("schemas")
    if not isinstance(schemas, list) or BULK_REQUEST.casefold() not in {str(s).casefold() for s in schemas}:
        raise ScimError(400, f"a bulk body must name {BULK_REQUEST}", scim_type="invalidSyntax")
    operations = body.get("Operations")
    if not isinstance(operations, list) or not all(isinstance(o, dict) for o in operations):
        raise ScimError(400, "Operations must be a list of objects", scim_type="invalidSyntax")
    if len(operations) > limits.max_operations:
        raise ScimError(413, f"a bulk request may hold at most {limits.max_operations} operations")
    for operation in operations:
        method = operation.get("method")
        if not isinstance(method, str) or not isinstance(operation.get("path"), str):
            raise ScimError(400, "each operation needs a method and a path", scim_type="invalidSyntax")
        bulk_id = operation.get("bulkId")
        if method.upper() == "POST" and not isinstance(bulk_id, str):
            raise ScimError(400, "a POST operation needs a bulkId", scim_type="invalidSyntax")
    return operations


async def run_bulk(
    body: Mapping[str, Any],
    *,
    bus: CommandBus,
    context: RequestContext,
    policy: PatchPolicy,
    base_url: str,
    limits: BulkLimits,
) -> dict[str, Any]:
    """The BulkResponse for a BulkRequest body (RFC 7644 §3.7.3)."""
    operations = _operations(body, limits)
    fail_on_errors = body.get("failOnErrors")
    if fail_on_errors is not None and (not isinstance(fail_on_errors, int) or fail_on_errors < 1):
        raise ScimError(400, "failOnErrors must be a positive integer", scim_type="invalidValue")
    target = _Target(bus=bus, context=context, policy=policy, base_url=base_url)
    created: dict[str, str] = {}
    results: dict[int, dict[str, Any]] = {}
    errors = 0
    # What each operation waits for: bulkIds named in it that no earlier success has created.
    missing: dict[int, set[str]] = {}
    waiters: defaultdict[str, list[int]] = defaultdict(list)
    for index, operation in enumerate(operations):
        names = references([operation["path"], operation.get("data")])
        if names:
            missing[index] = names
            for name in names:
                waiters[name].append(index)
    pending = [i for i in range(len(operations)) if i not in missing]
    while pending and not (fail_on_errors and errors >= fail_on_errors):
        woken: list[int] = []
        for index in pending:
            if fail_on_errors and errors >= fail_on_errors:
                break
            operation = operations[index]
            method = str(operation["method"]).upper()
            result: dict[str, Any] = {"method": method}
            if isinstance(operation.get("bulkId"), str):
                result["bulkId"] = operation["bulkId"]
            failure: ScimError | None = None
            try:
                status, resource_id, version = await _execute(
                    target, method, operation["path"], operation.get("data"), operation.get("version"), created
                )
            except Unresolved:  # pragma: no cover - every reference is known to be created by now
                failure = ScimError(409, "a bulkId reference could not be resolved", scim_type="invalidValue")
                status, resource_id, version = failure.status, None, None
            except ScimError as error:
                status, resource_id, version, failure = error.status, None, None, error
            except DomainError as error:
                failure = from_domain(error, if_match=bool(operation.get("version")))
                status, resource_id, version = failure.status, None, None
            if failure is not None:
                errors += 1
                result["response"] = failure.body()
            else:
                if method == "POST" and resource_id is not None:
                    bulk_id = str(operation["bulkId"])
                    created[bulk_id] = resource_id
                    for waiting in waiters.pop(bulk_id, ()):
                        names = missing[waiting]
                        names.discard(bulk_id)
                        if not names:
                            del missing[waiting]
                            woken.append(waiting)
                endpoint = str(operation["path"]).strip("/").split("/")[0]
                if resource_id is not None:
                    result["location"] = f"{base_url}/{endpoint}/{resource_id}"
                if version is not None:
                    result["version"] = etag(version)
            result["status"] = str(status)
            results[index] = result
        pending = sorted(woken)
    if not (fail_on_errors and errors >= fail_on_errors):
        for index in sorted(missing):  # a reference nothing in the request creates (or a cycle)
            operation = operations[index]
            failure = ScimError(409, "a bulkId reference could not be resolved", scim_type="invalidValue")
            results[index] = {
                "method": str(operation["method"]).upper(),
                **({"bulkId": operation["bulkId"]} if isinstance(operation.get("bulkId"), str) else {}),
                "status": "409",
                "response": failure.body(),
            }
    # Built by hand: scim2-models' BulkOperation cannot be instantiated for a union of User and
    # Group in 0.12, and its ``method`` enumeration cannot echo a method we refuse with 405.
    # Each failed operation's ``response`` is scim2-models' Error (:meth:`ScimError.body`).
    return {"schemas": [BULK_RESPONSE], "Operations": [results[i] for i in sorted(results)]}


async def post_bulk(call: Call) -> Response:
    """POST /Bulk (RFC 7644 §3.7); limits as ServiceProviderConfig declares them (413 above)."""
    body = await call.body()
    settings = call.settings
    limits = BulkLimits(max_operations=settings.bulk_max_operations, max_payload_size=settings.max_payload_size)
    result = await run_bulk(
        body, bus=call.bus, context=call.context, policy=call.policy, base_url=call.base_url, limits=limits
    )
    _note_failures(call, result)
    return ScimResponse(result)


def _note_failures(call: Call, result: Mapping[str, Any]) -> None:
    """A BulkResponse is 200 whatever its operations did: the activity log says how many failed,
    with the first failure's ``scimType`` and ``detail``."""
    activity = call.activity
    if activity is None:
        return
    answered = [o for o in result.get("Operations", []) if isinstance(o, Mapping)]
    failed = [o for o in answered if int(str(o.get("status", "200"))) >= 400]
    if not failed:
        return
    first = failed[0].get("response")
    first = first if isinstance(first, Mapping) else {}
    activity.scim_type = first.get("scimType")
    activity.detail = f"{len(failed)} of {len(answered)} operations failed; the first: {first.get('detail')}"
