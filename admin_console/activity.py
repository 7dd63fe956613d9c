"""The activity list, filtered (outcome, status, operation, resource, credential, since, until)
and paged newest first, and one request's detail: what was asked, how it ended and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from admin_console.access import admin_page
from admin_console.rendering import render
from admin_console.signed_in import SignedIn
from identity_store import InvalidValue
from identity_store.activity import ActivityFilter, Outcome
from identity_store.domain.credentials import CredentialKind

__all__ = ["activity", "activity_detail"]

PAGE_SIZE = 50
_FIELDS = ("outcome", "status", "operation", "resource", "credential", "since", "until")


@dataclass(frozen=True, slots=True, kw_only=True)
class Filters:
    """The form's values as given (to show them again) and the filter they make."""

    given: dict[str, str]
    where: ActivityFilter
    problems: list[str]

    def query(self, **more: str) -> str:
        return urlencode({k: v for k, v in {**self.given, **more}.items() if v})


def filters(request: Request) -> Filters:
    given = {name: request.query_params.get(name, "").strip()[:200] for name in _FIELDS}
    problems: list[str] = []
    outcome: Outcome | None = None
    failed = False
    if given["outcome"] == "failed":
        failed = True
    elif given["outcome"]:
        try:
            outcome = Outcome(given["outcome"])
        except ValueError:
            problems.append("Unknown outcome.")
    status: int | None = None
    if given["status"]:
        try:
            status = int(given["status"])
        except ValueError:
            problems.append("A status is a number, such as 409.")
    where = ActivityFilter(
        outcome=outcome,
        failed=failed,
        status=status,
        operation=given["operation"] or None,
        resource_id=given["resource"] or None,
        credential_id=given["credential"] or None,
        since=_moment(given["since"], "since", problems),
        until=_moment(given["until"], "until", problems),
    )
    return Filters(given=given, where=where, problems=problems)


def _moment(text: str, name: str, problems: list[str]) -> datetime | None:
    """A time from the form (``2026-12-01T14:30``, read as UTC, or with an offset)."""
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        problems.append(f"“{name}” is not a time such as 2026-12-01T14:30.")
        return None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


@admin_page
async def activity(request: Request, signed_in: SignedIn) -> Response:
    log = signed_in.console.activity()
    if log is None:
        return render(request, signed_in, "activity.html", {"off": True})
    shown = filters(request)
    after = request.query_params.get("after") or None
    tenant_id = signed_in.session.tenant_id
    try:
        page = await log.find(tenant_id, shown.where, first=PAGE_SIZE, after=after)
    except InvalidValue as error:
        shown.problems.append(str(error))
        page = await log.find(tenant_id, shown.where, first=PAGE_SIZE)
    credentials = [
        c
        for c in await signed_in.console.store().credentials.list(tenant_id)
        if c.kind is not CredentialKind.CONSOLE_ADMIN
    ]
    context = {
        "off": False,
        "filters": shown,
        "page": page,
        "outcomes": [o.value for o in Outcome],
        "credentials": credentials,
        "next": f"?{shown.query(after=page.after)}" if page.after else None,
    }
    return render(request, signed_in, "activity.html", context)


@admin_page
async def activity_detail(request: Request, signed_in: SignedIn) -> Response:
    log = signed_in.console.activity()
    record = await log.get(signed_in.session.tenant_id, request.path_params["record_id"]) if log else None
    if record is None:
        return render(request, signed_in, "refused.html", {"message": "No such request in the log."}, status=404)
    return render(request, signed_in, "activity_record.html", {"record": record})
