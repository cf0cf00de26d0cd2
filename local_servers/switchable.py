"""An endpoint on 127.0.0.1 that forwards to a local server and can be made to fail on demand:
refuse connections (nothing listens on its port), or accept them and never answer (a hung or
firewalled endpoint), then recover on the same port. What one Region's Secrets Manager
endpoint looks like to a client during an outage, on loopback only."""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from enum import Enum
from types import TracebackType

from local_rotation.server import LOOPBACK

_CHUNK = 65536


class Mode(Enum):
    FORWARD = "forward"
    REFUSE = "refuse"
    BLACKHOLE = "blackhole"


class SwitchableEndpoint:
    """``http://127.0.0.1:<port>`` in front of ``target_port``; see the module docstring."""

    def __init__(self, target_port: int, target_host: str = LOOPBACK) -> None:
        self._target = (target_host, target_port)
        self._lock = threading.Lock()
        self._mode = Mode.FORWARD
        self._connections: list[socket.socket] = []
        self._stopped = threading.Event()
        self._listener: socket.socket | None = None
        self.port = self._listen(0)
        self.url = f"http://{LOOPBACK}:{self.port}"
        self._thread = threading.Thread(target=self._accept_loop, name="switchable-endpoint", daemon=True)

    # --- control -------------------------------------------------------------------------------------
    @property
    def mode(self) -> Mode:
        return self._mode

    def refuse(self) -> None:
        """Close the port and every open connection: new connections are refused at once."""
        with self._lock:
            self._mode = Mode.REFUSE
            listener, self._listener = self._listener, None
            connections, self._connections = self._connections, []
        if listener is not None:
            listener.close()
        for connection in connections:
            _close(connection)

    def blackhole(self) -> None:
        """Accept connections and read what is sent, answering nothing (requests time out)."""
        self._reopen(Mode.BLACKHOLE)

    def forward(self) -> None:
        """Recover: forward every connection to the target again."""
        self._reopen(Mode.FORWARD)

    def _reopen(self, mode: Mode) -> None:
        with self._lock:
            self._mode = mode
            closed = self._listener is None
        if closed:
            self._listen(self.port)

    # --- plumbing -------------------------------------------------------------------------------------
    def _listen(self, port: int) -> int:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((LOOPBACK, port))
        listener.listen(64)
        listener.settimeout(0.1)
        with self._lock:
            self._listener = listener
        return int(listener.getsockname()[1])

    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            with self._lock:
                listener = self._listener
            if listener is None:
                self._stopped.wait(0.02)  # refusing: nothing listens until forward() or blackhole()
                continue
            try:
                connection, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            with self._lock:
                self._connections.append(connection)
            threading.Thread(target=self._serve, args=(connection,), name="switchable-conn", daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        try:
            while not self._stopped.is_set():
                mode = self._mode
                if mode is Mode.REFUSE:
                    return
                if mode is Mode.FORWARD and upstream is None:
                    upstream = socket.create_connection(self._target, timeout=5)
                sockets = [client] + ([upstream] if upstream is not None and mode is Mode.FORWARD else [])
                readable, _, _ = select.select(sockets, [], [], 0.1)
                for ready in readable:
                    data = ready.recv(_CHUNK)
                    if not data:
                        return
                    if self._mode is not Mode.FORWARD:
                        continue  # blackhole: what the client sends is read and never answered
                    (upstream if ready is client else client).sendall(data)  # type: ignore[union-attr]
        except OSError:
            return
        finally:
            _close(client)
            if upstream is not None:
                _close(upstream)

    def __enter__(self) -> SwitchableEndpoint:
        self._thread.start()
        return self

    def __exit__(self, *_: object | TracebackType) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)
        self.refuse()


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.close()
