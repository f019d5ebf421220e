"""Custom evaluator plugins (E2): the airel.evaluators entry-point group behind an error boundary.

The entry-point lookup is the plugin edge, so it is the one thing faked here.
"""

from __future__ import annotations

import sys
import threading
import time
import types
from collections.abc import Iterator
from importlib import metadata
from typing import Any

import pytest

from airel.adapters.eval.plugins import (
    GROUP,
    PluginInfo,
    list_plugins,
    load_plugin,
    run_evaluator,
    run_plugin,
)
from airel.errors import NotFoundError, Reason, ValidationError


def _contains_refund(case: dict[str, Any], output: Any) -> dict[str, Any]:
    return {"passed": "refund" in str(output), "score": 1.0}


def _raises(case: dict[str, Any], output: Any) -> dict[str, Any]:
    raise RuntimeError("plugin bug")


def _exits(case: dict[str, Any], output: Any) -> dict[str, Any]:
    sys.exit(2)


def _returns_list(case: dict[str, Any], output: Any) -> Any:
    return [True]


def _no_passed(case: dict[str, Any], output: Any) -> dict[str, Any]:
    return {"score": 1.0}


def _truthy_passed(case: dict[str, Any], output: Any) -> dict[str, Any]:
    return {"passed": 1}


def _self_error(case: dict[str, Any], output: Any) -> dict[str, Any]:
    return {"passed": True, "status": "error", "error": "could not score"}


NOT_CALLABLE = 42

PLUGINS = {
    "refund": "_contains_refund",
    "raises": "_raises",
    "exits": "_exits",
    "returns_list": "_returns_list",
    "no_passed": "_no_passed",
    "truthy_passed": "_truthy_passed",
    "self_error": "_self_error",
    "not_callable": "NOT_CALLABLE",
}


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register this module's functions (and a broken import) as the group's entry points."""
    module = types.ModuleType("fake_airel_plugins")
    for attr in PLUGINS.values():
        setattr(module, attr, globals()[attr])
    monkeypatch.setitem(sys.modules, "fake_airel_plugins", module)
    entries = [metadata.EntryPoint(n, f"fake_airel_plugins:{a}", GROUP) for n, a in PLUGINS.items()]
    entries.append(metadata.EntryPoint("broken", "no_such_plugin_pkg:fn", GROUP))
    entries.append(metadata.EntryPoint("twice", "fake_airel_plugins:_raises", GROUP))
    entries.append(metadata.EntryPoint("twice", "fake_airel_plugins:_exits", GROUP))
    entries.append(metadata.EntryPoint("other_group", "x:y", "other.group"))

    def fake_entry_points(**params: Any) -> metadata.EntryPoints:
        return metadata.EntryPoints(entries).select(**params)

    monkeypatch.setattr(metadata, "entry_points", fake_entry_points)


def test_list_plugins(installed: None) -> None:
    """E2: every plugin in the group is listed, sorted, other groups are not."""
    found = list_plugins()
    names = [p.name for p in found]
    assert names == sorted(names)
    assert "other_group" not in names
    assert PluginInfo("refund", "fake_airel_plugins:_contains_refund", None) in found


def test_run_plugin_ok(installed: None) -> None:
    """E2: a working plugin's result is returned with status ok."""
    assert run_plugin("refund", {"id": 1}, "a refund is due") == {
        "passed": True,
        "score": 1.0,
        "status": "ok",
    }
    assert run_plugin("refund", {"id": 1}, "no")["passed"] is False


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("raises", "RuntimeError: plugin bug"),
        ("exits", "SystemExit"),
        ("returns_list", "not a dict"),
        ("no_passed", "boolean 'passed'"),
        ("truthy_passed", "boolean 'passed'"),
        ("not_callable", "not a callable"),
        ("broken", "cannot load"),
        ("self_error", "could not score"),
    ],
)
def test_plugin_failures_stay_inside_the_boundary(installed: None, name: str, needle: str) -> None:
    """E2: any plugin failure becomes {'passed': False, 'status': 'error'}, never a pass."""
    result = run_plugin(name, {"id": 1}, "output")
    assert result["passed"] is False
    assert result["status"] == "error"
    assert needle in result["error"]


def test_unknown_and_ambiguous_plugins_raise(installed: None) -> None:
    """E1: naming a plugin that is not installed (or installed twice) is the caller's error."""
    with pytest.raises(NotFoundError) as err:
        run_plugin("nope", {}, None)
    assert err.value.reason is Reason.PLUGIN_NOT_FOUND
    with pytest.raises(NotFoundError) as err:
        load_plugin("twice")
    assert err.value.reason is Reason.AMBIGUOUS_REFERENCE


def test_run_evaluator_boundary_for_loaded_callables(installed: None) -> None:
    """E2: load once, run per case; the case passed in is a copy."""
    loaded = load_plugin("refund")
    assert not isinstance(loaded, dict)
    case = {"id": 1}

    def mutate(c: dict[str, Any], output: Any) -> dict[str, Any]:
        c["id"] = 2
        return {"passed": True}

    assert run_evaluator(mutate, case, None)["passed"] is True
    assert case == {"id": 1}
    assert run_evaluator(loaded, case, "refund")["status"] == "ok"


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set at teardown, so a plugin left hanging by a timeout test finishes."""
    event = threading.Event()
    yield event
    event.set()


def test_a_hanging_plugin_times_out_as_an_error(release: threading.Event) -> None:
    """E2: a plugin that does not return within timeout_s is that item's error (a reason, not
    a pass); the caller gets control back after about timeout_s."""

    def hangs(case: dict[str, Any], output: Any) -> dict[str, Any]:
        release.wait(30)
        return {"passed": True}

    start = time.monotonic()
    result = run_evaluator(hangs, {"id": 1}, "x", name="slowpoke", timeout_s=0.3)
    assert 0.25 <= time.monotonic() - start < 2.0
    assert result["passed"] is False
    assert result["status"] == "error"
    assert "'slowpoke' did not return within 0.3 s (timeout)" in result["error"]


def test_the_boundary_holds_with_a_timeout(installed: None) -> None:
    """E2: with a timeout the plugin runs in a thread, and every failure is still recorded."""
    loaded = load_plugin("refund")
    assert not isinstance(loaded, dict)
    ok = run_evaluator(loaded, {"id": 1}, "a refund", name="refund", timeout_s=5)
    assert ok == {"passed": True, "score": 1.0, "status": "ok"}
    for name, needle in (("raises", "plugin bug"), ("exits", "SystemExit")):
        plugin = load_plugin(name)
        assert not isinstance(plugin, dict)
        result = run_evaluator(plugin, {"id": 1}, "x", name=name, timeout_s=5)
        assert (result["passed"], result["status"]) == (False, "error")
        assert needle in result["error"]
    with pytest.raises(ValidationError) as err:
        run_evaluator(loaded, {"id": 1}, "x", timeout_s=0)
    assert err.value.reason is Reason.INVALID_VALUE
