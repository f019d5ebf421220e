"""Commands: ``register <kind>``, ``component show|list|diff``, ``alias set|history``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

from airel.cli import output
from airel.cli.app import JsonOpt, client, command
from airel.domain.release.kinds import ComponentKind

if TYPE_CHECKING:  # models load with the command that runs, not for --help (issue 10)
    from airel.domain.release.components import ComponentVersion

component_app = typer.Typer(help="Read registered component versions.", no_args_is_help=True)
alias_app = typer.Typer(help="Movable aliases such as name@production.", no_args_is_help=True)

KindArg = Annotated[ComponentKind, typer.Argument(help="Component kind.", case_sensitive=False)]


def _show(component: ComponentVersion) -> None:
    output.kv(
        f"{component.kind.value} {component.name}:{component.version}",
        [
            ("digest", component.digest),
            ("artifact", component.artifact.digest if component.artifact else None),
            ("parents", ", ".join(component.parents) or "-"),
            ("created", f"{component.created_at} by {component.created_by}"),
            *sorted((k, v) for k, v in component.fields.items() if k != "text"),
        ],
    )


@command
def register(
    kind: KindArg,
    spec: Annotated[Path, typer.Argument(help="Spec file (YAML or JSON).")],
    base_dir: Annotated[
        Path | None, typer.Option(help="Directory artifact paths are relative to.")
    ] = None,
    as_json: JsonOpt = False,
) -> int:
    """Register a component version from its spec; artifacts are hashed into the CAS."""
    if as_json:
        result = client().registry.register(spec, kind=kind, base_dir=base_dir)
    else:
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            transient=True,
            console=output.err,
        ) as progress:
            task = progress.add_task(f"hashing {spec.name}", total=None)
            result = client().registry.register(
                spec,
                kind=kind,
                base_dir=base_dir,
                on_progress=lambda done: progress.update(task, completed=done),
            )
    c = result.component
    if as_json:
        output.emit_json({"created": result.created, "component": c})
    else:
        state = "registered" if result.created else "already registered (unchanged)"
        output.ok(f"{c.kind.value} {c.name}:{c.version} {state}  {c.digest}")
    return output.EXIT_OK


@command
def component_show(
    kind: KindArg,
    ref: Annotated[str, typer.Argument(help="name:version, name@alias or name")],
    as_json: JsonOpt = False,
) -> int:
    """Show one component version with all its fields."""
    component = client().registry.component(kind, ref)
    if as_json:
        output.emit_json(component)
    else:
        _show(component)
        text = component.text()
        if text:
            output.out.print("[bold]text[/]")
            output.out.print(text, markup=False)
    return output.EXIT_OK


@command
def component_list(
    kind: Annotated[ComponentKind | None, typer.Option(case_sensitive=False)] = None,
    as_json: JsonOpt = False,
) -> int:
    """List registered component versions."""
    found = client().registry.components(kind)
    if as_json:
        output.emit_json(found)
    else:
        output.table(
            "components",
            ["kind", "name", "version", "digest", "created"],
            [(c.kind.value, c.name, c.version, c.digest[:19], c.created_at) for c in found],
        )
    return output.EXIT_OK


@command
def component_diff(
    kind: KindArg,
    name: str,
    old: str,
    new: str,
    as_json: JsonOpt = False,
) -> int:
    """Field changes between two versions, and a unified diff of prompt/policy text (R4)."""
    diff = client().registry.diff(kind, name, old, new)
    if as_json:
        output.emit_json(diff)
        return output.EXIT_OK
    output.table(
        f"{kind.value} {name}: {old} -> {new}",
        ["field", old, new],
        [(k, a, b) for k, (a, b) in diff.changed_fields.items()],
    )
    if diff.text_diff is not None:
        output.out.print(f"text hash {diff.old_text_hash} -> {diff.new_text_hash}")
        output.out.print(diff.text_diff or "(text unchanged)", markup=False)
    return output.EXIT_OK


@command
def alias_set(
    kind: KindArg,
    name: str,
    alias: str,
    version: str,
    expect: Annotated[
        int | None,
        typer.Option(help="Compare-and-set: the row version you read (0 = must not exist)."),
    ] = None,
    reason: Annotated[str | None, typer.Option(help="Why (kept in the history).")] = None,
    as_json: JsonOpt = False,
) -> int:
    """Point name@alias at a registered version; the move is kept in the alias history."""
    result, moved = client().registry.set_alias(
        kind, name, alias, version, expected_row_version=expect, reason=reason
    )
    if as_json:
        output.emit_json({"moved": moved, "alias": result})
    else:
        what = "moved to" if moved else "already at"
        output.ok(f"{name}@{alias} {what} {version} (row version {result.row_version})")
    return output.EXIT_OK


@command
def alias_history(kind: KindArg, name: str, alias: str, as_json: JsonOpt = False) -> int:
    """Every move of an alias, oldest first."""
    history = client().registry.alias_history(kind, name, alias)
    if as_json:
        output.emit_json(history)
    else:
        output.table(
            f"{kind.value} {name}@{alias}",
            ["seq", "from", "to", "at", "actor", "reason"],
            [(m.seq, m.from_version, m.to_version, m.at, m.actor, m.reason) for m in history],
        )
    return output.EXIT_OK


# The group's commands (the group itself is listed in airel.cli.table).
component_app.command("register")(register)
component_app.command("show")(component_show)
component_app.command("list")(component_list)
component_app.command("diff")(component_diff)
alias_app.command("set")(alias_set)
alias_app.command("history")(alias_history)
