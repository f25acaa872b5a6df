"""A numpy generator at 30 fps: a moving plasma, emitted in blocks of 3 frames; `--model.width=1280
--model.height=720` makes it 720p. The speed is a command.

    reactor run examples/python/generator.py -c examples/python/generator.yml
"""

import time

import numpy as np
from pydantic import Field

from reactor_runtime import VideoModel, command, get_ctx, model


@model(name="python-generator", config="generator.yml")
class Generator(VideoModel):
    def __init__(self, config):
        self.width = int(config.width)
        self.height = int(config.height)
        self.fps = float(config.fps)
        self.block = int(config.block)
        ys, xs = np.mgrid[0 : self.height, 0 : self.width].astype(np.float32)
        self.xs, self.ys = xs / self.width, ys / self.height
        self.speed = 1.0

    @command("set_speed", description="How fast the plasma moves")
    def set_speed(self, speed: float = Field(1.0, ge=0.0, le=5.0, description="0 stops it")):
        self.speed = speed

    def frame(self, t: float) -> np.ndarray:
        v = np.sin(self.xs * 10 + t) + np.sin(self.ys * 8 - t * 1.3) + np.sin((self.xs + self.ys) * 6 + t * 0.7)
        out = np.empty((self.height, self.width, 3), dtype=np.uint8)
        out[..., 0] = (np.sin(v * np.pi) * 127 + 128).astype(np.uint8)
        out[..., 1] = (np.sin(v * np.pi + 2.1) * 127 + 128).astype(np.uint8)
        out[..., 2] = (np.sin(v * np.pi + 4.2) * 127 + 128).astype(np.uint8)
        return out

    def start_session(self):
        ctx = get_ctx()
        t = 0.0
        next_block = time.monotonic()
        while not ctx.should_stop():
            block = np.stack([self.frame(t + i * self.speed / self.fps) for i in range(self.block)])
            t += self.block * self.speed / self.fps
            ctx.emit_block(block)
            # Hold the target rate: one block every `block / fps` seconds.
            next_block += self.block / self.fps
            time.sleep(max(0.0, next_block - time.monotonic()))
