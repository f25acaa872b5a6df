"""A prompt model in Reactor's seed style: a text prompt changed live, drawn as a colour that drifts with it.

    reactor run examples/python/prompt.py
"""

import hashlib

import numpy as np

from reactor_runtime import VideoModel, command, get_ctx, model


@model(name="python-prompt")
class PromptModel(VideoModel):
    def __init__(self, config):
        self.width = int(config.get("width", 640))
        self.height = int(config.get("height", 360))
        self.prompt = "a calm forest"

    @command("set_prompt", description="Change the generation prompt")
    def set_prompt(self, prompt: str):
        self.prompt = prompt
        get_ctx().send({"type": "prompt_changed", "data": {"prompt": prompt}})

    def start_session(self):
        frame_index = 0
        try:
            while not get_ctx().should_stop():
                # A block of 4 frames at a time, as a diffusion model hands them over.
                digest = hashlib.sha256(self.prompt.encode()).digest()
                base = np.frombuffer(digest[:3], dtype=np.uint8).astype(np.int16)
                block = np.empty((4, self.height, self.width, 3), dtype=np.uint8)
                for i in range(4):
                    shade = (base + (frame_index + i) * 2) % 256
                    block[i] = shade.astype(np.uint8)
                frame_index += 4
                get_ctx().emit_block(block)
        finally:
            self.prompt = "a calm forest"
