"""``CACHES`` entries for Django's ``RedisCache`` and for django-redis, authenticated by a
``RotatingCredentialProvider``: new connections use AWSCURRENT, and a rejected AUTH refreshes
once and tries AWSPREVIOUS/AWSPENDING (Valkey ACL users, ElastiCache RBAC users and AUTH tokens).

The secret is read once when settings are loaded (for ``host``/``port``/``ssl``, unless
``location`` is given); credentials are read at every new connection, from the cache.
"""

from __future__ import annotations

import re
from typing import Any

from ..redis import RotatingCredentialProvider, connection_options
from ..snapshot import AWSCURRENT, SecretSnapshot


def _provider(secret_id: str, cache: Any, auth_token: bool) -> RotatingCredentialProvider:
    from ..inject import default_cache

    fields: dict[str, Any] = {"username_field": None, "password_field": "auth_token"} if auth_token else {}
    return RotatingCredentialProvider(cache or default_cache(), secret_id, **fields)


def _location(snapshot: SecretSnapshot, db: int, client_name: str | None) -> str:
    from ..fields import port, tls

    scheme = "rediss" if tls(snapshot, AWSCURRENT) else "redis"
    host = snapshot.field("host", AWSCURRENT)
    host = f"[{host}]" if ":" in host else host  # an IPv6 address in a URL is bracketed (RFC 3986)
    url = f"{scheme}://{host}:{port(snapshot, AWSCURRENT, default=6379)}/{db}"
    return f"{url}?client_name={client_name}" if client_name else url


def _client_name(secret_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "-", secret_id.rsplit(":", 1)[-1])[:64]


def _pool_options(provider: RotatingCredentialProvider, snapshot: SecretSnapshot) -> dict[str, Any]:
    options = connection_options(snapshot, AWSCURRENT)
    options.pop("ssl", None)  # the rediss:// scheme says TLS; the other ssl_* options stay
    return {**options, "credential_provider": provider, "redis_connect_func": provider.on_connect}


def redis_cache(
    secret_id: str, *, cache: Any = None, auth_token: bool = False, location: str | None = None, db: int = 0
) -> dict[str, Any]:
    """A ``CACHES`` entry for ``django.core.cache.backends.redis.RedisCache``.

    ``auth_token=True`` for an ElastiCache AUTH token secret (``auth_token`` field, no user).
    """
    provider = _provider(secret_id, cache, auth_token)
    snapshot = provider._cache.snapshot(secret_id)
    return {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": location or _location(snapshot, db, None),
        "OPTIONS": _pool_options(provider, snapshot),
    }


def django_redis_cache(
    secret_id: str, *, cache: Any = None, auth_token: bool = False, location: str | None = None, db: int = 0
) -> dict[str, Any]:
    """A ``CACHES`` entry for django-redis (``django_redis.cache.RedisCache``).

    django-redis keeps one pool per LOCATION for the whole process, so the location carries a
    ``client_name`` per secret: two secrets on one endpoint never share a pool (or credentials).
    """
    provider = _provider(secret_id, cache, auth_token)
    snapshot = provider._cache.snapshot(secret_id)
    return {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": location or _location(snapshot, db, _client_name(secret_id)),
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "CONNECTION_POOL_KWARGS": _pool_options(provider, snapshot),
        },
    }
