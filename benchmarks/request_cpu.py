"""Where the CPU of a request goes: the service process sampled by py-spy, one request kind at a time.

The service runs as ``peer.py`` runs it (``benchmarks/service.py``, rate limit off); for each of
the request kinds ``peer.py`` compares with scim2-server (POST /Users, GET /Users filtered by
``userName eq``, GET /Users/{id}, PATCH /Users/{id}), ``--requests`` requests are sent with 8
in flight while py-spy records the service's Python stacks. Printed per kind: the service's CPU
per request (``/proc``), then the share of its busy samples spent in each station of the request
path, and the 8 frames with the most own time.

py-spy is not a dependency of the project: give ``--py-spy`` (an installed ``py-spy`` binary).
Its samples are of Python stacks: time in a socket write (a system call) is counted busy, so
those samples are left out, as is the idle wait for the next event; with uvloop installed its
own work, being C, lands on the frame that started the loop.

    .venv/bin/python benchmarks/request_cpu.py --py-spy /path/to/py-spy [--requests 600]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import harness
import httpx
from peer import PATCH_URN, seed

Send = Callable[[], Awaitable[httpx.Response]]
Frame = tuple[str, str]  # (function, file)
Stack = tuple[list[Frame], int]

# What py-spy records while the thread waits or writes to a socket (see the module docstring).
_NOT_BUSY = ("EpollSelector.select", "_SelectorSocketTransport.write", "PyMongoProtocol.write", "_worker")
_FRAME = re.compile(r"(.*) \((.*):\d+\)$")


def _names(stack: list[Frame]) -> list[str]:
    return [name for name, _ in stack]


def _files(stack: list[Frame]) -> list[str]:
    return [file for _, file in stack]


def _under(*prefixes: str) -> Callable[[list[Frame]], bool]:
    return lambda stack: any(name.startswith(prefixes) for name in _names(stack))


def _in_files(*prefixes: str) -> Callable[[list[Frame]], bool]:
    return lambda stack: any(file.startswith(prefixes) for file in _files(stack))


#: The stations of the request path, each the samples with a frame of it on the stack.
STATIONS: tuple[tuple[str, Callable[[list[Frame]], bool]], ...] = (
    ("the write transaction (unit of work, driver inside)", _under("MongoUnitOfWork.transact")),
    ("PyMongo, all of it", _in_files("pymongo", "bson")),
    ("HTTP server (uvicorn, h11), outside the app", lambda s: _files(s)[-1].startswith(("h11", "uvicorn"))),
    ("authentication, tenant, schemas (CallBoundary._call)", _under("CallBoundary._call ")),
    ("request body: read, parse, notes", _under("Call.resource_body", "read_body")),
    ("filter compiled (compile_scoped)", _under("compile_scoped")),
    ("scim2-models, pydantic, lark", _in_files("scim2_models", "pydantic", "lark")),
    ("rendering and JSON", _under("render_view", "render_user", "list_response", "ScimResponse.", "scim_json")),
    ("collection objects built (AsyncDatabase.__getitem__)", _under("AsyncDatabase.__getitem__")),
    ("a tenant's store built (MongoTenantStore.__init__)", _under("MongoTenantStore.__init__")),
    (
        "request observers (log line, metrics, activity record)",
        _under("log_request", "ServiceMetrics.observe", "ActivityRecorder.observe"),
    ),
    ("database metrics listener", _under("DatabaseMetrics.")),
    ("activity log writes (background batches)", _under("MongoActivityLog.append")),
)


def read_stacks(path: Path) -> list[Stack]:
    """py-spy's raw (collapsed) output: one stack a line, frames ``;``-separated, then its count."""
    stacks = []
    for line in path.read_text().splitlines():
        text, _, count = line.rpartition(" ")
        frames = []
        for frame in text.split(";"):
            match = _FRAME.match(frame)
            name, file = match.groups() if match else (frame, frame)
            file = re.sub(r".*/site-packages/", "", file).replace(str(Path.cwd()) + "/", "")
            frames.append((f"{name} ({file})", file))
        if not frames[-1][0].startswith(_NOT_BUSY):
            stacks.append((frames, int(count)))
    return stacks


