"""PostgreSQL connection factory against a real PostgreSQL (AWS APIs: moto; rotations: the
real functions through the local driver): connect with AWSCURRENT, and on 28P01 refresh once
and retry with the new AWSCURRENT, then AWSPREVIOUS, then AWSPENDING."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from lambdas.postgres_alternating.handler import lambda_handler as alternating_handler
from lambdas.postgres_single.handler import lambda_handler as single_handler
from local_rotation import RotationDriver
from local_servers.blackhole import dead_port
from local_servers.postgres import PostgresServer
from secret_rotation_kit import (
    CredentialsRejectedError,
    SecretCache,
    SecretFormatError,
    SecretNotFoundError,
    TargetConnectionError,
)
from secret_rotation_kit.postgres import PostgresConnectionFactory
from tests.client.app_loop import serve_through_rotations
from tests.client.fakes import FakeClock
from tests.conftest import stage_value
from tests.plugins.postgres_fixtures import PostgresTarget

ROTATIONS = 20


def query_one(factory: PostgresConnectionFactory) -> None:
    connection = factory.connect()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            assert cursor.fetchone() == (1,)
    finally:
        connection.close()


def cold_cache(client: Any) -> SecretCache:
    """A cache that never refreshes on its own (no TTL or version check in reach): only a
    rejected login makes it read Secrets Manager again."""
    return SecretCache(client, ttl=10**6, version_check_interval=10**6)


def test_an_app_loop_keeps_serving_through_20_alternating_user_rotations_with_one_refresh_per_rotation_at_most(
    pg: PostgresTarget,
) -> None:
    arn = pg.create_secret()
    cache = cold_cache(pg.client)
    factory = PostgresConnectionFactory(cache, arn)
    driver = RotationDriver(alternating_handler)

    result = serve_through_rotations(lambda: query_one(factory), lambda: driver.rotate(arn), ROTATIONS)

    assert result.failures == []
    assert result.succeeded > ROTATIONS
    assert factory.stats.rejected_logins > 0  # the stale credential was met and recovered from
    assert 0 < cache.stats.forced_refreshes <= ROTATIONS


def test_an_app_loop_keeps_serving_through_20_single_user_rotations_using_awspending_in_the_window(
    pg: PostgresTarget,
) -> None:
    """Single user: between setSecret and finishSecret only AWSPENDING logs in, so that is the
    last credential the factory tries."""
    arn = pg.create_secret(masterarn=None)
    factory = PostgresConnectionFactory(cold_cache(pg.client), arn)
    driver = RotationDriver(single_handler)

    result = serve_through_rotations(lambda: query_one(factory), lambda: driver.rotate(arn), ROTATIONS)

    assert result.failures == []
    assert factory.stats.rejected_logins > 0


def test_a_stale_awscurrent_is_replaced_by_one_refresh_and_the_new_awscurrent_logs_in(pg: PostgresTarget) -> None:
    arn = pg.create_secret()
    cache = SecretCache(pg.client, clock=FakeClock())
    factory = PostgresConnectionFactory(cache, arn)
    query_one(factory)
    driver = RotationDriver(alternating_handler)
    driver.rotate(arn)
    driver.rotate(arn)  # the cached AWSCURRENT is now two rotations old: its password changed
    calls_before = cache.stats.upstream_calls

    query_one(factory)

    assert factory.stats.rejected_logins == 1
    assert factory.stats.by_stage == {"AWSCURRENT": 2}
    assert cache.stats.forced_refreshes == 1
    assert cache.stats.upstream_calls - calls_before == 3  # DescribeSecret + the two values
    assert factory.connection_params()["user"] == stage_value(pg.client, arn, "AWSCURRENT")["username"]


def test_when_awscurrent_is_rejected_even_after_refresh_awsprevious_logs_in(pg: PostgresTarget) -> None:
    """E.g. a replica that has not yet replayed the new password: the previous role still works."""
    arn = pg.create_secret()
    RotationDriver(alternating_handler).rotate(arn)
    current = stage_value(pg.client, arn, "AWSCURRENT")
    pg.server.execute_as_admin(f'ALTER ROLE "{current["username"]}" PASSWORD NULL')
    factory = PostgresConnectionFactory(SecretCache(pg.client), arn)

    query_one(factory)

    assert factory.stats.by_stage == {"AWSPREVIOUS": 1}


def test_connection_params_use_verify_full_tls_with_the_secret_ca(pg_tls: PostgresTarget) -> None:
    arn = pg_tls.create_secret()
    factory = PostgresConnectionFactory(SecretCache(pg_tls.client), arn)

    params = factory.connection_params()
    query_one(factory)

    assert params["sslmode"] == "verify-full"
    assert params["sslrootcert"] == str(pg_tls.server.ca_path)


def test_the_factory_is_a_sqlalchemy_style_creator_and_takes_extra_options(pg: PostgresTarget) -> None:
    arn = pg.create_secret()
    creator = PostgresConnectionFactory(SecretCache(pg.client), arn, application_name="orders-api")

    connection = creator()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW application_name")
            assert cursor.fetchone() == ("orders-api",)
    finally:
        connection.close()


# --- bad input and failures -----------------------------------------------------------------------


def test_every_stage_rejected_raises_credentials_rejected_naming_host_port_and_secret(pg: PostgresTarget) -> None:
    arn = pg.create_secret(password="wrong-password-for-this-role")
    factory = PostgresConnectionFactory(SecretCache(pg.client), arn)

    with pytest.raises(CredentialsRejectedError) as caught:
        factory.connect()

    assert str(caught.value) == (
        f"PostgreSQL at {pg.server.host}:{pg.server.port} rejected every staged credential of secret {arn!r} "
        "(AWSCURRENT after a refresh, AWSPREVIOUS, AWSPENDING)"
    )


def test_a_dead_host_raises_target_connection_error_naming_host_and_port(pg: PostgresTarget) -> None:
    port = dead_port()
    arn = pg.create_secret(port=port)

    with pytest.raises(TargetConnectionError, match=rf"^PostgreSQL at 127\.0\.0\.1:{port}: connection to server"):
        PostgresConnectionFactory(SecretCache(pg.client), arn).connect()


def test_a_secret_without_password_names_the_field_and_the_stage(pg: PostgresTarget) -> None:
    arn = pg.create_secret(password=None)

    with pytest.raises(SecretFormatError, match=r"at AWSCURRENT: field 'password' must be a non-empty string"):
        PostgresConnectionFactory(SecretCache(pg.client), arn).connect()


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"port": "fifty"}, r"field 'port' must be a port number between 1 and 65535, got str"),
        ({"ssl": "yes"}, r"field 'ssl' must be true or false, got str"),
    ],
)
def test_a_mistyped_field_names_the_field_and_type_but_not_the_value(
    pg: PostgresTarget, override: dict[str, Any], message: str
) -> None:
    arn = pg.create_secret(**override)

    with pytest.raises(SecretFormatError, match=message) as caught:
        PostgresConnectionFactory(SecretCache(pg.client), arn).connect()
    assert pg.password not in str(caught.value)


def test_an_unknown_secret_raises_secret_not_found(pg: PostgresTarget) -> None:
    with pytest.raises(SecretNotFoundError, match="'app/test/postgres/none' was not found"):
        PostgresConnectionFactory(SecretCache(pg.client), "app/test/postgres/none").connect()


def test_a_non_json_secret_raises_a_format_error(pg: PostgresTarget) -> None:
    pg.client.create_secret(Name="app/test/postgres/raw", SecretString="just-a-password-string")

    with pytest.raises(SecretFormatError, match="must be a JSON object, but is not valid JSON"):
        PostgresConnectionFactory(SecretCache(pg.client), "app/test/postgres/raw").connect()


def test_server_log_and_errors_never_show_the_password(pg: PostgresTarget, postgres_server: PostgresServer) -> None:
    """The leak guard watches the server log; here the factory's own error for a wrong password."""
    arn = pg.create_secret(password="another-wrong-password-xyz")
    factory = PostgresConnectionFactory(SecretCache(pg.client), arn)

    with pytest.raises(CredentialsRejectedError) as caught:
        factory.connect()

    assert "another-wrong-password-xyz" not in str(caught.value)
    assert "another-wrong-password-xyz" not in json.dumps(factory.stats.by_stage)


