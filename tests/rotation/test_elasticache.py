"""ElastiCache RBAC user and AUTH token rotation.

Emulated: the ElastiCache API (moto made as strict as the service by
local_servers/elasticache.py: ModifyUser, the AUTH-token part of ModifyReplicationGroup,
the modifying state and the parameter rules). Real: the Valkey node those calls change,
against which testSecret and these tests authenticate.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from lambdas.elasticache_auth_token.handler import lambda_handler as token_handler
from lambdas.elasticache_user.handler import lambda_handler as user_handler
from lambdas.rotation import InvalidSecretError
from lambdas.targets.elasticache import AUTH_TOKEN_RULE, RBAC_PASSWORD_RULE, ElastiCacheStateError
from local_rotation import RotationDriver, stage_empty_pending_version
from local_servers.elasticache import ElastiCacheEmulation
from tests.conftest import stage_value, stages_by_version
from tests.plugins.elasticache_fixtures import AuthTokenGroup, RbacUser, until_settled
from tests.rotation.scenarios import outcomes_during_rotations, rotate_running_a_step_twice, rotate_with_failing_step

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


def _event(arn: str, token: str, step: str) -> dict[str, str]:
    return {"SecretId": arn, "ClientRequestToken": token, "Step": step}


def _user_ok(user: RbacUser, value: dict[str, Any]) -> bool:
    return user.node.authenticates(value["username"], value["password"])


def _token_ok(group: AuthTokenGroup, value: dict[str, Any]) -> bool:
    return group.node.authenticates("default", value["auth_token"])


# --- RBAC users --------------------------------------------------------------------------------


def test_user_rotations_keep_current_and_previous_and_reject_older(rbac_user: RbacUser) -> None:
    arn = rbac_user.create_secret()
    driver = RotationDriver(user_handler)
    seen = [stage_value(rbac_user.client, arn, "AWSCURRENT")]

    for _ in range(3):
        driver.rotate(arn)
        seen.append(stage_value(rbac_user.client, arn, "AWSCURRENT"))

        assert _user_ok(rbac_user, seen[-1])
        assert _user_ok(rbac_user, seen[-2])
    assert not _user_ok(rbac_user, seen[0])
    assert not _user_ok(rbac_user, seen[1])


def test_generated_user_password_follows_elasticache_rules(rbac_user: RbacUser) -> None:
    arn = rbac_user.create_secret()

    RotationDriver(user_handler).rotate(arn)

    password = stage_value(rbac_user.client, arn, "AWSCURRENT")["password"]
    assert 16 <= len(password) <= 128
    assert not set(password) & set(',"/@ ')


def test_a_user_password_with_punctuation_rbac_allows_rotates(rbac_user: RbacUser, elasticache: Any) -> None:
    dotted = "dots.and_underscores-are-fine"
    elasticache.modify_user(UserId=rbac_user.user_id, Passwords=[dotted])
    until_settled(lambda: elasticache.describe_users(UserId=rbac_user.user_id)["Users"][0])
    arn = rbac_user.create_secret(password=dotted)

    assert RotationDriver(user_handler).rotate(arn).succeeded
    assert _user_ok(rbac_user, stage_value(rbac_user.client, arn, "AWSPREVIOUS"))


def test_user_without_host_is_tested_through_the_api_state(rbac_user: RbacUser) -> None:
    arn = rbac_user.create_secret(host=None, port=None)

    report = RotationDriver(user_handler).rotate(arn)

    assert report.succeeded
    assert _user_ok(rbac_user, stage_value(rbac_user.client, arn, "AWSCURRENT"))


@pytest.mark.parametrize("step", STEPS)
def test_every_user_step_can_be_retried(rbac_user: RbacUser, step: str) -> None:
    arn = rbac_user.create_secret()
    token = rotate_running_a_step_twice(user_handler, arn, step)

    assert "AWSCURRENT" in stages_by_version(rbac_user.client, arn)[token]
    assert _user_ok(rbac_user, stage_value(rbac_user.client, arn, "AWSCURRENT"))
    assert _user_ok(rbac_user, stage_value(rbac_user.client, arn, "AWSPREVIOUS"))


def test_a_fault_after_set_secret_keeps_the_user_working_and_the_retry_completes(rbac_user: RbacUser) -> None:
    arn = rbac_user.create_secret()

    rotate_with_failing_step(user_handler, arn, "testSecret")
    assert _user_ok(rbac_user, stage_value(rbac_user.client, arn, "AWSCURRENT"))

    assert RotationDriver(user_handler).rotate(arn).resumed
    assert _user_ok(rbac_user, stage_value(rbac_user.client, arn, "AWSCURRENT"))
    assert _user_ok(rbac_user, stage_value(rbac_user.client, arn, "AWSPREVIOUS"))


@pytest.mark.parametrize(
    ("overrides", "field", "expected"),
    [
        ({"user_arn": None}, "user_arn", "must be a non-empty string, is missing"),
        ({"user_arn": "arn:aws:iam::1:user/x"}, "user_arn", "must be an ElastiCache user ARN"),
        ({"user_arn": "arn:aws:elasticache:us-east-1:1:user:9-digit-first"}, "user_arn", "must end in a user id"),
        ({"username": None}, "username", "must be a non-empty string, is missing"),
        ({"password": None}, "password", "must be a non-empty string, is missing"),
        ({"password": "has@sign-but-long-enough"}, "password", RBAC_PASSWORD_RULE.description),
        ({"password": "has a space-but-long-enough"}, "password", RBAC_PASSWORD_RULE.description),
        ({"password": "short"}, "password", RBAC_PASSWORD_RULE.description),
        ({"port": 0}, "port", "must be a port number between 1 and 65535"),
    ],
)
def test_bad_user_secret_fails_create_naming_the_field(
    rbac_user: RbacUser, overrides: dict[str, Any], field: str, expected: str
) -> None:
    arn = rbac_user.create_secret(**overrides)
    token = str(uuid.uuid4())
    stage_empty_pending_version(arn, token)

    with pytest.raises(InvalidSecretError, match=re.escape(f"(AWSCURRENT): field '{field}' {expected}")):
        user_handler(_event(arn, token, "createSecret"), None)

    assert rbac_user.node.authenticates(rbac_user.username, rbac_user.password)


# --- AUTH tokens -------------------------------------------------------------------------------


def test_token_rotations_keep_current_and_previous_and_reject_older(auth_group: AuthTokenGroup) -> None:
    arn = auth_group.create_secret()
    driver = RotationDriver(token_handler)
    seen = [stage_value(auth_group.client, arn, "AWSCURRENT")]

    for _ in range(3):
        driver.rotate(arn)
        seen.append(stage_value(auth_group.client, arn, "AWSCURRENT"))

        assert _token_ok(auth_group, seen[-1])
        assert _token_ok(auth_group, seen[-2])
    assert not _token_ok(auth_group, seen[0])


def test_a_retried_set_secret_never_rotates_twice(auth_group: AuthTokenGroup, emulation: ElastiCacheEmulation) -> None:
    arn = auth_group.create_secret()
    token = str(uuid.uuid4())
    stage_empty_pending_version(arn, token)
    token_handler(_event(arn, token, "createSecret"), None)

    for _ in range(3):
        token_handler(_event(arn, token, "setSecret"), None)

    assert emulation.modify_calls[f"group:{auth_group.group_id}"] == 1
    assert _token_ok(auth_group, stage_value(auth_group.client, arn, "AWSCURRENT"))


def test_without_host_a_retried_set_secret_never_rotates_twice(
    auth_group: AuthTokenGroup, emulation: ElastiCacheEmulation
) -> None:
    arn = auth_group.create_secret(host=None, port=None)
    token = str(uuid.uuid4())
    stage_empty_pending_version(arn, token)
    token_handler(_event(arn, token, "createSecret"), None)

    token_handler(_event(arn, token, "setSecret"), None)
    token_handler(_event(arn, token, "setSecret"), None)

    assert emulation.modify_calls[f"group:{auth_group.group_id}"] == 1
    assert _token_ok(auth_group, stage_value(auth_group.client, arn, "AWSCURRENT"))


@pytest.mark.parametrize("step", STEPS)
def test_every_token_step_can_be_retried(auth_group: AuthTokenGroup, step: str) -> None:
    arn = auth_group.create_secret()
    token = rotate_running_a_step_twice(token_handler, arn, step)

    assert "AWSCURRENT" in stages_by_version(auth_group.client, arn)[token]
    assert _token_ok(auth_group, stage_value(auth_group.client, arn, "AWSCURRENT"))
    assert _token_ok(auth_group, stage_value(auth_group.client, arn, "AWSPREVIOUS"))


def test_a_client_that_keeps_authenticating_with_the_current_token_never_fails(auth_group: AuthTokenGroup) -> None:
    arn = auth_group.create_secret()

    results = outcomes_during_rotations(
        token_handler, auth_group.client, arn, lambda value: _token_ok(auth_group, value), rotations=3
    )

    assert results
    assert all(results), f"{results.count(False)} of {len(results)} authentications failed"


def test_group_without_transit_encryption_is_named_and_nothing_changes(
    auth_group: AuthTokenGroup, elasticache: Any, emulation: ElastiCacheEmulation
) -> None:
    elasticache.create_replication_group(
        ReplicationGroupId="plain-cache", ReplicationGroupDescription="no TLS", Engine="redis",
        TransitEncryptionEnabled=False,
    )  # fmt: skip
    arn = auth_group.create_secret(replication_group_id="plain-cache")
    token = str(uuid.uuid4())
    stage_empty_pending_version(arn, token)
    token_handler(_event(arn, token, "createSecret"), None)

    with pytest.raises(ElastiCacheStateError, match="'plain-cache' has TransitEncryptionEnabled false"):
        token_handler(_event(arn, token, "setSecret"), None)

    assert "group:plain-cache" not in emulation.modify_calls


def test_unknown_replication_group_is_named(auth_group: AuthTokenGroup) -> None:
    arn = auth_group.create_secret(replication_group_id="no-such-group")
    token = str(uuid.uuid4())
    stage_empty_pending_version(arn, token)
    token_handler(_event(arn, token, "createSecret"), None)

    with pytest.raises(ElastiCacheStateError, match="replication group 'no-such-group'"):
        token_handler(_event(arn, token, "setSecret"), None)


@pytest.mark.parametrize(
    ("overrides", "field", "expected"),
    [
        ({"replication_group_id": None}, "replication_group_id", "must be a non-empty string, is missing"),
        ({"auth_token": None}, "auth_token", "must be a non-empty string, is missing"),
        ({"auth_token": 'quote"in-a-long-token'}, "auth_token", AUTH_TOKEN_RULE.description),
        ({"auth_token": "has.dot-in-a-long-token"}, "auth_token", AUTH_TOKEN_RULE.description),
        ({"auth_token": "has_underscore-long-token"}, "auth_token", AUTH_TOKEN_RULE.description),
        ({"auth_token": "short-token"}, "auth_token", AUTH_TOKEN_RULE.description),
    ],
)
def test_bad_token_secret_fails_create_naming_the_field(
    auth_group: AuthTokenGroup, overrides: dict[str, Any], field: str, expected: str
) -> None:
    arn = auth_group.create_secret(**overrides)
    token = str(uuid.uuid4())
    stage_empty_pending_version(arn, token)

    with pytest.raises(InvalidSecretError, match=re.escape(f"(AWSCURRENT): field '{field}' {expected}")):
        token_handler(_event(arn, token, "createSecret"), None)

    assert auth_group.node.authenticates("default", auth_group.token)
