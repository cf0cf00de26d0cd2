"""Django with its database and cache logins from Secrets Manager (issue 15: the seed use case).

Django from PyPI, configured in this process; real PostgreSQL and Valkey on loopback; AWS APIs
emulated by moto; rotations by the real functions through the local driver, and an RDS-managed
``rds!db-...`` secret rotated the way RDS rotates it (single user, username and password only).
ORM reads and writes and cache calls keep succeeding through every rotation; each request ends
the way Django ends one (the connection closed, CONN_MAX_AGE=0), so every request logs in again.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import django
import pytest
from django.conf import settings
from psycopg2 import sql
from redis.connection import parse_url

from lambdas.elasticache_auth_token.handler import lambda_handler as token_handler
from lambdas.elasticache_user.handler import lambda_handler as user_handler
from lambdas.postgres_alternating.handler import lambda_handler as alternating_handler
from lambdas.postgres_single.handler import lambda_handler as single_handler
from lambdas.targets.scram import scram_sha256_verifier
from lambdas.valkey_acl.handler import lambda_handler as acl_handler
from local_rotation import RotationDriver
from local_servers.postgres import PostgresServer
from secret_rotation_kit import SecretCache
from secret_rotation_kit.django import django_redis_cache, redis_cache
from secret_rotation_kit.snapshot import AWSCURRENT, SecretSnapshot
from tests.client.app_loop import serve_through_rotations
from tests.plugins.elasticache_fixtures import AuthTokenGroup, RbacUser
from tests.plugins.postgres_fixtures import PostgresTarget
from tests.plugins.valkey_fixtures import ValkeyTarget

ROTATIONS = 6
ENGINE = "secret_rotation_kit.django.postgresql"


@pytest.fixture(scope="session")
def django_setup() -> None:
    if not settings.configured:
        settings.configure(
            DATABASES={},
            CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
            INSTALLED_APPS=["tests.client.django_app"],
            USE_TZ=True,
        )
        django.setup()


def cold_cache(client: Any) -> SecretCache:
    """Only a rejected login makes it read Secrets Manager again."""
    return SecretCache(client, ttl=10**6, version_check_interval=10**6)


@pytest.fixture
def use_database(django_setup: None, postgres_server: PostgresServer) -> Iterator[Callable[[dict[str, Any]], Any]]:
    """Point Django's ``default`` database at a settings entry; the Order table is created
    afresh (by the test's role, in the session's shared database)."""
    from django.db import connections

    def use(entry: dict[str, Any]) -> Any:
        postgres_server.execute_as_admin("DROP TABLE IF EXISTS django_app_order")
        connections.close_all()
        connections.settings = connections.configure_settings({"default": entry})
        if hasattr(connections._connections, "default"):
            del connections["default"]
        from tests.client.django_app.models import Order

        with connections["default"].schema_editor() as editor:
            editor.create_model(Order)
        return connections["default"]

    yield use
    connections.close_all()


@pytest.fixture
def use_cache(django_setup: None) -> Iterator[Callable[[dict[str, Any]], Any]]:
    from django.core.cache import caches

    def use(entry: dict[str, Any]) -> Any:
        caches.settings = caches.configure_settings({"default": entry})
        if hasattr(caches._connections, "default"):
            del caches["default"]
        return caches["default"]

    yield use
    caches.close_all()


def orm_request() -> None:
    """One request: a write and a read through the ORM (JSONField included), then Django's
    request end with CONN_MAX_AGE=0 (the connection is closed)."""
    from django.db import connection

    from tests.client.django_app.models import Order

    try:
        order = Order.objects.create(note="request", data={"items": [1, 2], "paid": True})
        assert Order.objects.get(pk=order.pk).data == {"items": [1, 2], "paid": True}
    finally:
        connection.close()


def rotate_like_rds(pg: PostgresTarget, arn: str) -> None:
    """What RDS does to a secret it manages (single user): a new password staged AWSPENDING,
    set on the role, then AWSCURRENT moved to it (AWSPREVIOUS follows)."""
    current = pg.client.get_secret_value(SecretId=arn)
    value = json.loads(current["SecretString"])
    value["password"] = secrets.token_urlsafe(24)
    token = str(uuid.uuid4())
    pg.client.put_secret_value(SecretId=arn, ClientRequestToken=token, SecretString=json.dumps(value),
                               VersionStages=["AWSPENDING"])  # fmt: skip
    pg.server.execute_as_admin(  # as a SCRAM verifier: the server log never shows the password
        sql.SQL("ALTER ROLE {} PASSWORD {}").format(
            sql.Identifier(value["username"]), sql.Literal(scram_sha256_verifier(value["password"]))
        )
    )
    pg.client.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=token,
                                          RemoveFromVersionId=current["VersionId"])  # fmt: skip
    pg.client.update_secret_version_stage(SecretId=arn, VersionStage="AWSPENDING", RemoveFromVersionId=token)


# --- the database backend ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["postgres_alternating", "postgres_single"])
def test_orm_reads_and_writes_keep_succeeding_through_rotations(
    pg: PostgresTarget, use_database: Callable[[dict[str, Any]], Any], kind: str
) -> None:
    arn = pg.create_secret() if kind == "postgres_alternating" else pg.create_secret(masterarn=None)
    cache = cold_cache(pg.client)
    database = use_database({"ENGINE": ENGINE, "SECRET_ID": arn, "SECRET_CACHE": cache, "NAME": ""})
    driver = RotationDriver(alternating_handler if kind == "postgres_alternating" else single_handler)

    result = serve_through_rotations(orm_request, lambda: driver.rotate(arn), ROTATIONS)

    assert result.failures == []
    assert result.succeeded > ROTATIONS
    assert database.rotation_stats.connections > 0
    assert cache.stats.forced_refreshes > 0  # the stale login was met and recovered from


def test_an_rds_managed_secret_with_only_username_and_password_uses_name_host_port_from_settings(
    pg: PostgresTarget, use_database: Callable[[dict[str, Any]], Any]
) -> None:
    arn = pg.client.create_secret(
        Name=f"rds!db-{uuid.uuid4()}", SecretString=json.dumps({"username": pg.role, "password": pg.password})
    )["ARN"]
    cache = cold_cache(pg.client)
    use_database({"ENGINE": ENGINE, "SECRET_ID": arn, "SECRET_CACHE": cache, "NAME": pg.server.dbname,
                  "HOST": pg.server.host, "PORT": str(pg.server.port), "OPTIONS": {"sslmode": "disable"}})  # fmt: skip

    result = serve_through_rotations(orm_request, lambda: rotate_like_rds(pg, arn), ROTATIONS)

    assert result.failures == []
    assert result.succeeded > ROTATIONS


def test_django_options_isolation_level_and_application_name_are_kept(
    pg: PostgresTarget, use_database: Callable[[dict[str, Any]], Any]
) -> None:
    import psycopg2.extensions

    arn = pg.create_secret()
    database = use_database({
        "ENGINE": ENGINE, "SECRET_ID": arn, "SECRET_CACHE": cold_cache(pg.client), "NAME": "",
        "OPTIONS": {"isolation_level": psycopg2.extensions.ISOLATION_LEVEL_SERIALIZABLE,
                    "application_name": "orders-django"},
    })  # fmt: skip

    with database.cursor() as cursor:
        cursor.execute("SHOW application_name")
        application = cursor.fetchone()
        cursor.execute("SELECT current_database(), current_user")
        where = cursor.fetchone()
    level = database.connection.isolation_level

    assert application == ("orders-django",)
    assert where == (pg.server.dbname, pg.role)
    assert level == psycopg2.extensions.ISOLATION_LEVEL_SERIALIZABLE


def test_name_is_used_when_the_secret_has_no_dbname(
    pg: PostgresTarget, use_database: Callable[[dict[str, Any]], Any]
) -> None:
    pg.server.execute_as_admin(f'CREATE DATABASE "db_{pg.role}" OWNER "{pg.role}"')
    arn = pg.create_secret(dbname=None)
    database = use_database({"ENGINE": ENGINE, "SECRET_ID": arn, "SECRET_CACHE": cold_cache(pg.client),
                             "NAME": f"db_{pg.role}"})  # fmt: skip

    with database.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        assert cursor.fetchone() == (f"db_{pg.role}",)


def test_a_rejected_login_refreshes_once_and_logs_in_with_the_new_password(
    pg: PostgresTarget, use_database: Callable[[dict[str, Any]], Any]
) -> None:
    arn = pg.create_secret()
    cache = cold_cache(pg.client)
    database = use_database({"ENGINE": ENGINE, "SECRET_ID": arn, "SECRET_CACHE": cache, "NAME": ""})
    orm_request()
    driver = RotationDriver(alternating_handler)
    driver.rotate(arn)
    driver.rotate(arn)  # the cached AWSCURRENT's password has changed on the server

    orm_request()

    assert database.rotation_stats.rejected_logins == 1
    assert cache.stats.forced_refreshes == 1


def test_a_missing_secret_id_is_an_improperly_configured_error_naming_it(
    pg: PostgresTarget, use_database: Callable[[dict[str, Any]], Any]
) -> None:
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match=r"DATABASES\['default'\]: ENGINE .* needs SECRET_ID"):
        use_database({"ENGINE": ENGINE, "NAME": "x"})


# --- caches ---------------------------------------------------------------------------------------------


def cache_request(backend: Any, drop: Callable[[Any], None]) -> None:
    """One request: a write and a read; then the pool's connections are dropped, so the next
    request authenticates anew (what an idle timeout or a new worker does). One worker thread:
    dropping a pool under another thread's command would fail that command, not the login."""
    key = f"orders:{uuid.uuid4().hex[:8]}"
    try:
        backend.set(key, {"n": 1}, timeout=30)
        assert backend.get(key) == {"n": 1}
    finally:
        drop(backend)


