"""Database commands as trace spans: OpenTelemetry's PyMongo command tracer, inside traces only.

Each command sent while a span is current (a request's server span) becomes a client span
under it, named ``<database>.<command>``. A command sent outside any trace (the readiness
probe's ping, the outbound workers' polls) starts none: a root trace per background poll would
be all noise. Statements are not recorded, as they hold the values of users and groups.
"""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.instrumentation.pymongo import CommandTracer
from pymongo import monitoring

__all__ = ["command_tracer"]


class _WithinTraces(CommandTracer):
    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if trace.get_current_span().get_span_context().is_valid:
            super().started(event)


def command_tracer(provider: trace.TracerProvider) -> monitoring.CommandListener:
    """A command listener recording spans through ``provider`` (see the module's docstring)."""
    return _WithinTraces(trace.get_tracer("identity_store.mongo", tracer_provider=provider), capture_statement=False)
