"""Canonical JSON (RFC 8785, JCS) and the SHA-256 digests that give things their identity.

A bundle's identity, a component version's digest and every audit entry hash are
``sha256:<hex>`` of the JCS form of a JSON value. JCS fixes key order (UTF-16 code units),
number formatting (ECMAScript) and string escaping, so the same content always has the same
digest on any machine and in any language that implements RFC 8785.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import rfc8785

from airel.errors import Reason, ValidationError

DIGEST_PREFIX = "sha256:"
_HEX = frozenset("0123456789abcdef")


def canonical_bytes(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of a JSON-compatible value."""
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"value cannot be canonicalised as JSON: {exc}",
            fix="use only strings, integers, finite numbers, booleans, null, lists and maps",
        ) from exc


def _is_simple(value: Any) -> bool:
    """True when the JCS form equals ``json.dumps(sort_keys=True)``: ASCII keys, no floats."""
    if value is None or isinstance(value, (bool, str)):
        return True
    if isinstance(value, int):
        return abs(value) < 2**53
    if isinstance(value, dict):
        return all(
            k.isascii() and _is_simple(v) for k, v in value.items() if isinstance(k, str)
        ) and all(isinstance(k, str) for k in value)
    if isinstance(value, list):
        return all(_is_simple(v) for v in value)
    return False


def fast_canonical_bytes(value: dict[str, Any]) -> bytes:
    """JCS bytes for flat records with ASCII keys and no floats (the audit hot path).

    For such values ``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)``
    produces exactly the RFC 8785 form (same escapes, same key order); a property test pins
    the equality. Anything else falls back to :func:`canonical_bytes`.
    """
    if _is_simple(value):
        try:
            return json.dumps(
                value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
            ).encode("utf-8")
        except UnicodeEncodeError:
            pass  # a lone surrogate: let the RFC 8785 encoder report it
    return canonical_bytes(value)


def digest_bytes(data: bytes) -> str:
    """``sha256:<hex>`` of raw bytes."""
    return DIGEST_PREFIX + hashlib.sha256(data).hexdigest()


def digest_of(value: Any) -> str:
    """``sha256:<hex>`` of the canonical JSON form of ``value``."""
    return digest_bytes(canonical_bytes(value))


def is_digest(value: object) -> bool:
    """True when ``value`` is a full ``sha256:<64 lower-case hex>`` digest."""
    return (
        isinstance(value, str)
        and value.startswith(DIGEST_PREFIX)
        and len(value) == len(DIGEST_PREFIX) + 64
        and set(value[len(DIGEST_PREFIX) :]) <= _HEX
    )


def check_digest(value: object, *, field: str = "digest") -> str:
    """Return a valid full digest or raise ValidationError naming the field."""
    if is_digest(value):
        return str(value)
    raise ValidationError(
        Reason.INVALID_VALUE,
        f"{field} must be 'sha256:' followed by 64 lower-case hex digits, got {value!r}",
        fix="let airel compute the digest from the artifact, or paste the full sha256 digest",
        details={"field": field},
    )