# --- TLS: a CA file libpq can use, as the rotation functions resolve it -------------------------------


def _no_openssl_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on a host whose Python OpenSSL names no CA file of its own."""
    monkeypatch.setattr("secret_rotation_kit.fields.ssl.get_default_verify_paths", lambda: SimpleNamespace(cafile=None))


def test_without_ssl_ca_or_ca_bundle_path_the_system_bundle_is_named_as_a_file_never_libpq_system(
    pg_tls: PostgresTarget, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """psycopg2-binary's own OpenSSL looks for roots under its build directory: ``system``
    trusts nothing. The system's bundle file is named instead (here: the test CA standing in)."""
    monkeypatch.delenv("CA_BUNDLE_PATH", raising=False)
    bundle = tmp_path / "system-bundle.pem"
    assert pg_tls.server.ca_path is not None
    bundle.write_bytes(pg_tls.server.ca_path.read_bytes())
    monkeypatch.setattr("secret_rotation_kit.fields.SYSTEM_CA_BUNDLES", (str(bundle),))
    _no_openssl_default(monkeypatch)
    arn = pg_tls.create_secret(ssl_ca=None)
    factory = PostgresConnectionFactory(SecretCache(pg_tls.client), arn)

    params = factory.connection_params()
    query_one(factory)

    assert (params["sslmode"], params["sslrootcert"]) == ("verify-full", str(bundle))


def test_no_ca_file_anywhere_is_an_error_naming_what_to_set(
    pg_tls: PostgresTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CA_BUNDLE_PATH", raising=False)
    monkeypatch.setattr("secret_rotation_kit.fields.SYSTEM_CA_BUNDLES", ("/nonexistent/ca.pem",))
    _no_openssl_default(monkeypatch)
    arn = pg_tls.create_secret(ssl_ca=None)
    factory = PostgresConnectionFactory(SecretCache(pg_tls.client), arn)

    with pytest.raises(
        SecretFormatError, match="no CA bundle was found: set the secret's 'ssl_ca' or the CA_BUNDLE_PATH"
    ):
        factory.connection_params()


def test_ssl_mode_verify_ca_in_the_secret_reaches_libpq_and_anything_weaker_is_refused(pg_tls: PostgresTarget) -> None:
    factory = PostgresConnectionFactory(SecretCache(pg_tls.client), pg_tls.create_secret(ssl_mode="verify-ca"))
    weak = PostgresConnectionFactory(
        SecretCache(pg_tls.client), pg_tls.create_secret("app/test/postgres/weak", ssl_mode="require")
    )

    assert factory.connection_params()["sslmode"] == "verify-ca"
    query_one(factory)
    with pytest.raises(SecretFormatError, match="field 'ssl_mode' must be verify-full or verify-ca"):
        weak.connection_params()
