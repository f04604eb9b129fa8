"""Microsoft's OpenAPI description of Graph v1.0 (its calendar part), as a request validator.

``graph/graph-v1.0-calendar.json`` is the trimmed description derived from
microsoftgraph/msgraph-metadata (see ``graph/NOTICE`` for the source, the commit and the MIT
licence, and ``graph/extract.py`` for how it was derived). Every request the stand-in gets is
checked here: the path and method must be described, every query option must be one the operation
declares (required ones present), and a JSON body must match the operation's schema: known
properties only, of the right types, enum values, patterns (dates, times) and nesting; navigation
properties are refused in bodies unless the description inlines them.

Two things the description cannot say, taken from how Graph pages: a follow-up link Graph itself
issued (``$skiptoken``/``$deltatoken`` on a delta function) is valid as given, without the custom
options the first request needed; and ``.../delta`` is the same function as ``.../delta()``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

SPEC_PATH = Path(__file__).resolve().parent / "graph" / "graph-v1.0-calendar.json"
_PAGING = {"$skiptoken", "$deltatoken"}


class Invalid(Exception):
    def __init__(self, message: str, code: str = "BadRequest", status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


class OpenApi:
    def __init__(self, path: Path = SPEC_PATH) -> None:
        self.doc = json.loads(path.read_text())
        self.schemas: dict[str, Any] = self.doc["components"]["schemas"]
        self.routes: list[tuple[re.Pattern[str], str, dict[str, Any]]] = []
        for template, ops in self.doc["paths"].items():
            pieces = re.split(r"\{([\w-]+)\}", template)  # literal, name, literal, name, ...
            pattern = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p.replace('-', '_')}>[^/]+)" for i, p in enumerate(pieces))
            self.routes.append((re.compile("^" + pattern + "$"), template, ops))

    def route(self, verb: str, path: str) -> tuple[str, dict[str, str], dict[str, Any]]:
        """(template, path parameters, operation) for ``verb path`` (path without /v1.0)."""
        if path.endswith("/delta"):
            path += "()"
        found = [(t, m, ops) for r, t, ops in self.routes if (m := r.match(path))]
        found.sort(key=lambda x: len(x[1].groupdict()))  # literal segments first
        if not found:
            raise Invalid(f"Resource not found for the segment in {path!r}.", "Request_BadRequest", 400)
        template, match, ops = found[0]
        op = ops.get(verb.lower())
        if op is None:
            raise Invalid(f"{verb} is not described for {template}.", "Request_BadRequest", 405)
        return template, dict(match.groupdict()), op

    def check_query(self, template: str, op: dict[str, Any], query: dict[str, list[str]]) -> None:
        declared = {p["name"]: p for p in op.get("parameters", [])}
        paging = template.endswith("delta()") and bool(_PAGING & set(query))
        for name, values in query.items():
            if name in _PAGING and template.endswith("delta()"):
                if len(query) != 1:
                    raise Invalid(f"A {name} link is followed as given, without {sorted(set(query) - {name})}.")
                continue
            if name not in declared:
                raise Invalid(f"Query option {name!r} is not allowed on {template}.")
            if len(values) != 1:
                raise Invalid(f"Query option {name!r} is given {len(values)} times.")
            if name in ("$top", "$skip") and not re.fullmatch(r"\d+", values[0]):
                raise Invalid(f"Invalid value for {name}: {values[0]!r}.")
        if not paging:
            for name, p in declared.items():
                if p.get("required") and name not in query:
                    raise Invalid(f"Required query option {name!r} is missing on {template}.")

    def check_body(self, template: str, op: dict[str, Any], body: Any) -> None:
        rb = op.get("requestBody")
        if rb is None:
            if body is not None:
                raise Invalid(f"{template} takes no request body.")
            return
        if body is None:
            raise Invalid("Empty Payload. JSON content expected.")
        self.check(body, rb["content"]["application/json"]["schema"], "body")

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.schemas[schema["$ref"].rsplit("/", 1)[1]]
        return schema

    def check(self, value: Any, schema: dict[str, Any], where: str) -> None:
        schema = self._resolve(schema)
        if "anyOf" in schema:
            errors = []
            for alt in schema["anyOf"]:
                alt_r = self._resolve(alt)
                if value is None and alt_r.get("nullable"):
                    return
                if value is not None and alt_r.get("nullable") and alt_r.get("type") == "object" and "properties" not in alt_r:
                    continue  # the "or null" arm: only null matches it
                try:
                    self.check(value, alt, where)
                    return
                except Invalid as e:
                    errors.append(e.message)
            raise Invalid("; ".join(errors) or f"{where}: no alternative matches")
        if value is None:
            if schema.get("nullable"):
                return
            raise Invalid(f"{where}: null is not allowed.")
        if schema.get("x-ms-navigationProperty"):
            raise Invalid(f"{where}: navigation property {schema.get('x-target')} cannot be written inline.")
        typ = schema.get("type")
        if "enum" in schema:
            if not isinstance(value, str) or value not in schema["enum"]:
                raise Invalid(f"{where}: {value!r} is not one of {schema['enum']}.")
            return
        if typ == "object":
            if not isinstance(value, dict):
                raise Invalid(f"{where}: expected an object, got {type(value).__name__}.")
            props = schema.get("properties", {})
            extra = schema.get("additionalProperties")
            for k, v in value.items():
                if k in props:
                    self.check(v, props[k], f"{where}.{k}")
                elif extra is not None:
                    self.check(v, extra, f"{where}.{k}")
                else:
                    raise Invalid(f"{where}: the property {k!r} does not exist on type {schema.get('title', '?')}.")
        elif typ == "array":
            if not isinstance(value, list):
                raise Invalid(f"{where}: expected an array.")
            for i, item in enumerate(value):
                self.check(item, schema["items"], f"{where}[{i}]")
        elif typ == "string":
            if not isinstance(value, str):
                raise Invalid(f"{where}: expected a string, got {value!r}.")
            if "pattern" in schema and not re.match(schema["pattern"], value):
                raise Invalid(f"{where}: {value!r} is not a valid {schema.get('format', 'value')}.")
        elif typ == "boolean":
            if not isinstance(value, bool):
                raise Invalid(f"{where}: expected a boolean, got {value!r}.")
        elif typ == "integer":
            if not isinstance(value, int) or isinstance(value, bool):
                raise Invalid(f"{where}: expected an integer, got {value!r}.")
            if not schema.get("minimum", value) <= value <= schema.get("maximum", value):
                raise Invalid(f"{where}: {value} is out of range.")
        elif typ == "number":
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise Invalid(f"{where}: expected a number.")
