"""Activity records as the service writes them, for tests that need some in the log without
making the requests (an Entra create answered 201 unless told otherwise)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from identity_store.activity import ActivityRecord, FrontEnd, new_record_id, outcome_of

__all__ = ["activity_record"]


def activity_record(tenant_id: str, *, status: int = 201, **fields: Any) -> ActivityRecord:
    """A SCIM ``POST /Users`` record of ``tenant_id`` answered ``status``; ``fields`` override the rest."""
    record = ActivityRecord(
        id=new_record_id(),
        tenant_id=tenant_id,
        at=datetime.now(UTC).replace(microsecond=0),
        front_end=FrontEnd.SCIM,
        request_id=uuid.uuid4().hex,
        trace_id=None,
        credential_id="cred",
        credential_name="entra",
        client_address="10.0.0.1",
        method="POST",
        path="/scim/v2/Users",
        operation="create_user",
        resource_type="User",
        resource_id=None,
        resource_name=None,
        status=status,
        outcome=outcome_of(status),
        scim_type=None,
        detail=None,
        duration_ms=12.5,
        database_commands=4,
    )
    return replace(record, **fields)
