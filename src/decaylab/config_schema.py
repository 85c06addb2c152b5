"""A config against its JSON Schema, one line per violation that names its key path (no backend).

Numbers must be finite and integers strict (``3.0`` and ``true`` are refused where an integer
is asked). Where a value may take one of several shapes (``oneOf``: a number, a list of
numbers, a sampled axis), ``jsonschema``'s :func:`~jsonschema.exceptions.best_match` picks the
alternative that explains it, ranked by :func:`_relevance`: Snakemake's own message says only
that the value "is not valid under any of the given schemas".
"""

from __future__ import annotations

import math

import jsonschema
from jsonschema.exceptions import WEAK_MATCHES, best_match

JSON_TYPES = jsonschema.Draft202012Validator.TYPE_CHECKER
"""JSON's types as the schema's draft defines them, before :func:`validator` narrows numbers
to finite ones and integers to strict ones."""


def validator(schema: dict):
    """A validator of ``schema`` whose numbers are finite and whose integers are not floats or
    booleans."""
    base = jsonschema.validators.validator_for(schema)

    def finite_number(checker, instance):
        return base.TYPE_CHECKER.is_type(instance, "number") and math.isfinite(instance)

    def strict_integer(checker, instance):
        return isinstance(instance, int) and not isinstance(instance, bool)

    checker = base.TYPE_CHECKER.redefine_many({"number": finite_number, "integer": strict_integer})
    return jsonschema.validators.extend(base, type_checker=checker)(schema)


def problems(config: dict, schema: dict) -> list[str]:
    """Every violation of ``schema`` by ``config``, one ``key.path: message`` line each, in the
    order of the key paths; an empty list for a sound config."""
    found = []
    for error in sorted(validator(schema).iter_errors(config), key=lambda e: list(e.path)):
        error = best_match([error], key=_relevance)
        key = ".".join(str(part) for part in error.absolute_path) or "<top level>"
        line = f"{key}: {_message(error)}"
        if line not in found:
            found.append(line)
    return found


def _relevance(error) -> tuple:
    """How ``best_match`` ranks the alternatives of a ``oneOf``, the most relevant smallest: one
    whose type the value has, then the deepest (an item of a list, a key of a mapping), then one
    that is not itself a ``oneOf`` or ``anyOf`` (such as a sampled axis's "valid under each of"
    for a number), then the first in order: a full order, so that ``best_match`` descends to one
    alternative instead of stopping at the ``oneOf`` when two tie."""
    return (
        not _fits(error),
        -len(error.path),
        error.validator in WEAK_MATCHES,
        tuple(str(part) for part in error.path),
        tuple(str(part) for part in error.relative_schema_path),
    )


def _fits(error) -> bool:
    """Whether the value has the type of the (sub)schema that refuses it: its ``type``, or the
    type of one of its ``enum``'s values. A number refused only as not finite, or as a float
    where an integer is asked, has its type."""
    if error.validator == "type":
        expected = error.validator_value
    elif isinstance(error.schema, dict) and "type" in error.schema:
        expected = error.schema["type"]
    elif isinstance(error.schema, dict) and "enum" in error.schema:
        return any(type(error.instance) is type(value) for value in error.schema["enum"])
    else:
        return True
    expected = [expected] if isinstance(expected, str) else expected
    return any(JSON_TYPES.is_type(error.instance, kind) for kind in expected)


def _message(error) -> str:
    """The error's message, in words for a number that is not finite or a float integer."""
    if error.validator == "type" and isinstance(error.instance, float):
        if not math.isfinite(error.instance):
            return f"must be a finite number, got {error.instance}"
        if error.instance.is_integer():
            return f"must be an integer: write {int(error.instance)}, not {error.instance}"
    return error.message
