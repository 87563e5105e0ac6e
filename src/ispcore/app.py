"""The ASGI application: ``/graphql``, ``/graphiql``, health, readiness and metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from ispcore import __version__, migrate
from ispcore.config import Settings, get_settings, resource_dir
from ispcore.logging_setup import configure_logging
from ispcore.runtime import Runtime, build_runtime
from ispcore.schema import build_schema
from ispcore.web import address_lists as address_list_routes
from ispcore.web import documents as document_routes
from ispcore.web.graphql_view import GraphQLView
from ispcore.web.middleware import RequestIdMiddleware

GRAPHIQL_DIST = resource_dir("graphiql") / "dist"

#: GraphiQL's own policy (also in its <meta>), sent as a header so frame-ancestors applies.
GRAPHIQL_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
                "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")


class IspcoreApp(FastAPI):
    """FastAPI for the operations endpoints and GraphiQL; ``/graphql`` goes straight to the
    GraphQL view (behind the request-id and CORS middleware), skipping FastAPI's routing and
    middleware stack, which would otherwise cost more than a small query itself."""

    graphql: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.graphql is not None and scope["type"] != "lifespan" \
                and scope["path"] == "/graphql":
            await self.graphql(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


def _cors(app: ASGIApp, origins: list[str]) -> ASGIApp:
    if not origins:
        return app
    return CORSMiddleware(app, allow_origins=origins, allow_methods=["GET", "POST"],
                          allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
                          expose_headers=["X-Request-ID"])


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None
               ) -> IspcoreApp:
    """Build the app. Given a ``runtime`` (tests, benchmarks), the app uses it and does not
    close it; otherwise it builds one at startup from ``settings``."""
    settings = settings or (runtime.settings if runtime else get_settings())
    schema = build_schema(settings)

    @asynccontextmanager
    async def lifespan(app: IspcoreApp) -> AsyncIterator[None]:
        own = runtime is None
        rt = runtime or await build_runtime(settings, start_cron=not settings.scaled)
        app.state.runtime = rt
        app.graphql = RequestIdMiddleware(_cors(GraphQLView(rt, schema), settings.cors_origins))
        try:
            yield
        finally:
            app.graphql = None
            if own:
                await rt.close()

    app = IspcoreApp(title="ispcore", version=__version__, lifespan=lifespan, docs_url=None,
                     redoc_url=None, openapi_url=None)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        rt: Runtime = app.state.runtime
        checks: dict[str, str] = {}
        try:
            checks["database"] = "ok"
            if not await migrate.is_current(rt.db.engine):
                checks["database"] = "error: schema not at the latest migration (ispcore migrate)"
        except Exception as exc:
            checks["database"] = f"error: {type(exc).__name__}"
        if rt.redis is not None:
            try:
                await rt.redis.ping()
                checks["redis"] = "ok"
            except Exception as exc:
                checks["redis"] = f"error: {type(exc).__name__}"
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks},
                            status_code=200 if ready else 503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/graphiql", include_in_schema=False)
    async def graphiql() -> FileResponse:
        return FileResponse(GRAPHIQL_DIST / "index.html",
                            headers={"Content-Security-Policy": GRAPHIQL_CSP,
                                     "Cache-Control": "no-store"})

    app.include_router(document_routes.router)  # invoice and batch PDFs
    app.include_router(address_list_routes.router)  # MikroTik address lists
    app.mount("/graphiql/static", StaticFiles(directory=GRAPHIQL_DIST, check_dir=False),
              name="graphiql-static")

    app.add_middleware(RequestIdMiddleware)
    return app


def serve_app() -> FastAPI:
    """The factory uvicorn runs (``ispcore serve``)."""
    settings = get_settings()
    configure_logging(settings.log_level)
    return create_app(settings)
