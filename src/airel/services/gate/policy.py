"""Use cases: load, show, diff and check gate policies (G2, G3, G5).

A gate policy is a ``policy`` component whose text is the policy YAML (``format: yaml``),
registered like any other component (``airel register policy spec.yaml``), so every decision
points at an immutable registry version. airel ships a default policy
(``airel/policies/default.yaml``), registered as ``airel-default:1.0`` on first use.
``extends:`` names another policy by reference (``name:version`` or ``name@alias``), resolved
through the registry — or the shipped default, which needs no store. The default is
registered in the same transaction as the first decision that reads it. The document's own
``policy:``/``version:`` must equal the component's name and version, so a reference means one
thing everywhere.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from airel.adapters.documents.parse import ParseLimits, load_document, parse_json, parse_yaml
from airel.domain.gate.policy import Policy, build_policy, resolve_extends
from airel.domain.kernel.validation import parse_record
from airel.domain.release.components import (
    KIND_SPECS,
    ComponentKey,
    ComponentVersion,
    content_digest,
    text_hash,
)
from airel.domain.release.kinds import ComponentKind
from airel.errors import ConflictError, NotFoundError, Reason, ValidationError
from airel.services.kernel.context import Context
from airel.services.release.components import ENVELOPE, resolve_reference
from airel.store.contract import WriteTx

DEFAULT_NAME, DEFAULT_VERSION = "airel-default", "1.0"
DEFAULT_REF = f"{DEFAULT_NAME}:{DEFAULT_VERSION}"
POLICY = ComponentKind.POLICY

Loader = Callable[[str], Mapping[str, Any]]


@dataclass(frozen=True)
class LoadedPolicy:
    """A checked policy, the registry version it came from and its text."""

    policy: Policy
    ref: str  # the component name:version
    text: str
    merged: dict[str, Any]  # the document after ``extends`` was merged
    uses_default: bool = False  # the shipped default is this policy or one it extends


def default_text() -> str:
    """The shipped default policy, as text."""
    return resources.files("airel").joinpath("policies/default.yaml").read_text(encoding="utf-8")


def parse_text(text: str, fmt: str, source: str, limits: ParseLimits) -> dict[str, Any]:
    """A policy document from YAML (strict parser) or JSON text."""
    if fmt == "json":
        value = parse_json(text, source=source, limits=limits)
        if not isinstance(value, dict):
            raise ValidationError(
                Reason.NOT_A_MAPPING, f"{source}: a policy is a JSON object", fix="wrap it in {}"
            )
        return value
    return dict(parse_yaml(text, source=source, limits=limits).data)


def _default_component(actor: str, at: str) -> ComponentVersion:
    text = default_text()
    spec = parse_record(
        KIND_SPECS[POLICY].spec,
        {
            "kind": POLICY.value,
            "name": DEFAULT_NAME,
            "version": DEFAULT_VERSION,
            "description": "airel's default gate policy (playbook §4.2-§4.4)",
            "format": "yaml",
            "text": text,
        },
        source="airel/policies/default.yaml",
    )
    fields = spec.model_dump(mode="json", by_alias=True, exclude=set(ENVELOPE), exclude_none=True)
    fields["text_hash"] = text_hash(text)
    digest = content_digest(POLICY, DEFAULT_NAME, DEFAULT_VERSION, fields, None, ())
    return ComponentVersion(
        kind=POLICY,
        name=DEFAULT_NAME,
        version=DEFAULT_VERSION,
        fields=fields,
        artifact=None,
        parents=(),
        digest=digest,
        created_at=at,
        created_by=actor,
    )


def register_default(tx: WriteTx, actor: str, at: str) -> ComponentVersion:
    """Inside a write transaction: register the shipped default policy unless it is stored
    (a stored one with other text is refused: a changed default needs a new version)."""
    wanted = _default_component(actor, at)
    key = ComponentKey(POLICY, DEFAULT_NAME, DEFAULT_VERSION)
    current = tx.get_component(key)
    if current is not None:
        _same_default(current, wanted)
        return current
    tx.insert_component(wanted)
    tx.append_audit(
        actor=actor,
        action="component.register",
        subject=key.node,
        before=None,
        after=wanted.digest,
        details={"artifact": None, "shipped_default": True},
    )
    return wanted


def _same_default(stored: ComponentVersion, shipped: ComponentVersion) -> None:
    if stored.fields.get("text_hash") != shipped.fields["text_hash"]:
        raise ConflictError(
            Reason.VERSION_CONFLICT,
            f"policy {DEFAULT_REF} in the store differs from the default this airel ships",
            fix="a changed default needs a new version; register yours under a new name",
        )


def _default(ctx: Context) -> ComponentVersion:
    """The stored default policy, or the shipped one not yet registered (``check`` registers
    it in the transaction that stores the first decision pointing at it)."""
    shipped = _default_component(ctx.actor, ctx.stamp())
    with ctx.store.read() as tx:
        stored = tx.get_component(ComponentKey(POLICY, DEFAULT_NAME, DEFAULT_VERSION))
    if stored is None:
        return shipped
    _same_default(stored, shipped)
    return stored


def _registered(ctx: Context, ref: str) -> tuple[ComponentVersion, str]:
    with ctx.store.read() as tx:
        key = resolve_reference(tx, POLICY, ref, field="policy")
        found = tx.get_component(key)
    if found is None:  # pragma: no cover - resolve_reference checked existence
        raise NotFoundError(Reason.COMPONENT_NOT_FOUND, f"policy {ref} not found")
    text = found.text()
    fmt = str(found.fields.get("format", "text"))
    if text is None or fmt not in ("yaml", "json"):
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"policy {found.key.ref} is not a gate policy (format {fmt}, not yaml or json)",
            fix="register the gate policy with `format: yaml` and its YAML as text_file",
        )
    return found, text


def _checked_doc(raw: dict[str, Any], ref: str) -> dict[str, Any]:
    written = f"{raw.get('policy')}:{raw.get('version')}"
    if written != ref:
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"the policy document says {written} but is registered as {ref}",
            fix="make the document's policy: and version: equal the component's name and version",
        )
    return raw


def registry_loader(ctx: Context | None, limits: ParseLimits) -> Loader:
    """Load a policy document by reference: the shipped default, else the registry."""

    def load(ref: str) -> Mapping[str, Any]:
        if ref == DEFAULT_REF:
            return parse_text(default_text(), "yaml", DEFAULT_REF, limits)
        if ctx is None:
            raise NotFoundError(
                Reason.DANGLING_REFERENCE,
                f"policy {ref} can only be read from a store",
                fix="run the check inside an airel project (`airel init`)",
            )
        component, text = _registered(ctx, ref)
        raw = parse_text(text, str(component.fields["format"]), component.key.ref, limits)
        return _checked_doc(raw, component.key.ref)

    return load


def load_policy(ctx: Context, ref: str | None = None) -> LoadedPolicy:
    """The policy at ``ref`` (None: the shipped default, registered on first use), checked."""
    if ref is None or ref == DEFAULT_REF:
        component = _default(ctx)
        text = default_text()
    else:
        component, text = _registered(ctx, ref)
    key_ref = component.key.ref
    raw = _checked_doc(
        parse_text(text, str(component.fields.get("format", "yaml")), key_ref, ctx.limits),
        key_ref,
    )
    read = [key_ref]
    load = registry_loader(ctx, ctx.limits)

    def tracked(name: str) -> Mapping[str, Any]:
        read.append(name)
        return load(name)

    merged = resolve_extends(raw, tracked)
    return LoadedPolicy(build_policy(merged), key_ref, text, merged, DEFAULT_REF in read)


def check_policy_file(path: Path, limits: ParseLimits, load: Loader) -> LoadedPolicy:
    """Parse a policy file strictly and check it (every problem reported at once)."""
    doc = load_document(path, limits)
    raw = dict(doc.data)
    merged = resolve_extends(raw, load)
    policy = build_policy(merged)
    return LoadedPolicy(policy, policy.ref, path.read_text(encoding="utf-8"), merged)


def canonical_text(merged: Mapping[str, Any]) -> str:
    """The merged document as sorted, indented JSON (what diffs compare)."""
    return json.dumps(merged, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@dataclass(frozen=True)
class PolicyDiff:
    """What changed between two policies."""

    old: str
    new: str
    old_digest: str
    new_digest: str
    added_rules: list[str]
    removed_rules: list[str]
    changed_rules: list[str]
    changed_tiers: list[str]
    text_diff: str


def diff_policies(a: LoadedPolicy, b: LoadedPolicy) -> PolicyDiff:
    """Rules added, removed and changed, tiers changed, and a unified diff of both documents."""
    rules_a = {r.id: r for r in a.policy.rules}
    rules_b = {r.id: r for r in b.policy.rules}
    tiers_a = {int(t): v for t, v in a.policy.tiers.items()}
    tiers_b = {int(t): v for t, v in b.policy.tiers.items()}
    text = "".join(
        difflib.unified_diff(
            canonical_text(a.merged).splitlines(keepends=True),
            canonical_text(b.merged).splitlines(keepends=True),
            fromfile=a.ref,
            tofile=b.ref,
        )
    )
    return PolicyDiff(
        old=a.ref,
        new=b.ref,
        old_digest=a.policy.digest,
        new_digest=b.policy.digest,
        added_rules=sorted(set(rules_b) - set(rules_a)),
        removed_rules=sorted(set(rules_a) - set(rules_b)),
        changed_rules=sorted(k for k in set(rules_a) & set(rules_b) if rules_a[k] != rules_b[k]),
        changed_tiers=[
            f"Tier {t}"
            for t in sorted(set(tiers_a) | set(tiers_b))
            if tiers_a.get(t) != tiers_b.get(t)
        ],
        text_diff=text,
    )
