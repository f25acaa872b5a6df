"""Command schemas from method signatures.

Each ``@command`` method's parameters become one JSON Schema object, the shape the runtime turns into its own
command declaration (the same one a TypeScript model makes), so validation, the UI controls and every error are the
runtime's. Supported: ``str``, ``int``, ``float``, ``bool``, ``Literal["a", "b"]`` (strings), ``UploadedFile`` (a file the
client uploaded, resolved before the method runs), each optionally with a
pydantic ``Field`` (v1 or v2) as its default or inside ``Annotated[...]``: ``default`` or ``...`` (required),
``ge``/``le``/``gt``/``lt`` for numbers, ``min_length``/``max_length`` for strings, ``description``. Anything else
fails when the model loads, naming the method and the parameter.
"""

from __future__ import annotations

import inspect
import math
import typing
from typing import Any, Optional

import base64

from .model import UploadedFile, command_info

try:  # typing_extensions' Literal/Annotated are distinct objects on some Python versions
    import typing_extensions as _te
except ImportError:  # pragma: no cover
    _te = None  # type: ignore

_LITERALS = {typing.Literal} | ({_te.Literal} if _te is not None else set())
_ANNOTATED = {typing.Annotated} | ({_te.Annotated} if _te is not None else set())

_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean"}


class SchemaError(TypeError):
    """A command signature the runtime cannot turn into a schema; the message names the method and parameter."""


class _Missing:
    def __repr__(self) -> str:
        return "<required>"


MISSING = _Missing()


def _is_field_info(value: Any) -> bool:
    kind = type(value)
    return kind.__name__ == "FieldInfo" and kind.__module__.startswith("pydantic")


def _undefined(value: Any) -> bool:
    return value is Ellipsis or type(value).__name__ in ("PydanticUndefinedType", "UndefinedType")


def _field_facts(field: Any) -> dict:
    """The facts of a pydantic FieldInfo, v1 or v2: default, description, bounds, lengths, and what else it sets."""
    facts: dict = {"default": MISSING if _undefined(field.default) else field.default}
    if getattr(field, "default_factory", None) is not None:
        facts["default"] = field.default_factory()
    if getattr(field, "description", None):
        facts["description"] = field.description
    for key in ("ge", "le", "gt", "lt", "min_length", "max_length", "multiple_of", "regex", "pattern"):
        value = getattr(field, key, None)  # v1 keeps constraints as attributes
        if value is not None:
            facts[key] = value
    for item in getattr(field, "metadata", []) or []:  # v2 keeps them as annotated_types objects
        for key in ("ge", "le", "gt", "lt", "min_length", "max_length", "multiple_of", "pattern"):
            value = getattr(item, key, None)
            if value is not None:
                facts[key] = value
    return facts


