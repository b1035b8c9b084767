"""The web storefront process (port 8000): server-rendered pages over the public APIs of
catalog, booking and payments. It owns no database and no Kafka topic."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from comptoir_common.logs import setup_logging
from comptoir_common.telemetry import (
    ServerSpans,
    instrument_libraries,
    setup_tracing,
    shutdown_tracing,
)
from comptoir_web import office, portal, signin, widget
from comptoir_web.auth import (
    Authority,
    ForeignForm,
    RedisSingleUse,
    SignInRequired,
    SingleUse,
    WrongRole,
)
from comptoir_web.backends import ApiError, Backends
from comptoir_web.embed import frame_ancestors, is_embed_path
from comptoir_web.pages import (
    PageNotFound,
    error_page,
    lang_of_path,
    message_page,
    not_found_page,
    router,
)
from comptoir_web.settings import WebSettings

log = logging.getLogger("comptoir.web")

#: Pages load only their own stylesheet and script; nothing may frame them elsewhere.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: https:; style-src 'self'; "
        "script-src 'self'; form-action 'self' https://checkout.stripe.com; "
        "frame-ancestors 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    # Not "no-referrer": under it browsers send "Origin: null" with the site's own forms,
    # and the signed-in pages refuse a form whose origin is not theirs. Other sites still
    # learn nothing of our addresses.
    "Referrer-Policy": "same-origin",
}


def _ops_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": "web"}

    @router.get(
        "/readyz",
        summary="Readiness: catalog, booking and payments answer",
        responses={503: {"description": "a service the pages need is unreachable"}},
    )
    async def readyz(request: Request) -> JSONResponse:
        backends: Backends | None = getattr(request.app.state, "backends", None)
        if backends is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        checks = await backends.ready()
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "unavailable", "checks": checks},
            status_code=200 if ready else 503,
        )

    return router


def create_app(
    settings: WebSettings | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    single_use: SingleUse | None = None,
) -> FastAPI:
    """The storefront; ``transport`` lets tests answer for the other services, and
    ``single_use`` keep used sign-in links without Redis."""
    settings = settings or WebSettings()
    setup_logging(settings.service_name, settings.log_level)
    setup_tracing(settings.service_name)
    instrument_libraries()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.backends = Backends(settings, transport)
        # The signing keys are read when the process starts serving, not on import.
        app.state.authority = Authority(settings, single_use or RedisSingleUse(settings.redis_url))
        log.info("service started", extra={"port": settings.port})
        try:
            yield
        finally:
            await app.state.backends.aclose()
            await app.state.authority.single_use.aclose()
            shutdown_tracing()

    app = FastAPI(
        title="Comptoir storefront",
        description=(
            "The web front end: the visitors' storefront and booking widget, the providers' "
            "portal and the tourism office's console."
        ),
        version="1.0.0",
        lifespan=lifespan,
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings

    # The booking widget's frame (``/{lang}/embed/``), and only it, may be shown by the
    # sites of COMPTOIR_WIDGET_ORIGINS.
    framed_headers = SECURITY_HEADERS | {
        "Content-Security-Policy": SECURITY_HEADERS["Content-Security-Policy"].replace(
            "frame-ancestors 'self'", frame_ancestors(settings.widget_origins.split(","))
        )
    }

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        headers = framed_headers if is_embed_path(request.url.path) else SECURITY_HEADERS
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        if request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "public, max-age=3600"
        else:
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return not_found_page(request)
        if exc.status_code == 405:
            return not_found_page(request)
        return error_page(request)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        # A path that does not parse (an unknown language, a malformed id) is no page.
        return not_found_page(request)

    @app.exception_handler(PageNotFound)
    async def _page_not_found(request: Request, exc: PageNotFound) -> Response:
        return not_found_page(request)

    @app.exception_handler(ApiError)
    async def _refused(request: Request, exc: ApiError) -> Response:
        # A service refused or could not be reached where the page had no better answer.
        return error_page(request, exc)

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        params = {"next": exc.next_path} if exc.next_path else {}
        if exc.expired:
            params["expired"] = "1"
        query = f"?{urlencode(params)}" if params else ""
        return RedirectResponse(f"/{exc.lang}/sign-in{query}", status_code=303)

    @app.exception_handler(WrongRole)
    async def _wrong_role(request: Request, exc: WrongRole) -> Response:
        other = "admin" if exc.session.role == "provider" else "provider"
        return message_page(
            request,
            403,
            "wrong_role_title",
            f"wrong_role_{other}",
            home=signin.home_of(exc.session, lang_of_path(request.url.path)),
        )

    @app.exception_handler(ForeignForm)
    async def _foreign_form(request: Request, exc: ForeignForm) -> Response:
        return message_page(request, 403, "error_title", "foreign_form")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", extra={"path": request.url.path})
        return error_page(request)

    app.include_router(_ops_router())
    app.include_router(widget.router)
    app.include_router(signin.router)
    app.include_router(portal.router)
    app.include_router(office.router)
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=Path(__file__).with_name("static")), name="static")
    # Pages and stylesheets travel compressed: a phone on a slow network paints sooner.
    app.add_middleware(GZipMiddleware, minimum_size=800)
    app.add_middleware(
        ServerSpans, excluded_paths=("/healthz", "/readyz"), excluded_prefixes=("/static/",)
    )
    return app


app = create_app()
