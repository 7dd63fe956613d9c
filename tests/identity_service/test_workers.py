"""``identity-store serve --workers 2``: two service processes on one port and one database.

The rules: both workers accept on the one port and serve requests; what one writes the other
reads; ``/metrics``, answered by either, counts the requests of both; SIGTERM stops every worker,
then the parent, promptly and with status 0; a killed worker is one error line and is replaced;
with the embedded database the parent starts it once, the workers use it, and it stops after
the last worker. Which process answered a request is read from its request log line's ``pid``.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from identity_store import Tenant
from identity_store.mongo import MongoStore
from tests.identity_service.test_metrics import sample_sum
from tests.scim_facade.conftest import issue_token
from tests.service_process import ServiceProcess

pytestmark = pytest.mark.slow

SCIM_JSON = "application/scim+json"


@pytest.fixture
def service(tmp_path: Path, database_uri: str, database_name: str) -> Iterator[ServiceProcess]:
    running = ServiceProcess(tmp_path, database_uri=database_uri, database_name=database_name, args=["--workers", "2"])
    try:
        _wait_until_both_serve(running)
        yield running
    finally:
        running.stop()


def _lines(service: ServiceProcess) -> list[dict[str, Any]]:
    return [json.loads(line) for line in service.stdout_path.read_text().splitlines() if line.strip()]


def _wait_until_both_serve(service: ServiceProcess) -> None:
    """Until each worker has answered ``/readyz`` 200 (a worker may start while another holds the
    migrations' lease, and then waits behind its readiness gate)."""
    service.wait_until_ready()
    ready: set[int] = set()
    for round_ in range(100):
        ids = {f"ready-{round_}-{n}" for n in range(8)}
        asyncio.run(_at_once(service, "/readyz", ids))
        lines = [line for line in _lines(service) if line.get("request_id") in ids]
        ready |= {line["pid"] for line in lines if line.get("status") == 200}
        if len(ready) == 2:
            return
        time.sleep(0.1)
    raise RuntimeError(f"the workers did not both become ready: {service.stdout_path.read_text()}")


async def _at_once(service: ServiceProcess, path: str, ids: set[str]) -> list[httpx.Response]:
    """A request for each id at once, each on a connection of its own."""
    no_reuse = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=service.base_url, limits=no_reuse, timeout=30) as http:
        return await asyncio.gather(*(http.get(path, headers={"X-Request-Id": i}) for i in ids))


def _started(service: ServiceProcess) -> set[int]:
    return {pid for pid, event in _events(service) if event == "Application startup complete."}


def _events(service: ServiceProcess) -> list[tuple[int, str]]:
    """Each line's process and message, in order."""
    return [(line["pid"], line["event"]) for line in _lines(service)]


async def _served_by(service: ServiceProcess, request_ids: set[str]) -> dict[str, int]:
    """The pid of the process whose request line has each request id (waiting up to 10 s for the lines)."""
    deadline = time.monotonic() + 10
    while True:
        found = {
            line["request_id"]: line["pid"]
            for line in _lines(service)
            if line.get("logger") == "identity_service.requests" and line.get("request_id") in request_ids
        }
        if len(found) == len(request_ids) or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.05)


def _workers(service: ServiceProcess) -> set[int]:
    """The parent's worker processes (uvicorn spawns them; the resource tracker is not one)."""
    parent = service.process.pid
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    return {int(pid) for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"


async def _on_new_connections(service: ServiceProcess, round_: int, count: int = 16) -> set[str]:
    """``count`` SCIM requests at once (without a token: 401), each on a connection of its own;
    their request ids."""
    ids = {f"spread-{round_}-{n}" for n in range(count)}
    answers = await _at_once(service, "/scim/v2/Users", ids)
    assert [answer.status_code for answer in answers] == [401] * count
    return ids


async def _requests_on_both(service: ServiceProcess) -> dict[str, int]:
    """Requests until both workers have answered some; which process answered each."""
    served: dict[str, int] = {}
    for round_ in range(20):
        served |= await _served_by(service, await _on_new_connections(service, round_))
        if len(set(served.values())) >= 2:
            break
    return served


async def test_two_workers_accept_on_the_one_port_and_both_serve_requests(service: ServiceProcess) -> None:
    workers = _workers(service)
    served = await _requests_on_both(service)

    assert len(workers) == 2
    assert set(served.values()) == workers
    assert service.process.pid not in served.values()  # the parent only supervises


async def test_a_user_written_through_one_worker_is_read_through_the_other(
    service: ServiceProcess, store: MongoStore, tenant: Tenant
) -> None:
    token = (await issue_token(store, tenant)).secret
    scim = {"Authorization": f"Bearer {token}", "Content-Type": SCIM_JSON}
    user = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ada@example.com"}
    no_reuse = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=service.base_url, limits=no_reuse, timeout=30) as http:
        created = await http.post("/scim/v2/Users", json=user, headers={**scim, "X-Request-Id": "write"})
        writer = (await _served_by(service, {"write"}))["write"]
        by_the_other: list[httpx.Response] = []
        for round_ in range(20):  # reads at once, each on a connection of its own, until one reaches the other
            ids = [f"read-{round_}-{n}" for n in range(8)]
            path = f"/scim/v2/Users/{created.json()['id']}"
            reads = await asyncio.gather(*(http.get(path, headers={**scim, "X-Request-Id": i}) for i in ids))
            served = await _served_by(service, set(ids))
            by_the_other = [read for i, read in zip(ids, reads, strict=True) if served.get(i) != writer]
            if by_the_other:
                break

    assert created.status_code == 201
    assert by_the_other, "every read was answered by the worker that wrote"
    read = by_the_other[0]
    assert read.status_code == 200
    assert read.json()["userName"] == "ada@example.com"
    assert read.headers["ETag"] == created.headers["ETag"]


