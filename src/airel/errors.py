"""The airel error hierarchy and its stable reason codes.

Every failure airel raises is an :class:`AirelError` carrying a :class:`Reason` — a stable,
machine-readable code that tests, the CLI, the API and evidence all render from. Messages may be
reworded at any time; codes may not.

::

    AirelError                      root; never raised directly
    ├── InputError                  the caller's input is wrong (exit 2, HTTP 400/422)
    │   ├── ParseError              YAML/JSON syntax, limits, aliases, duplicate keys (has a line)
    │   └── ValidationError         a well-formed document with wrong fields, types or names
    ├── NotFoundError               a referenced thing does not exist (exit 2, HTTP 404)
    ├── ConflictError               immutable content or a compare-and-set lost (exit 2, HTTP 409)
    ├── IntegrityError              a digest does not match its content (exit 2 on input, HTTP 422)
    ├── AuthError                   not authenticated (HTTP 401) or not permitted (HTTP 403)
    └── StoreError                  the store cannot be used: locked, read-only, not initialised,
                                    schema out of date, unreachable (exit 2, HTTP 503)

Exit codes and HTTP statuses are mapped only at the edges (``airel.cli``), never here.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any


class Reason(StrEnum):
    """Stable reason codes. A code is never renamed or reused once released."""

    # -- parsing (ParseError) --
    YAML_SYNTAX = "YAML_SYNTAX"  # the document is not well-formed YAML
    JSON_SYNTAX = "JSON_SYNTAX"  # the document is not well-formed JSON
    DOC_TOO_LARGE = "DOC_TOO_LARGE"  # the document exceeds the configured byte limit
    DOC_TOO_DEEP = "DOC_TOO_DEEP"  # nesting exceeds the configured depth limit
    DOC_TOO_MANY_NODES = "DOC_TOO_MANY_NODES"  # more scalars/collections than the node limit
    YAML_ALIAS = "YAML_ALIAS"  # anchors and aliases are refused (alias bombs, hidden sharing)
    YAML_TAG = "YAML_TAG"  # explicit tags (!!python/..., custom) are refused
    DUPLICATE_KEY = "DUPLICATE_KEY"  # a mapping repeats a key
    NON_STRING_KEY = "NON_STRING_KEY"  # a mapping key is not a plain string
    NOT_A_MAPPING = "NOT_A_MAPPING"  # the document root is not a mapping
    MULTIPLE_DOCUMENTS = "MULTIPLE_DOCUMENTS"  # more than one YAML document where one is expected
    NOT_UTF8 = "NOT_UTF8"  # the bytes are not valid UTF-8
    NON_FINITE_NUMBER = "NON_FINITE_NUMBER"  # NaN or Infinity in a document
    # -- validation (ValidationError) --
    UNKNOWN_FIELD = "UNKNOWN_FIELD"  # a field the schema does not define (typo protection)
    MISSING_FIELD = "MISSING_FIELD"  # a required field is absent
    WRONG_TYPE = "WRONG_TYPE"  # a value has the wrong type; never silently coerced
    INVALID_VALUE = "INVALID_VALUE"  # a value of the right type outside its allowed set/range
    INVALID_NAME = "INVALID_NAME"  # a name/version/alias breaks the naming rules
    PATH_TRAVERSAL = "PATH_TRAVERSAL"  # a path escapes its root (.., absolute, encoded, backslash)
    UNSAFE_SYMLINK = "UNSAFE_SYMLINK"  # a symlink points outside the artifact root
    UNKNOWN_KIND = "UNKNOWN_KIND"  # a component kind airel does not know
    INVALID_KEY = "INVALID_KEY"  # a signing key or checkpoint file cannot be used
    DATA_UNREADABLE = "DATA_UNREADABLE"  # a data file is truncated, corrupt or not in its format
    DATA_ROW_COUNT_MISMATCH = "DATA_ROW_COUNT_MISMATCH"  # declared row_count ≠ the file's rows
    DATA_SCHEMA_MISMATCH = "DATA_SCHEMA_MISMATCH"  # declared schema ≠ the file's columns/types
    COLUMN_MISSING = "COLUMN_MISSING"  # a requested column is not in the dataset
    SPEC_UNKNOWN_COLUMN = "SPEC_UNKNOWN_COLUMN"  # a feature-spec rule names an undeclared column
    EVAL_DUPLICATE_ID = "EVAL_DUPLICATE_ID"  # two predictions/eval items share one id
    EVAL_SCHEMA_UNSUPPORTED = "EVAL_SCHEMA_UNSUPPORTED"  # JSON schema keyword outside the subset
    EVAL_CASE_INVALID = "EVAL_CASE_INVALID"  # an LLM eval case or output record is malformed
    EVAL_BATCH_MISMATCH = "EVAL_BATCH_MISMATCH"  # rule batch: cases and outputs differ in number
    EVAL_LENGTH_MISMATCH = (
        "EVAL_LENGTH_MISMATCH"  # labels, scores, weights or masks differ in length
    )
    EVAL_LABEL_INVALID = "EVAL_LABEL_INVALID"  # an evaluation label is not 0 or 1
    EVAL_SCORE_INVALID = "EVAL_SCORE_INVALID"  # a prediction score is NaN, infinite or not a number
    EVAL_WEIGHT_INVALID = "EVAL_WEIGHT_INVALID"  # a sample weight is negative, NaN or infinite
    EVAL_SLICE_INVALID = "EVAL_SLICE_INVALID"  # a slice mask is not boolean or its name is reserved
    EVAL_METRIC_UNKNOWN = "EVAL_METRIC_UNKNOWN"  # a metric name airel's evaluators do not define
    POLICY_UNKNOWN_METRIC = "POLICY_UNKNOWN_METRIC"  # a gate rule names a metric airel lacks
    POLICY_UNKNOWN_GATE = "POLICY_UNKNOWN_GATE"  # a policy names a gate outside G0-G9
    POLICY_RULE_SYNTAX = "POLICY_RULE_SYNTAX"  # a rule expression does not parse (CEL)
    POLICY_RULE_TYPE = "POLICY_RULE_TYPE"  # a rule is not boolean or mixes types / thresholds
    POLICY_CYCLE = "POLICY_CYCLE"  # policies extend each other in a cycle
    POLICY_CONTRADICTION = "POLICY_CONTRADICTION"  # policy parts that cannot all hold
    # Promotion (issue 11): environments, traffic plans, deployment manifests
    PLAN_UNKNOWN_STAGE = "PLAN_UNKNOWN_STAGE"  # an environment or stage airel does not define
    PLAN_UNKNOWN_METRIC = "PLAN_UNKNOWN_METRIC"  # a criterion names a metric rollouts cannot read
    PLAN_UNKNOWN_SEGMENT = "PLAN_UNKNOWN_SEGMENT"  # a stage filters on an undefined segment
    PLAN_TRAFFIC_INVALID = "PLAN_TRAFFIC_INVALID"  # shares over 100%, backwards, or shadow > 0%
    PLAN_ORDER_INVALID = "PLAN_ORDER_INVALID"  # stages that move backwards along the stage graph
    FORBIDDEN_ACTION = "FORBIDDEN_ACTION"  # a manifest does what its environment forbids (§5.1)
    ROUTE_TO_LATEST = "ROUTE_TO_LATEST"  # a route or component pinned to "latest", not a version
    PROMOTION_NOT_ALLOWED = "PROMOTION_NOT_ALLOWED"  # no admitting decision, or not forward
    PROMOTION_BEYOND_DECISION = "PROMOTION_BEYOND_DECISION"  # past the stage cap or conditions
    DECISION_EXPIRED = "DECISION_EXPIRED"  # the gate decision a promotion rests on expired
    ROLLOUT_STATE = "ROLLOUT_STATE"  # the route's rollout is not in a state that allows this
    ROLLBACK_NOT_ALLOWED = "ROLLBACK_NOT_ALLOWED"  # target never approved there, other use case…
    RESTART_GATE_REQUIRED = "RESTART_GATE_REQUIRED"  # after an emergency change, a new decision
    CONFIRMATION_REQUIRED = "CONFIRMATION_REQUIRED"  # a production action without typed consent
    UNKNOWN_ROLE = "UNKNOWN_ROLE"  # an approver role airel does not define
    ROLE_NOT_HELD = "ROLE_NOT_HELD"  # the identity holds no live grant of that role in the store
    # -- authentication and authorisation of the REST API (AuthError; issue 13) --
    AUTH_REQUIRED = "AUTH_REQUIRED"  # no credentials were presented
    TOKEN_INVALID = "TOKEN_INVALID"  # noqa: S105 - not an airel token, or no such token, or the wrong secret
    TOKEN_EXPIRED = "TOKEN_EXPIRED"  # noqa: S105 - the token is past its expiry
    TOKEN_REVOKED = "TOKEN_REVOKED"  # noqa: S105 - the token was revoked
    PERMISSION_DENIED = "PERMISSION_DENIED"  # the identity's roles do not allow this request
    TOKEN_NOT_FOUND = "TOKEN_NOT_FOUND"  # noqa: S105 - no API token with that id
    ACTOR_NOT_ALLOWED = "ACTOR_NOT_ALLOWED"  # --actor where identity comes from a token
    KEY_REVOKED = "KEY_REVOKED"  # a signing key was revoked (or is being revoked twice)
    SELF_APPROVAL = "SELF_APPROVAL"  # the submitter of a release approving it
    DUPLICATE_APPROVER = "DUPLICATE_APPROVER"  # one person filling two roles on one release
    APPROVAL_EXPIRED = "APPROVAL_EXPIRED"  # an approval or waiver past its expiry
    APPROVAL_DIGEST_MISMATCH = "APPROVAL_DIGEST_MISMATCH"  # signed for another bundle digest
    WAIVER_INVALID = "WAIVER_INVALID"  # an exception / risk acceptance lacking scope, expiry…
    WAIVER_NOT_NEEDED = "WAIVER_NOT_NEEDED"  # the rule passes: there is no failure to waive
    WAIVER_CANNOT_COVER = "WAIVER_CANNOT_COVER"  # not a measured failure (missing, stale …)
    CLOCK_SKEW = "CLOCK_SKEW"  # a timestamp in the future beyond the allowed skew
    BUNDLE_INCOMPLETE = "BUNDLE_INCOMPLETE"  # freeze refused: completeness fails, no reason given
    FEEDBACK_INVALID = "FEEDBACK_INVALID"  # an override without a verdict, an unknown kind …
    REQUEST_INVALID = "REQUEST_INVALID"  # a gateway request that is malformed or too large
    CANARY_SAMPLE_INVALID = "CANARY_SAMPLE_INVALID"  # analysis input that is empty or malformed
    # -- not found (NotFoundError) --
    COMPONENT_NOT_FOUND = "COMPONENT_NOT_FOUND"  # no such component version
    ALIAS_NOT_FOUND = "ALIAS_NOT_FOUND"  # no such alias
    RELEASE_NOT_FOUND = "RELEASE_NOT_FOUND"  # no such release bundle
    ROLLBACK_TARGET_NOT_FOUND = "ROLLBACK_TARGET_NOT_FOUND"  # rollback target is not a release
    DANGLING_REFERENCE = "DANGLING_REFERENCE"  # a lineage parent that is not registered
    AMBIGUOUS_REFERENCE = "AMBIGUOUS_REFERENCE"  # a bare name matching several versions
    ARTIFACT_MISSING = "ARTIFACT_MISSING"  # an artifact file or blob does not exist
    PLUGIN_NOT_FOUND = "PLUGIN_NOT_FOUND"  # no installed plugin has that name in its group
    DECISION_NOT_FOUND = "DECISION_NOT_FOUND"  # no such gate decision
    ROUTE_NOT_FOUND = "ROUTE_NOT_FOUND"  # no route of that name in that lane
    EVIDENCE_NOT_FOUND = "EVIDENCE_NOT_FOUND"  # no stored validation run / eval record to link
    KEY_NOT_REGISTERED = "KEY_NOT_REGISTERED"  # no such key registered for that identity (then)
    AUDIT_ENTRY_NOT_FOUND = "AUDIT_ENTRY_NOT_FOUND"  # no audit entry with that sequence number
    TRACE_NOT_FOUND = "TRACE_NOT_FOUND"  # no trace of that request id
    # -- conflicts (ConflictError) --
    VERSION_CONFLICT = "VERSION_CONFLICT"  # same name+version already holds different content
    RELEASE_CONFLICT = "RELEASE_CONFLICT"  # same release id already frozen with other content
    STALE_VERSION = "STALE_VERSION"  # compare-and-set lost: the record changed since read
    DUPLICATE_RECORD = "DUPLICATE_RECORD"  # the database refused a second record with one key
    APPROVAL_REPLAYED = "APPROVAL_REPLAYED"  # an approval id presented a second time
    BUNDLE_DRAFT = "BUNDLE_DRAFT"  # the release is only a draft: not citable until frozen
    BUNDLE_FROZEN = "BUNDLE_FROZEN"  # a draft of a release that is already frozen
    LAST_ADMIN = "LAST_ADMIN"  # revoking the store's last administrator
    # -- integrity (IntegrityError) --
    HASH_MISMATCH = "HASH_MISMATCH"  # declared digest differs from the content's digest
    RECORD_TAMPERED = "RECORD_TAMPERED"  # a stored record does not match the audit chain
    SIGNATURE_INVALID = "SIGNATURE_INVALID"  # an Ed25519 signature does not verify
    # -- store (StoreError) --
    STORE_NOT_INITIALISED = "STORE_NOT_INITIALISED"  # no airel store here: run `airel init`
    STORE_SCHEMA_OUTDATED = "STORE_SCHEMA_OUTDATED"  # migrations pending: `airel db upgrade`
    STORE_SCHEMA_NEWER = "STORE_SCHEMA_NEWER"  # the store was written by a newer airel
    STORE_LOCKED = "STORE_LOCKED"  # another writer held the lock past the busy timeout
    STORE_READ_ONLY = "STORE_READ_ONLY"  # the database cannot be written
    STORE_UNAVAILABLE = "STORE_UNAVAILABLE"  # the database cannot be reached or opened
    CONFIG_INVALID = "CONFIG_INVALID"  # airel.toml or an AIREL_* variable is invalid
    UPSTREAM_UNAVAILABLE = "UPSTREAM_UNAVAILABLE"  # a release's endpoint failed or is unset
    ENGINE_UNAVAILABLE = "ENGINE_UNAVAILABLE"  # an optional engine (pyspark, Java) is not installed


class AirelError(Exception):
    """Root of every error airel raises on purpose.

    ``fix`` tells the user what to do; ``details`` carries structured context (field paths,
    digests, line numbers) for JSON output.
    """

    def __init__(
        self,
        reason: Reason,
        message: str,
        *,
        fix: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.fix = fix
        self.details: dict[str, Any] = dict(details or {})

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape every edge renders."""
        out: dict[str, Any] = {
            "error": type(self).__name__,
            "reason": self.reason.value,
            "message": self.message,
        }
        if self.fix:
            out["fix"] = self.fix
        if self.details:
            out["details"] = self.details
        return out

    def __str__(self) -> str:
        return f"{self.message} (fix: {self.fix})" if self.fix else self.message


