"""Acknowledged means durable: a write answered 2xx survives the embedded database being killed.

The service runs on its embedded default (a real SecantusDB child process, a real uvicorn
server on loopback). Writers send every kind of write over SCIM, concurrently; in the middle of
the load the database process is SIGKILLed and the service's supervisor brings it back on the
same folder. Afterwards the database must hold every acknowledged write with its event, and
nothing half-applied: the state is exactly what the tenant's event log says happened, however
each write was answered. A write answered 5xx (or not answered) may or may not have happened,
but never in part.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo.errors import ConnectionFailure

from identity_service.app import create_app
from identity_service.settings import Settings
from identity_store import StoreUnavailable
from identity_store.domain.credentials import CredentialKind, issue
from identity_store.domain.resources import now
from identity_store.mongo import MongoStore
from tests.servers import serve_in_thread

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SCIM_JSON = "application/scim+json"
WRITERS = 4
#: Acknowledged writes before the kill, and after the service serves again; IDENTITY_DURABILITY_SCALE
#: multiplies both for a longer run (10 gives about 1,800 acknowledged writes).
_SCALE = int(os.environ.get("IDENTITY_DURABILITY_SCALE", "1"))
BEFORE_KILL = 120 * _SCALE
AFTER_RESTART = 60 * _SCALE


@dataclass(slots=True, kw_only=True)
class Attempt:
    """One write sent: what it was, its request id (the events' correlation id) and its answer."""

    kind: str
    request_id: str
    status: int | None = None  # None: no answer (the connection failed or timed out)
    user: str | None = None
    group: str | None = None
    value: str | None = None

    @property
    def acknowledged(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(slots=True)
class Load:
    client: httpx.AsyncClient
    attempts: list[Attempt] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    answered: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def send(self, attempt: Attempt, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        self.attempts.append(attempt)
        try:
            response = await self.client.request(
                method, path, json=body, headers={"X-Request-Id": attempt.request_id, "Content-Type": SCIM_JSON}
            )
        except httpx.TransportError:
            return None
        attempt.status = response.status_code
        assert response.status_code < 500 or response.status_code == 503, response.text
        async with self.answered:
            self.answered.notify_all()
        if attempt.acknowledged and response.content:
            return response.json()
        return None

    def acknowledged(self) -> int:
        return sum(a.acknowledged for a in self.attempts)

    async def until_acknowledged(self, count: int) -> None:
        async with self.answered:
            await self.answered.wait_for(lambda: self.acknowledged() >= count)


def _attempt(kind: str, *, user: str | None = None, group: str | None = None, value: str | None = None) -> Attempt:
    return Attempt(kind=kind, request_id=uuid.uuid4().hex, user=user, group=group, value=value)


async def _writer(load: Load, number: int) -> None:
    """Create a user, rename it, add it to the current group, then remove it or delete it."""
    group: str | None = None
    iteration = 0
    while not load.stop.is_set():
        iteration += 1
        if group is None or iteration % 5 == 0:
            name = f"group-{number}-{iteration}-{uuid.uuid4().hex[:6]}"
            attempt = _attempt("create group", value=name)
            created = await load.send(attempt, "POST", "/Groups", {"schemas": [GROUP_URN], "displayName": name})
            if created is not None:
                attempt.group = group = created["id"]
            if group is None:
                continue
        user_name = f"user-{number}-{iteration}-{uuid.uuid4().hex[:6]}@example.com"
        attempt = _attempt("create user", value=user_name)
        created = await load.send(attempt, "POST", "/Users", {"schemas": [USER_URN], "userName": user_name})
        if created is None:
            continue
        user = attempt.user = created["id"]
        display = f"Renamed {iteration}"
        operation = {"op": "replace", "path": "displayName", "value": display}
        await load.send(
            _attempt("patch user", user=user, value=display),
            "PATCH",
            f"/Users/{user}",
            {"schemas": [PATCH_URN], "Operations": [operation]},
        )
        add = {"op": "add", "path": "members", "value": [{"value": user}]}
        await load.send(
            _attempt("add member", user=user, group=group),
            "PATCH",
            f"/Groups/{group}",
            {"schemas": [PATCH_URN], "Operations": [add]},
        )
        if iteration % 2:
            remove = {"op": "remove", "path": f'members[value eq "{user}"]'}
            await load.send(
                _attempt("remove member", user=user, group=group),
                "PATCH",
                f"/Groups/{group}",
                {"schemas": [PATCH_URN], "Operations": [remove]},
            )
        else:
            await load.send(_attempt("delete user", user=user), "DELETE", f"/Users/{user}")


@dataclass(frozen=True, slots=True)
class Snapshot:
    users: dict[str, dict[str, Any]]
    groups: dict[str, dict[str, Any]]
    memberships: set[tuple[str, str]]
    events: list[dict[str, Any]]
    sequence: int


async def _snapshot(store: MongoStore, tenant_id: str) -> Snapshot:
    db = store.database
    users = {d["_id"]: d async for d in db["users"].find({"tenant": tenant_id})}
    groups = {d["_id"]: d async for d in db["groups"].find({"tenant": tenant_id})}
    memberships = {(d["group"], d["member"]) async for d in db["memberships"].find({"tenant": tenant_id})}
    events = [d async for d in db["events"].find({"tenant": tenant_id}).sort("seq", 1)]
    counter = await db["event_sequences"].find_one({"_id": tenant_id})
    return Snapshot(users, groups, memberships, events, int(counter["seq"]) if counter else 0)


async def _snapshot_when_reachable(store: MongoStore, tenant_id: str) -> Snapshot:
    for _ in range(150):
        try:
            return await _snapshot(store, tenant_id)
        except (StoreUnavailable, ConnectionFailure):  # raw driver reads here: its own error
            await asyncio.sleep(0.2)
    pytest.fail("the database did not come back")


async def _readiness(client: httpx.AsyncClient) -> int:
    try:
        return (await client.get("/readyz")).status_code
    except httpx.TransportError:
        return 0


async def _wait_for_outage_and_recovery(client: httpx.AsyncClient) -> None:
    """/readyz stops answering 200 (the death is seen), then answers 200 again (it is back)."""
    for _ in range(100):
        if await _readiness(client) != 200:
            break
        await asyncio.sleep(0.1)
    else:
        pytest.fail("/readyz never reported the killed database")
    for _ in range(600):
        if await _readiness(client) == 200:
            return
        await asyncio.sleep(0.1)
    pytest.fail("the service did not become ready again")


def _replay(events: list[dict[str, Any]]) -> tuple[set[str], set[str], set[tuple[str, str]], dict[str, Any]]:
    """The users, groups, memberships and displayNames the event log says exist."""
    users: set[str] = set()
    groups: set[str] = set()
    memberships: set[tuple[str, str]] = set()
    display_names: dict[str, Any] = {}
    for event in events:
        subject = event["aggregate"]["id"]
        match event["type"]:
            case "UserCreated":
                users.add(subject)
            case "UserDeleted":
                users.discard(subject)
            case "GroupCreated":
                groups.add(subject)
            case "MembersAdded":
                memberships.update((subject, member) for member in event["members"])
            case "MembersRemoved":
                memberships.difference_update((subject, member) for member in event["members"])
            case "UserUpdated":
                for change in event["changes"]:
                    if change["field"] == "displayName":
                        display_names[subject] = change["after"]
    return users, groups, memberships, display_names


def _check_acknowledged(attempts: list[Attempt], state: Snapshot) -> list[str]:
    """Every acknowledged write is in the database, with its event (found by its request id)."""
    by_request: dict[str, list[dict[str, Any]]] = {}
    for event in state.events:
        by_request.setdefault(event["cid"], []).append(event)
    expected_event = {
        "create user": ("UserCreated", "user"),
        "create group": ("GroupCreated", "group"),
        "patch user": ("UserUpdated", "user"),
        "add member": ("MembersAdded", "group"),
        "remove member": ("MembersRemoved", "group"),
        "delete user": ("UserDeleted", "user"),
    }
    problems: list[str] = []
    for index, attempt in enumerate(attempts):
        if not attempt.acknowledged:
            continue
        event_type, subject = expected_event[attempt.kind]
        own = by_request.get(attempt.request_id, [])
        if not any(e["type"] == event_type and e["aggregate"]["id"] == getattr(attempt, subject) for e in own):
            problems.append(f"{attempt.kind} answered {attempt.status} has no {event_type} event")
        later = [a for a in attempts[index + 1 :] if a.user == attempt.user]
        deleted_later = any(a.kind == "delete user" for a in later)
        match attempt.kind:
            case "create user" if not deleted_later and attempt.user not in state.users:
                problems.append(f"user {attempt.user} answered 201 is missing")
            case "create group" if attempt.group not in state.groups:
                problems.append(f"group {attempt.group} answered 201 is missing")
            case "patch user" if not deleted_later:
                stored = state.users.get(attempt.user or "", {}).get("attrs", {}).get("displayName")
                if stored != attempt.value:
                    problems.append(f"user {attempt.user}: displayName {stored!r}, acknowledged {attempt.value!r}")
            case "add member" if not later and (attempt.group, attempt.user) not in state.memberships:
                problems.append(f"membership of {attempt.user} in {attempt.group} answered 2xx is missing")
            case "remove member" if (attempt.group, attempt.user) in state.memberships:
                problems.append(f"membership of {attempt.user} in {attempt.group} removed with 2xx is back")
            case "delete user" if attempt.user in state.users or any(
                member == attempt.user for _, member in state.memberships
            ):
                problems.append(f"user {attempt.user} deleted with 204 is still there")
    return problems


def _check_whole(state: Snapshot) -> list[str]:
    """Nothing half-applied: the state is the event log's, and the kept counts are exact."""
    problems: list[str] = []
    sequence = [e["seq"] for e in state.events]
    if sequence != list(range(1, len(sequence) + 1)) or state.sequence != len(sequence):
        problems.append(f"the event sequence has gaps: {len(sequence)} events, counter at {state.sequence}")
    users, groups, memberships, display_names = _replay(state.events)
    if users != set(state.users):
        problems.append(f"users without their events or events without users: {users ^ set(state.users)}")
    if groups != set(state.groups):
        problems.append(f"groups without their events or events without groups: {groups ^ set(state.groups)}")
    if memberships != state.memberships:
        problems.append(f"memberships disagree with the event log: {memberships ^ state.memberships}")
    for group, member in state.memberships:
        if group not in state.groups or member not in state.users:
            problems.append(f"membership of {member} in {group} whose user or group is gone")
    for group_id, group_document in state.groups.items():
        counted = sum(1 for g, _ in state.memberships if g == group_id)
        if group_document.get("memberCount") != counted:
            problems.append(f"group {group_id} keeps memberCount {group_document.get('memberCount')}, has {counted}")
    for user_id, user_document in state.users.items():
        if user_document.get("attrs", {}).get("displayName") != display_names.get(user_id):
            problems.append(f"user {user_id}: displayName differs from its last UserUpdated event")
    return problems


async def _tenant_with_token(store: MongoStore) -> tuple[str, str]:
    tenant = await store.tenants.create("durable")
    issued = issue(
        tenant_id=tenant.id, kind=CredentialKind.SCIM_TOKEN, name="load", scopes=frozenset({"scim"}), created=now()
    )
    await store.credentials.add(issued.credential)
    return tenant.id, issued.secret


@pytest.mark.slow
async def test_every_acknowledged_write_survives_a_sigkill_of_the_embedded_database(tmp_path: Path) -> None:
    """A write answered 2xx is on disk with its event; a SIGKILL mid-load loses none and halves none."""
    data_dir = tmp_path / "data"
    app = create_app(Settings(mongodb_uri=None, data_dir=data_dir, scim_rate_limit_per_second=0))
    with serve_in_thread(app) as base_url:
        state_file = data_dir / "secantusd.json"
        port = json.loads(state_file.read_text())["port"]
        store = MongoStore(f"mongodb://127.0.0.1:{port}/?directConnection=true", "identity")
        try:
            tenant_id, token = await _tenant_with_token(store)
            async with (
                httpx.AsyncClient(
                    base_url=f"{base_url}/scim/v2", headers={"Authorization": f"Bearer {token}"}, timeout=30
                ) as client,
                httpx.AsyncClient(base_url=base_url, timeout=30) as probe,
            ):
                load = Load(client)
                writers = [asyncio.create_task(_writer(load, n)) for n in range(WRITERS)]
                await load.until_acknowledged(BEFORE_KILL)
                killed = json.loads(state_file.read_text())["pid"]
                os.kill(killed, signal.SIGKILL)
                await _wait_for_outage_and_recovery(probe)
                restarted = json.loads(state_file.read_text())
                await load.until_acknowledged(load.acknowledged() + AFTER_RESTART)
                load.stop.set()
                await asyncio.gather(*writers)
            state = await _snapshot_when_reachable(store, tenant_id)
        finally:
            await store.close()

    assert restarted["pid"] != killed
    assert restarted["port"] == port
    kinds = {a.kind for a in load.attempts if a.acknowledged}
    assert kinds == {"create user", "create group", "patch user", "add member", "remove member", "delete user"}
    lost = _check_acknowledged(load.attempts, state)
    acknowledged = Counter(a.kind for a in load.attempts if a.acknowledged)
    refused = Counter(a.kind for a in load.attempts if not a.acknowledged)
    logging.getLogger(__name__).info(
        "acknowledged by kind %s; not acknowledged %s; lost %d", dict(acknowledged), dict(refused), len(lost)
    )
    assert lost == []
    assert _check_whole(state) == []
