"""Custom evaluators as plugins: the ``airel.evaluators`` entry-point group, behind a boundary.

A package adds an evaluator by declaring an entry point, e.g. in its ``pyproject.toml``::

    [project.entry-points."airel.evaluators"]
    no_fee_promises = "acme_evals.rules:no_fee_promises"

The target is a callable ``(case: dict, output) -> dict`` (:class:`Evaluator`) returning at
least ``{"passed": bool}`` plus whatever else it measures (``score``, ``details``...).

Plugins are third-party code, so they run inside an error boundary (:func:`run_evaluator`):
a plugin that fails to load, raises (``SystemExit`` included), or returns anything but a dict
with a boolean ``passed`` yields ``{"passed": False, "status": "error", "error": "..."}`` —
never an exception in airel and never a pass. Only naming a plugin that is not installed is
the caller's mistake and raises ``NotFoundError`` (``PLUGIN_NOT_FOUND``).

With ``timeout_s`` the plugin runs in a daemon thread and a call that has not returned in time
is that item's error (``"... did not return within 2 s"``); the run goes on with the next item.
Python cannot stop a thread, so the stuck call keeps running in the background until it returns
(its late result is dropped) or the process exits — a daemon thread never holds the exit up.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Protocol

from airel.errors import NotFoundError, Reason, ValidationError

__all__ = [
    "GROUP",
    "Evaluator",
    "PluginInfo",
    "list_plugins",
    "load_plugin",
    "run_evaluator",
    "run_plugin",
]

GROUP = "airel.evaluators"


class Evaluator(Protocol):
    """A custom evaluator: judge one case's output."""

    def __call__(self, case: dict[str, Any], output: Any, /) -> dict[str, Any]:
        """``{"passed": bool, ...}`` for this case and output."""
        ...


@dataclass(frozen=True)
class PluginInfo:
    """An installed evaluator plugin: its name, ``module:attr`` target and distribution."""

    name: str
    target: str
    distribution: str | None


def _entries() -> list[metadata.EntryPoint]:
    return list(metadata.entry_points(group=GROUP))


def _dist_name(entry: metadata.EntryPoint) -> str | None:
    dist = entry.dist
    return dist.name if dist is not None else None


def list_plugins() -> list[PluginInfo]:
    """Every installed evaluator plugin, sorted by name."""
    found = [PluginInfo(e.name, e.value, _dist_name(e)) for e in _entries()]
    return sorted(found, key=lambda p: (p.name, p.target))


def _entry(name: str) -> metadata.EntryPoint:
    matches = [e for e in _entries() if e.name == name]
    if not matches:
        raise NotFoundError(
            Reason.PLUGIN_NOT_FOUND,
            f"no evaluator plugin named {name!r} is installed",
            fix=f"install the package that provides it; `airel plugins` lists group {GROUP}",
            details={"name": name, "group": GROUP},
        )
    if len({e.value for e in matches}) > 1:
        raise NotFoundError(
            Reason.AMBIGUOUS_REFERENCE,
            f"evaluator plugin {name!r} is provided by several packages",
            fix="uninstall all but one of them",
            details={"name": name, "targets": sorted(e.value for e in matches)},
        )
    return matches[0]


def _failure(error: str) -> dict[str, Any]:
    return {"passed": False, "status": "error", "error": error}


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def load_plugin(name: str) -> Evaluator | dict[str, Any]:
    """The named plugin's callable, or the error result when it cannot be loaded.

    Raises ``NotFoundError`` only when no plugin has that name.
    """
    entry = _entry(name)
    try:
        target = entry.load()
    except (Exception, SystemExit) as exc:  # a broken plugin package is the plugin's failure
        return _failure(f"cannot load plugin {name!r}: {_describe(exc)}")
    if not callable(target):
        return _failure(f"plugin {name!r} is a {type(target).__name__}, not a callable")
    plugin: Evaluator = target
    return plugin


def run_evaluator(
    evaluator: Evaluator,
    case: Mapping[str, Any],
    output: Any,
    *,
    name: str = "<evaluator>",
    timeout_s: float | None = None,
) -> dict[str, Any]:
    """Run one evaluator on one case inside the error boundary (and within ``timeout_s``)."""
    if timeout_s is None:
        return _evaluate(evaluator, case, output, name)
    if timeout_s <= 0:
        raise ValidationError(
            Reason.INVALID_VALUE, "timeout_s must be positive", details={"timeout_s": timeout_s}
        )
    box: list[dict[str, Any]] = []
    done = threading.Event()

    def work() -> None:
        box.append(_evaluate(evaluator, case, output, name))
        done.set()

    threading.Thread(target=work, name=f"airel-plugin-{name}", daemon=True).start()
    if not done.wait(timeout_s):
        return _failure(f"plugin {name!r} did not return within {timeout_s:g} s (timeout)")
    return box[0]


def _evaluate(
    evaluator: Evaluator, case: Mapping[str, Any], output: Any, name: str
) -> dict[str, Any]:
    try:
        result: Any = evaluator(dict(case), output)
    except (Exception, SystemExit) as exc:  # the boundary: any plugin failure is recorded
        return _failure(f"plugin {name!r} raised {_describe(exc)}")
    except BaseException as exc:  # KeyboardInterrupt and the like: never let them pass as a pass
        if threading.current_thread() is threading.main_thread():
            raise
        return _failure(f"plugin {name!r} raised {_describe(exc)}")
    if not isinstance(result, Mapping):
        return _failure(f"plugin {name!r} returned a {type(result).__name__}, not a dict")
    passed = result.get("passed")
    if not isinstance(passed, bool):
        return _failure(f"plugin {name!r} returned no boolean 'passed' (got {passed!r})")
    out = dict(result)
    out.setdefault("status", "ok")
    if out["status"] != "ok":
        out["passed"] = False  # a plugin reporting its own failure cannot also pass
    return out


def run_plugin(name: str, case: Mapping[str, Any], output: Any) -> dict[str, Any]:
    """Load the named plugin and run it on one case, inside the error boundary.

    For many cases, :func:`load_plugin` once and call :func:`run_evaluator` per case.
    """
    loaded = load_plugin(name)
    if isinstance(loaded, dict):
        return loaded
    return run_evaluator(loaded, case, output, name=name)
