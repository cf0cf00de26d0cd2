"""A hung Secrets Manager on loopback: a listener that accepts connections and never answers,
and tells the test when a connection arrived (an event, not a sleep)."""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType
from typing import Any

import boto3
from botocore.config import Config

from local_rotation.server import LOOPBACK


class HungListener:
    def __init__(self) -> None:
        self._socket = socket.create_server((LOOPBACK, 0))
        self.port: int = self._socket.getsockname()[1]
        self.endpoint = f"http://{LOOPBACK}:{self.port}"
        self.accepted = threading.Event()
        self.connections: list[socket.socket] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, name="hung-secretsmanager", daemon=True)

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return  # closed by __exit__
            with self._lock:
                self.connections.append(connection)
            self.accepted.set()

    @property
    def connection_count(self) -> int:
        with self._lock:
            return len(self.connections)

    def client(self, read_timeout: float = 60) -> Any:
        """A boto3 Secrets Manager client pointed here (one attempt, so calls end when we close)."""
        retries = {"total_max_attempts": 1, "mode": "standard"}  # botocore's max_attempts=1 would be 2 attempts
        config = Config(connect_timeout=2, read_timeout=read_timeout, retries=retries)
        return boto3.client("secretsmanager", endpoint_url=self.endpoint, config=config)

    def __enter__(self) -> HungListener:
        self._thread.start()
        return self

    def __exit__(self, *_: object | TracebackType) -> None:
        self.close()

    def close(self) -> None:
        """Stop listening and close every accepted connection: calls stuck on them fail now."""
        with contextlib.suppress(OSError):  # wakes accept(); some kernels refuse it on a listener
            self._socket.shutdown(socket.SHUT_RDWR)
        self._socket.close()
        self._thread.join(timeout=5)
        with self._lock:
            for connection in self.connections:
                connection.close()


class SwitchableClient:
    """Delegates to ``current``: the test answers the first reads, then cuts Secrets Manager off."""

    def __init__(self, current: Any) -> None:
        self.current = current

    def get_secret_value(self, **kwargs: Any) -> Any:
        return self.current.get_secret_value(**kwargs)

    def describe_secret(self, **kwargs: Any) -> Any:
        return self.current.describe_secret(**kwargs)
