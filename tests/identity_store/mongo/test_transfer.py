"""A tenant exported and imported into another database comes back the same through SCIM and
the domain: ids, ETags (``meta.version``), memberships, the event history and its sequence;
credentials only when asked for, as digests; a refused import leaves nothing behind."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from identity_service.app import create_app
from identity_service.settings import Settings
from identity_store import CommandBus, RequestContext, Tenant
from identity_store.commands import AddSchemaExtension
from identity_store.domain.credentials import IssuedSecret
from identity_store.mongo import MongoStore
from identity_store.mongo.schema_extensions import extension_index_name
from identity_store.mongo.transfer import FORMAT, VERSION, TransferRefused, export_tenant, import_tenant
from tests.scim_facade.conftest import (
    ENTERPRISE_URN,
    SIGNING_KEY,
    client_for,
    create_group,
    create_user,
    issue_token,
)

PASSWORD = "Correct-Horse-Battery-9"


@pytest.fixture
async def source(store: MongoStore, tenant: Tenant) -> AsyncIterator[tuple[IssuedSecret, list[str], list[str]]]:
    """The ``acme`` tenant with a manager and a report (enterprise attributes, a password), a
    group holding a user and a nested group, and a SCIM token: the token, user ids, group ids."""
    token = await issue_token(store, tenant)
    async with client_for(_app(store, "unused"), token.secret) as scim:
        boss = await create_user(scim, "boss@acme.example", name={"givenName": "Bo", "familyName": "Ss"})
        report = await create_user(
            scim,
            "report@acme.example",
            password=PASSWORD,
            schemas=["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_URN],
            **{ENTERPRISE_URN: {"employeeNumber": "42", "department": "R&D", "manager": {"value": boss["id"]}}},
        )
        inner = await create_group(scim, "Inner", (str(report["id"]),))
        outer = await create_group(scim, "Outer", (str(boss["id"]), str(inner["id"])))
        yield token, [str(boss["id"]), str(report["id"])], [str(inner["id"]), str(outer["id"])]


def _app(store: MongoStore, database: str) -> Starlette:
    built = create_app(
        Settings(
            mongodb_uri="mongodb://127.0.0.1:1",
            database=database,
            scim_token_cache_seconds=0,
            oauth_signing_key=SIGNING_KEY,
        )
    )
    built.state.store = store
    return built


@pytest.fixture
async def target(database_uri: str) -> AsyncIterator[MongoStore]:
    """Another, fresh database on the same server."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    store = MongoStore(database_uri, name)
    try:
        await store.create_indexes()
        yield store
        await store.client.drop_database(name)
    finally:
        await store.close()


async def _export(store: MongoStore, *, with_credentials: bool = True) -> str:
    out = io.StringIO()
    await export_tenant(store.database, "acme", out.write, with_credentials=with_credentials)
    return out.getvalue()


async def _resources(scim: httpx.AsyncClient, paths: list[str]) -> list[tuple[int, str | None, object]]:
    answers = []
    for path in paths:
        response = await scim.get(path)
        answers.append((response.status_code, response.headers.get("ETag"), response.json()))
    return answers


async def test_a_round_trip_keeps_users_groups_members_etags_and_history(
    store: MongoStore, tenant: Tenant, target: MongoStore, source: tuple[IssuedSecret, list[str], list[str]]
) -> None:
    """Every user and group reads the same through SCIM after the import (body and ETag), and
    the event history and its sequence are the same through the domain."""
    token, users, groups = source
    paths = [f"/Users/{u}" for u in users] + [f"/Groups/{g}" for g in groups] + ['/Users?filter=userName sw "r"']
    async with client_for(_app(store, "source"), token.secret) as scim:
        before = await _resources(scim, paths)
    imported = await import_tenant(target.database, "acme", io.StringIO(await _export(store)))

    # The same token works on the target: its digest came along with --with-credentials.
    async with client_for(_app(target, "target"), token.secret) as scim:
        after = await _resources(scim, paths)
    assert after == before
    assert all(status == 200 for status, _, _ in after)
    assert imported.tenant_id == tenant.id
    assert await target.tenant(tenant.id).events.read(limit=1000) == await store.tenant(tenant.id).events.read(
        limit=1000
    )
    assert (await target.tenants.get(tenant.id)).settings == tenant.settings


async def test_the_next_event_continues_the_exported_sequence(
    store: MongoStore, tenant: Tenant, target: MongoStore, source: tuple[IssuedSecret, list[str], list[str]]
) -> None:
    """A consumer's cursor stays valid: the imported tenant's next event follows the last exported one."""
    token, users, _ = source
    last = await store.tenant(tenant.id).events.last_sequence()
    await import_tenant(target.database, "acme", io.StringIO(await _export(store)))
    async with client_for(_app(target, "target"), token.secret) as scim:
        response = await scim.delete(f"/Users/{users[1]}")
        assert response.status_code == 204
    following = await target.tenant(tenant.id).events.read(after=last)
    assert [e.sequence for e in following] == list(range(last + 1, last + 1 + len(following)))
    assert following


async def test_the_file_holds_digests_but_no_secret_nor_password(
    store: MongoStore, source: tuple[IssuedSecret, list[str], list[str]]
) -> None:
    """Credentials travel only as the digests the store keeps; a password only as its hash."""
    token, _, _ = source
    exported = await _export(store)
    assert token.secret not in exported
    assert PASSWORD not in exported
    assert token.credential.secret_digest in exported
    header = json.loads(exported.splitlines()[0])
    assert (header["format"], header["version"]) == (FORMAT, VERSION)
    assert all(json.loads(line) for line in exported.splitlines())  # one JSON object per line


