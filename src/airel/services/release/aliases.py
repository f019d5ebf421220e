"""Use cases: move an alias with compare-and-set, and read its whole history.

An alias (``fraud-score@production``) points at one immutable version. Every move is a
compare-and-set on the alias's ``row_version`` plus an appended history row and audit entry,
all in one transaction: concurrent movers never lose an update, they get STALE_VERSION.
"""

from __future__ import annotations

from airel.domain.kernel.names import NameClass, check_name
from airel.domain.release.alias import Alias, AliasMove
from airel.domain.release.components import ComponentKey
from airel.domain.release.kinds import ComponentKind
from airel.errors import ConflictError, NotFoundError, Reason
from airel.services.kernel.context import Context
from airel.store.contract import WriteTx


def set_alias(
    ctx: Context,
    kind: ComponentKind,
    name: str,
    alias: str,
    version: str,
    *,
    expected_row_version: int | None = None,
    reason: str | None = None,
) -> tuple[Alias, bool]:
    """Point ``name@alias`` at ``version``; return (alias, moved). A no-op move returns False.

    ``expected_row_version`` makes the move conditional: 0 means "the alias must not exist
    yet", N means "the alias must still be at row version N".
    """
    check_name(name, NameClass.COMPONENT, field="name")
    check_name(alias, NameClass.ALIAS, field="alias")
    check_name(version, NameClass.VERSION, field="version")
    key = ComponentKey(kind, name, version)

    def write(tx: WriteTx) -> tuple[Alias, bool]:
        if tx.get_component(key) is None:
            raise NotFoundError(
                Reason.COMPONENT_NOT_FOUND,
                f"{kind.value} {name}:{version} is not registered",
                fix=f"register it first (`airel register {kind.value} SPEC`), or pick a version "
                f"from `airel component list --kind {kind.value}`",
            )
        current = tx.get_alias(kind, name, alias)
        current_row = current.row_version if current else 0
        if expected_row_version is not None and expected_row_version != current_row:
            raise ConflictError(
                Reason.STALE_VERSION,
                f"{name}@{alias} is at row version {current_row}, not {expected_row_version}",
                fix=f"re-read it (`airel alias history {kind.value} {name} {alias}`) and retry "
                f"with --expect {current_row}",
                details={"current_row_version": current_row},
            )
        if current is not None and current.version == version:
            return current, False
        now = ctx.stamp()
        updated = Alias(
            kind=kind,
            name=name,
            alias=alias,
            version=version,
            row_version=current_row + 1,
            updated_at=now,
            updated_by=ctx.actor,
        )
        tx.set_alias(updated, expected_row_version=current.row_version if current else None)
        tx.insert_alias_move(
            AliasMove(
                kind=kind,
                name=name,
                alias=alias,
                seq=updated.row_version,
                from_version=current.version if current else None,
                to_version=version,
                at=now,
                actor=ctx.actor,
                reason=reason,
            )
        )
        with_digest = tx.get_component(key)
        before = tx.get_component(ComponentKey(kind, name, current.version)) if current else None
        tx.append_audit(
            actor=ctx.actor,
            action="alias.set",
            subject=f"{kind.value}/{name}@{alias}",
            before=before.digest if before else None,
            after=with_digest.digest if with_digest else None,
            details={
                "from": current.version if current else None,
                "to": version,
                "row_version": updated.row_version,
                "reason": reason,
            },
        )
        return updated, True

    return ctx.store.write(write)


def alias_history(ctx: Context, kind: ComponentKind, name: str, alias: str) -> list[AliasMove]:
    """Every move of ``name@alias``, oldest first."""
    with ctx.store.read() as tx:
        history = tx.alias_history(kind, name, alias)
    if not history:
        raise NotFoundError(
            Reason.ALIAS_NOT_FOUND,
            f"{kind.value} alias {name}@{alias} does not exist",
            fix=f"set it with `airel alias set {kind.value} {name} {alias} VERSION`",
        )
    return history
