"""Webhook subscriptions managed through GraphQL (the ``webhooks:manage`` scope), end to end.

The service runs as ``identity-store serve`` does, with its delivery worker; the receiver is a real
server on loopback, and deliveries are verified with the ``standardwebhooks`` library using the
secret ``webhookCreate`` returned, as a receiver would.
"""

from __future__ import annotations

from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook

from identity_store import Tenant
from identity_store.domain.credentials import CredentialKind, issue
from identity_store.domain.resources import now
from identity_store.mongo import MongoStore
from tests.outbound.conftest import Service, create_user, eventually, scim_token
from tests.outbound.receiver import Receiver

MANAGE = ("webhooks:manage", "events:subscribe")

CREATE = """
mutation Create($input: WebhookCreateInput!) {
  webhookCreate(input: $input) {
    webhook { id url eventTypes state }
    secret
    userErrors { __typename message field ... on InvalidValueError { attribute } }
  }
}"""
DISABLE = """
mutation Disable($id: ID!) {
  webhookDisable(id: $id) { webhook { id state } userErrors { __typename message } }
}"""
LIST = "query { webhooks { id url eventTypes state } }"
DELIVERIES = """
query Deliveries($id: ID!) {
  webhookDeliveries(id: $id, first: 10) { at webhookId sequence outcome statusCode latencyMs error }
}"""
EVENTS = """
query {
  identityEvents(types: [WEBHOOK_SUBSCRIBED, WEBHOOK_DISABLED]) {
    nodes { type subjectType subjectId changes { field before after } actor { kind credentialId } }
  }
}"""


async def _key(store: MongoStore, tenant: Tenant, *scopes: str) -> tuple[str, str]:
    """An API key of ``tenant``: its id and its secret."""
    issued = issue(
        tenant_id=tenant.id, kind=CredentialKind.API_KEY, name="hooks", scopes=frozenset(scopes), created=now()
    )
    await store.credentials.add(issued.credential)
    return issued.credential.id, issued.secret


