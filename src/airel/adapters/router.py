"""Routers: where the reconciler applies a route's desired traffic (an external edge).

airel decides who gets a route's requests; a router carries it out. ``apply`` must be
idempotent — the reconciler calls it again after a crash between applying and recording —
and must not return before the router serves the new split.

* :class:`EmbeddedRouter` — the airel gateway reads the observed traffic from the store, so
  applying is recording (nothing to do outside);
* :class:`FileRouter` — writes ``<dir>/<route>@<lane>.json`` atomically (write, fsync, rename)
  for a proxy (Envoy, nginx, a feature-flag service) to pick up. Used by the CLI only, with a
  directory the operator names; the server never opens a path a user supplied.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from airel.domain.promotion.route import Route

ROUTER_FORMAT = "airel-route/1"


class Router(Protocol):
    """Applies a route's desired traffic (idempotently)."""

    name: str

    def apply(self, route: Route) -> None: ...


class EmbeddedRouter:
    """The airel gateway reads the observed state from the store: nothing to apply outside."""

    name = "embedded"

    def apply(self, route: Route) -> None:
        """Nothing to do: recording the observation is the application."""


def _file_name(route: Route) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", route.route)
    return f"{safe}@{route.lane.value}.json"


class FileRouter:
    """One JSON file per route, replaced atomically."""

    name = "file"

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path_of(self, route: Route) -> Path:
        """The file the route's split is written to."""
        return self.directory / _file_name(route)

    def apply(self, route: Route) -> None:
        """Write the desired split (same content for the same version: idempotent)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        body = {
            "format": ROUTER_FORMAT,
            "route": route.route,
            "lane": route.lane.value,
            "version": route.version,
            "weights": route.desired.weights,
            "mirror": route.desired.mirror,
            "manifests": route.desired.manifests,
        }
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".route-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(body, out, sort_keys=True, indent=2)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path_of(route))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def read(self, route: Route) -> dict[str, object] | None:
        """What the router serves now for ``route`` (None: nothing written yet)."""
        path = self.path_of(route)
        if not path.exists():
            return None
        data: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
        return data
