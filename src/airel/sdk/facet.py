"""What every SDK facet shares: the runtime it runs over, its context and settings."""

from __future__ import annotations

from airel.config import Settings
from airel.runtime import Runtime
from airel.services.kernel.context import Context


class Facet:
    """A namespace of :class:`airel.Client` (``client.bundles`` …) over the shared runtime."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    @property
    def ctx(self) -> Context:
        """The service context (opens the store on first use)."""
        return self._runtime.context()

    @property
    def settings(self) -> Settings:
        """The settings this client runs with."""
        return self._runtime.settings
