"""Shared Signals streams (SSF 1.0 §8.1): created, changed, deleted, their status and subjects set.

Each change is recorded in the tenant's event log in the same transaction (aggregate
``SsfStream``), so the audit trail says who configured which receiver, when. An event says what
the stream is (audience, delivery method and endpoint, events requested, description, status,
subjects) but never the receiver's ``authorization_header``: only that one was set or changed
(``before`` and ``after`` ``None``, as for a password). A change that changes nothing records
nothing; a stream of another tenant is not found.

A stream disabled, or enabled again after being disabled, holds nothing (SSF 1.0 §8.1.2): its
cursor moves to the end of the log in the transaction that changes the status.
"""

from __future__ import annotations

import secrets
from dataclasses import replace

from identity_store.commands import (
    AddSsfSubject,
    CreateSsfStream,
    DeleteSsfStream,
    RemoveSsfSubject,
    SetSsfStreamStatus,
    SsfDelivery,
    UpdateSsfStream,
)
from identity_store.domain.errors import InvalidValue
from identity_store.domain.resources import now
from identity_store.domain.values import JSON
from identity_store.events import AggregateType, Change, DomainEvent, EventType
from identity_store.handlers.common import UnitOfWork
from identity_store.ports import Transaction
from identity_store.ssf_streams import POLL, PUSH, STATUSES, SsfStream

__all__ = [
    "add_ssf_subject",
    "create_ssf_stream",
    "delete_ssf_stream",
    "remove_ssf_subject",
    "set_ssf_stream_status",
    "update_ssf_stream",
]


async def create_ssf_stream(command: CreateSsfStream, uow: UnitOfWork) -> SsfStream:
    _check_delivery(command.delivery)

    async def work(tx: Transaction) -> SsfStream:
        stream = SsfStream(
            stream_id=secrets.token_hex(12),
            tenant_id=uow.store.tenant_id,
            audience=command.audience,
            delivery_method=command.delivery.method,
            endpoint_url=command.delivery.endpoint_url,
            authorization_header=command.delivery.authorization_header,
            events_requested=command.events_requested,
            description=command.description,
            status="enabled",
            reason=None,
            subjects=(),
            cursor=0,
            created_at=now(),
        )
        await tx.ssf_streams.add(stream)
        # A new stream starts with the next change: a receiver gets what happens from now on.
        stream = replace(stream, cursor=await tx.ssf_streams.skip_to_end(stream.stream_id))
        tx.record(_event(EventType.SSF_STREAM_CREATED, stream.stream_id, _described(None, stream)))
        return stream

    return await uow.run(work, expected_version=None)


async def update_ssf_stream(command: UpdateSsfStream, uow: UnitOfWork) -> SsfStream:
    if command.delivery is not None:
        _check_delivery(command.delivery)

    async def work(tx: Transaction) -> SsfStream:
        current = await tx.ssf_streams.get(command.stream_id)
        updated = current
        if command.delivery is not None:
            updated = replace(
                updated,
                delivery_method=command.delivery.method,
                endpoint_url=command.delivery.endpoint_url,
                authorization_header=command.delivery.authorization_header,
            )
        if command.events_requested is not None:
            updated = replace(updated, events_requested=command.events_requested)
        if command.description is not None or command.clear_description:
            updated = replace(updated, description=command.description)
        return await _store_changed(tx, current, updated, EventType.SSF_STREAM_UPDATED)

    return await uow.run(work, expected_version=None)


async def delete_ssf_stream(command: DeleteSsfStream, uow: UnitOfWork) -> None:
    async def work(tx: Transaction) -> None:
        current = await tx.ssf_streams.get(command.stream_id)
        await tx.ssf_streams.delete(current.stream_id)
        tx.record(_event(EventType.SSF_STREAM_DELETED, current.stream_id, ()))

    await uow.run(work, expected_version=None)


async def set_ssf_stream_status(command: SetSsfStreamStatus, uow: UnitOfWork) -> SsfStream:
    if command.status not in STATUSES:
        raise InvalidValue(f"status must be one of {', '.join(STATUSES)}", attribute="status")

    async def work(tx: Transaction) -> SsfStream:
        current = await tx.ssf_streams.get(command.stream_id)
        updated = replace(current, status=command.status, reason=command.reason)
        if command.status == "disabled" or current.status == "disabled":
            # SSF 1.0 §8.1.2: a disabled stream holds nothing; what happens meanwhile is dropped.
            updated = replace(updated, cursor=await tx.ssf_streams.skip_to_end(current.stream_id))
        if command.status == "enabled" and current.failure is not None:
            # Enabled again: the failures of a receiver given up on no longer count towards disabling it.
            await tx.ssf_streams.recovered(current.stream_id)
            updated = replace(updated, failure=None)
        return await _store_changed(tx, current, updated, EventType.SSF_STREAM_STATUS_CHANGED)

    return await uow.run(work, expected_version=None)


