"""Which SETs a domain event becomes (RISC 1.0 §2, CAEP 1.0 §3, RFC 9967 §2): pure rules, no database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from identity_store.events import Actor, AggregateType, Change, DomainEvent, EventType, RecordedEvent
from ssf_transmitter.signals import SUPPORTED_EVENTS, Signal, signals_of

RISC = "https://schemas.openid.net/secevent/risc/event-type/"
CAEP = "https://schemas.openid.net/secevent/caep/event-type/"
COMMITTED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PASSWORD = Change(field="password", before=None, after=None)

#: RFC 9967 §7.3 (the IANA "SCIM Event URIs" registry): the exact URIs, lowercase ``scim``.
RFC_9967_USER_EVENTS = {
    "urn:ietf:params:scim:event:prov:create:notice",
    "urn:ietf:params:scim:event:prov:patch:notice",
    "urn:ietf:params:scim:event:prov:put:notice",
    "urn:ietf:params:scim:event:prov:delete",
    "urn:ietf:params:scim:event:prov:activate",
    "urn:ietf:params:scim:event:prov:deactivate",
}


def recorded(
    event_type: EventType, *changes: Change, aggregate: AggregateType = AggregateType.USER, replaced: bool = False
) -> RecordedEvent:
    return RecordedEvent(
        sequence=7,
        tenant_id="t",
        event=DomainEvent(
            type=event_type, aggregate_type=aggregate, aggregate_id="u1", version=3, changes=changes, replaced=replaced
        ),
        actor=Actor.system(),
        correlation_id="req-1",
        occurred_at=COMMITTED,
    )


def signals(event: RecordedEvent) -> list[Signal]:
    return signals_of(event, issuer="urn:test", wanted=SUPPORTED_EVENTS)


def types_of(event: RecordedEvent) -> list[str]:
    return [uri for s in signals(event) for uri in s.events]


def payload(event: RecordedEvent, uri: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The event's payload and the SET's ``sub_id`` for one event type."""
    (found,) = [s for s in signals(event) if uri in s.events]
    return found.events[uri], found.subject


def test_the_scim_provisioning_uris_are_exactly_those_of_rfc_9967() -> None:
    """RFC 9967 §2.4: every SCIM event this transmitter supports is one of the RFC's URIs, as spelt there."""
    scim = {uri for uri in SUPPORTED_EVENTS if uri.lower().startswith("urn:ietf:params:scim:")}
    assert scim == RFC_9967_USER_EVENTS


def test_each_user_event_gives_the_rfc_9967_uri_of_its_change() -> None:
    """§2.4.1 create, §2.4.2 patch (a change in part), §2.4.4 delete, §2.4.5 activate, §2.4.6 deactivate;
    §2.4.3 put for a replacement, below."""
    prov = "urn:ietf:params:scim:event:prov:"
    expected = {
        EventType.USER_CREATED: prov + "create:notice",
        EventType.USER_UPDATED: prov + "patch:notice",
        EventType.USER_DELETED: prov + "delete",
        EventType.USER_REACTIVATED: prov + "activate",
        EventType.USER_DEACTIVATED: prov + "deactivate",
    }
    for event_type, uri in expected.items():
        assert [t for t in types_of(recorded(event_type)) if t.startswith("urn:")] == [uri]


def test_a_user_replaced_whole_is_put_and_changed_in_part_is_patch() -> None:
    """§2.4.3 put: the resource replaced (SCIM PUT); §2.4.2 patch: changed in part (SCIM PATCH, GraphQL)."""
    prov = "urn:ietf:params:scim:event:prov:"
    title = Change(field="title", before="a", after="b")
    assert types_of(recorded(EventType.USER_UPDATED, title, replaced=True)) == [prov + "put:notice"]
    assert types_of(recorded(EventType.USER_UPDATED, title)) == [prov + "patch:notice"]


def test_a_scim_event_names_its_subject_in_a_scim_sub_id_and_not_in_the_payload() -> None:
    """RFC 9967 §2.1: ``sub_id`` of format ``scim`` with the resource's ``uri``; the payload holds no subject."""
    created = recorded(EventType.USER_CREATED, Change(field="externalId", before=None, after="ada"))
    body, subject = payload(created, "urn:ietf:params:scim:event:prov:create:notice")
    assert subject == {"format": "scim", "uri": "/Users/u1", "id": "u1", "externalId": "ada"}
    assert "id" not in body
    assert "ref" not in body


