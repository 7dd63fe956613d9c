"""Which security events a domain event of the tenant's log becomes (RISC 1.0, CAEP 1.0, RFC 9967).

A user's event maps to the RISC account events that apply (deactivated: ``account-disabled``,
reactivated: ``account-enabled``, deleted: ``account-purged``, ``userName`` changed:
``identifier-changed``), to the CAEP events the domain gives the fact for, and to the RFC 9967
SCIM provisioning event of the same change.

CAEP 1.0: a deactivated or deleted account can hold no session, so both are ``session-revoked``
(§3.1) for every session of the user; a password set or changed is ``credential-change`` (§3.3,
``credential_type: password``, ``change_type`` ``create`` with the user, else ``update``). The
store keeps no sessions, tokens or assurance levels, so no other CAEP event applies. Each CAEP
event carries ``event_timestamp``: when the change was committed.

RISC and CAEP events are about the user as an RFC 9493 ``iss_sub`` identifier (our issuer, the
SCIM id). RFC 9967 §2.1 requires its events' subject as a ``scim`` ``sub_id`` (``uri``, the
resource's path, and here ``id`` and ``externalId`` too), never inside the event payload; a
``notice`` event lists the ``attributes`` changed (§2.4), delete, activate and deactivate carry
none (§2.4.4-2.4.6). The URIs are the lowercase ``urn:ietf:params:scim:event:prov:`` of the
published RFC (earlier drafts spelt ``SCIM``), checked against the text of
draft-ietf-scim-events-16, the revision published as RFC 9967 (the RFC's XML names it), and the
IANA "SCIM Event URIs" registry it creates. A user replaced whole (SCIM PUT, §2.4.3) is
``put:notice``; a user changed in part (SCIM PATCH, §2.4.2, or a GraphQL update, which applies
PATCH operations) is ``patch:notice``: the event says which (``DomainEvent.replaced``).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from identity_store.events import AggregateType, EventType, RecordedEvent

__all__ = ["SUPPORTED_EVENTS", "VERIFICATION", "Signal", "signals_of"]

_RISC = "https://schemas.openid.net/secevent/risc/event-type/"
_CAEP = "https://schemas.openid.net/secevent/caep/event-type/"
_SCIM = "urn:ietf:params:scim:event:prov:"
ACCOUNT_DISABLED = _RISC + "account-disabled"
ACCOUNT_ENABLED = _RISC + "account-enabled"
ACCOUNT_PURGED = _RISC + "account-purged"
IDENTIFIER_CHANGED = _RISC + "identifier-changed"
SESSION_REVOKED = _CAEP + "session-revoked"
CREDENTIAL_CHANGE = _CAEP + "credential-change"
SCIM_CREATE = _SCIM + "create:notice"
SCIM_PATCH = _SCIM + "patch:notice"
SCIM_PUT = _SCIM + "put:notice"
SCIM_DELETE = _SCIM + "delete"
SCIM_ACTIVATE = _SCIM + "activate"
SCIM_DEACTIVATE = _SCIM + "deactivate"
#: SSF 1.0 §8.1.4: the transmitter's answer to a verification request.
VERIFICATION = "https://schemas.openid.net/secevent/ssf/event-type/verification"
#: SSF 1.0 §8.1.5: a stream's status changed.
STREAM_UPDATED = "https://schemas.openid.net/secevent/ssf/event-type/stream-updated"

SUPPORTED_EVENTS = (
    ACCOUNT_DISABLED,
    ACCOUNT_ENABLED,
    ACCOUNT_PURGED,
    IDENTIFIER_CHANGED,
    SESSION_REVOKED,
    CREDENTIAL_CHANGE,
    SCIM_CREATE,
    SCIM_PATCH,
    SCIM_PUT,
    SCIM_DELETE,
    SCIM_ACTIVATE,
    SCIM_DEACTIVATE,
    VERIFICATION,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Signal:
    """One SET's content: its ``events`` claim and the subject it is about."""

    events: dict[str, Any]
    subject: dict[str, Any]
    user_id: str


def _scim_subject(recorded: RecordedEvent) -> dict[str, Any]:
    """RFC 9967 §2.1: the ``scim`` subject, with ``externalId`` when the change names one."""
    event = recorded.event
    subject: dict[str, Any] = {"format": "scim", "uri": f"/Users/{event.aggregate_id}", "id": event.aggregate_id}
    for change in event.changes:
        external = change.after if change.after is not None else change.before
        if change.field == "externalId" and isinstance(external, str):
            subject["externalId"] = external
    return subject


def signals_of(recorded: RecordedEvent, *, issuer: str, wanted: Collection[str]) -> list[Signal]:
    """The SETs' contents for one event, those of the ``wanted`` event types only."""
    event = recorded.event
    if event.aggregate_type is not AggregateType.USER:
        return []
    user_id = event.aggregate_id
    user = {"format": "iss_sub", "iss": issuer, "sub": user_id}
    scim = _scim_subject(recorded)
    at = int(recorded.occurred_at.timestamp())
    version = {"version": f'W/"{event.version}"'} if event.version is not None else {}
    attributes = sorted(c.field for c in event.changes)
    password_set = "password" in attributes
    types: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    match event.type:
        # A restored user is, to a receiver, one that appears again: a creation with its attributes.
        case EventType.USER_CREATED | EventType.USER_RESTORED:
            types.append((SCIM_CREATE, {"attributes": ["id", *attributes], **version}, scim))
        case EventType.USER_DEACTIVATED:
            types += [
                (ACCOUNT_DISABLED, {}, user),
                (SESSION_REVOKED, {"event_timestamp": at}, user),
                (SCIM_DEACTIVATE, {}, scim),
            ]
        case EventType.USER_REACTIVATED:
            types += [(ACCOUNT_ENABLED, {}, user), (SCIM_ACTIVATE, {}, scim)]
        case EventType.USER_DELETED:
            types += [
                (ACCOUNT_PURGED, {}, user),
                (SESSION_REVOKED, {"event_timestamp": at}, user),
                (SCIM_DELETE, {}, scim),
            ]
        case EventType.USER_UPDATED:
            kind = SCIM_PUT if event.replaced else SCIM_PATCH
            types.append((kind, {"attributes": attributes, **version}, scim))
        case _:
            pass
    if password_set and event.type is not EventType.USER_DELETED:
        change_type = "create" if event.type is EventType.USER_CREATED else "update"
        body = {"credential_type": "password", "change_type": change_type, "event_timestamp": at}
        types.append((CREDENTIAL_CHANGE, body, user))
    for change in event.changes:
        if change.field == "userName" and change.before is not None and change.after is not None:
            types.append((IDENTIFIER_CHANGED, {"new-value": change.after}, user))
    return [
        Signal(events={uri: body}, subject=subject, user_id=user_id) for uri, body, subject in types if uri in wanted
    ]
