"""Traces, with OpenTelemetry: off unless the standard ``OTEL_*`` variables name an exporter.

Tracing is on when ``OTEL_TRACES_EXPORTER`` is ``otlp``, or, with that variable unset, when
``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set; it is off
with ``OTEL_SDK_DISABLED=true`` or ``OTEL_TRACES_EXPORTER=none`` whatever else is set. Spans go
out over OTLP/HTTP (protobuf) in batches; everything else is read by the SDK from the same
standard variables (``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_TRACES_SAMPLER``,
``OTEL_BSP_*``, ``OTEL_EXPORTER_OTLP_HEADERS``...).

When on, each app gets its own tracer provider (never the process-wide one, so two apps in one
process, as in the tests, do not share one): the ASGI instrumentation opens a server span per
HTTP request, outermost, continuing a caller's ``traceparent``, and
:func:`identity_store.mongo.tracing.command_tracer` adds a child span per database command.
The request's trace id goes into its log line and its
:class:`~identity_service.request_reports.RequestReport`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, OTELResourceDetector, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from identity_service.version import __version__
from identity_store.mongo import CommandListener
from identity_store.mongo.tracing import command_tracer

__all__ = ["UNTRACED_PATHS", "Tracing", "tracing_from_environment", "tracing_wanted"]

log = logging.getLogger("identity_service.tracing")

#: Paths probed every few seconds: a trace each would drown the requests.
UNTRACED_PATHS = "/healthz,/readyz,/metrics"


def tracing_wanted(environ: Mapping[str, str]) -> bool:
    """Whether the environment configures a trace exporter (see the module's docstring)."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = {name.strip().lower() for name in environ.get("OTEL_TRACES_EXPORTER", "").split(",") if name.strip()}
    if exporters:
        if exporters - {"otlp", "none"}:
            log.warning("OTEL_TRACES_EXPORTER=%s: only otlp (over HTTP) is supported", environ["OTEL_TRACES_EXPORTER"])
        return "otlp" in exporters
    return bool(environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


@dataclass(frozen=True, slots=True)
class Tracing:
    """One app's tracer provider, and the database command listener that records through it."""

    provider: TracerProvider
    commands: CommandListener

    def shutdown(self) -> None:
        """Send what is still buffered, then stop (bounded by ``OTEL_BSP_EXPORT_TIMEOUT``)."""
        self.provider.shutdown()


def tracing_from_environment() -> Tracing | None:
    """Tracing as the process's ``OTEL_*`` variables configure it, or ``None`` when they configure none."""
    if not tracing_wanted(os.environ):
        return None
    # Ours are defaults: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, merged last, win.
    resource = Resource.create({SERVICE_NAME: "identity-store", SERVICE_VERSION: __version__}).merge(
        OTELResourceDetector().detect()
    )
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return Tracing(provider=provider, commands=command_tracer(provider))
