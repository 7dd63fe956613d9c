"""A tenant's export and import: one JSON object per line, streamed both ways in batches.

The file (``identity-store export --tenant NAME > tenant.jsonl``)::

    {"format": "identity-store-tenant", "version": 1, "exported": "...", "withCredentials": false}
    {"kind": "tenant", "document": {...}}            name, created, settings (and the tenant's id)
    {"kind": "sequence", "document": {...}}          the event sequence reached, pending fan-outs
    {"kind": "schema_extensions", "document": {...}} the tenant's extension schemas (custom attributes)
    {"kind": "users", "document": {...}}             each document exactly as stored, without
    {"kind": "groups", "document": {...}}            its ``tenant`` key (the importer stamps it
    {"kind": "memberships", "document": {...}}       through its own TenantScope)
    {"kind": "events", "document": {...}}
    {"kind": "fan_outs", "document": {...}}
    {"kind": "oauth_clients", "document": {...}}     only with --with-credentials
    {"kind": "credentials", "document": {...}}       only with --with-credentials: digests, never secrets
    {"kind": "end", "counts": {"users": 2, ...}}     a file without it is truncated, and refused

Values are MongoDB Extended JSON (relaxed), so dates, ObjectIds and binary come back as the
same BSON types. Ids, versions (``v``, hence ETags), created/modified, attributes, password
hashes, memberships (with added-at and added-by), member counts and the event history are kept
as stored; the event sequence continues where it was, so a consumer's cursor stays valid.

The import goes into a tenant that does not exist yet, or exists with no resources (its own
tenant-administration events, such as its creation, are replaced by the exported history). It
is not one transaction (a tenant can be larger than one): if it fails midway, everything it
wrote is removed again, so it leaves nothing half imported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bson import json_util
from bson.json_util import JSONMode, JSONOptions
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from identity_store.domain.errors import DomainError, NotFound
from identity_store.domain.resources import new_id
from identity_store.mongo.documents import fold
from identity_store.mongo.errors import translate_errors
from identity_store.mongo.fan_outs import PENDING
from identity_store.mongo.positions import KINDS, recount
from identity_store.mongo.schema_extensions import MongoSchemaExtensions
from identity_store.mongo.scope import TENANT, TenantScope

__all__ = ["FORMAT", "VERSION", "TransferRefused", "Transferred", "export_tenant", "import_tenant"]

Document = dict[str, Any]

FORMAT = "identity-store-tenant"
VERSION = 1

#: The tenant collections in the order they are written: a membership after its group and members.
#: The extension schemas first: the users' and groups' search mirrors were folded as they declare.
RESOURCES = ("schema_extensions", "users", "groups", "memberships", "events", "fan_outs")
#: Exported only when asked for: OAuth clients and the credentials (digests) that act in the tenant.
CREDENTIALS = ("oauth_clients", "credentials")

#: Documents per insert (and per cursor batch): small enough to stay far from the 16 MB message.
BATCH_SIZE = 1000

_JSON = JSONOptions(json_mode=JSONMode.RELAXED, tz_aware=True, tzinfo=UTC)


class TransferRefused(DomainError):
    """The file or the target tenant does not allow the export or import; nothing was changed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Transferred:
    """What an export wrote or an import read: the tenant and the documents per collection."""

    tenant_id: str
    counts: dict[str, int] = field(default_factory=dict)


def _line(record: Document) -> str:
    return json_util.dumps(record, json_options=_JSON) + "\n"


