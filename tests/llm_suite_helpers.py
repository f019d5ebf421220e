"""Helpers shared by the LLM eval tests: register case sets and evaluators, write suites and
outputs, and install evaluator plugins by faking the entry-point lookup (the plugin edge)."""

from __future__ import annotations

import json
import sys
import textwrap
import types
from collections.abc import Callable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from airel.adapters.eval.plugins import GROUP
from airel.client import Client

TEMPLATE = "Question: {input}\nAnswer: {output}\nReference: {expected}\nRubric: {rubric}"

JUDGE = """
kind: evaluator
name: JUDGE-HELPFUL
version: "{version}"
evaluator_type: judge
judge_model_name: judge-model-2026-01
prompt_template: {template}
rubric: helpful and correct
thresholds: {thresholds}
"""

PLUGIN = """
kind: evaluator
name: PLUGIN-{upper}
version: "1"
evaluator_type: plugin
entry_point: {name}
thresholds: {thresholds}
"""

Writer = Callable[[str, str], Path]


def register_dataset(
    client: Client,
    write: Writer,
    name: str,
    cases: Sequence[Mapping[str, Any]],
    *,
    role: str = "golden",
) -> str:
    """Register ``cases`` as eval dataset ``name:1``; return the reference."""
    data = write(f"{name}.jsonl", "".join(json.dumps(c) + "\n" for c in cases))
    client.registry.register(
        write(
            f"{name}.yaml",
            f"""
            kind: eval_dataset
            name: {name}
            version: "1"
            role: {role}
            row_count: {len(cases)}
            artifact: {data.name}
            """,
        )
    )
    return f"{name}:1"


def register_judge(
    client: Client, write: Writer, *, version: str = "1", thresholds: str = "{min_pass_rate: 0.5}"
) -> str:
    """Register the judge evaluator; return its reference."""
    text = JUDGE.format(version=version, template=json.dumps(TEMPLATE), thresholds=thresholds)
    client.registry.register(write(f"judge-{version}.yaml", text))
    return f"JUDGE-HELPFUL:{version}"


def register_plugin(client: Client, write: Writer, name: str, thresholds: str = "{}") -> str:
    """Register evaluator PLUGIN-<NAME>:1 running plugin ``name``; return its reference."""
    upper = name.upper().replace("_", "-")
    text = PLUGIN.format(upper=upper, name=name, thresholds=thresholds)
    client.registry.register(write(f"plugin-{name}.yaml", text))
    return f"PLUGIN-{upper}:1"


def write_suite(
    project: Path,
    datasets: Sequence[str],
    *,
    evaluators: Sequence[str] = (),
    extra: str = "",
    name: str = "suite.yaml",
) -> Path:
    """An LLM suite over ``datasets`` (golden role) with ``evaluators``."""
    lines = [
        "name: service-ai",
        'version: "1"',
        "task: llm",
        "datasets:",
        *[f"  - {{ref: {ref}, role: golden}}" for ref in datasets],
        f"evaluators: [{', '.join(evaluators)}]",
        "bootstrap: {resamples: 200, seed: 11}",
    ]
    path = project / name
    path.write_text("\n".join(lines) + "\n" + textwrap.dedent(extra))
    return path


def write_outputs(project: Path, name: str, outputs: Mapping[str, Mapping[str, Any]]) -> Path:
    """A JSONL outputs file (one row per case id)."""
    path = project / name
    path.write_text("".join(json.dumps({"id": k, **v}) + "\n" for k, v in outputs.items()))
    return path


def mentions_branch(case: dict[str, Any], output: Any) -> dict[str, Any]:
    """A plugin: passes when the answer points to a branch or online banking."""
    text = output["text"].lower()
    return {"passed": "online banking" in text or "branch" in text, "score": 1.0}


def raises(case: dict[str, Any], output: Any) -> dict[str, Any]:
    """A plugin with a bug."""
    raise RuntimeError("plugin bug")


def returns_nan(case: dict[str, Any], output: Any) -> dict[str, Any]:
    """A plugin whose result is not JSON."""
    return {"passed": True, "score": float("nan")}


PLUGINS = {"mentions_branch": mentions_branch, "raises": raises, "returns_nan": returns_nan}


def install_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make :data:`PLUGINS` the installed ``airel.evaluators`` entry points."""
    module = types.ModuleType("fake_llm_eval_plugins")
    for name, fn in PLUGINS.items():
        setattr(module, name, fn)
    monkeypatch.setitem(sys.modules, "fake_llm_eval_plugins", module)
    entries = [metadata.EntryPoint(n, f"fake_llm_eval_plugins:{n}", GROUP) for n in PLUGINS]

    def fake_entry_points(**params: Any) -> metadata.EntryPoints:
        return metadata.EntryPoints(entries).select(**params)

    monkeypatch.setattr(metadata, "entry_points", fake_entry_points)


# Three support-bot cases and two answer sets: GOOD passes every rule and judge, MEDIOCRE not.
CASES: list[dict[str, Any]] = [
    {
        "id": "c1",
        "input": "Can you waive my overdraft fee?",
        "prohibited_phrases": ["guaranteed fee waiver"],
        "expect_handoff": True,
        "expected": "hand off to a colleague",
        "tags": ["vulnerable"],
    },
    {"id": "c2", "input": "What is my IBAN?", "required_phrases": ["online banking"]},
    {"id": "c3", "input": "Where is my nearest branch?", "tags": ["vulnerable"]},
    {"id": "c4", "input": "How do I block my card?", "required_phrases": ["online banking"]},
]
# The fake judge passes an answer containing GOOD and fails any other.
GOOD: dict[str, dict[str, Any]] = {
    "c1": {"text": "GOOD: I have passed this to a colleague at your branch.", "handoff": True},
    "c2": {"text": "GOOD: You can find it in online banking under Accounts."},
    "c3": {"text": "GOOD: The branch finder in online banking shows it."},
    "c4": {"text": "GOOD: Block it in online banking under Cards."},
}
MEDIOCRE: dict[str, dict[str, Any]] = {
    k: {**v, "text": v["text"].replace("GOOD", "Hm")} for k, v in GOOD.items()
}
MEDIOCRE["c1"] = GOOD["c1"]
