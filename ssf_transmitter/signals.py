"""Which security events a domain event of the tenant's log becomes (RISC 1.0, RFC 9967).

A user's event maps to the RISC account events that apply (deactivated: ``account-disabled``,
reactivated: ``account-enabled``, deleted: ``account-purged``, ``userName`` changed:
``identifier-changed``) and to the RFC 9967 SCIM provisioning event of the same change.
The subject is the user, as an RFC 9493 ``iss_sub`` identifier (our issuer, the SCIM id).
No CAEP event applies: the store holds no sessions, tokens of users or assurance levels.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from identity_store.events import AggregateType, EventType, RecordedEvent

__all__ = ["SUPPORTED_EVENTS", "VERIFICATION", "Signal", "signals_of"]

_RISC = "https://schemas.openid.net/secevent/risc/event-type/"
_SCIM = "urn:ietf:params:SCIM:event:prov:"
ACCOUNT_DISABLED = _RISC + "account-disabled"
ACCOUNT_ENABLED = _RISC + "account-enabled"
ACCOUNT_PURGED = _RISC + "account-purged"
IDENTIFIER_CHANGED = _RISC + "identifier-changed"
SCIM_CREATE = _SCIM + "create:notice"
SCIM_PATCH = _SCIM + "patch:notice"
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
    SCIM_CREATE,
    SCIM_PATCH,
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


def signals_of(recorded: RecordedEvent, *, issuer: str, wanted: Collection[str]) -> list[Signal]:
    """The SETs' contents for one event, those of the ``wanted`` event types only."""
    event = recorded.event
    if event.aggregate_type is not AggregateType.USER:
        return []
    user_id = event.aggregate_id
    subject = {"format": "iss_sub", "iss": issuer, "sub": user_id}
    scim_body: dict[str, Any] = {"id": user_id, "ref": f"/Users/{user_id}"}
    if event.version is not None:
        scim_body["version"] = f'W/"{event.version}"'
    types: list[tuple[str, dict[str, Any]]] = []
    match event.type:
        case EventType.USER_CREATED:
            types.append((SCIM_CREATE, scim_body))
        case EventType.USER_DEACTIVATED:
            types += [(ACCOUNT_DISABLED, {}), (SCIM_DEACTIVATE, scim_body)]
        case EventType.USER_REACTIVATED:
            types += [(ACCOUNT_ENABLED, {}), (SCIM_ACTIVATE, scim_body)]
        case EventType.USER_DELETED:
            types += [(ACCOUNT_PURGED, {}), (SCIM_DELETE, scim_body)]
        case EventType.USER_UPDATED:
            types.append((SCIM_PATCH, {**scim_body, "attributes": sorted(c.field for c in event.changes)}))
        case _:
            pass
    for change in event.changes:
        if change.field == "userName" and change.before is not None and change.after is not None:
            types.append((IDENTIFIER_CHANGED, {"new-value": change.after}))
    return [Signal(events={uri: body}, subject=subject, user_id=user_id) for uri, body in types if uri in wanted]
