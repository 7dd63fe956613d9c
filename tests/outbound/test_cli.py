"""``identity-store webhook ...`` as an operator runs it: the secret once, then never again."""

from __future__ import annotations

import asyncio
import json

import pytest

from identity_service.cli import run
from identity_store import EventType, Tenant
from identity_store.mongo import MongoStore


async def _cli(*argv: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    status = await asyncio.to_thread(run, list(argv))
    out, err = capsys.readouterr()
    return status, out.strip(), err.strip()


@pytest.fixture(autouse=True)
def _environment(database_uri: str, database_name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONGODB_URI", database_uri)
    monkeypatch.setenv("IDENTITY_DATABASE", database_name)
    monkeypatch.setenv("IDENTITY_LOG_LEVEL", "warning")


async def test_create_prints_the_id_and_secret_once(
    store: MongoStore, tenant: Tenant, capsys: pytest.CaptureFixture[str]
) -> None:
    """``create`` prints id and whsec_ secret; ``list`` and ``disable`` show the subscription without it."""
    status, out, err = await _cli(
        "webhook", "create", "--tenant", "acme", "--url", "https://example.com/hook", "--event", "UserCreated",
        capsys=capsys,
    )  # fmt: skip
    assert status == 0, err
    subscription_id, secret = out.split("\t")
    assert secret.startswith("whsec_")
    status, out, _ = await _cli("webhook", "list", "--tenant", "acme", "--json", capsys=capsys)
    assert status == 0
    [listed] = json.loads(out)
    assert listed["id"] == subscription_id
    assert listed["events"] == ["UserCreated"]
    assert listed["state"] == "active"
    assert secret not in out
    status, out, _ = await _cli("webhook", "disable", subscription_id, capsys=capsys)
    assert status == 0
    assert out.split("\t") == [subscription_id, "disabled"]
    assert secret not in out
    status, out, _ = await _cli("webhook", "deliveries", subscription_id, "--json", capsys=capsys)
    assert status == 0
    assert json.loads(out) == []


async def test_create_refuses_a_loopback_url_by_default(
    store: MongoStore, tenant: Tenant, capsys: pytest.CaptureFixture[str]
) -> None:
    """A private address is refused with one line and a failure status; nothing is stored."""
    status, _, err = await _cli(
        "webhook", "create", "--tenant", "acme", "--url", "https://127.0.0.1/hook", capsys=capsys
    )
    assert status != 0
    assert "non-public address" in err
    assert "Traceback" not in err
    assert await store.tenant(tenant.id).webhooks.all() == []


async def test_deliveries_of_an_unknown_subscription_fail_cleanly(
    store: MongoStore, tenant: Tenant, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown id is one line on stderr and a failure status."""
    status, _, err = await _cli("webhook", "deliveries", "nope", capsys=capsys)
    assert status != 0
    assert "no webhook subscription nope" in err
    assert "Traceback" not in err


async def test_create_and_disable_are_recorded_as_the_command_lines(
    store: MongoStore, tenant: Tenant, capsys: pytest.CaptureFixture[str]
) -> None:
    """``create`` and ``disable`` go through the bus: the tenant's log has ``WebhookSubscribed`` and
    ``WebhookDisabled`` about the subscription, made by the command line, without the secret."""
    status, out, err = await _cli(
        "webhook", "create", "--tenant", "acme", "--url", "https://example.com/hook", capsys=capsys
    )
    assert status == 0, err
    subscription_id, secret = out.split("\t")
    status, _, err = await _cli("webhook", "disable", subscription_id, capsys=capsys)
    assert status == 0, err
    recorded = await store.tenant(tenant.id).events.read(
        types=[EventType.WEBHOOK_SUBSCRIBED, EventType.WEBHOOK_DISABLED]
    )
    assert [(r.event.type, r.event.aggregate_id, r.actor.kind) for r in recorded] == [
        (EventType.WEBHOOK_SUBSCRIBED, subscription_id, "cli"),
        (EventType.WEBHOOK_DISABLED, subscription_id, "cli"),
    ]
    assert all(secret not in repr(r.event) for r in recorded)
