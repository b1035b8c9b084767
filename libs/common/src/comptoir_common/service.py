"""What every Comptoir service process is made of, assembled once.

``create_service_app`` gives a FastAPI app whose lifespan applies the service's
migrations, connects PostgreSQL, Redis and Kafka, subscribes its consumers, runs its
outbox relay and background loops, and answers ``/healthz``, ``/readyz``, ``/docs``,
``/openapi.json`` and ``/asyncapi`` (``/asyncapi.json``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from faststream.kafka import KafkaBroker
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from comptoir_common.asyncapi import build_asyncapi, render_asyncapi_html
from comptoir_common.auth import OFFICE_ISSUER, VISITOR_ISSUER, TokenVerifier
from comptoir_common.db import SessionFactory, make_engine, make_session_factory
from comptoir_common.events.envelope import EventPayload
from comptoir_common.inbox import Consumers, purge_handled
from comptoir_common.logs import setup_logging
from comptoir_common.migrations import upgrade_to_head
from comptoir_common.outbox import OutboxRelay, purge_published
from comptoir_common.problems import install_problem_handlers
from comptoir_common.settings import ServiceSettings
from comptoir_common.telemetry import (
    ServerSpans,
    instrument_libraries,
    setup_tracing,
    shutdown_tracing,
)

log = logging.getLogger("comptoir.service")

BackgroundLoop = Callable[["Runtime"], Awaitable[None]]


@dataclass
class Runtime:
    """The live connections of one service process, on ``app.state.runtime``."""

    settings: ServiceSettings
    engine: AsyncEngine
    sessions: SessionFactory
    redis: Redis
    broker: KafkaBroker
    relay: OutboxRelay
    consumers: Consumers
    extras: dict[str, Any] = field(default_factory=dict)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


@dataclass
class ServiceSpec:
    name: str
    title: str
    description: str
    version: str
    settings: ServiceSettings
    migrations_dir: Path
    routers: Sequence[APIRouter] = ()
    consumers: Consumers | None = None
    publishes: Sequence[type[EventPayload]] = ()
    background: Sequence[BackgroundLoop] = ()
    on_start: Callable[[Runtime], Awaitable[None]] | None = None
    on_stop: Callable[[Runtime], Awaitable[None]] | None = None
    openapi_tags: list[dict[str, Any]] = field(default_factory=list)


def make_broker(settings: ServiceSettings) -> KafkaBroker:
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=f"comptoir-{settings.service_name}",
        enable_idempotence=True,
        acks="all",
        middlewares=[KafkaTelemetryMiddleware()],
        allow_auto_create_topics=False,
        graceful_timeout=10.0,
        logger=logging.getLogger(f"comptoir.{settings.service_name}.kafka"),
        log_level=logging.DEBUG,
    )


async def _start_broker(broker: KafkaBroker, timeout: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            await broker.start()
            return
        except Exception as exc:
            if asyncio.get_running_loop().time() > deadline:
                raise RuntimeError(f"Kafka unreachable after {timeout:.0f}s: {exc}") from exc
            log.warning("waiting for Kafka", extra={"error": str(exc)})
            await broker.stop()
            await asyncio.sleep(1.0)


async def _supervise(name: str, loop: BackgroundLoop, runtime: Runtime) -> None:
    """Keep a background loop alive: log and restart it if it ever fails."""
    while True:
        try:
            await loop(runtime)
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background loop failed; restarting", extra={"loop": name})
            await asyncio.sleep(1.0)


async def housekeeping(runtime: Runtime) -> None:
    """Hourly: drop outbox rows long published and inbox ids long past redelivery."""
    while True:
        async with runtime.sessions() as session, session.begin():
            await purge_published(session)
            await purge_handled(session)
        await asyncio.sleep(3600)


def create_service_app(spec: ServiceSpec) -> FastAPI:
    settings = spec.settings
    setup_logging(settings.service_name, settings.log_level)
    setup_tracing(settings.service_name)
    consumers = spec.consumers or Consumers(service=settings.service_name)
    consumers.topic_prefix = settings.kafka_namespace
    consumers.max_attempts = settings.consumer_max_attempts

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(
            upgrade_to_head, spec.migrations_dir, settings.database_url, settings.service_name
        )
        engine = make_engine(
            settings.database_url,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
        )
        instrument_libraries(engine)
        sessions = make_session_factory(engine)
        redis: Redis = Redis.from_url(settings.redis_url, decode_responses=True)
        broker = make_broker(settings)
        consumers.subscribe(broker, sessions)
        relay = OutboxRelay(
            sessions,
            broker,
            service=settings.service_name,
            topic_prefix=settings.kafka_namespace,
            poll_seconds=settings.outbox_poll_seconds,
        )
        runtime = Runtime(settings, engine, sessions, redis, broker, relay, consumers)
        app.state.runtime = runtime
        await _start_broker(broker)
        if spec.on_start:
            await spec.on_start(runtime)
        runtime.tasks.append(
            asyncio.create_task(_supervise("outbox-relay", lambda _: relay.run(), runtime))
        )
        for loop in (housekeeping, *spec.background):
            runtime.tasks.append(asyncio.create_task(_supervise(loop.__name__, loop, runtime)))
        log.info("service started", extra={"port": settings.port})
        try:
            yield
        finally:
            for task in runtime.tasks:
                task.cancel()
            for task in runtime.tasks:
                with suppress(asyncio.CancelledError, Exception):
                    await task
            if spec.on_stop:
                await spec.on_stop(runtime)
            await broker.stop()
            await redis.aclose()
            await engine.dispose()
            shutdown_tracing()

    app = FastAPI(
        title=spec.title,
        description=spec.description,
        version=spec.version,
        lifespan=lifespan,
        openapi_tags=spec.openapi_tags or None,
        # Traces come from ``ServerSpans`` below; FastAPI's own telemetry would only
        # add a layer of work to every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.token_verifier = TokenVerifier(
        {
            OFFICE_ISSUER: settings.auth_office_public_key,
            VISITOR_ISSUER: settings.auth_visitor_public_key,
        }
    )
    install_problem_handlers(app)
    app.include_router(_ops_router(spec, consumers))
    for router in spec.routers:
        app.include_router(router)
    app.add_middleware(ServerSpans, excluded_paths=("/healthz", "/readyz"))
    return app


def _ops_router(spec: ServiceSpec, consumers: Consumers) -> APIRouter:
    router = APIRouter(tags=["operations"])
    asyncapi_doc = build_asyncapi(
        service=spec.name,
        title=spec.title,
        version=spec.version,
        bootstrap_servers=spec.settings.kafka_bootstrap_servers,
        publishes=spec.publishes,
        consumes=list(consumers.handlers),
    )

    @router.get("/healthz", summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": spec.name}

    @router.get(
        "/readyz",
        summary="Readiness: database, Kafka and Redis reachable",
        responses={503: {"description": "a dependency is unreachable"}},
    )
    async def readyz(request: Request) -> JSONResponse:
        runtime: Runtime | None = getattr(request.app.state, "runtime", None)
        if runtime is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        checks = await asyncio.gather(
            _check_db(runtime), _check_redis(runtime), _check_kafka(runtime)
        )
        result = dict(zip(("database", "redis", "kafka"), checks, strict=True))
        ready = all(v == "ok" for v in result.values())
        return JSONResponse(
            {"status": "ready" if ready else "unavailable", "checks": result},
            status_code=200 if ready else 503,
        )

    @router.get("/asyncapi.json", summary="AsyncAPI 3.0 document of the events")
    async def asyncapi_json() -> dict[str, Any]:
        return asyncapi_doc

    @router.get("/asyncapi", response_class=HTMLResponse, summary="Event documentation")
    async def asyncapi_html() -> str:
        return render_asyncapi_html(asyncapi_doc)

    return router


async def _check(coro: Awaitable[Any], timeout: float = 2.0) -> str:
    try:
        result = await asyncio.wait_for(coro, timeout)
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}"
    return "ok" if result is not False else "unreachable"


async def _check_db(runtime: Runtime) -> str:
    async def ping() -> bool:
        async with runtime.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True

    return await _check(ping())


async def _check_redis(runtime: Runtime) -> str:
    return await _check(runtime.redis.ping())


async def _check_kafka(runtime: Runtime) -> str:
    return await _check(runtime.broker.ping(timeout=2.0), timeout=3.0)


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_runtime(request: Request) -> Runtime:
    """The process's runtime (``async``: FastAPI runs plain ``def`` dependencies in a
    worker thread, a thread hop per request for nothing)."""
    return _runtime(request)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session for one request; the route opens its transaction(s) itself."""
    async with _runtime(request).sessions() as session:
        yield session


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
