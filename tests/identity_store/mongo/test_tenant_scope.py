"""Every command the store sends to a tenant collection names the tenant (tenancy by construction).

A command listener records what the store sends for a representative set of writes and reads;
each find, aggregate (its first ``$match``, every ``$lookup`` sub-pipeline and every
``$graphLookup``'s ``restrictSearchWithMatch``), update, delete, findAndModify and insert on a
tenant collection must be restricted to the acting tenant. That is what keeps tenants apart, and
what a tenant-prefixed shard key needs to route every command to one shard.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import pymongo
import pytest
from pymongo import monitoring

from identity_store import (
    Actor,
    AddMembers,
    CommandBus,
    CreateGroup,
    CreateUser,
    DeleteGroup,
    DeleteUser,
    PatchGroup,
    PatchUser,
    ReplaceMembers,
    RequestContext,
)
from identity_store.commands import (
    CreateWebhookSubscription,
    DisableWebhookSubscription,
    PurgeDeleted,
    RestoreGroup,
    RestoreUsers,
)
from identity_store.domain.filters import Compare, ElementMatch, Operator
from identity_store.domain.patch import PatchOp, PatchOperation, PatchPath
from identity_store.domain.resources import now
from identity_store.handlers import fan_outs
from identity_store.mongo import MongoStore
from identity_store.mongo.shard_keys import SHARD_KEYS
from identity_store.queries import CursorPage, IndexPage, MemberOf, Query, Sort

Document = dict[str, Any]

#: The collections whose documents belong to one tenant (``tenant`` leads every index): those
#: sharded by the tenant, whose commands must carry it to reach one shard, and the small
#: unsharded ones that still belong to a tenant.
TENANT_COLLECTIONS = frozenset(
    {name for name, key in SHARD_KEYS.items() if next(iter(key)) == "tenant"} | {"credentials", "oauth_clients"}
)


class Recorder(monitoring.CommandListener):
    """Keeps every command the driver sends (a copy: the driver may reuse the document)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.commands: list[tuple[str, Document]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        with self._lock:
            self.commands.append((event.command_name, dict(event.command)))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        return None

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        return None


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def recorded_store(database_uri: str, recorder: Recorder) -> AsyncIterator[MongoStore]:
    name = f"test_{uuid.uuid4().hex[:12]}"
    store = MongoStore(database_uri, name, listeners=[recorder])
    try:
        await store.create_indexes()
        yield store
        with pymongo.timeout(300):
            await store.client.drop_database(name)
    finally:
        await store.close()


def _names_tenant(condition: Any, tenant_id: str) -> bool:
    """Whether a query condition restricts to ``tenant_id``: at its top level or in an ``$and`` operand."""
    if not isinstance(condition, dict):
        return False
    if condition.get("tenant") == tenant_id:
        return True
    return any(_names_tenant(operand, tenant_id) for operand in condition.get("$and", []))


def _pipeline_violations(pipeline: list[Document], tenant_id: str, where: str) -> Iterator[str]:
    first = pipeline[0] if pipeline else {}
    if not _names_tenant(first.get("$match"), tenant_id):
        yield f"{where}: the pipeline does not start with the tenant's $match: {first}"
    for stage in pipeline:
        if "$lookup" in stage:
            yield from _pipeline_violations(stage["$lookup"].get("pipeline", []), tenant_id, f"{where} $lookup")
        if "$graphLookup" in stage:
            restrict = stage["$graphLookup"].get("restrictSearchWithMatch")
            if not _names_tenant(restrict, tenant_id):
                yield f"{where}: $graphLookup without the tenant: {stage}"


def violations(commands: list[tuple[str, Document]], tenant_id: str) -> list[str]:
    """Every command on a tenant collection that is not restricted to ``tenant_id``."""
    found: list[str] = []
    for name, command in commands:
        collection = command.get(name)
        if collection == "event_sequences":
            # Keyed by the tenant itself: one document per tenant.
            queries = [u["q"] for u in command.get("updates", [])] or [
                command.get("query") or command.get("filter") or {}
            ]
            found += [f"{name} event_sequences {q}" for q in queries if q.get("_id") != tenant_id]
            continue
        if collection not in TENANT_COLLECTIONS:
            continue
        where = f"{name} {collection}"
        if name == "find" and not _names_tenant(command.get("filter"), tenant_id):
            found.append(f"{where}: {command.get('filter')}")
        elif name == "aggregate":
            found += list(_pipeline_violations(command["pipeline"], tenant_id, where))
        elif name == "update":
            found += [f"{where}: {u['q']}" for u in command["updates"] if not _names_tenant(u["q"], tenant_id)]
        elif name == "delete":
            found += [f"{where}: {d['q']}" for d in command["deletes"] if not _names_tenant(d["q"], tenant_id)]
        elif name == "findAndModify" and not _names_tenant(command["query"], tenant_id):
            found.append(f"{where}: {command['query']}")
        elif name == "insert":
            found += [f"{where}: {d}" for d in command["documents"] if d.get("tenant") != tenant_id]
    return found


def seen(commands: list[tuple[str, Document]]) -> set[tuple[str, str]]:
    """Which (command, collection) pairs were sent, to show the check covered them."""
    pairs = set()
    for name, command in commands:
        collection = command.get(name)
        if isinstance(collection, str) and collection in TENANT_COLLECTIONS:
            pairs.add((name, collection))
    return pairs


async def test_every_command_on_a_tenant_collection_names_the_tenant(
    recorded_store: MongoStore, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writes, reads, the member walk, the user views, the event log and fan-outs in several
    batches (with their notes) all send only commands restricted to the acting tenant."""
    monkeypatch.setattr(fan_outs, "BATCH", 1)  # every fan-out here takes several batches and a note
    store = recorded_store
    tenant = await store.tenants.create("acme")
    other = await store.tenants.create("other")
    bus = CommandBus(store)
    context = RequestContext(
        tenant_id=tenant.id, actor=Actor(credential_id="test-credential", kind="test"), correlation_id="req-1"
    )
    elsewhere = RequestContext(
        tenant_id=other.id, actor=Actor(credential_id="test-credential", kind="test"), correlation_id="req-2"
    )
    await bus.dispatch(elsewhere, CreateUser(attributes={"userName": "boss"}))  # the same names, another tenant
    recorder.commands.clear()

    boss = await bus.dispatch(context, CreateUser(attributes={"userName": "boss"}))
    staff = [
        await bus.dispatch(
            context,
            CreateUser(
                attributes={
                    "userName": f"staff{i}",
                    "emails": [{"value": f"s{i}@example.com", "type": "work"}],
                    "enterprise": {"manager": {"value": boss.id}},
                }
            ),
        )
        for i in range(3)
    ]
    inner = await bus.dispatch(context, CreateGroup(attributes={"displayName": "Inner"}, member_ids=(staff[0].id,)))
    outer = await bus.dispatch(
        context, CreateGroup(attributes={"displayName": "Outer"}, member_ids=(inner.id, staff[1].id))
    )
    await bus.dispatch(context, AddMembers(group_id=outer.id, member_ids=(staff[2].id,)))
    await bus.dispatch(
        context,
        PatchUser(
            user_id=staff[2].id,
            operations=(PatchOperation(op=PatchOp.REPLACE, path=PatchPath(attribute=("displayName",)), value="S2"),),
        ),
    )
    await bus.dispatch(context, PatchGroup(group_id=outer.id, remove_member_ids=(staff[1].id,)))
    await bus.dispatch(context, ReplaceMembers(group_id=inner.id, member_ids=(staff[1].id, staff[2].id)))

    tenant_store = store.tenant(tenant.id)
    work_email = ElementMatch(path=("emails",), filter=Compare(path=("type",), op=Operator.EQ, value="work"))
    await tenant_store.users.find(Query(filter=work_email, page=CursorPage(count=2)))
    page = await tenant_store.users.find(Query(page=CursorPage(count=1)))
    await tenant_store.users.find(Query(page=CursorPage(count=1, cursor=page.next_cursor)))
    await tenant_store.users.find(
        Query(
            member_of=MemberOf(group_id=outer.id, transitive=True),
            filter=Compare(path=("userName",), op=Operator.SW, value="staff"),
            page=CursorPage(count=2),
        )
    )
    await tenant_store.users.find_views(Query(page=CursorPage(count=5)), groups=True)
    await tenant_store.users.get_view(staff[0].id, groups=True)
    await tenant_store.users.reports_pages([boss.id], limit=2)
    await tenant_store.users.count_reports([boss.id])
    await tenant_store.users.display_names([boss.id])
    await tenant_store.groups.find(Query())
    # A walk in creation order: its first page records the walk, the next one reads it.
    for start in (1, 2):
        walk = Query(sort=Sort(creation=True), page=IndexPage(start_index=start, count=1), walker="test-credential")
        await tenant_store.users.find(walk)
    await tenant_store.memberships.groups_of([staff[0].id], transitive=True)
    await tenant_store.memberships.members_page(outer.id)
    await tenant_store.memberships.count_members([outer.id])
    await tenant_store.events.read(aggregate_ids=[outer.id])
    await tenant_store.events.last_sequence()
    await store.credentials.list(tenant.id)
    await store.oauth_clients.list(tenant.id)
    # Webhook subscriptions, through the commands and the tenant's reads (the delivery worker's
    # walk over every tenant is the one reader that is not scoped).
    hook = await bus.dispatch(context, CreateWebhookSubscription(url="https://hooks.example.com/in"))
    await bus.dispatch(context, DisableWebhookSubscription(subscription_id=hook.id))
    await tenant_store.webhooks.all()
    await tenant_store.webhooks.attempts(hook.id)

    await bus.dispatch(context, DeleteGroup(group_id=inner.id))
    await bus.dispatch(context, DeleteUser(user_id=boss.id))
    await fan_outs.finish(tenant_store)
    # Soft deletion: the deleted objects listed, restored, deleted again and purged.
    await tenant_store.deleted.users(since=now() - timedelta(hours=1), deleted_by="test-credential")
    await bus.dispatch(context, RestoreGroup(group_id=inner.id))
    await bus.dispatch(context, RestoreUsers(user_ids=(boss.id,)))
    await bus.dispatch(context, DeleteUser(user_id=boss.id))
    await bus.dispatch(context, PurgeDeleted(deleted_before=now() + timedelta(seconds=1)))

    assert violations(recorder.commands, tenant.id) == []
    covered = seen(recorder.commands)
    expected = {
        ("find", "users"),
        ("aggregate", "users"),
        ("aggregate", "memberships"),
        ("aggregate", "groups"),
        ("insert", "users"),
        ("insert", "events"),
        ("update", "users"),
        ("update", "memberships"),
        ("delete", "memberships"),
        ("findAndModify", "users"),
        ("insert", "deleted_users"),
        ("find", "deleted_users"),
        ("findAndModify", "deleted_users"),
        ("delete", "deleted_users"),
        ("findAndModify", "deleted_groups"),
        ("insert", "deleted_memberships"),
        ("find", "deleted_memberships"),
        ("delete", "deleted_memberships"),
        ("insert", "deleted_manager_refs"),
        ("delete", "deleted_manager_refs"),
        ("insert", "position_tombstones"),
        ("find", "events"),
        ("find", "credentials"),
        ("find", "oauth_clients"),
        ("find", "fan_outs"),
        ("insert", "fan_outs"),
        ("delete", "fan_outs"),
        ("insert", "webhook_subscriptions"),
        ("find", "webhook_subscriptions"),
        ("findAndModify", "webhook_subscriptions"),
        ("update", "directory_walks"),
        ("find", "directory_walks"),
    }
    assert expected <= covered


async def test_the_check_finds_a_command_without_the_tenant(recorded_store: MongoStore, recorder: Recorder) -> None:
    """The property above is not vacuous: a lookup by id alone, or with another tenant, is caught."""
    tenant = await recorded_store.tenants.create("acme")
    recorder.commands.clear()
    await recorded_store.database["users"].find_one({"_id": "someone"})
    await recorded_store.database["memberships"].aggregate([{"$match": {"tenant": "another", "member": "x"}}])
    assert len(violations(recorder.commands, tenant.id)) == 2