def drop_django_pools(backend: Any) -> None:
    for pool in backend._cache._pools.values():  # Django's RedisCache keeps its pools per backend
        pool.disconnect(inuse_connections=False)


def drop_django_redis(backend: Any) -> None:
    backend.close()  # with CLOSE_CONNECTION, django-redis disconnects at request end


CACHE_BACKENDS = {
    "django": (redis_cache, drop_django_pools),
    "django-redis": (django_redis_cache, drop_django_redis),
}


def with_close(entry: dict[str, Any], backend: str) -> dict[str, Any]:
    if backend == "django-redis":
        entry["OPTIONS"]["CLOSE_CONNECTION"] = True
    return entry


# kind -> (the fixture with its target, its rotation function, whether the secret is an AUTH token)
CACHE_KINDS: dict[str, tuple[str, Callable[[dict[str, Any], Any], Any], bool]] = {
    "valkey_acl": ("vk", acl_handler, False),
    "elasticache_user": ("rbac_user", user_handler, False),
    "elasticache_auth_token": ("auth_group", token_handler, True),
}


@pytest.mark.parametrize("backend", sorted(CACHE_BACKENDS))
@pytest.mark.parametrize("kind", sorted(CACHE_KINDS))
def test_cache_calls_keep_succeeding_through_rotations(
    request: pytest.FixtureRequest, use_cache: Callable[[dict[str, Any]], Any], kind: str, backend: str
) -> None:
    fixture, handler, auth_token = CACHE_KINDS[kind]
    target: ValkeyTarget | RbacUser | AuthTokenGroup = request.getfixturevalue(fixture)
    arn = target.create_secret()
    make, drop = CACHE_BACKENDS[backend]
    cache = cold_cache(target.client)
    django_cache = use_cache(with_close(make(arn, cache=cache, auth_token=auth_token), backend))
    driver = RotationDriver(handler)

    result = serve_through_rotations(lambda: cache_request(django_cache, drop), lambda: driver.rotate(arn), ROTATIONS,
                                     workers=1)  # fmt: skip

    assert result.failures == []
    assert result.succeeded > ROTATIONS
    assert cache.stats.forced_refreshes > 0  # stale credentials were met and recovered from


