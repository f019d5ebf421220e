"""The §5.3 CI checklist as gate G2 evidence (``airel ci``).

A facet of :class:`airel.Client` (``client.ci``), loaded when first used; each method is one
service call with its arguments translated. Checks run on this machine, in ``workdir``.
"""

from __future__ import annotations

from pathlib import Path

from airel.domain.promotion.ci_checklist import CiConfig, CiReport
from airel.sdk.facet import Facet
from airel.services.promotion import ci


class Ci(Facet):
    """The ``client.ci`` facet (see the module docstring)."""

    def run(
        self, release_id: str, config: Path | str, *, workdir: Path | str | None = None
    ) -> CiReport:
        """Run every check of a CI config for a frozen release and record one ``ci``
        attestation (G2); the report lists each check, uncovered §5.3 rows and the metrics."""
        return ci.run_ci(self.ctx, release_id, Path(config), workdir=Path(workdir or Path.cwd()))

    def check_config(self, path: Path | str) -> CiConfig:
        """Parse a CI config strictly; every problem is reported, nothing runs or is stored."""
        return ci.load_config(self.ctx, Path(path))
