"""The command line's changes go through the command bus: each one is an event in the tenant's log.

The CLI runs in this process (its own event loop, in a thread) against the suite's database;
what it changed is then read back from the store and from the raw event documents.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from identity_service.version import __version__
from identity_store import CommandBus, EventType, InvalidValue, NotFound, RecordedEvent, RequestContext, Tenant
from identity_store.bootstrap import bootstrap
from identity_store.commands import IssueCredential, RevokeCredential
from identity_store.domain.credentials import CredentialKind, digest
from identity_store.events import Actor, AggregateType
from identity_store.mongo import MongoStore
from identity_store.mongo.activity import MongoActivityLog
from tests.activity_records import activity_record
from tests.cli import CliRunner


async def _events(store: MongoStore, tenant_id: str) -> list[RecordedEvent]:
    return await store.tenant(tenant_id).events.read()


async def _created(cli: CliRunner, name: str = "Contoso") -> str:
    tenant_id, _ = await cli.ok("tenant", "create", name)
    return tenant_id


async def test_creating_a_tenant_records_tenant_created_by_the_cli(cli: CliRunner, store: MongoStore) -> None:
    """A tenant's log opens with its creation, made by the command line (no credential)."""
    tenant_id = await _created(cli)

    [recorded] = await _events(store, tenant_id)
    assert recorded.event.type is EventType.TENANT_CREATED
    assert recorded.event.aggregate_type is AggregateType.TENANT
    assert recorded.event.aggregate_id == tenant_id
    assert [(c.field, c.before, c.after) for c in recorded.event.changes] == [("name", None, "Contoso")]
    assert recorded.actor == Actor(credential_id=None, kind="cli")
    assert (await store.tenants.get(tenant_id)).name == "Contoso"


async def test_a_taken_tenant_name_fails_and_creates_nothing(cli: CliRunner, store: MongoStore) -> None:
    """Tenant names are unique regardless of case: the second create says so and leaves no trace."""
    await _created(cli)
    status, out, err = await cli("tenant", "create", "CONTOSO")

    assert status == 1
    assert out == ""
    assert "exists" in err
    assert [t.name for t in await store.tenants.list()] == ["Contoso"]
    assert await store.database["events"].count_documents({}) == 1


async def test_strict_rfc_records_the_change_and_a_repeat_records_nothing(cli: CliRunner, store: MongoStore) -> None:
    """A settings change is one event with before and after; setting what is set changes nothing."""
    tenant_id = await _created(cli)
    assert await cli.ok("tenant", "strict-rfc", "Contoso", "on") == [tenant_id, "Contoso", "strict-rfc on"]
    await cli.ok("tenant", "strict-rfc", "Contoso", "on")

    events = await _events(store, tenant_id)
    assert [e.event.type for e in events] == [EventType.TENANT_CREATED, EventType.TENANT_SETTINGS_CHANGED]
    assert [(c.field, c.before, c.after) for c in events[1].event.changes] == [("strictRfc", False, True)]
    assert (await store.tenants.get(tenant_id)).settings.strict_rfc is True


async def test_entra_link_and_unlink_are_recorded(cli: CliRunner, store: MongoStore) -> None:
    entra = str(uuid.uuid4())
    tenant_id = await _created(cli)
    await cli.ok("tenant", "entra-link", "Contoso", "--entra-tenant-id", entra)
    assert await cli.ok("tenant", "entra-unlink", "Contoso") == [tenant_id, "Contoso", "entra unlinked"]

    changes = [e.event.changes for e in await _events(store, tenant_id)][1:]
    assert [[(c.field, c.before, c.after) for c in change] for change in changes] == [
        [("entraTenantId", None, entra)],
        [("entraTenantId", entra, None)],
    ]


async def test_an_entra_tenant_linked_elsewhere_is_refused_without_an_event(cli: CliRunner, store: MongoStore) -> None:
    """An Entra tenant is linked to at most one tenant; the refused link changes and records nothing."""
    entra = str(uuid.uuid4())
    first = await _created(cli, "Contoso")
    second = await _created(cli, "Fabrikam")
    await cli.ok("tenant", "entra-link", "Contoso", "--entra-tenant-id", entra)

    status, _, err = await cli("tenant", "entra-link", "Fabrikam", "--entra-tenant-id", entra)

    assert status == 1
    assert "linked to another tenant" in err
    assert (await store.tenants.get(second)).settings.entra_tenant_id is None
    assert [e.event.type for e in await _events(store, second)] == [EventType.TENANT_CREATED]
    assert (await store.tenants.get(first)).settings.entra_tenant_id == entra


