"""Commands: ``init``, ``db upgrade``, ``config show``, ``artifact``, ``lineage``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from airel.cli import output
from airel.cli.app import JsonOpt, client, command
from airel.errors import StoreError

if TYPE_CHECKING:  # models load with the command that runs, not for --help (issue 10)
    from airel.domain.release.artifact import StagingReport

db_app = typer.Typer(help="Database schema management.", no_args_is_help=True)
config_app = typer.Typer(help="Show settings and where they came from.", no_args_is_help=True)
artifact_app = typer.Typer(help="Content-addressed artifacts.", no_args_is_help=True)


@command
def init(as_json: JsonOpt = False) -> int:
    """Create the store (./.airel by default): schema, artifact directory, store id."""
    info = client().init()
    if as_json:
        output.emit_json(info)
    else:
        output.ok(f"airel store ready: {info['database']} (schema {info['schema']})")
        output.kv("store", info.items())
    return output.EXIT_OK


@command
def db_upgrade(as_json: JsonOpt = False) -> int:
    """Apply pending schema migrations."""
    before, after = client().upgrade()
    if as_json:
        output.emit_json({"before": before, "after": after})
    else:
        output.ok(f"schema {before or '(empty)'} -> {after}")
    return output.EXIT_OK


@command
def config_show(as_json: JsonOpt = False) -> int:
    """Every setting, its value and where it came from; and the role grants in the store,
    which are authoritative (`[identities]` in a config file only seeds a new store)."""
    c = client()
    settings = c.settings
    values = settings.as_dict()
    seed = {name: sorted(r.value for r in roles) for name, roles in settings.identities.items()}
    grants: dict[str, list[str]] = {}
    try:
        for g in c.identity.role_grants():
            grants.setdefault(g.identity, []).append(g.role.value)
    except StoreError:  # no usable store yet (`config show` works before `init`)
        pass
    note = (
        "roles come from the store's grants (`airel role list`), changed by an admin with "
        "`airel role grant|revoke`; [identities] in a config file only seeds a new store at "
        "`airel init` and is ignored afterwards"
    )
    if as_json:
        output.emit_json(
            {**values, "identities": grants, "identities_seed": seed, "identities_note": note}
        )
    else:
        output.table(
            "settings",
            ["name", "value", "source", "variable"],
            [(k, v["value"], v["source"], v["env"]) for k, v in values.items()],
        )
        output.table(
            "role grants in the store (authoritative; the actor approves as itself)",
            ["identity", "roles"],
            [(name, ", ".join(roles)) for name, roles in sorted(grants.items())],
        )
        if seed:
            output.out.print(
                "note: [identities] in the config file is ignored for authorisation (it only "
                "seeds a store without grants at `airel init`)",
                markup=False,
            )
    return output.EXIT_OK


def _staging_line(report: StagingReport, verb: str) -> str:
    removed = (
        f"{report.removed_files} file(s), {report.removed_bytes:,} bytes {verb}; " if verb else ""
    )
    return (
        f"staging: {removed}{report.stale_files} stale file(s), {report.stale_bytes:,} bytes "
        f"left by interrupted ingests; {report.live} ingest(s) in progress"
    )


@command
def artifact_verify(
    digest: Annotated[
        str | None, typer.Argument(help="One artifact (sha256:…); default all.")
    ] = None,
    as_json: JsonOpt = False,
) -> int:
    """Re-hash stored artifacts; exit 1 on any mismatch or missing blob. Also reports the
    staging files interrupted ingests left (count, bytes; removed by `airel artifact gc`)."""
    report = client().registry.artifact_report(digest)
    bad = report.bad
    if as_json:
        output.emit_json(
            {
                "ok": not bad,
                "checked": len(report.checks),
                "checks": report.checks,
                "staging": report.staging,
            }
        )
    else:
        for c in report.checks:
            (output.ok if c.ok else output.fail)(
                f"{c.digest}" + ("" if c.ok else f"  {c.problem} (found {c.actual})")
            )
        output.out.print(f"{len(report.checks)} checked, {len(bad)} bad")
        output.out.print(_staging_line(report.staging, ""))
        if report.staging.stale_files or report.staging.stale_bytes:
            output.out.print("remove them with `airel artifact gc`")
    return output.EXIT_CHECK_FAILED if bad else output.EXIT_OK


@command
def artifact_gc(as_json: JsonOpt = False) -> int:
    """Remove the staging files interrupted ingests left (never a running ingest's); exit 1
    if a stale one could not be removed."""
    report = client().registry.collect_staging()
    if as_json:
        output.emit_json(report)
    else:
        for e in report.entries:
            if e.removed:
                output.ok(f"removed {e.name}: {e.files} file(s), {e.size:,} bytes")
            elif not e.live:
                output.fail(f"could not remove {e.name}: {e.files} file(s), {e.size:,} bytes")
        output.out.print(_staging_line(report, "removed"))
    stuck = any(not e.live and not e.removed for e in report.entries)
    return output.EXIT_CHECK_FAILED if stuck else output.EXIT_OK


@command
def artifact_list(as_json: JsonOpt = False) -> int:
    """Artifacts recorded in the store."""
    refs = client().registry.artifacts()
    if as_json:
        output.emit_json(refs)
    else:
        output.table(
            "artifacts",
            ["digest", "type", "size", "files"],
            [(a.digest, a.type.value, a.size, a.files) for a in refs],
        )
    return output.EXIT_OK


@command
def lineage(
    node: Annotated[
        str,
        typer.Argument(help="release id, release/ID, kind/name, kind/name:version or @alias"),
    ],
    downstream: Annotated[
        bool, typer.Option("--downstream/--upstream", help="Walk to users (down) or inputs (up).")
    ] = False,
    depth: Annotated[int | None, typer.Option(min=1, help="Stop after N hops.")] = None,
    openlineage: Annotated[
        bool, typer.Option("--openlineage", help="Print OpenLineage 2-0-2 RunEvents (JSON).")
    ] = False,
    as_json: JsonOpt = False,
) -> int:
    """What went into a release (upstream) or which releases used a component (downstream)."""
    from airel.domain.release.lineage import Direction  # noqa: PLC0415

    direction = Direction.DOWNSTREAM if downstream else Direction.UPSTREAM
    if openlineage:
        output.emit_json(client().registry.openlineage(node, direction=direction))
        return output.EXIT_OK
    graph = client().registry.lineage(node, direction=direction, max_depth=depth)
    if as_json:
        output.emit_json({**graph.model_dump(mode="json"), "releases": graph.releases()})
        return output.EXIT_OK
    verb = "used by" if downstream else "built from"
    output.out.print(f"[bold]{graph.root}[/] {verb} {len(graph.nodes)} node(s)")
    output.table(
        f"lineage ({direction.value})",
        ["parent", "relation", "child"],
        [(e.parent, e.relation.value, e.child) for e in graph.edges],
    )
    if downstream:
        output.out.print(f"releases: {', '.join(graph.releases()) or '(none)'}")
    return output.EXIT_OK


# The group's commands (the group itself is listed in airel.cli.table).
db_app.command("upgrade")(db_upgrade)
config_app.command("show")(config_show)
artifact_app.command("verify")(artifact_verify)
artifact_app.command("list")(artifact_list)
artifact_app.command("gc")(artifact_gc)
