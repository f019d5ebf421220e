"""API tokens as data (issue 13): the stored record, the token text and its checks.

A token is ``airel_<token id>_<secret>``: the id (``tok_`` + 16 hex) names the stored row, the
secret (32 random bytes, base64url) is shown once and stored only as its SHA-256 — a random
256-bit secret needs no slow hash, and a database reader learns nothing usable. The row is a
record bound to the audit chain, so a token inserted or edited behind airel is refused
(``RECORD_TAMPERED``), never honoured.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from airel.errors import AuthError, Reason

TOKEN_PREFIX = "airel_"  # noqa: S105 - the format, not a secret
_TOKEN = re.compile(r"airel_(tok_[0-9a-f]{16})_([A-Za-z0-9_-]{43})")
MAX_TOKEN_DAYS = 366  # a token expires; at most a year after it was created
DEFAULT_TOKEN_DAYS = 90

Name = Annotated[str, Field(min_length=1, max_length=128)]


class ApiToken(BaseModel):
    """One API token as stored (revoked ones are kept)."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    token_id: str
    identity: Name
    name: Name  # what it is for ("ci", "lena's laptop")
    secret_digest: str  # "sha256:" + hex of the secret
    created_at: str
    created_by: Name
    expires_at: str
    revoked_at: str | None = None
    revoked_by: str | None = None


def secret_digest(secret: str) -> str:
    """The stored form of a token's secret."""
    return "sha256:" + hashlib.sha256(secret.encode("ascii")).hexdigest()


def token_text(token_id: str, secret: str) -> str:
    """The token as the holder presents it."""
    return f"{TOKEN_PREFIX}{token_id}_{secret}"


def parse_token(text: str) -> tuple[str, str]:
    """(token id, secret) of a presented token; anything else is TOKEN_INVALID."""
    match = _TOKEN.fullmatch(text.strip())
    if match is None:
        raise AuthError(
            Reason.TOKEN_INVALID,
            "the bearer token is not an airel API token",
            fix="send `Authorization: Bearer airel_tok_…` with a token from `airel token create`",
        )
    return match.group(1), match.group(2)


def check_token(token: ApiToken | None, secret: str, now: str) -> ApiToken:
    """The token if ``secret`` is its secret and it is live at ``now`` (stored ISO text)."""
    if token is None or not hmac.compare_digest(token.secret_digest, secret_digest(secret)):
        raise AuthError(
            Reason.TOKEN_INVALID,
            "the bearer token is not valid",
            fix="ask an administrator for a token (`airel token create`)",
        )
    if token.revoked_at is not None:
        raise AuthError(
            Reason.TOKEN_REVOKED,
            f"token {token.token_id} was revoked at {token.revoked_at}",
            fix="ask an administrator for a new token",
            details={"token_id": token.token_id},
        )
    if token.expires_at <= now:
        raise AuthError(
            Reason.TOKEN_EXPIRED,
            f"token {token.token_id} expired at {token.expires_at}",
            fix="ask an administrator for a new token",
            details={"token_id": token.token_id},
        )
    return token
