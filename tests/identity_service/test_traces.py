"""Traces: off unless the ``OTEL_*`` variables configure an exporter; when on, a server span per
request carrying the trace id of its log line, and a child span per database command, sent over
OTLP/HTTP to a real receiver (a small HTTP server here, decoding what it is sent with
opentelemetry-proto)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from identity_service.app import create_app
from identity_service.settings import Settings
from identity_service.tracing import tracing_wanted
from identity_store import Tenant
from identity_store.activity import ActivityFilter, ActivityRecord
from identity_store.mongo import MongoStore
from identity_store.mongo.activity import MongoActivityLog
from tests.scim_facade.conftest import issue_token
from tests.service_process import ServiceProcess


class Receiver:
    """An OTLP/HTTP trace receiver on a free loopback port: POST /v1/traces, protobuf bodies."""

    def __init__(self) -> None:
        self.spans: list[Span] = []
        self.resources: list[dict[str, str]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.path != "/v1/traces" or self.headers["Content-Type"] != "application/x-protobuf":
                    self.send_response(404)
                    self.end_headers()
                    return
                request = ExportTraceServiceRequest.FromString(body)
                with receiver._lock:
                    for resource_spans in request.resource_spans:
                        receiver.resources.append(
                            {a.key: a.value.string_value for a in resource_spans.resource.attributes}
                        )
                        for scope_spans in resource_spans.scope_spans:
                            receiver.spans.extend(scope_spans.spans)
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: object) -> None:
                """Quiet: the test reads the spans, not the receiver's access log."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def received(self) -> list[Span]:
        with self._lock:
            return list(self.spans)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    try:
        yield running
    finally:
        running.close()


@pytest.mark.slow
async def test_a_scim_request_is_one_trace_whose_id_is_in_its_log_line_with_a_span_per_database_command(
    receiver: Receiver, tmp_path: Path, database_uri: str, database_name: str, store: MongoStore, tenant: Tenant
) -> None:
    token = (await issue_token(store, tenant)).secret
    service = ServiceProcess(
        tmp_path,
        database_uri=database_uri,
        database_name=database_name,
        env={"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_BSP_SCHEDULE_DELAY": "100"},
    )
    try:
        service.wait_until_ready()
        async with httpx.AsyncClient(base_url=service.base_url, timeout=30) as http:
            listed = await http.get(
                "/scim/v2/Users", headers={"Authorization": f"Bearer {token}", "X-Request-Id": "traced"}
            )
        assert listed.status_code == 200
        deadline = time.monotonic() + 30
        while not any(span.kind == Span.SPAN_KIND_SERVER for span in receiver.received()):
            assert time.monotonic() < deadline, "no server span arrived"
            await asyncio.sleep(0.05)
        # The activity record is written off the request path, in batches: wait for it.
        activity = MongoActivityLog(store.database)
        while not (traced := await _records_of(activity, tenant.id, "traced")):
            assert time.monotonic() < deadline, "no activity record arrived"
            await asyncio.sleep(0.05)
    finally:
        service.stop()

    lines = [json.loads(line) for line in service.stdout_path.read_text().splitlines()]
    (line,) = [line for line in lines if line.get("request_id") == "traced"]
    spans = receiver.received()
    (server,) = [span for span in spans if span.kind == Span.SPAN_KIND_SERVER]
    assert server.trace_id.hex() == line["trace_id"]
    # The activity record carries the same trace id, beside the same request id.
    (record,) = traced
    assert record.trace_id == line["trace_id"]
    assert server.name.startswith("GET")
    commands = [span for span in spans if span.kind == Span.SPAN_KIND_CLIENT and span.trace_id == server.trace_id]
    assert commands, "a span for the database commands of the request"
    assert all(span.parent_span_id == server.span_id for span in commands)
    assert any(span.name == f"{database_name}.find" for span in commands)
    assert {"service.name": "identity-store"}.items() <= receiver.resources[0].items()
    # The readiness probes that polled the service before the request are not traced.
    assert all("readyz" not in span.name for span in spans)


async def test_without_otel_variables_nothing_is_traced(
    monkeypatch: pytest.MonkeyPatch, database_uri: str, database_name: str
) -> None:
    for name in ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    app = create_app(Settings(mongodb_uri=database_uri, database=database_name))
    assert app.state.tracing is None
    classes: list[object] = [middleware.cls for middleware in app.user_middleware]
    assert OpenTelemetryMiddleware not in classes


def test_an_otlp_endpoint_or_the_otlp_exporter_turns_tracing_on() -> None:
    assert tracing_wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert tracing_wanted({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"})
    assert tracing_wanted({"OTEL_TRACES_EXPORTER": "otlp"})


def test_nothing_else_turns_it_on() -> None:
    assert not tracing_wanted({})
    assert not tracing_wanted({"OTEL_SERVICE_NAME": "identity-store", "OTEL_TRACES_SAMPLER": "always_on"})


def test_the_sdk_switch_and_the_none_exporter_turn_it_off_whatever_else_is_set() -> None:
    endpoint = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}
    assert not tracing_wanted({**endpoint, "OTEL_SDK_DISABLED": "true"})
    assert not tracing_wanted({**endpoint, "OTEL_SDK_DISABLED": "TRUE", "OTEL_TRACES_EXPORTER": "otlp"})
    assert not tracing_wanted({**endpoint, "OTEL_TRACES_EXPORTER": "none"})


def test_an_exporter_other_than_otlp_is_not_used(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="identity_service.tracing"):
        assert not tracing_wanted({"OTEL_TRACES_EXPORTER": "zipkin"})
    assert "only otlp" in caplog.text


async def _records_of(activity: MongoActivityLog, tenant_id: str, request_id: str) -> list[ActivityRecord]:
    records = (await activity.find(tenant_id, ActivityFilter(), first=10)).records
    return [r for r in records if r.request_id == request_id]
