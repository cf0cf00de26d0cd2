"""redis-py CredentialProvider against real Valkey nodes (AWS APIs: moto, ElastiCache's control
plane emulated by local_servers/elasticache.py; rotations: the real functions): new connections
use AWSCURRENT, and on AuthenticationError refresh once and retry the new AWSCURRENT, then
AWSPREVIOUS, then AWSPENDING."""

from __future__ import annotations

from typing import Any

import pytest

from lambdas.elasticache_auth_token.handler import lambda_handler as token_handler
from lambdas.valkey_acl.handler import lambda_handler as acl_handler
from local_rotation import RotationDriver
from secret_rotation_kit import CredentialsRejectedError, SecretCache, SecretFormatError, SecretNotFoundError
from secret_rotation_kit.redis import RotatingCredentialProvider
from tests.client.app_loop import serve_through_rotations
from tests.client.fakes import FakeClock
from tests.conftest import stage_value
from tests.plugins.elasticache_fixtures import AuthTokenGroup
from tests.plugins.valkey_fixtures import ValkeyTarget

ROTATIONS = 20


def cold_cache(client: Any) -> SecretCache:
    """Only a rejected AUTH makes this cache read Secrets Manager again."""
    return SecretCache(client, ttl=10**6, version_check_interval=10**6)


def new_connection_request(provider: RotatingCredentialProvider) -> None:
    """What a short-lived worker does: a new connection (so a new AUTH), one command."""
    client = provider.client()
    try:
        assert client.set("orders:last", "42")
    finally:
        client.close()


def test_an_app_loop_keeps_serving_through_20_acl_user_rotations_with_one_refresh_per_rotation_at_most(
    vk: ValkeyTarget,
) -> None:
    arn = vk.create_secret()
    cache = cold_cache(vk.client)
    provider = RotatingCredentialProvider(cache, arn)
    driver = RotationDriver(acl_handler)

    result = serve_through_rotations(lambda: new_connection_request(provider), lambda: driver.rotate(arn), ROTATIONS)

    assert result.failures == []
    assert result.succeeded > ROTATIONS
    assert provider.rejected_logins > 0
    assert 0 < cache.stats.forced_refreshes <= ROTATIONS


def test_a_pooled_client_keeps_serving_through_rotations_as_its_connections_are_replaced(vk: ValkeyTarget) -> None:
    arn = vk.create_secret()
    provider = RotatingCredentialProvider(cold_cache(vk.client), arn)
    pooled = provider.client()
    driver = RotationDriver(acl_handler)

    def request() -> None:
        pooled.connection_pool.disconnect()  # forces a new AUTH on the next command
        assert pooled.incr("orders:count") > 0

    result = serve_through_rotations(request, lambda: driver.rotate(arn), 6, workers=1)
    pooled.close()

    assert result.failures == []


def test_an_app_loop_keeps_serving_through_20_elasticache_auth_token_rotations(auth_group: AuthTokenGroup) -> None:
    arn = auth_group.create_secret()
    provider = RotatingCredentialProvider(
        cold_cache(auth_group.client), arn, username_field=None, password_field="auth_token"
    )
    driver = RotationDriver(token_handler)

    result = serve_through_rotations(lambda: new_connection_request(provider), lambda: driver.rotate(arn), ROTATIONS)

    assert result.failures == []
    assert provider.rejected_logins > 0


def test_a_stale_password_is_replaced_by_one_refresh_and_the_new_awscurrent_authenticates(vk: ValkeyTarget) -> None:
    arn = vk.create_secret()
    cache = SecretCache(vk.client, clock=FakeClock())
    provider = RotatingCredentialProvider(cache, arn)
    new_connection_request(provider)
    driver = RotationDriver(acl_handler)
    driver.rotate(arn)
    driver.rotate(arn)  # the cached AWSCURRENT is two rotations old: removed from every node

    new_connection_request(provider)

    assert provider.rejected_logins == 1
    assert cache.stats.forced_refreshes == 1
    assert provider.get_credentials() == (vk.user, stage_value(vk.client, arn, "AWSCURRENT")["password"])


# --- bad input and failures -----------------------------------------------------------------------


def test_every_stage_rejected_raises_credentials_rejected_naming_host_port_and_secret(vk: ValkeyTarget) -> None:
    arn = vk.create_secret(password="wrong-password-for-this-user")
    provider = RotatingCredentialProvider(SecretCache(vk.client), arn)
    node = vk.nodes[0]

    with pytest.raises(CredentialsRejectedError) as caught:
        new_connection_request(provider)

    assert str(caught.value) == (
        f"Valkey/Redis at {node.host}:{node.port} rejected every staged credential of secret {arn!r} "
        "(AWSCURRENT after a refresh, AWSPREVIOUS, AWSPENDING)"
    )


def test_a_missing_password_field_names_it(vk: ValkeyTarget) -> None:
    arn = vk.create_secret()
    provider = RotatingCredentialProvider(SecretCache(vk.client), arn, password_field="auth_token")

    with pytest.raises(SecretFormatError, match=r"field 'auth_token' must be a non-empty string, but is missing"):
        provider.get_credentials()


def test_an_unknown_secret_raises_secret_not_found(vk: ValkeyTarget) -> None:
    provider = RotatingCredentialProvider(SecretCache(vk.client), "app/test/valkey/none")

    with pytest.raises(SecretNotFoundError, match="'app/test/valkey/none' was not found"):
        provider.client()
