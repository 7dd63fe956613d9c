"""A TCP proxy on loopback in front of the test database, able to lose the answer to a command.

It relays bytes both ways. While armed for a command name, a client message carrying that
command (as the first key of an OP_MSG body: a BSON element named ``<name>\\0``) is forwarded to
the database, but the connection is then cut before the answer can come back: the database did
the work, the client never hears of it. That is the fault of a network or a process dying at the
worst moment, reproduced with real sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

__all__ = ["LossyProxy", "lossy_proxy"]


@dataclass
class LossyProxy:
    upstream_port: int
    port: int = 0
    #: How many more answers to that command to lose.
    cuts_left: int = 0
    command: bytes = b""
    cut: int = 0
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def lose_answers(self, command: str, times: int) -> None:
        self.command = command.encode() + b"\x00"
        self.cuts_left = times

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        lost = asyncio.Event()

        async def client_to_server() -> None:
            while data := await reader.read(65536):
                cutting = self.cuts_left > 0 and bool(self.command) and self.command in data
                if cutting:
                    # Marked lost before it is sent: its answer, however fast, is never passed on.
                    self.cuts_left -= 1
                    self.cut += 1
                    lost.set()
                up_writer.write(data)
                await up_writer.drain()
                if cutting:
                    await asyncio.sleep(0.3)  # the database commits meanwhile
                    return

        async def server_to_client() -> None:
            while data := await up_reader.read(65536):
                if lost.is_set():
                    return
                writer.write(data)
                await writer.drain()

        tasks = [asyncio.create_task(client_to_server()), asyncio.create_task(server_to_client())]
        with contextlib.suppress(ConnectionError):
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            task.cancel()
        for stream in (writer, up_writer):
            stream.close()
            with contextlib.suppress(ConnectionError):
                await stream.wait_closed()


@contextlib.asynccontextmanager
async def lossy_proxy(upstream_port: int) -> AsyncIterator[LossyProxy]:
    proxy = LossyProxy(upstream_port=upstream_port)
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0)
    proxy.port = int(server.sockets[0].getsockname()[1])
    try:
        yield proxy
    finally:
        server.close()
        await server.wait_closed()
