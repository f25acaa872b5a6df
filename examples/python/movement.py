"""A movement model in Reactor's seed style: a dot walks the way the viewer says (`Literal` choices become a select).

    reactor run examples/python/movement.py
"""

import time
from typing import Literal

import numpy as np

from reactor_runtime import VideoModel, command, get_ctx, model

STEPS = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1), "idle": (0, 0)}


@model(name="python-movement")
class Movement(VideoModel):
    def __init__(self, config):
        self.width, self.height = 640, 360
        self.direction = "idle"

    @command("move", description="Which way the dot walks")
    def move(self, direction: Literal["left", "right", "up", "down", "idle"]):
        self.direction = direction

    def start_session(self):
        x, y = self.width // 2, self.height // 2
        ctx = get_ctx()
        try:
            while not ctx.should_stop():
                dx, dy = STEPS[self.direction]
                x = (x + 4 * dx) % self.width
                y = (y + 4 * dy) % self.height
                frame = np.zeros((self.height, self.width, 3), dtype=np.uint8)
                frame[max(0, y - 8) : y + 8, max(0, x - 8) : x + 8] = (255, 200, 0)
                ctx.emit_block(frame)
                time.sleep(1 / 30)
        finally:
            self.direction = "idle"
