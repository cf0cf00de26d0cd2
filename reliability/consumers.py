"""Applications, as the soak sees them: requests made through the consumer library.

A consumer makes one request the way an application does during a rotation: credentials from
a ``SecretCache`` (no Secrets Manager call in the common case), the target's rejection
answered by one refresh and the other staged values. ``request`` opens a new connection each
time (every request is a login); ``pooled_request`` uses a pool (SQLAlchemy ``QueuePool`` for
PostgreSQL, redis-py ``BlockingConnectionPool`` for Valkey) and, when ``recycle`` is true,
drops its connection afterwards, as pools do after an idle timeout or a recycle age, so new
logins keep happening while the secret rotates.

Pools are built on first use in the process that uses them: after ``fork`` each worker builds
its own, as SQLAlchemy and redis-py recommend; the cache is shared from before the fork.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Any, Protocol

from secret_rotation_kit import InvalidSignatureError, RotatingHmacKeyring, SecretCache
from secret_rotation_kit.postgres import PostgresConnectionFactory
from secret_rotation_kit.redis import RotatingCredentialProvider, connection_options

POOL_SIZE = 4
BODY = b'{"event":"soak"}'


def cache_client(cache: SecretCache) -> Any:
    """The Secrets Manager client a cache reads through (the sender of HMAC requests uses it too)."""
    return cache._client.client


class Consumer(Protocol):
    def request(self) -> None: ...

    def pooled_request(self, recycle: bool) -> None: ...


class PostgresConsumer:
    def __init__(self, cache: SecretCache, secret_arn: str) -> None:
        self.factory = PostgresConnectionFactory(cache, secret_arn)
        self._pool: Any = None
        self._pid = 0

    def request(self) -> None:
        connection = self.factory.connect()
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        finally:
            connection.close()

    def _queue_pool(self) -> Any:
        if self._pool is None or self._pid != os.getpid():
            from sqlalchemy.pool import QueuePool

            self._pool, self._pid = (
                QueuePool(self.factory, pool_size=POOL_SIZE, max_overflow=0, timeout=60),
                os.getpid(),
            )
        return self._pool

    def pooled_request(self, recycle: bool) -> None:
        connection = self._queue_pool().connect()
        try:
            cursor = connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
            connection.rollback()
        finally:
            if recycle:
                connection.invalidate()  # the pool opens (and logs in) a new one next time
            connection.close()


class ValkeyConsumer:
    """Every node of the secret; ``auth_token`` for an ElastiCache AUTH token secret."""

    def __init__(self, cache: SecretCache, secret_arn: str, nodes: list[tuple[str, int]], *, auth_token: bool) -> None:
        fields: dict[str, Any] = {"username_field": None, "password_field": "auth_token"} if auth_token else {}
        self.provider = RotatingCredentialProvider(cache, secret_arn, **fields)
        self._cache, self._arn, self._nodes = cache, secret_arn, nodes
        self._pools: dict[tuple[str, int], Any] = {}
        self._pid = 0

    def _options(self) -> dict[str, Any]:
        snapshot = self._cache.snapshot(self._arn)
        return {**connection_options(snapshot, "AWSCURRENT"), "credential_provider": self.provider,
                "redis_connect_func": self.provider.on_connect}  # fmt: skip

    def request(self) -> None:
        import redis

        for host, port in self._nodes:
            client = redis.Redis(host=host, port=port, **self._options())
            try:
                client.ping()
            finally:
                client.close()

    def pooled_request(self, recycle: bool) -> None:
        import redis

        if self._pid != os.getpid():
            self._pools, self._pid = {}, os.getpid()
        for node in self._nodes:
            pool = self._pools.get(node)
            if pool is None:
                pool = self._pools[node] = redis.BlockingConnectionPool(  # type: ignore[no-untyped-call]
                    host=node[0], port=node[1], max_connections=POOL_SIZE, timeout=60, **self._options()
                )
            connection = pool.get_connection()
            try:
                connection.send_command("PING")
                if connection.read_response() not in (b"PONG", "PONG"):
                    raise redis.exceptions.ResponseError(f"{node[0]}:{node[1]} did not answer PING")
            finally:
                if recycle:
                    connection.disconnect()  # the pool reconnects (and authenticates) next time
                pool.release(connection)


class HmacConsumer:
    """The receiver verifies through the library; the sender is another service with its own
    cache, checking for a new version at every read (in the background), naming its key."""

    def __init__(self, cache: SecretCache, secret_arn: str, client: Any) -> None:
        # refresh_interval 0: rotations here are back to back (production: days apart, 5 s is plenty)
        self.receiver = RotatingHmacKeyring(cache, secret_arn, refresh_interval=0)
        self.sender = SecretCache(client, version_check_interval=0)
        self._arn = secret_arn

    def request(self) -> None:
        from secret_rotation_kit import key_id

        key = bytes.fromhex(self.sender.get(self._arn, transform="json")["key"])
        signature = f"{key_id(key)}:{hmac.new(key, BODY, hashlib.sha256).hexdigest()}"
        try:
            self.receiver.verify(BODY, signature)
        except InvalidSignatureError:
            raise InvalidSignatureError("a signature made with AWSCURRENT was rejected") from None

    def pooled_request(self, recycle: bool) -> None:
        self.request()
