"""Map a pydantic error location back to a YAML line, and say what was expected.

pydantic reports ``('rules', 0, 'latency', 'threshold')``: the discriminator
tag ``latency`` is not in the YAML, the rest is. :func:`locate` walks the
ruamel round-trip tree along that location and returns the 1-based line of the
deepest key or list item it could find, with a dotted path such as
``rules[0].threshold``. :func:`describe_error` turns pydantic's message into
"what is wrong and what is expected".
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from escalator.policies.errors import Problem

__all__ = ["SourceRef", "describe_error", "locate", "node_line", "type_at"]


def locate(
    root: Any,
    loc: Sequence[str | int],
    *,
    default_line: int = 1,
    model: type[BaseModel] | None = None,
) -> tuple[int, str]:
    """The line and dotted path of ``loc`` inside the ruamel node ``root``."""
    node = root
    line = _start_line(root) or default_line
    parts: list[str] = []
    for i, el in enumerate(loc):
        last = i == len(loc) - 1
        if el == "[key]":
            continue
        if isinstance(node, dict) and isinstance(el, str | int):
            key = _find_key(node, el)
            if key is not _MISSING:
                line = _key_line(node, key, line)
                parts.append(f".{key}")
                node = node[key]
                continue
        if isinstance(node, list) and isinstance(el, int) and 0 <= el < len(node):
            line = _item_line(node, el, line)
            parts.append(f"[{el}]")
            node = node[el]
            continue
        # Not in the data: a discriminator tag, a union member name, or (last)
        # a missing field, which is reported at its parent's line.
        if last and isinstance(el, str) and isinstance(node, dict) and _is_field(model, loc):
            parts.append(f".{el}")
    return line, "".join(parts).lstrip(".")


_MISSING = object()


def _find_key(mapping: dict[Any, Any], el: str | int) -> Any:
    if el in mapping:
        return el
    for key in mapping:
        if str(key) == str(el):
            return key
    return _MISSING


def _start_line(node: Any) -> int | None:
    lc = getattr(node, "lc", None)
    if lc is None or getattr(lc, "line", None) is None:
        return None
    return int(lc.line) + 1


def _key_line(mapping: Any, key: Any, fallback: int) -> int:
    try:
        return int(mapping.lc.key(key)[0]) + 1
    except (KeyError, TypeError, AttributeError):
        return fallback  # e.g. a key brought in by a YAML merge (<<)


def _item_line(seq: Any, index: int, fallback: int) -> int:
    try:
        return int(seq.lc.item(index)[0]) + 1
    except (KeyError, TypeError, AttributeError):
        return fallback


def _is_field(model: type[BaseModel] | None, loc: Sequence[str | int]) -> bool:
    if model is None:
        return True
    parent = type_at(model, loc[:-1])
    el = loc[-1]
    if _is_union(parent) and isinstance(el, str) and _tagged_member(parent, el) is not None:
        return False  # a discriminator tag, e.g. the 'conformance' of a model-level error
    return not (_is_model(parent) and el not in parent.model_fields)


# --- types along a location -------------------------------------------------


def _unwrap(tp: Any) -> Any:
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    return tp


def _is_union(tp: Any) -> bool:
    return get_origin(tp) in (Union, types.UnionType)


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _union_members(tp: Any) -> list[Any]:
    return [m for m in get_args(tp) if m is not type(None)]


def _tagged_member(tp: Any, tag: str) -> Any:
    for member in _union_members(tp):
        member = _unwrap(member)
        if not _is_model(member):
            continue
        for name in ("kind", "type"):
            fld = member.model_fields.get(name)
            literal = fld is not None and get_origin(fld.annotation) is Literal
            if literal and fld is not None and tag in get_args(fld.annotation):
                return member
    return None


def type_at(model: Any, loc: Sequence[str | int]) -> Any:
    """The (unwrapped) type at ``loc`` below ``model``, or None when it cannot tell."""
    tp: Any = model
    for el in loc:
        tp = _unwrap(tp)
        if _is_union(tp):
            members = _union_members(tp)
            tagged = _tagged_member(tp, el) if isinstance(el, str) else None
            if tagged is not None:
                tp = tagged
                continue
            if len(members) == 1:
                tp = _unwrap(members[0])
            else:
                models = [_unwrap(m) for m in members if _is_model(_unwrap(m))]
                if len(models) == 1 and isinstance(el, str) and el in models[0].model_fields:
                    tp = models[0]
                else:
                    continue  # a union member name such as 'str' in the location
        if el == "[key]":
            return None
        if _is_model(tp):
            fld = tp.model_fields.get(str(el))
            if fld is None:
                return None
            tp = fld.annotation
        elif get_origin(tp) is list and isinstance(el, int):
            tp = get_args(tp)[0]
        elif get_origin(tp) is dict:
            tp = get_args(tp)[1]
        else:
            return None
    return _unwrap(tp)


def expected(tp: Any) -> str:
    """A short description of what a value of type ``tp`` looks like in YAML."""
    tp = _unwrap(tp)
    if _is_union(tp):
        members = _union_members(tp)
        tagged = [m for m in members if _is_model(_unwrap(m))]
        if len(members) == 1:
            return expected(members[0])
        if tagged and len(tagged) == len(members):
            return "a mapping"
        return " or ".join(expected(m) for m in members)
    if tp is timedelta:
        return "a duration such as '15m', '2h' or '28d'"
    if tp is datetime:
        return "a timestamp with offset such as '2026-01-05T09:00:00+01:00'"
    if tp is date:
        return "a date such as '2026-12-25'"
    if tp is time:
        return "a time such as '09:00'"
    if tp is bool:
        return "true or false"
    if tp is int:
        return "a whole number"
    if tp is float:
        return "a number"
    if tp is str:
        return "a text"
    if get_origin(tp) is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if get_origin(tp) is list:
        return "a list"
    if get_origin(tp) is dict:
        return "a mapping"
    if _is_model(tp):
        return "a mapping with keys " + ", ".join(tp.model_fields)
    return "a value"


# --- messages ---------------------------------------------------------------

_PATTERNS = {
    r"^\+[1-9]\d{6,14}$": "an E.164 phone number such as '+31612345678'",
    r"^[UW][A-Z0-9]{2,}$": "a Slack user id such as 'U012AB3CD'",
    r"^[#]?[a-z0-9_-]+$|^[CG][A-Z0-9]+$": (
        "a Slack channel name such as '#ops-inventory' or a channel id such as 'C0123ABC'"
    ),
    r"^[A-Za-z][A-Za-z0-9_.-]*$": (
        "a name that starts with a letter and uses only letters, digits, '_', '.' and '-'"
    ),
}


def _got(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def describe_error(err: Any, loc: Sequence[str | int], model: Any = None) -> str:
    """pydantic's error as 'what is wrong; what is expected'."""
    from escalator.policies.policy_set import PolicyDocument

    model = model or PolicyDocument
    kind = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    field = str(loc[-1]) if loc else ""
    if kind == "missing":
        tp = type_at(model, loc)
        hint = f"; expected {expected(tp)}" if tp is not None else ""
        return f"required field {field!r} is missing{hint}"
    if kind == "extra_forbidden":
        parent = type_at(model, loc[:-1])
        if _is_model(parent):
            allowed = list(parent.model_fields)
            return (
                f"unknown key {field!r}{_did_you_mean(field, allowed)}; "
                f"expected one of: {', '.join(allowed)}"
            )
        return f"unknown key {field!r}"
    if kind == "union_tag_invalid":
        return (
            f"unknown {ctx.get('discriminator', 'kind')} {ctx.get('tag')!r}; "
            f"expected one of: {ctx.get('expected_tags')}"
        )
    if kind == "union_tag_not_found":
        disc = str(ctx.get("discriminator", "kind")).strip("'")
        tp = type_at(model, loc)
        tags = _tags(tp)
        where = f"; expected one of: {tags}" if tags else ""
        if not isinstance(value, dict):
            return f"expected a mapping with a {disc!r} key, got {_got(value)}"
        return f"required field {disc!r} is missing{where}"
    if kind == "string_type" and isinstance(value, int | float) and not isinstance(value, bool):
        return f"expected a text, got the number {value}; put it in quotes"
    if kind == "string_pattern_mismatch":
        what = _PATTERNS.get(str(ctx.get("pattern")), f"text matching {ctx.get('pattern')}")
        return f"expected {what}, got {_got(value)}"
    if kind in ("value_error", "assertion_error"):
        msg = str(err["msg"])
        for prefix in ("Value error, ", "Assertion failed, "):
            if msg.startswith(prefix):
                msg = msg[len(prefix) :]
        return msg
    msg = str(err["msg"])
    msg = msg[0].lower() + msg[1:] if msg else msg
    msg = msg.replace("input should be", "expected").replace("Input should be", "expected")
    return f"{msg}, got {_got(value)}"


