"""The model host: the program ``reactor run model.py`` starts (``python -m reactor_runtime._host MODEL.py``).

It listens on the Unix socket named by ``REACTOR_SOCKET``, imports the model file, declares the model to the runtime
(name, commands with their schemas, tracks, default config file), builds the model once with the config the runtime
sends, then runs the sessions it is asked to, one at a time:

- ``start_session()`` runs on the main thread; commands run in arrival order on a thread of their own, while it runs;
- a command that raises answers its sender with the error, and the session goes on;
- ``should_stop()`` turns true on a stop; returning ends the session;
- an exception out of ``__init__`` or ``start_session()`` (``sys.exit`` included) is reported with the last lines of
  its traceback, and the process exits: the runtime starts a fresh one for the next session.
"""

from __future__ import annotations

import dataclasses
import faulthandler
import importlib.util
import inspect
import json
import os
import queue
import signal
import socket
import sys
import threading
import traceback
from typing import Any, Optional

from . import context as _context
from .model import CommandError, DictConfig, VideoModel, default_name, hooks_of, model_info
from .schema import SchemaError, coerce, commands_of
from .state import setter_field, setters_of, state_class
from .tracks import AudioOut, VideoOut, declared_tracks
from ._wire import Closed, Wire

TAIL_LINES = 6


def tail(error: BaseException) -> str:
    """The last lines of a traceback: where it was raised and what."""
    chunks = traceback.format_exception(type(error), error, error.__traceback__)
    lines = [line.rstrip() for chunk in chunks for line in chunk.splitlines()]
    lines = [line for line in lines if line.strip()]
    return "\n".join(lines[-TAIL_LINES:])


def reply_value(value: Any) -> Any:
    """A command's reply as JSON: a dataclass as its fields, an object with ``to_wire_format()`` (Reactor's
    ``ModelMessage``) as its ``data``; anything else as it is (it must be JSON: a dict, a list, a number...)."""
    if hasattr(value, "to_wire_format"):
        return value.to_wire_format().get("data")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


def with_setters(commands: list, setters: list) -> list:
    """The model's commands, then its state's setters (a command of the same name wins)."""
    names = {c["name"] for c in commands}
    return commands + [s for s in setters if s["name"] not in names]


def load_module(path: str) -> Any:
    path = os.path.abspath(path)
    folder = os.path.dirname(path)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def find_model(module: Any, path: str) -> type:
    """The ``@model`` class of the file, or else its one VideoModel subclass."""
    classes = [v for v in vars(module).values() if isinstance(v, type) and v.__module__ == module.__name__]
    marked = [c for c in classes if model_info(c) is not None]
    if len(marked) == 1:
        return marked[0]
    if len(marked) > 1:
        raise SchemaError(f"{path}: more than one class is decorated with @model ({', '.join(c.__name__ for c in marked)})")
    subclasses = [c for c in classes if issubclass(c, VideoModel) and c is not VideoModel]
    if len(subclasses) == 1:
        return subclasses[0]
    if not subclasses:
        raise SchemaError(f"{path}: no model found: define a class that extends VideoModel (decorated with @model)")
    raise SchemaError(
        f"{path}: several VideoModel classes ({', '.join(c.__name__ for c in subclasses)}): mark one with @model"
    )


def declare(cls: type, path: str) -> dict:
    """What the runtime needs to know before loading: name, commands, tracks, default config file."""
    info = model_info(cls) or {}
    tracks, ins = declared_tracks(cls)
    outs = [t for t in tracks if isinstance(t, VideoOut)]
    audio = [t for t in tracks if isinstance(t, AudioOut)]
    if len(outs) > 1:
        raise SchemaError(f"{cls.__name__}: one output track (VideoOut) is supported, it declares {len(outs)}")
    config = info.get("config")
    if config is not None and not os.path.isabs(config):
        config = os.path.join(os.path.dirname(os.path.abspath(path)), config)
    return {
        "t": "hello",
        "name": info.get("name") or default_name(cls),
        "version": info.get("version"),
        "description": info.get("description") or (inspect.getdoc(cls) or "").split("\n\n")[0] or None,
        "commands": with_setters(commands_of(cls), setters_of(cls)),
        "output": outs[0].name if outs else "main_video",
        "audio": [
            {"name": t.name, "description": t.description or f"audio {t.name}", "sample_rate": t.sample_rate,
             "channels": t.channels}
            for t in audio
        ],
        "inputs": [
            {"name": t.name, "description": t.description or f"video input {t.name}", "max_width": t.max_width,
             "max_height": t.max_height}
            for t in ins
        ],
        "config_file": config,
        "pid": os.getpid(),
        "python": sys.version.split()[0],
    }


