"""Settings: one frozen object, explicit precedence, and where each value came from.

Precedence, lowest to highest: built-in defaults < ``airel.toml`` in the working directory
(or the file named by ``AIREL_CONFIG``) < ``AIREL_*`` environment variables < explicit
arguments. Every variable airel reads is declared in :data:`VARIABLES`; ``airel config show``
prints each value with its source. There are no hidden globals: callers pass Settings along.

Secret settings (the judge's headers and API key) come from the environment or arguments only:
``airel.toml`` is often committed, so a secret there is refused. They are kept out of ``repr``,
shown as ``***`` by ``config show`` and never repeated in an error message.
"""

from __future__ import annotations

import getpass
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airel.domain.kernel.names import NameClass, check_name
from airel.domain.kernel.roles import GrantRole, parse_grant_role
from airel.errors import AirelError, Reason, StoreError


@dataclass(frozen=True)
class Variable:
    """One setting: its name, environment variable, type and meaning."""

    name: str
    env: str
    kind: type
    help: str
    secret: bool = False  # never from airel.toml, never shown


VARIABLES: tuple[Variable, ...] = (
    Variable("home", "AIREL_HOME", Path, "directory of the embedded store (default ./.airel)"),
    Variable(
        "database_url",
        "AIREL_DATABASE_URL",
        str,
        "SQLAlchemy URL of the metadata store (default sqlite:///<home>/airel.db)",
    ),
    Variable(
        "artifact_root",
        "AIREL_ARTIFACT_ROOT",
        Path,
        "content-addressed artifact store (default <home>/artifacts)",
    ),
    Variable("actor", "AIREL_ACTOR", str, "who is acting, recorded in the audit log"),
    Variable(
        "max_document_bytes",
        "AIREL_MAX_DOCUMENT_BYTES",
        int,
        "largest YAML/JSON document accepted (default 1048576)",
    ),
    Variable(
        "busy_timeout_s",
        "AIREL_BUSY_TIMEOUT_S",
        float,
        "seconds a SQLite writer waits for the lock (default 5)",
    ),
    Variable(
        "judge_endpoint",
        "AIREL_JUDGE_ENDPOINT",
        str,
        "OpenAI-compatible endpoint of LLM judge evaluators (default: none)",
    ),
    Variable(
        "judge_headers",
        "AIREL_JUDGE_HEADERS",
        str,
        "headers sent to the judge endpoint: a JSON object or `Name: value` lines (secret)",
        secret=True,
    ),
    Variable(
        "judge_api_key",
        "AIREL_JUDGE_API_KEY",
        str,
        "API key of the judge endpoint, sent as `Authorization: Bearer <key>` (secret)",
        secret=True,
    ),
    Variable(
        "judge_secrets_file",
        "AIREL_JUDGE_SECRETS_FILE",
        Path,
        "file of judge headers (as AIREL_JUDGE_HEADERS), readable by its owner only",
    ),
    Variable(
        "judge_concurrency",
        "AIREL_JUDGE_CONCURRENCY",
        int,
        "judge calls in flight at once (default 4)",
    ),
)
_BY_NAME = {v.name: v for v in VARIABLES}
_IDENTITIES = "[identities]"  # key of the parsed identities table among a file's settings


@dataclass(frozen=True)
class Settings:
    """Resolved settings. ``sources`` maps each name to default/airel.toml/env/argument."""

    home: Path
    database_url: str
    artifact_root: Path
    actor: str
    max_document_bytes: int
    busy_timeout_s: float
    judge_endpoint: str | None = None
    judge_headers: str | None = field(default=None, repr=False)
    judge_api_key: str | None = field(default=None, repr=False)
    judge_secrets_file: Path | None = None
    judge_concurrency: int = 4
    sources: Mapping[str, str] = field(default_factory=dict)
    # [identities] in airel.toml: the roles `airel init` grants a store that has no grants yet
    # (G6); afterwards the store's grants are authoritative and this is ignored
    identities: Mapping[str, frozenset[GrantRole]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, dict[str, str]]:
        """Values and sources for ``airel config show``."""
        out: dict[str, dict[str, str]] = {}
        for var in VARIABLES:
            value = getattr(self, var.name)
            if value is None:
                shown = ""
            elif var.secret:
                shown = "***"
            elif var.name in ("database_url", "judge_endpoint"):
                shown = _redact(value)
            else:
                shown = str(value)
            out[var.name] = {
                "value": shown,
                "source": self.sources.get(var.name, "default"),
                "env": var.env,
            }
        return out

    @property
    def embedded(self) -> bool:
        """True when the metadata store is the embedded SQLite file under ``home``."""
        return self.database_url.startswith("sqlite")


def _coerce(var: Variable, raw: Any, source: str) -> Any:
    try:
        if var.kind is Path:
            if not isinstance(raw, str) or not raw:
                raise TypeError("expected a path string")
            return Path(raw)
        if var.kind is int:
            if isinstance(raw, bool):
                raise TypeError("expected an integer")
            value = int(raw)
            if value <= 0:
                raise ValueError("must be positive")
            return value
        if var.kind is float:
            if isinstance(raw, bool):
                raise TypeError("expected a number")
            number = float(raw)
            if number <= 0:
                raise ValueError("must be positive")
            return number
        if not isinstance(raw, str) or not raw:
            raise TypeError("expected a non-empty string")
        return raw
    except (TypeError, ValueError) as exc:
        got = "" if var.secret else f" (got {raw!r})"
        raise StoreError(
            Reason.CONFIG_INVALID,
            f"setting {var.name} from {source} is invalid: {exc}{got}",
            fix=f"correct {var.env} or the {var.name} entry in airel.toml",
        ) from None


