"""The LLM judge's authentication headers: environment or a secrets file, never shown.

Headers are parsed strictly (no header injection, no transport headers); a secrets file that
other users can read is refused, like ssh refuses an open private key; no error message, repr
or ``config show`` repeats a secret value.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from airel.adapters.eval.judge_auth import JudgeAuth, parse_headers, read_secrets_file, scrub
from airel.config import load_settings
from airel.errors import Reason, StoreError

SECRET = "sk-live-0123456789abcdef"
posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


def _secrets(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "judge.secrets"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def test_headers_as_json_or_lines() -> None:
    """A JSON object of strings, or `Name: value` lines with comments and blank lines."""
    assert parse_headers('{"X-Api-Key": "k1", "X-Org": "o"}', source="t") == {
        "X-Api-Key": "k1",
        "X-Org": "o",
    }
    text = "# the judge\n\nAuthorization: Bearer abc:def\n  X-Org :  acme  \n"
    assert parse_headers(text, source="t") == {"Authorization": "Bearer abc:def", "X-Org": "acme"}


@pytest.mark.parametrize(
    "text",
    [
        f'{{"Authorization": "Bearer {SECRET}\\r\\nX-Evil: 1"}}',  # CRLF in a value: injection
        f'{{"X-Key": "{SECRET}\\u00e9"}}',  # not ASCII
        f"Bad Name: {SECRET}",
        f"Host: {SECRET}",
        f"Content-Length: {SECRET}",
        f"just-a-{SECRET}",
        f'{{"Authorization": 42, "k": "{SECRET}"}}',
        f'{{"Authorization": "{SECRET}"',
        f'{{"A": "{SECRET}", "A": "{SECRET}"}}',
        "X-Empty:",
    ],
)
def test_bad_headers_are_refused_without_echoing_values(text: str) -> None:
    """CONFIG_INVALID naming the source and the fix; the value itself is never repeated."""
    with pytest.raises(StoreError) as err:
        parse_headers(text, source="AIREL_JUDGE_HEADERS")
    assert err.value.reason is Reason.CONFIG_INVALID
    assert "AIREL_JUDGE_HEADERS" in err.value.message
    assert err.value.fix
    shown = f"{err.value.message} {err.value.fix} {err.value.details}"
    assert SECRET not in shown


@posix_only
def test_secrets_file_readable_by_owner_only(tmp_path: Path) -> None:
    """0600 is read; 0644 / 0640 / 0604 are refused with `chmod 600` as the fix."""
    path = _secrets(tmp_path, f"Authorization: Bearer {SECRET}\n")
    assert read_secrets_file(path) == {"Authorization": f"Bearer {SECRET}"}
    for mode in (0o644, 0o640, 0o604, 0o660):
        path.chmod(mode)
        with pytest.raises(StoreError) as err:
            read_secrets_file(path)
        assert err.value.reason is Reason.CONFIG_INVALID
        assert err.value.fix == f"chmod 600 {path}"
        assert err.value.details["mode"] == f"{mode:04o}"
        assert "too open" in err.value.message
        assert SECRET not in err.value.message


def test_secrets_file_missing_or_not_a_file(tmp_path: Path) -> None:
    for path in (tmp_path / "absent", tmp_path):
        with pytest.raises(StoreError) as err:
            read_secrets_file(path)
        assert err.value.reason is Reason.CONFIG_INVALID
        assert "AIREL_JUDGE_SECRETS_FILE" in (err.value.fix or "")


def test_sources_merge_file_then_headers_then_api_key(tmp_path: Path) -> None:
    """Secrets file < AIREL_JUDGE_HEADERS < AIREL_JUDGE_API_KEY, names case-insensitive;
    no secret in the repr."""
    path = _secrets(tmp_path, '{"authorization": "Basic old", "X-Team": "t1", "X-Org": "o1"}')
    auth = JudgeAuth(headers="X-ORG: o2", api_key=SECRET, secrets_file=path)
    assert auth.configured
    assert auth.resolve() == {"X-Team": "t1", "X-ORG": "o2", "Authorization": f"Bearer {SECRET}"}
    assert SECRET not in repr(auth)
    assert not JudgeAuth().configured
    assert JudgeAuth().resolve() == {}


def test_scrub_replaces_values_and_keys_inside_bearer_values() -> None:
    headers = {"Authorization": f"Bearer {SECRET}", "X-Org": "acme-org"}
    body = {"error": f"bad key {SECRET}", "list": ["acme-org", 3, None], SECRET: "k"}
    assert scrub(body, headers) == {"error": "bad key ***", "list": ["***", 3, None], "***": "k"}
    assert scrub("Bearer tokens are fine", headers) == "Bearer tokens are fine"
    assert scrub("text", {}) == "text"


def test_settings_from_the_environment_are_never_shown(tmp_path: Path) -> None:
    """The judge settings are declared, come from AIREL_* variables, and config show prints
    *** for the secrets; repr(settings) holds no secret; a relative secrets file is resolved
    against the working directory."""
    settings = load_settings(
        cwd=tmp_path,
        environ={
            "AIREL_JUDGE_API_KEY": SECRET,
            "AIREL_JUDGE_HEADERS": f"X-Key: {SECRET}",
            "AIREL_JUDGE_SECRETS_FILE": "judge.secrets",
            "AIREL_JUDGE_CONCURRENCY": "2",
        },
    )
    assert settings.judge_api_key == SECRET
    assert settings.judge_secrets_file == tmp_path / "judge.secrets"
    assert settings.judge_concurrency == 2
    shown = settings.as_dict()
    assert shown["judge_api_key"] == {
        "value": "***",
        "source": "env AIREL_JUDGE_API_KEY",
        "env": "AIREL_JUDGE_API_KEY",
    }
    assert shown["judge_headers"]["value"] == "***"
    assert SECRET not in str(shown)
    assert SECRET not in repr(settings)
    assert load_settings(cwd=tmp_path, environ={}).judge_concurrency == 4


def test_secrets_in_airel_toml_are_refused(tmp_path: Path) -> None:
    """airel.toml is often committed: a judge key or headers there is CONFIG_INVALID."""
    (tmp_path / "airel.toml").write_text(f'judge_api_key = "{SECRET}"\n', encoding="utf-8")
    with pytest.raises(StoreError) as err:
        load_settings(cwd=tmp_path, environ={})
    assert err.value.reason is Reason.CONFIG_INVALID
    assert "AIREL_JUDGE_API_KEY" in (err.value.fix or "")
    assert SECRET not in err.value.message
    (tmp_path / "airel.toml").write_text(
        'judge_secrets_file = "judge.secrets"\njudge_concurrency = 8\n', encoding="utf-8"
    )
    settings = load_settings(cwd=tmp_path, environ={})
    assert (settings.judge_secrets_file, settings.judge_concurrency) == (
        tmp_path / "judge.secrets",
        8,
    )


def test_bad_concurrency_setting(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as err:
        load_settings(cwd=tmp_path, environ={"AIREL_JUDGE_CONCURRENCY": "0"})
    assert err.value.reason is Reason.CONFIG_INVALID
