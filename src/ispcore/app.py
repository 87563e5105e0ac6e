"""The ASGI application: ``/graphql``, ``/graphiql``, health, readiness and metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Route, WebSocketRoute

from ispcore import __version__
from ispcore.config import Settings, get_settings, resource_dir
from ispcore.logging_setup import configure_logging
from ispcore.runtime import Runtime, build_runtime
from ispcore.schema import build_schema
from ispcore.web.graphql_view import GraphQLView
from ispcore.web.middleware import RequestIdMiddleware

GRAPHIQL_DIST = resource_dir("graphiql") / "dist"

#: GraphiQL's own policy (also in its <meta>), sent as a header so frame-ancestors applies.
GRAPHIQL_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
                "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> FastAPI:
    """Build the app. Given a ``runtime`` (tests, benchmarks), the app uses it and does not
    close it; otherwise it builds one at startup from ``settings``."""
    settings = settings or (runtime.settings if runtime else get_settings())
    schema = build_schema(settings)
    holder: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = runtime is None
        rt = runtime or await build_runtime(settings, start_cron=not settings.scaled)
        app.state.runtime = rt
        holder["view"] = GraphQLView(rt, schema)
        try:
            yield
        finally:
            if own:
                await rt.close()

    app = FastAPI(title="ispcore", version=__version__, lifespan=lifespan, docs_url=None,
                  redoc_url=None, openapi_url=None)

    class GraphQLEndpoint:
        """ASGI endpoint that forwards to the view built at startup."""

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            await holder["view"](scope, receive, send)

    endpoint = GraphQLEndpoint()
    app.router.routes.append(Route("/graphql", endpoint, methods=["GET", "POST"]))
    app.router.routes.append(WebSocketRoute("/graphql", endpoint))

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        rt: Runtime = app.state.runtime
        checks: dict[str, str] = {}
        try:
            async with rt.db.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
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

    app.mount("/graphiql/static", StaticFiles(directory=GRAPHIQL_DIST, check_dir=False),
              name="graphiql-static")

    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                           allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
                           expose_headers=["X-Request-ID"])
    app.add_middleware(RequestIdMiddleware)
    return app


def serve_app() -> FastAPI:
    """The factory uvicorn runs (``ispcore serve``)."""
    settings = get_settings()
    configure_logging(settings.log_level)
    return create_app(settings)
