"""The model surface: ``VideoModel``, the ``@model`` entry decorator and the ``@command`` method decorator."""

from __future__ import annotations

import re
from typing import Any, Callable, Optional, TypeVar

T = TypeVar("T")

_MODEL_ATTR = "__reactor_model__"
_COMMAND_ATTR = "__reactor_command__"


class UploadedFile:
    """A file a viewer uploaded, as a ``@command`` parameter typed ``UploadedFile`` receives it (Reactor's name): its
    ``name`` (untrusted: never a path), its declared ``mime_type``, and its bytes as ``data``. The runtime resolves the
    client's upload reference before the command runs."""

    __slots__ = ("name", "mime_type", "data")

    def __init__(self, name: str, mime_type: str, data: bytes) -> None:
        self.name = name
        self.mime_type = mime_type
        self.data = data

    def __repr__(self) -> str:
        return f"UploadedFile(name={self.name!r}, mime_type={self.mime_type!r}, {len(self.data)} bytes)"


class DictConfig(dict):
    """The model's config: a dict whose keys also read as attributes (``config.fps`` or ``config.get("fps", 30)``),
    nested sections included. It stands in for OmegaConf's ``DictConfig`` without needing it installed."""

    def __init__(self, value: Optional[dict] = None) -> None:
        super().__init__()
        for key, item in (value or {}).items():
            self[key] = DictConfig(item) if isinstance(item, dict) and not isinstance(item, DictConfig) else item

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"config has no key {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value


class CommandError(Exception):
    """Raise from a command to refuse it with a code of your own (Reactor's ``CommandError``): its sender gets
    ``{code, message}`` unchanged, and the session goes on. ``raise CommandError("quota_exceeded", "No credits.")``"""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


class VideoModel:
    """Base class of a model. ``__init__(self, config)`` runs once per process (load weights there);
    ``start_session(self)`` runs once per viewer: it is the generation loop, and the session ends when it returns.
    Methods decorated with ``@command`` are what viewers can call while it runs."""

    def __init__(self, config: Any = None) -> None:  # noqa: D107 - a model's own __init__ replaces this
        pass

    def start_session(self) -> None:
        raise NotImplementedError("a VideoModel must define start_session(self)")


def model(_cls: Optional[type] = None, *, name: Optional[str] = None, config: Optional[str] = None,
          weights: Optional[list] = None, **extra: Any) -> Any:
    """Marks the model class of a file: ``@model(name="my-model", config="config.yml")``.

    ``config`` is a YAML file (relative to the model's file) of default config values, given to ``__init__``;
    ``-c file.yml`` and ``--model.key=value`` override them. ``weights`` is accepted and not used here."""

    def mark(cls: type) -> type:
        if not isinstance(cls, type):
            raise TypeError("@model decorates a class")
        setattr(cls, _MODEL_ATTR, {"name": name, "config": config, "weights": list(weights or []), **extra})
        return cls

    return mark(_cls) if _cls is not None else mark


def model_info(cls: type) -> Optional[dict]:
    """What ``@model`` recorded on a class (not inherited from a decorated base), or None."""
    return cls.__dict__.get(_MODEL_ATTR)


def command(name: Optional[str] = None, description: str = "") -> Callable[[T], T]:
    """Makes a method a command viewers can send: ``@command("set_speed", description="How fast")``.

    Its parameters' type hints (``str``, ``int``, ``float``, ``bool``, ``Literal[...]``) and pydantic ``Field``
    defaults (``ge``/``le``/``gt``/``lt``, ``description``, ``...`` for required) are its schema; the runtime
    validates every command against it before the method runs."""
    if callable(name):  # used bare: @command
        fn = name
        setattr(fn, _COMMAND_ATTR, {"name": fn.__name__, "description": ""})
        return fn  # type: ignore[return-value]

    def mark(fn: T) -> T:
        if not callable(fn):
            raise TypeError("@command decorates a method")
        setattr(fn, _COMMAND_ATTR, {"name": name or fn.__name__, "description": description})  # type: ignore
        return fn

    return mark


_HOOK_ATTR = "__reactor_hook__"


def _hook(kind: str, doc: str) -> Callable[[T], T]:
    def mark(fn: T) -> T:
        if not callable(fn):
            raise TypeError(f"@{kind} decorates a method")
        setattr(fn, _HOOK_ATTR, kind)
        return fn

    mark.__doc__ = doc
    mark.__name__ = kind
    return mark


session_started = _hook("session_started", "Runs once when a session begins, before ``start_session()``.")
session_ended = _hook("session_ended", "Runs once when a session ends, after ``start_session()`` returned.")
connected = _hook(
    "connected",
    "Runs each time a viewer connects; a method that takes a parameter gets the viewer ``{id, role, transport}``.",
)
disconnected = _hook(
    "disconnected",
    "Runs each time a viewer leaves while the session goes on (not when the session itself ends).",
)


def hooks_of(cls: type, kind: str) -> "list[str]":
    """The names of a model class's methods marked as ``kind`` hooks."""
    return [name for name in dir(cls) if getattr(getattr(cls, name, None), _HOOK_ATTR, None) == kind]


def command_info(fn: Any) -> Optional[dict]:
    return getattr(fn, _COMMAND_ATTR, None)


def default_name(cls: type) -> str:
    """A model's name when ``@model`` gives none: its class name in kebab case."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", cls.__name__).lower()
