"""Docs stay honest: the CLI reference is generated from the code, the README opens with the
two commands, every setting is documented, and a clone is self-contained: no Markdown link
leaves the repository or points at a missing file, and every requirement ID (B1, R7 …) and
playbook section (§3.3 …) the docs and test docstrings cite is defined in docs/requirements.md."""

from __future__ import annotations

import ast
import fnmatch
import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from airel.config import VARIABLES

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "docs" / "requirements.md"


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("gen_cli_docs", ROOT / "scripts/gen_cli_docs.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_reference_is_current() -> None:
    """docs/cli.md equals what scripts/gen_cli_docs.py renders (regenerate it if not)."""
    rendered = _generator().render()
    assert (ROOT / "docs/cli.md").read_text(encoding="utf-8").strip() == rendered.strip()


def test_every_command_is_documented() -> None:
    """Each leaf command has a section."""
    text = (ROOT / "docs/cli.md").read_text(encoding="utf-8")
    for name in (
        "init",
        "register",
        "bundle create",
        "bundle diff",
        "bundle verify",
        "bundle list",
        "bundle show",
        "alias set",
        "alias history",
        "lineage",
        "audit verify",
        "audit checkpoint",
        "db upgrade",
        "config show",
        "artifact verify",
    ):
        assert f"## airel {name}\n" in text, name


def test_readme_opens_with_the_two_commands() -> None:
    """The README's first code block runs the demo and the tests."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("```")[1]
    assert "./scripts/demo" in block
    assert "./scripts/test" in block
    assert (ROOT / "scripts/demo").exists()
    assert (ROOT / "scripts/test").exists()


def test_every_setting_is_documented() -> None:
    """Each AIREL_* variable appears in the README's configuration table."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for var in VARIABLES:
        assert f"`{var.env}`" in text, var.env


# -- a clone is self-contained (issue 18) --

FENCE = re.compile(r"^ {0,3}(```|~~~).*?^ {0,3}\1[^\n]*$", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)", re.DOTALL)
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*(<[^>]*>|[^\s)]*)(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)", re.MULTILINE)
HTML_LINK = re.compile(r"\b(?:href|src)\s*=\s*[\"']([^\"']*)[\"']", re.IGNORECASE)
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
WEB_SCHEMES = ("http:", "https:", "mailto:")
HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)

# A requirement ID, or a range of them ("R1–R4", "E1-E3"); gate names G0–G9 share the G.
REQUIREMENT_ID = re.compile(r"(?<![\w.])([BRVEGPTCX])(\d{1,2})(?:\s*[–-]\s*\1?(\d{1,2}))?(?!\w)")
SECTION = re.compile(r"§(\d+(?:\.\d+)?)")


def _ignored(path: Path) -> bool:
    """Whether ``path`` (inside the repository) lies in a directory .gitignore ignores: such
    files are generated, absent from a clone, so docs are not checked there and must not link
    there."""
    rel = path.relative_to(ROOT).as_posix()
    parts = rel.split("/")
    for line in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines():
        rule = line.strip()
        if not rule.endswith("/") or rule.startswith(("#", "!")):
            continue
        rule = rule.strip("/")
        if "/" in rule:
            if rel == rule or rel.startswith(rule + "/"):
                return True
        elif any(fnmatch.fnmatch(part, rule) for part in parts):
            return True
    return False


def markdown_files() -> list[Path]:
    """The repository's Markdown: README, changelog, docs/**, examples/** (generated output and
    git-ignored directories left out)."""
    files = [ROOT / "README.md", ROOT / "CHANGELOG.md"]
    for folder in ("docs", "examples"):
        files += sorted(p for p in (ROOT / folder).rglob("*.md") if not _ignored(p))
    return files


def _prose(text: str) -> str:
    """Markdown without fenced code blocks and code spans (what is in code is not a link)."""
    return CODE_SPAN.sub("code", FENCE.sub("", text))


def link_targets(text: str) -> list[str]:
    """Every link target in Markdown text: inline links and images, reference definitions,
    HTML href/src."""
    prose = _prose(text)
    found = [*INLINE_LINK.findall(prose), *REFERENCE_LINK.findall(prose)]
    found += HTML_LINK.findall(prose)
    return [target.strip("<>") for target in found]


def anchors(path: Path) -> set[str]:
    """GitHub's heading anchors of a Markdown file (lower case, punctuation dropped, spaces to
    hyphens, "-1", "-2" … for repeats)."""
    seen: dict[str, int] = {}
    result: set[str] = set()
    for heading in HEADING.findall(FENCE.sub("", path.read_text(encoding="utf-8"))):
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "")
        slug = re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        result.add(slug if count == 0 else f"{slug}-{count}")
    return result


