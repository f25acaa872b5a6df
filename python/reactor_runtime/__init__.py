"""A Reactor-compatible Python model API, hosted by effect-reactor (``reactor run model.py``).

    from reactor_runtime import VideoModel, command, get_ctx, model

Write a model against Reactor's documented surface (``VideoModel``, ``@model``, ``@command``, ``get_ctx()`` with
``emit_block``, ``should_stop``, ``send``, ``get_track``; ``VideoIn``/``VideoOut`` tracks) and the runtime serves it:
commands validated against the schema read from their signatures, frames paced, stops and crashes handled.
"""

from .context import Context, get_ctx
from .model import DictConfig, VideoModel, command, model
from .schema import SchemaError
from .tracks import AudioOut, VideoIn, VideoOut

__all__ = [
    "AudioOut",
    "Context",
    "DictConfig",
    "SchemaError",
    "VideoIn",
    "VideoModel",
    "VideoOut",
    "command",
    "get_ctx",
    "model",
]
