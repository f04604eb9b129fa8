"""The rules file's JSON Schema: fresh on disk, the examples and defaults valid, the loader's mistakes rejected.

``validate`` checks a document against the schema with jsonschema when it is installed, else with a
small validator for the subset pydantic emits; the property tests use it too.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from boundaryd.core.rules import json_schema, load_rules_text, schema_text

ROOT = Path(__file__).resolve().parent.parent
RULES_DIR = ROOT / "rules"


def test_schema_file_is_fresh() -> None:
    on_disk = (RULES_DIR / "schema.json").read_text(encoding="utf-8")
    assert on_disk == schema_text(), "rules/schema.json is stale: run `make schema` and commit it"


def _data_of(path: Path) -> Any:
    """The example file as an editor's YAML language server sees it: dates are strings."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return json.loads(json.dumps(data, default=str))


class Invalid(AssertionError):
    pass


def _check(schema: dict[str, Any], value: Any, root: dict[str, Any], where: str) -> None:
    """A small validator for the JSON Schema subset pydantic emits (used when jsonschema is absent)."""
    if "$ref" in schema:
        ref = schema["$ref"]
        assert ref.startswith("#/$defs/"), ref
        _check(root["$defs"][ref.split("/")[-1]], value, root, where)
    if "anyOf" in schema:
        errors = []
        for sub in schema["anyOf"]:
            try:
                _check(sub, value, root, where)
                break
            except Invalid as e:
                errors.append(str(e))
        else:
            raise Invalid(f"{where}: matches none of anyOf: {errors}")
    if "const" in schema and value != schema["const"]:
        raise Invalid(f"{where}: {value!r} != {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        raise Invalid(f"{where}: {value!r} not in {schema['enum']}")
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        kinds = {
            "string": lambda v: isinstance(v, str),
            "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
            "boolean": lambda v: isinstance(v, bool),
            "array": lambda v: isinstance(v, list),
            "object": lambda v: isinstance(v, dict),
            "null": lambda v: v is None,
        }
        if not any(kinds[t](value) for t in types):
            raise Invalid(f"{where}: {value!r} is not {types}")
    if isinstance(value, str):
        if "pattern" in schema and not re.search(schema["pattern"], value):
            raise Invalid(f"{where}: {value!r} does not match {schema['pattern']}")
        if schema.get("format") == "date":
            dt.date.fromisoformat(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            raise Invalid(f"{where}: {value} < minimum")
        if "maximum" in schema and value > schema["maximum"]:
            raise Invalid(f"{where}: {value} > maximum")
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            raise Invalid(f"{where}: {value} <= exclusiveMinimum")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            raise Invalid(f"{where}: fewer than {schema['minItems']} items")
        for i, item in enumerate(value):
            if "items" in schema:
                _check(schema["items"], item, root, f"{where}[{i}]")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for k in schema.get("required", []):
            if k not in value:
                raise Invalid(f"{where}: missing {k}")
        for k, v in value.items():
            if k in props:
                _check(props[k], v, root, f"{where}.{k}")
            elif schema.get("additionalProperties") is False:
                raise Invalid(f"{where}: unknown key {k}")


def validate(instance: Any, schema: dict[str, Any]) -> None:
    if importlib.util.find_spec("jsonschema") is not None:
        import jsonschema  # type: ignore[import-untyped]  # optional, found at run time; its stubs are no test dependency

        try:
            jsonschema.validate(instance, schema)
        except jsonschema.ValidationError as e:
            raise Invalid(e.message) from None
    else:
        _check(schema, instance, schema, "$")


@pytest.mark.parametrize("name", ["example.yaml", "minimal.yaml"])
def test_examples_validate_against_schema(name: str) -> None:
    validate(_data_of(RULES_DIR / name), json.loads((RULES_DIR / "schema.json").read_text(encoding="utf-8")))


def test_schema_rejects_what_the_loader_rejects() -> None:
    schema = json_schema()
    good = _data_of(RULES_DIR / "example.yaml")
    validate(good, schema)
    bad_variants = [
        {**good, "polcy": "flag"},
        {**good, "working_hours": {"start": "25:00"}},
        {**good, "blocks": [{**good["blocks"][0], "days": ["funday"]}]},
        {**good, "blocks": [{**good["blocks"][0], "policy": "ignore"}]},
        {**good, "defaults": {"policy": "maybe"}},
        {**good, "horizon_days": 0},
        {k: v for k, v in good.items() if k != "owner"},
    ]
    for bad in bad_variants:
        with pytest.raises(Invalid):
            validate(bad, schema)


def test_schema_takes_the_day_names_the_loader_takes() -> None:
    """Full names ("monday"), common shortenings and any case load, so the schema takes them too."""
    schema = json_schema()
    good = _data_of(RULES_DIR / "example.yaml")
    for days in (["monday", "Wednesday"], ["tues", "THURS"], [" Sun "], ["mon", "fri"]):
        data = {**good, "blocks": [{**good["blocks"][0], "days": days}, *good["blocks"][1:]]}
        load_rules_text(json.dumps(data, default=str), "rules.yaml")
        validate(data, schema)
    for days in (["sundae"], ["mo"], ["Mondays"]):
        with pytest.raises(Invalid):
            validate({**good, "blocks": [{**good["blocks"][0], "days": days}]}, schema)


def test_schema_defaults_validate_against_their_own_schema() -> None:
    """An editor shows the defaults; each must be a valid value for its key."""
    schema = json_schema()

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if "default" in node and node["default"] is not None:
                sub = {k: v for k, v in node.items() if k != "default"}
                validate(node["default"], {**sub, "$defs": schema["$defs"]})
            for k, v in node.items():
                walk(v, f"{where}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{where}[{i}]")

    walk(schema, "$")


def test_schema_structure() -> None:
    s = json_schema()
    assert s["$schema"].startswith("https://json-schema.org/")
    assert s["additionalProperties"] is False
    assert set(s["required"]) >= {"version", "timezone", "owner", "blocks"}
    block = s["$defs"]["Block"]
    assert block["additionalProperties"] is False
    assert {"id", "days", "rrule", "start", "end", "duration", "times", "all_day", "policy", "private", "allow"} <= set(block["properties"])
    email = s["$defs"]["EmailNotify"]["properties"]
    assert "from" in email and "from_" not in email
