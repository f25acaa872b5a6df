"""The session context (``get_ctx()``): how a model's session talks to the runtime.

One session runs at a time in a model process, so the context is a process-wide singleton while a session runs;
``get_ctx()`` outside a session raises ``RuntimeError``. Every method is safe to call from any thread.
"""

from __future__ import annotations

import threading
from typing import Any, Optional

_current: "Optional[Context]" = None
_current_lock = threading.Lock()

MAX_BLOCK = 64
MAX_SIDE = 8192


def get_ctx() -> "Context":
    """The running session's context. Raises ``RuntimeError`` when no session runs."""
    ctx = _current
    if ctx is None:
        raise RuntimeError("get_ctx() was called outside a session: only start_session() and commands have a context")
    return ctx


def _set_current(ctx: "Optional[Context]") -> None:
    global _current
    with _current_lock:
        _current = ctx


class InputTrack:
    """A video the viewer sends: ``latest()`` is its newest frame, ``(H, W, 3)`` uint8 RGB, or None before one came."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._latest: Any = None
        self._count = 0

    def latest(self) -> Any:
        return self._latest

    def _put(self, frame: Any) -> None:
        self._latest = frame
        self._count += 1

    def emit(self, frames: Any) -> None:
        raise RuntimeError(f'track "{self.name}" is an input (VideoIn): read it with latest(); emit to an output track')


class OutputTrack:
    """A video the model emits; ``emit(frames)`` is ``get_ctx().emit_block(frames)``."""

    def __init__(self, name: str, ctx: "Context") -> None:
        self.name = name
        self._ctx = ctx

    def emit(self, frames: Any) -> None:
        self._ctx.emit_block(frames)

    def latest(self) -> Any:
        raise RuntimeError(f'track "{self.name}" is an output (VideoOut): emit to it; read inputs with latest()')


class AudioTrack:
    """Audio the model emits; ``emit(samples)`` is ``get_ctx().emit_audio(name, samples)``."""

    def __init__(self, name: str, ctx: "Context") -> None:
        self.name = name
        self._ctx = ctx

    def emit(self, samples: Any) -> None:
        self._ctx.emit_audio(self.name, samples)

    def latest(self) -> Any:
        raise RuntimeError(f'track "{self.name}" is an output (AudioOut): emit to it; read inputs with latest()')


def _shape_error(frames: Any) -> str:
    kind = type(frames)
    name = f"{kind.__module__}.{kind.__name__}"
    hint = " (a torch tensor: use .cpu().numpy())" if kind.__module__.startswith("torch") else ""
    return f"emit_block expects a numpy uint8 array (H, W, 3) or (N, H, W, 3), or None; got {name}{hint}"


class Context:
    """One session's context. Made by the host; a model only calls its methods."""

    def __init__(self, session_id: str, wire: Any, output: str, inputs: "list[str]", extra_args: dict,
                 window: int = 1, audio: "Optional[dict[str, tuple[int, int]]]" = None) -> None:
        self.session_id = session_id
        self.extra_args = extra_args
        self._wire = wire
        self._stop = threading.Event()
        self._credit = window
        self._cond = threading.Condition()
        self._output = OutputTrack(output, self)
        self._inputs = {name: InputTrack(name) for name in inputs}
        self._audio_formats = dict(audio or {})
        self._audio = {name: AudioTrack(name, self) for name in self._audio_formats}
        self.frames_emitted = 0

    # -- the model's API -------------------------------------------------------------------------------------------

    def should_stop(self) -> bool:
        """True once the session is stopping (explicit stop, the viewer left, runtime shutdown): return soon."""
        return self._stop.is_set()

    def emit_block(self, frames: Any) -> None:
        """Emits one frame ``(H, W, 3)``, a block ``(N, H, W, 3)`` (uint8 RGB), or ``None`` (a black frame).

        The runtime spaces a block's frames evenly at the model's measured generation rate. It waits while the
        runtime still holds the previous block, which paces a generator faster than real time; it returns at once,
        dropping the frames, when the session is stopping."""
        parts, n, height, width = self._prepare(frames)
        if not self._take_credit():
            return
        header = {"t": "frames", "sid": self.session_id, "n": n, "h": height, "w": width}
        if parts is None:
            header["black"] = True
        self._wire.send(header, parts)
        self.frames_emitted += n

    def emit_audio(self, track: str, samples: Any) -> None:
        """Plays a chunk of 16-bit PCM on an ``AudioOut`` track: an int16 array, ``(M,)`` or ``(1, M)`` mono, ``(M, 2)``
        stereo, at most one second. Chunks play back to back in real time; it waits while the track is half a second
        ahead (which paces a generator faster than real time), and returns at once when the session is stopping."""
        import numpy as np

        fmt = self._audio_formats.get(track)
        if fmt is None:
            known = ", ".join(self._audio_formats) or "none (declare one with AudioOut)"
            raise KeyError(f'no audio track "{track}"; this model\'s audio tracks: {known}')
        rate, channels = fmt
        if not isinstance(samples, np.ndarray) or samples.dtype != np.int16:
            raise TypeError(
                f"emit_audio expects a numpy int16 array of PCM samples; got {type(samples).__name__}"
                + (f" of {samples.dtype}: convert with (x * 32767).clip(-32768, 32767).astype(np.int16)"
                   if isinstance(samples, np.ndarray) else "")
            )
        array = samples.reshape(-1) if (samples.ndim == 1 or (samples.ndim == 2 and samples.shape[0] == 1)) else samples
        if channels == 1 and array.ndim != 1:
            raise ValueError(f'audio track "{track}" is mono: give (M,) or (1, M) samples; got shape {samples.shape}')
        if channels == 2 and (array.ndim != 2 or array.shape[1] != 2):
            raise ValueError(f'audio track "{track}" is stereo: give (M, 2) samples; got shape {samples.shape}')
        frames = array.shape[0]
        if not 1 <= frames <= rate:
            raise ValueError(f"an audio chunk holds 1 to {rate} samples per channel (one second); got {frames}")
        if not self._take_credit():
            return
        data = np.ascontiguousarray(array, dtype="<i2")
        self._wire.send({"t": "audio", "sid": self.session_id, "track": track}, [memoryview(data).cast("B")])

    def send(self, data: Any) -> None:
        """Sends a JSON-serialisable message to the viewer."""
        self._wire.send({"t": "message", "sid": self.session_id, "data": data})

    def get_track(self, name: Optional[str] = None) -> Any:
        """A track by name; without one, the default output track."""
        if name is None or name == self._output.name:
            return self._output
        if name in self._audio:
            return self._audio[name]
        track = self._inputs.get(name)
        if track is None:
            known = ", ".join([self._output.name, *self._audio, *self._inputs])
            raise KeyError(f'no track "{name}"; this model has: {known}')
        return track

    def disable_monitoring(self) -> None:
        """An intentional pause starts: its time does not count toward the generation rate."""
        self._wire.send({"t": "measure", "sid": self.session_id, "on": False})

    def enable_monitoring(self) -> None:
        """The pause is over: time counts toward the generation rate again."""
        self._wire.send({"t": "measure", "sid": self.session_id, "on": True})

    def flush(self) -> None:
        """Drops the frames waiting to be shown and cuts the picture to black (Reactor's ``output.flush()``)."""
        self._wire.send({"t": "flush", "sid": self.session_id})

    # -- the host's side -------------------------------------------------------------------------------------------

    def _prepare(self, frames: Any) -> "tuple[Optional[list], int, int, int]":
        if frames is None:
            return None, 1, 0, 0
        import numpy as np

        if isinstance(frames, (list, tuple)):
            items = list(frames)
            if not items:
                raise ValueError("emit_block was given an empty block")
            real = [f for f in items if f is not None]
            if not real:
                return None, len(items), 0, 0
            first = np.asarray(real[0])
            if first.ndim != 3:
                raise ValueError(f"each frame of a list must be (H, W, 3); got shape {first.shape}")
            items = [np.zeros_like(first) if f is None else f for f in items]
            arrays = [self._check(np.asarray(f), 3) for f in items]
            shapes = {a.shape for a in arrays}
            if len(shapes) > 1:
                raise ValueError(f"the frames of a block must have one size; got {sorted(shapes)}")
            height, width = arrays[0].shape[:2]
            return [memoryview(a).cast("B") for a in arrays], len(arrays), height, width
        if not isinstance(frames, np.ndarray):
            raise TypeError(_shape_error(frames))
        array = self._check(frames, None)
        if array.ndim == 3:
            n, (height, width) = 1, array.shape[:2]
        else:
            n, height, width = array.shape[:3]
        return [memoryview(array).cast("B")], n, height, width

    @staticmethod
    def _check(array: Any, ndim: Optional[int]) -> Any:
        import numpy as np

        if array.dtype != np.uint8:
            raise TypeError(
                f"emit_block expects dtype uint8 (0-255 RGB); got {array.dtype}: convert with "
                "(x * 255).clip(0, 255).astype(np.uint8) for values in [0, 1]"
            )
        if array.ndim not in ((ndim,) if ndim else (3, 4)) or array.shape[-1] != 3:
            raise ValueError(f"emit_block expects shape (H, W, 3) or (N, H, W, 3); got {array.shape}")
        if array.ndim == 4 and not 1 <= array.shape[0] <= MAX_BLOCK:
            raise ValueError(f"a block holds 1 to {MAX_BLOCK} frames; got {array.shape[0]}")
        height, width = array.shape[-3], array.shape[-2]
        if not (1 <= height <= MAX_SIDE and 1 <= width <= MAX_SIDE):
            raise ValueError(f"frame size {width}x{height} is out of range (1 to {MAX_SIDE} per side)")
        return np.ascontiguousarray(array)

    def _take_credit(self) -> bool:
        with self._cond:
            while self._credit <= 0 and not self._stop.is_set():
                self._cond.wait()
            if self._stop.is_set():
                return False
            self._credit -= 1
            return True

    def _grant(self, n: int) -> None:
        with self._cond:
            self._credit += n
            self._cond.notify_all()

    def _request_stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()

    def _input(self, name: str, frame: Any) -> None:
        track = self._inputs.get(name)
        if track is not None:
            track._put(frame)


