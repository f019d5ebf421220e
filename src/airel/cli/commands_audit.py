"""Commands: ``audit verify|checkpoint|keygen``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from airel.cli import output
from airel.cli.app import JsonOpt, client, command

audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)


@command
def verify(
    checkpoint: Annotated[
        Path | None, typer.Option(help="A signed checkpoint kept outside the database.")
    ] = None,
    public_key: Annotated[
        Path | None, typer.Option(help="The trusted public key the checkpoint must be signed by.")
    ] = None,
    chain_only: Annotated[
        bool,
        typer.Option("--chain-only", help="Skip re-hashing the records (chain links only)."),
    ] = False,
    as_json: JsonOpt = False,
) -> int:
    """Verify every entry and link of the audit chain and re-hash every live record
    (bundles, components, aliases, evidence, approvals, waivers, decisions …) against the
    digest its audit entry recorded; exit 1 when anything is wrong.
    """
    report = client().audit.verify(
        checkpoint=checkpoint, public_key=public_key, records=not chain_only
    )
    if as_json:
        output.emit_json(report)
    elif report.ok:
        extra = f", checkpoint at seq {report.checkpoint_seq} holds" if checkpoint else ""
        rows = f", {report.records_checked} records match" if not chain_only else ""
        output.ok(
            f"audit chain intact: {report.entries} entries{rows}, head {report.head_hash}{extra}"
        )
    else:
        for p in report.problems:
            output.fail(f"seq {p.seq}: {p.kind.value}: {p.detail}")
        for r in report.record_problems:
            output.fail(f"record {r['table']}{r['key']}: {r['kind']}: {r['detail']}")
    return output.EXIT_OK if report.ok else output.EXIT_CHECK_FAILED


@command
def checkpoint(
    key: Annotated[Path, typer.Option(help="Ed25519 private key (PEM) from `audit keygen`.")],
    out: Annotated[Path, typer.Option(help="Where to write the checkpoint JSON.")],
    as_json: JsonOpt = False,
) -> int:
    """Sign the current chain head; keep the file outside the database."""
    data = client().audit.checkpoint(key, out)
    if as_json:
        output.emit_json(data)
    else:
        output.ok(f"checkpoint of seq {data['seq']} ({data['entry_hash']}) written to {out}")
    return output.EXIT_OK


@command
def keygen(
    private: Annotated[Path, typer.Option(help="Private key file to create (mode 0600).")],
    public: Annotated[Path, typer.Option(help="Public key file to create.")],
    as_json: JsonOpt = False,
) -> int:
    """Create an Ed25519 key pair for checkpoints."""
    from airel.client import Client  # noqa: PLC0415 -- the SDK loads when the command runs

    raw = Client.generate_key(private, public)
    if as_json:
        output.emit_json({"private": str(private), "public": str(public), "public_key": raw})
    else:
        output.ok(f"wrote {private} and {public}")
    return output.EXIT_OK


# The group's commands (the group itself is listed in airel.cli.table).
audit_app.command("verify")(verify)
audit_app.command("checkpoint")(checkpoint)
audit_app.command("keygen")(keygen)
