"""Docs stay honest: the CLI reference is generated from the code, the README opens with the
two commands, and every setting is documented."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from airel.config import VARIABLES

ROOT = Path(__file__).resolve().parents[1]


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("gen_cli_docs", ROOT / "scripts/gen_cli_docs.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_reference_is_current() -> None:
    """docs/cli.md equals what scripts/gen_cli_docs.py renders (regenerate it if not)."""
    rendered = _generator().render()
    assert (ROOT / "docs/cli.md").read_text(encoding="utf-8").strip() == rendered.strip()


def test_every_command_is_documented() -> None:
    """Each leaf command has a section."""
    text = (ROOT / "docs/cli.md").read_text(encoding="utf-8")
    for name in (
        "init",
        "register",
        "bundle create",
        "bundle diff",
        "bundle verify",
        "bundle list",
        "bundle show",
        "alias set",
        "alias history",
        "lineage",
        "audit verify",
        "audit checkpoint",
        "db upgrade",
        "config show",
        "artifact verify",
    ):
        assert f"## airel {name}\n" in text, name


def test_readme_opens_with_the_two_commands() -> None:
    """The README's first code block runs the demo and the tests."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("```")[1]
    assert "./scripts/demo" in block
    assert "./scripts/test" in block
    assert (ROOT / "scripts/demo").exists()
    assert (ROOT / "scripts/test").exists()


def test_every_setting_is_documented() -> None:
    """Each AIREL_* variable appears in the README's configuration table."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for var in VARIABLES:
        assert f"`{var.env}`" in text, var.env
