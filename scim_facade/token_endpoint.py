"""The OAuth 2.0 token endpoint, ``POST /oauth2/token``: the client credentials grant (RFC 6749 §4.4).

The client authenticates with one of its secrets either in an HTTP Basic header
(``client_secret_basic``, RFC 6749 §2.3.1: id and secret form-urlencoded, then base64) or in the
form body (``client_id`` and ``client_secret``, ``client_secret_post``), never both in one request.
A valid, unexpired, unrevoked secret of an enabled client gets a signed access token
(:mod:`access_tokens`) that lives as long as the client's token lifetime (60 minutes to 6 hours).

Errors follow RFC 6749 §5.2: a JSON body with ``error`` (and ``error_description``), 400, or 401
``invalid_client`` with ``WWW-Authenticate: Basic`` (the scheme clients may use, §5.2). Every answer
carries ``Cache-Control: no-store`` and ``Pragma: no-cache`` (§5.1). A federated client
authenticates with a JWT client assertion instead (RFC 7523, :mod:`client_assertions`).

Requests are throttled per source address and per client id (:mod:`token_throttle`); over the
limit the answer is ``429`` with ``Retry-After`` and ``{"error": "slow_down"}``. RFC 6749 §5.2
names no error for this; ``slow_down`` is the registered OAuth error that means exactly "you are
asking too often" (RFC 8628 §3.5), so a client that knows it backs off, and one that does not still
sees a 429. A request with more than one ``Authorization`` header is ``400 invalid_request``:
which of them would be the client's credentials is a guess we do not make.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qs, unquote_plus

import jwt
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from identity_store import NotFound, Store, StoreUnavailable
from identity_store.domain.credentials import CredentialKind, parse_secret
from identity_store.domain.oauth import OAuthClient
from scim_facade.access_tokens import AccessTokens
from scim_facade.client_assertions import JWT_BEARER, ClientAssertions
from scim_facade.token_throttle import TokenThrottle

__all__ = ["TOKEN_PATH", "token_route"]

log = logging.getLogger("scim_facade.oauth")

TOKEN_PATH = "/oauth2/token"  # noqa: S105 - a URL path, not a secret
_FORM = "application/x-www-form-urlencoded"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_MAX_BODY = 16_384


class _OAuthError(Exception):
    def __init__(
        self, error: str, description: str, *, status: int = 400, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.headers = headers or {}

    def response(self) -> Response:
        headers = {**_NO_STORE, **self.headers}
        if self.status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="oauth"'
        return JSONResponse(
            {"error": self.error, "error_description": self.description}, status_code=self.status, headers=headers
        )


def _invalid_client(description: str) -> _OAuthError:
    return _OAuthError("invalid_client", description, status=401)


@dataclass(frozen=True, slots=True, kw_only=True)
class _ClientAuthentication:
    client_id: str
    secret: str | None = None
    assertion: str | None = None


async def _form(request: Request) -> dict[str, str]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != _FORM:
        raise _OAuthError("invalid_request", f"the request must be {_FORM}")
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > _MAX_BODY):
        raise _OAuthError("invalid_request", f"the request body is larger than {_MAX_BODY} bytes", status=413)
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > _MAX_BODY:
            raise _OAuthError("invalid_request", f"the request body is larger than {_MAX_BODY} bytes", status=413)
    try:
        parsed = parse_qs(body.decode(), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise _OAuthError("invalid_request", "the request body is not UTF-8") from None
    repeated = sorted(name for name, values in parsed.items() if len(values) > 1)
    if repeated:
        # RFC 6749 §3.2: parameters must not be included more than once.
        raise _OAuthError("invalid_request", f"repeated parameter: {repeated[0]}")
    return {name: values[0] for name, values in parsed.items()}


def _basic(authorization: str) -> _ClientAuthentication:
    """RFC 6749 §2.3.1 / RFC 7617: base64 of form-urlencoded ``id:secret``."""
    try:
        decoded = base64.b64decode(authorization.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise _invalid_client("the Basic credentials are malformed") from None
    client_id, colon, secret = decoded.partition(":")
    if not colon or not client_id:
        raise _invalid_client("the Basic credentials are malformed")
    return _ClientAuthentication(client_id=unquote_plus(client_id), secret=unquote_plus(secret))


def _slow_down(retry_after: int, who: str) -> _OAuthError:
    return _OAuthError(
        "slow_down",
        f"too many token requests {who}; retry later",
        status=429,
        headers={"Retry-After": str(retry_after)},
    )


def _client_authentication(request: Request, form: dict[str, str]) -> _ClientAuthentication:
    authorizations = request.headers.getlist("authorization")
    if len(authorizations) > 1:
        raise _OAuthError("invalid_request", "send one Authorization header, not several")
    scheme, _, credentials = (authorizations[0] if authorizations else "").partition(" ")
    if "client_assertion" in form or "client_assertion_type" in form:
        if scheme or "client_secret" in form:
            raise _OAuthError("invalid_request", "use one client authentication method, not several")
        if form.get("client_assertion_type") != JWT_BEARER:
            raise _invalid_client(f"client_assertion_type must be {JWT_BEARER}")
        if not form.get("client_id") or not form.get("client_assertion"):
            raise _OAuthError("invalid_request", "client_id and client_assertion are required")
        return _ClientAuthentication(client_id=form["client_id"], assertion=form["client_assertion"])
    if scheme:
        if scheme.casefold() != "basic":
            raise _invalid_client("only the Basic scheme authenticates clients here")
        if "client_secret" in form:
            raise _OAuthError("invalid_request", "send the client secret in the Authorization header or body, not both")
        basic = _basic(credentials)
        if "client_id" in form and form["client_id"] != basic.client_id:
            raise _OAuthError("invalid_request", "client_id differs from the client in the Authorization header")
        return basic
    if not form.get("client_id") or "client_secret" not in form:
        raise _invalid_client("client authentication is required (client_secret_basic or client_secret_post)")
    return _ClientAuthentication(client_id=form["client_id"], secret=form["client_secret"])


def token_route(
    get_store: Callable[[], Store],
    access_tokens: AccessTokens | None,
    assertions: ClientAssertions | None = None,
    *,
    throttle: TokenThrottle | None = None,
) -> Route:
    """The token endpoint; without ``access_tokens`` (no signing key configured) it answers 503.
    Without ``assertions``, client assertions are refused. ``throttle`` defaults to
    :class:`TokenThrottle`'s default limits."""
    limits = throttle or TokenThrottle()

    async def token(request: Request) -> Response:
        address = limits.address(request)
        client_id: str | None = None
        try:
            if request.method != "POST":
                return JSONResponse(
                    {"error": "invalid_request", "error_description": "use POST"},
                    status_code=405,
                    headers={**_NO_STORE, "Allow": "POST"},
                )
            if access_tokens is None:
                return JSONResponse(
                    {"error": "server_error", "error_description": "no OAuth signing key is configured"},
                    status_code=503,
                    headers=_NO_STORE,
                )
            # Before the body is read: a flood from one address costs as little as it can.
            retry_after = limits.check_address(address)
            if retry_after is not None:
                raise _slow_down(retry_after, "from this address")
            form = await _form(request)
            grant_type = form.get("grant_type")
            if not grant_type:
                raise _OAuthError("invalid_request", "grant_type is required")
            if grant_type != "client_credentials":
                raise _OAuthError("unsupported_grant_type", "only client_credentials is supported")
            presented = _client_authentication(request, form)
            client_id = presented.client_id
            # Before any lookup: guessing one client's secret is slowed wherever it comes from.
            retry_after = limits.check_client(client_id)
            if retry_after is not None:
                raise _slow_down(retry_after, "for this client")
            store = get_store()
            client = await _authenticate(store, assertions, presented)
            return await _issue(store, access_tokens, client)
        except _OAuthError as error:
            if error.error == "invalid_client":
                limits.failed(address, client_id)
            return error.response()
        except StoreUnavailable as error:
            return JSONResponse(
                {"error": "temporarily_unavailable", "error_description": "the database is not reachable"},
                status_code=503,
                headers={**_NO_STORE, "Retry-After": str(error.retry_after)},
            )

    return Route(TOKEN_PATH, token, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])