def test_a_notice_lists_the_attributes_changed_and_the_version() -> None:
    """RFC 9967 §2.4: a ``notice`` carries ``attributes`` (never ``data``) and §2.2 ``version`` (the ETag)."""
    updated = recorded(EventType.USER_UPDATED, Change(field="title", before="a", after="b"), replaced=True)
    body, _ = payload(updated, "urn:ietf:params:scim:event:prov:put:notice")
    assert body == {"attributes": ["title"], "version": 'W/"3"'}


def test_delete_activate_and_deactivate_carry_no_payload_attributes() -> None:
    """RFC 9967 §2.4.4-2.4.6: the empty object."""
    prov = "urn:ietf:params:scim:event:prov:"
    for event_type, uri in (
        (EventType.USER_DELETED, prov + "delete"),
        (EventType.USER_REACTIVATED, prov + "activate"),
        (EventType.USER_DEACTIVATED, prov + "deactivate"),
    ):
        assert payload(recorded(event_type), uri)[0] == {}


def test_reactivation_is_account_enabled() -> None:
    assert types_of(recorded(EventType.USER_REACTIVATED))[0] == RISC + "account-enabled"


def test_a_deactivated_account_has_its_sessions_revoked() -> None:
    """CAEP 1.0 §3.1: a disabled account holds no session; ``event_timestamp`` is the commit."""
    types = types_of(recorded(EventType.USER_DEACTIVATED))
    assert types[:2] == [RISC + "account-disabled", CAEP + "session-revoked"]
    body, subject = payload(recorded(EventType.USER_DEACTIVATED), CAEP + "session-revoked")
    assert body == {"event_timestamp": int(COMMITTED.timestamp())}
    assert subject == {"format": "iss_sub", "iss": "urn:test", "sub": "u1"}


def test_a_deleted_account_is_purged_and_its_sessions_revoked() -> None:
    assert types_of(recorded(EventType.USER_DELETED))[:2] == [RISC + "account-purged", CAEP + "session-revoked"]


def test_a_restored_user_appears_again_as_created_and_a_purged_one_sends_nothing() -> None:
    """A restore is a creation to a receiver (RFC 9967 §2.4.1, its attributes and version); a
    purge follows a deletion the receiver was already told of."""
    restored = recorded(EventType.USER_RESTORED, Change(field="userName", before=None, after="ada"))
    assert types_of(restored) == ["urn:ietf:params:scim:event:prov:create:notice"]
    body, _ = payload(restored, "urn:ietf:params:scim:event:prov:create:notice")
    assert body["attributes"] == ["id", "userName"]
    assert types_of(recorded(EventType.USER_PURGED)) == []


def test_a_password_changed_is_a_credential_change_update() -> None:
    """CAEP 1.0 §3.3: ``credential_type`` and ``change_type`` are required."""
    body, _ = payload(recorded(EventType.USER_UPDATED, PASSWORD), CAEP + "credential-change")
    assert body == {"credential_type": "password", "change_type": "update", "event_timestamp": 1772366400}


def test_a_user_created_with_a_password_is_a_credential_change_create() -> None:
    body, _ = payload(recorded(EventType.USER_CREATED, PASSWORD), CAEP + "credential-change")
    assert body["change_type"] == "create"


def test_no_credential_change_without_a_password_change() -> None:
    assert CAEP + "credential-change" not in types_of(
        recorded(EventType.USER_UPDATED, Change(field="title", before=None, after="x"))
    )


def test_a_changed_user_name_is_identifier_changed_with_the_new_value() -> None:
    event = recorded(EventType.USER_UPDATED, Change(field="userName", before="a@x", after="b@x"))
    assert types_of(event) == ["urn:ietf:params:scim:event:prov:patch:notice", RISC + "identifier-changed"]
    assert payload(event, RISC + "identifier-changed")[0] == {"new-value": "b@x"}


def test_events_not_requested_and_group_events_give_nothing() -> None:
    assert signals_of(recorded(EventType.USER_DEACTIVATED), issuer="urn:test", wanted=()) == []
    assert types_of(recorded(EventType.GROUP_CREATED, aggregate=AggregateType.GROUP)) == []
