"""A minimal graphql-transport-ws client for the tests (the protocol of enisdenjo/graphql-ws)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin, Subprotocol

PROTOCOL = Subprotocol("graphql-transport-ws")


@asynccontextmanager
async def open_socket(
    url: str, *, protocol: str = PROTOCOL, origin: str | None = None
) -> AsyncIterator[ClientConnection]:
    async with connect(
        url, subprotocols=[Subprotocol(protocol)], origin=Origin(origin) if origin else None, proxy=None
    ) as socket:
        yield socket


async def send(socket: ClientConnection, message: dict[str, Any]) -> None:
    await socket.send(json.dumps(message))


async def receive(socket: ClientConnection) -> dict[str, Any]:
    """The next message that is not a ping (answered) or a pong; at most 10 seconds away."""
    while True:
        async with asyncio.timeout(10):
            raw = await socket.recv()
        message: dict[str, Any] = json.loads(raw)
        if message["type"] == "ping":
            await send(socket, {"type": "pong"})
            continue
        if message["type"] != "pong":
            return message


async def initialise(socket: ClientConnection, key: str | None) -> None:
    """connection_init with the API key; expects connection_ack."""
    payload = {"Authorization": f"Bearer {key}"} if key else {}
    await send(socket, {"type": "connection_init", "payload": payload})
    ack = await receive(socket)
    assert ack["type"] == "connection_ack", ack


async def subscribe(
    socket: ClientConnection, operation_id: str, query: str, variables: dict[str, Any] | None = None
) -> None:
    await send(
        socket, {"id": operation_id, "type": "subscribe", "payload": {"query": query, "variables": variables or {}}}
    )
