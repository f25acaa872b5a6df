"""Track declarations: class attributes of a model naming its media channels.

``main_video = VideoOut(default=True)`` is the video the model sends to the viewer; ``webcam = VideoIn()`` is a
video the viewer sends to the model. The attribute's name is the track's name, on the wire and in ``get_track``.
"""

from __future__ import annotations

from typing import Any, Optional


class _Track:
    kind = "video"
    direction = ""

    def __init__(self, description: str = "", **options: Any) -> None:
        self.description = description
        self.options = options
        self.name: Optional[str] = None

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class VideoOut(_Track):
    """A video the model emits. ``default=True`` makes it the track ``get_track()`` returns without a name."""

    direction = "out"

    def __init__(self, description: str = "", default: bool = False, **options: Any) -> None:
        super().__init__(description, **options)
        self.default = default


class AudioOut(_Track):
    """Audio the model emits (Reactor's ``Audio`` output): 16-bit PCM at ``sample_rate`` Hz, ``channels`` interleaved.

    ``get_ctx().get_track(name).emit(samples)`` (or ``get_ctx().emit_audio(name, samples)``) plays an int16 array:
    ``(M,)`` or ``(1, M)`` for mono, ``(M, 2)`` for stereo; chunks play back to back in real time (Opus over WebRTC).
    """

    kind = "audio"
    direction = "out"

    def __init__(self, description: str = "", sample_rate: int = 48_000, channels: int = 1, **options: Any) -> None:
        super().__init__(description, **options)
        if sample_rate not in (8000, 16000, 24000, 32000, 44100, 48000):
            raise ValueError(f"AudioOut: sample_rate must be 8000, 16000, 24000, 32000, 44100 or 48000; got {sample_rate}")
        if channels not in (1, 2):
            raise ValueError(f"AudioOut: channels must be 1 or 2; got {channels}")
        self.sample_rate = sample_rate
        self.channels = channels


class VideoIn(_Track):
    """A video the viewer sends (e.g. a webcam); read its newest frame with ``get_ctx().get_track(name).latest()``.

    ``max_width``/``max_height`` bound the frames accepted (default 1280x720): a larger one is refused by the runtime.
    """

    direction = "in"

    def __init__(self, description: str = "", max_width: int = 1280, max_height: int = 720, **options: Any) -> None:
        super().__init__(description, **options)
        self.max_width = max_width
        self.max_height = max_height


def declared_tracks(cls: type) -> "tuple[list[_Track], list[VideoIn]]":
    """The output (``VideoOut``, ``AudioOut``) and input tracks a model class declares, in declaration order (base
    classes first)."""
    outs: list[_Track] = []
    ins: list[VideoIn] = []
    seen: set[str] = set()
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if isinstance(value, _Track) and name not in seen:
                seen.add(name)
                if value.name is None:
                    value.name = name
                (ins if isinstance(value, VideoIn) else outs).append(value)  # type: ignore[arg-type]
    return outs, ins
