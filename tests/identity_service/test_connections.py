"""Slow and greedy clients are bounded by the real server, while everyone else is served."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from identity_service.app import create_app
from identity_service.http_server import ServerLimits
from identity_service.settings import Settings
from identity_store.domain.credentials import CredentialKind, issue
from identity_store.domain.resources import now
from identity_store.mongo import MongoStore
from tests.servers import serve_in_thread


async def _echo(request: Request) -> JSONResponse:
    return JSONResponse({"size": len(await request.body())})


@pytest.fixture
def bounded() -> Iterator[str]:
    """A small app behind the service's server with short deadlines and a cap of four connections."""
    app = Starlette(routes=[Route("/echo", _echo, methods=["POST"]), Route("/healthz", _echo, methods=["GET"])])
    limits = ServerLimits(header_seconds=0.5, body_seconds=0.5, max_connections=4)
    with serve_in_thread(app, limits=limits) as url:
        yield url


@contextlib.asynccontextmanager
async def raw(url: str) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def test_a_client_trickling_its_headers_is_disconnected(bounded: str) -> None:
    """A request head not complete within the header deadline ends the connection, however often
    the client sends a byte (the keep-alive timer alone would wait for ever)."""
    async with raw(bounded) as (reader, writer):
        writer.write(b"POST /echo HTTP/1.1\r\nHost: x\r\n")
        await writer.drain()
        closed = False
        for _ in range(40):  # up to 4 s of one byte every 0.1 s
            await asyncio.sleep(0.1)
            try:
                writer.write(b"X")
                await writer.drain()
            except ConnectionError:
                closed = True
                break
            if reader.at_eof() or (await _eof_soon(reader)):
                closed = True
                break
        assert closed


async def _eof_soon(reader: asyncio.StreamReader) -> bool:
    try:
        data = await asyncio.wait_for(reader.read(1), timeout=0.01)
    except TimeoutError:
        return False
    return data == b""


async def test_a_client_stalling_its_body_gets_408(bounded: str) -> None:
    """A body not complete within the body deadline is answered 408 and the connection closed."""
    async with raw(bounded) as (reader, writer):
        writer.write(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), timeout=10)
    assert answer.startswith(b"HTTP/1.1 408 ")


async def test_connections_beyond_the_cap_are_refused_with_503_while_others_are_served(bounded: str) -> None:
    """Four idle connections fill the cap: a fifth is answered 503 with Retry-After; once they go,
    requests are served again."""
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(4):
            await stack.enter_async_context(raw(bounded))
        await asyncio.sleep(0.1)
        async with raw(bounded) as (reader, _writer):
            answer = await asyncio.wait_for(reader.read(), timeout=10)
        assert answer.startswith(b"HTTP/1.1 503 ")
        assert b"retry-after: 1" in answer.lower()
    await asyncio.sleep(0.7)  # the idle connections' header deadline has closed them too
    async with httpx.AsyncClient(base_url=bounded) as client:
        response = await client.post("/echo", content=b"abc")
    assert response.json() == {"size": 3}


async def test_requests_beyond_the_concurrency_limit_get_a_scim_503_and_probes_still_answer(
    database_uri: str, database_name: str
) -> None:
    """With one request in flight allowed, a second SCIM request is refused at once with a SCIM
    error and Retry-After, a GraphQL one with a GraphQL error, and /healthz still answers."""
    store = MongoStore(database_uri, database_name)
    tenant = await store.tenants.create("busy")
    token = issue(tenant_id=tenant.id, kind=CredentialKind.SCIM_TOKEN, name="t", scopes=frozenset(), created=now())
    await store.credentials.add(token.credential)
    await store.close()
    settings = Settings(mongodb_uri=database_uri, database=database_name, max_concurrent_requests=1)
    with serve_in_thread(create_app(settings)) as url:
        async with raw(url) as (_reader, writer):
            # Holds the one slot: authenticated, its body never completes within the test.
            head = f"POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token.secret}\r\n"
            writer.write(head.encode() + b"Content-Type: application/scim+json\r\nContent-Length: 50\r\n\r\n{")
            await writer.drain()
            await asyncio.sleep(0.3)
            async with httpx.AsyncClient(base_url=url) as client:
                scim = await client.get("/scim/v2/Users", headers={"Authorization": "Bearer x"})
                graphql = await client.post("/graphql", json={"query": "{ viewer { name } }"})
                health = await client.get("/healthz")
    assert scim.status_code == 503
    assert scim.headers["retry-after"] == "1"
    assert scim.headers["content-type"].startswith("application/scim+json")
    assert scim.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert graphql.status_code == 503
    assert graphql.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert health.status_code == 200


async def test_a_scim_body_that_never_arrives_is_a_408_and_no_error_line(
    database_uri: str, database_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    """An authenticated SCIM create whose body stalls gets 408 from the server, and the service logs
    the client's departure below ERROR (it is the client's doing, not a fault)."""
    store = MongoStore(database_uri, database_name)
    tenant = await store.tenants.create("stalled")
    token = issue(tenant_id=tenant.id, kind=CredentialKind.SCIM_TOKEN, name="t", scopes=frozenset(), created=now())
    await store.credentials.add(token.credential)
    await store.close()
    app = create_app(Settings(mongodb_uri=database_uri, database=database_name))
    with caplog.at_level("INFO"), serve_in_thread(app, limits=ServerLimits(body_seconds=0.5)) as url:
        async with raw(url) as (reader, writer):
            head = f"POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token.secret}\r\n"
            writer.write(head.encode() + b"Content-Type: application/scim+json\r\nContent-Length: 50\r\n\r\n{")
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(), timeout=10)
        await asyncio.sleep(0.3)  # the app notices the departure
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert [r.getMessage() for r in caplog.records if r.levelname in {"ERROR", "CRITICAL"}] == []
