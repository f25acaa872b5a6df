"""A trained network, live, in Python: the viewer's webcam comes in, MediaPipe's selfie segmentation network finds the
person in each picture, and the background behind them is blurred, painted one colour, swapped for a picture, or left
alone. The same network file and the same commands as the TypeScript example 06 (examples/06-background.ts): the
weights are kept converted to ONNX in examples/models/ (Apache-2.0, see its NOTICE.md), and here onnxruntime for
Python runs them on the CPU.

    python3 -m pip install -r examples/python/requirements.txt
    reactor run examples/python/background.py

The network loads once per process, in ``__init__``. A session shows a waiting pattern until the first camera frame,
then turns each new camera frame into one output frame (640x360 by default; ``-c`` or ``--model.width=...``).
"""

import os
import time
from typing import Literal

import numpy as np
import onnxruntime as ort
from pydantic import Field

from reactor_runtime import VideoModel, command, get_ctx, model
from reactor_runtime.tracks import VideoIn, VideoOut

# The network kept in the repository (see examples/models/NOTICE.md).
BUNDLED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "selfie_segmentation.onnx")

# The network's input side: 256x256 RGB in [0, 1], planar (NCHW); its output is one 256x256 probability plane.
SIDE = 256

# The cell of the blur: the picture averaged over 8x8 cells, then spread back bilinearly.
CELL = 8

INITIAL = {"mode": "blur", "colour": {"r": 0, "g": 177, "b": 64}, "threshold": 0.5, "softness": 0.2}


def nearest(length, size):
    """For each of ``size`` output positions, the nearest of ``length`` source positions (pixel centres)."""
    return ((np.arange(size) + 0.5) * length / size).astype(np.intp)


def resize(frame, width, height):
    """A picture of any size scaled to ``width`` x ``height`` (nearest neighbour)."""
    h, w = frame.shape[:2]
    if (h, w) == (height, width):
        return frame
    return frame[nearest(h, height)][:, nearest(w, width)]


def to_input(frame):
    """The network's input for a picture: stretched to 256x256, planar float RGB in [0, 1], a batch of one."""
    h, w = frame.shape[:2]
    small = frame[nearest(h, SIDE)][:, nearest(w, SIDE)]
    return np.ascontiguousarray(small.transpose(2, 0, 1)[None], dtype=np.float32) / 255


# Alpha is in 256ths: 0 (background) to 256 (person). The arithmetic below is example 06's, in integers, so that the
# two examples make the same frame from the same picture.
OPAQUE = 256


def bilinear_axis(length, size):
    """Bilinear sampling of a ``length``-long axis at ``size`` points (pixel centres aligned): for each output position
    the two source indices and the second one's weight in 256ths."""
    s = np.clip((np.arange(size) + 0.5) * length / size - 0.5, 0, length - 1)
    first = np.floor(s).astype(np.intp)
    return first, np.minimum(first + 1, length - 1), np.floor((s - first) * 256 + 0.5).astype(np.int64)


def ramp_of(mask, threshold, softness):
    """The network's 256x256 probabilities through the edge's ramp (width ``softness``, centred on ``threshold``)."""
    soft = max(softness, 1e-3)
    a = (mask.astype(np.float64) - (threshold - soft / 2)) * (OPAQUE / soft)
    return np.where(a <= 0, 0, np.where(a >= OPAQUE, OPAQUE, np.floor(a + 0.5))).astype(np.int64)


def alpha_of(mask, width, height, threshold, softness):
    """How much of each output pixel is the person, in 256ths: the ramp of the probabilities, upsampled bilinearly."""
    ramp = ramp_of(mask, threshold, softness).astype(np.int32)
    x0, x1, fx = bilinear_axis(SIDE, width)
    y0, y1, fy = bilinear_axis(SIDE, height)
    fx, fy = fx.astype(np.int32), fy.astype(np.int32)[:, None]
    across = ramp[:, x0] * (256 - fx) + ramp[:, x1] * fx  # the 256 rows upsampled along x once, then rows picked
    alpha = across[y0] * (256 - fy)
    alpha += across[y1] * fy
    alpha += 32768
    alpha >>= 16
    return alpha


def blurred(frame):
    """A strong blur: the picture averaged over 8x8 cells (a quarter of their pixels), then spread back bilinearly."""
    h, w = frame.shape[:2]
    quarter = frame[::2, ::2].astype(np.int32)  # every other pixel of every other row: 16 of a cell's 64
    step = CELL // 2
    rows, cols = np.arange(0, quarter.shape[0], step), np.arange(0, quarter.shape[1], step)
    sums = np.add.reduceat(np.add.reduceat(quarter, rows, axis=0), cols, axis=1)
    counts = np.outer(np.diff(np.append(rows, quarter.shape[0])), np.diff(np.append(cols, quarter.shape[1])))
    means = np.floor(sums / counts[..., None] + 0.5).astype(np.int32)
    x0, x1, fx = bilinear_axis(means.shape[1], w)
    y0, y1, fy = bilinear_axis(means.shape[0], h)
    fx, fy = fx.astype(np.int32)[:, None], fy.astype(np.int32)[:, None, None]
    wide = means[:, x0] * (256 - fx) + means[:, x1] * fx
    out = wide[y0] * (256 - fy)
    out += wide[y1] * fy
    out += 32768
    out >>= 16
    return out.astype(np.uint8)