def link_problem(source: Path, target: str) -> str | None:
    """Why ``target``, linked from ``source``, breaks in a fresh clone (None when it works)."""
    if target.lower().startswith(WEB_SCHEMES):
        return None
    if SCHEME.match(target):
        return "a non-web URL (file:, …) points outside the repository"
    path_part, _, anchor = target.partition("#")
    path_part = unquote(path_part.split("?", 1)[0])
    if path_part.startswith("/"):
        return "an absolute path: links must be relative to the file"
    resolved = (source.parent / path_part).resolve() if path_part else source
    if not resolved.is_relative_to(ROOT):
        return "outside the repository"
    if not resolved.exists():
        return "no such file"
    if _ignored(resolved):
        return "a git-ignored (generated) path, absent from a clone"
    if anchor and resolved.suffix == ".md" and unquote(anchor) not in anchors(resolved):
        return f"no heading with anchor #{anchor}"
    return None


def test_link_extraction() -> None:
    """The checker sees inline links, images, reference definitions and HTML links, but not
    code; it refuses outside, absolute, missing and ignored targets and checks anchors."""
    text = (
        '[a](docs/specs.md) ![b](<img x.png>) [`c`](../c.md "t")\n'
        '[d]: https://example.org\n<a href="x.md">e</a>\n'
        "`[no](code.md)`\n```\n[no](fence.md)\n```\n"
    )
    assert link_targets(text) == [
        "docs/specs.md",
        "img x.png",
        "../c.md",
        "https://example.org",
        "x.md",
    ]
    readme = ROOT / "README.md"
    assert link_problem(readme, "docs/specs.md") is None
    assert link_problem(readme, "https://example.org/x") is None
    assert link_problem(readme, "#use") is None
    assert link_problem(readme, "../shared/SPEC.md") == "outside the repository"
    assert link_problem(readme, "/etc/passwd") is not None
    assert link_problem(readme, "file:///etc/passwd") is not None
    assert link_problem(readme, "docs/nope.md") == "no such file"
    assert link_problem(readme, "docs/specs.md#no-such-heading") is not None
    assert link_problem(readme, "docs/requirements.md#playbook-sections") is None
    assert link_problem(readme, ".venv/") is not None


def test_markdown_links_stay_inside_the_repository() -> None:
    """No Markdown file links outside the repository, to a missing file or anchor, or into a
    git-ignored directory: a clone is self-contained."""
    files = markdown_files()
    assert ROOT / "docs" / "requirements.md" in files
    problems = [
        f"{source.relative_to(ROOT)}: ({target}) {problem}"
        for source in files
        for target in link_targets(source.read_text(encoding="utf-8"))
        if (problem := link_problem(source, target))
    ]
    assert not problems, "\n".join(problems)


def _docstrings() -> Iterator[tuple[str, str]]:
    """(where, text) for every module, class and function docstring under tests/."""
    for path in sorted((ROOT / "tests").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                doc = ast.get_docstring(node)
                if doc:
                    yield f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 1)}", doc


def _citing_texts() -> Iterator[tuple[str, str]]:
    """Everything that cites requirement IDs: the Markdown and the test docstrings."""
    for path in markdown_files():
        yield str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")
    yield from _docstrings()


def cited_ids(text: str) -> set[str]:
    """Requirement IDs in ``text``; a range ("R1–R4") cites each ID in it."""
    ids: set[str] = set()
    for family, low, high in REQUIREMENT_ID.findall(text):
        ids.update(f"{family}{n}" for n in range(int(low), int(high or low) + 1))
    return ids


def defined_ids() -> set[str]:
    """The IDs docs/requirements.md defines: its requirement bullets and gate-stack rows."""
    text = REQUIREMENTS.read_text(encoding="utf-8")
    requirements = re.findall(r"^- ([A-Z]\d+) ", text, re.MULTILINE)
    gates = re.findall(r"^\| (G\d) \|", text, re.MULTILINE)
    return {*requirements, *gates}


def test_requirement_id_extraction() -> None:
    """IDs and ranges are found; codes, hashes, versions and words are not IDs."""
    assert cited_ids("B1, R1–R4 and E1-E3; G0–G2") == {
        "B1", "R1", "R2", "R3", "R4", "E1", "E2", "E3", "G0", "G1", "G2",
    }  # fmt: skip
    assert cited_ids("sha256 0xB1, v1.B2, E2E, T10x, b1, Tier 1") == set()


def test_every_cited_requirement_is_defined() -> None:
    """Every requirement ID the docs and test docstrings cite exists in docs/requirements.md."""
    defined = defined_ids()
    assert {"B1", "R8", "V4", "E4", "G7", "P7", "T4", "C4", "X5", "G0", "G9"} <= defined
    missing = sorted(
        f"{where}: {rid}" for where, text in _citing_texts() for rid in cited_ids(text) - defined
    )
    assert not missing, "\n".join(missing)


def test_every_cited_playbook_section_is_indexed() -> None:
    """Every § the docs and test docstrings cite is named in docs/requirements.md's index."""
    text = REQUIREMENTS.read_text(encoding="utf-8")
    indexed = set(re.findall(r"^\| §(\S+) \|", text, re.MULTILINE))
    missing = sorted(
        f"{where}: §{section}"
        for where, text in _citing_texts()
        for section in set(SECTION.findall(text)) - indexed
    )
    assert not missing, "\n".join(missing)