@translate_errors
async def export_tenant(
    database: AsyncDatabase[Document],
    name: str,
    write: Callable[[str], object],
    *,
    with_credentials: bool = False,
    batch_size: int = BATCH_SIZE,
) -> Transferred:
    """Write tenant ``name`` to ``write`` one line at a time, reading each collection in batches."""
    tenant = await database["tenants"].find_one({"nameKey": fold(name)})
    if tenant is None:
        raise NotFound(f"tenant {name!r} not found")
    scope = TenantScope(tenant["_id"])
    write(
        _line(
            {
                "format": FORMAT,
                "version": VERSION,
                "exported": datetime.now(UTC),
                "withCredentials": with_credentials,
            }
        )
    )
    write(_line({"kind": "tenant", "document": tenant}))
    sequence = await database["event_sequences"].find_one({"_id": scope.tenant_id}) or {"seq": 0}
    write(_line({"kind": "sequence", "document": {"seq": sequence.get("seq", 0), PENDING: sequence.get(PENDING, 0)}}))
    counts: dict[str, int] = {}
    for collection in (*RESOURCES, *(CREDENTIALS if with_credentials else ())):
        counts[collection] = 0
        # In _id order: the stable order a resumed reader would need, served by (tenant, _id).
        cursor = database[collection].find(scope.filter(), batch_size=batch_size).sort("_id", 1)
        async for document in cursor:
            del document[TENANT]
            write(_line({"kind": collection, "document": document}))
            counts[collection] += 1
    write(_line({"kind": "end", "counts": counts}))
    return Transferred(tenant_id=scope.tenant_id, counts=counts)


def _parse(line: str, number: int) -> Document:
    try:
        record = json_util.loads(line, json_options=_JSON)
    except ValueError as error:
        raise TransferRefused(f"line {number} is not JSON: {error}") from None
    if not isinstance(record, dict):
        raise TransferRefused(f"line {number} is not a JSON object")
    return record


@translate_errors
async def import_tenant(
    database: AsyncDatabase[Document], name: str, lines: Iterable[str], *, batch_size: int = BATCH_SIZE
) -> Transferred:
    """Read an export from ``lines`` into tenant ``name`` (new, or existing with no resources)."""
    numbered = enumerate((line for line in lines if line.strip()), start=1)
    header = _parse(next((line for _, line in numbered), "{}"), 1)
    if header.get("format") != FORMAT:
        raise TransferRefused(f"not a tenant export (the first line names no {FORMAT!r} format)")
    if header.get("version") != VERSION:
        raise TransferRefused(
            f"export format version {header.get('version')!r} is not supported (this reads {VERSION})"
        )
    tenant_record = _parse(next((line for _, line in numbered), "{}"), 2)
    sequence_record = _parse(next((line for _, line in numbered), "{}"), 3)
    if tenant_record.get("kind") != "tenant" or sequence_record.get("kind") != "sequence":
        raise TransferRefused("the export's second and third lines must be the tenant and its sequence")
    target = await _target(database, name, tenant_record["document"])
    scope = TenantScope(target.tenant_id)
    try:
        counts = await _write_documents(database, scope, numbered, batch_size)
        # The filter indexes the tenant's extension schemas ask for are the target's to build.
        extensions = MongoSchemaExtensions(database, scope, None)
        for extension in await extensions.all():
            await extensions.ensure_indexes(extension)
        sequence = sequence_record["document"]
        await database["event_sequences"].update_one(
            {"_id": scope.tenant_id},
            {"$set": {"seq": int(sequence.get("seq", 0)), PENDING: int(sequence.get(PENDING, 0))}},
            upsert=True,
        )
        # Positions come as stored; the counts are the importer's own, computed from what it wrote.
        await recount(database, scope.tenant_id)
    except BaseException:
        await _undo(database, target)
        raise
    return Transferred(tenant_id=scope.tenant_id, counts=counts)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Target:
    """The tenant imported into, and what to put back if the import fails."""

    tenant_id: str
    created: bool
    replaced_events: list[Document] = field(default_factory=list)
    replaced_settings: Document | None = None
    replaced_sequence: int = 0


