"""What can still be checked of an item that failed validation.

``policy check`` must report every problem in one run: a rule with a bad
``threshold`` may also name an unknown owner, and a journey whose SLI has a
bad ``objective`` still declares the ``events`` its rules are checked against.
So for a broken item the loader builds a *partial* model: every field that
validates on its own is kept (nested models and lists are salvaged element by
element), every field that does not is left out. Reading a left-out field
raises :class:`AttributeError`, which the cross-checks take as "unknown here,
skip this check for this item" (:mod:`escalator.policies.checks`).

A partial model is only ever used by the cross-checks; it never leaves the
loader, since a set with a broken item raises :class:`PolicyError` anyway.
Model validators (``@model_validator``) do not run on partial models: their
complaints are already among the schema problems.
"""

from __future__ import annotations

import types
from functools import cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

__all__ = ["Unknown", "salvage"]


class Unknown:
    """A list element that could not be salvaged at all; every attribute is unknown."""

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(name)

    def __repr__(self) -> str:
        return "Unknown()"


_MISSING = object()


def salvage(annotation: Any, value: Any) -> Any:
    """``value`` validated as ``annotation`` as far as it goes; ``Unknown()`` if nothing does."""
    result = _salvage(annotation, value)
    return Unknown() if result is _MISSING else result


@cache
def _adapter(annotation: Any) -> TypeAdapter[Any]:
    return TypeAdapter(annotation)


def _salvage(annotation: Any, value: Any) -> Any:
    try:
        return _adapter(annotation).validate_python(value)
    except ValidationError:
        pass
    model = _model_for(annotation, value)
    if model is not None and isinstance(value, dict):
        return _partial(model, value)
    inner = _list_item(annotation)
    if inner is not None and isinstance(value, list):
        return [salvage(inner, v) for v in value]
    return _MISSING


def _partial(model: type[BaseModel], value: dict[str, Any]) -> BaseModel:
    kept: dict[str, Any] = {}
    dropped: list[str] = []
    for name, info in model.model_fields.items():
        if name not in value:
            continue  # model_construct fills the default; a missing required field stays unset
        got = _salvage(_field_annotation(info), value[name])
        if got is _MISSING:
            dropped.append(name)
        else:
            kept[name] = got
    partial = model.model_construct(**kept)
    for name in dropped:  # not the default: the author wrote something else
        partial.__dict__.pop(name, None)
    return partial


@cache
def _field_annotation_cached(info: FieldInfo) -> Any:
    if info.metadata:
        return Annotated[(info.annotation, *info.metadata)]
    return info.annotation


def _field_annotation(info: FieldInfo) -> Any:
    try:
        return _field_annotation_cached(info)
    except TypeError:  # unhashable metadata
        return Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation


def _strip(annotation: Any) -> tuple[Any, list[Any]]:
    """The bare type of an ``Annotated[...]`` and its metadata."""
    if get_origin(annotation) is Annotated:
        base, *meta = get_args(annotation)
        inner, more = _strip(base)
        return inner, [*meta, *more]
    return annotation, []


def _model_for(annotation: Any, value: Any) -> type[BaseModel] | None:
    """The model to salvage ``value`` as: the type itself, or the union member its tag picks."""
    base, meta = _strip(annotation)
    if isinstance(base, type) and issubclass(base, BaseModel):
        return base
    if get_origin(base) in (Union, types.UnionType):
        members = [m for m in get_args(base) if m is not type(None)]
        models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
        tag = next((getattr(m, "discriminator", None) for m in meta), None)
        if isinstance(tag, str) and isinstance(value, dict):
            for m in models:
                field = m.model_fields.get(tag)
                if field is not None and value.get(tag) in _literal_values(field.annotation):
                    return m
            return None
        if len(models) == 1 and len(members) == 1:
            return models[0]
    return None


def _literal_values(annotation: Any) -> tuple[Any, ...]:
    return get_args(annotation) if get_origin(annotation) is Literal else ()


def _list_item(annotation: Any) -> Any:
    base, _ = _strip(annotation)
    if get_origin(base) is list:
        args = get_args(base)
        return args[0] if args else Any
    return None
