"""Readiness is real: no SCIM or GraphQL request is served before the indexes and migrations exist.

Until the unique indexes and the start-up migrations are in place, ``/scim/v2/...`` answers 503
with ``Retry-After`` and a SCIM Error (RFC 7644 §3.12), ``/graphql`` a GraphQL error with code
``SERVICE_UNAVAILABLE``, and ``/readyz`` says why it is not ready; ``/healthz`` answers 200 as
long as the process lives.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from identity_service.app import create_app
from identity_service.settings import Settings
from identity_store.mongo import EmbeddedDatabase, MongoStore
from tests.servers import free_port, serve_in_thread

ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"


def _assert_scim_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/scim+json")
    assert "Retry-After" in response.headers
    body = response.json()
    assert body["schemas"] == [ERROR_URN]
    assert body["status"] == "503"


def _assert_graphql_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503
    assert "Retry-After" in response.headers
    body: dict[str, Any] = response.json()
    assert list(body) == ["errors"]
    [error] = body["errors"]
    assert error["extensions"] == {"code": "SERVICE_UNAVAILABLE"}
    assert error["message"]


def _duplicate_user_names(uri: str, name: str) -> None:
    """Two users with one userName, written as an older version without the unique index might have."""

    async def write() -> None:
        store = MongoStore(uri, name)
        try:
            documents = [{"_id": f"u{n}", "tenant": "t", "search": {"userName": "same@example.com"}} for n in (1, 2)]
            await store.database["users"].insert_many(documents)
        finally:
            await store.close()

    asyncio.run(write())


def _drop(uri: str, name: str) -> None:
    async def drop() -> None:
        store = MongoStore(uri, name)
        try:
            await store.client.drop_database(name)
        finally:
            await store.close()

    asyncio.run(drop())


def test_a_failed_index_creation_keeps_every_request_out_and_readyz_says_so(
    database_uri: str, database_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A unique index that cannot be built (duplicate data) is a failed start, not a service without it."""
    _duplicate_user_names(database_uri, database_name)
    app = create_app(Settings(mongodb_uri=database_uri, database=database_name))
    try:
        with caplog.at_level(logging.INFO, logger="identity_store.app"), serve_in_thread(app) as base_url:
            ready = httpx.get(f"{base_url}/readyz")
            assert ready.status_code == 503
            assert ready.json()["status"] == "failed"
            assert "index creation failed" in ready.json()["detail"]
            assert httpx.get(f"{base_url}/healthz").status_code == 200
            _assert_scim_unavailable(httpx.get(f"{base_url}/scim/v2/Users"))
            _assert_scim_unavailable(
                httpx.post(f"{base_url}/scim/v2/Users", json={"schemas": [USER_URN], "userName": "x@example.com"})
            )
            _assert_graphql_unavailable(httpx.post(f"{base_url}/graphql", json={"query": "{ __typename }"}))
        failures = [r for r in caplog.records if r.name == "identity_store.app" and r.levelno >= logging.ERROR]
        assert len(failures) == 1
        assert "index creation failed" in failures[0].getMessage()
        assert failures[0].exc_info is None
        assert "\n" not in failures[0].getMessage()
    finally:
        _drop(database_uri, database_name)


@pytest.mark.slow
def test_nothing_is_served_until_the_database_answers_and_the_indexes_exist(tmp_path: Path) -> None:
    """While the database is unreachable the service is starting; once the indexes exist, it serves."""
    port = free_port()  # nothing listens here yet
    app = create_app(Settings(mongodb_uri=f"mongodb://127.0.0.1:{port}/?directConnection=true", database="late"))
    with serve_in_thread(app) as base_url:
        ready = httpx.get(f"{base_url}/readyz", timeout=30)
        assert ready.status_code == 503
        assert ready.json()["status"] == "starting"
        assert httpx.get(f"{base_url}/healthz").status_code == 200
        _assert_scim_unavailable(httpx.get(f"{base_url}/scim/v2/Users"))
        _assert_graphql_unavailable(httpx.post(f"{base_url}/graphql", json={"query": "{ __typename }"}))

        database = EmbeddedDatabase(tmp_path / "db", port=port)
        asyncio.run(database.start())
        try:
            deadline = time.monotonic() + 60
            while httpx.get(f"{base_url}/readyz", timeout=30).status_code != 200:
                assert time.monotonic() < deadline, "the service did not become ready"
                time.sleep(0.2)
            # Past the gate: the SCIM endpoint itself answers (a request without a token is its 401).
            assert httpx.get(f"{base_url}/scim/v2/Users").status_code == 401
            assert httpx.post(f"{base_url}/graphql", json={"query": "{ __typename }"}).status_code == 401
        finally:
            asyncio.run(database.stop())


async def test_an_app_without_a_lifespan_is_not_gated(store: MongoStore, database_uri: str, database_name: str) -> None:
    """An app handed a prepared store (its lifespan never runs) has nothing to wait for."""
    app = create_app(Settings(mongodb_uri=database_uri, database=database_name))
    app.state.store = store
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        assert (await client.get("/scim/v2/Users")).status_code == 401
