"""How domain objects are laid out in MongoDB documents, and back.

A user or group document keeps the attributes exactly as received in ``attrs`` and, beside them,
``search``: the same attributes with every case-insensitive string (``caseExact: false``)
case-folded. Filters, sorting and the unique indexes on userName and displayName work on
``search`` (filter operands are folded the same way), so "case-insensitive" is decided once, by
the schema, and served by ordinary indexes on real MongoDB and SecantusDB alike.

Each user and group also keeps ``pos``, its creation position, given when its transaction
settles (:mod:`identity_store.mongo.positions`).

A group document also keeps ``memberCount``, how many direct members (membership documents) it
has. Every change of memberships moves it by the number of membership documents it inserted or
deleted, in the same transaction, so reading a member count costs one document whatever the size.

    users:          {_id, tenant, v, created, modified, attrs, search[, pw], pos}
    groups:         {_id, tenant, v, created, modified, attrs, search, memberCount, pos}
    memberships:    {_id, tenant, group, member, type, added, by}
    events:         {_id, tenant, seq, type, aggregate: {type, id, v}, changes, members,
                     actor: {id, kind}, cid, at}
    tenants:        {_id, name, nameKey, created, settings: {strictRfc[, entraTenantId]}}
    credentials:    {_id, tenant, kind, name, digest, scopes, created, expires, revoked, client}
    schema_extensions: see identity_store.mongo.schema_extensions
    oauth_clients:  {_id, tenant, name, lifetimeSeconds, created, disabled, federation: {iss, sub, aud, jwks}}

Deleted users and groups, and the relations kept for their restore, have collections of their
own (:mod:`identity_store.mongo.deleted`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from identity_store.domain.credentials import Credential, CredentialKind
from identity_store.domain.groups import Group
from identity_store.domain.memberships import Membership, MemberType
from identity_store.domain.oauth import Federation, OAuthClient
from identity_store.domain.resources import Meta
from identity_store.domain.schema import Attribute, ResourceSchema
from identity_store.domain.tenants import Tenant, TenantSettings
from identity_store.domain.users import User
from identity_store.domain.values import JSON, Attributes
from identity_store.events import Actor, AggregateType, Change, DomainEvent, EventType, RecordedEvent
from identity_store.mongo.scope import TENANT

__all__ = [
    "DELETED_AT",
    "DELETED_BY",
    "DELETED_COLLECTIONS",
    "DELETED_GROUPS",
    "DELETED_USERS",
    "KEPT_FOR",
    "KEPT_MANAGER_REFS",
    "KEPT_MEMBERSHIPS",
    "MEMBER_COUNT",
    "credential_from_document",
    "credential_to_document",
    "event_from_document",
    "event_to_document",
    "federation_to_document",
    "fold",
    "group_from_document",
    "group_to_document",
    "membership_from_document",
    "membership_to_document",
    "oauth_client_from_document",
    "oauth_client_to_document",
    "search_view",
    "tenant_from_document",
    "tenant_settings_to_document",
    "user_from_document",
    "user_to_document",
    "utc",
]

Document = dict[str, Any]

#: The group document's count of direct members.
MEMBER_COUNT = "memberCount"

# Deleted users and groups, and the relations kept for them (identity_store.mongo.deleted).
DELETED_USERS = "deleted_users"
DELETED_GROUPS = "deleted_groups"
#: The deleted collection of each live one.
DELETED_COLLECTIONS = {"users": DELETED_USERS, "groups": DELETED_GROUPS}
KEPT_MEMBERSHIPS = "deleted_memberships"
KEPT_MANAGER_REFS = "deleted_manager_refs"

#: When the object was deleted (UTC), and which credential asked (``None``: the CLI or the system).
DELETED_AT = "deleted"
DELETED_BY = "deleted_by"
#: The deleted object whose restore brings a kept relation back.
KEPT_FOR = "kept_for"


def fold(text: str) -> str:
    """The case-insensitive form of a string, as ``search`` keeps it."""
    return text.casefold()


def search_view(schema: ResourceSchema, attributes: Mapping[str, JSON]) -> Document:
    """``attributes`` with every case-insensitive string folded, for filtering and sorting."""
    view: Document = {}
    for name, value in attributes.items():
        attribute = schema.attribute(name)
        if attribute is not None:
            view[name] = _fold_value(attribute, value)
    return view


def _fold_value(attribute: Attribute, value: JSON) -> JSON:
    if isinstance(value, list):
        return [_fold_single(attribute, item) for item in value]
    return _fold_single(attribute, value)


def _fold_single(attribute: Attribute, value: JSON) -> JSON:
    if isinstance(value, dict):
        folded: dict[str, JSON] = {}
        for name, sub_value in value.items():
            sub = attribute.sub_attribute(name)
            folded[name] = _fold_value(sub, sub_value) if sub is not None else sub_value
        return folded
    if isinstance(value, str) and not attribute.case_exact:
        return fold(value)
    return value


def utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime."""
    # The driver returns naive datetimes in UTC unless the client is tz-aware; be explicit.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _meta(document: Mapping[str, Any]) -> Meta:
    return Meta(created=utc(document["created"]), last_modified=utc(document["modified"]), version=document["v"])


