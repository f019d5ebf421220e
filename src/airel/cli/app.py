"""The Typer app, global options and the command wrapper shared by every command module.

Global options (``--home``, ``--database-url``, ``--actor``) become Settings arguments, the
highest-precedence source. ``--json`` is accepted before the command too (``airel --json
bundle list`` is ``airel bundle list --json``). Errors are rendered once, here, and mapped to
exit codes by :mod:`airel.cli.output`. :func:`finish_help` gives every command its examples
and the command classes that show flags as flags.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from difflib import get_close_matches
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, cast

import typer
import typer.main
from typer import _click
from typer._coercion import RuntimeParam
from typer.core import TyperCommand, TyperGroup, TyperOption
from typer.models import CommandInfo, TyperInfo

from airel.cli import examples, output
from airel.cli.main import version_text
from airel.cli.table import COMMANDS, Entry
from airel.errors import AirelError

if TYPE_CHECKING:
    from airel.client import Client

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class _PlainValue(RuntimeParam):
    """A flag's or a root option's value converted without Typer's per-parameter pydantic
    ``TypeAdapter``: building one imports pydantic (≈130 ms), which a ``--help`` never needs.
    ``None`` stays ``None`` (Typer's :meth:`RuntimeParam.coerce`)."""

    parameter_info: Any
    annotation: Any
    convert: Callable[[Any], Any]

    @classmethod
    def of(cls, param: Any, convert: Callable[[Any], Any]) -> _PlainValue:
        descriptor = param.type_descriptor
        return cls(descriptor.parameter_info, descriptor.annotation, convert)

    def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
        return self.convert(value)


_PLAIN_ROOT_OPTIONS = {"home": Path, "database_url": str, "actor": str}


def _flags_as_flags(params: list[Any]) -> list[Any]:
    """A boolean flag takes no value: help shows ``--json``, not ``--json <bool>`` (Typer's
    rich help prints a type placeholder for every option unless it has a metavar). Plain text
    and flag values are converted with :class:`_PlainValue`, not a pydantic adapter; numbers,
    paths, choices and lists keep Typer's (their bounds and checks live there)."""
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = ""
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is None or param._runtime_param is not None:
            continue
        plain = descriptor.annotation in (bool, str) and descriptor.parameter_info.parser is None
        if plain and not (param.multiple or param.nargs != 1):
            param._runtime_param = _PlainValue.of(param, descriptor.annotation)
    return params


class AirelCommand(TyperCommand):
    """A leaf command: flags shown as flags; a ``--json`` given before the command is its own."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _flags_as_flags(super().get_params(ctx))

    def invoke(self, ctx: Any) -> Any:
        if ctx.find_root().params.get("as_json"):
            if "as_json" not in ctx.params:
                raise typer.BadParameter(
                    f"`{ctx.command_path}` has no JSON output; drop --json",
                    ctx=ctx,
                    param_hint="'--json'",
                )
            ctx.params["as_json"] = True
        return super().invoke(ctx)


class AirelGroup(TyperGroup):
    """A command group: flags shown as flags."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _flags_as_flags(super().get_params(ctx))


class DefaultVerbGroup(AirelGroup):
    """A group whose first argument may be an operand of its default verb: ``airel rollback
    RELEASE …`` runs ``airel rollback apply RELEASE …``; ``airel rollback drill …`` stays."""

    default_verb = "apply"

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args = [self.default_verb, *args]
        return super().resolve_command(ctx, args)


class LazyRoot(AirelGroup):
    """The root: its commands come from :data:`airel.cli.table.COMMANDS` and each command's
    module is imported only when that command runs or shows its own help. ``airel --help``
    lists the table's summaries without importing any command module."""

    _listing = False

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)
        for param in params:
            convert = _PLAIN_ROOT_OPTIONS.get(param.name or "")
            if convert is not None and param._runtime_param is None:
                param._runtime_param = _PlainValue.of(param, convert)
        return params

    def list_commands(self, ctx: Any) -> list[str]:
        return [*COMMANDS, *(name for name in self.commands if name not in COMMANDS)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        loaded = self.commands.get(cmd_name)
        if loaded is not None:
            return loaded
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        if self._listing:  # the root's help: a stand-in with the summary is enough
            return TyperCommand(name=cmd_name, help=entry.summary, short_help=entry.summary)
        command = load_command(cmd_name, entry, self.rich_markup_mode)
        self.commands[cmd_name] = command
        return command

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except _click.exceptions.UsageError as exc:  # suggest from the table, not the loaded
            matches = get_close_matches(args[0], list(COMMANDS)) if args else []
            if matches and "Did you mean" not in exc.message:
                exc.message = f"{exc.message.rstrip('.')}. Did you mean {matches[0]!r}?"
            raise

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def load_all(self, ctx: Any = None) -> LazyRoot:
        """Every command loaded (the CLI reference and the help tests walk the whole tree)."""
        for name in COMMANDS:
            self.get_command(ctx, name)
        return self


def load_command(name: str, entry: Entry, markup: Any) -> Any:
    """Import ``entry``'s module and build its Click command (a group with its commands, or
    one verb), with the classes and help examples of :func:`finish_help`."""
    target = getattr(importlib.import_module(f"airel.cli.{entry.module}"), entry.attr)
    if entry.group:
        finish_help(target, (name,))
        own = target.info.cls
        cls = own if isinstance(own, type) and issubclass(own, AirelGroup) else AirelGroup
        info = TyperInfo(target, name=name, cls=cls)
        return typer.main.get_group_from_info(
            info, pretty_exceptions_short=True, suggest_commands=True, rich_markup_mode=markup
        )
    doc = inspect.getdoc(target) or ""
    if entry.canonical:
        doc += f"\n\nAlias of `airel {entry.canonical}`, the canonical form."
    verb = CommandInfo(
        name=name,
        callback=target,
        cls=AirelCommand,
        help=doc,
        epilog=examples.epilog(name),
        short_help=entry.summary,
    )
    return typer.main.get_command_from_info(
        verb, pretty_exceptions_short=True, rich_markup_mode=markup
    )


def command_tree() -> LazyRoot:
    """The root Click command with every command loaded."""
    root = typer.main.get_command(app)
    assert isinstance(root, LazyRoot)
    return root.load_all()


app = typer.Typer(
    name="airel",
    help="Release AI systems under control: bundles, registries, lineage, audit.",
    cls=LazyRoot,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Markdown: docstring paragraphs re-wrap to the terminal; the examples stay code blocks.
    rich_markup_mode="markdown",
)

_state: dict[str, Any] = {}

# Name the parameter ``as_json``: a --json before the command (AirelCommand.invoke) and the
# error rendering of ``command`` find it by that name.
JsonOpt = Annotated[bool, typer.Option("--json", help="Print plain JSON for CI.")]


ReleaseOpt = Annotated[
    str | None,
    typer.Option(
        "--release", help="Link the stored result as gate evidence of this frozen release."
    ),
]


def _print_version(value: bool) -> None:
    if value:
        typer.echo(version_text())
        raise typer.Exit()


@app.callback()
def _global(
    home: Annotated[
        Path | None, typer.Option(help="Store directory (default ./.airel).", envvar=None)
    ] = None,
    database_url: Annotated[
        str | None, typer.Option(help="Metadata store URL (SQLite or PostgreSQL).")
    ] = None,
    actor: Annotated[str | None, typer.Option(help="Who is acting (audit log).")] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help="Print plain JSON for CI: the same as --json after the command."
        ),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            "-V",
            is_eager=True,
            callback=_print_version,
            help="Print the airel version and exit.",
        ),
    ] = False,
) -> None:
    """Global options; they override airel.toml and AIREL_* variables."""
    _state["overrides"] = {"home": home, "database_url": database_url, "actor": actor}