def _number(value: Any, where: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SchemaError(f"{where}: Field({key}=...) must be a finite number, got {value!r}")
    return value


def param_schema(where: str, annotation: Any, default: Any) -> "tuple[dict, bool]":
    """One parameter's JSON Schema and whether it is required. ``where`` names it in errors."""
    facts: dict = {"default": default}
    while typing.get_origin(annotation) in _ANNOTATED:
        args = typing.get_args(annotation)
        annotation = args[0]
        for extra in args[1:]:
            if _is_field_info(extra):
                inner = _field_facts(extra)
                if inner["default"] is MISSING:
                    inner.pop("default")
                facts.update(inner)
    if _is_field_info(facts["default"]):
        facts.update(_field_facts(facts["default"]))

    out: dict = {}
    origin = typing.get_origin(annotation)
    if origin in _LITERALS:
        values = list(typing.get_args(annotation))
        if not values or not all(isinstance(v, str) for v in values):
            raise SchemaError(
                f"{where}: Literal{values!r} is not supported; a choice must be strings, e.g. Literal[\"left\", \"right\"]"
            )
        out["type"] = "string"
        out["enum"] = values
    elif annotation in _TYPES:
        out["type"] = _TYPES[annotation]
    elif annotation is UploadedFile:
        # Reactor's upload reference: the runtime resolves it to the file before the command runs.
        out["type"] = "object"
        out["format"] = "reactor-upload-reference"
    elif annotation is inspect.Parameter.empty:
        raise SchemaError(f"{where}: it has no type hint; annotate it with str, int, float, bool or Literal[...]")
    else:
        shown = getattr(annotation, "__name__", None) or repr(annotation)
        raise SchemaError(
            f"{where}: type {shown} is not supported; use str, int, float, bool or Literal[...] "
            "(optionally with a pydantic Field for bounds, a description and a default)"
        )

    kind = out["type"]
    for key in ("multiple_of", "regex", "pattern"):
        if key in facts:
            raise SchemaError(f"{where}: Field({key}=...) is not supported")
    bounds = {"ge": "minimum", "le": "maximum", "gt": "exclusiveMinimum", "lt": "exclusiveMaximum"}
    for key, name in bounds.items():
        if key in facts:
            if kind not in ("integer", "number"):
                raise SchemaError(f"{where}: Field({key}=...) applies to int and float parameters only")
            out[name] = _number(facts[key], where, key)
    for key, name in (("min_length", "minLength"), ("max_length", "maxLength")):
        if key in facts:
            if kind != "string" or "enum" in out:
                raise SchemaError(f"{where}: Field({key}=...) applies to str parameters only")
            value = facts[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise SchemaError(f"{where}: Field({key}=...) must be a whole number of 0 or more")
            out[name] = value
    if "description" in facts:
        out["description"] = str(facts["description"])

    default = facts["default"]
    required = default is MISSING or default is inspect.Parameter.empty
    if not required and out["type"] == "object":
        raise SchemaError(f"{where}: an UploadedFile parameter cannot have a default; the client always sends one")
    if not required:
        out["default"] = _check_default(where, out, default)
    return out, required


def _check_default(where: str, schema: dict, value: Any) -> Any:
    kind = schema["type"]
    ok = {
        "string": isinstance(value, str),
        "boolean": isinstance(value, bool),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, (int, float)) and not isinstance(value, bool),
    }[kind]
    if value is None:
        raise SchemaError(f"{where}: a default of None is not supported; give a value of the parameter's type")
    if not ok:
        raise SchemaError(f"{where}: its default {value!r} is not a {kind}")
    if "enum" in schema and value not in schema["enum"]:
        raise SchemaError(f"{where}: its default {value!r} is not one of {schema['enum']!r}")
    if kind == "number":
        value = float(value)
    return value


def command_schema(cls: type, attr: str, fn: Any) -> dict:
    """One command's declaration: name, description, and the JSON Schema of its parameters (in signature order)."""
    info = command_info(fn) or {"name": attr, "description": ""}
    method = f"{cls.__name__}.{attr}"
    label = f'command "{info["name"]}" ({method})'
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception as error:  # an annotation that does not resolve
        raise SchemaError(f"{label}: its type hints do not resolve: {error}") from None
    signature = inspect.signature(fn)
    properties: dict = {}
    required: list = []
    for index, (name, param) in enumerate(signature.parameters.items()):
        if index == 0 and name in ("self", "cls"):
            continue
        where = f'{label}, parameter "{name}"'
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise SchemaError(f"{where}: *args and **kwargs are not supported; name each parameter")
        if param.kind is param.POSITIONAL_ONLY:
            raise SchemaError(f"{where}: positional-only parameters are not supported")
        schema, is_required = param_schema(where, hints.get(name, param.annotation), param.default)
        properties[name] = schema
        if is_required:
            required.append(name)
    returned = hints.get("return", signature.return_annotation)
    return {
        "name": info["name"],
        "description": info["description"] or "",
        "method": attr,
        "schema": {"type": "object", "properties": properties, "required": required},
        # a method annotated with a return type other than None replies to its sender with what it returns
        "returns": returned not in (inspect.Signature.empty, None, type(None), "None"),
    }


def commands_of(cls: type) -> list:
    """Every command of a model class, in definition order (base classes first); duplicate names fail."""
    out: list = []
    seen: dict = {}
    for klass in reversed(cls.__mro__):
        for attr, value in vars(klass).items():
            if command_info(value) is None:
                continue
            declared = command_schema(cls, attr, value)
            previous: Optional[str] = seen.get(declared["name"])
            if previous is not None and previous != attr:
                raise SchemaError(
                    f'command "{declared["name"]}" is declared twice ({cls.__name__}.{previous} and {cls.__name__}.{attr})'
                )
            seen[declared["name"]] = attr
            out = [c for c in out if c["name"] != declared["name"]] + [declared]
    return out


def coerce(schema: dict, args: dict) -> dict:
    """Arguments as the method expects them: a float parameter gets a float even when JSON carried ``3``, and a file
    parameter an ``UploadedFile`` (the runtime sends ``{"name", "mime_type", "base64"}``)."""
    out = dict(args)
    for name, spec in schema.get("properties", {}).items():
        if spec.get("format") == "reactor-upload-reference" and isinstance(out.get(name), dict):
            file = out[name]
            out[name] = UploadedFile(str(file.get("name", "")), str(file.get("mime_type", "")), base64.b64decode(file.get("base64", "")))
        if spec.get("type") == "number" and isinstance(out.get(name), int) and not isinstance(out.get(name), bool):
            out[name] = float(out[name])
    return out