async def _gql(base_url: str, key: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {key}"}) as http:
        response = await http.post("/graphql", json={"query": query, "variables": variables or {}})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _create(base_url: str, key: str, url: str, *types: str) -> dict[str, Any]:
    body = await _gql(base_url, key, CREATE, {"input": {"url": url, "eventTypes": list(types)}})
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["webhookCreate"]
    return payload


async def test_a_webhook_created_over_graphql_gets_a_scim_create_signed_with_the_secret_returned_once(
    store: MongoStore, tenant: Tenant, service: Service, receiver: tuple[Receiver, str]
) -> None:
    """``webhookCreate`` returns the subscription and its secret; a user Entra creates over SCIM then
    reaches the receiver, and the secret verifies it. Reading the subscriptions never shows it."""
    hooks, hooks_url = receiver
    _, key = await _key(store, tenant, *MANAGE)
    token = await scim_token(store, tenant)
    with service() as url:
        created = await _create(url, key, f"{hooks_url}/hook", "USER_CREATED")
        assert created["userErrors"] == []
        secret = created["secret"]
        assert secret.startswith("whsec_")
        assert created["webhook"]["eventTypes"] == ["USER_CREATED"]
        assert created["webhook"]["state"] == "ACTIVE"
        user_id = await create_user(url, token, "ada@example.com")
        await eventually(lambda: len(hooks.accepted()) >= 1)
        listed = await _gql(url, key, LIST)
        deliveries = await _gql(url, key, DELIVERIES, {"id": created["webhook"]["id"]})
    delivery = hooks.accepted()[0]
    verified = Webhook(secret).verify(delivery.body, delivery.headers)
    assert verified["type"] == "UserCreated"
    assert verified["data"]["aggregateId"] == user_id
    assert listed["data"]["webhooks"] == [created["webhook"]]
    assert secret not in str(listed)
    [attempt] = deliveries["data"]["webhookDeliveries"]
    assert attempt["outcome"] == "DELIVERED"
    assert attempt["statusCode"] == 204
    assert attempt["webhookId"] == delivery.webhook_id
    assert attempt["sequence"] == verified["data"]["sequence"]
    assert attempt["error"] is None


async def test_disabling_over_graphql_stops_deliveries(
    store: MongoStore, tenant: Tenant, service: Service, receiver: tuple[Receiver, str]
) -> None:
    """After ``webhookDisable`` the subscription gets nothing, while another of the tenant's still
    receives the same events; disabling again changes nothing."""
    hooks, hooks_url = receiver
    _, key = await _key(store, tenant, *MANAGE)
    token = await scim_token(store, tenant)
    with service() as url:
        disabled = await _create(url, key, f"{hooks_url}/disabled", "USER_CREATED")
        await _create(url, key, f"{hooks_url}/witness", "USER_CREATED")
        webhook_id = disabled["webhook"]["id"]
        answer = await _gql(url, key, DISABLE, {"id": webhook_id})
        assert answer["data"]["webhookDisable"] == {
            "webhook": {"id": webhook_id, "state": "DISABLED"},
            "userErrors": [],
        }
        again = await _gql(url, key, DISABLE, {"id": webhook_id})
        assert again["data"]["webhookDisable"]["userErrors"] == []
        await create_user(url, token, "ada@example.com")
        await eventually(lambda: len(hooks.accepted("/witness")) >= 1)
        events = await _gql(url, key, EVENTS)
    assert hooks.all("/disabled") == []
    disables = [e for e in events["data"]["identityEvents"]["nodes"] if e["type"] == "WEBHOOK_DISABLED"]
    assert len(disables) == 1


async def test_the_changes_are_in_the_tenants_event_log_without_the_secret(
    store: MongoStore, tenant: Tenant, service: Service, receiver: tuple[Receiver, str]
) -> None:
    """``identityEvents`` has ``WEBHOOK_SUBSCRIBED`` (url, event types) and ``WEBHOOK_DISABLED``
    about the subscription, made by the API key; no event holds the secret."""
    _, hooks_url = receiver
    key_id, key = await _key(store, tenant, *MANAGE)
    with service() as url:
        created = await _create(url, key, f"{hooks_url}/hook", "USER_CREATED", "USER_DELETED")
        await _gql(url, key, DISABLE, {"id": created["webhook"]["id"]})
        events = await _gql(url, key, EVENTS)
    nodes = events["data"]["identityEvents"]["nodes"]
    assert [(e["type"], e["subjectType"], e["subjectId"]) for e in nodes] == [
        ("WEBHOOK_SUBSCRIBED", "WEBHOOK_SUBSCRIPTION", created["webhook"]["id"]),
        ("WEBHOOK_DISABLED", "WEBHOOK_SUBSCRIPTION", created["webhook"]["id"]),
    ]
    assert {e["actor"]["kind"] for e in nodes} == {"api-key"}
    assert {e["actor"]["credentialId"] for e in nodes} == {key_id}
    subscribed = {c["field"]: c["after"] for c in nodes[0]["changes"]}
    assert subscribed == {"url": f"{hooks_url}/hook", "eventTypes": ["UserCreated", "UserDeleted"], "state": "active"}
    assert nodes[1]["changes"] == [{"field": "state", "before": "active", "after": "disabled"}]
    assert created["secret"] not in str(events)


async def test_another_tenants_key_neither_sees_nor_disables_a_subscription(
    store: MongoStore, tenant: Tenant, service: Service, receiver: tuple[Receiver, str]
) -> None:
    """A key of another tenant lists none of it, reads no deliveries of it, and disabling it is a
    NotFoundError that changes nothing."""
    _, hooks_url = receiver
    _, key = await _key(store, tenant, *MANAGE)
    _, theirs = await _key(store, await store.tenants.create("globex"), *MANAGE)
    with service() as url:
        created = await _create(url, key, f"{hooks_url}/hook")
        webhook_id = created["webhook"]["id"]
        listed = await _gql(url, theirs, LIST)
        deliveries = await _gql(url, theirs, DELIVERIES, {"id": webhook_id})
        refused = await _gql(url, theirs, DISABLE, {"id": webhook_id})
        theirs_events = await _gql(url, theirs, EVENTS)
        ours = await _gql(url, key, LIST)
    assert listed["data"]["webhooks"] == []
    assert deliveries["data"]["webhookDeliveries"] is None
    assert refused["data"]["webhookDisable"]["webhook"] is None
    assert [e["__typename"] for e in refused["data"]["webhookDisable"]["userErrors"]] == ["NotFoundError"]
    assert theirs_events["data"]["identityEvents"]["nodes"] == []
    assert [w["state"] for w in ours["data"]["webhooks"]] == ["ACTIVE"]


async def test_a_private_or_plain_http_url_is_a_user_error_by_default(
    store: MongoStore, tenant: Tenant, service: Service
) -> None:
    """With the default settings a loopback, private or metadata address, or plain http, is an
    InvalidValueError on input.url saying why; nothing is made and nothing recorded."""
    _, key = await _key(store, tenant, *MANAGE)
    refused: dict[str, dict[str, Any]] = {}
    with service(webhook_allow_http=False, webhook_allow_private_addresses=False) as url:
        for target in (
            "https://127.0.0.1/hook",
            "https://10.0.0.8/hook",
            "https://169.254.169.254/",
            "http://example.com/h",
        ):
            payload = await _create(url, key, target)
            assert payload["webhook"] is None
            assert payload["secret"] is None
            [refused[target]] = payload["userErrors"]
        listed = await _gql(url, key, LIST)
        events = await _gql(url, key, EVENTS)
    assert {e["__typename"] for e in refused.values()} == {"InvalidValueError"}
    assert {tuple(e["field"]) for e in refused.values()} == {("input", "url")}
    assert "non-public address (127.0.0.1)" in refused["https://127.0.0.1/hook"]["message"]
    assert "must use https" in refused["http://example.com/h"]["message"]
    assert listed["data"]["webhooks"] == []
    assert events["data"]["identityEvents"]["nodes"] == []


async def test_managing_webhooks_needs_the_webhooks_manage_scope(
    store: MongoStore, tenant: Tenant, service: Service, receiver: tuple[Receiver, str]
) -> None:
    """A key with every other scope gets FORBIDDEN for each webhook field, and nothing is made."""
    _, hooks_url = receiver
    _, key = await _key(store, tenant, "users:read", "groups:read", "write", "write:provisioned", "events:subscribe")
    with service() as url:
        created = await _gql(url, key, CREATE, {"input": {"url": f"{hooks_url}/hook"}})
        listed = await _gql(url, key, LIST)
    assert [e["extensions"]["code"] for e in created["errors"]] == ["FORBIDDEN"]
    assert [e["extensions"]["code"] for e in listed["errors"]] == ["FORBIDDEN"]
    assert await store.tenant(tenant.id).webhooks.all() == []
