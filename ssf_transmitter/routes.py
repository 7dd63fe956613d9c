"""The transmitter's HTTP surface (OpenID SSF 1.0 §7, §8; RFC 8936 poll; the JWKS).

Receivers authenticate with ``Authorization: Bearer <API key>`` of a key holding the
``ssf:manage`` scope; the stream belongs to the key's tenant, and a stream of another tenant
is not found. Errors are JSON ``{"err": ..., "description": ...}`` (RFC 8936 §2.4.4 style) with
the status SSF 1.0 §8.1.1 names: 400 for a malformed request, 401 without a valid key, 403 without
the scope, 404 for an unknown stream.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from identity_store import NotFound, Store
from identity_store.bus import CommandBus, RequestContext
from identity_store.commands import (
    AddSsfSubject,
    CreateSsfStream,
    DeleteSsfStream,
    RemoveSsfSubject,
    SetSsfStreamStatus,
    SsfDelivery,
    SsfStreamCommand,
    UpdateSsfStream,
)
from identity_store.domain.credentials import CredentialKind, parse_secret
from identity_store.domain.errors import DomainError, InvalidValue
from identity_store.domain.values import JSON
from identity_store.events import Actor
from identity_store.ssf_streams import POLL, PUSH, STATUSES, SsfStream, SsfStreams, SsfVerification
from ssf_transmitter.delivery import sequence_of, sets_after, verification_set
from ssf_transmitter.endpoints import refusal
from ssf_transmitter.signals import SUPPORTED_EVENTS
from ssf_transmitter.tokens import SetSigner

__all__ = ["SSF_MANAGE_SCOPE", "Transmitter"]

log = logging.getLogger(__name__)

#: The API key scope that lets a receiver manage its tenant's streams and poll them.
SSF_MANAGE_SCOPE = "ssf:manage"
_MAX_POLL_EVENTS = 100


class _Refused(Exception):
    def __init__(self, status: int, err: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.err = err
        self.description = description


def _refusal(error: DomainError) -> _Refused | DomainError:
    """A domain refusal as the SSF error (SSF 1.0 §8.1.1); anything else (the database away) as is."""
    if isinstance(error, NotFound):
        return _Refused(404, "not_found", error.message)
    if isinstance(error, InvalidValue):
        return _Refused(400, "invalid_request", error.message)
    return error


def _error(refused: _Refused) -> JSONResponse:
    log.info("SSF request refused (%s): %s", refused.status, refused.description)
    return JSONResponse({"err": refused.err, "description": refused.description}, status_code=refused.status)


class Transmitter:
    """The SSF transmitter over one store: its routes, and what push and poll share."""

    def __init__(
        self,
        store: Callable[[], Store],
        bus: Callable[[], CommandBus],
        streams: Callable[[], SsfStreams],
        signer: SetSigner,
        *,
        base_url: str | None = None,
        allow_insecure_push: bool = False,
        allow_private_push: bool = False,
    ) -> None:
        self._store = store
        self._bus = bus
        self._streams = streams
        self.signer = signer
        self._base_url = base_url.rstrip("/") if base_url else None
        self._allow_insecure_push = allow_insecure_push
        self._allow_private_push = allow_private_push

    def routes(self) -> list[Route]:
        return [
            Route("/.well-known/ssf-configuration", self._configuration, methods=["GET"]),
            Route("/.well-known/jwks.json", self._jwks, methods=["GET"]),
            Route("/ssf/streams", self._stream_endpoint, methods=["GET", "POST", "PATCH", "PUT", "DELETE"]),
            Route("/ssf/status", self._status_endpoint, methods=["GET", "POST"]),
            Route("/ssf/subjects:add", self._add_subject, methods=["POST"]),
            Route("/ssf/subjects:remove", self._remove_subject, methods=["POST"]),
            Route("/ssf/verify", self._verify, methods=["POST"]),
            Route("/ssf/poll/{stream_id}", self._poll, methods=["POST"]),
        ]

    def _base(self, request: Request) -> str:
        return self._base_url or str(request.base_url).rstrip("/")

    # --- discovery (SSF 1.0 §7) -------------------------------------------------------------

    async def _configuration(self, request: Request) -> JSONResponse:
        base = self._base(request)
        return JSONResponse(
            {
                "spec_version": "1_0",
                "issuer": self.signer.issuer,
                "jwks_uri": f"{base}/.well-known/jwks.json",
                "delivery_methods_supported": [PUSH, POLL],
                "configuration_endpoint": f"{base}/ssf/streams",
                "status_endpoint": f"{base}/ssf/status",
                "add_subject_endpoint": f"{base}/ssf/subjects:add",
                "remove_subject_endpoint": f"{base}/ssf/subjects:remove",
                "verification_endpoint": f"{base}/ssf/verify",
                "authorization_schemes": [{"spec_urn": "urn:ietf:rfc:6750"}],
                "default_subjects": "ALL",
            }
        )

    async def _jwks(self, request: Request) -> JSONResponse:
        return JSONResponse(self.signer.jwks(), headers={"Cache-Control": "public, max-age=300"})

    # --- authentication and parsing ---------------------------------------------------------

    async def _tenant_of(self, request: Request) -> tuple[str, str]:
        """The caller's tenant and credential id; :class:`_Refused` 401/403 otherwise."""
        scheme, _, secret = request.headers.get("authorization", "").strip().partition(" ")
        credential_id = parse_secret(secret.strip()) if scheme.casefold() == "bearer" else None
        if credential_id is None:
            raise _Refused(401, "authentication_failed", "a Bearer API key is required")
        try:
            credential = await self._store().credentials.get(credential_id)
        except NotFound:
            raise _Refused(401, "authentication_failed", "the API key is not valid") from None
        if (
            credential.kind is not CredentialKind.API_KEY
            or not credential.usable_at(datetime.now(UTC))
            or not credential.matches(secret.strip())
        ):
            raise _Refused(401, "authentication_failed", "the API key is not valid")
        if SSF_MANAGE_SCOPE not in credential.scopes:
            raise _Refused(403, "access_denied", f"the API key lacks the {SSF_MANAGE_SCOPE} scope")
        return credential.tenant_id, credential.id

    @staticmethod
    async def _body(request: Request) -> dict[str, Any]:
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            raise _Refused(400, "invalid_request", "the body is not JSON") from None
        if not isinstance(body, dict):
            raise _Refused(400, "invalid_request", "the body must be a JSON object")
        return body

    async def _stream(self, tenant_id: str, stream_id: object) -> SsfStream:
        if not isinstance(stream_id, str) or not stream_id:
            raise _Refused(400, "invalid_request", "stream_id is required")
        stream = await self._streams().get(tenant_id, stream_id)
        if stream is None:
            raise _Refused(404, "not_found", f"stream {stream_id} not found")
        return stream

    def _events_requested(self, value: object) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _Refused(400, "invalid_request", "events_requested must be a list of event type URIs")
        return tuple(dict.fromkeys(value))

    async def _delivery(self, value: object) -> SsfDelivery:
        if value is None:
            value = {"method": POLL}
        if not isinstance(value, dict):
            raise _Refused(400, "invalid_request", "delivery must be an object")
        method = value.get("method")
        if method == POLL:
            return SsfDelivery(method=POLL)
        if method != PUSH:
            raise _Refused(400, "invalid_request", f"delivery.method must be {PUSH} or {POLL}")
        url, authorization = value.get("endpoint_url"), value.get("authorization_header")
        if not isinstance(url, str) or urlsplit(url).scheme not in ("https", "http") or not urlsplit(url).netloc:
            raise _Refused(400, "invalid_request", "push delivery needs an absolute endpoint_url")
        if urlsplit(url).scheme != "https" and not self._allow_insecure_push:
            raise _Refused(400, "invalid_request", "endpoint_url must be https")
        if authorization is not None and not isinstance(authorization, str):
            raise _Refused(400, "invalid_request", "authorization_header must be a string")
        parts = urlsplit(url)
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise _Refused(400, "invalid_request", "endpoint_url has an invalid port") from None
        why = await refusal(parts.hostname or "", port, allow_private=self._allow_private_push)
        if why is not None:
            raise _Refused(400, "invalid_request", why)
        return SsfDelivery(method=PUSH, endpoint_url=url, authorization_header=authorization)

    @staticmethod
    def _context(request: Request, tenant_id: str, credential_id: str) -> RequestContext:
        return RequestContext(
            tenant_id=tenant_id,
            # A receiver configures its streams; it never changes what Entra provisions.
            actor=Actor(credential_id=credential_id, kind=CredentialKind.API_KEY.value, may_change_provisioned=False),
            correlation_id=request.headers.get("x-request-id"),
        )

    async def _run(self, request: Request, tenant_id: str, credential_id: str, command: SsfStreamCommand) -> SsfStream:
        """Run a stream command on the bus as the receiver's API key; domain refusals as SSF errors."""
        try:
            return await self._bus().dispatch(self._context(request, tenant_id, credential_id), command)
        except DomainError as error:
            raise _refusal(error) from None

    async def _delete(self, request: Request, tenant_id: str, credential_id: str, stream_id: str) -> None:
        context = self._context(request, tenant_id, credential_id)
        try:
            await self._bus().dispatch(context, DeleteSsfStream(stream_id=stream_id))
        except DomainError as error:
            raise _refusal(error) from None

    def _render(self, request: Request, stream: SsfStream) -> dict[str, Any]:
        delivery: dict[str, Any] = {"method": stream.delivery_method}
        if stream.delivery_method == PUSH:
            delivery["endpoint_url"] = stream.endpoint_url
        else:
            delivery["endpoint_url"] = f"{self._base(request)}/ssf/poll/{stream.stream_id}"
        rendered: dict[str, Any] = {
            "stream_id": stream.stream_id,
            "iss": self.signer.issuer,
            "aud": stream.audience,
            "delivery": delivery,
            "events_supported": list(SUPPORTED_EVENTS),
            "events_requested": list(stream.events_requested),
            "events_delivered": [e for e in stream.events_requested if e in SUPPORTED_EVENTS],
        }
        if stream.description is not None:
            rendered["description"] = stream.description
        return rendered

    # --- stream configuration (SSF 1.0 §8.1.1) ----------------------------------------------

    async def _stream_endpoint(self, request: Request) -> Response:
        try:
            tenant_id, credential_id = await self._tenant_of(request)
            match request.method:
                case "POST":
                    return await self._create(request, tenant_id, credential_id)
                case "GET":
                    stream_id = request.query_params.get("stream_id")
                    if stream_id is None:
                        streams = await self._streams().of_tenant(tenant_id)
                        return JSONResponse([self._render(request, s) for s in streams])
                    return JSONResponse(self._render(request, await self._stream(tenant_id, stream_id)))
                case "DELETE":
                    stream = await self._stream(tenant_id, request.query_params.get("stream_id"))
                    await self._delete(request, tenant_id, credential_id, stream.stream_id)
                    return Response(status_code=204)
                case _:
                    return await self._update(request, tenant_id, credential_id, replace_all=request.method == "PUT")
        except _Refused as refused:
            return _error(refused)

    async def _create(self, request: Request, tenant_id: str, credential_id: str) -> JSONResponse:
        body = await self._body(request)
        command = CreateSsfStream(
            audience=f"urn:identity-store:ssf:receiver:{credential_id}",
            delivery=await self._delivery(body.get("delivery")),
            events_requested=self._events_requested(body.get("events_requested")),
            description=self._description(body.get("description")),
        )
        stream = await self._run(request, tenant_id, credential_id, command)
        return JSONResponse(self._render(request, stream), status_code=201)

    async def _update(self, request: Request, tenant_id: str, credential_id: str, *, replace_all: bool) -> JSONResponse:
        body = await self._body(request)
        stream = await self._stream(tenant_id, body.get("stream_id"))
        command = UpdateSsfStream(
            stream_id=stream.stream_id,
            delivery=await self._delivery(body.get("delivery")) if replace_all or "delivery" in body else None,
            events_requested=(
                self._events_requested(body.get("events_requested"))
                if replace_all or "events_requested" in body
                else None
            ),
            description=self._description(body.get("description")),
            clear_description=(replace_all or "description" in body) and body.get("description") is None,
        )
        updated = await self._run(request, tenant_id, credential_id, command)
        return JSONResponse(self._render(request, updated))

    @staticmethod
    def _description(value: object) -> str | None:
        if value is not None and not isinstance(value, str):
            raise _Refused(400, "invalid_request", "description must be a string")
        return value

    # --- status (SSF 1.0 §8.1.2) ------------------------------------------------------------

    async def _status_endpoint(self, request: Request) -> Response:
        try:
            tenant_id, credential_id = await self._tenant_of(request)
            if request.method == "GET":
                stream = await self._stream(tenant_id, request.query_params.get("stream_id"))
            else:
                body = await self._body(request)
                stream = await self._stream(tenant_id, body.get("stream_id"))
                status, reason = body.get("status"), body.get("reason")
                if not isinstance(status, str):
                    raise _Refused(400, "invalid_request", f"status must be one of {', '.join(STATUSES)}")
                if reason is not None and not isinstance(reason, str):
                    raise _Refused(400, "invalid_request", "reason must be a string")
                command = SetSsfStreamStatus(stream_id=stream.stream_id, status=status, reason=reason)
                stream = await self._run(request, tenant_id, credential_id, command)
            answer: dict[str, Any] = {"stream_id": stream.stream_id, "status": stream.status}
            if stream.reason:
                answer["reason"] = stream.reason
            return JSONResponse(answer)
        except _Refused as refused:
            return _error(refused)

    # --- subjects (SSF 1.0 §8.1.3) ----------------------------------------------------------

    async def _subject_change(self, request: Request, *, add: bool) -> Response:
        try:
            tenant_id, credential_id = await self._tenant_of(request)
            body = await self._body(request)
            stream = await self._stream(tenant_id, body.get("stream_id"))
            subject = body.get("subject")
            if not isinstance(subject, dict) or subject.get("format") not in ("iss_sub", "opaque"):
                raise _Refused(400, "invalid_request", "subject must be an iss_sub or opaque identifier (RFC 9493)")
            user_id = subject.get("sub") if subject["format"] == "iss_sub" else subject.get("id")
            if not isinstance(user_id, str):
                raise _Refused(400, "invalid_request", "the subject names no user")
            kept: JSON = {"format": "iss_sub", "iss": self.signer.issuer, "sub": user_id}
            command: AddSsfSubject | RemoveSsfSubject = (
                AddSsfSubject(stream_id=stream.stream_id, user_id=user_id, subject=kept)
                if add
                else RemoveSsfSubject(stream_id=stream.stream_id, user_id=user_id)
            )
            await self._run(request, tenant_id, credential_id, command)
            return Response(status_code=200 if add else 204)
        except _Refused as refused:
            return _error(refused)

    async def _add_subject(self, request: Request) -> Response:
        return await self._subject_change(request, add=True)

    async def _remove_subject(self, request: Request) -> Response:
        return await self._subject_change(request, add=False)

    # --- verification (SSF 1.0 §8.1.4) ------------------------------------------------------

    async def _verify(self, request: Request) -> Response:
        try:
            tenant_id, _ = await self._tenant_of(request)
            body = await self._body(request)
            stream = await self._stream(tenant_id, body.get("stream_id"))
            state = body.get("state")
            if state is not None and not isinstance(state, str):
                raise _Refused(400, "invalid_request", "state must be a string")
            # Kept in the stream, not in this process: any instance pushes it (the one holding the
            # stream's lease) or answers the poll that fetches it, and a restart loses nothing.
            verification = SsfVerification(
                jti=f"verify-{secrets.token_hex(8)}", state=state, requested_at=datetime.now(UTC)
            )
            if not await self._streams().request_verification(tenant_id, stream.stream_id, verification):
                raise _Refused(404, "not_found", f"stream {stream.stream_id} not found")
            return Response(status_code=204)
        except _Refused as refused:
            return _error(refused)

    # --- poll delivery (RFC 8936) -----------------------------------------------------------

    async def _poll(self, request: Request) -> Response:
        try:
            tenant_id, _ = await self._tenant_of(request)
            stream = await self._stream(tenant_id, request.path_params["stream_id"])
            if stream.delivery_method != POLL:
                raise _Refused(400, "invalid_request", "this stream is delivered by push")
            body = await self._body(request)
            acks = body.get("ack", [])
            max_events = body.get("maxEvents", _MAX_POLL_EVENTS)
            if not isinstance(acks, list) or not all(isinstance(a, str) for a in acks):
                raise _Refused(400, "invalid_request", "ack must be a list of jti values")
            if not isinstance(max_events, int) or isinstance(max_events, bool) or max_events < 0:
                raise _Refused(400, "invalid_request", "maxEvents must be a non-negative integer")
            # RFC 8936 §2.4: an acknowledged SET is not sent again; the cursor passes it and what precedes it.
            acked = [s for a in acks if (s := sequence_of(stream.stream_id, a)) is not None]
            held: dict[str, str] = {}
            for verification in stream.pending_verifications:
                if verification.jti in acks:
                    await self._streams().verification_delivered(
                        tenant_id, stream.stream_id, verification.jti, at=datetime.now(UTC)
                    )
                else:
                    held[verification.jti] = verification_set(stream, verification, self.signer)
            if acked and max(acked) > stream.cursor:
                await self._streams().advance(tenant_id, stream.stream_id, max(acked))
                stream = replace(stream, cursor=max(acked))
            sets: dict[str, str] = dict(list(held.items())[:max_events])
            more = len(held) > len(sets)
            if stream.status == "enabled" and len(sets) < max_events:
                pending, read_to = await sets_after(
                    stream, self._store().tenant(tenant_id), self.signer, limit=_MAX_POLL_EVENTS
                )
                if not pending and read_to > stream.cursor:
                    # Nothing there for this stream: pass those events without waiting for an ack.
                    await self._streams().advance(tenant_id, stream.stream_id, read_to)
                room = max_events - len(sets)
                sets.update((p.jti, p.token) for p in pending[:room])
                more = more or len(pending) > room
            return JSONResponse({"sets": sets, "moreAvailable": more})
        except _Refused as refused:
            return _error(refused)
