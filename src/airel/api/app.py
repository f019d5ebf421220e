"""The REST API app: ``create_app(open_context)`` (``airel serve api``; issue 13).

Versioned under ``/api/v1``; OpenAPI 3.1 at ``/api/v1/openapi.json`` (public, like health).
The app is an edge: it translates HTTP to the same use cases the SDK calls and their results
and errors back — statuses and ``problem+json`` in :mod:`airel.api.http`, identity and
permissions in :mod:`airel.api.auth`. It opens no path or URL a caller names and parses
bodies with pydantic, strictly (``extra="forbid"``) and within the body limit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from airel.api import access, gate, promotion, release
from airel.api.auth import Ctx, Routes
from airel.api.http import BodyLimit, error_response, problem
from airel.domain.kernel.permissions import Permission
from airel.errors import AirelError, Reason
from airel.services.kernel.context import Context

PREFIX = "/api/v1"
VERSION = version("airel")
log = logging.getLogger("airel.api")

meta = Routes("meta")


@meta.get("/health", Permission.PUBLIC)
def health(ctx: Ctx) -> Any:
    """Liveness and the store's schema: 200 when the server can read its store."""
    with ctx.store.read() as tx:
        head = tx.audit_head()[0]
    return {"status": "ok", "airel": VERSION, "audit_head": head}


def create_app(open_context: Callable[[], Context], *, max_body_bytes: int = 1 << 20) -> FastAPI:
    """The API over the store ``open_context`` gives (the server's own context; each request
    acts as its authenticated identity)."""
    app = FastAPI(
        title="airel",
        version=VERSION,
        summary="Release AI systems under control: records, gates, approvals, rollouts.",
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.open_context = open_context
    app.state.route_tables = (meta, access.routes, release.routes, gate.routes, promotion.routes)
    for routes in app.state.route_tables:
        app.include_router(routes.router, prefix=PREFIX)
    _errors(app)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    return app


def _errors(app: FastAPI) -> None:
    @app.exception_handler(AirelError)
    async def airel_error(request: Request, exc: AirelError) -> Response:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")),
             "type": str(e.get("type", ""))}
            for e in exc.errors()[:50]
        ]  # fmt: skip
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(first["loc"])
        return problem(422, Reason.INVALID_VALUE, f"{where}: {first['msg']}",
                       fix="see the operation's schema in /api/v1/openapi.json",
                       details={"errors": errors})  # fmt: skip

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, "HTTP_ERROR")
        return problem(exc.status_code, code, str(exc.detail),
                       fix="see /api/v1/openapi.json for the routes")  # fmt: skip

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error in %s %s", request.method, request.url.path)
        response: JSONResponse = problem(
            500,
            "INTERNAL_ERROR",
            "the server failed on this request",
            fix="retry; if it persists, see the server's log",
        )
        return response