async def test_a_scim_token_is_issued_as_an_event_without_its_secret(cli: CliRunner, store: MongoStore) -> None:
    """The event names the credential's kind, name and scopes; neither the secret nor its digest."""
    tenant_id = await _created(cli)
    token_id, secret = await cli.ok("token", "create", "--tenant", "Contoso", "--name", "entra")

    recorded = (await _events(store, tenant_id))[-1]
    assert recorded.event.type is EventType.CREDENTIAL_ISSUED
    assert recorded.event.aggregate_type is AggregateType.CREDENTIAL
    assert recorded.event.aggregate_id == token_id
    described = {c.field: c.after for c in recorded.event.changes}
    assert described == {"kind": "scim-token", "name": "entra", "scopes": ["scim"]}
    raw = [str(document) async for document in store.database["events"].find({"tenant": tenant_id})]
    assert not any(secret in text or digest(secret) in text for text in raw)


async def test_a_token_with_an_expiry_records_when_it_expires(cli: CliRunner, store: MongoStore) -> None:
    tenant_id = await _created(cli)
    token_id, _ = await cli.ok("token", "create", "--tenant", "Contoso", "--expires-in-days", "7")

    credential = await store.credentials.get(token_id)
    assert credential.expires_at is not None
    described = {c.field: c.after for c in (await _events(store, tenant_id))[-1].event.changes}
    assert described["expires"] == credential.expires_at.isoformat()


async def test_revoking_a_token_is_recorded_once(cli: CliRunner, store: MongoStore) -> None:
    """A second revocation keeps the first time and records nothing."""
    tenant_id = await _created(cli)
    token_id, _ = await cli.ok("token", "create", "--tenant", "Contoso")
    await cli.ok("token", "revoke", token_id)
    first = (await store.credentials.get(token_id)).revoked_at
    await cli.ok("token", "revoke", token_id)

    types = [e.event.type for e in await _events(store, tenant_id)]
    assert types == [EventType.TENANT_CREATED, EventType.CREDENTIAL_ISSUED, EventType.CREDENTIAL_REVOKED]
    assert first is not None
    assert (await store.credentials.get(token_id)).revoked_at == first


async def test_an_api_key_is_issued_with_its_scopes(cli: CliRunner, store: MongoStore) -> None:
    tenant_id = await _created(cli)
    key_id, secret = await cli.ok(
        "apikey", "create", "--tenant", "Contoso", "--scope", "users:read", "--scope", "groups:read"
    )

    recorded = (await _events(store, tenant_id))[-1]
    described = {c.field: c.after for c in recorded.event.changes}
    assert described == {"kind": "api-key", "name": "graphql", "scopes": ["groups:read", "users:read"]}
    assert recorded.event.aggregate_id == key_id
    assert secret not in str(recorded)


async def test_an_oauth_client_is_created_federated_and_disabled_as_events(cli: CliRunner, store: MongoStore) -> None:
    tenant_id = await _created(cli)
    client_id, _, _ = await cli.ok("oauth", "client", "create", "--tenant", "Contoso", "--token-lifetime-minutes", "90")
    federation = ["--issuer", "https://issuer", "--subject", "app", "--audience", "api", "--jwks-url", "https://keys"]
    await cli.ok("oauth", "client", "federate", client_id, *federation)
    await cli.ok("oauth", "client", "disable", client_id)
    await cli.ok("oauth", "client", "disable", client_id)

    events = [e.event for e in await _events(store, tenant_id)][1:]
    assert [e.type for e in events] == [
        EventType.OAUTH_CLIENT_CREATED,
        EventType.OAUTH_CLIENT_FEDERATED,
        EventType.OAUTH_CLIENT_DISABLED,
    ]
    assert {e.aggregate_id for e in events} == {client_id}
    assert {c.field: c.after for c in events[0].changes} == {"name": "entra", "tokenLifetimeMinutes": 90}
    assert events[1].changes[0].after == {
        "issuer": "https://issuer",
        "subject": "app",
        "audience": "api",
        "jwksUrl": "https://keys",
    }
    assert not (await store.oauth_clients.get(client_id)).enabled


