"""The layer rules of docs/architecture.md, enforced on the import graph, and the public surface.

domain   -> nothing in airel but airel.errors (pure: no I/O libraries either)
adapters -> domain, errors
store    -> domain, errors
services -> domain, errors, adapters, store.contract (never store.sql/engines/migrate)
client   -> anything (the composition root)
cli      -> cli, client (and its sdk facets), config, errors, domain; never services, store

Inside the domain and the services, one package per bounded context, the same names in both,
and imports follow the context DAG: kernel ← release ← data ← eval ← gate ← promotion ←
{monitoring, binder}. A context may import its own package and the contexts before it, never
one after it (issue 10).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import airel

SRC = Path(airel.__file__).parent

ALLOWED: dict[str, tuple[str, ...]] = {
    "domain": ("airel.domain", "airel.errors"),
    "adapters": ("airel.domain", "airel.errors", "airel.adapters"),
    "store": ("airel.domain", "airel.errors", "airel.store"),
    "services": (
        "airel.domain",
        "airel.errors",
        "airel.adapters",
        "airel.services",
        "airel.store.contract",
    ),
    # The gateway sits in the request path: it imports only the kernel, promotion and
    # monitoring domains, errors and its adapters — never the services or the store (the
    # composition root, airel.sdk.monitoring, hands it callables); the API and the web UI
    # (issue 13) translate, over the runtime and the SDK.
    "gateway": (
        "airel.gateway",
        "airel.domain.kernel",
        "airel.domain.promotion",
        "airel.domain.monitoring",
        "airel.errors",
        "airel.adapters",
    ),
    "api": ("airel.api", "airel.runtime", "airel.services", "airel.domain", "airel.errors"),
    "web": (
        "airel.web",
        "airel.api",
        "airel.runtime",
        "airel.services",
        "airel.domain",
        "airel.errors",
    ),
    "cli": (
        "airel.cli",
        "airel.client",
        "airel.sdk",
        "airel.config",
        "airel.errors",
        "airel.domain",
    ),
}
# Third-party modules the pure domain may not touch (I/O, storage, CLI).
PURE_ALLOWED = ("pathlib.PurePosixPath",)  # path arithmetic without touching a file system
DOMAIN_FORBIDDEN = (
    "sqlalchemy",
    "alembic",
    "typer",
    "rich",
    "yaml",
    "psycopg",
    "os",
    "pathlib",
    "subprocess",
    "socket",
    "urllib",
    "httpx",
    "requests",
)


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _layer_files(layer: str) -> list[Path]:
    return sorted((SRC / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_point_one_way(layer: str) -> None:
    """STYLE.md rule 1: imports only go down the layers."""
    bad = []
    for path in _layer_files(layer):
        if "migrations" in path.parts:
            continue  # Alembic scripts import the schema of their own layer
        for name in _imports(path):
            if name.startswith("airel") and not name.startswith(ALLOWED[layer]):
                bad.append(f"{path.relative_to(SRC)} imports {name}")
    assert not bad, "\n".join(bad)


def test_domain_is_pure() -> None:
    """The domain does no I/O: no storage, CLI, YAML, OS or network modules."""
    bad = [
        f"{p.relative_to(SRC)} imports {n}"
        for p in _layer_files("domain")
        for n in _imports(p)
        if n.split(".")[0] in DOMAIN_FORBIDDEN and n not in PURE_ALLOWED
    ]
    assert not bad, "\n".join(bad)


def test_public_surface_is_pinned() -> None:
    """STYLE.md rule 3: ``airel/__init__.py`` is the SDK contract."""
    assert sorted(airel.__all__) == [
        "AirelError",
        "Client",
        "ConflictError",
        "InputError",
        "IntegrityError",
        "NotFoundError",
        "ParseError",
        "Reason",
        "StoreError",
        "ValidationError",
        "__version__",
    ]
    for name in airel.__all__:
        assert hasattr(airel, name)


def test_reason_codes_are_unique_and_stable() -> None:
    """Reason values equal their names, so a code never drifts from its identifier."""
    for reason in airel.Reason:
        assert reason.value == reason.name


def test_no_module_is_oversized() -> None:
    """STYLE.md rule 2: modules stay small (a file past 600 lines needs a written reason)."""
    big = {
        str(p.relative_to(SRC)): n
        for p in SRC.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 900
    }
    assert not big, big


# The context DAG: each context and the contexts it may import (besides itself).
CONTEXTS: dict[str, tuple[str, ...]] = {
    "kernel": (),
    "release": ("kernel",),
    "data": ("kernel", "release"),
    "eval": ("kernel", "release", "data"),
    "gate": ("kernel", "release", "data", "eval"),
    "promotion": ("kernel", "release", "data", "eval", "gate"),
    "monitoring": ("kernel", "release", "data", "eval", "gate", "promotion"),
    "binder": ("kernel", "release", "data", "eval", "gate", "promotion"),
}
CONTEXT_LAYERS = ("domain", "services")


@pytest.mark.parametrize("layer", CONTEXT_LAYERS)
def test_every_module_lives_in_a_context(layer: str) -> None:
    """No flat modules: every domain and service module belongs to one bounded context."""
    root = SRC / layer
    stray = [
        str(p.relative_to(SRC))
        for p in root.rglob("*.py")
        if p.parent == root and p.name != "__init__.py"
    ]
    assert not stray, stray
    assert {p.name for p in root.iterdir() if p.is_dir() and p.name != "__pycache__"} == set(
        CONTEXTS
    )


@pytest.mark.parametrize("layer", CONTEXT_LAYERS)
def test_contexts_import_along_the_dag(layer: str) -> None:
    """A context imports only itself and the contexts before it, in the domain and in the
    services alike (a service may import the domain of an earlier context, never a later one)."""
    bad = []
    for path in _layer_files(layer):
        context = path.relative_to(SRC / layer).parts[0]
        if context not in CONTEXTS:
            continue
        allowed = {context, *CONTEXTS[context]}
        for name in _imports(path):
            parts = name.split(".")
            if len(parts) > 2 and parts[0] == "airel" and parts[1] in CONTEXT_LAYERS:
                target = parts[2]
                if target in CONTEXTS and target not in allowed:
                    bad.append(f"{path.relative_to(SRC)} imports {name}")
    assert not bad, "\n".join(bad)


def test_the_store_contract_is_split_along_the_dag() -> None:
    """One contract module per context (``store/contract/<context>.py``), each naming only
    the domain of its own context and the contexts before it."""
    root = SRC / "store" / "contract"
    bad = []
    for path in sorted(root.glob("*.py")):
        if path.name == "__init__.py":
            continue
        context = path.stem
        assert context in CONTEXTS, f"store/contract/{path.name} is not a context"
        allowed = {context, *CONTEXTS[context]}
        for name in _imports(path):
            parts = name.split(".")
            if (
                parts[:2] == ["airel", "domain"]
                and parts[2] in CONTEXTS
                and parts[2] not in allowed
            ):
                bad.append(f"store/contract/{path.name} imports {name}")
    assert not bad, "\n".join(bad)


TEST_HOMES = {"kernel", "release", "data", "eval", "gate", "promotion", "monitoring", "binder"}
TEST_HOMES |= {"adapters", "store", "cli", "sdk", "gateway", "api", "e2e"}  # adapters, store, edges


def test_tests_mirror_the_source() -> None:
    """Tests live in ``tests/<context>/`` (or the store's, an edge's, ``e2e``), like the code they
    test (issue 10); only this architecture test sits at the top; none is over 600 lines."""
    tests = Path(__file__).parent
    top = sorted(p.name for p in tests.glob("test_*.py"))
    assert top == ["test_architecture.py"]
    homes = {p.parent.name for p in tests.glob("*/test_*.py")}
    assert homes <= TEST_HOMES, homes - TEST_HOMES
    long = {
        str(p.relative_to(tests)): n
        for p in tests.rglob("test_*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 600
    }
    assert long == {}, "split test files over 600 lines by what they test"
