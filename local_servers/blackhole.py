"""Unreachable hosts, on loopback only: a port nobody listens on, and a listener that accepts
connections and never answers (what a firewalled or hung server looks like to a client)."""

from __future__ import annotations

import socket
import threading
from types import TracebackType

from local_rotation.server import LOOPBACK, free_loopback_port


def dead_port() -> int:
    """A loopback port with no listener: connecting is refused at once."""
    return free_loopback_port()


class BlackholeListener:
    """Accepts TCP connections on 127.0.0.1 and never sends a byte; closes them on exit."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind((LOOPBACK, 0))
        self._socket.listen(64)
        self._socket.settimeout(0.2)
        self.host = LOOPBACK
        self.port: int = self._socket.getsockname()[1]
        self._accepted: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="blackhole", daemon=True)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._accepted.append(connection)

    def __enter__(self) -> BlackholeListener:
        self._thread.start()
        return self

    def __exit__(self, *_: object | TracebackType) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for connection in self._accepted:
            connection.close()
        self._socket.close()