def beach(width, height):
    """The picture of the picture mode: a beach at sunset (sky, sun, sea and sand)."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    horizon = height * 0.55
    t = ys / horizon
    sky = np.stack([40 + 200 * t, 60 + 90 * t, 140 - 40 * t], axis=-1)
    sun = np.hypot(xs - width * 0.7, ys - horizon * 0.8) < height * 0.09
    sea = np.stack([np.full_like(xs, 20), 70 + 30 * np.sin(xs * 0.05 + ys * 0.3), np.full_like(xs, 120)], axis=-1)
    above = np.where(sun[..., None], [255, 220, 120], sky)
    below = np.where((ys < height * 0.8)[..., None], sea, [220, 190, 140])
    return np.where((ys < horizon)[..., None], above, below).astype(np.uint8)


def composite(camera, background, alpha):
    """The camera where ``alpha`` is 256, the background where it is 0, blended between (in 256ths)."""
    # In 16 bits: camera * a + background * (256 - a) + 128 is at most 255 * 256 + 128.
    a = alpha.astype(np.uint16)[..., None]
    out = camera.astype(np.uint16)
    out *= a
    out += np.asarray(background, dtype=np.uint16) * (OPAQUE - a)
    out += 128
    out >>= 8
    return out.astype(np.uint8)


def waiting(width, height, t):
    """The picture before any camera frame: dark grey with a pulsing ring where a face would be."""
    out = np.full((height, width, 3), 40, dtype=np.uint8)
    radius = height * (0.25 + 0.03 * np.sin(t * 4))
    angles = np.arange(2048) / 2048 * 2 * np.pi
    radii = (radius - 2 + np.arange(5))[:, None]
    xs = np.floor(width / 2 + radii * np.cos(angles) + 0.5).astype(np.intp)
    ys = np.floor(height / 2 + radii * np.sin(angles) + 0.5).astype(np.intp)
    keep = (xs >= 0) & (xs < width) & (ys >= 0) & (ys < height)
    out[ys[keep], xs[keep]] = 200
    return out


@model(name="python-background", config="background.yml")
class Background(VideoModel):
    webcam = VideoIn(description="Your camera")
    main_video = VideoOut(default=True)

    def __init__(self, config):
        self.width = int(config.width)
        self.height = int(config.height)
        self.fps = float(config.fps)
        path = config.model_path or BUNDLED
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(config.threads)
        options.inter_op_num_threads = 1
        try:
            self.network = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        except Exception as error:
            raise RuntimeError(f"cannot load the network from {path}: {error}") from error
        self.input = self.network.get_inputs()[0].name
        self.output = self.network.get_outputs()[0].name
        self.picture = beach(self.width, self.height)
        # Commands replace this dict whole; the loop reads it once per frame.
        self.settings = dict(INITIAL)

    @command("set_mode", description="What replaces the background")
    def set_mode(
        self,
        mode: Literal["blur", "colour", "picture", "none"] = Field(
            ..., description="blur it, one colour, a picture, or none (the camera as is)"
        ),
    ):
        self.update(mode=mode)

    @command("set_colour", description="The background colour of the colour mode")
    def set_colour(
        self,
        r: int = Field(0, ge=0, le=255, description="Red"),
        g: int = Field(177, ge=0, le=255, description="Green"),
        b: int = Field(64, ge=0, le=255, description="Blue"),
    ):
        self.update(colour={"r": r, "g": g, "b": b})

    @command("set_edges", description="Where the person ends: the network's probability threshold and how soft the edge is")
    def set_edges(
        self,
        threshold: float = Field(0.5, ge=0.0, le=1.0, description="Person above this probability"),
        softness: float = Field(0.2, ge=0.0, le=0.5, description="Width of the blend at the edge"),
    ):
        self.update(threshold=threshold, softness=softness)

    def update(self, **changes):
        self.settings = {**self.settings, **changes}
        get_ctx().send({"type": "state", **self.settings})

    def segment(self, picture):
        """The network on one picture: the person's probability at each of 256x256 points."""
        (mask,) = self.network.run([self.output], {self.input: to_input(picture)})
        return mask[0, 0]

    def replace(self, camera):
        """One camera picture in, one output frame out."""
        settings = self.settings
        base = resize(camera, self.width, self.height)
        mode = settings["mode"]
        if mode == "none":
            return base
        if mode == "blur":
            background = blurred(base)
        elif mode == "colour":
            colour = settings["colour"]
            background = np.array([colour["r"], colour["g"], colour["b"]], dtype=np.uint8)
        else:
            background = self.picture
        alpha = alpha_of(self.segment(camera), self.width, self.height, settings["threshold"], settings["softness"])
        return composite(base, background, alpha)

    def start_session(self):
        ctx = get_ctx()
        webcam = ctx.get_track("webcam")
        shown = None
        t = 0
        next_frame = time.monotonic()
        try:
            while not ctx.should_stop():
                camera = webcam.latest()
                if camera is None:
                    ctx.emit_block(waiting(self.width, self.height, t / self.fps))
                    t += 1
                    next_frame += 1 / self.fps  # hold the waiting pattern's rate
                    time.sleep(max(0.0, next_frame - time.monotonic()))
                elif camera is shown:
                    time.sleep(0.002)  # no new camera frame yet
                else:
                    # One output per camera frame; a camera faster than this loop is read at its newest frame.
                    shown = camera
                    ctx.emit_block(self.replace(camera))
        finally:
            self.settings = dict(INITIAL)
