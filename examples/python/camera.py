"""A camera model in Reactor's seed style: pan, tilt and zoom over a generated landscape, bounded with pydantic
`Field` (`ge`/`le` become the slider's range, `description` its label).

    reactor run examples/python/camera.py
"""

import time

import numpy as np
from pydantic import Field

from reactor_runtime import VideoModel, command, get_ctx, model


@model(name="python-camera")
class Camera(VideoModel):
    def __init__(self, config):
        self.width, self.height = 640, 360
        ys, xs = np.mgrid[0:720, 0:1280]
        # A landscape twice the frame's size: sky above, hills below.
        hills = (np.sin(xs / 90.0) * 60 + 420).astype(np.int32)
        world = np.zeros((720, 1280, 3), dtype=np.uint8)
        world[..., 2] = 200
        world[ys > hills] = (40, 140, 60)
        self.world = world
        self.reset()

    def reset(self):
        self.pan, self.tilt, self.zoom = 0.0, 0.0, 1.0

    @command("set_camera", description="Aim the camera")
    def set_camera(
        self,
        pan: float = Field(0.0, ge=-1.0, le=1.0, description="Left (-1) to right (1)"),
        tilt: float = Field(0.0, ge=-1.0, le=1.0, description="Down (-1) to up (1)"),
        zoom: float = Field(1.0, ge=1.0, le=2.0, description="Zoom factor"),
    ):
        self.pan, self.tilt, self.zoom = pan, tilt, zoom

    def start_session(self):
        ctx = get_ctx()
        try:
            while not ctx.should_stop():
                w, h = int(1280 / (2 * self.zoom)), int(720 / (2 * self.zoom))
                cx = int((1280 - w) / 2 * (1 + self.pan))
                cy = int((720 - h) / 2 * (1 - self.tilt))
                view = self.world[cy : cy + h, cx : cx + w]
                # Nearest-neighbour resize to the output size.
                rows = np.linspace(0, view.shape[0] - 1, self.height).astype(np.int32)
                cols = np.linspace(0, view.shape[1] - 1, self.width).astype(np.int32)
                ctx.emit_block(view[rows][:, cols])
                time.sleep(1 / 30)
        finally:
            self.reset()