async def test_an_out_of_bounds_token_lifetime_creates_no_client(cli: CliRunner, store: MongoStore) -> None:
    tenant_id = await _created(cli)
    status, _, err = await cli("oauth", "client", "create", "--tenant", "Contoso", "--token-lifetime-minutes", "5")

    assert status == 1
    assert "lifetime" in err
    assert await store.oauth_clients.list(tenant_id) == []
    assert [e.event.type for e in await _events(store, tenant_id)] == [EventType.TENANT_CREATED]


async def test_a_client_secret_is_issued_for_its_client_and_revoked(cli: CliRunner, store: MongoStore) -> None:
    tenant_id = await _created(cli)
    client_id, _, _ = await cli.ok("oauth", "client", "create", "--tenant", "Contoso")
    secret_id, _ = await cli.ok("oauth", "secret", "create", "--client", client_id)
    await cli.ok("oauth", "secret", "revoke", secret_id)

    events = [e.event for e in await _events(store, tenant_id)][2:]
    assert [e.type for e in events] == [EventType.CREDENTIAL_ISSUED, EventType.CREDENTIAL_REVOKED]
    described = {c.field: c.after for c in events[0].changes}
    assert described["kind"] == "oauth-client-secret"
    assert described["client"] == client_id


async def test_revoking_a_scim_token_as_a_client_secret_is_not_found(cli: CliRunner, store: MongoStore) -> None:
    """``oauth secret revoke`` revokes client secrets only: a token's id is unknown to it."""
    tenant_id = await _created(cli)
    token_id, _ = await cli.ok("token", "create", "--tenant", "Contoso")

    status, _, err = await cli("oauth", "secret", "revoke", token_id)

    assert status == 1
    assert err == f"identity-store: client secret {token_id} not found"
    assert (await store.credentials.get(token_id)).revoked_at is None
    assert (await _events(store, tenant_id))[-1].event.type is EventType.CREDENTIAL_ISSUED


async def test_a_credential_of_another_tenant_is_not_found_through_the_bus(
    cli: CliRunner, store: MongoStore, tenant: Tenant
) -> None:
    """The bus scopes a command to the context's tenant: another tenant's credential cannot be revoked."""
    await _created(cli)
    token_id, _ = await cli.ok("token", "create", "--tenant", "Contoso")
    bus = bootstrap(store)
    intruder = RequestContext(tenant_id=tenant.id, actor=Actor(credential_id="other", kind="test"))

    with pytest.raises(NotFound):
        await bus.dispatch(intruder, RevokeCredential(credential_id=token_id))

    assert (await store.credentials.get(token_id)).revoked_at is None
    assert await _events(store, tenant.id) == []
    assert (await store.credentials.get(token_id)).kind == CredentialKind.SCIM_TOKEN


async def test_api_keys_are_listed_with_their_scopes_and_revoked_as_an_event(cli: CliRunner, store: MongoStore) -> None:
    """``apikey list`` shows id, name, scopes, created, expires, state; ``apikey revoke`` records the revocation."""
    tenant_id = await _created(cli)
    key_id, _ = await cli.ok("apikey", "create", "--tenant", "Contoso", "--name", "billing", "--scope", "users:read")
    listed = await cli.ok("apikey", "list", "--tenant", "Contoso")
    assert [listed[0], listed[1], listed[2], listed[4], listed[5]] == [
        key_id,
        "billing",
        "users:read",
        "never",
        "active",
    ]

    assert await cli.ok("apikey", "revoke", key_id) == [key_id, "revoked"]

    assert (await cli.ok("apikey", "list", "--tenant", "Contoso"))[5] == "revoked"
    recorded = (await _events(store, tenant_id))[-1]
    assert recorded.event.type is EventType.CREDENTIAL_REVOKED
    assert recorded.event.aggregate_id == key_id


async def test_apikey_revoke_refuses_a_scim_token(cli: CliRunner, store: MongoStore) -> None:
    """``apikey revoke`` revokes API keys only: a SCIM token's id is not found and stays usable."""
    tenant_id = await _created(cli)
    token_id, _ = await cli.ok("token", "create", "--tenant", "Contoso")

    status, _, err = await cli("apikey", "revoke", token_id)

    assert status == 1
    assert err == f"identity-store: API key {token_id} not found"
    assert (await store.credentials.get(token_id)).revoked_at is None
    assert (await _events(store, tenant_id))[-1].event.type is EventType.CREDENTIAL_ISSUED


