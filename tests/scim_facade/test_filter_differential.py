"""Differential property test: a SCIM filter run in the database selects exactly the users (or
groups) that the domain's reference evaluator selects in Python (RFC 7644 §3.4.2.2, caseExact per
RFC 7643).

The data sets are generated once (seeded); hypothesis generates filters over their values,
including mixed case, multi-valued attributes, value-path filters and extension attributes by URN
for users, and case-insensitive displayName against case-exact externalId for groups.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings, strategies as st

from identity_store import Group, User
from identity_store.domain.credentials import CredentialKind, issue
from identity_store.domain.filters import And, evaluate
from identity_store.domain.resources import now
from identity_store.domain.schema import GROUP_SCHEMA, USER_SCHEMA, ResourceSchema
from identity_store.mongo import MongoStore
from identity_store.queries import IndexPage, Query
from scim_facade.filters import compile_filter, compile_translated, parse, translate
from scim_facade.membership_filters import split
from tests.scim_facade.conftest import ENTERPRISE_URN, GROUP_URN, USER_URN
from tests.service_process import ServiceProcess

WORDS = ["alice", "Bob", "ALINA", "bo", "carl", "Ann", "x.example", "Y.example", "work"]
TYPES = ["work", "home", "Work", "other"]
DEPARTMENTS = ["R&D", "r&d", "Sales", "sales team"]


def _dataset(seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)  # noqa: S311 - a reproducible data set, not a secret
    users: list[dict[str, Any]] = []
    for i in range(24):
        user: dict[str, Any] = {"schemas": [USER_URN, ENTERPRISE_URN], "userName": f"{rng.choice(WORDS)}{i}"}
        if rng.random() < 0.6:
            user["title"] = rng.choice(WORDS)
        if rng.random() < 0.7:
            user["active"] = rng.random() < 0.5
        if rng.random() < 0.6:
            user["externalId"] = rng.choice(WORDS)
        emails = [
            {"type": rng.choice(TYPES), "value": f"{rng.choice(WORDS)}@{rng.choice(WORDS)}"}
            for _ in range(rng.randint(0, 3))
        ]
        if emails:
            user["emails"] = emails
        if rng.random() < 0.5:
            user[ENTERPRISE_URN] = {"department": rng.choice(DEPARTMENTS)}
        users.append(user)
    return users


def _group_dataset(seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)  # noqa: S311 - a reproducible data set, not a secret
    groups: list[dict[str, Any]] = []
    for i in range(16):
        group: dict[str, Any] = {"schemas": [GROUP_URN], "displayName": f"{rng.choice(WORDS)}{i}"}
        if rng.random() < 0.6:
            group["externalId"] = rng.choice(WORDS)  # caseExact: "Bob" and "bob" differ here
        groups.append(group)
    return groups


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


_text = st.sampled_from(WORDS + DEPARTMENTS + ["a", "A", "@", ".example", "1", ""]).map(_quote)
_string_op = st.sampled_from(["eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le", "EQ", "Co"])
_string_attr = st.sampled_from(
    ["userName", "USERNAME", "title", "externalId", "emails.value", "emails.type", f"{ENTERPRISE_URN}:department"]
)


def _leaves() -> st.SearchStrategy[str]:
    compare = st.builds(lambda a, o, v: f"{a} {o} {v}", _string_attr, _string_op, _text)
    present = st.builds(lambda a: f"{a} pr", st.sampled_from(["title", "emails", "externalId", "active"]))
    boolean = st.builds(
        lambda o, v: f"active {o} {v}", st.sampled_from(["eq", "ne"]), st.sampled_from(["true", "false"])
    )
    element = st.builds(
        lambda t, o, v: f"emails[type eq {t} and value {o} {v}]",
        st.sampled_from(TYPES).map(_quote),
        st.sampled_from(["co", "sw", "ew", "eq"]),
        _text,
    )
    return st.one_of(compare, present, boolean, element)


def _group_leaves() -> st.SearchStrategy[str]:
    attribute = st.sampled_from(["displayName", "DISPLAYNAME", "externalId", f"{GROUP_URN}:displayName", "id"])
    compare = st.builds(lambda a, o, v: f"{a} {o} {v}", attribute, _string_op, _text)
    present = st.builds(lambda a: f"{a} pr", st.sampled_from(["externalId", "displayName"]))
    # Memberships are answered from the membership records, not by the neutral model: see
    # ``_membership_answer`` for what the reference expects of them.
    members = st.sampled_from(['members.value eq "x"', "members pr", 'members[value eq "x"]'])
    return st.one_of(compare, present, members)


def _combined(leaves: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.builds(lambda a, b: f"({a}) and ({b})", inner, inner),
            st.builds(lambda a, b: f"({a}) or ({b})", inner, inner),
            st.builds(lambda a: f"not ({a})", inner),
        ),
        max_leaves=5,
    )


_filters = _combined(_leaves())
_group_filters = _combined(_group_leaves())


async def _prepare(uri: str, database: str) -> tuple[str, str]:
    store = MongoStore(uri, database)
    try:
        await store.create_indexes()
        tenant = await store.tenants.create("differential")
        issued = issue(tenant_id=tenant.id, kind=CredentialKind.SCIM_TOKEN, name="t", scopes=frozenset(), created=now())
        await store.credentials.add(issued.credential)
        return tenant.id, issued.secret
    finally:
        await store.close()


def _as_reference(resource: User | Group) -> dict[str, Any]:
    meta = {"created": resource.meta.created, "lastModified": resource.meta.last_modified}
    return {**resource.attributes, "id": resource.id, "meta": meta}


async def _reference_resources(uri: str, database: str, tenant_id: str) -> dict[str, list[dict[str, Any]]]:
    """Every user and group as the reference evaluator sees them: attributes, id, meta."""
    store = MongoStore(uri, database)
    try:
        tenant = store.tenant(tenant_id)
        everything = Query(page=IndexPage(count=1000))
        users = (await tenant.users.find(everything)).items
        groups = (await tenant.groups.find(everything)).items
        return {"Users": [_as_reference(u) for u in users], "Groups": [_as_reference(g) for g in groups]}
    finally:
        await store.close()


def _membership_answer(text: str, schema: ResourceSchema) -> int:
    """The status a filter the neutral model refuses gets: 200 for a supported membership shape
    (whose member "x" exists nowhere, so it selects nothing), 400 for everything else."""
    try:
        node = translate(parse(text))
        found = split(node, schema)
        if found is None:
            return 400
        if found.rest:
            compile_translated(And(found.rest), schema)
    except Exception:
        return 400
    return 200


def _check_agreement(
    scim: httpx.Client,
    endpoint: str,
    schema: ResourceSchema,
    resources: list[dict[str, Any]],
    filters: st.SearchStrategy[str],
) -> None:
    """Every generated filter selects the same ids in the database as in Python, or is refused
    (400) exactly when the translator refuses it."""
    sizes: list[int] = []

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(filters)
    def agree(text: str) -> None:
        response = scim.get(f"/{endpoint}", params={"filter": text, "count": "200", "attributes": "id"})
        try:
            compiled = compile_filter(text, schema)
        except Exception:
            assert response.status_code == _membership_answer(text, schema), (text, response.text)
            if response.status_code == 200:
                assert response.json()["Resources"] == [], text
            return
        assert response.status_code == 200, (text, response.text)
        found = {r["id"] for r in response.json()["Resources"]}
        expected = {r["id"] for r in resources if evaluate(schema, compiled, r)}
        assert found == expected, text
        sizes.append(len(found))

    agree()
    # The generated filters must discriminate: some select part of the data set.
    assert any(0 < size < len(resources) for size in sizes)


def test_database_filtering_agrees_with_the_reference_evaluator(
    database_uri: str, database_name: str, tmp_path: Path
) -> None:
    tenant_id, secret = asyncio.run(_prepare(database_uri, database_name))
    # The service runs as its own process: hypothesis refuses to see the random module's state
    # change while it generates a filter, and every database command draws the driver's request
    # id from it; a server thread in this process would, at any moment. Hundreds of filters in a
    # few seconds: the per-tenant rate limit would refuse some with 429, which says nothing of the
    # filters, so it is off here.
    service = ServiceProcess(
        tmp_path,
        database_uri=database_uri,
        database_name=database_name,
        env={"IDENTITY_SCIM_RATE_LIMIT_PER_SECOND": "0"},
    )
    try:
        service.wait_until_ready()
        base_url = service.base_url
        scim = httpx.Client(base_url=f"{base_url}/scim/v2", headers={"Authorization": f"Bearer {secret}"})
        for user in _dataset(seed=7):
            assert scim.post("/Users", json=user).status_code == 201
        for group in _group_dataset(seed=11):
            assert scim.post("/Groups", json=group).status_code == 201
        resources = asyncio.run(_reference_resources(database_uri, database_name, tenant_id))
        _check_agreement(scim, "Users", USER_SCHEMA, resources["Users"], _filters)
        _check_agreement(scim, "Groups", GROUP_SCHEMA, resources["Groups"], _group_filters)
    finally:
        service.stop()
