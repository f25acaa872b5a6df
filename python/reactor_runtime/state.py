"""Typed, viewer-mutable session state (Reactor's ``InputState``).

A model declares its state as a class of annotated fields with defaults, and names it with a ``state`` annotation::

    class Look(InputState):
        brightness: int = Field(40, ge=1, le=255, description="Grey level")
        pattern: Literal["plain", "stripes"] = "plain"
        _frames: int = 0                      # private: no command, not sent

    class M(VideoModel):
        state: Look

Each public field becomes a ``set_<field>`` command (its type, bounds and description as a ``@command`` parameter's;
a ``@command`` of that name wins), a fresh instance is ``self.state`` for each session, and the state is sent to the
viewers when a setter changes it and when a viewer connects (a runtime ``state`` message).
"""

from __future__ import annotations

import copy
import typing
from typing import Any, Optional

from .schema import MISSING, SchemaError, param_schema

_FIELD_PREFIX = "__state__."


class InputState:
    """Base of a model's session state: annotated fields, each with a default (a value or a pydantic ``Field``)."""

    def __init__(self) -> None:
        for name, value in initial_values(type(self)).items():
            setattr(self, name, copy.deepcopy(value))

    def to_dict(self) -> dict:
        """The public fields and their values: what the viewers are sent."""
        return {name: getattr(self, name) for name in public_schemas(type(self))}


def _annotations(cls: type) -> dict:
    try:
        return typing.get_type_hints(cls, include_extras=True)
    except Exception as error:
        raise SchemaError(f"state {cls.__name__}: its type hints do not resolve: {error}") from None


def public_schemas(cls: type) -> "dict[str, dict]":
    """Each public field's JSON Schema (its default included); a field without a default fails."""
    out: dict = {}
    for name, annotation in _annotations(cls).items():
        if name.startswith("_"):
            continue
        where = f'state {cls.__name__}, field "{name}"'
        schema, required = param_schema(where, annotation, cls.__dict__.get(name, MISSING))
        if required:
            raise SchemaError(f"{where}: it has no default; a session starts from the defaults")
        out[name] = schema
    return out


def initial_values(cls: type) -> dict:
    """Every field's starting value: a public field's default, a private field's value as written."""
    values = {name: schema["default"] for name, schema in public_schemas(cls).items()}
    for name in _annotations(cls):
        if name.startswith("_") and name in cls.__dict__:
            values[name] = cls.__dict__[name]
    return values


def state_class(cls: type) -> Optional[type]:
    """The ``InputState`` class a model names with its ``state`` annotation, or None."""
    try:
        hint = typing.get_type_hints(cls).get("state")
    except Exception:
        return None
    return hint if isinstance(hint, type) and issubclass(hint, InputState) else None


def setters_of(cls: type) -> list:
    """The ``set_<field>`` command declarations of a model's state (none without one)."""
    state = state_class(cls)
    if state is None:
        return []
    return [
        {
            "name": f"set_{name}",
            "description": schema.get("description") or f"Sets {name}",
            "method": f"{_FIELD_PREFIX}{name}",
            # the value is what a setter is for: required (the default stays in the schema for the controls)
            "schema": {"type": "object", "properties": {name: schema}, "required": [name]},
            "returns": False,
        }
        for name, schema in public_schemas(state).items()
    ]


def setter_field(method: str) -> Optional[str]:
    """The field a declared command's ``method`` sets, when it is a state setter."""
    return method[len(_FIELD_PREFIX):] if method.startswith(_FIELD_PREFIX) else None