def finish_help(typer_app: typer.Typer, path: tuple[str, ...] = ()) -> None:
    """One pass over the command tree, once every module registered its commands: each command
    gets the classes above and its examples from :mod:`airel.cli.examples` as help epilog."""
    for info in typer_app.registered_commands:
        fallback = info.callback.__name__ if info.callback else ""
        name = info.name or typer.main.get_command_name(fallback)
        if info.cls in (None, TyperCommand):
            info.cls = AirelCommand
        info.epilog = info.epilog or examples.epilog(" ".join((*path, name)))
    for group in typer_app.registered_groups:
        if not isinstance(group.cls, type) or group.cls is TyperGroup:  # unset or the default
            group.cls = AirelGroup
        if group.typer_instance is not None and isinstance(group.name, str):
            finish_help(group.typer_instance, (*path, group.name))


def client() -> Client:
    """The Client for this invocation (the SDK is imported here, when a command needs it)."""
    if "client" not in _state:
        from airel.client import Client  # noqa: PLC0415 -- keeps `airel --help` light
        from airel.config import load_settings  # noqa: PLC0415

        _state["client"] = Client(load_settings(_state.get("overrides")))
    result: Client = _state["client"]
    return result


def require_release(release: str | None) -> None:
    """``--release``: refuse an unknown release before any work is done."""
    if release is not None:
        client().bundles.get(release)


def report_evidence(
    release: str | None,
    *,
    link: dict[str, str],
    passed: bool,
    markdown: str,
    payload: dict[str, Any],
    as_json: bool,
    write_to: Path | None = None,
    verdict: str | None = None,
) -> int:
    """The end every evidence-producing command shares (``data validate``, ``eval run``,
    ``eval compare``): link the stored record to ``--release`` as gate evidence, write the
    report file, print JSON (``payload`` plus ``release``) or the Markdown report with a ✓/✗
    ``verdict`` line, and return exit 0, or 1 when the evidence did not pass."""
    if release is not None:
        client().gates.link_evidence(release, **link)
    if write_to is not None:
        write_to.write_text(markdown, encoding="utf-8")
    if as_json:
        output.emit_json({**payload, "release": release})
    else:
        output.out.print(markdown, markup=False)
        if verdict is not None:
            (output.ok if passed else output.fail)(verdict)
        if release is not None:
            output.ok(f"linked to {release} as gate evidence")
    return output.EXIT_OK if passed else output.EXIT_CHECK_FAILED


def command(fn: F) -> F:
    """Wrap a command: render AirelError with its fix and exit with the mapped code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        as_json = bool(kwargs.get("as_json", False))
        output.reset_consoles()
        try:
            code = fn(*args, **kwargs)
        except AirelError as exc:
            raise typer.Exit(output.report_error(exc, as_json=as_json)) from None
        finally:
            if "client" in _state:
                _state.pop("client").close()
        raise typer.Exit(code or 0)

    return cast(F, wrapper)