def construct(cls: type, config: dict) -> Any:
    params = [p for p in inspect.signature(cls.__init__).parameters.values()][1:]
    if cls.__init__ is object.__init__ or not params:
        return cls()
    return cls(DictConfig(config))


class Host:
    def __init__(self, wire: Wire, cls: type, declared: dict) -> None:
        self.wire = wire
        self.cls = cls
        self.declared = declared
        self.commands = {c["name"]: c for c in declared["commands"]}
        self.instance: Any = None
        self.control: "queue.Queue[tuple[dict, Any]]" = queue.Queue()
        self.command_queue: "queue.Queue[Optional[dict]]" = queue.Queue()
        self.ctx: Optional[_context.Context] = None
        # How the process ends (tests replace it): at once, whatever the model's threads are doing.
        self.exit = os._exit

    # The reader thread: every message from the runtime lands here first.
    def read(self) -> None:
        try:
            while True:
                message, payload = self.wire.recv()
                kind = message.get("t")
                ctx = self.ctx
                same = ctx is not None and message.get("sid") == ctx.session_id
                if kind == "credit":
                    if same:
                        ctx._grant(int(message.get("n", 1)))  # type: ignore[union-attr]
                elif kind == "stop":
                    if same:
                        ctx._request_stop()  # type: ignore[union-attr]
                elif kind == "command" or kind == "hook":
                    self.command_queue.put(message)
                elif kind == "start":
                    # The session's context exists from here, in the order of the socket: a command sent right
                    # after the viewer was told the session is ready is read after this, and finds it even while
                    # the main thread has not yet got to start_session (it did not, under load: "the session has
                    # ended" for a session's first command).
                    try:
                        self.ctx = self.prepare(message)
                    except Exception:
                        pass  # the main thread prepares it again, and reports what fails
                    self.control.put((message, payload))
                elif kind == "input":
                    if same and payload is not None:
                        import numpy as np

                        frame = np.frombuffer(payload, dtype=np.uint8).reshape(message["h"], message["w"], 3)
                        ctx._input(message["track"], frame)  # type: ignore[union-attr]
                else:
                    self.control.put((message, payload))
        except (Closed, OSError):
            # The runtime is gone: nothing is left to serve.
            self.exit(0)

    # The command thread: one command at a time, in arrival order, beside start_session.
    def apply_commands(self) -> None:
        while True:
            message = self.command_queue.get()
            if message is None:
                return
            if message.get("t") == "hook":
                ctx = self.ctx
                if ctx is not None and ctx.session_id == message.get("sid"):
                    if message.get("hook") == "connected":
                        self.send_state()  # a viewer that connects gets the state at once
                    self.run_hooks(str(message.get("hook")), message.get("viewer"))
                continue
            reply = {"t": "reply", "sid": message.get("sid"), "seq": message.get("seq")}
            ctx = self.ctx
            try:
                if ctx is None or ctx.session_id != message.get("sid"):
                    raise RuntimeError("the session has ended")
                declared = self.commands[message["name"]]
                field = setter_field(declared["method"])
                if field is not None:
                    setattr(self.instance.state, field, coerce(declared["schema"], message.get("args") or {})[field])
                    self.send_state()
                    reply["ok"] = True
                    self.wire.send(reply)
                    continue
                method = getattr(self.instance, declared["method"])
                returned = method(**coerce(declared["schema"], message.get("args") or {}))
                reply["ok"] = True
                if declared.get("returns") and returned is not None:
                    value = reply_value(returned)
                    json.dumps(value)  # not JSON: answered as the command's failure, here
                    reply["value"] = value
            except CommandError as error:  # the model's own refusal: its code and message go to the sender
                reply["refused"] = {"code": str(error.code), "message": str(error.message)}
            except Exception as error:  # a failing command answers its sender; the session goes on
                reply["error"] = f"{type(error).__name__}: {error}"
                shown = "".join(traceback.format_exception(type(error), error, error.__traceback__))
                print(f"command {message.get('name')!r} failed:\n{shown}", file=sys.stderr, flush=True)
            self.wire.send(reply)

    def send_state(self) -> None:
        """The session's state to its viewers (a runtime ``state`` message), for a model that declares one."""
        ctx = self.ctx
        state = getattr(self.instance, "state", None)
        if ctx is None or state_class(self.cls) is None or state is None:
            return
        self.wire.send({"t": "message", "sid": ctx.session_id, "data": {"__reactorRuntime": "state", "data": state.to_dict()}})

    def run_hooks(self, kind: str, viewer: Optional[dict] = None) -> None:
        """Runs the model's ``kind`` hooks; one that raises is reported and the session goes on."""
        for name in hooks_of(self.cls, kind):
            method = getattr(self.instance, name)
            try:
                takes = len(inspect.signature(method).parameters)
                method(viewer) if takes >= 1 and viewer is not None else method()
            except Exception as error:
                shown = "".join(traceback.format_exception(type(error), error, error.__traceback__))
                print(f"the {kind} hook {name!r} failed:\n{shown}", file=sys.stderr, flush=True)

    def load(self, config: dict) -> None:
        try:
            self.instance = construct(self.cls, config)
        except BaseException as error:
            traceback.print_exception(type(error), error, error.__traceback__, file=sys.stderr)
            self.wire.send({"t": "load_failed", "error": f"{self.cls.__name__}.__init__ failed:\n{tail(error)}"})
            sys.stderr.flush()
            self.exit(1)
        self.wire.send({"t": "loaded"})

    def prepare(self, message: dict) -> "_context.Context":
        """A new session from its ``start`` message: the model's state back to its defaults, and the context."""
        declared_state = state_class(self.cls)
        if declared_state is not None:
            self.instance.state = declared_state()  # each session starts from the defaults
        return _context.Context(
            str(message["sid"]), self.wire, self.declared["output"], [t["name"] for t in self.declared["inputs"]],
            message.get("extra_args") or {}, window=int(message.get("window", 1)),
            audio={t["name"]: (t["sample_rate"], t["channels"]) for t in self.declared.get("audio", [])},
        )

    def session(self, message: dict) -> None:
        sid = str(message["sid"])
        ctx = self.ctx
        if ctx is None or ctx.session_id != sid:  # prepared by the reader thread as it read the start message
            ctx = self.prepare(message)
            self.ctx = ctx
        _context._set_current(ctx)
        failure: Optional[BaseException] = None
        try:
            self.run_hooks("session_started")
            self.instance.start_session()
        except BaseException as error:  # sys.exit and KeyboardInterrupt included: the process is not trusted after
            failure = error
        finally:
            if failure is None:
                self.run_hooks("session_ended")
            _context._set_current(None)
            if self.ctx is ctx:
                self.ctx = None
        if failure is None:
            self.wire.send({"t": "ended", "sid": sid})
            return
        traceback.print_exception(type(failure), failure, failure.__traceback__, file=sys.stderr)
        sys.stderr.flush()
        self.wire.send({"t": "ended", "sid": sid, "error": f"start_session failed:\n{tail(failure)}"})
        self.exit(1)

    def run(self) -> None:
        threading.Thread(target=self.read, name="reactor-reader", daemon=True).start()
        threading.Thread(target=self.apply_commands, name="reactor-commands", daemon=True).start()
        while True:
            message, _ = self.control.get()
            kind = message.get("t")
            if kind == "load":
                self.load(message.get("config") or {})
            elif kind == "start":
                self.session(message)
            elif kind == "shutdown":
                self.exit(0)


def listen(path: str) -> socket.socket:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    return server


def main(argv: "list[str]") -> None:
    if len(argv) != 1:
        print("usage: python -m reactor_runtime._host MODEL.py (with REACTOR_SOCKET set)", file=sys.stderr)
        sys.exit(2)
    faulthandler.enable()
    # The runtime decides when this process stops: a Ctrl-C in the terminal reaches it through the runtime.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    server = listen(os.environ["REACTOR_SOCKET"])
    connection, _ = server.accept()
    server.close()
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    wire = Wire(connection)
    path = argv[0]
    try:
        cls = find_model(load_module(path), path)
        declared = declare(cls, path)
    except BaseException as error:
        traceback.print_exception(type(error), error, error.__traceback__, file=sys.stderr)
        wire.send({"t": "load_failed", "error": str(error) if isinstance(error, SchemaError) else tail(error)})
        sys.stderr.flush()
        os._exit(1)
    wire.send(declared)
    Host(wire, cls, declared).run()


if __name__ == "__main__":
    main(sys.argv[1:])
