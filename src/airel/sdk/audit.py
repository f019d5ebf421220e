"""The hash-chained audit log: verification and signed checkpoints (``airel audit``).

A facet of :class:`airel.Client` (``client.audit``), loaded when first used; each method is one
service call with its arguments translated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airel.domain.release.audit import ChainReport
from airel.sdk.facet import Facet
from airel.services.release import (
    audit,
)


class Audit(Facet):
    """The ``client.audit`` facet (see the module docstring)."""

    def verify(
        self,
        *,
        checkpoint: Path | str | None = None,
        public_key: Path | str | None = None,
        records: bool = True,
    ) -> ChainReport:
        """Verify the audit chain (and a signed checkpoint, if given) and, unless
        ``records=False``, re-hash every live record against the chain."""
        return audit.verify_chain(
            self.ctx,
            checkpoint=Path(checkpoint) if checkpoint else None,
            public_key=Path(public_key) if public_key else None,
            records=records,
        )

    def checkpoint(self, private_key: Path | str, out: Path | str) -> dict[str, Any]:
        """Sign the current chain head into a checkpoint file kept outside the database."""
        return audit.create_checkpoint(self.ctx, Path(private_key), Path(out))

    @staticmethod
    def generate_key(private_path: Path | str, public_path: Path | str) -> str:
        """Create an Ed25519 key pair for checkpoints."""
        return audit.generate_key(Path(private_path), Path(public_path))