def user_to_document(user: User, schema: ResourceSchema) -> Document:
    document: Document = {
        "_id": user.id,
        TENANT: user.tenant_id,
        "v": user.meta.version,
        "created": user.meta.created,
        "modified": user.meta.last_modified,
        "attrs": user.attributes,
        "search": search_view(schema, user.attributes),
    }
    if user.password_hash is not None:
        document["pw"] = user.password_hash
    return document


def user_from_document(document: Mapping[str, Any]) -> User:
    return User(
        id=document["_id"],
        tenant_id=document[TENANT],
        attributes=dict(document.get("attrs", {})),
        meta=_meta(document),
        password_hash=document.get("pw"),
    )


def group_to_document(group: Group, schema: ResourceSchema, *, member_count: int = 0) -> Document:
    return {
        "_id": group.id,
        TENANT: group.tenant_id,
        "v": group.meta.version,
        "created": group.meta.created,
        "modified": group.meta.last_modified,
        "attrs": group.attributes,
        "search": search_view(schema, group.attributes),
        MEMBER_COUNT: member_count,
    }


def group_from_document(document: Mapping[str, Any]) -> Group:
    return Group(
        id=document["_id"],
        tenant_id=document[TENANT],
        attributes=dict(document.get("attrs", {})),
        meta=_meta(document),
    )


def membership_to_document(tenant_id: str, membership: Membership) -> Document:
    return {
        TENANT: tenant_id,
        "group": membership.group_id,
        "member": membership.member_id,
        "type": membership.member_type.value,
        "added": membership.added_at,
        "by": membership.added_by,
    }


def membership_from_document(document: Mapping[str, Any]) -> Membership:
    return Membership(
        group_id=document["group"],
        member_id=document["member"],
        member_type=MemberType(document["type"]),
        added_at=utc(document["added"]),
        added_by=document.get("by"),
    )


def event_to_document(
    event: DomainEvent, *, tenant_id: str, sequence: int, actor: Actor, correlation_id: str | None, at: datetime
) -> Document:
    return {
        TENANT: tenant_id,
        "seq": sequence,
        "type": event.type.value,
        "aggregate": {"type": event.aggregate_type.value, "id": event.aggregate_id, "v": event.version},
        "changes": [{"field": c.field, "before": c.before, "after": c.after} for c in event.changes],
        "members": list(event.member_ids),
        "memberGroups": list(event.group_member_ids),
        # Only when set: the events written before the field existed read as partial changes.
        **({"replaced": True} if event.replaced else {}),
        "actor": {"id": actor.credential_id, "kind": actor.kind},
        "cid": correlation_id,
        "at": at,
    }


