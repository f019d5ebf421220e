"""The API's translation of errors, bodies and lists (no rule lives here).

* Errors: every :class:`~airel.errors.AirelError` becomes an RFC 9457 ``problem+json`` body
  carrying its stable reason code, message, fix and details; the status comes from the
  error's class, refined by reason (:data:`REASON_STATUS`). Statuses are mapped here and
  nowhere else (the CLI maps exit codes the same way).
* Bodies: a request body larger than the configured limit is refused with 413 *while it is
  read* (a missing or lying Content-Length changes nothing).
* Lists: ``limit`` (1–500, default 100) and ``offset``; the answer says ``total``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi.encoders import jsonable_encoder
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from airel.errors import (
    AirelError,
    AuthError,
    ConflictError,
    InputError,
    IntegrityError,
    NotFoundError,
    Reason,
    StoreError,
    ValidationError,
)

PROBLEM = "application/problem+json"
PROBLEM_BASE = "https://airel.dev/problems/"
MAX_LIMIT = 500
DEFAULT_LIMIT = 100

CLASS_STATUS: tuple[tuple[type[AirelError], int], ...] = (
    (AuthError, 401),
    (ValidationError, 422),
    (InputError, 400),
    (NotFoundError, 404),
    (ConflictError, 409),
    (IntegrityError, 422),
    (StoreError, 503),
)
REASON_STATUS: dict[Reason, int] = {
    Reason.PERMISSION_DENIED: 403,
    Reason.ROLE_NOT_HELD: 403,  # the identity is known; its roles do not allow this
    Reason.SELF_APPROVAL: 403,
    Reason.DUPLICATE_APPROVER: 403,
    Reason.ACTOR_NOT_ALLOWED: 403,
    Reason.DOC_TOO_LARGE: 413,
}


def status_for(error: AirelError) -> int:
    """The HTTP status of an error: by reason first, then by class."""
    if error.reason in REASON_STATUS:
        return REASON_STATUS[error.reason]
    for cls, status in CLASS_STATUS:
        if isinstance(error, cls):
            return status
    return 400


def problem(
    status: int,
    reason: Reason | str,
    detail: str,
    *,
    fix: str | None = None,
    details: dict[str, Any] | None = None,
) -> JSONResponse:
    """A ``problem+json`` response."""
    code = str(reason)
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + code,
        "title": code,
        "status": status,
        "detail": detail,
        "reason": code,
        "fix": fix,
    }
    if details:
        body["details"] = jsonable_encoder(details)
    headers = {"WWW-Authenticate": 'Bearer realm="airel"'} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def error_response(error: AirelError) -> JSONResponse:
    return problem(status_for(error), error.reason, error.message, fix=error.fix,
                   details=dict(error.details))  # fmt: skip


def page(items: Sequence[Any], limit: int, offset: int) -> dict[str, Any]:
    """One page of ``items`` with the total."""
    return {
        "items": jsonable_encoder(list(items[offset : offset + limit])),
        "total": len(items),
        "limit": limit,
        "offset": offset,
    }


class BodyLimit:
    """ASGI middleware: refuse a body over ``max_bytes`` with 413 (counted as it arrives)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(413, Reason.DOC_TOO_LARGE,
                           f"the request body exceeds {self.max_bytes} bytes",
                           fix="send a smaller body (the limit is max_document_bytes)")  # fmt: skip
        await response(scope, receive, send)


class _TooLarge(Exception):
    pass
