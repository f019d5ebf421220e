"""Helpers shared by the tests of the strict YAML/JSON parser (airel.adapters.documents.parse).

The playbook §3.3 bundle and its exact values, the ``both_loaders`` fixture (import
``both_loaders_fixture``; the tests request it as ``both_loaders``), and the two
"expect a ``ParseError``" helpers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from airel.adapters.documents import parse as documents
from airel.adapters.documents.parse import parse_json, parse_yaml
from airel.errors import ParseError

# Playbook §3.3, verbatim (extracted from ../shared/seed into tests/data).
PLAYBOOK_BUNDLE = (Path(__file__).parent / "fixtures" / "playbook_3_3.yaml").read_text(
    encoding="utf-8"
)

PLAYBOOK_VALUES: dict[str, Any] = {
    "release_id": "AIREL-AML-COPILOT-2026-007",
    "use_case_id": "AML-COPILOT-001",
    "risk_tier": "Tier 1",
    "code": {
        "repo_commit": "9f2c81a",
        "pipeline_image": "registry/aml-pipeline@sha256:4b7...",
        "serving_image": "registry/aml-serving@sha256:2c1...",
    },
    "data": {
        "training_snapshot": "AML-TRAIN-2026Q2-v3",
        "validation_snapshot": "AML-VALIDATION-2026Q2-v2",
        "label_policy": "AML-LABEL-GUIDE-v1.4",
    },
    "features": {"feature_view": "aml-alert-features-v6", "transform_hash": "72e4..."},
    "model": {
        "model_id": "aml-narrative-ranker",
        "model_version": "1.8.0",
        "artifact_hash": "c55a...",
    },
    "prompt_policy": {
        "prompt_version": "aml-summary-system-prompt-v2.3",
        "guardrail_policy": "aml-output-policy-v1.2",
        "tool_schema": "case-evidence-tool-v1.1",
    },
    "eval": {
        "dataset_versions": [
            "AML-GOLDEN-2026Q2-v2",
            "AML-REGRESSION-2026Q2-v4",
            "AML-REDTEAM-2026Q2-v1",
        ],
        "evaluator_versions": ["RULE-CITATION-v2", "JUDGE-GROUNDEDNESS-v1.3"],
    },
    "deployment": {
        "route": "aml-copilot-prod",
        "traffic_start": "shadow",
        "rollback_target": "AIREL-AML-COPILOT-2026-006",
    },
}


@pytest.fixture(params=["libyaml", "pure-python"], name="both_loaders")
def both_loaders_fixture(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with libyaml's parser and again with PyYAML's pure-Python one."""
    if request.param == "pure-python":
        monkeypatch.setattr(documents, "_LOADER", yaml.SafeLoader)
        monkeypatch.setattr(documents, "_C_LOADER", False)
    elif not getattr(yaml, "__with_libyaml__", False):
        pytest.skip("libyaml is not available")
    return str(request.param)


def yaml_error(text: str | bytes, **kwargs: Any) -> ParseError:
    """The ``ParseError`` that ``parse_yaml`` must raise for ``text``."""
    with pytest.raises(ParseError) as info:
        parse_yaml(text, **kwargs)
    return info.value


def json_error(text: str | bytes, **kwargs: Any) -> ParseError:
    """The ``ParseError`` that ``parse_json`` must raise for ``text``."""
    with pytest.raises(ParseError) as info:
        parse_json(text, **kwargs)
    return info.value
