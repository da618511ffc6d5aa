"""Load policy YAML into a :class:`PolicySet`, reporting EVERY problem with file and line.

A path may be a file or a directory (its ``*.yaml``/``*.yml`` files, recursively,
in name order); a file may hold several YAML documents separated by ``---``.
Each document is a mapping with any of the keys ``journeys``, ``rules``,
``roles``, ``escalation_policies``, ``playbooks``, ``calendars`` and ``integrations``, each a list;
keys starting with ``x-`` are ignored, so they can hold YAML anchors to reuse
(``x-defaults: &level {...}`` then ``<<: *level``). Hidden files and
directories (``.name``) inside a directory are skipped.

Items are validated one by one, so a broken rule does not hide the problems of
its neighbours, and the cross-checks of :mod:`escalator.policies.checks` still run over
everything that did validate and over what can be salvaged of what did not
(:mod:`escalator.policies.salvage`), so one run reports every problem. Nothing here raises anything but
:class:`PolicyError`: unreadable files, invalid YAML, empty files and wrong
types are all :class:`Problem` s.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

from pydantic import TypeAdapter, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from escalator.policies.checks import run_checks
from escalator.policies.errors import PolicyError, Problem
from escalator.policies.locate import SourceRef, describe_error, locate, node_line
from escalator.policies.policy_set import DOCUMENT_KEYS, PolicyDocument, PolicySet
from escalator.policies.salvage import Unknown, salvage

__all__ = [
    "LoadedPolicies",
    "SourceRef",
    "load",
    "load_policies",
]

YAML_SUFFIXES = (".yaml", ".yml")


class _Constructor(RoundTripConstructor):
    """Round-trip constructor that leaves timestamps as text.

    ruamel turns ``2026-01-05T09:00:00+01:00`` into a naive datetime with the
    offset kept aside; pydantic parses the ISO text itself, offset included.
    """


def _timestamp_as_text(constructor: RoundTripConstructor, node: Any) -> Any:
    return constructor.construct_scalar(node)


_Constructor.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.Constructor = _Constructor
    yaml.allow_duplicate_keys = False
    return yaml


@dataclass
class LoadedPolicies:
    """A validated policy set and where each item came from (``sources[key][i]``)."""

    policies: PolicySet
    sources: dict[str, list[SourceRef]]
    files: list[str] = field(default_factory=list)

    def source(self, key: str, name: str) -> SourceRef | None:
        for item, ref in zip(getattr(self.policies, key), self.sources[key], strict=True):
            if item.name == name:
                return ref
        return None


def load_policies(paths: Sequence[Path | str]) -> PolicySet:
    """Load and cross-check policies; raise :class:`PolicyError` listing every problem."""
    return load(paths).policies


def load(paths: Sequence[Path | str]) -> LoadedPolicies:
    """Like :func:`load_policies`, also returning each item's source (for checks and tools)."""
    problems: list[Problem] = []
    files = _expand(paths, problems)
    items: dict[str, list[Any]] = {k: [] for k in DOCUMENT_KEYS}
    sources: dict[str, list[SourceRef]] = {k: [] for k in DOCUMENT_KEYS}
    broken: dict[str, set[str]] = {k: set() for k in DOCUMENT_KEYS}
    checked = _Checked()
    for file in files:
        _load_file(file, items, sources, broken, problems, checked)
    policies = PolicySet.model_validate(items)
    loaded = LoadedPolicies(policies=policies, sources=sources, files=[str(f) for f in files])
    problems.extend(run_checks(checked.items, checked.sources, broken, partial=checked.partial))
    if problems:
        order = {str(f): i for i, f in enumerate(files)}
        problems.sort(key=lambda p: (order.get(p.file, -1), p.line))
        raise PolicyError(_dedupe(problems))
    return loaded


@dataclass
class _Checked:
    """What the cross-checks see: the valid items and partial models of the broken ones."""

    items: dict[str, list[Any]] = field(default_factory=lambda: {k: [] for k in DOCUMENT_KEYS})
    sources: dict[str, list[SourceRef]] = field(
        default_factory=lambda: {k: [] for k in DOCUMENT_KEYS}
    )
    partial: bool = False

    def add(self, item: Any, ref: SourceRef) -> None:
        self.items[ref.key].append(item)
        self.sources[ref.key].append(ref)


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[Problem] = set()
    out: list[Problem] = []
    for p in problems:
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out


def _expand(paths: Sequence[Path | str], problems: list[Problem]) -> list[Path]:
    if not paths:
        problems.append(Problem("<none>", 1, "", "no policy path given; pass a file or directory"))
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.suffix in YAML_SUFFIXES
                and p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            if not found:
                problems.append(
                    Problem(str(path), 1, "", "directory holds no *.yaml or *.yml policy files")
                )
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            problems.append(
                Problem(str(path), 1, "", "no such file or directory; expected a policy file")
            )
    # The same file named twice (a directory and a file in it) is loaded once.
    unique: dict[str, Path] = {}
    for f in files:
        unique.setdefault(os.path.realpath(f), f)
    return list(unique.values())