def _identities(raw: Any, path: Path) -> dict[str, frozenset[GrantRole]]:
    """``[identities]``: ``alice = ["admin", "model_risk"]`` (the seed of a new store's role
    grants); unknown roles refused."""
    if not isinstance(raw, dict):
        raise StoreError(
            Reason.CONFIG_INVALID,
            f"{path}: [identities] must be a table",
            fix='write a line [identities], then one line per person: alice = ["model_risk"]',
        )
    out: dict[str, frozenset[GrantRole]] = {}
    for name, roles in raw.items():
        try:
            check_name(name, NameClass.ACTOR, field="identities")
        except AirelError as exc:
            raise StoreError(Reason.CONFIG_INVALID, f"{path}: {exc.message}", fix=exc.fix) from None
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise StoreError(
                Reason.CONFIG_INVALID,
                f"{path}: identities.{name} must be a list of role names",
                fix=f'write e.g. {name} = ["model_risk"]',
            )
        held: set[GrantRole] = set()
        for role in roles:
            try:
                held.add(parse_grant_role(role))
            except AirelError as exc:
                raise StoreError(
                    Reason.CONFIG_INVALID,
                    f"{path}: identities.{name} names unknown role {role!r}",
                    fix=exc.fix,
                    details={"identity": name, "role": role},
                ) from None
        out[name] = frozenset(held)
    return out


def _toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise StoreError(
            Reason.CONFIG_INVALID,
            f"cannot read {path}: {exc}",
            fix="correct the TOML at the line and column shown, or remove the file "
            "(`airel config show` prints every setting and its source)",
        ) from None
    if "airel" not in data:
        data = {"airel": {k: v for k, v in data.items() if k != "identities"}, **data}
    section = data["airel"]
    if not isinstance(section, dict):
        raise StoreError(
            Reason.CONFIG_INVALID,
            f"{path}: [airel] must be a table",
            fix='write a line [airel], then one setting per line, e.g. actor = "alice"',
        )
    unknown = sorted(set(section) - set(_BY_NAME))
    if unknown:
        raise StoreError(
            Reason.CONFIG_INVALID,
            f"{path}: unknown setting(s) {', '.join(unknown)}",
            fix=f"allowed settings: {', '.join(_BY_NAME)}",
        )
    secrets = sorted(k for k in section if _BY_NAME[k].secret)
    if secrets:
        raise StoreError(
            Reason.CONFIG_INVALID,
            f"{path}: {', '.join(secrets)} is a secret and cannot be set in airel.toml",
            fix="set "
            + " / ".join(_BY_NAME[k].env for k in secrets)
            + " in the environment, or name a file with AIREL_JUDGE_SECRETS_FILE",
            details={"settings": secrets},
        )
    out = dict(section)
    if "identities" in data:
        out[_IDENTITIES] = _identities(data["identities"], path)
    return out


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    *,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve settings from defaults, airel.toml, AIREL_* variables and ``overrides``."""
    env = os.environ if environ is None else environ
    base = cwd or Path.cwd()
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}

    config_file = Path(env["AIREL_CONFIG"]) if env.get("AIREL_CONFIG") else base / "airel.toml"
    identities: dict[str, frozenset[GrantRole]] = {}
    if config_file.is_file():
        for key, raw in _toml(config_file).items():
            if key == _IDENTITIES:
                identities = raw
                continue
            values[key] = _coerce(_BY_NAME[key], raw, str(config_file))
            sources[key] = str(config_file.name)
    for var in VARIABLES:
        if env.get(var.env):
            values[var.name] = _coerce(var, env[var.env], var.env)
            sources[var.name] = f"env {var.env}"
    for key, raw in (overrides or {}).items():
        if raw is None:
            continue
        if key not in _BY_NAME:
            raise StoreError(
                Reason.CONFIG_INVALID,
                f"unknown setting {key}",
                fix=f"use one of {', '.join(_BY_NAME)}",
            )
        values[key] = _coerce(_BY_NAME[key], str(raw) if isinstance(raw, Path) else raw, "argument")
        sources[key] = "argument"

    home = values.get("home", Path(".airel"))
    home = home if home.is_absolute() else (base / home)
    database_url = values.get("database_url", f"sqlite:///{home / 'airel.db'}")
    artifact_root = values.get("artifact_root", home / "artifacts")
    artifact_root = artifact_root if artifact_root.is_absolute() else base / artifact_root
    secrets_file = values.get("judge_secrets_file")
    if secrets_file is not None and not secrets_file.is_absolute():
        secrets_file = base / secrets_file
    actor = values.get("actor") or _default_actor()
    try:
        check_name(actor, NameClass.ACTOR, field="actor")
    except AirelError as exc:
        raise StoreError(
            Reason.CONFIG_INVALID,
            exc.message,
            fix=f"give a valid name with --actor, AIREL_ACTOR or actor in airel.toml ({exc.fix})",
        ) from None
    return Settings(
        home=home,
        database_url=database_url,
        artifact_root=artifact_root,
        actor=actor,
        max_document_bytes=values.get("max_document_bytes", 1_048_576),
        busy_timeout_s=values.get("busy_timeout_s", 5.0),
        judge_endpoint=values.get("judge_endpoint"),
        judge_headers=values.get("judge_headers"),
        judge_api_key=values.get("judge_api_key"),
        judge_secrets_file=secrets_file,
        judge_concurrency=values.get("judge_concurrency", 4),
        sources=sources,
        identities=identities,
    )


def _redact(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else url


def _default_actor() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    cleaned = "".join(ch for ch in user if ch.isascii() and (ch.isalnum() or ch in "._-"))
    return cleaned.strip("._-") or "unknown"