async def add_ssf_subject(command: AddSsfSubject, uow: UnitOfWork) -> SsfStream:
    async def work(tx: Transaction) -> SsfStream:
        current = await tx.ssf_streams.get(command.stream_id)
        if command.subject in current.subjects:
            return current
        others = tuple(s for s in current.subjects if _user_of(s) != command.user_id)
        updated = replace(current, subjects=(*others, command.subject))
        await tx.ssf_streams.replace(updated)
        tx.record(_event(EventType.SSF_STREAM_SUBJECT_ADDED, updated.stream_id, _subject_change(None, command)))
        return updated

    return await uow.run(work, expected_version=None)


async def remove_ssf_subject(command: RemoveSsfSubject, uow: UnitOfWork) -> SsfStream:
    async def work(tx: Transaction) -> SsfStream:
        current = await tx.ssf_streams.get(command.stream_id)
        kept = tuple(s for s in current.subjects if _user_of(s) != command.user_id)
        if kept == current.subjects:
            return current
        updated = replace(current, subjects=kept)
        await tx.ssf_streams.replace(updated)
        tx.record(_event(EventType.SSF_STREAM_SUBJECT_REMOVED, updated.stream_id, _subject_change(command, None)))
        return updated

    return await uow.run(work, expected_version=None)


async def _store_changed(tx: Transaction, current: SsfStream, updated: SsfStream, kind: EventType) -> SsfStream:
    """Store ``updated`` with a ``kind`` event of what differs from ``current``; when nothing an
    event shows differs, neither (a change that changes nothing records nothing)."""
    changes = _described(current, updated)
    if changes:
        await tx.ssf_streams.replace(updated)
        tx.record(_event(kind, updated.stream_id, changes))
    return updated


def _check_delivery(delivery: SsfDelivery) -> None:
    if delivery.method not in (PUSH, POLL):
        raise InvalidValue(f"delivery.method must be {PUSH} or {POLL}", attribute="delivery")
    if delivery.method == PUSH and not delivery.endpoint_url:
        raise InvalidValue("push delivery needs an endpoint_url", attribute="delivery")
    if delivery.method == POLL and (delivery.endpoint_url or delivery.authorization_header):
        raise InvalidValue("poll delivery takes no endpoint_url or authorization_header", attribute="delivery")


def _user_of(subject: JSON) -> JSON:
    return subject.get("sub", subject.get("id")) if isinstance(subject, dict) else None


def _subject_change(before: RemoveSsfSubject | None, after: AddSsfSubject | None) -> tuple[Change, ...]:
    return (
        Change(
            field="subject",
            before={"user": before.user_id} if before is not None else None,
            after=after.subject if after is not None else None,
        ),
    )


def _visible(stream: SsfStream) -> dict[str, JSON]:
    """What an event may say of a stream: everything configured but the authorization header."""
    return {
        "audience": stream.audience,
        "deliveryMethod": stream.delivery_method,
        "endpointUrl": stream.endpoint_url,
        "eventsRequested": list[JSON](stream.events_requested),
        "description": stream.description,
        "status": stream.status,
        "reason": stream.reason,
    }


def _described(before: SsfStream | None, after: SsfStream) -> tuple[Change, ...]:
    """The fields that differ (all those set, for a new stream); the header's value never."""
    old = _visible(before) if before is not None else {}
    new = _visible(after)
    changes = [
        Change(field=name, before=old.get(name), after=value)
        for name, value in new.items()
        if old.get(name) != value and not (before is None and value is None)
    ]
    old_header = before.authorization_header if before is not None else None
    if after.authorization_header != old_header:
        # That it was set, changed or removed; its value is a secret of the receiver's.
        changes.append(Change(field="authorizationHeader", before=None, after=None))
    return tuple(changes)


def _event(kind: EventType, stream_id: str, changes: tuple[Change, ...]) -> DomainEvent:
    return DomainEvent(
        type=kind, aggregate_type=AggregateType.SSF_STREAM, aggregate_id=stream_id, version=None, changes=changes
    )
