"""Table definitions (SQLAlchemy Core), shared by SQLite and PostgreSQL.

Timestamps are ISO-8601 UTC strings and JSON is canonical text, so values round-trip
byte-for-byte on both databases (digests are computed over them). The migrations in
``migrations/versions`` create exactly these tables; a test compares the two.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

store_meta = sa.Table(
    "store_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

components = sa.Table(
    "components",
    metadata,
    sa.Column("kind", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("version", sa.String(64), primary_key=True),
    sa.Column("digest", sa.String(71), nullable=False),
    sa.Column("fields_json", sa.Text, nullable=False),
    sa.Column("artifact_digest", sa.String(71), nullable=True),
    sa.Column("parents_json", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Index("ix_components_name", "name"),
)

artifacts = sa.Table(
    "artifacts",
    metadata,
    sa.Column("digest", sa.String(71), primary_key=True),
    sa.Column("type", sa.String(8), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("files", sa.Integer, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
)

aliases = sa.Table(
    "aliases",
    metadata,
    sa.Column("kind", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("alias", sa.String(64), primary_key=True),
    sa.Column("version", sa.String(64), nullable=False),
    sa.Column("row_version", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.String(32), nullable=False),
    sa.Column("updated_by", sa.String(128), nullable=False),
)

alias_moves = sa.Table(
    "alias_moves",
    metadata,
    sa.Column("kind", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("alias", sa.String(64), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("from_version", sa.String(64), nullable=True),
    sa.Column("to_version", sa.String(64), nullable=False),
    sa.Column("at", sa.String(32), nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
)

bundles = sa.Table(
    "bundles",
    metadata,
    sa.Column("release_id", sa.String(128), primary_key=True),
    sa.Column("digest", sa.String(71), nullable=False),
    sa.Column("spec_digest", sa.String(71), nullable=False),
    sa.Column("use_case_id", sa.String(128), nullable=False),
    sa.Column("risk_tier", sa.Integer, nullable=False),
    sa.Column("pipeline_type", sa.String(32), nullable=True),
    sa.Column("body_json", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Index("ix_bundles_use_case", "use_case_id"),
)

bundle_drafts = sa.Table(  # editable drafts (B1); a freeze deletes the row, audited
    "bundle_drafts",
    metadata,
    sa.Column("release_id", sa.String(128), primary_key=True),
    sa.Column("use_case_id", sa.String(128), nullable=False),
    sa.Column("risk_tier", sa.Integer, nullable=False),
    sa.Column("pipeline_type", sa.String(32), nullable=True),
    sa.Column("spec_json", sa.Text, nullable=False),  # canonical JSON of the spec as written
    sa.Column("spec_digest", sa.String(71), nullable=False),
    sa.Column("summary_json", sa.Text, nullable=False),  # completeness when last stored
    sa.Column("version", sa.Integer, nullable=False),  # compare-and-set token, 1 on create
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("updated_at", sa.String(32), nullable=False),
    sa.Column("updated_by", sa.String(128), nullable=False),
    sa.Index("ix_bundle_drafts_use_case", "use_case_id"),
)

lineage_edges = sa.Table(
    "lineage_edges",
    metadata,
    sa.Column("parent", sa.String(300), primary_key=True),
    sa.Column("child", sa.String(300), primary_key=True),
    sa.Column("relation", sa.String(32), primary_key=True),
    sa.Index("ix_lineage_child", "child"),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("prev_hash", sa.String(71), nullable=False),
    sa.Column("entry_hash", sa.String(71), nullable=False),
    sa.Column("at", sa.String(32), nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("subject", sa.String(300), nullable=False),
    sa.Column("before_digest", sa.String(71), nullable=True),
    sa.Column("after_digest", sa.String(71), nullable=True),
    sa.Column("details_json", sa.Text, nullable=False),
)

audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("entry_hash", sa.String(71), nullable=False),
)

profiles = sa.Table(
    "profiles",
    metadata,
    sa.Column("digest", sa.String(71), primary_key=True),
    sa.Column("source_digest", sa.String(71), nullable=False),
    sa.Column("options_key", sa.String(512), nullable=False),
    sa.Column("engine", sa.String(16), nullable=False),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("dataset_node", sa.String(300), nullable=True),
    sa.Column("body_json", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.UniqueConstraint("source_digest", "options_key", name="uq_profiles_source_options"),
)

validation_runs = sa.Table(
    "validation_runs",
    metadata,
    sa.Column("run_id", sa.String(71), primary_key=True),
    sa.Column("current", sa.String(300), nullable=False),
    sa.Column("reference", sa.String(300), nullable=True),
    sa.Column("feature_view", sa.String(300), nullable=True),
    sa.Column("passed", sa.Boolean, nullable=False),
    sa.Column("body_json", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Index("ix_validation_runs_current", "current"),
)

eval_records = sa.Table(
    "eval_records",
    metadata,
    sa.Column("record_id", sa.String(71), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),  # "run" or "comparison"
    sa.Column("subject", sa.String(300), nullable=False),  # model label or comparison pair
    sa.Column("passed", sa.Boolean, nullable=True),
    sa.Column("body_json", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Index("ix_eval_records_subject", "subject"),
)

# -- release gates (issue 5) --
gate_attestations = sa.Table(
    "gate_attestations",
    metadata,
    sa.Column("attestation_id", sa.String(71), primary_key=True),
    sa.Column("release_id", sa.String(128), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("body_json", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False, server_default=sa.text("0")),  # write order
    sa.Index("ix_gate_attestations_release", "release_id"),
    sa.Index("ix_gate_attestations_seq", "seq"),
)

evidence_links = sa.Table(
    "evidence_links",
    metadata,
    sa.Column("release_id", sa.String(128), primary_key=True),
    sa.Column("kind", sa.String(16), primary_key=True),  # "validation" or "eval"
    sa.Column("record_id", sa.String(71), primary_key=True),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False, server_default=sa.text("0")),  # write order
    sa.Index("ix_evidence_links_seq", "seq"),
)

approvals = sa.Table(
    "approvals",
    metadata,
    sa.Column("approval_id", sa.String(32), primary_key=True),  # single use: replays refused
    sa.Column("release_id", sa.String(128), nullable=False),
    sa.Column("bundle_digest", sa.String(71), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("approver", sa.String(128), nullable=False),
    sa.Column("issued_at", sa.String(40), nullable=False),
    sa.Column("expires_at", sa.String(40), nullable=False),
    sa.Column("body_json", sa.Text, nullable=False),  # the sealed approval
    sa.Index("ix_approvals_release", "release_id"),
)

waivers = sa.Table(
    "waivers",
    metadata,
    sa.Column("waiver_id", sa.String(32), primary_key=True),
    sa.Column("release_id", sa.String(128), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # "exception" or "risk_acceptance"
    sa.Column("bundle_digest", sa.String(71), nullable=False),
    sa.Column("approver", sa.String(128), nullable=False),
    sa.Column("issued_at", sa.String(40), nullable=False),
    sa.Column("expires_at", sa.String(40), nullable=False),
    sa.Column("body_json", sa.Text, nullable=False),  # the sealed waiver
    sa.Index("ix_waivers_release", "release_id"),
)

gate_decisions = sa.Table(
    "gate_decisions",
    metadata,
    sa.Column("decision_id", sa.String(71), primary_key=True),
    sa.Column("release_id", sa.String(128), nullable=False),
    sa.Column("bundle_digest", sa.String(71), nullable=False),
    sa.Column("decision", sa.String(16), nullable=False),
    sa.Column("policy_ref", sa.String(200), nullable=False),
    sa.Column("policy_digest", sa.String(71), nullable=False),
    sa.Column("inputs_digest", sa.String(71), nullable=False),
    sa.Column("through", sa.String(2), nullable=True),
    sa.Column("expires_at", sa.String(40), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("body_json", sa.Text, nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False, server_default=sa.text("0")),  # write order
    sa.Index("ix_gate_decisions_release", "release_id"),
    sa.Index("ix_gate_decisions_seq", "seq"),
)


# -- integrity (issues 17, 18) --

audit_records = sa.Table(  # the record digests each audit entry vouches for (an index)
    "audit_records",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),  # the entry
    sa.Column("pos", sa.Integer, primary_key=True, autoincrement=False),  # order in the entry
    sa.Column("table_name", sa.String(32), nullable=False),
    sa.Column("record_key", sa.String(600), nullable=False),
    sa.Column("digest", sa.String(71), nullable=False),
    sa.Index("ix_audit_records_record", "table_name", "record_key", "seq"),
)

role_grants = sa.Table(  # identity → role assignments, changed only by an administrator
    "role_grants",
    metadata,
    sa.Column("identity", sa.String(128), primary_key=True),
    sa.Column("role", sa.String(32), primary_key=True),
    sa.Column("granted_at", sa.String(32), nullable=False),
    sa.Column("granted_by", sa.String(128), nullable=False),
    sa.Column("revoked_at", sa.String(32), nullable=True),
    sa.Column("revoked_by", sa.String(128), nullable=True),
)

signing_keys = sa.Table(  # approvers' registered Ed25519 public keys
    "signing_keys",
    metadata,
    sa.Column("key_id", sa.String(71), primary_key=True),  # sha256 of the raw public key
    sa.Column("identity", sa.String(128), nullable=False),
    sa.Column("public_key", sa.String(64), nullable=False),  # raw 32 bytes, base64
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("revoked_at", sa.String(32), nullable=True),
    sa.Column("revoked_by", sa.String(128), nullable=True),
    sa.Index("ix_signing_keys_identity", "identity"),
)

api_tokens = sa.Table(  # REST API bearer tokens: the secret only as its SHA-256 (issue 13)
    "api_tokens",
    metadata,
    sa.Column("token_id", sa.String(32), primary_key=True),
    sa.Column("identity", sa.String(128), nullable=False),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("secret_digest", sa.String(71), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("expires_at", sa.String(32), nullable=False),
    sa.Column("revoked_at", sa.String(32), nullable=True),
    sa.Column("revoked_by", sa.String(128), nullable=True),
    sa.Index("ix_api_tokens_identity", "identity"),
)

# -- promotion (issue 11): traffic plans, deployment manifests and promotions (P1, P5, R6) --

traffic_plans = sa.Table(  # content-addressed §5.6 plans a promotion cites
    "traffic_plans",
    metadata,
    sa.Column("digest", sa.String(71), primary_key=True),
    sa.Column("plan_id", sa.String(64), nullable=False),
    sa.Column("body_json", sa.Text, nullable=False),  # canonical JSON of the plan
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Index("ix_traffic_plans_plan", "plan_id"),
)

deployments = sa.Table(  # immutable R6 manifests, one per (release, environment) deployment
    "deployments",
    metadata,
    sa.Column("digest", sa.String(71), primary_key=True),
    sa.Column("release_id", sa.String(128), nullable=False),
    sa.Column("environment", sa.String(32), nullable=False),
    sa.Column("route", sa.String(512), nullable=False),
    sa.Column("decision_id", sa.String(71), nullable=True),
    sa.Column("body_json", sa.Text, nullable=False),  # canonical JSON of the manifest
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False, server_default=sa.text("0")),  # write order
    sa.Index("ix_deployments_release", "release_id"),
    sa.Index("ix_deployments_route", "route"),
)

promotions = sa.Table(  # one move of a release along the stage graph, with its expiry
    "promotions",
    metadata,
    sa.Column("promotion_id", sa.String(71), primary_key=True),
    sa.Column("release_id", sa.String(128), nullable=False),
    sa.Column("source", sa.String(32), nullable=True),
    sa.Column("target", sa.String(32), nullable=False),
    sa.Column("decision_id", sa.String(71), nullable=False),
    sa.Column("plan_digest", sa.String(71), nullable=True),
    sa.Column("deployment_digest", sa.String(71), nullable=False),
    sa.Column("expires_at", sa.String(40), nullable=False),
    sa.Column("body_json", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False, server_default=sa.text("0")),  # write order
    sa.Index("ix_promotions_release", "release_id"),
)

# -- rollout (issue 11): routes, their events, rollbacks, drills, CT triggers, incidents --

routes = sa.Table(  # one route per (name, lane): desired vs observed traffic, compare-and-set
    "routes",
    metadata,
    sa.Column("route", sa.String(512), primary_key=True),
    sa.Column("lane", sa.String(16), primary_key=True),  # staging | production
    sa.Column("version", sa.Integer, nullable=False),  # row version: every change is CAS on it
    sa.Column("observed_version", sa.Integer, nullable=False),  # the version last applied
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("body_json", sa.Text, nullable=False),  # the Route model, canonical JSON
    sa.Column("updated_at", sa.String(32), nullable=False),
    sa.Column("updated_by", sa.String(128), nullable=False),
)

route_events = sa.Table(  # what moved a route and why (each step's analysis is kept here)
    "route_events",
    metadata,
    sa.Column("route", sa.String(512), primary_key=True),
    sa.Column("lane", sa.String(16), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),  # the route version the event made
    sa.Column("kind", sa.String(32), primary_key=True),
    sa.Column("release_id", sa.String(128), nullable=True),
    sa.Column("body_json", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False, server_default=sa.text("0")),  # write order
    sa.Index("ix_route_events_release", "release_id"),
)

rollbacks = sa.Table(  # one §5.7 rollback by component (route, model … compensation)
    "rollbacks",
    metadata,
    sa.Column("rollback_id", sa.String(71), primary_key=True),
    sa.Column("release_id", sa.String(128), nullable=False),
    sa.Column("component", sa.String(32), nullable=False),
    sa.Column("route", sa.String(512), nullable=True),
    sa.Column("lane", sa.String(16), nullable=True),
    sa.Column("body_json", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Index("ix_rollbacks_release", "release_id"),
)

drills = sa.Table(  # §8.6 rollback drills: each runbook step with timings
    "drills",
    metadata,
    sa.Column("drill_id", sa.String(71), primary_key=True),
    sa.Column("release_id", sa.String(128), nullable=False),
    sa.Column("body_json", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Index("ix_drills_release", "release_id"),
)

ct_triggers = sa.Table(  # §8.7 continuous-training trigger records (P4): never a promotion
    "ct_triggers",
    metadata,
    sa.Column("trigger_id", sa.String(128), primary_key=True),
    sa.Column("use_case_id", sa.String(128), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("candidate_release_id", sa.String(128), nullable=True),
    sa.Column("body_json", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Index("ix_ct_triggers_use_case", "use_case_id"),
)

incidents = sa.Table(  # incident records opened by a stop condition, a rollback or a trigger
    "incidents",
    metadata,
    sa.Column("incident_id", sa.String(128), primary_key=True),
    sa.Column("use_case_id", sa.String(128), nullable=False),
    sa.Column("release_id", sa.String(128), nullable=True),
    sa.Column("source", sa.String(32), nullable=False),  # rollout | rollback | ct_trigger
    sa.Column("body_json", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Index("ix_incidents_release", "release_id"),
)

# -- monitoring (issue 12): request traces, their batches, and feedback --------------------------

TRACE_COLUMNS = (  # the §7.3 versions a trace is looked up by (impacted-population queries)
    "model_version",
    "prompt_version",
    "policy_version",
    "feature_view_version",
    "dataset_or_index_version",
    "tool_schema_version",
)

traces = sa.Table(  # one row per (request, release): append-only, vouched for by its batch
    "traces",
    metadata,
    sa.Column("request_id", sa.String(128), primary_key=True),
    sa.Column("release_id", sa.String(128), primary_key=True),
    sa.Column("mode", sa.String(8), nullable=False),  # live | shadow
    sa.Column("route", sa.String(530), nullable=False),  # route@lane
    sa.Column("at", sa.String(32), nullable=False),
    sa.Column("use_case_id", sa.String(128), nullable=True),
    sa.Column("key_digest", sa.String(64), nullable=True),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("latency_ms", sa.Float, nullable=False),
    sa.Column("critical", sa.Boolean, nullable=False),
    sa.Column("error", sa.String(64), nullable=True),
    sa.Column("cost", sa.Float, nullable=True),
    sa.Column("quality_failure", sa.Boolean, nullable=False),  # any online quality rule failed
    sa.Column("override", sa.Boolean, nullable=False),  # a human overrode the answer in-flow
    sa.Column("segments", sa.String(2048), nullable=False),  # comma-joined segment tags
    *(sa.Column(name, sa.String(512), nullable=True) for name in TRACE_COLUMNS),
    sa.Column("batch_id", sa.BigInteger, nullable=False),
    sa.Column("pos", sa.Integer, nullable=False),  # place in the batch (the root's order)
    sa.Column("digest", sa.String(71), nullable=False),  # sha256 of body_json
    sa.Column("body_json", sa.Text, nullable=False),  # the Trace, canonical JSON
    sa.Index("ix_traces_release_at", "release_id", "at"),
    sa.Index("ix_traces_route_at", "route", "at"),
    sa.Index("ix_traces_batch", "batch_id", "pos"),
)

trace_batches = sa.Table(  # one committed ingest batch: its traces' root, bound to the chain
    "trace_batches",
    metadata,
    sa.Column("batch_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("root", sa.String(71), nullable=False),  # sha256 over the traces' digests in order
    sa.Column("first_at", sa.String(32), nullable=False),
    sa.Column("last_at", sa.String(32), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
)

trace_feedback = sa.Table(  # human overrides and complaints against a request
    "trace_feedback",
    metadata,
    sa.Column("feedback_id", sa.String(71), primary_key=True),
    sa.Column("request_id", sa.String(128), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # override | complaint
    sa.Column("body_json", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Index("ix_trace_feedback_request", "request_id"),
)
