"""The tenant's credentials: SCIM tokens, API keys, OAuth clients and their secrets.

Listed without secrets; created and revoked through the same commands the command line sends
(:class:`IssueCredential`, :class:`RevokeCredential`, :class:`CreateOAuthClient`,
:class:`DisableOAuthClient`), so each change is checked by its handler and recorded in the
tenant's event log with the admin as its actor. A new secret is shown once, on the answer to the
form that created it, and never again (the store keeps only its digest).

Console admins are listed but not managed here: they are issued and revoked only with the
command line (``identity-store admin``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from admin_console.access import admin_page
from admin_console.rendering import render
from admin_console.signed_in import SignedIn
from identity_store import InvalidValue
from identity_store.commands import CreateOAuthClient, DisableOAuthClient, IssueCredential, RevokeCredential
from identity_store.domain.credentials import Credential, CredentialKind, IssuedSecret

__all__ = [
    "create_api_key",
    "create_client",
    "create_client_secret",
    "create_scim_token",
    "credentials",
    "disable_client",
    "revoke",
]

#: The kinds an admin may revoke here, by the name their URL gives them.
REVOCABLE = {
    "scim-tokens": CredentialKind.SCIM_TOKEN,
    "api-keys": CredentialKind.API_KEY,
    "client-secrets": CredentialKind.OAUTH_CLIENT_SECRET,
}

_KIND_NAMES = {
    CredentialKind.SCIM_TOKEN: "SCIM token",
    CredentialKind.API_KEY: "API key",
    CredentialKind.OAUTH_CLIENT_SECRET: "client secret",
    CredentialKind.CONSOLE_ADMIN: "console admin",
}

_MAX_NAME = 100
_MAX_DAYS = 3650


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientRow:
    client_id: str
    name: str
    minutes: int
    enabled: bool
    federated: bool
    secrets: Sequence[Credential]


@admin_page
async def credentials(request: Request, signed_in: SignedIn) -> Response:
    return await _page(request, signed_in)


@admin_page
async def create_scim_token(request: Request, signed_in: SignedIn) -> Response:
    form = await request.form()
    return await _issue(request, signed_in, form, CredentialKind.SCIM_TOKEN, frozenset({"scim"}), default_name="scim")


@admin_page
async def create_api_key(request: Request, signed_in: SignedIn) -> Response:
    form = await request.form()
    allowed = signed_in.console.settings.api_key_scopes
    scopes = frozenset(s for s in form.getlist("scope") if isinstance(s, str))
    if not scopes or not scopes <= set(allowed):
        return await _page(request, signed_in, error="Choose at least one of the listed scopes.", status=400)
    return await _issue(request, signed_in, form, CredentialKind.API_KEY, scopes, default_name="graphql")


@admin_page
async def create_client(request: Request, signed_in: SignedIn) -> Response:
    form = await request.form()
    try:
        minutes = int(_text(form, "minutes") or "60")
    except ValueError:
        return await _page(request, signed_in, error="The token lifetime is a number of minutes.", status=400)
    command = CreateOAuthClient(name=_name(form, "entra"), token_lifetime=timedelta(minutes=minutes))
    try:
        await signed_in.console.bus().dispatch(signed_in.context, command)
    except InvalidValue as error:
        return await _page(request, signed_in, error=str(error), status=400)
    return _back(request)


@admin_page
async def create_client_secret(request: Request, signed_in: SignedIn) -> Response:
    form = await request.form()
    client_id = request.path_params["client_id"]
    kind = CredentialKind.OAUTH_CLIENT_SECRET
    return await _issue(request, signed_in, form, kind, frozenset({"scim"}), default_name="secret", client_id=client_id)


@admin_page
async def disable_client(request: Request, signed_in: SignedIn) -> Response:
    command = DisableOAuthClient(client_id=request.path_params["client_id"])
    await signed_in.console.bus().dispatch(signed_in.context, command)
    return _back(request)


@admin_page
async def revoke(request: Request, signed_in: SignedIn) -> Response:
    kind = REVOCABLE.get(request.path_params["kind"])
    if kind is None:
        return render(request, signed_in, "refused.html", {"message": "No such kind of credential."}, status=404)
    command = RevokeCredential(credential_id=request.path_params["credential_id"], kind=kind)
    await signed_in.console.bus().dispatch(signed_in.context, command)
    return _back(request)


async def _issue(
    request: Request,
    signed_in: SignedIn,
    form: FormData,
    kind: CredentialKind,
    scopes: frozenset[str],
    *,
    default_name: str,
    client_id: str | None = None,
) -> Response:
    days = _text(form, "days")
    try:
        lifetime = timedelta(days=int(days)) if days else None
    except ValueError:
        lifetime = timedelta(0)
    if lifetime is not None and not timedelta(days=1) <= lifetime <= timedelta(days=_MAX_DAYS):
        error = f"An expiry is a whole number of days from 1 to {_MAX_DAYS}, or empty for none."
        return await _page(request, signed_in, error=error, status=400)
    command = IssueCredential(
        kind=kind, name=_name(form, default_name), scopes=scopes, lifetime=lifetime, client_id=client_id
    )
    issued: IssuedSecret = await signed_in.console.bus().dispatch(signed_in.context, command)
    context = {"issued": issued, "kind_name": _KIND_NAMES[kind]}
    return render(request, signed_in, "issued.html", context)


async def _page(request: Request, signed_in: SignedIn, *, error: str | None = None, status: int = 200) -> Response:
    store = signed_in.console.store()
    tenant_id = signed_in.session.tenant_id
    everything = await store.credentials.list(tenant_id)
    by_kind: dict[CredentialKind, list[Credential]] = {kind: [] for kind in CredentialKind}
    for credential in everything:
        by_kind[credential.kind].append(credential)
    clients = [
        ClientRow(
            client_id=client.id,
            name=client.name,
            minutes=int(client.token_lifetime.total_seconds() // 60),
            enabled=client.enabled,
            federated=client.federation is not None,
            secrets=[c for c in by_kind[CredentialKind.OAUTH_CLIENT_SECRET] if c.client_id == client.id],
        )
        for client in await store.oauth_clients.list(tenant_id)
    ]
    context = {
        "error": error,
        "scim_tokens": by_kind[CredentialKind.SCIM_TOKEN],
        "api_keys": by_kind[CredentialKind.API_KEY],
        "admins": by_kind[CredentialKind.CONSOLE_ADMIN],
        "clients": clients,
        "api_key_scopes": signed_in.console.settings.api_key_scopes,
    }
    return render(request, signed_in, "credentials.html", context, status=status)


def _back(request: Request) -> Response:
    """After a change, the list again (a reload then repeats nothing)."""
    return RedirectResponse(f"{request.scope.get('root_path', '')}/credentials", status_code=303)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _name(form: FormData, default: str) -> str:
    return _text(form, "name")[:_MAX_NAME] or default
