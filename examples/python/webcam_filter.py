"""A webcam filter: the viewer's camera comes in on a `VideoIn` track, goes out inverted (by `strength`).

    reactor run examples/python/webcam_filter.py
"""

import time

import numpy as np
from pydantic import Field

from reactor_runtime import VideoModel, command, get_ctx, model
from reactor_runtime.tracks import VideoIn, VideoOut


@model(name="python-webcam-filter")
class WebcamFilter(VideoModel):
    webcam = VideoIn(description="Your camera")
    main_video = VideoOut(default=True)

    def __init__(self, config):
        self.strength = 1.0

    @command("set_strength", description="How much of the effect")
    def set_strength(self, strength: float = Field(1.0, ge=0.0, le=1.0, description="0 = the camera as it is")):
        self.strength = strength

    def start_session(self):
        ctx = get_ctx()
        while not ctx.should_stop():
            frame = ctx.get_track("webcam").latest()
            if frame is None:
                time.sleep(0.01)
                continue
            inverted = 255 - frame
            out = (frame * (1 - self.strength) + inverted * self.strength).astype(np.uint8)
            ctx.get_track().emit(out)
            time.sleep(1 / 30)