async def test_without_credentials_none_are_exported(
    store: MongoStore, source: tuple[IssuedSecret, list[str], list[str]]
) -> None:
    """The default export leaves out credentials and OAuth clients altogether."""
    token, _, _ = source
    exported = await _export(store, with_credentials=False)
    kinds = {json.loads(line).get("kind") for line in exported.splitlines()}
    assert "credentials" not in kinds
    assert token.credential.secret_digest not in exported


async def test_an_import_into_a_tenant_with_resources_is_refused_and_changes_nothing(
    store: MongoStore, target: MongoStore, source: tuple[IssuedSecret, list[str], list[str]]
) -> None:
    """Import goes only into a new or empty tenant."""
    exported = await _export(store)
    await import_tenant(target.database, "acme", io.StringIO(exported))
    counts = {c: await target.database[c].count_documents({}) for c in ("users", "groups", "memberships", "events")}
    with pytest.raises(TransferRefused, match="already has users"):
        await import_tenant(target.database, "ACME", io.StringIO(exported))
    assert {c: await target.database[c].count_documents({}) for c in counts} == counts


async def test_a_truncated_file_is_refused_and_leaves_no_tenant(
    store: MongoStore, target: MongoStore, source: tuple[IssuedSecret, list[str], list[str]]
) -> None:
    """A file without its last line is refused, and what was read of it is removed again."""
    lines = (await _export(store)).splitlines(keepends=True)
    with pytest.raises(TransferRefused, match="truncated"):
        await import_tenant(target.database, "acme", io.StringIO("".join(lines[:-1])), batch_size=2)
    for collection in ("tenants", "users", "groups", "memberships", "events", "credentials", "event_sequences"):
        assert await target.database[collection].count_documents({}) == 0, collection


async def test_importing_into_the_database_it_came_from_is_refused_without_trace(
    store: MongoStore, tenant: Tenant, source: tuple[IssuedSecret, list[str], list[str]]
) -> None:
    """Ids are kept, so a copy beside the original would clash: refused, the original untouched."""
    exported = await _export(store)
    users_before = await store.database["users"].count_documents({})
    with pytest.raises(TransferRefused, match="exists in this database"):
        await import_tenant(store.database, "acme copy", io.StringIO(exported))
    assert await store.database["users"].count_documents({}) == users_before
    assert [t.name for t in await store.tenants.list()] == ["acme"]


async def test_a_file_of_another_format_is_refused(target: MongoStore) -> None:
    """The first line must name the format and a version this code reads."""
    with pytest.raises(TransferRefused, match="not a tenant export"):
        await import_tenant(target.database, "acme", io.StringIO('{"hello": 1}\n'))
    with pytest.raises(TransferRefused, match="version 99"):
        await import_tenant(target.database, "acme", io.StringIO(json.dumps({"format": FORMAT, "version": 99})))
    assert await target.database["tenants"].count_documents({}) == 0


async def test_extension_schemas_and_their_values_come_along(
    store: MongoStore, tenant: Tenant, target: MongoStore, context: RequestContext
) -> None:
    """The tenant's extension schemas are exported with it: the custom values read and filter the
    same on the target."""
    urn = "urn:ietf:params:scim:schemas:extension:Acme:2.0:User"
    await CommandBus(store).dispatch(
        context,
        AddSchemaExtension(document={"id": urn, "attributes": [{"name": "costCenter"}]}, indexed=("costCenter",)),
    )
    token = await issue_token(store, tenant)
    async with client_for(_app(store, "source"), token.secret) as scim:
        await create_user(scim, "custom@acme.example", **{urn: {"costCenter": "Ops"}})
    await import_tenant(target.database, "acme", io.StringIO(await _export(store)))

    async with client_for(_app(target, "target"), token.secret) as scim:
        found = (await scim.get("/Users", params={"filter": f'{urn}:costCenter eq "ops"'})).json()
        assert [r[urn] for r in found["Resources"]] == [{"costCenter": "Ops"}]
        assert (await scim.get(f"/Schemas/{urn}")).status_code == 200
    indexes = [i["name"] async for i in await target.database["users"].list_indexes()]
    field = "search.urn:ietf:params:scim:schemas:extension:Acme:2%2E0:User.costCenter"
    assert extension_index_name(tenant.id, field) in indexes


async def test_an_import_keeps_the_creation_order_and_counts_what_it_wrote(
    store: MongoStore, tenant: Tenant, target: MongoStore, source: tuple[IssuedSecret, list[str], list[str]]
) -> None:
    """The unfiltered lists of the imported tenant come in the exported creation order, with
    totals from counts the import computed; a user created afterwards comes last."""
    token, users, groups = source
    await import_tenant(target.database, "acme", io.StringIO(await _export(store)))
    async with client_for(_app(target, "target"), token.secret) as scim:
        listed = (await scim.get("/Users", params={"attributes": "id"})).json()
        assert [r["id"] for r in listed["Resources"]] == users
        assert listed["totalResults"] == len(users)
        new = await create_user(scim, "new@acme.example")
        listed = (await scim.get("/Users", params={"attributes": "id", "startIndex": "3"})).json()
        assert [r["id"] for r in listed["Resources"]] == [new["id"]]
        assert listed["totalResults"] == len(users) + 1
        assert (await scim.get("/Groups", params={"attributes": "id"})).json()["totalResults"] == len(groups)