async def test_metrics_answered_by_either_worker_count_the_requests_of_both(service: ServiceProcess) -> None:
    served = await _requests_on_both(service)
    busiest = max(list(served.values()).count(pid) for pid in set(served.values()))

    async with httpx.AsyncClient(base_url=service.base_url, timeout=30) as http:
        scrape = await http.get("/metrics")
    counted = sample_sum(scrape.text, "identity_requests_total", front_end="scim", status_class="4xx")

    assert scrape.status_code == 200
    assert counted == len(served) > busiest


async def test_sigterm_stops_every_worker_and_then_the_parent_promptly(service: ServiceProcess) -> None:
    await _requests_on_both(service)
    workers = _workers(service)

    stopping = time.monotonic()
    service.process.send_signal(signal.SIGTERM)
    status = service.process.wait(timeout=30)
    took = time.monotonic() - stopping

    assert status == 0
    assert took < 15
    assert not any(_alive(pid) for pid in workers)
    events = _events(service)
    parent_stops = events.index((service.process.pid, f"Stopping parent process [{service.process.pid}]"))
    for pid in workers:
        assert events.index((pid, "Application shutdown complete.")) < parent_stops


async def test_a_killed_worker_is_reported_in_one_line_and_replaced(service: ServiceProcess) -> None:
    victim, survivor = sorted(_workers(service))

    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 30
    reports: list[dict[str, Any]] = []
    while not reports and time.monotonic() < deadline:
        reports = [line for line in _lines(service) if line.get("worker_pid") == victim]
        await asyncio.sleep(0.1)
    replacement = reports[0]["replacement_pid"] if reports else None
    for _ in range(300):
        if replacement in _started(service):
            break
        await asyncio.sleep(0.1)
    served = await _requests_on_both(service)

    assert len(reports) == 1
    assert reports[0]["level"] == "error"
    assert reports[0]["ended"] == "killed by SIGKILL"
    assert _workers(service) == {survivor, replacement}
    assert set(served.values()) == {survivor, replacement}


def test_with_the_embedded_database_the_parent_starts_it_once_and_ctrl_c_stops_it_after_the_workers(
    tmp_path: Path, database_name: str
) -> None:
    """Ctrl-C in a terminal signals the whole foreground group: the parent and its workers, but
    not the database, which runs in a group of its own and is stopped by the parent, last.
    (``IDENTITY_WORKERS`` here, the setting the flag mirrors.)"""
    service = ServiceProcess(tmp_path, database_uri=None, database_name=database_name, env={"IDENTITY_WORKERS": "2"})
    try:
        _wait_until_both_serve(service)
        workers = _workers(service)
        state = json.loads((tmp_path / "data" / "secantusd.json").read_text())
        os.killpg(service.process.pid, signal.SIGINT)
        service.process.wait(timeout=30)
    finally:
        service.stop()

    events = _events(service)
    parent = service.process.pid
    started = [pid for pid, event in events if event.startswith("started the embedded database")]
    attached = [pid for pid, event in events if event.startswith("using the embedded database the service runs")]
    stopped = events.index((parent, "stopped the embedded database"))
    assert service.process.returncode == 0
    assert started == [parent]
    assert state["owner"] == parent
    assert sorted(attached) == sorted(workers)
    assert all(events.index((pid, "Application shutdown complete.")) < stopped for pid in workers)
    assert not [event for _, event in events if "restart" in event and "embedded database" in event]
    assert not _alive(state["pid"])
