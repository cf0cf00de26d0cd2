"""Django's PostgreSQL backend, with the login from a Secrets Manager secret that rotates.

```python
DATABASES = {
    "default": {
        "ENGINE": "secret_rotation_kit.django.postgresql",
        "SECRET_ID": "app/prod/postgres_alternating/orders",  # or an RDS-managed "rds!db-..." secret
        "NAME": "orders",        # used when the secret has no dbname (RDS-managed secrets have none)
        "HOST": "db.internal",   # likewise for host and port
        "OPTIONS": {"sslmode": "verify-full", "sslrootcert": "/etc/ssl/rds-ca.pem"},
        "CONN_MAX_AGE": 60,
    }
}
```

Everything else is Django's own backend: ``get_connection_params`` is Django's, given the
secret's dbname/host/port; ``get_new_connection`` is Django's (isolation level, JSONField
adapters), called with AWSCURRENT from the cache, and after a rejected login (SQLSTATE 28P01)
once more after one refresh with the new AWSCURRENT, then AWSPREVIOUS, then AWSPENDING (the
password that works between setSecret and finishSecret of a single-user rotation, which is
how RDS rotates its own secrets).

Connection fields: the secret's ``host``/``port``/``dbname`` when present, else ``HOST``/
``PORT``/``NAME``. TLS: the secret's ``ssl``/``ssl_ca`` when it has ``ssl``; else ``OPTIONS``'
``sslmode``/``sslrootcert`` when given; else verify-full against the CA the secret names
(``ssl_ca``), ``CA_BUNDLE_PATH``, or the system's CA bundle file.
``SECRET_CACHE`` may name a ``SecretCache`` (default: ``secret_rotation_kit.default_cache()``).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import OperationalError
from django.db.backends.postgresql import base

from ...attempts import all_rejected, credential_attempts
from ...postgres import ConnectStats, libpq_params, rejected
from ...snapshot import AWSCURRENT, RedactedDict, SecretSnapshot


class DatabaseWrapper(base.DatabaseWrapper):
    """See the module docstring."""

    settings_dict: dict[str, Any]  # set by Django's __init__; declared for the type checker

    def __init__(self, settings_dict: dict[str, Any], alias: str = "default") -> None:
        super().__init__(settings_dict, alias)
        self.rotation_stats = ConnectStats()

    def _secret_id(self) -> str:
        secret_id = self.settings_dict.get("SECRET_ID")
        if not isinstance(secret_id, str) or not secret_id:
            raise ImproperlyConfigured(
                f"DATABASES[{self.alias!r}]: ENGINE 'secret_rotation_kit.django.postgresql' needs SECRET_ID, "
                "the name or ARN of the Secrets Manager secret with the database login"
            )
        return secret_id

    def _cache(self) -> Any:
        from ...inject import default_cache

        return self.settings_dict.get("SECRET_CACHE") or default_cache()

    def get_connection_params(self) -> dict[str, Any]:
        secret_id = self._secret_id()
        cache = self._cache()
        cache.watch(secret_id)
        fields = cache.snapshot(secret_id).json(AWSCURRENT)
        original = self.settings_dict
        # Django's own method, given what the secret says; credentials are added per attempt.
        self.settings_dict = {**original, "NAME": fields.get("dbname") or original["NAME"], "USER": "", "PASSWORD": ""}
        try:
            params = super().get_connection_params()
        finally:
            self.settings_dict = original
        return RedactedDict(params)

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        secret_id = self._secret_id()
        fallback = {
            "host": conn_params.get("host") or self.settings_dict.get("HOST"),
            "port": conn_params.get("port") or self.settings_dict.get("PORT"),
            "dbname": conn_params.get("dbname"),
        }
        tls_from_options = "sslmode" in self.settings_dict.get("OPTIONS", {})

        def login(snapshot: SecretSnapshot, stage: str) -> dict[str, Any]:
            from_options = tls_from_options and "ssl" not in snapshot.json(stage)
            return libpq_params(snapshot, stage, fallback, tls_settings=not from_options)

        address = "PostgreSQL"
        for stage, credentials in credential_attempts(self._cache(), secret_id, login):
            address = f"PostgreSQL at {credentials['host']}:{credentials['port']}"
            try:
                connection = super().get_new_connection(RedactedDict({**conn_params, **credentials}))
            except self.Database.OperationalError as exc:  # the driver Django chose (psycopg2 here)
                if not rejected(exc):
                    raise
                self.rotation_stats.rejected_logins += 1
                continue
            self.rotation_stats.connections += 1
            self.rotation_stats.by_stage[stage] = self.rotation_stats.by_stage.get(stage, 0) + 1
            return connection
        raise OperationalError(str(all_rejected(address, secret_id)))