class _OneSnapshot:
    """A cache holding one snapshot and no AWS: all the settings helpers read when settings load."""

    def __init__(self, values: dict[str, Any]) -> None:
        arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:app/cache-AbCdEf"
        self._snapshot = SecretSnapshot("app/cache", arn, {AWSCURRENT: "v1"}, {AWSCURRENT: json.dumps(values)}, 0.0)

    def watch(self, secret_id: str) -> None:
        pass

    def snapshot(self, secret_id: str) -> SecretSnapshot:
        return self._snapshot


@pytest.mark.parametrize("backend", sorted(CACHE_BACKENDS))
def test_a_cache_location_brackets_an_ipv6_host_so_redis_py_reads_it_back(backend: str) -> None:
    """The functions take "[::1]:6380" in ``nodes``; the first value's ``host`` is "::1"."""
    values = {"host": "::1", "port": 6380, "username": "app", "password": secrets.token_hex(16), "ssl": False}
    make, _ = CACHE_BACKENDS[backend]

    location = make("app/cache", cache=_OneSnapshot(values))["LOCATION"]

    assert location.startswith("redis://[::1]:6380/0")
    parsed = parse_url(location)  # type: ignore[no-untyped-call]
    assert (parsed["host"], parsed["port"]) == ("::1", 6380)