async def _target(database: AsyncDatabase[Document], name: str, exported: Document) -> _Target:
    """The tenant to import into: ``name`` if it has no resources, else a new one with the
    exported id and settings (a new id if that one is taken in this database)."""
    tenants = database["tenants"]
    existing = await tenants.find_one({"nameKey": fold(name)})
    if existing is not None:
        scope = TenantScope(existing["_id"])
        for collection in (*RESOURCES[:3], "fan_outs", *CREDENTIALS):
            if await database[collection].find_one(scope.filter(), {"_id": 1}) is not None:
                raise TransferRefused(
                    f"tenant {name!r} already has {collection.replace('_', ' ')}: import needs a new or empty tenant"
                )
        # Only its own administration events (its creation, its settings): the history replaces them.
        replaced = [event async for event in database["events"].find(scope.filter())]
        sequence = await database["event_sequences"].find_one({"_id": existing["_id"]}) or {}
        await database["events"].delete_many(scope.filter())
        await tenants.update_one({"_id": existing["_id"]}, {"$set": {"settings": exported.get("settings", {})}})
        return _Target(
            tenant_id=existing["_id"],
            created=False,
            replaced_events=replaced,
            replaced_settings=existing.get("settings", {}),
            replaced_sequence=int(sequence.get("seq", 0)),
        )
    tenant_id = exported["_id"]
    if await tenants.find_one({"_id": tenant_id}, {"_id": 1}) is not None:
        tenant_id = new_id()
    try:
        await tenants.insert_one(
            {
                "_id": tenant_id,
                "name": name,
                "nameKey": fold(name),
                "created": exported.get("created", datetime.now(UTC)),
                "settings": exported.get("settings", {}),
            }
        )
    except DuplicateKeyError:
        raise TransferRefused(
            f"cannot create tenant {name!r}: its name or its linked Entra tenant is taken in this database"
        ) from None
    return _Target(tenant_id=tenant_id, created=True)


async def _write_documents(
    database: AsyncDatabase[Document], scope: TenantScope, numbered: Iterable[tuple[int, str]], batch_size: int
) -> dict[str, int]:
    counts: dict[str, int] = {}
    batch: list[Document] = []
    batch_of: str | None = None

    async def flush() -> None:
        if batch_of is not None and batch:
            try:
                await database[batch_of].insert_many(batch, ordered=True)
            except BulkWriteError as error:
                raise TransferRefused(
                    f"{batch_of}: an id of the file exists in this database already "
                    "(ids are kept: import into another database, or after removing the tenant)"
                ) from error
            counts[batch_of] = counts.get(batch_of, 0) + len(batch)
            batch.clear()

    allowed = set(RESOURCES + CREDENTIALS)
    for number, line in numbered:
        record = _parse(line, number)
        kind = record.get("kind")
        if kind == "end":
            await flush()
            expected = record.get("counts", {})
            if {k: v for k, v in expected.items() if v} != {k: v for k, v in counts.items() if v}:
                raise TransferRefused(f"the file's counts {expected} do not match what it holds {counts}")
            return counts
        if kind not in allowed or not isinstance(record.get("document"), dict):
            raise TransferRefused(f"line {number}: unknown record kind {kind!r}")
        if kind != batch_of:
            await flush()
            batch_of = kind
        document = dict(record["document"])
        document.pop(TENANT, None)
        batch.append(scope.document(document))
        if len(batch) >= batch_size:
            await flush()
    raise TransferRefused("the file ends before its last line: the export is truncated")


async def _undo(database: AsyncDatabase[Document], target: _Target) -> None:
    """Remove what a failed import wrote: the tenant itself if the import created it, else put
    back the events and settings the tenant had."""
    scope = TenantScope(target.tenant_id)
    for collection in RESOURCES + CREDENTIALS:
        await database[collection].delete_many(scope.filter())
    if target.created:
        await database["tenants"].delete_one({"_id": scope.tenant_id})
        await database["event_sequences"].delete_one({"_id": scope.tenant_id})
        return
    if target.replaced_events:
        await database["events"].insert_many(target.replaced_events)
    await database["tenants"].update_one({"_id": scope.tenant_id}, {"$set": {"settings": target.replaced_settings}})
    await database["event_sequences"].update_one(
        {"_id": scope.tenant_id},
        {"$set": {"seq": target.replaced_sequence, PENDING: 0}, "$unset": dict.fromkeys(KINDS, "")},
        upsert=True,
    )
