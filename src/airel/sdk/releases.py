"""The §5.8 promotion workflow of a release (``airel release status``).

A facet of :class:`airel.Client` (``client.releases``), loaded when first used; each method is
one service call with its arguments translated.
"""

from __future__ import annotations

from airel.sdk.facet import Facet
from airel.services.promotion import workflow
from airel.services.promotion.workflow import ReleaseStatus


class Releases(Facet):
    """The ``client.releases`` facet (see the module docstring)."""

    def status(self, release_id: str) -> ReleaseStatus:
        """Each of the twelve §5.8 steps: done, pending or blocked, with its evidence."""
        return workflow.release_status(self.ctx, release_id)
