"""A redis-py ``CredentialProvider`` that survives rotations of a Valkey/Redis ACL user or
an ElastiCache AUTH token: new connections authenticate with AWSCURRENT from the cache; on
``AuthenticationError`` the cache is refreshed once and the new AWSCURRENT, then
AWSPREVIOUS (then AWSPENDING) are tried on the same socket (see ``attempts``).

redis-py asks a credential provider for credentials but does not tell it whether they
worked, so the retry lives in ``on_connect``, passed to redis-py as ``redis_connect_func``;
``client()`` wires both. Open connections are never affected by a rotation.

``AsyncRotatingCredentialProvider`` does the same for ``redis.asyncio`` (FastAPI, aiohttp):
its ``on_connect`` is a coroutine, the cache read that may call Secrets Manager runs in a
worker thread, and the attempt in progress is kept per task (a context variable).
"""

from __future__ import annotations

import contextvars
import logging
import threading
from typing import Any

import redis
import redis.asyncio
import redis.asyncio.retry
from redis.backoff import NoBackoff
from redis.credentials import CredentialProvider
from redis.exceptions import AuthenticationError
from redis.retry import Retry

from .attempts import all_rejected, async_credential_attempts, credential_attempts
from .fields import VERIFY_FULL, ca_bundle, port, ssl_mode, tls
from .snapshot import AWSCURRENT, SecretSnapshot

log = logging.getLogger("secret_rotation_kit")

Credentials = tuple[str] | tuple[str, str]


class _StagedCredentials(CredentialProvider):
    """Which fields of ``secret_id`` are the credentials: ``username_field``/``password_field``
    (ACL users), or ``username_field=None, password_field="auth_token"`` for an AUTH token."""

    def __init__(
        self,
        cache: Any,
        secret_id: str,
        *,
        username_field: str | None = "username",
        password_field: str = "password",  # noqa: S107 - a field name, not a password
    ) -> None:
        self._cache = cache
        self._secret_id = secret_id
        self._username_field = username_field
        self._password_field = password_field
        self.rejected_logins = 0
        self._attempt = self._attempt_store()  # the credentials of the login in progress
        cache.watch(secret_id)

    def _attempt_store(self) -> Any:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._secret_id!r}, password_field={self._password_field!r})"

    def credentials(self, snapshot: SecretSnapshot, stage: str) -> Credentials:
        password = snapshot.field(self._password_field, stage)
        if self._username_field is None:
            return (password,)
        return (snapshot.field(self._username_field, stage), password)

    def settings(self, snapshot: SecretSnapshot, *, asyncio: bool = False, **options: Any) -> dict[str, Any]:
        return {
            "host": snapshot.field("host", AWSCURRENT),
            "port": port(snapshot, AWSCURRENT, default=6379),
            **connection_options(snapshot, AWSCURRENT, asyncio=asyncio),
            **options,
        }

    def _rejected(self, connection: Any, stage: str) -> None:
        self.rejected_logins += 1
        log.info(
            "%s:%s rejected the %s credentials of secret %r", connection.host, connection.port, stage, self._secret_id
        )


class RotatingCredentialProvider(_StagedCredentials):
    """redis-py (threads); see the module docstring."""

    def _attempt_store(self) -> Any:
        return threading.local()  # per thread: each thread's connection has its own attempt

    def get_credentials(self) -> Credentials:
        """What redis-py sends with AUTH/HELLO: the attempt in progress, else AWSCURRENT."""
        attempt: Credentials | None = getattr(self._attempt, "credentials", None)
        if attempt is not None:
            return attempt
        return self.credentials(self._cache.snapshot(self._secret_id), AWSCURRENT)

    def on_connect(self, connection: Any) -> None:
        """redis-py's ``redis_connect_func``: authenticate a new socket, trying the next staged
        credential after each rejection."""
        try:
            for stage, credentials in credential_attempts(self._cache, self._secret_id, self.credentials):
                self._attempt.credentials = credentials
                try:
                    connection.on_connect()
                except AuthenticationError:
                    self._rejected(connection, stage)
                    continue
                return
        finally:
            self._attempt.credentials = None
        raise all_rejected(f"Valkey/Redis at {connection.host}:{connection.port}", self._secret_id)

    def client(self, **options: Any) -> redis.Redis:
        """A ``redis.Redis`` for the secret's ``host``/``port``/``ssl`` (``ssl_ca``), using this provider.

        redis-py's own retries are off unless ``retry`` is given: a rejected credential is
        handled here, once, not retried blindly.
        """
        settings = self.settings(self._cache.snapshot(self._secret_id), **options)
        connect_func: Any = self.on_connect  # redis-py calls it with the connection; its stub says no argument
        return redis.Redis(credential_provider=self, redis_connect_func=connect_func, **settings)


class AsyncRotatingCredentialProvider(_StagedCredentials):
    """redis.asyncio; see the module docstring."""

    def _attempt_store(self) -> Any:
        # per task: connections opened concurrently on one thread each have their own attempt
        return contextvars.ContextVar(f"secret_rotation_attempt_{id(self)}", default=None)

    def get_credentials(self) -> Credentials:
        attempt: Credentials | None = self._attempt.get()
        return attempt if attempt is not None else self.credentials(self._cache.snapshot(self._secret_id), AWSCURRENT)

    async def get_credentials_async(self) -> Credentials:
        attempt: Credentials | None = self._attempt.get()
        if attempt is not None:
            return attempt
        return self.credentials(await self._cache.asnapshot(self._secret_id), AWSCURRENT)

    async def on_connect(self, connection: Any) -> None:
        """``redis_connect_func`` for ``redis.asyncio``: as the threaded provider's, awaited.

        redis.asyncio closes the socket when a reply is an error (a rejected AUTH included), so
        the next attempt opens it again first (``_connect``: the connection's own socket setup).
        """
        try:
            async for stage, credentials in async_credential_attempts(self._cache, self._secret_id, self.credentials):
                self._attempt.set(credentials)
                try:
                    if not connection.is_connected:
                        await connection._connect()
                    await connection.on_connect()
                except AuthenticationError:
                    self._rejected(connection, stage)
                    continue
                return
        finally:
            self._attempt.set(None)
        raise all_rejected(f"Valkey/Redis at {connection.host}:{connection.port}", self._secret_id)

    async def client(self, **options: Any) -> redis.asyncio.Redis:
        """A ``redis.asyncio.Redis`` for the secret's host/port/ssl, using this provider."""
        settings = self.settings(await self._cache.asnapshot(self._secret_id), asyncio=True, **options)
        return redis.asyncio.Redis(credential_provider=self, redis_connect_func=self.on_connect, **settings)


def connection_options(snapshot: SecretSnapshot, stage: str, *, asyncio: bool = False) -> dict[str, Any]:
    """redis-py options for the secret at ``stage``: 5 s timeouts, no hidden retries, and
    verified TLS unless ``"ssl": false`` is written."""
    no_retry = redis.asyncio.retry.Retry(NoBackoff(), 0) if asyncio else Retry(NoBackoff(), 0)
    options: dict[str, Any] = {"socket_timeout": 5, "socket_connect_timeout": 5, "retry": no_retry}
    if tls(snapshot, stage):
        options.update(
            ssl=True,
            ssl_cert_reqs="required",
            ssl_ca_certs=ca_bundle(snapshot, stage),
            ssl_check_hostname=ssl_mode(snapshot, stage) == VERIFY_FULL,
        )
    return options