async def _authenticate(
    store: Store, assertions: ClientAssertions | None, presented: _ClientAuthentication
) -> OAuthClient:
    if presented.assertion is not None:
        try:
            client = await store.oauth_clients.get(presented.client_id)
        except NotFound:
            raise _invalid_client("the client or its assertion is not valid") from None
        if assertions is None or client.federation is None:
            raise _invalid_client("the client is not federated; authenticate with a client secret")
        try:
            await assertions.verify(presented.assertion, client.federation, client_id=client.id)
        except jwt.PyJWTError as error:
            raise _invalid_client(f"the client assertion is not valid: {error}") from None
        return client
    secret = presented.secret or ""
    credential_id = parse_secret(secret)
    if credential_id is None:
        raise _invalid_client("the client or its secret is not valid")
    try:
        credential = await store.credentials.get(credential_id)
        client = await store.oauth_clients.get(presented.client_id)
    except NotFound:
        raise _invalid_client("the client or its secret is not valid") from None
    if (
        credential.kind is not CredentialKind.OAUTH_CLIENT_SECRET
        or credential.client_id != client.id
        or not credential.matches(secret)
    ):
        raise _invalid_client("the client or its secret is not valid")
    if not credential.usable_at(datetime.now(UTC)):
        raise _invalid_client("the client secret has expired or was revoked")
    return client


async def _issue(store: Store, access_tokens: AccessTokens, client: OAuthClient) -> Response:
    at = datetime.now(UTC)
    if not client.enabled:
        raise _invalid_client("the client is disabled")
    try:
        await store.tenants.get(client.tenant_id)
    except NotFound:
        raise _invalid_client("the client's tenant no longer exists") from None
    token = access_tokens.issue(
        client_id=client.id, tenant_id=client.tenant_id, issued_at=at, lifetime=client.token_lifetime
    )
    log.info("issued an access token to OAuth client %s (tenant %s)", client.id, client.tenant_id)
    return JSONResponse(
        {"access_token": token, "token_type": "Bearer", "expires_in": int(client.token_lifetime.total_seconds())},
        headers=_NO_STORE,
    )
