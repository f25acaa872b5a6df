"""The host's session contract over a socket pair, with the test as the runtime."""

import socket
import threading
import time

import numpy as np
import pytest

from reactor_runtime import VideoModel, command, get_ctx
from reactor_runtime._host import Host, declare
from reactor_runtime._wire import Wire


class Recorder(VideoModel):
    def __init__(self, config):
        self.config = config
        self.speed = 1.0
        self.session_thread = None
        self.command_threads = []
        self.applied = []

    @command("set_speed", description="How fast")
    def set_speed(self, speed: float):
        self.command_threads.append(threading.get_ident())
        self.applied.append(speed)
        self.speed = speed

    @command("explode")
    def explode(self):
        raise ValueError("no such thing")

    def start_session(self):
        self.session_thread = threading.get_ident()
        ctx = get_ctx()
        n = 0
        while not ctx.should_stop():
            frame = np.full((4, 6, 3), n % 256, dtype=np.uint8)
            ctx.emit_block(frame)
            ctx.send({"n": n, "speed": self.speed})
            n += 1


class Runtime:
    """The runtime's end of the socket: sends control messages, collects what the host says."""

    def __init__(self, cls):
        ours, theirs = socket.socketpair()
        self.wire = Wire(ours)
        self.host = Host(Wire(theirs), cls, declare(cls, __file__))
        self.exits = []
        self.host.exit = self.exits.append
        self.messages = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self.host.run, daemon=True).start()

    def _read(self):
        try:
            while True:
                message, payload = self.wire.recv()
                with self.cond:
                    self.messages.append((message, payload))
                    self.cond.notify_all()
                if message.get("t") == "frames":
                    self.wire.send({"t": "credit", "sid": message["sid"], "n": 1})
        except Exception:
            pass

    def wait_for(self, predicate, timeout=20):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                found = [m for m in self.messages if predicate(m[0])]
                if found:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"not seen; got {[m[0].get('t') for m in self.messages][-10:]}")
                self.cond.wait(left)


@pytest.fixture
def runtime():
    rt = Runtime(Recorder)
    rt.wire.send({"t": "load", "config": {"fps": 30, "nested": {"a": 1}}})
    rt.wait_for(lambda m: m.get("t") == "loaded")
    return rt


def test_load_gives_init_the_config_with_attribute_access(runtime):
    config = runtime.host.instance.config
    assert config.fps == 30 and config.get("fps") == 30 and config.nested.a == 1


def test_frames_messages_and_stop(runtime):
    runtime.wire.send({"t": "start", "sid": "s1", "extra_args": {}})
    frames = runtime.wait_for(lambda m: m.get("t") == "frames" and m.get("sid") == "s1")
    header, payload = frames[0]
    assert (header["n"], header["h"], header["w"]) == (1, 4, 6)
    assert len(payload) == 4 * 6 * 3
    runtime.wait_for(lambda m: m.get("t") == "message" and m["data"]["n"] >= 2)
    runtime.wire.send({"t": "stop", "sid": "s1"})
    ended = runtime.wait_for(lambda m: m.get("t") == "ended")
    assert "error" not in ended[0][0]
    assert runtime.exits == []


def test_commands_run_in_order_on_another_thread_and_a_raise_answers_its_sender(runtime):
    runtime.wire.send({"t": "start", "sid": "s2", "extra_args": {}})
    runtime.wait_for(lambda m: m.get("t") == "frames")
    for seq, speed in enumerate([1, 2.5, 3], start=1):
        runtime.wire.send({"t": "command", "sid": "s2", "seq": seq, "name": "set_speed", "args": {"speed": speed}})
    runtime.wire.send({"t": "command", "sid": "s2", "seq": 9, "name": "explode", "args": {}})
    replies = runtime.wait_for(lambda m: m.get("t") == "reply" and m.get("seq") == 9)
    assert replies[0][0]["error"] == "ValueError: no such thing"
    model = runtime.host.instance
    assert model.applied == [1.0, 2.5, 3.0] and all(isinstance(s, float) for s in model.applied)
    assert model.session_thread not in model.command_threads
    # The session went on: it still emits and reports the last speed.
    runtime.wait_for(lambda m: m.get("t") == "message" and m["data"]["speed"] == 3.0)
    runtime.wire.send({"t": "stop", "sid": "s2"})
    runtime.wait_for(lambda m: m.get("t") == "ended")


def test_get_ctx_outside_a_session_raises():
    with pytest.raises(RuntimeError, match="outside a session"):
        get_ctx()


class Failing(VideoModel):
    def start_session(self):
        get_ctx().emit_block(None)
        raise RuntimeError("the model broke")


def test_a_raising_session_reports_its_traceback_and_exits():
    rt = Runtime(Failing)
    rt.wire.send({"t": "load", "config": {}})
    rt.wait_for(lambda m: m.get("t") == "loaded")
    rt.wire.send({"t": "start", "sid": "s3", "extra_args": {}})
    black = rt.wait_for(lambda m: m.get("t") == "frames")[0][0]
    assert black.get("black") is True
    ended = rt.wait_for(lambda m: m.get("t") == "ended")[0][0]
    assert "RuntimeError: the model broke" in ended["error"]
    assert "start_session" in ended["error"]
    deadline = time.monotonic() + 10
    while not rt.exits and time.monotonic() < deadline:
        time.sleep(0.01)
    assert rt.exits == [1]


def test_emit_block_refuses_what_is_not_uint8_rgb():
    from reactor_runtime.context import Context

    ctx = Context("s", wire=None, output="main_video", inputs=[], extra_args={})
    with pytest.raises(TypeError, match="dtype uint8"):
        ctx._prepare(np.zeros((4, 4, 3), dtype=np.float32))
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        ctx._prepare(np.zeros((4, 4), dtype=np.uint8))
    with pytest.raises(TypeError, match="numpy uint8 array"):
        ctx._prepare("frames")
    parts, n, h, w = ctx._prepare(np.zeros((2, 5, 7, 3), dtype=np.uint8))
    assert (n, h, w) == (2, 5, 7) and parts[0].nbytes == 2 * 5 * 7 * 3
    # A non-contiguous view is made contiguous (the one copy a strided array needs).
    parts, n, h, w = ctx._prepare(np.zeros((8, 10, 3), dtype=np.uint8)[::2, ::2])
    assert (n, h, w) == (1, 4, 5) and parts[0].nbytes == 4 * 5 * 3


def test_a_command_sent_right_after_start_finds_the_session_before_start_session_runs(runtime):
    # The main thread is held before it gets to the session (as a loaded machine may not schedule it): a command the
    # viewer sends once told the session is ready must still reach the model, not "the session has ended".
    held, original = threading.Event(), runtime.host.session
    runtime.host.session = lambda message: (held.wait(20), original(message))
    runtime.wire.send({"t": "start", "sid": "s9", "extra_args": {}})
    runtime.wire.send({"t": "command", "sid": "s9", "seq": 1, "name": "set_speed", "args": {"speed": 7}})
    reply = runtime.wait_for(lambda m: m.get("t") == "reply" and m.get("seq") == 1)[0][0]
    assert "error" not in reply and reply["ok"] is True
    assert runtime.host.instance.applied == [7.0]
    held.set()
    runtime.wait_for(lambda m: m.get("t") == "frames" and m.get("sid") == "s9")
    runtime.wire.send({"t": "stop", "sid": "s9"})
    assert "error" not in runtime.wait_for(lambda m: m.get("t") == "ended")[0][0]