async def test_token_revoke_refuses_an_api_key(cli: CliRunner, store: MongoStore) -> None:
    """``token revoke`` revokes SCIM tokens only, as ``oauth secret revoke`` revokes only secrets."""
    await _created(cli)
    key_id, _ = await cli.ok("apikey", "create", "--tenant", "Contoso", "--scope", "write")

    status, out, err = await cli("token", "revoke", key_id)

    assert (status, out) == (1, "")
    assert err == f"identity-store: SCIM token {key_id} not found"
    assert (await store.credentials.get(key_id)).revoked_at is None


async def test_json_output_is_one_value_and_the_secret_only_when_issued(cli: CliRunner) -> None:
    """``--json``: one object for a single result, an array for a listing; no secret in a listing."""
    status, out, _ = await cli("tenant", "create", "Contoso", "--json")
    assert status == 0
    tenant = json.loads(out)
    assert tenant["name"] == "Contoso"
    assert tenant["strictRfc"] is False

    status, out, _ = await cli("token", "create", "--tenant", "Contoso", "--expires-in-days", "3", "--json")
    issued = json.loads(out)
    assert issued["secret"].startswith("scim_")
    assert issued["state"] == "active"
    assert issued["expires"] is not None

    status, out, _ = await cli("token", "list", "--tenant", "Contoso", "--json")
    [listed] = json.loads(out)
    assert listed["id"] == issued["id"]
    assert "secret" not in listed
    assert issued["secret"] not in out
    assert [t["id"] for t in json.loads((await cli("tenant", "list", "--json"))[1])] == [tenant["id"]]


async def test_version_is_pyprojects(cli: CliRunner) -> None:
    status, out, _ = await cli("--version")
    assert (status, out) == (0, f"identity-store {__version__}")


async def test_a_credential_lifetime_must_be_positive(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    """The handler refuses a credential that would be born expired, whoever sends the command."""
    for lifetime in (timedelta(0), timedelta(days=-1)):
        command = IssueCredential(kind=CredentialKind.API_KEY, name="k", scopes=frozenset({"write"}), lifetime=lifetime)
        with pytest.raises(InvalidValue, match="lifetime"):
            await bus.dispatch(context, command)
    assert await store.credentials.list(context.tenant_id) == []
    assert await _events(store, context.tenant_id) == []


def test_the_log_level_may_be_written_in_capitals() -> None:
    """``IDENTITY_LOG_LEVEL=INFO`` is the same setting as ``info``."""
    from identity_service.settings import Settings

    assert Settings(log_level="INFO").log_level == "info"


async def test_activity_lists_a_tenants_refused_requests_and_its_hours(cli: CliRunner, store: MongoStore) -> None:
    tenant_id = await _created(cli)

    await MongoActivityLog(store.database).append(
        [
            activity_record(tenant_id, resource_id="u1"),
            activity_record(
                tenant_id,
                status=409,
                resource_id="u2",
                scim_type="uniqueness",
                detail="userName ada is taken",
                ignored=("favouriteColour",),
            ),
        ]
    )
    lines = await cli.ok("activity", "--tenant", "Contoso", "--failed", "--since", "1h")
    assert lines[1:4] == ["409", "POST", "/scim/v2/Users"]
    assert lines[4:6] == ["uniqueness", "userName ada is taken"]
    assert lines[-1] == "ignored: favouriteColour"

    status, out, _ = await cli("activity", "--tenant", "Contoso", "--json")
    assert status == 0
    assert sorted(r["status"] for r in json.loads(out)) == [201, 409]
    status, out, _ = await cli("activity", "--tenant", "Contoso", "--resource", "u1", "--json")
    assert [r["resourceId"] for r in json.loads(out)] == ["u1"]

    status, out, _ = await cli("activity", "--tenant", "Contoso", "--summary", "--json")
    [hour] = json.loads(out)["hours"]
    assert hour["requests"] == 2
    assert hour["failuresByScimType"] == {"uniqueness": 1}

    status, _, err = await cli("activity", "--tenant", "Contoso", "--since", "yesterday")
    assert status == 2
    assert "'yesterday' is not an age such as 90s, 30m, 1h or 7d" in err
    assert len(err.splitlines()) == 1


async def test_a_console_admin_is_issued_listed_and_revoked_as_events(cli: CliRunner, store: MongoStore) -> None:
    """``admin create`` prints the secret once; the events say who the admin is, never the secret."""
    tenant_id = await _created(cli)
    admin_id, secret = await cli.ok("admin", "create", "--tenant", "Contoso", "--name", "alice")
    assert secret.startswith(f"ica_{admin_id}_")

    assert await cli.ok("admin", "list", "--tenant", "Contoso") == [
        admin_id,
        "alice",
        (await store.credentials.get(admin_id)).created.isoformat(),
        "never",
        "active",
    ]
    await cli.ok("admin", "revoke", admin_id)

    events = (await _events(store, tenant_id))[1:]
    assert [e.event.type for e in events] == [EventType.CREDENTIAL_ISSUED, EventType.CREDENTIAL_REVOKED]
    assert {c.field: c.after for c in events[0].event.changes} == {
        "kind": "console-admin",
        "name": "alice",
        "scopes": ["console:admin"],
    }
    assert secret not in str(events)
    assert (await store.credentials.get(admin_id)).revoked_at is not None


async def test_admin_revoke_refuses_an_api_key(cli: CliRunner, store: MongoStore) -> None:
    """An API key is not a console admin: not found, and left as it is."""
    await _created(cli)
    key_id, _ = await cli.ok("apikey", "create", "--tenant", "Contoso", "--scope", "users:read")

    status, _, err = await cli("admin", "revoke", key_id)

    assert status == 1
    assert "console admin credential" in err
    assert (await store.credentials.get(key_id)).revoked_at is None


# --- schema extensions -------------------------------------------------------------------------

ACME_URN = "urn:ietf:params:scim:schemas:extension:Acme:2.0:User"


def _schema_file(tmp_path: Path, document: object, name: str = "schema.json") -> str:
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else json.dumps(document), encoding="utf-8")
    return str(path)


