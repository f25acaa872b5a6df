"""The host's wire to the runtime: length-prefixed messages over one Unix socket, both ways.

A message is an 8-byte header (little-endian u32 JSON length, u32 payload length), a JSON object, then the payload's
raw bytes (frame pixels). Frames leave from the numpy array's own memory (no copy in Python) and the runtime reads
them straight into the buffers it streams, so a 1280x720 frame costs the kernel's copy and nothing else.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
from typing import Any, Optional, Sequence

HEADER = struct.Struct("<II")


class Closed(Exception):
    """The runtime closed the socket."""


class Wire:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._send_lock = threading.Lock()

    def send(self, message: dict, payload: Optional[Sequence[Any]] = None) -> None:
        """Sends one message; ``payload`` is a list of bytes-like parts sent back to back (no join, no copy)."""
        body = json.dumps(message, separators=(",", ":")).encode()
        parts = list(payload or [])
        size = sum(memoryview(part).nbytes for part in parts)
        with self._send_lock:
            self.sock.sendall(HEADER.pack(len(body), size) + body)
            for part in parts:
                self.sock.sendall(part)

    def _exactly(self, view: memoryview) -> None:
        got = 0
        total = len(view)
        while got < total:
            n = self.sock.recv_into(view[got:], total - got)
            if n == 0:
                raise Closed()
            got += n

    def recv(self) -> "tuple[dict, Optional[bytearray]]":
        """The next message and its payload (a fresh bytearray, or None)."""
        head = bytearray(HEADER.size)
        self._exactly(memoryview(head))
        json_len, payload_len = HEADER.unpack(head)
        body = bytearray(json_len)
        self._exactly(memoryview(body))
        payload: Optional[bytearray] = None
        if payload_len > 0:
            payload = bytearray(payload_len)
            self._exactly(memoryview(payload))
        return json.loads(body), payload
