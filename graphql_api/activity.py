"""The activity log in GraphQL: every mutation of a tenant is recorded, and read back by
``provisioningActivity`` and ``provisioningSummary`` (the ``activity:read`` scope).

:class:`MutationActivity` names the caller and the operation of every request (for its log
line), marks a mutation's request as its tenant's activity (a query is not recorded: reading
changes nothing and would flood the log) and, when the operation failed as a whole, keeps the
first error's code and message. :func:`note_result` records what one mutation
changed or why it did not.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from graphql_api.context import Context
from graphql_api.errors import BadUserInput
from graphql_api.pagination import MAX_PAGE_SIZE, PageInfo
from graphql_api.types.activity import (
    ProvisioningActivity,
    ProvisioningActivityConnection,
    ProvisioningActivityEdge,
    ProvisioningActivityFilter,
    ProvisioningHour,
    ProvisioningSummary,
)
from identity_store import DomainError, Group, InvalidValue, User
from identity_store.activity import ActivityFilter, ActivityLog, Outcome, activity_cursor, quarantine_warning
from identity_store.domain.extensions import SchemaExtension as ExtensionSchema
from identity_store.webhooks import WebhookSubscription

__all__ = ["MutationActivity", "activity_page", "activity_summary", "note_result"]

# The error codes of a failed operation, as the outcome the activity log files them under.
_OUTCOMES = {
    "UNAUTHENTICATED": Outcome.UNAUTHORIZED,
    "FORBIDDEN": Outcome.UNAUTHORIZED,
    "SERVICE_UNAVAILABLE": Outcome.SERVER_ERROR,
    "TIMEOUT": Outcome.SERVER_ERROR,
    "INTERNAL_SERVER_ERROR": Outcome.SERVER_ERROR,
}
_MAX_SUMMARY = timedelta(days=31)


class MutationActivity(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        context = execution.context
        activity = context.activity if isinstance(context, Context) else None
        principal = context.principal if isinstance(context, Context) else None
        mutation = execution.operation_type is OperationType.MUTATION
        if activity is not None and principal is not None:
            # Every operation's log line names its tenant; only a mutation is its activity.
            activity.tenant_id = principal.tenant_id
            activity.credential_id = principal.credential_id
            activity.credential_name = principal.name
            activity.operation = execution.operation_name
            activity.recorded = mutation
        yield
        result = execution.result
        if activity is None or not mutation or result is None or not result.errors:
            return
        first: GraphQLError = result.errors[0]
        code = (first.extensions or {}).get("code")
        activity.outcome = _OUTCOMES.get(str(code), Outcome.CLIENT_ERROR)
        activity.scim_type = str(code) if code else None
        activity.detail = first.message


def note_result(
    context: Context,
    field: str,
    result: User | Group | WebhookSubscription | ExtensionSchema | DomainError | None,
    changed: Sequence[str] = (),
) -> None:
    """What one mutation (``field``) did: the user, group or webhook subscription it wrote, or the domain's refusal;
    ``changed`` names the fields of its input (never their values)."""
    activity = context.activity
    if activity is None:
        return
    activity.note_changed(changed)
    if activity.operation is None:
        activity.operation = field
    match result:
        case User():
            activity.resource_type, activity.resource_id, activity.resource_name = "User", result.id, result.user_name
        case Group():
            activity.resource_type, activity.resource_id = "Group", result.id
            activity.resource_name = result.display_name
        case WebhookSubscription():
            activity.resource_type, activity.resource_id = "WebhookSubscription", result.id
            activity.resource_name = result.url
        case ExtensionSchema():
            activity.resource_type, activity.resource_id = "SchemaExtension", result.urn
            activity.resource_name = result.name
        case DomainError():
            activity.outcome = Outcome.CLIENT_ERROR
            activity.scim_type = type(result).__name__
            activity.detail = result.message


def _activity_log(context: Context) -> ActivityLog:
    if context.activity_log is None:
        raise BadUserInput("this service keeps no activity log")
    return context.activity_log


async def activity_page(
    context: Context, where: ProvisioningActivityFilter | None, first: int, after: str | None
) -> ProvisioningActivityConnection:
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise BadUserInput(f"first must be between 1 and {MAX_PAGE_SIZE}")
    given = where or ProvisioningActivityFilter()
    try:
        page = await _activity_log(context).find(
            context.caller.tenant_id,
            ActivityFilter(
                outcome=given.outcome,
                failed=bool(given.failed),
                status=given.status,
                operation=given.operation,
                resource_id=given.resource_id,
                credential_id=given.credential_id,
                since=given.since,
                until=given.until,
            ),
            first=first,
            after=after,
        )
    except InvalidValue as error:
        raise BadUserInput(error.message, argument="after") from None
    edges = [ProvisioningActivityEdge(cursor=activity_cursor(r), node=ProvisioningActivity.of(r)) for r in page.records]
    return ProvisioningActivityConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.after is not None,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )


async def activity_summary(context: Context, since: datetime | None, until: datetime | None) -> ProvisioningSummary:
    end = until or datetime.now(UTC)
    start = since or end - timedelta(hours=24)
    if start >= end or end - start > _MAX_SUMMARY:
        raise BadUserInput("since must be before until, at most 31 days apart")
    hours = await _activity_log(context).summary(context.caller.tenant_id, start, end)
    return ProvisioningSummary(
        hours=[ProvisioningHour.of(h) for h in hours], quarantine_warning=quarantine_warning(hours)
    )
