"""A large group's body streamed as its members are read (RFC 7644 §3.4.1 retrieve).

Above :data:`STREAM_ABOVE` members, ``GET /Groups/{id}`` sends its body a batch of members at a
time (chunked), so the service holds one batch of members and of bytes, never the whole group.
The bytes are those :func:`~scim_facade.resources.render_group` and
:class:`~scim_facade.errors.ScimResponse` would give: the same keys in the same order, the
members in member-id order, ``meta`` last.

The status and the ``ETag`` are sent before the members are read, so they are settled first:
the group is read and ``If-None-Match`` checked before streaming starts. A database failure
after the first byte cannot become an error response any more; the exception is let out, and
the server ends the connection without the chunked body's last chunk. A client then sees a
truncated body that does not parse, never a 200 whose partial member list looks complete.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from starlette.responses import StreamingResponse

from identity_store import Group
from identity_store.domain.schema import GROUP_SCHEMA, ResourceSchema
from identity_store.views.groups import MemberBatch
from scim_facade.errors import SCIM_MEDIA_TYPE, scim_json
from scim_facade.resources import Selection, etag, render_group, render_members

__all__ = ["STREAM_ABOVE", "streamed_group"]

#: A group with more members than this is streamed; a smaller one is sent as one body.
STREAM_ABOVE = 1_000


def streamed_group(
    group: Group,
    read: Sequence[MemberBatch],
    rest: AsyncIterator[MemberBatch],
    base_url: str,
    chosen: Selection,
    schema: ResourceSchema = GROUP_SCHEMA,
) -> StreamingResponse:
    """200 with ``group``: the members already ``read``, then the ``rest`` as they come."""
    return StreamingResponse(
        _body(group, read, rest, base_url, chosen, schema),
        media_type=SCIM_MEDIA_TYPE,
        headers={"ETag": etag(group.version)},
    )


async def _body(
    group: Group,
    read: Sequence[MemberBatch],
    rest: AsyncIterator[MemberBatch],
    base_url: str,
    chosen: Selection,
    schema: ResourceSchema,
) -> AsyncIterator[bytes]:
    head = render_group(group, None, base_url, chosen, schema=schema)
    meta = head.pop("meta")
    # The head without members ends in "}": the members open where it would close.
    yield scim_json(head)[:-1] + b',"members":['
    first = True

    def members(batch: MemberBatch) -> bytes:
        nonlocal first
        items = scim_json(render_members(batch.members, base_url, chosen, batch.member_names))[1:-1]
        chunk, first = (items if first else b"," + items), False
        return chunk

    for batch in read:
        if batch.members:
            yield members(batch)
    async for batch in rest:
        if batch.members:
            yield members(batch)
    yield b'],"meta":' + scim_json(meta) + b"}"