class InputError(AirelError):
    """The caller's input is wrong."""


class ParseError(InputError):
    """A document could not be parsed safely; ``line`` is 1-based when known."""

    def __init__(
        self,
        reason: Reason,
        message: str,
        *,
        line: int | None = None,
        fix: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        merged = dict(details or {})
        if line is not None:
            merged["line"] = line
        super().__init__(reason, message, fix=fix, details=merged)
        self.line = line


class ValidationError(InputError):
    """A well-formed document whose content breaks the schema or naming rules.

    ``problems`` lists every problem found (validation collects, it does not stop at the first).
    """

    def __init__(
        self,
        reason: Reason,
        message: str,
        *,
        fix: str | None = None,
        problems: list[dict[str, Any]] | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        merged = dict(details or {})
        if problems:
            merged["problems"] = problems
        super().__init__(reason, message, fix=fix, details=merged)
        self.problems = problems or []


class NotFoundError(AirelError):
    """A referenced thing does not exist."""


class ConflictError(AirelError):
    """Immutable content would change, or a compare-and-set lost."""


class IntegrityError(AirelError):
    """Content does not match its digest."""


class AuthError(AirelError):
    """The caller is not authenticated (no, malformed, unknown, expired or revoked token) or
    is not permitted to do what it asked (HTTP 401 / 403)."""


class StoreError(AirelError):
    """The store cannot be used as asked."""
