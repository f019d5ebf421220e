"""The namespaced SDK (issue 10): one facet per CLI noun, loaded on first use, and the flat
names of earlier releases kept as aliases of the namespaced methods."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from airel import Client
from airel.client import ALIASES

FACETS = {
    "registry": "airel.sdk.registry",
    "bundles": "airel.sdk.bundles",
    "data": "airel.sdk.data",
    "evals": "airel.sdk.evals",
    "gates": "airel.sdk.gates",
    "identity": "airel.sdk.identity",
    "audit": "airel.sdk.audit",
}


@pytest.mark.parametrize(("old", "target"), sorted(ALIASES.items()))
def test_every_flat_name_aliases_an_existing_namespaced_method(
    old: str, target: tuple[str, str]
) -> None:
    """An alias names a namespace and a method that exists on its facet."""
    namespace, method = target
    module = importlib.import_module(FACETS[namespace])
    facet = next(
        v
        for v in vars(module).values()
        if isinstance(v, type) and v.__module__ == module.__name__ and hasattr(v, method)
    )
    assert callable(getattr(facet, method)), (old, target)


def test_flat_names_and_namespaces_reach_the_same_call(client: Client, project: Path) -> None:
    """``client.components()`` and ``client.registry.components()`` are one call; the facet
    is made once; ``client.bundles.list()`` (a flat name that is also a namespace) still lists."""
    assert client.registry is client.registry
    flat = client.components  # the flat name: an alias, looked up at run time
    assert flat() == client.registry.components() == []
    assert client.bundles.list() == client.bundles.list() == []
    with pytest.raises(AttributeError):
        _ = client.no_such_method


def test_a_facet_is_imported_only_when_used(tmp_path: Path) -> None:
    """Opening a client and using the registry does not import the evaluation facet (SciPy,
    scikit-learn) or the gate facet (CEL)."""
    code = (
        "import json, sys\n"
        "from airel import Client\n"
        f"c = Client(home={str(tmp_path / '.airel')!r}, actor='t')\n"
        "c.init()\n"
        "c.registry.components()\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('airel.sdk.'))))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert loaded == ["airel.sdk.facet", "airel.sdk.registry"]
