"""Who a request is and what it may do: every route declares one permission (issue 13).

:class:`Routes` is the only way the API's modules add routes: ``routes.get(path, READ)``
registers the handler with a dependency that authenticates the bearer token
(:func:`airel.services.gate.tokens.authenticate`), checks the permission against the
identity's roles (deny by default) and hands the handler a service :class:`Context` whose
actor is the authenticated identity (``auth: api-token``) — so every audit entry the request
writes names who it really was. ``PUBLIC`` routes (health, the OpenAPI document) get the
server's own context and no identity. The permission is also published on the operation
(``x-airel-permission``); ``tests/api/test_permissions.py`` enumerates the app's routes and
fails on any without one.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from airel.domain.kernel.permissions import Permission
from airel.domain.kernel.roles import AuthMethod
from airel.services.gate import tokens
from airel.services.kernel.context import Context

F = TypeVar("F", bound=Callable[..., Any])
PERMISSION_KEY = "x-airel-permission"
_bearer = HTTPBearer(auto_error=False, description="an airel API token (`airel token create`)")


def server_context(request: Request) -> Context:
    """The server's own context (the store it serves; no request identity)."""
    open_ctx: Callable[[], Context] = request.app.state.open_context
    return open_ctx()


def _dependency(permission: Permission) -> Callable[..., Context]:
    if permission is Permission.PUBLIC:

        def public(request: Request) -> Context:
            return server_context(request)

        public.airel_permission = permission  # type: ignore[attr-defined]
        return public

    def authorised(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Context:
        base = server_context(request)
        principal = tokens.authenticate(base, credentials.credentials if credentials else None)
        principal.require(permission)
        request.state.principal = principal
        return dataclasses.replace(base, actor=principal.identity, auth=AuthMethod.API_TOKEN)

    authorised.airel_permission = permission  # type: ignore[attr-defined]
    return authorised


Ctx = Context  # handlers take ``ctx: Ctx`` — filled by the route's permission dependency


class Routes:
    """An ``APIRouter`` whose every route names its permission (see the module)."""

    def __init__(self, tag: str) -> None:
        self.router = APIRouter(tags=[tag])

    def _add(self, method: str, path: str, permission: Permission, **kw: Any) -> Callable[[F], F]:
        def register(handler: F) -> F:
            dependency = _dependency(permission)
            extra = {PERMISSION_KEY: permission.value}
            self.router.add_api_route(
                path,
                _inject(handler, dependency),
                methods=[method],
                openapi_extra=extra,
                name=handler.__name__,
                summary=(handler.__doc__ or "").strip().splitlines()[0] or None,
                **kw,
            )
            return handler

        return register

    def get(self, path: str, permission: Permission, **kw: Any) -> Callable[[F], F]:
        return self._add("GET", path, permission, **kw)

    def post(self, path: str, permission: Permission, **kw: Any) -> Callable[[F], F]:
        return self._add("POST", path, permission, status_code=kw.pop("status_code", 200), **kw)

    def delete(self, path: str, permission: Permission, **kw: Any) -> Callable[[F], F]:
        return self._add("DELETE", path, permission, **kw)


def _inject(handler: Callable[..., Any], dependency: Callable[..., Context]) -> Callable[..., Any]:
    """``handler`` with its ``ctx`` parameter bound to ``dependency``."""
    signature = inspect.signature(handler)
    params = [
        p.replace(annotation=Annotated[Context, Depends(dependency)]) if name == "ctx" else p
        for name, p in signature.parameters.items()
    ]
    if "ctx" not in signature.parameters:
        raise TypeError(f"API handler {handler.__name__} must take ctx")
    handler.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    return handler
