"""Loading a rules file: YAML with the position of every key, and every problem at FILE:LINE:COLUMN."""

from __future__ import annotations

import difflib
import re
import typing
from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from boundaryd.core.rules_model import Rules
from boundaryd.errors import BadInput

Loc = tuple[int | str, ...]  # a path into the document: keys and list indexes (pydantic's ``loc``)
Pos = tuple[int, int]  # (line, column), 1-based
_VALUE: str = "<value>"  # last part of the path at which a key's value (not the key) starts


class _Loader(yaml.SafeLoader):
    """SafeLoader without YAML 1.1 base-60 integers (so 11:30 stays "11:30") and without its
    yes/no/on/off booleans (so ``replies: off`` or ``id: off`` stay words; pydantic still reads
    "yes"/"off" as booleans where a boolean is wanted)."""


_Loader.yaml_implicit_resolvers = {
    k: [
        (tag, rx)
        for tag, rx in v
        if not (tag.endswith((":int", ":float")) and ":" in rx.pattern.replace("(?:", "")) and not tag.endswith(":bool")
    ]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
# dates stay text: the model reads them, so a wrong one (2026-13-01) is a located problem, not a crash
_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if not tag.endswith(":timestamp")] for k, v in _Loader.yaml_implicit_resolvers.items()
}
for _first in "tTfF":
    _Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), [_first])
for _first in list("-+0123456789."):
    _Loader.add_implicit_resolver(
        "tag:yaml.org,2002:int",
        re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
        [_first],
    )
    _Loader.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
        [_first],
    )


def _mark(node: yaml.Node) -> Pos:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


Span = tuple[int, int, int, int]  # a scalar's source: start index, end index, start line, start column


def _walk(
    node: yaml.Node, path: Loc, pos: dict[Loc, Pos], dups: list[tuple[Loc, Pos]], spans: dict[Loc, Span] | None = None
) -> None:
    """Record where every key and value starts (and each scalar's source span); collect keys given
    twice in one mapping."""
    pos.setdefault(path, _mark(node))
    if spans is not None and isinstance(node, yaml.ScalarNode):
        spans.setdefault(path, (node.start_mark.index, node.end_mark.index, *_mark(node)))
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for k, v in node.value:
            key = k.value if isinstance(k, yaml.ScalarNode) else str(k)
            kp = (*path, key)
            if key in seen:
                dups.append((kp, _mark(k)))
            seen.add(key)
            pos[kp] = _mark(k)
            pos[kp + (_VALUE,)] = _mark(v)
            _walk(v, kp, pos, dups, spans)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), pos, dups, spans)


def _where(pos: dict[Loc, Pos], loc: Loc, *, key: bool = False) -> Pos:
    loc = tuple(loc)
    if not key and loc + (_VALUE,) in pos:
        return pos[loc + (_VALUE,)]
    while loc:
        if loc in pos:
            return pos[loc]
        loc = loc[:-1]
    return pos.get((), (1, 1))


