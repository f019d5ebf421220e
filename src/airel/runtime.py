"""The runtime: settings → store → service context, the wiring every edge shares.

The SDK (:class:`airel.Client`), the CLI and — later — the REST API and the gateway all open a
context the same way: from :class:`~airel.config.Settings`, an actor, an identity source and
how that actor was authenticated. The runtime opens the store lazily, checks that its schema is
current (telling the user to run ``airel db upgrade`` otherwise), creates and upgrades it
(``airel init``), and hands out one :class:`~airel.services.kernel.context.Context`.
"""

from __future__ import annotations

import uuid
from typing import Any

from airel.adapters.documents.parse import Document, ParseLimits
from airel.adapters.files.blobs import BlobStore
from airel.config import Settings
from airel.domain.kernel.clock import Clock, SystemClock, stamp
from airel.domain.kernel.roles import AuthMethod
from airel.errors import Reason, StoreError
from airel.services.gate import identities
from airel.services.gate.identities import StoreIdentities
from airel.services.kernel.context import Context, Identity
from airel.store import engines, migrate
from airel.store.contract import WriteTx
from airel.store.sql import SqlStore

__all__ = ["BASELINE_CHUNK", "Runtime"]

BASELINE_CHUNK = 2_000  # records per audit.baseline entry


def _feature_spec_fields(doc: Document) -> dict[str, Any]:
    """The data context's feature-spec parser, imported when a feature view is registered
    (it pulls in SciPy through the drift rules)."""
    from airel.services.data.validation import feature_spec_fields  # noqa: PLC0415

    return feature_spec_fields(doc)


class Runtime:
    """One store connection and service context for ``settings``.

    ``identity`` (default: the store's role grants) and ``auth`` (default: the trusted local
    actor of embedded mode) are what the REST API will replace with its authenticated ones.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        identity: Identity | None = None,
        auth: AuthMethod = AuthMethod.UNAUTHENTICATED_LOCAL,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self._identity = identity or StoreIdentities()
        self._auth = auth
        self._clock = clock or SystemClock()
        self._store: SqlStore | None = None
        self._ctx: Context | None = None

    def open_store(self, *, check: bool = True) -> SqlStore:
        if self._store is None:
            if self.settings.embedded:
                path = engines.sqlite_path(self.settings.database_url)
                if check and path is not None and not path.exists():
                    raise StoreError(
                        Reason.STORE_NOT_INITIALISED,
                        f"no airel store at {path}",
                        fix="run `airel init` in your project directory (or set AIREL_HOME)",
                    )
            self._store = SqlStore(
                self.settings.database_url, busy_timeout_s=self.settings.busy_timeout_s
            )
        if check:
            try:
                migrate.check_current(
                    self._store.engine, engines.redact(self.settings.database_url)
                )
            except StoreError:
                raise
            except Exception as exc:
                translated = engines.translate(exc, self.settings.database_url)
                if translated is not None:
                    raise translated from None
                raise
        return self._store

    def context(self) -> Context:
        """The service context (opens the store on first use)."""
        if self._ctx is None:
            self._ctx = Context(
                store=self.open_store(),
                blobs=BlobStore(self.settings.artifact_root),
                actor=self.settings.actor,
                identity=self._identity,
                limits=ParseLimits(max_bytes=self.settings.max_document_bytes),
                auth=self._auth,
                clock=self._clock,
                parsers={"feature_spec": _feature_spec_fields},
            )
        return self._ctx

    def close(self) -> None:
        """Release database connections."""
        if self._store is not None:
            self._store.close()
        self._store = None
        self._ctx = None

    def init(self) -> dict[str, Any]:
        """Create the store (directory, schema, store id) if needed; safe to repeat."""
        if self.settings.embedded:
            path = engines.sqlite_path(self.settings.database_url)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
        self.settings.artifact_root.mkdir(parents=True, exist_ok=True)
        before, after = self.upgrade()
        with self.open_store().read() as tx:
            store_id = tx.store_id()
        return {
            "store_id": store_id,
            "database": engines.redact(self.settings.database_url),
            "artifacts": str(self.settings.artifact_root),
            "schema_before": before,
            "schema": after,
        }

    def upgrade(self) -> tuple[str | None, str]:
        """Apply pending migrations (``airel db upgrade``); give a new store its id.

        Creating the store and every schema change are audited like any other state change.
        A store without role grants gets the configuration's ``[identities]`` as its first
        grants (and the acting identity ``admin`` if they name none), bound to that entry;
        afterwards the store's grants are authoritative.
        """
        store = self.open_store(check=False)
        try:
            before, after = migrate.upgrade(store.engine)
        except Exception as exc:
            translated = engines.translate(exc, self.settings.database_url)
            if translated is not None:
                raise translated from None
            raise
        actor = self.settings.actor

        def write_init(tx: WriteTx) -> None:
            seeded = identities.seed_grants(
                tx, actor, self.settings.identities, at=stamp(self._clock.now())
            )
            if not tx.store_id():
                store_id = str(uuid.uuid4())
                tx.set_store_id(store_id)
                tx.append_audit(
                    actor=actor,
                    action="store.init",
                    subject="store",
                    before=None,
                    after=None,
                    details={"store_id": store_id, "schema": after, "roles": seeded},
                )
            elif before != after:
                tx.append_audit(
                    actor=actor,
                    action="store.migrate",
                    subject="store",
                    before=None,
                    after=None,
                    details={"from": before, "to": after, "roles": seeded},
                )
                # Records written before the chain bound them: vouch for them as they are now
                # (an edit made before this upgrade cannot be detected any more; say so).
                rows = tx.unaudited_rows()
                for i in range(0, len(rows), BASELINE_CHUNK):
                    tx.queue_records(rows[i : i + BASELINE_CHUNK])
                    tx.append_audit(
                        actor=actor,
                        action="audit.baseline",
                        subject="store",
                        before=None,
                        after=None,
                        details={
                            "count": len(rows[i : i + BASELINE_CHUNK]),
                            "note": "records stored before they were bound to the audit "
                            "chain, vouched for as found at this upgrade",
                        },
                    )
            elif seeded:
                tx.append_audit(
                    actor=actor,
                    action="role.seed",
                    subject="store",
                    before=None,
                    after=None,
                    details={"roles": seeded},
                )

        with store.read() as tx:
            needs_write = (
                not tx.store_id()
                or before != after
                or not tx.list_role_grants(include_revoked=True)
            )
        if needs_write:
            store.write(write_init)
        return before, after
