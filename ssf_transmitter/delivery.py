"""A stream's SETs, built from its tenant's event log after the stream's cursor.

Each SET's ``jti`` is ``<stream>.<sequence>.<n>``: unique per stream, the same on a retry (so a
receiver drops a duplicate by ``jti``, RFC 8417 §2.2), and it names the log position an ``ack``
moves the poll cursor to (RFC 8936 §2.4).
"""

from __future__ import annotations

from dataclasses import dataclass

from identity_store import TenantStore
from identity_store.ssf_streams import SsfStream, SsfVerification
from ssf_transmitter.signals import VERIFICATION, signals_of
from ssf_transmitter.tokens import SetSigner

__all__ = ["PendingSet", "sequence_of", "sets_after", "verification_set"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingSet:
    jti: str
    sequence: int
    token: str


def _wanted_users(stream: SsfStream) -> set[str] | None:
    """The users a stream is about (RFC 9493 ``iss_sub``'s ``sub`` or ``opaque``'s ``id``); ``None``: all."""
    if not stream.subjects:
        return None
    users: set[str] = set()
    for subject in stream.subjects:
        if isinstance(subject, dict):
            value = subject.get("sub", subject.get("id"))
            if isinstance(value, str):
                users.add(value)
    return users


def sequence_of(stream_id: str, jti: str) -> int | None:
    """The log sequence a ``jti`` of this stream stands for; ``None`` when it is not one of ours."""
    prefix, _, rest = jti.partition(".")
    sequence, _, _ = rest.partition(".")
    if prefix != stream_id or not sequence.isdigit():
        return None
    return int(sequence)


async def sets_after(
    stream: SsfStream, tenant: TenantStore, signer: SetSigner, *, limit: int
) -> tuple[list[PendingSet], int]:
    """The SETs of up to ``limit`` log events after the cursor, and the sequence read up to.

    Events that concern the stream not at all still move the returned position, so the cursor
    passes them once whatever is delivered next.
    """
    events = await tenant.events.read(after=stream.cursor, limit=limit)
    users = _wanted_users(stream)
    wanted = set(stream.events_requested)
    pending: list[PendingSet] = []
    for recorded in events:
        for n, signal in enumerate(signals_of(recorded, issuer=signer.issuer, wanted=wanted)):
            if users is not None and signal.user_id not in users:
                continue
            jti = f"{stream.stream_id}.{recorded.sequence}.{n}"
            token = signer.sign(
                jti=jti,
                audience=stream.audience,
                events=signal.events,
                sub_id=signal.subject,
                txn=recorded.correlation_id,
            )
            pending.append(PendingSet(jti=jti, sequence=recorded.sequence, token=token))
    return pending, events[-1].sequence if events else stream.cursor


def verification_set(stream: SsfStream, verification: SsfVerification, signer: SetSigner) -> str:
    """SSF 1.0 §8.1.4: the verification event, about the stream itself, echoing the receiver's ``state``."""
    state = {"state": verification.state} if verification.state is not None else {}
    return signer.sign(
        jti=verification.jti,
        audience=stream.audience,
        events={VERIFICATION: state},
        sub_id={"format": "opaque", "id": stream.stream_id},
        txn=None,
    )
