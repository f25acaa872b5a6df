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


class VideoIn(_Track):
    """A video the viewer sends (e.g. a webcam); read its newest frame with ``get_ctx().get_track(name).latest()``.

    ``max_width``/``max_height`` bound the frames accepted (default 1280x720): a larger one is refused by the runtime.
    """

    direction = "in"

    def __init__(self, description: str = "", max_width: int = 1280, max_height: int = 720, **options: Any) -> None:
        super().__init__(description, **options)
        self.max_width = max_width
        self.max_height = max_height


def declared_tracks(cls: type) -> "tuple[list[VideoOut], list[VideoIn]]":
    """The output and input tracks a model class declares, in declaration order (base classes first)."""
    outs: list[VideoOut] = []
    ins: list[VideoIn] = []
    seen: set[str] = set()
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if isinstance(value, _Track) and name not in seen:
                seen.add(name)
                if value.name is None:
                    value.name = name
                (outs if isinstance(value, VideoOut) else ins).append(value)  # type: ignore[arg-type]
    return outs, ins
