"""YAML for documents airel generates: Kubernetes manifests and Prometheus rules files.

The domain builds plain dicts (:mod:`airel.domain.monitoring.kubernetes`,
:mod:`airel.domain.monitoring.alert_rules`); this writes them for ``kubectl apply`` and
``promtool``: block style, keys in the order they were built, each document after ``---``.

PyYAML quotes every string its own (YAML 1.1) reader would take for something else, but
kubectl and Prometheus read with Go YAML, which also turns ``y``/``n`` into booleans and
``1e3`` or ``+inf`` into numbers: a step named ``1e3`` would reach Argo as a float. Such
strings are double-quoted as well, so every reader gets back the strings it was given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import yaml

__all__ = ["render_yaml"]

_GO_BOOLEANS = frozenset({"y", "Y", "n", "N"})
_NUMBER_START = frozenset("+-.0123456789")


def _go_non_string(value: str) -> bool:
    """Whether a Go YAML reader would resolve the plain scalar ``value`` to a bool or a number."""
    if value in _GO_BOOLEANS:
        return True
    if not value or value[0] not in _NUMBER_START:
        return False
    for parse in (float, lambda text: int(text, 0)):
        try:
            parse(value)
        except ValueError:
            continue
        return True
    return False


class _Dumper(yaml.SafeDumper):
    """The safe dumper, quoting the strings Go YAML would not read back as strings."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if _go_non_string(value):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
    return dumper.represent_str(value)


_Dumper.add_representer(str, _represent_str)


def render_yaml(docs: Sequence[Mapping[str, Any]]) -> str:
    """``docs`` as one YAML stream, each document after ``---`` (what ``kubectl apply -f`` and,
    for a single rules document, ``promtool check rules`` read)."""
    return yaml.dump_all(
        [_plain(doc) for doc in docs],
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        explicit_start=True,
        width=10_000,  # keep each PromQL expression and URL on one line
    )


def _plain(value: Any) -> Any:
    """Mappings as dicts and sequences as lists (what the safe dumper represents)."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value
