"""The app factory: nothing happens at import time; create_app(settings) builds everything."""
from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from server import migrate
from server.api.login_check import make_login_throttle, make_password_work
from server.api.routes import alerts, gateways, ingest, live, login, sites, stats, users
from server.db import make_engine, make_session_factory
from server.live import LiveHub
from server.middleware import BodyLimit, SecurityHeaders
from server.schemas.uplink import openapi_components
from server.services.errors import Conflict, Forbidden, NotFound
from server.services.gateway_trust import BadPublicKey
from server.settings import ServerSettings
from server.web import pages, supervision
from server.web.templating import STATIC_DIR, make_templates


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    settings = settings or ServerSettings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        if settings.migrate_on_start:
            migrate.upgrade(engine)
        app.state.engine = engine
        app.state.sessions = make_session_factory(engine)
        app.state.hub = LiveHub(settings, engine)
        await app.state.hub.start()
        # Everything built so far (modules, app, engine) lives as long as the process: keep the
        # cyclic collector from rescanning it on every full collection during ingest.
        gc.freeze()
        try:
            yield
        finally:
            await app.state.hub.stop()
            engine.dispose()
            app.state.password_work.close()

    app = FastAPI(
        title="Custody central server",
        version="0.1.0",
        description="Live custody board, trails, alerts and gateway uplink for case-handling areas and property rooms.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.templates = make_templates()
    app.state.login_throttle = make_login_throttle(settings)
    app.state.password_work = make_password_work(settings)
    app.state.live_snapshots = {}  # see api/routes/live.py

    api = APIRouter(prefix="/api/v1")
    for module in (login, users, sites, gateways, alerts, stats, ingest, live):
        api.include_router(module.router)
    app.include_router(api)
    app.include_router(pages.router)
    app.include_router(supervision.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/healthz", tags=["health"], responses={503: {"description": "the database does not answer"}})
    def healthz(request: Request) -> JSONResponse:
        """Liveness and readiness: answers 200 only when the database answers too."""
        try:
            with request.app.state.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            return JSONResponse(status_code=503, content={"status": "database unavailable", "detail": str(exc)})
        return JSONResponse({"status": "ok"})

    _install_error_handlers(app)
    _install_openapi(app)
    # Outermost last: the security headers also cover the body limit's 413.
    app.add_middleware(BodyLimit, limit=settings.request_max_bytes, exempt=frozenset({"/api/v1/ingest"}))
    app.add_middleware(SecurityHeaders)
    return app


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotFound)
    async def _not_found(_: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse(status_code=404, content={"detail": str(exc)})

    @app.exception_handler(Forbidden)
    async def _forbidden(_: Request, exc: Forbidden) -> JSONResponse:
        return JSONResponse(status_code=403, content={"detail": str(exc)})

    @app.exception_handler(Conflict)
    async def _conflict(_: Request, exc: Conflict) -> JSONResponse:
        return JSONResponse(status_code=409, content={"detail": str(exc)})

    @app.exception_handler(BadPublicKey)
    async def _bad_key(_: Request, exc: BadPublicKey) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": [
            {"field": "public_key_pem", "loc": ["body", "public_key_pem"], "msg": str(exc), "type": "value_error"}]})

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's shape, plus `field`: the location as one readable path (zones[2].type).
        errors = []
        for error in exc.errors():
            loc = [p for p in error.get("loc", ()) if p != "body"]
            field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
            errors.append({"field": field, "loc": list(error.get("loc", ())), "msg": error.get("msg"), "type": error.get("type")})
        return JSONResponse(status_code=422, content={"detail": errors})


def _install_openapi(app: FastAPI) -> None:
    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        _, components = openapi_components()
        schema.setdefault("components", {}).setdefault("schemas", {}).update(components)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise the OpenAPI schema
