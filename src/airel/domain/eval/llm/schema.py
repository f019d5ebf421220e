"""A small, strict JSON Schema subset for the ``json_schema`` output rule (E2).

``jsonschema`` is not a dependency, so the rule validates with this subset:

* ``type`` — ``object``, ``array``, ``string``, ``number``, ``integer``, ``boolean``, ``null``, or
  a list of them. As in JSON Schema, ``true``/``false`` are not numbers and ``1.0`` is an integer.
* ``properties``, ``required``, ``additionalProperties`` (``false`` or a schema)
* ``items`` (one schema for every element), ``minItems``, ``maxItems``
* ``enum``, ``const``
* ``minLength``, ``maxLength``, ``minimum``, ``maximum``
* annotations that do not constrain: ``$schema``, ``$id``, ``title``, ``description``,
  ``default``, ``examples``, ``$comment``

Any other keyword (``oneOf``, ``$ref``, ``pattern``, ``format`` …) makes :func:`check_schema`
raise ``ValidationError(EVAL_SCHEMA_UNSUPPORTED)`` when the eval case is built: a keyword that
were silently ignored would turn into a false pass. :func:`schema_errors` returns the violations
as ``"$.path: message"`` strings (empty list: valid).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airel.errors import Reason, ValidationError

_CONSTRAINTS = frozenset(
    {
        "type", "properties", "required", "additionalProperties", "items", "minItems",
        "maxItems", "enum", "const", "minLength", "maxLength", "minimum", "maximum",
    }
)  # fmt: skip
_ANNOTATIONS = frozenset(
    {"$schema", "$id", "title", "description", "default", "examples", "$comment"}
)
_TYPES = frozenset({"object", "array", "string", "number", "integer", "boolean", "null"})


def check_schema(schema: Any, path: str = "$") -> None:
    """Raise ``ValidationError`` when ``schema`` uses anything outside the supported subset."""
    if not isinstance(schema, Mapping):
        raise ValidationError(
            Reason.EVAL_SCHEMA_UNSUPPORTED,
            f"schema at {path} is not an object",
            details={"path": path},
        )
    for key, value in schema.items():
        if key in _ANNOTATIONS:
            continue
        if key not in _CONSTRAINTS:
            raise ValidationError(
                Reason.EVAL_SCHEMA_UNSUPPORTED,
                f"schema keyword {key!r} at {path} is not supported",
                fix="use type, properties, required, additionalProperties, items, enum, const, "
                "min/max(Length|Items|imum)",
                details={"path": path, "keyword": key},
            )
        if key == "type":
            names = value if isinstance(value, list) else [value]
            if not names or any(n not in _TYPES for n in names):
                raise ValidationError(
                    Reason.EVAL_SCHEMA_UNSUPPORTED,
                    f"schema type {value!r} at {path} is not a JSON Schema type",
                    details={"path": path, "keyword": key},
                )
        elif key == "properties":
            if not isinstance(value, Mapping):
                raise ValidationError(
                    Reason.EVAL_SCHEMA_UNSUPPORTED,
                    f"properties at {path} is not an object",
                    details={"path": path, "keyword": key},
                )
            for name, sub in value.items():
                check_schema(sub, f"{path}.properties.{name}")
        elif key == "items" or (key == "additionalProperties" and not isinstance(value, bool)):
            check_schema(value, f"{path}.{key}")
        elif key in ("required", "enum") and not isinstance(value, list):
            raise ValidationError(
                Reason.EVAL_SCHEMA_UNSUPPORTED,
                f"{key} at {path} is not a list",
                details={"path": path, "keyword": key},
            )


def _type_ok(value: Any, name: str) -> bool:
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "string":
        return isinstance(value, str)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "null":
        return value is None
    if isinstance(value, bool):
        return False
    if name == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    return isinstance(value, int | float)  # number


def _equal(a: Any, b: Any) -> bool:
    """JSON equality: booleans never equal numbers (``True != 1`` here)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return bool(a == b)


def schema_errors(value: Any, schema: Mapping[str, Any], path: str = "$") -> list[str]:
    """Every violation of ``schema`` (already checked by :func:`check_schema`) by ``value``."""
    errors: list[str] = []
    if "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_type_ok(value, n) for n in names):
            return [f"{path}: expected {'|'.join(names)}, got {type(value).__name__}"]
    if "const" in schema and not _equal(value, schema["const"]):
        errors.append(f"{path}: not the constant {schema['const']!r}")
    if "enum" in schema and not any(_equal(value, e) for e in schema["enum"]):
        errors.append(f"{path}: {value!r} not in enum")
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            errors.append(f"{path}: shorter than {schema['minLength']}")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append(f"{path}: longer than {schema['maxLength']}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{path}: below minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{path}: above maximum {schema['maximum']}")
    if isinstance(value, dict):
        props: Mapping[str, Any] = schema.get("properties", {})
        errors.extend(
            f"{path}: missing {k!r}" for k in schema.get("required", ()) if k not in value
        )
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in props:
                errors.extend(schema_errors(item, props[key], f"{path}.{key}"))
            elif extra is False:
                errors.append(f"{path}: unexpected property {key!r}")
            elif isinstance(extra, Mapping):
                errors.extend(schema_errors(item, extra, f"{path}.{key}"))
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            errors.append(f"{path}: fewer than {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append(f"{path}: more than {schema['maxItems']} items")
        if "items" in schema:
            for i, item in enumerate(value):
                errors.extend(schema_errors(item, schema["items"], f"{path}[{i}]"))
    return errors
