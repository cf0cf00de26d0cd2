"""psycopg2 connections that survive rotations: connect with AWSCURRENT from the cache; on
SQLSTATE 28P01 (password authentication failed) refresh once and retry with the new
AWSCURRENT, then AWSPREVIOUS (then AWSPENDING, see ``attempts``).

Usable directly (``factory.connect()``), as SQLAlchemy's ``creator``
(``create_engine("postgresql+psycopg2://", creator=factory)``), and from a Django database
backend's ``get_new_connection`` (docs/client.md). Connection details (host, port, dbname,
TLS) come from the same secret JSON the rotation functions read.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg2

from .attempts import all_rejected, credential_attempts
from .exceptions import TargetConnectionError
from .fields import ca_bundle, port, ssl_mode, tls
from .snapshot import AWSCURRENT, RedactedDict, SecretSnapshot

AUTH_FAILED = "28P01"
INVALID_AUTHORIZATION = "28000"
log = logging.getLogger("secret_rotation_kit")


def rejected(exc: psycopg2.Error) -> bool:
    """Whether libpq's error means the server refused these credentials (SQLSTATE 28P01/28000)."""
    code = getattr(exc, "pgcode", None)
    return code in (AUTH_FAILED, INVALID_AUTHORIZATION) or "password authentication failed" in str(exc)


@dataclass
class ConnectStats:
    """How connections were made: by which stage, and how many logins were rejected."""

    connections: int = 0
    rejected_logins: int = 0
    by_stage: dict[str, int] = field(default_factory=dict)


class PostgresConnectionFactory:
    """New psycopg2 connections for the role in ``secret_id``; see the module docstring."""

    def __init__(self, cache: Any, secret_id: str, *, connect_timeout: int = 5, **options: Any) -> None:
        self._cache = cache
        self._secret_id = secret_id
        self._options = {"connect_timeout": connect_timeout, **options}
        self.stats = ConnectStats()
        cache.watch(secret_id)

    def __repr__(self) -> str:
        return f"PostgresConnectionFactory({self._secret_id!r})"

    def connection_params(self, stage: str = AWSCURRENT) -> dict[str, Any]:
        """libpq keyword arguments for ``stage`` (credentials included; ``repr`` hides the password)."""
        return libpq_params(self._cache.snapshot(self._secret_id), stage)

    def connect(self, **options: Any) -> Any:
        """A new connection; ``options`` are extra libpq/psycopg2 arguments (e.g. from Django)
        that never override where to connect or as whom."""
        merged = {**self._options, **options}
        address = "PostgreSQL"
        for stage, params in credential_attempts(self._cache, self._secret_id, libpq_params):
            address = f"PostgreSQL at {params['host']}:{params['port']}"
            try:
                connection = psycopg2.connect(**{**merged, **params})
            except psycopg2.Error as exc:
                if rejected(exc):
                    self.stats.rejected_logins += 1
                    log.info("%s rejected the %s credentials of secret %r", address, stage, self._secret_id)
                    continue
                first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise TargetConnectionError(f"{address}: {first_line}") from None
            self.stats.connections += 1
            self.stats.by_stage[stage] = self.stats.by_stage.get(stage, 0) + 1
            return connection
        raise all_rejected(address, self._secret_id)

    __call__ = connect


def libpq_params(
    snapshot: SecretSnapshot, stage: str, fallback: Mapping[str, Any] | None = None, *, tls_settings: bool = True
) -> dict[str, Any]:
    """psycopg2/libpq keyword arguments from the secret JSON at ``stage``: verify-full TLS
    unless ``"ssl": false``, never a silent plaintext fallback.

    ``fallback`` fills ``host``/``port``/``dbname`` the secret lacks: an RDS-managed secret
    (``rds!db-...``) holds only ``username`` and ``password``, and Django's ``DATABASES`` names
    the rest. ``tls_settings=False`` leaves ``sslmode``/``sslrootcert`` to the caller (Django's
    ``OPTIONS``).
    """
    fields = snapshot.json(stage)
    fallback = fallback or {}
    host = snapshot.field("host", stage) if "host" in fields or not fallback.get("host") else str(fallback["host"])
    params: dict[str, Any] = RedactedDict(
        host=host,
        port=port(snapshot, stage, default=int(fallback.get("port") or 5432)),
        dbname=fields.get("dbname") or fallback.get("dbname") or "postgres",
        user=snapshot.field("username", stage),
        password=snapshot.field("password", stage),
    )
    if not tls_settings:
        return params
    if tls(snapshot, stage):
        params.update(sslmode=ssl_mode(snapshot, stage), sslrootcert=ca_bundle(snapshot, stage))
    else:
        params["sslmode"] = "disable"
    return params
