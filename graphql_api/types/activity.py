"""The activity log's GraphQL types: what each provisioning request asked and how it ended."""

from __future__ import annotations

from datetime import datetime
from typing import TypeAlias

import strawberry

from graphql_api.pagination import PageInfo
from graphql_api.types.enums import describe_values
from identity_store.activity import ActivityRecord, FrontEnd, HourSummary, Outcome

__all__ = [
    "ActivityFrontEnd",
    "ActivityOutcome",
    "ProvisioningActivity",
    "ProvisioningActivityConnection",
    "ProvisioningActivityEdge",
    "ProvisioningActivityFilter",
    "ProvisioningHour",
    "ProvisioningSummary",
]

# The domain's enums, exposed under these names (strawberry.enum registers them in place).
strawberry.enum(Outcome, name="ActivityOutcome", description="How a request ended.")
strawberry.enum(FrontEnd, name="ActivityFrontEnd", description="Which API a request used.")
ActivityOutcome: TypeAlias = Outcome
ActivityFrontEnd: TypeAlias = FrontEnd
describe_values(
    Outcome,
    {
        "OK": "Answered with success (a 2xx or 3xx status).",
        "CLIENT_ERROR": "Refused for what it asked (a 4xx status other than 401, 403 and 429).",
        "UNAUTHORIZED": "Refused its credential (401 or 403).",
        "THROTTLED": "Refused for its rate (429).",
        "SERVER_ERROR": "Failed on the service's side (a 5xx status).",
    },
)
describe_values(FrontEnd, {"SCIM": "SCIM 2.0 (Microsoft Entra ID provisioning).", "GRAPHQL": "This GraphQL API."})


@strawberry.type(description="One request a client of the tenant made, refused ones included.")
class ProvisioningActivity:
    id: strawberry.ID = strawberry.field(description="The record's id.")
    at: datetime = strawberry.field(description="When the request was answered (UTC).")
    front_end: ActivityFrontEnd = strawberry.field(description="Which API it used.")
    request_id: str = strawberry.field(description="Its X-Request-Id (also in the service's log line).")
    trace_id: str | None = strawberry.field(description="Its OpenTelemetry trace id, when tracing is on.")
    credential_id: str | None = strawberry.field(description="The credential that made it.")
    credential_name: str | None = strawberry.field(description="That credential's name.")
    client_address: str | None = strawberry.field(description="The client's address (behind a trusted proxy, its own).")
    method: str = strawberry.field(description="The HTTP method.")
    path: str = strawberry.field(description="The path asked for.")
    operation: str | None = strawberry.field(description="What the service took it for (such as create_user).")
    resource_type: str | None = strawberry.field(description="User or Group, when it was about one.")
    resource_id: str | None = strawberry.field(description="The SCIM id of the resource it was about.")
    resource_name: str | None = strawberry.field(description="That resource's userName or displayName.")
    status: int = strawberry.field(description="The HTTP status answered.")
    outcome: ActivityOutcome = strawberry.field(description="How it ended.")
    scim_type: str | None = strawberry.field(description="The SCIM error's scimType (RFC 7644 §3.12), if any.")
    detail: str | None = strawberry.field(description="The error's detail, if it failed.")
    duration_ms: float = strawberry.field(description="How long the service took to answer, in milliseconds.")
    database_commands: int = strawberry.field(description="Database commands it cost.")
    changed_attributes: list[str] = strawberry.field(
        description="Names of the attributes it set, replaced or removed (never their values)."
    )
    ignored_attributes: list[str] = strawberry.field(
        description="Attributes and schema URNs it carried that the service did not keep."
    )

    @staticmethod
    def of(record: ActivityRecord) -> ProvisioningActivity:
        return ProvisioningActivity(
            id=strawberry.ID(record.id),
            at=record.at,
            front_end=record.front_end,
            request_id=record.request_id,
            trace_id=record.trace_id,
            credential_id=record.credential_id,
            credential_name=record.credential_name,
            client_address=record.client_address,
            method=record.method,
            path=record.path,
            operation=record.operation,
            resource_type=record.resource_type,
            resource_id=record.resource_id,
            resource_name=record.resource_name,
            status=record.status,
            outcome=record.outcome,
            scim_type=record.scim_type,
            detail=record.detail,
            duration_ms=record.duration_ms,
            database_commands=record.database_commands,
            changed_attributes=list(record.changed),
            ignored_attributes=list(record.ignored),
        )


@strawberry.type(description="A request in a page, and its cursor.")
class ProvisioningActivityEdge:
    cursor: str = strawberry.field(description="Resume after this record.")
    node: ProvisioningActivity = strawberry.field(description="The record.")


@strawberry.type(description="A page of the activity log, newest first.")
class ProvisioningActivityConnection:
    edges: list[ProvisioningActivityEdge] = strawberry.field(description="The records of this page, newest first.")
    page_info: PageInfo = strawberry.field(description="hasNextPage says whether older records remain.")

    @strawberry.field(description="The records of this page (the edges' nodes).")
    def nodes(self) -> list[ProvisioningActivity]:
        return [edge.node for edge in self.edges]


@strawberry.input(description="Which records to list; every field left out matches all.")
class ProvisioningActivityFilter:
    outcome: ActivityOutcome | None = strawberry.field(default=None, description="Only this outcome.")
    failed: bool | None = strawberry.field(default=None, description="true: only requests that did not succeed.")
    status: int | None = strawberry.field(default=None, description="Only this HTTP status.")
    operation: str | None = strawberry.field(default=None, description="Only this operation (such as create_user).")
    resource_id: str | None = strawberry.field(default=None, description="Only requests about this SCIM id.")
    credential_id: str | None = strawberry.field(default=None, description="Only requests of this credential.")
    since: datetime | None = strawberry.field(default=None, description="Only requests answered at or after this.")
    until: datetime | None = strawberry.field(default=None, description="Only requests answered before this.")


@strawberry.type(description="One hour of the tenant's requests.")
class ProvisioningHour:
    hour: datetime = strawberry.field(description="The hour's start (UTC).")
    requests: int = strawberry.field(description="Requests answered in the hour.")
    failures: int = strawberry.field(description="Of those, the ones that did not succeed.")
    failures_by_scim_type: strawberry.scalars.JSON = strawberry.field(
        description='Failures by scimType, as an object ("" for failures without one, such as 401 or 500).'
    )
    p95_duration_ms: float = strawberry.field(
        description="The duration under which 95 % of the hour's requests were answered (a bucket's bound)."
    )
    last_success_at: datetime | None = strawberry.field(description="The hour's last successful request.")

    @staticmethod
    def of(summary: HourSummary) -> ProvisioningHour:
        return ProvisioningHour(
            hour=summary.hour,
            requests=summary.requests,
            failures=summary.failures,
            failures_by_scim_type=strawberry.scalars.JSON(summary.failures_by_scim_type),
            p95_duration_ms=summary.p95_duration_ms,
            last_success_at=summary.last_ok,
        )


@strawberry.type(description="The tenant's requests hour by hour, and whether Entra may soon quarantine its job.")
class ProvisioningSummary:
    hours: list[ProvisioningHour] = strawberry.field(description="Every hour that had requests, oldest first.")
    quarantine_warning: str | None = strawberry.field(
        description="Why the failures come close to the conditions under which Entra quarantines a provisioning "
        "job; null while they do not."
    )
