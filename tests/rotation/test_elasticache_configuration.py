"""What Secrets Manager checks when rotation is turned on without rotating now (the
configuration test: a temporary AWSPENDING that copies AWSCURRENT, then testSecret alone),
and the secret's ``username`` against the user's UserName (AUTH sends the name, not the id).

Emulated: the ElastiCache API (local_servers/elasticache.py). Real: the Valkey node; "nothing
changed" is read from it (its ACL passwords) and from the emulation (no modify accepted).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from lambdas.elasticache_auth_token.handler import lambda_handler as token_handler
from lambdas.elasticache_user.handler import lambda_handler as user_handler
from lambdas.rotation import InvalidSecretError, PendingSecretTestFailedError
from lambdas.targets.elasticache import ElastiCacheStateError
from local_rotation import RotationDriver, stage_empty_pending_version
from local_servers.elasticache import ElastiCacheEmulation
from tests.plugins.elasticache_fixtures import ElastiCacheTarget, RbacUser

HOSTS = pytest.mark.parametrize("host", [True, False], ids=["with-host", "without-host"])


def _event(arn: str, token: str, step: str) -> dict[str, str]:
    return {"SecretId": arn, "ClientRequestToken": token, "Step": step}


def _configuration_test(client: Any, handler: Any, arn: str) -> None:
    """As Secrets Manager runs it: AWSPENDING staged on a copy of AWSCURRENT, testSecret alone."""
    token = str(uuid.uuid4())
    current = client.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"]
    client.put_secret_value(SecretId=arn, ClientRequestToken=token, SecretString=current, VersionStages=["AWSPENDING"])
    handler(_event(arn, token, "testSecret"), None)


def _without_endpoint(host: bool) -> dict[str, Any]:
    return {} if host else {"host": None, "port": None}


# --- the configuration test ----------------------------------------------------------------------


HANDLERS = {"user": user_handler, "group": token_handler}


@HOSTS
def test_a_new_user_or_group_passes_the_configuration_test_and_nothing_changes(
    elasticache_target: ElastiCacheTarget, emulation: ElastiCacheEmulation, host: bool
) -> None:
    target = elasticache_target
    arn = target.create_secret(**_without_endpoint(host))
    hashes = target.node.passwords_of(target.acl_user)

    _configuration_test(target.client, HANDLERS[target.kind], arn)

    assert emulation.accepted(target.kind, target.resource_id) == 0
    assert target.node.passwords_of(target.acl_user) == hashes
    assert len(hashes) == 1  # a new user has one password, a new group one token


@HOSTS
def test_a_rotated_user_passes_the_configuration_test_and_nothing_changes(
    rbac_user: RbacUser, emulation: ElastiCacheEmulation, host: bool
) -> None:
    arn = rbac_user.create_secret(**_without_endpoint(host))
    RotationDriver(user_handler).rotate(arn)
    hashes = rbac_user.node.passwords_of(rbac_user.username)

    _configuration_test(rbac_user.client, user_handler, arn)

    assert emulation.accepted("user", rbac_user.user_id) == 1  # the rotation's, none since
    assert rbac_user.node.passwords_of(rbac_user.username) == hashes


BEFORE_SET_SECRET = {
    "user": "ElastiCache user {id!r} is active with 1 password(s); expected at least 2",
    "group": "ElastiCache replication group {id!r}: its AUTH token was last modified before",
}


def test_without_host_a_test_secret_before_set_secret_fails_naming_the_resource(
    elasticache_target: ElastiCacheTarget,
) -> None:
    target, handler = elasticache_target, HANDLERS[elasticache_target.kind]
    arn = target.create_secret(host=None, port=None)
    token = str(uuid.uuid4())
    stage_empty_pending_version(arn, token)
    handler(_event(arn, token, "createSecret"), None)

    expected = BEFORE_SET_SECRET[target.kind].format(id=target.resource_id)
    with pytest.raises(PendingSecretTestFailedError, match=re.escape(expected)):
        handler(_event(arn, token, "testSecret"), None)


# --- username is the UserName --------------------------------------------------------------------


def _name_error(user: RbacUser, got: str) -> str:
    return (
        f"field 'username' must be the UserName of the ElastiCache user in 'user_arn' (user {user.user_id!r} "
        f"has UserName {user.username!r}), got {got!r}: clients AUTH with the UserName, not the UserId"
    )


@HOSTS
def test_a_username_that_is_the_user_id_fails_set_secret_naming_both_fields_and_nothing_changes(
    rbac_user: RbacUser, emulation: ElastiCacheEmulation, host: bool
) -> None:
    assert rbac_user.user_id != rbac_user.username  # the emulation models a name that is not the id
    arn = rbac_user.create_secret(username=rbac_user.user_id, **_without_endpoint(host))
    token = str(uuid.uuid4())
    stage_empty_pending_version(arn, token)
    user_handler(_event(arn, token, "createSecret"), None)

    with pytest.raises(InvalidSecretError, match=re.escape(_name_error(rbac_user, rbac_user.user_id))):
        user_handler(_event(arn, token, "setSecret"), None)

    assert emulation.accepted("user", rbac_user.user_id) == 0
    assert rbac_user.node.authenticates(rbac_user.username, rbac_user.password)


@HOSTS
def test_the_configuration_test_names_a_username_that_is_not_the_user_name(
    rbac_user: RbacUser, emulation: ElastiCacheEmulation, host: bool
) -> None:
    arn = rbac_user.create_secret(username="someone_else", **_without_endpoint(host))

    with pytest.raises(InvalidSecretError, match=re.escape(_name_error(rbac_user, "someone_else"))):
        _configuration_test(rbac_user.client, user_handler, arn)

    assert emulation.accepted("user", rbac_user.user_id) == 0


def test_a_user_without_passwords_is_named_and_not_modified(
    rbac_user: RbacUser, emulation: ElastiCacheEmulation, elasticache: Any
) -> None:
    elasticache.create_user(UserId="open-user", UserName="open_user", Engine="redis", NoPasswordRequired=True,
                            AccessString="on ~* +@all")  # fmt: skip
    arn = rbac_user.create_secret(user_arn=rbac_user.user_arn.replace(rbac_user.user_id, "open-user"),
                                  username="open_user")  # fmt: skip
    token = str(uuid.uuid4())
    stage_empty_pending_version(arn, token)
    user_handler(_event(arn, token, "createSecret"), None)

    expected = "ElastiCache user 'open-user' authenticates with 'no-password'; expected 'password'"
    with pytest.raises(ElastiCacheStateError, match=re.escape(expected)):
        user_handler(_event(arn, token, "setSecret"), None)

    assert emulation.accepted("user", "open-user") == 0
    assert elasticache.describe_users(UserId="open-user")["Users"][0]["Authentication"]["Type"] == "no-password"


def test_without_host_the_configuration_test_of_a_resource_stuck_modifying_names_it(
    elasticache_target: ElastiCacheTarget, emulation: ElastiCacheEmulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = elasticache_target
    monkeypatch.setenv("ELASTICACHE_WAIT_SECONDS", "0.2")
    arn = target.create_secret(host=None, port=None)
    emulation.begin_other_change(target.kind, target.resource_id, describes=None)

    expected = (
        f"ElastiCache {target.noun} {target.resource_id!r} is still 'modifying' after 0.2 s "
        f"(ELASTICACHE_WAIT_SECONDS); expected {target.settled!r} to test AWSPENDING against the API"
    )
    with pytest.raises(ElastiCacheStateError, match=re.escape(expected)):
        _configuration_test(target.client, HANDLERS[target.kind], arn)

    assert emulation.accepted(target.kind, target.resource_id) == 0