def report(kind: str, cpu_ms: float, stacks: Sequence[Stack]) -> None:
    total = sum(count for _, count in stacks) or 1
    rows = [(label, f"{100 * sum(n for s, n in stacks if belongs(s)) / total:.0f}%") for label, belongs in STATIONS]
    harness.print_table(
        f"{kind}: {cpu_ms:.2f} ms of service CPU per request; share of busy samples", ["where", "share"], rows
    )
    own: collections.Counter[str] = collections.Counter()
    for stack, count in stacks:
        own[stack[-1][0]] += count
    harness.print_table(
        f"{kind}: the 8 frames with the most own time",
        ["frame", "share"],
        [(name, f"{100 * count / total:.1f}%") for name, count in own.most_common(8)],
    )


async def sampled(
    service: harness.Service, kind: str, send: Sequence[Send], py_spy: str, out: Path
) -> list[httpx.Response]:
    """Send ``send`` with 8 in flight while py-spy records the service; report; the responses."""
    spy = await asyncio.create_subprocess_exec(
        py_spy,
        "record",
        "--pid",
        str(service.pid),
        "-r",
        "1000",
        "--format",
        "raw",
        "-o",
        str(out),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    await asyncio.sleep(1.0)  # py-spy attached
    queue = list(reversed(send))
    responses: list[httpx.Response] = []

    async def worker() -> None:
        while queue:
            responses.append(await queue.pop()())

    before = service.cpu_seconds()
    await asyncio.gather(*(worker() for _ in range(8)))
    cpu_ms = (service.cpu_seconds() - before) * 1000 / len(send)
    spy.send_signal(signal.SIGINT)
    await spy.wait()
    report(kind, cpu_ms, read_stacks(out))
    return responses


async def load(service: harness.Service, headers: dict[str, str], requests: int, py_spy: str, folder: Path) -> None:
    run = f"{int(time.time())}"
    limits = httpx.Limits(max_connections=8, max_keepalive_connections=8)
    patch = {"schemas": [PATCH_URN], "Operations": [{"op": "replace", "path": "displayName", "value": "Renamed"}]}
    async with httpx.AsyncClient(
        base_url=f"{service.base_url}/scim/v2", headers=headers, limits=limits, timeout=60
    ) as client:

        def create(number: int) -> Send:
            return lambda: client.post("/Users", json=harness.entra_user_body(number, run))

        def match(user_name: str) -> Send:
            return lambda: client.get("/Users", params={"filter": f'userName eq "{user_name}"'})

        def read(user_id: str) -> Send:
            return lambda: client.get(f"/Users/{user_id}")

        def rename(user_id: str) -> Send:
            return lambda: client.patch(f"/Users/{user_id}", json=patch)

        created = await sampled(service, "POST /Users", [create(i) for i in range(requests)], py_spy, folder / "post")
        users = [(r.json()["id"], r.json()["userName"]) for r in created if r.status_code == 201]
        for kind, send, name in (
            ("GET /Users?filter=userName eq", [match(n) for _, n in users], "filter"),
            ("GET /Users/{id}", [read(u) for u, _ in users], "get"),
            ("PATCH /Users/{id} replace", [rename(u) for u, _ in users], "patch"),
        ):
            await sampled(service, kind, send, py_spy, folder / name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--py-spy", required=True, help="the py-spy binary")
    parser.add_argument("--requests", type=int, default=600, help="requests of each kind (default 600)")
    arguments = parser.parse_args()
    print(f"{harness.machine()}; load average {harness.load_average()}")
    with (
        tempfile.TemporaryDirectory(prefix="request-cpu-") as scratch,
        harness.database() as db,
        harness.service(db, scim_rate_limit_per_second="0") as service,
    ):
        headers = asyncio.run(seed(db.uri, db.name))
        asyncio.run(load(service, headers, arguments.requests, arguments.py_spy, Path(scratch)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