def _load_file(
    file: Path,
    items: dict[str, list[Any]],
    sources: dict[str, list[SourceRef]],
    broken: dict[str, set[str]],
    problems: list[Problem],
    checked: _Checked,
) -> None:
    name = str(file)
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        problems.append(Problem(name, 1, "", f"not UTF-8 text ({exc.reason}); save it as UTF-8"))
        return
    except OSError as exc:
        problems.append(Problem(name, 1, "", f"cannot read file: {exc.strerror or exc}"))
        return
    try:
        documents = list(_yaml().load_all(text))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        what = " ".join(s for s in (exc.context, exc.problem) if s)
        problems.append(Problem(name, line, "", f"invalid YAML: {what}"))
        return
    except YAMLError as exc:
        problems.append(Problem(name, 1, "", f"invalid YAML: {exc}"))
        return
    if all(d is None for d in documents):
        problems.append(
            Problem(name, 1, "", f"the file is empty; expected a mapping with {_KEYS_HINT}")
        )
        return
    starts = _document_lines(text, len(documents))
    for doc, start in zip(documents, starts, strict=True):
        if doc is not None:
            _load_document(name, start, doc, items, sources, broken, problems, checked)


_KEYS_HINT = "one or more of the keys " + ", ".join(DOCUMENT_KEYS)
_ITEM_TYPES: dict[str, Any] = {
    key: get_args(PolicyDocument.model_fields[key].annotation)[0] for key in DOCUMENT_KEYS
}
_ITEM_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    key: TypeAdapter(item_type) for key, item_type in _ITEM_TYPES.items()
}


def _document_lines(text: str, count: int) -> list[int]:
    """The 1-based first line of each document (scalars carry no line of their own)."""
    try:
        lines = [n.start_mark.line + 1 if n is not None else 1 for n in _yaml().compose_all(text)]
    except YAMLError:
        lines = []
    return lines if len(lines) == count else [1] * count


def _load_document(
    file: str,
    start: int,
    doc: Any,
    items: dict[str, list[Any]],
    sources: dict[str, list[SourceRef]],
    broken: dict[str, set[str]],
    problems: list[Problem],
    checked: _Checked,
) -> None:
    if not isinstance(doc, CommentedMap):
        line = node_line(doc) or start
        problems.append(
            Problem(file, line, "", f"expected a mapping with {_KEYS_HINT}, got {_kind(doc)}")
        )
        return
    for key in doc:
        line = _key_line(doc, key)
        if isinstance(key, str) and key.startswith("x-"):
            continue  # a holder for YAML anchors, as in docker-compose files
        if key not in DOCUMENT_KEYS:
            problems.append(
                Problem(
                    file,
                    line,
                    str(key),
                    f"unknown key {key!r}{_did_you_mean(str(key), DOCUMENT_KEYS)}; "
                    f"expected {_KEYS_HINT}",
                )
            )
            continue
        value = doc[key]
        if value is None:
            continue  # `rules:` with nothing under it yet
        if not isinstance(value, CommentedSeq):
            problems.append(
                Problem(file, line, str(key), f"expected a list of {key}, got {_kind(value)}")
            )
            continue
        for index, node in enumerate(value):
            ref = SourceRef(file=file, key=key, index=index, node=node)
            plain = _plain(node)
            try:
                item = _ITEM_ADAPTERS[key].validate_python(plain)
            except ValidationError as exc:
                partial = salvage(_ITEM_TYPES[key], plain)
                if not isinstance(partial, Unknown):
                    checked.add(partial, ref)
                    checked.partial = True
                if isinstance(node, CommentedMap) and isinstance(node.get("name"), str):
                    broken[key].add(str(node["name"]))
                for err in exc.errors(include_url=False):
                    loc = (key, index, *err["loc"])
                    if err["type"] == "union_tag_invalid":
                        # Point at the `kind:`/`type:` key itself, not the whole item.
                        loc = (*loc, str(err["ctx"]["discriminator"]).strip("'"))
                    line_no, path = locate(doc, loc, default_line=line, model=PolicyDocument)
                    problems.append(Problem(file, line_no, path, describe_error(err, loc)))
                continue
            items[key].append(item)
            sources[key].append(ref)
            checked.add(item, ref)


def _plain(node: Any) -> Any:
    """ruamel's round-trip types (CommentedMap, ScalarFloat, ...) as plain Python."""
    if isinstance(node, dict):
        return {_plain(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, bool):
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node


def _key_line(mapping: CommentedMap, key: Any) -> int:
    try:
        return int(mapping.lc.key(key)[0]) + 1
    except (KeyError, TypeError, AttributeError):
        return node_line(mapping) or 1


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {str(value)!r}"
    return type(value).__name__


def _did_you_mean(word: str, choices: Sequence[str]) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
