"""Credentials and OAuth clients: issued, revoked, created, disabled and federated through the bus.

Each change is recorded in the tenant's event log in the same transaction. An event says what a
credential is (kind, name, scopes, expiry, client), never its secret or the secret's digest. A
revocation or disabling that is already in place changes nothing and records nothing, and an id
of another tenant is not found: the transaction only sees the context's tenant.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from identity_store.commands import (
    CreateOAuthClient,
    DisableOAuthClient,
    FederateOAuthClient,
    IssueCredential,
    RevokeCredential,
)
from identity_store.domain.credentials import Credential, CredentialKind, IssuedSecret, issue
from identity_store.domain.errors import InvalidValue, NotFound
from identity_store.domain.oauth import Federation, OAuthClient, new_client
from identity_store.domain.resources import now
from identity_store.domain.values import JSON
from identity_store.events import AggregateType, Change, DomainEvent, EventType
from identity_store.handlers.common import UnitOfWork
from identity_store.ports import Transaction

__all__ = [
    "create_oauth_client",
    "disable_oauth_client",
    "federate_oauth_client",
    "issue_credential",
    "revoke_credential",
]

_KIND_NAMES = {
    CredentialKind.SCIM_TOKEN: "SCIM token",
    CredentialKind.API_KEY: "API key",
    CredentialKind.OAUTH_CLIENT_SECRET: "client secret",
    CredentialKind.CONSOLE_ADMIN: "console admin credential",
}


async def issue_credential(command: IssueCredential, uow: UnitOfWork) -> IssuedSecret:
    # A credential born expired would be a secret that never works: refused, not silently issued.
    if command.lifetime is not None and command.lifetime <= timedelta(0):
        raise InvalidValue("a credential's lifetime must be positive", attribute="lifetime")

    async def work(tx: Transaction) -> IssuedSecret:
        if command.client_id is not None:
            await tx.oauth_clients.get(command.client_id)  # a client of this tenant, in this transaction
        created = now()
        issued = issue(
            tenant_id=uow.store.tenant_id,
            kind=command.kind,
            name=command.name,
            scopes=command.scopes,
            created=created,
            expires_at=created + command.lifetime if command.lifetime is not None else None,
            client_id=command.client_id,
        )
        await tx.credentials.add(issued.credential)
        tx.record(_credential_event(EventType.CREDENTIAL_ISSUED, issued.credential, _described(issued.credential)))
        return issued

    return await uow.run(work, expected_version=None)


async def revoke_credential(command: RevokeCredential, uow: UnitOfWork) -> Credential:
    async def work(tx: Transaction) -> Credential:
        credential = await tx.credentials.get(command.credential_id)
        if command.kind is not None and credential.kind is not command.kind:
            raise NotFound(f"{_KIND_NAMES[command.kind]} {command.credential_id} not found")
        if credential.revoked_at is not None:
            return credential
        revoked = await tx.credentials.revoke(credential.id, now())
        change = Change(field="revoked", before=None, after=_when(revoked.revoked_at))
        tx.record(_credential_event(EventType.CREDENTIAL_REVOKED, revoked, (change,)))
        return revoked

    return await uow.run(work, expected_version=None)


async def create_oauth_client(command: CreateOAuthClient, uow: UnitOfWork) -> OAuthClient:
    async def work(tx: Transaction) -> OAuthClient:
        client = new_client(
            tenant_id=uow.store.tenant_id, name=command.name, created=now(), token_lifetime=command.token_lifetime
        )
        await tx.oauth_clients.add(client)
        minutes = int(client.token_lifetime.total_seconds() // 60)
        described = (
            Change(field="name", before=None, after=client.name),
            Change(field="tokenLifetimeMinutes", before=None, after=minutes),
        )
        tx.record(_client_event(EventType.OAUTH_CLIENT_CREATED, client, described))
        return client

    return await uow.run(work, expected_version=None)


async def disable_oauth_client(command: DisableOAuthClient, uow: UnitOfWork) -> OAuthClient:
    async def work(tx: Transaction) -> OAuthClient:
        client = await tx.oauth_clients.get(command.client_id)
        if not client.enabled:
            return client
        disabled = await tx.oauth_clients.disable(client.id, now())
        change = Change(field="disabled", before=None, after=_when(disabled.disabled_at))
        tx.record(_client_event(EventType.OAUTH_CLIENT_DISABLED, disabled, (change,)))
        return disabled

    return await uow.run(work, expected_version=None)


async def federate_oauth_client(command: FederateOAuthClient, uow: UnitOfWork) -> OAuthClient:
    async def work(tx: Transaction) -> OAuthClient:
        client = await tx.oauth_clients.get(command.client_id)
        if client.federation == command.federation:
            return client
        federated = await tx.oauth_clients.federate(client.id, command.federation)
        change = Change(
            field="federation", before=_federation(client.federation), after=_federation(command.federation)
        )
        tx.record(_client_event(EventType.OAUTH_CLIENT_FEDERATED, federated, (change,)))
        return federated

    return await uow.run(work, expected_version=None)


def _described(credential: Credential) -> tuple[Change, ...]:
    """What an issued credential is, for its event: everything but the secret and its digest."""
    values: dict[str, JSON] = {
        "kind": credential.kind.value,
        "name": credential.name,
        "scopes": list[JSON](sorted(credential.scopes)),
        "expires": _when(credential.expires_at),
        "client": credential.client_id,
    }
    return tuple(Change(field=name, before=None, after=value) for name, value in values.items() if value is not None)


def _federation(federation: Federation | None) -> JSON:
    if federation is None:
        return None
    return {
        "issuer": federation.issuer,
        "subject": federation.subject,
        "audience": federation.audience,
        "jwksUrl": federation.jwks_url,
    }


def _when(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _credential_event(kind: EventType, credential: Credential, changes: tuple[Change, ...]) -> DomainEvent:
    return DomainEvent(
        type=kind, aggregate_type=AggregateType.CREDENTIAL, aggregate_id=credential.id, version=None, changes=changes
    )


def _client_event(kind: EventType, client: OAuthClient, changes: tuple[Change, ...]) -> DomainEvent:
    return DomainEvent(
        type=kind, aggregate_type=AggregateType.OAUTH_CLIENT, aggregate_id=client.id, version=None, changes=changes
    )
