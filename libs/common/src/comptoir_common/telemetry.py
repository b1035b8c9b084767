"""OpenTelemetry set-up shared by every service.

Exporting is configured only by the standard ``OTEL_*`` variables: set
``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) to ship spans
over OTLP/HTTP; with neither set, spans are created (trace ids reach the logs) but not
exported. ``OTEL_SDK_DISABLED=true`` turns tracing off entirely.
"""

from __future__ import annotations

import os
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import Getter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ATTR_RESERVATION_ID = "comptoir.reservation.id"
ATTR_SLOT_ID = "comptoir.slot.id"
ATTR_PROVIDER_ID = "comptoir.provider.id"
ATTR_TERRITORY_ID = "comptoir.territory.id"
ATTR_EVENT_ID = "comptoir.event.id"
ATTR_EVENT_TYPE = "comptoir.event.type"

_provider: TracerProvider | None = None


def setup_tracing(service_name: str) -> TracerProvider | None:
    """Install the global tracer provider once per process."""
    global _provider
    if _provider is not None:
        return _provider
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return None
    resource = Resource.create({SERVICE_NAME: f"comptoir-{service_name}"})
    provider = TracerProvider(resource=resource)
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    ):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _provider = provider
    return provider


def shutdown_tracing() -> None:
    if _provider is not None:
        _provider.force_flush()
        _provider.shutdown()


def instrument_libraries(engine: Any = None) -> None:
    """Instrument SQLAlchemy (for ``engine``), Redis and outgoing HTTPX calls."""
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    if not HTTPXClientInstrumentor().is_instrumented_by_opentelemetry:
        HTTPXClientInstrumentor().instrument()
    if not RedisInstrumentor().is_instrumented_by_opentelemetry:
        RedisInstrumentor().instrument()
    if engine is not None:
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

        SQLAlchemyInstrumentor().instrument(engine=engine.sync_engine)


def current_trace_carrier() -> dict[str, str]:
    """The W3C trace context of the current span, as headers (``traceparent``...)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def context_from_carrier(carrier: dict[str, str] | None) -> Context:
    return propagate.extract(carrier or {})


tracer = trace.get_tracer("comptoir")


class _AsgiHeaders(Getter[list[tuple[bytes, bytes]]]):
    """Reads W3C trace headers straight from an ASGI scope's raw header list."""

    def get(self, carrier: list[tuple[bytes, bytes]], key: str) -> list[str] | None:
        wanted = key.encode("latin-1")
        found = [value.decode("latin-1") for name, value in carrier if name == wanted]
        return found or None

    def keys(self, carrier: list[tuple[bytes, bytes]]) -> list[str]:
        return [name.decode("latin-1") for name, _ in carrier]


_ASGI_HEADERS = _AsgiHeaders()
_http_tracer = trace.get_tracer("comptoir.http")


class ServerSpans:
    """One SERVER span per HTTP request, continuing the caller's ``traceparent``.

    Named ``<METHOD> <route>`` (``POST /v1/reservations``) with the request method, path,
    route and response status; an exception escaping the app is recorded on it. It does
    only that: the general ASGI instrumentation cost more CPU per request than the
    framework itself (header and URL attributes, route lookups, metrics).
    """

    def __init__(
        self,
        app: ASGIApp,
        excluded_paths: tuple[str, ...] = (),
        excluded_prefixes: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.excluded_paths = frozenset(excluded_paths)
        self.excluded_prefixes = excluded_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or path in self.excluded_paths
            or (self.excluded_prefixes and path.startswith(self.excluded_prefixes))
        ):
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        parent = propagate.extract(scope["headers"], getter=_ASGI_HEADERS)
        with _http_tracer.start_as_current_span(
            method,
            context=parent,
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": scope["path"]},
        ) as span:

            async def traced_send(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status = message["status"]
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(StatusCode.ERROR)
                await send(message)

            try:
                await self.app(scope, receive, traced_send)
            finally:
                route = getattr(scope.get("route"), "path", None)
                if route:
                    span.update_name(f"{method} {route}")
                    span.set_attribute("http.route", route)
