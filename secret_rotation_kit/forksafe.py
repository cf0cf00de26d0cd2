"""After ``os.fork`` (gunicorn ``--preload``, Celery prefork, multiprocessing), a child inherits
the parent's locks in whatever state another thread left them, and the parent's pooled HTTPS
connection to Secrets Manager: two processes reading one socket get each other's answers.
Every library object that holds a lock or a client registers here and is rebuilt in the child.
"""

from __future__ import annotations

import logging
import os
import weakref
from typing import Any, Protocol

log = logging.getLogger("secret_rotation_kit")


class ForkAware(Protocol):
    def _after_fork_in_child(self) -> None: ...


_objects: weakref.WeakSet[Any] = weakref.WeakSet()


def register(obj: ForkAware) -> None:
    """Call ``obj._after_fork_in_child()`` in every child forked after now (held weakly)."""
    _objects.add(obj)


def _reinit_all() -> None:
    for obj in list(_objects):
        try:
            obj._after_fork_in_child()
        except Exception as exc:  # a child must start even if one object cannot be rebuilt
            log.warning("after fork: %s could not be rebuilt: %s", type(obj).__name__, type(exc).__name__)


def drop_pooled_connections(client: Any) -> None:
    """Forget a boto3 client's pooled connections, so the child opens its own (the parent's
    sockets stay open in the parent: closing a copy of a descriptor does not shut the connection)."""
    session = getattr(getattr(client, "_endpoint", None), "http_session", None)
    if session is not None and hasattr(session, "close"):
        session.close()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_reinit_all)