_ACME_SCHEMA = {
    "id": ACME_URN,
    "name": "AcmeUser",
    "description": "Acme's directory attributes",
    "attributes": [{"name": "costCenter", "type": "string"}, {"name": "floor", "type": "integer"}],
}


async def test_a_schema_is_added_listed_and_removed_as_events(
    cli: CliRunner, store: MongoStore, tmp_path: Path
) -> None:
    tenant_id = await _created(cli)
    added = await cli.ok(
        "schema", "add", "--tenant", "Contoso", "--file", _schema_file(tmp_path, _ACME_SCHEMA), "--index", "costcenter"
    )
    assert added == [ACME_URN, "User", "AcmeUser", "costCenter,floor", "costCenter"]
    assert await cli.ok("schema", "list", "--tenant", "Contoso") == added

    status, out, _ = await cli("schema", "list", "--tenant", "Contoso", "--json")
    assert status == 0
    [listed] = json.loads(out)
    assert listed["id"] == ACME_URN
    assert listed["extends"] == "User"
    assert [a["name"] for a in listed["attributes"]] == ["costCenter", "floor"]
    assert listed["attributes"][1]["type"] == "integer"

    await cli.ok("schema", "remove", "--tenant", "Contoso", ACME_URN.lower())
    status, out, _ = await cli("schema", "list", "--tenant", "Contoso")
    assert (status, out) == (0, "")
    events = (await _events(store, tenant_id))[1:]
    assert [e.event.type for e in events] == [EventType.SCHEMA_EXTENSION_ADDED, EventType.SCHEMA_EXTENSION_REMOVED]
    assert events[0].event.aggregate_type is AggregateType.SCHEMA_EXTENSION
    assert events[0].actor.kind == "cli"


