"""Ed25519 keys and signatures, over ``cryptography``: signed approvals (G6) and signed audit
checkpoints (C2) — and, later, the evidence binder — all load and check keys here.

Private keys are PKCS#8 PEM files written with mode 0600 and never overwritten; public keys
are read from a PEM (SubjectPublicKeyInfo) file or a file holding the raw 32 bytes in base64
(what ``airel key generate`` prints). Every failure is an :class:`~airel.errors.AirelError`
(``INVALID_KEY``); a signature that does not verify is ``False``, for the caller to refuse.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from airel.adapters.documents.parse import ParseLimits, read_bounded
from airel.errors import InputError, Reason

MAX_KEY_FILE = 16_384
_KEY_LIMITS = ParseLimits(max_bytes=MAX_KEY_FILE)


def _bad(path: Path, why: str) -> InputError:
    return InputError(
        Reason.INVALID_KEY,
        f"{path}: {why}",
        fix="give an Ed25519 key written by `airel key generate`",
    )


def _read(path: Path) -> bytes:
    """A key file's bytes: a missing file is ARTIFACT_MISSING, an oversized one DOC_TOO_LARGE,
    as for every file airel reads."""
    return read_bounded(path, _KEY_LIMITS)


def raw_public(key: Ed25519PublicKey) -> bytes:
    """The raw 32 bytes of a public key."""
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def raw_b64(key: Ed25519PublicKey) -> str:
    """The raw 32-byte public key, base64."""
    return base64.b64encode(raw_public(key)).decode("ascii")


def raw_bytes(public_b64: str) -> bytes:
    """The 32 raw bytes of a base64 public key (refused when it is not one)."""
    try:
        raw = base64.b64decode(public_b64, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise InputError(
            Reason.INVALID_KEY,
            "not a base64 Ed25519 public key (32 bytes)",
            fix="give the public key `airel key generate` printed, or its PEM file",
        )
    return raw


def generate_private_key(path: Path) -> str:
    """Write a new Ed25519 private key (PEM, mode 0600, never over an existing file) and
    return its public key (raw, base64)."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InputError(
            Reason.INVALID_KEY,
            f"{path} already exists",
            fix="choose another file name; airel never overwrites a key",
        ) from None
    except OSError as exc:
        raise _bad(path, f"cannot create it ({exc.strerror})") from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return raw_b64(key.public_key())


def public_pem(public_b64: str) -> bytes:
    """The SubjectPublicKeyInfo PEM of a raw base64 public key."""
    key = Ed25519PublicKey.from_public_bytes(raw_bytes(public_b64))
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """An Ed25519 private key from a PEM file."""
    try:
        key = serialization.load_pem_private_key(_read(path), password=None)
    except (ValueError, TypeError):
        raise _bad(path, "not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise _bad(path, "not an Ed25519 key")
    return key


def load_public_key(path: Path, *, allow_private: bool = True) -> str:
    """The raw public key (base64) from a PEM public key, a file of the base64 raw key or —
    with ``allow_private`` — a PEM private key (a trusted key to check against must be public:
    ``allow_private=False`` refuses a private key file)."""
    data = _read(path)
    if data.lstrip().startswith(b"-----BEGIN PRIVATE KEY"):
        if not allow_private:
            raise _bad(path, "a private key where the public key was expected")
        return raw_b64(load_private_key(path).public_key())
    if data.lstrip().startswith(b"-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(data)
        except (ValueError, TypeError):
            raise _bad(path, "not a PEM public key") from None
        if not isinstance(key, Ed25519PublicKey):
            raise _bad(path, "not an Ed25519 key")
        return raw_b64(key)
    try:
        text = data.decode("ascii").strip()
    except UnicodeDecodeError:
        raise _bad(path, "neither PEM nor a base64 public key") from None
    raw_bytes(text)
    return text


def sign(key: Ed25519PrivateKey, message: bytes) -> str:
    """The Ed25519 signature of ``message``, base64."""
    return base64.b64encode(key.sign(message)).decode("ascii")


def verify(public_b64: str, message: bytes, signature_b64: str) -> bool:
    """True when ``signature_b64`` is a valid Ed25519 signature of ``message``."""
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        key = Ed25519PublicKey.from_public_bytes(raw_bytes(public_b64))
        key.verify(signature, message)
    except (InvalidSignature, binascii.Error, ValueError, InputError):
        return False
    return True