def _models_in(annotation: object) -> list[type[BaseModel]]:
    """The pydantic models a field holds: itself, or inside ``X | None`` or ``list[X]``, one level down."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    args = typing.get_args(annotation)
    direct = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
    if direct:
        return direct
    return [a for x in args for a in typing.get_args(x) if isinstance(a, type) and issubclass(a, BaseModel)]


def _fields_of(model: type[BaseModel], loc: Loc) -> list[str]:
    """Known keys of the model at ``loc`` (for 'did you mean')."""
    m = model
    for part in loc:
        if isinstance(part, int):
            continue
        f = m.model_fields.get(part)
        if f is None:
            return []
        inner = _models_in(f.annotation)
        if not inner:
            return []
        m = inner[0]
    return [f.alias or n for n, f in m.model_fields.items()]


def _unknown_key(loc: Loc) -> str:
    key = loc[-1]
    known = _fields_of(Rules, loc[:-1])
    hint = difflib.get_close_matches(str(key), known, n=1)
    where = ".".join(str(p) for p in loc[:-1]) or "the top level"
    return f"unknown key {key!r} in {where}" + (
        f" (did you mean {hint[0]!r}?)" if hint else f" (known keys: {', '.join(known)})" if known else ""
    )


def _message(err: ErrorDetails) -> tuple[Loc, str, bool]:
    """(location, one-line message, points at key?) for one pydantic error."""
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and ("[" in p or p.startswith("function-"))))
    typ = err["type"]
    if typ == "extra_forbidden":
        return loc, _unknown_key(loc), True
    if typ == "missing":
        return loc[:-1], f"missing key {loc[-1]!r}", True
    text = str(err["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        text = text.removeprefix(prefix)
    if typ.startswith("date_"):
        text = _date_words(err.get("input"))
    if typ == "literal_error":
        text = f"{err.get('input')!r} is not allowed here ({text[0].lower() + text[1:]})"
    name = ".".join(str(p) for p in loc)
    if name and not text.startswith(("block ", "calendar:", "working_hours:")):
        text = f"{name}: {text}"
    return loc, text, False


_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")


def _date_words(value: object) -> str:
    """Why a value is not a date, in plain words."""
    shown = repr(value) if not isinstance(value, str) else f'"{value}"'
    m = re.fullmatch(r"\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*", value) if isinstance(value, str) else None
    if m:
        year, month, day = (int(g) for g in m.groups())
        if not 1 <= month <= 12:
            return f"{shown} is not a date: there is no month {month} (write YYYY-MM-DD, e.g. 2026-12-24)"
        import calendar

        last = calendar.monthrange(year, month)[1]
        if not 1 <= day <= last:
            return f"{shown} is not a date: {_MONTHS[month - 1]} {year} has {last} days (write YYYY-MM-DD)"
    return f"{shown} is not a date (write YYYY-MM-DD, e.g. 2026-12-24)"


def _parse_yaml(text: str, filename: str) -> tuple[dict[object, object], yaml.Node]:
    """The document as data and as nodes (for positions); BadInput unless it is a mapping."""
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"{mark.line + 1}:{mark.column + 1}" if mark else "1:1"
        raise BadInput(f"{filename}:{where}: not valid YAML: {e.problem or e.context} (check indentation and quotes)") from None
    except yaml.YAMLError as e:
        raise BadInput(f"{filename}: not valid YAML: {e}") from None
    if not isinstance(data, dict) or node is None:
        raise BadInput(f"{filename}:1:1: a rules file is a mapping starting with 'version: 1' (see rules/example.yaml)")
    return data, node


def load_rules_text(text: str, filename: str) -> Rules:
    """Parse and validate; raises BadInput listing every problem as FILE:LINE:COLUMN: message."""
    data, node = _parse_yaml(text, filename)
    pos: dict[Loc, Pos] = {}
    dups: list[tuple[Loc, Pos]] = []
    spans: dict[Loc, Span] = {}
    _walk(node, (), pos, dups, spans)

    problems: list[tuple[Pos, str]] = [(p, f"duplicate key {kp[-1]!r}") for kp, p in dups]
    problems += _cross_check(data, pos)
    rules: Rules | None = None
    try:
        rules = Rules.model_validate(data)
    except ValidationError as e:
        for err in e.errors():
            loc, msg, at_key = _message(err)
            if err["type"] == "bad_placeholder":
                problems += _placeholder_problems(err, loc, text, pos, spans)
                continue
            problems.append((_where(pos, loc, key=at_key), msg))
    if problems or rules is None:
        uniq = sorted(set(problems))
        raise BadInput(*(f"{filename}:{ln}:{col}: {msg}" for (ln, col), msg in uniq))
    return rules


def _placeholder_problems(
    err: ErrorDetails, loc: Loc, text: str, pos: dict[Loc, Pos], spans: dict[Loc, Span]
) -> list[tuple[Pos, str]]:
    """Each bad placeholder of a message at its own line and column in the source.

    The k-th occurrence of a token in the value is taken to be its k-th occurrence in the value's
    source (YAML escapes never write a brace), so quoting and folding do not matter.
    """
    name = ".".join(str(p) for p in loc)
    value = str(err.get("input", ""))
    out: list[tuple[Pos, str]] = []
    for offset, token, words in (err.get("ctx") or {}).get("problems", ()):
        where = _where(pos, loc)
        span = spans.get(tuple(loc))
        if span is not None:
            nth = value[:offset].count(token)
            source = text[span[0] : span[1]]
            i = -1
            for _ in range(nth + 1):
                i = source.find(token, i + 1)
                if i < 0:
                    break
            if i >= 0:
                before = text[: span[0] + i]
                where = (before.count("\n") + 1, span[0] + i - (before.rfind("\n") + 1) + 1)
        out.append((where, f"{name}: {words}"))
    return out


def _block_ids(blocks: object, pos: dict[Loc, Pos], out: list[tuple[Pos, str]]) -> dict[str, int]:
    """Each block id with the index of its first block; a problem for every id given twice."""
    ids: dict[str, int] = {}
    if not isinstance(blocks, list):
        return ids
    for i, b in enumerate(blocks):
        bid = b.get("id") if isinstance(b, dict) else None
        if not isinstance(bid, str):
            continue
        if bid in ids:
            out.append((_where(pos, ("blocks", i, "id")), f"duplicate block id {bid!r} (first at block {ids[bid] + 1})"))
        else:
            ids[bid] = i
    return ids


def _cross_check(data: dict[object, object], pos: dict[Loc, Pos]) -> list[tuple[Pos, str]]:
    """Checks across sections, done on the raw data so they run even when other parts fail."""
    out: list[tuple[Pos, str]] = []
    ids = _block_ids(data.get("blocks"), pos, out)
    skips = data.get("skip")
    if not isinstance(skips, list):
        return out
    for i, s in enumerate(skips):
        refs = s.get("blocks") if isinstance(s, dict) else None
        if not isinstance(refs, list):
            continue
        for j, r in enumerate(refs):
            if r not in ids:
                hint = difflib.get_close_matches(str(r), list(ids), n=1)
                out.append(
                    (
                        _where(pos, ("skip", i, "blocks", j)),
                        f"skip: no block with id {r!r}" + (f" (did you mean {hint[0]!r}?)" if hint else ""),
                    )
                )
    return out


def load_rules(path: str | Path) -> Rules:
    p = Path(path).expanduser()
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise BadInput(f"{p}: no rules file here (create one with 'boundaryd demo' or copy rules/example.yaml)") from None
    except OSError as e:
        raise BadInput(f"{p}: cannot read the rules file ({e.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise BadInput(f"{p}:{line}:1: not UTF-8 text (save the file as UTF-8)") from None
    return load_rules_text(text, str(p))

