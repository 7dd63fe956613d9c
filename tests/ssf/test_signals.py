"""Which SETs a domain event becomes (RISC 1.0 §2, RFC 9967 §2): pure rules, no database."""

from __future__ import annotations

from datetime import UTC, datetime

from identity_store.events import Actor, AggregateType, Change, DomainEvent, EventType, RecordedEvent
from ssf_transmitter.signals import SUPPORTED_EVENTS, signals_of

RISC = "https://schemas.openid.net/secevent/risc/event-type/"


def recorded(event_type: EventType, *changes: Change, aggregate: AggregateType = AggregateType.USER) -> RecordedEvent:
    return RecordedEvent(
        sequence=7,
        tenant_id="t",
        event=DomainEvent(type=event_type, aggregate_type=aggregate, aggregate_id="u1", version=3, changes=changes),
        actor=Actor.system(),
        correlation_id="req-1",
        occurred_at=datetime.now(UTC),
    )


def types_of(event: RecordedEvent) -> list[str]:
    return [uri for s in signals_of(event, issuer="urn:test", wanted=SUPPORTED_EVENTS) for uri in s.events]


def test_reactivation_is_account_enabled_and_scim_activate() -> None:
    assert types_of(recorded(EventType.USER_REACTIVATED)) == [
        RISC + "account-enabled",
        "urn:ietf:params:SCIM:event:prov:activate",
    ]


def test_deletion_is_account_purged_and_scim_delete() -> None:
    assert types_of(recorded(EventType.USER_DELETED)) == [
        RISC + "account-purged",
        "urn:ietf:params:SCIM:event:prov:delete",
    ]


def test_a_changed_user_name_is_identifier_changed_with_the_new_value() -> None:
    event = recorded(EventType.USER_UPDATED, Change(field="userName", before="a@x", after="b@x"))
    signals = signals_of(event, issuer="urn:test", wanted=SUPPORTED_EVENTS)
    assert [next(iter(s.events)) for s in signals] == [
        "urn:ietf:params:SCIM:event:prov:patch:notice",
        RISC + "identifier-changed",
    ]
    assert signals[1].events[RISC + "identifier-changed"] == {"new-value": "b@x"}


def test_events_not_requested_and_group_events_give_nothing() -> None:
    assert signals_of(recorded(EventType.USER_DEACTIVATED), issuer="urn:test", wanted=()) == []
    assert types_of(recorded(EventType.GROUP_CREATED, aggregate=AggregateType.GROUP)) == []