async def test_a_group_schema_extends_groups(cli: CliRunner, tmp_path: Path) -> None:
    await _created(cli)
    document = {"id": "urn:example:params:acme:teams", "attributes": [{"name": "budget", "type": "decimal"}]}
    added = await cli.ok(
        "schema", "add", "--tenant", "Contoso", "--file", _schema_file(tmp_path, document), "--extends", "group"
    )
    assert added[:2] == ["urn:example:params:acme:teams", "Group"]


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        pytest.param("{not json", "not JSON", id="invalid JSON"),
        pytest.param([1, 2], "must be a JSON object", id="not an object"),
        pytest.param({"name": "x", "attributes": [{"name": "a"}]}, "needs 'id'", id="no id"),
        pytest.param({"id": "acme", "attributes": [{"name": "a"}]}, "must be a URN", id="not a URN"),
        pytest.param({"id": ACME_URN, "attributes": []}, "non-empty 'attributes'", id="no attributes"),
        pytest.param(
            {"id": ACME_URN, "attributes": [{"name": "a", "type": "money"}]}, "unknown type 'money'", id="unknown type"
        ),
        pytest.param(
            {"id": ACME_URN, "attributes": [{"name": "a"}, {"name": "A"}]}, "declared twice", id="duplicate attribute"
        ),
        pytest.param({"id": ACME_URN, "attributes": [{"name": "9lives"}]}, "not an attribute name", id="bad name"),
        pytest.param(
            {"id": "urn:ietf:params:scim:schemas:core:2.0:User", "attributes": [{"name": "a"}]},
            "is a schema of this service",
            id="a core schema",
        ),
        pytest.param(
            {"id": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "attributes": [{"name": "a"}]},
            "is a schema of this service",
            id="the enterprise schema",
        ),
        pytest.param(
            {"id": "urn:example:acme:things", "attributes": [{"name": "a"}]},
            "does not end in :User or :Group",
            id="no type",
        ),
        pytest.param(
            {"id": ACME_URN, "attributes": [{"name": "a", "type": "complex"}]},
            "needs a non-empty 'subAttributes'",
            id="empty complex",
        ),
        pytest.param(
            {"id": ACME_URN, "attributes": [{"name": "a", "multiValued": "yes"}]},
            "must be true or false",
            id="bad flag",
        ),
        pytest.param(
            {"id": ACME_URN, "attributes": [{"name": "a", "mutability": "sometimes"}]}, "must be one of", id="bad enum"
        ),
    ],
)
async def test_a_bad_schema_file_is_one_line_and_registers_nothing(
    cli: CliRunner, store: MongoStore, tmp_path: Path, document: object, expected: str
) -> None:
    tenant_id = await _created(cli)
    status, out, err = await cli("schema", "add", "--tenant", "Contoso", "--file", _schema_file(tmp_path, document))
    assert status == 1
    assert out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith("identity-store: ")
    assert expected in err
    assert "Traceback" not in err
    assert await store.tenant(tenant_id).schema_extensions.all() == []


async def test_a_second_schema_with_the_same_urn_is_refused(cli: CliRunner, tmp_path: Path) -> None:
    await _created(cli)
    path = _schema_file(tmp_path, _ACME_SCHEMA)
    await cli.ok("schema", "add", "--tenant", "Contoso", "--file", path)
    upper = _schema_file(tmp_path, {**_ACME_SCHEMA, "id": ACME_URN.upper()}, "upper.json")
    status, _, err = await cli("schema", "add", "--tenant", "Contoso", "--file", upper)
    assert status == 1
    assert err.splitlines() == [f"identity-store: the schema {ACME_URN.upper()} is already registered"]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        pytest.param(("schema", "remove", "--tenant", "Contoso", ACME_URN), f"no schema {ACME_URN}", id="unknown URN"),
        pytest.param(("schema", "list", "--tenant", "Nobody"), "Nobody", id="unknown tenant"),
        pytest.param(
            ("schema", "add", "--tenant", "Contoso", "--file", "/nonexistent/schema.json"),
            "No such file",
            id="missing file",
        ),
        pytest.param(
            ("schema", "add", "--tenant", "Contoso", "--file", "{schema}", "--index", "shoeSize"),
            "cannot index 'shoeSize'",
            id="indexing an undeclared attribute",
        ),
    ],
)
async def test_schema_mistakes_are_one_line(
    cli: CliRunner, tmp_path: Path, argv: tuple[str, ...], expected: str
) -> None:
    await _created(cli)
    schema_path = _schema_file(tmp_path, _ACME_SCHEMA)
    status, _, err = await cli(*(a.replace("{schema}", schema_path) for a in argv))
    assert status == 1
    assert len(err.splitlines()) == 1, err
    assert expected in err