def _tags(tp: Any) -> str:
    tp = _unwrap(tp)
    if not _is_union(tp):
        return ""
    out: list[str] = []
    for member in _union_members(tp):
        member = _unwrap(member)
        if _is_model(member):
            for name in ("kind", "type"):
                fld = member.model_fields.get(name)
                if fld is not None and get_origin(fld.annotation) is Literal:
                    out.extend(repr(a) for a in get_args(fld.annotation))
    return ", ".join(out)


def _did_you_mean(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def node_line(node: Any) -> int | None:
    lc = getattr(node, "lc", None)
    if lc is None or getattr(lc, "line", None) is None:
        return None
    return int(lc.line) + 1


@dataclass(frozen=True)
class SourceRef:
    """Where one item of a policy set came from: its file, document and index."""

    file: str
    key: str  # document key: "rules", "roles", ...
    index: int  # index in that document's list
    node: Any  # the ruamel node of the item (CommentedMap), for line look-ups

    @property
    def line(self) -> int:
        return node_line(self.node) or 1

    def at(self, *subpath: str | int) -> tuple[int, str]:
        """Line and dotted path of a field of this item, e.g. ``at("levels", 0, "role")``."""
        line, path = locate(self.node, subpath, default_line=self.line)
        prefix = f"{self.key}[{self.index}]"
        return line, prefix + (("." + path) if path and not path.startswith("[") else path)

    def problem(self, message: str, *subpath: str | int) -> Problem:
        line, path = self.at(*subpath)
        return Problem(self.file, line, path, message)
