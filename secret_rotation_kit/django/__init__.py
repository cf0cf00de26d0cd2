"""Django integration: ``DATABASES`` and ``CACHES`` whose credentials come from Secrets Manager
and survive every rotation.

- Database: ``"ENGINE": "secret_rotation_kit.django.postgresql"`` with ``"SECRET_ID"`` (see
  ``secret_rotation_kit.django.postgresql.base``). Django's own PostgreSQL backend does the
  rest (OPTIONS, isolation level, JSONField, time zones, ``assume_role``).
- Caches: ``redis_cache(secret_id)`` for Django's built-in ``RedisCache`` and
  ``django_redis_cache(secret_id)`` for django-redis return a ``CACHES`` entry whose connections
  authenticate through ``RotatingCredentialProvider``.
"""

from .cache import django_redis_cache, redis_cache

__all__ = ["django_redis_cache", "redis_cache"]