def event_from_document(document: Mapping[str, Any]) -> RecordedEvent:
    aggregate = document["aggregate"]
    return RecordedEvent(
        sequence=document["seq"],
        tenant_id=document[TENANT],
        event=DomainEvent(
            type=EventType(document["type"]),
            aggregate_type=AggregateType(aggregate["type"]),
            aggregate_id=aggregate["id"],
            version=aggregate.get("v"),
            changes=tuple(Change(field=c["field"], before=c["before"], after=c["after"]) for c in document["changes"]),
            member_ids=tuple(document.get("members", ())),
            group_member_ids=tuple(document.get("memberGroups", ())),
            replaced=bool(document.get("replaced", False)),
        ),
        actor=Actor(credential_id=document["actor"]["id"], kind=document["actor"]["kind"]),
        correlation_id=document.get("cid"),
        occurred_at=utc(document["at"]),
    )


def tenant_from_document(document: Mapping[str, Any]) -> Tenant:
    settings = document.get("settings", {})
    return Tenant(
        id=document["_id"],
        name=document["name"],
        created=utc(document["created"]),
        settings=TenantSettings(
            strict_rfc=bool(settings.get("strictRfc", False)),
            entra_tenant_id=settings.get("entraTenantId"),
            deleted_retention_days=settings.get("deletedRetentionDays"),
        ),
    )


def tenant_settings_to_document(settings: TenantSettings) -> Document:
    # The Entra link is left out when unset, so its unique sparse index skips unlinked tenants.
    document: Document = {"strictRfc": settings.strict_rfc}
    if settings.entra_tenant_id is not None:
        document["entraTenantId"] = settings.entra_tenant_id
    if settings.deleted_retention_days is not None:
        document["deletedRetentionDays"] = settings.deleted_retention_days
    return document


def oauth_client_to_document(client: OAuthClient) -> Document:
    return {
        "_id": client.id,
        TENANT: client.tenant_id,
        "name": client.name,
        "lifetimeSeconds": int(client.token_lifetime.total_seconds()),
        "created": client.created,
        "disabled": client.disabled_at,
        "federation": federation_to_document(client.federation),
    }


def federation_to_document(federation: Federation | None) -> Document | None:
    if federation is None:
        return None
    return {
        "iss": federation.issuer,
        "sub": federation.subject,
        "aud": federation.audience,
        "jwks": federation.jwks_url,
    }


def oauth_client_from_document(document: Mapping[str, Any]) -> OAuthClient:
    disabled, federation = document.get("disabled"), document.get("federation")
    return OAuthClient(
        id=document["_id"],
        tenant_id=document[TENANT],
        name=document["name"],
        token_lifetime=timedelta(seconds=document["lifetimeSeconds"]),
        created=utc(document["created"]),
        disabled_at=utc(disabled) if disabled else None,
        federation=Federation(
            issuer=federation["iss"], subject=federation["sub"], audience=federation["aud"], jwks_url=federation["jwks"]
        )
        if federation
        else None,
    )


def credential_to_document(credential: Credential) -> Document:
    return {
        "_id": credential.id,
        TENANT: credential.tenant_id,
        "kind": credential.kind.value,
        "name": credential.name,
        "digest": credential.secret_digest,
        "scopes": sorted(credential.scopes),
        "created": credential.created,
        "expires": credential.expires_at,
        "revoked": credential.revoked_at,
        "client": credential.client_id,
    }


def credential_from_document(document: Mapping[str, Any]) -> Credential:
    expires, revoked = document.get("expires"), document.get("revoked")
    return Credential(
        id=document["_id"],
        tenant_id=document[TENANT],
        kind=CredentialKind(document["kind"]),
        name=document["name"],
        secret_digest=document["digest"],
        scopes=frozenset(document.get("scopes", ())),
        created=utc(document["created"]),
        expires_at=utc(expires) if expires else None,
        revoked_at=utc(revoked) if revoked else None,
        client_id=document.get("client"),
    )


def attributes_from(document: Mapping[str, Any]) -> Attributes:
    return dict(document.get("attrs", {}))
