"""Bench 12's Python model: a fresh frame per emit at a fixed rate, each stamped with its wall-clock time (ms, a
float64 in its first 8 bytes), and a command that sets the fill value."""

import struct
import time

import numpy as np

from reactor_runtime import VideoModel, command, get_ctx, model


@model(name="bench-python")
class Bench(VideoModel):
    def __init__(self, config):
        self.width = int(config.get("width", 640))
        self.height = int(config.get("height", 360))
        self.fps = float(config.get("fps", 30))
        self.value = 0

    @command("set_value", description="The fill value")
    def set_value(self, v: int):
        self.value = v % 256

    def start_session(self):
        ctx = get_ctx()
        next_at = time.monotonic()
        while not ctx.should_stop():
            frame = np.full((self.height, self.width, 3), self.value, dtype=np.uint8)
            frame.reshape(-1)[:8] = np.frombuffer(struct.pack("<d", time.time() * 1000), dtype=np.uint8)
            ctx.emit_block(frame)
            next_at += 1 / self.fps
            time.sleep(max(0.0, next_at - time.monotonic()))
