"""A Reactor-compatible Python model API, hosted by effect-reactor (``reactor run model.py``).

    from reactor_runtime import VideoModel, command, get_ctx, model

Write a model against Reactor's documented surface (``VideoModel``, ``@model``, ``@command``, ``get_ctx()`` with
``emit_block``, ``should_stop``, ``send``, ``get_track``; ``VideoIn``/``VideoOut`` tracks) and the runtime serves it:
commands validated against the schema read from their signatures, frames paced, stops and crashes handled.
"""

from .context import Context, get_ctx
from .model import (
    CommandError,
    DictConfig,
    UploadedFile,
    VideoModel,
    command,
    connected,
    disconnected,
    model,
    session_ended,
    session_started,
)
from .schema import SchemaError
from .state import InputState
from .tracks import AudioOut, VideoIn, VideoOut

__all__ = [
    "AudioOut",
    "CommandError",
    "Context",
    "DictConfig",
    "InputState",
    "SchemaError",
    "UploadedFile",
    "VideoIn",
    "VideoModel",
    "VideoOut",
    "command",
    "connected",
    "disconnected",
    "get_ctx",
    "model",
    "session_ended",
    "session_started",
]
