"""Differential property test: a SCIM filter run in the database selects exactly the users that
the domain's reference evaluator selects in Python (RFC 7644 §3.4.2.2, caseExact per RFC 7643).

The data set is generated once (seeded); hypothesis generates filters over its values, including
mixed case, multi-valued attributes, value-path filters and extension attributes by URN.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings, strategies as st

from identity_app import Settings, create_app
from identity_store.domain.credentials import CredentialKind, issue
from identity_store.domain.filters import evaluate
from identity_store.domain.resources import now
from identity_store.domain.schema import USER_SCHEMA
from identity_store.mongo import MongoStore
from identity_store.queries import IndexPage, Query
from scim_facade.filters import compile_filter
from tests.scim_facade.conftest import ENTERPRISE_URN, USER_URN
from tests.servers import serve_in_thread

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


_filters = st.recursive(
    _leaves(),
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"({a}) and ({b})", inner, inner),
        st.builds(lambda a, b: f"({a}) or ({b})", inner, inner),
        st.builds(lambda a: f"not ({a})", inner),
    ),
    max_leaves=5,
)


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


async def _reference_resources(uri: str, database: str, tenant_id: str) -> list[dict[str, Any]]:
    store = MongoStore(uri, database)
    try:
        page = await store.tenant(tenant_id).users.find(Query(page=IndexPage(count=1000)))
        return [
            {**u.attributes, "id": u.id, "meta": {"created": u.meta.created, "lastModified": u.meta.last_modified}}
            for u in page.items
        ]
    finally:
        await store.close()


def test_database_filtering_agrees_with_the_reference_evaluator(database_uri: str, database_name: str) -> None:
    tenant_id, secret = asyncio.run(_prepare(database_uri, database_name))
    app = create_app(Settings(mongodb_uri=database_uri, database=database_name))
    with serve_in_thread(app) as base_url:
        scim = httpx.Client(base_url=f"{base_url}/scim/v2", headers={"Authorization": f"Bearer {secret}"})
        for user in _dataset(seed=7):
            assert scim.post("/Users", json=user).status_code == 201
        resources = asyncio.run(_reference_resources(database_uri, database_name, tenant_id))
        sizes: list[int] = []

        @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(_filters)
        def agree(text: str) -> None:
            response = scim.get("/Users", params={"filter": text, "count": "200", "attributes": "id"})
            try:
                compiled = compile_filter(text, USER_SCHEMA)
            except Exception:
                assert response.status_code == 400, (text, response.text)
                return
            assert response.status_code == 200, (text, response.text)
            found = {r["id"] for r in response.json()["Resources"]}
            expected = {r["id"] for r in resources if evaluate(USER_SCHEMA, compiled, r)}
            assert found == expected, text
            sizes.append(len(found))

        agree()
        # The generated filters must discriminate: some select part of the data set.
        assert any(0 < size < len(resources) for size in sizes)
