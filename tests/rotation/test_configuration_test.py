"""The configuration test Secrets Manager runs when rotation is turned on without rotating now.

``RotateSecret`` with ``RotateImmediately=false`` (CloudFormation's
``RotateImmediatelyOnUpdate: false``, the CDK app's default): "Secrets Manager tests the
rotation configuration by running the testSecret step of the Lambda rotation function. The
test creates an AWSPENDING version of the secret and then removes it." (RotateSecret API
reference.) The emulated RotateSecret (local_rotation.service_hook) does exactly that, in the
background like the service: a temporary AWSPENDING holding a copy of AWSCURRENT, ``testSecret``
alone, the version removed, and the outcome as the service's ``TestRotation*`` event.

For every kind, a secret whose AWSCURRENT works passes the test, and the test changes nothing:
not the target (passwords, ACLs, ElastiCache state), not the secret's versions.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from lambdas.elasticache_auth_token.handler import lambda_handler as auth_token_handler
from lambdas.elasticache_user.handler import lambda_handler as elasticache_user_handler
from lambdas.hmac_key.handler import lambda_handler as hmac_handler
from lambdas.postgres_alternating.handler import lambda_handler as postgres_alternating_handler
from lambdas.postgres_single.handler import lambda_handler as postgres_single_handler
from lambdas.valkey_acl.handler import lambda_handler as valkey_acl_handler
from local_rotation.service_hook import register_rotation_function, service_events, wait_for_rotations
from local_servers.valkey import ValkeyServer
from tests.conftest import SecretFactory, stages_by_version
from tests.plugins.elasticache_fixtures import AuthTokenGroup, RbacUser
from tests.plugins.postgres_fixtures import PostgresTarget
from tests.plugins.service_fixtures import SERVICE_FUNCTION, RotationService
from tests.plugins.valkey_fixtures import ValkeyTarget

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class Case:
    """A secret of one kind, its function, and how to read its target's state."""

    secret_arn: str
    handler: Handler
    target_state: Callable[[], object]
    authenticates: Callable[[dict[str, Any]], bool]


def _acl(*nodes: ValkeyServer) -> list[object]:
    state: list[object] = []
    for node in nodes:
        admin = node.admin()
        try:
            state.append(sorted(admin.execute_command("ACL", "LIST")))
        finally:
            admin.close()
    return state


def _roles(pg: PostgresTarget) -> list[tuple[Any, ...]]:
    return pg.server.execute_as_admin(
        "SELECT rolname, rolpassword, rolcanlogin FROM pg_authid WHERE rolname IN (%s, %s) ORDER BY 1",
        (pg.role, f"{pg.role}_clone"),
    )


def _elasticache() -> Any:
    return boto3.client("elasticache", region_name="us-east-1")


def _user_state(user: RbacUser) -> object:
    described = _elasticache().describe_users(UserId=user.user_id)["Users"][0]
    return (described["Status"], described["Authentication"], _acl(user.node))


def _group_state(group: AuthTokenGroup) -> object:
    described = _elasticache().describe_replication_groups(ReplicationGroupId=group.group_id)["ReplicationGroups"][0]
    return (described["Status"], described.get("AuthTokenLastModifiedDate"), _acl(group.node))


def hmac_case(request: pytest.FixtureRequest) -> Case:
    create_secret: SecretFactory = request.getfixturevalue("create_secret")
    arn = create_secret("app/test/hmac/config-test", {"key": "0b" * 32, "previous_key": "0c" * 32})
    return Case(arn, hmac_handler, lambda: None, lambda value: len(value["key"]) == 64)


def postgres_single_case(request: pytest.FixtureRequest) -> Case:
    pg: PostgresTarget = request.getfixturevalue("pg")
    return Case(pg.create_secret(masterarn=None), postgres_single_handler, lambda: _roles(pg), pg.logs_in)


def postgres_alternating_case(request: pytest.FixtureRequest) -> Case:
    pg: PostgresTarget = request.getfixturevalue("pg")
    return Case(pg.create_secret(), postgres_alternating_handler, lambda: _roles(pg), pg.logs_in)


def valkey_acl_case(request: pytest.FixtureRequest) -> Case:
    vk: ValkeyTarget = request.getfixturevalue("vk")
    return Case(vk.create_secret(), valkey_acl_handler, lambda: _acl(*vk.nodes), vk.authenticates_everywhere)


def elasticache_user_case(request: pytest.FixtureRequest, **overrides: Any) -> Case:
    user: RbacUser = request.getfixturevalue("rbac_user")

    def authenticates(value: dict[str, Any]) -> bool:
        return user.node.authenticates(value["username"], value["password"])

    return Case(user.create_secret(**overrides), elasticache_user_handler, lambda: _user_state(user), authenticates)


def auth_token_case(request: pytest.FixtureRequest, **overrides: Any) -> Case:
    group: AuthTokenGroup = request.getfixturevalue("auth_group")

    def authenticates(value: dict[str, Any]) -> bool:
        return group.node.authenticates("default", value["auth_token"])

    return Case(group.create_secret(**overrides), auth_token_handler, lambda: _group_state(group), authenticates)


CASES: dict[str, Callable[[pytest.FixtureRequest], Case]] = {
    "hmac_key": hmac_case,
    "postgres_single": postgres_single_case,
    "postgres_alternating": postgres_alternating_case,
    "valkey_acl": valkey_acl_case,
    "elasticache_user": elasticache_user_case,
    "elasticache_user_without_host": lambda request: elasticache_user_case(request, host=None, port=None),
    "elasticache_auth_token": auth_token_case,
    "elasticache_auth_token_without_host": lambda request: auth_token_case(request, host=None, port=None),
}


def _current(client: Any, arn: str) -> dict[str, Any]:
    return dict(json.loads(client.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"]))


@pytest.mark.integration
@pytest.mark.parametrize("kind", list(CASES))
def test_a_working_secret_passes_the_configuration_test_and_nothing_changes(
    kind: str, request: pytest.FixtureRequest, rotation_service: RotationService, secretsmanager: Any
) -> None:
    case = CASES[kind](request)
    versions_before, state_before = stages_by_version(secretsmanager, case.secret_arn), case.target_state()

    events = rotation_service.turn_on_rotation(case.secret_arn, case.handler, rotate_immediately=False)

    assert events == ["TestRotationStarted", "TestRotationSucceeded"]
    assert stages_by_version(secretsmanager, case.secret_arn) == versions_before  # the test version is gone
    assert case.target_state() == state_before
    assert case.authenticates(_current(secretsmanager, case.secret_arn))
    assert secretsmanager.describe_secret(SecretId=case.secret_arn)["RotationEnabled"] is True


@pytest.mark.integration
@pytest.mark.parametrize("kind", ["postgres_alternating", "valkey_acl", "elasticache_user", "elasticache_auth_token"])
def test_a_secret_whose_current_value_does_not_authenticate_fails_the_configuration_test_and_nothing_changes(
    kind: str, request: pytest.FixtureRequest, rotation_service: RotationService, secretsmanager: Any
) -> None:
    case = CASES[kind](request)
    value = _current(secretsmanager, case.secret_arn)
    field = "auth_token" if "auth_token" in value else "password"
    secretsmanager.put_secret_value(SecretId=case.secret_arn, SecretString=json.dumps({**value, field: "Wrong0" * 4}))
    versions_before, state_before = stages_by_version(secretsmanager, case.secret_arn), case.target_state()

    events = rotation_service.turn_on_rotation(case.secret_arn, case.handler, rotate_immediately=False)

    assert events == ["TestRotationStarted", "TestRotationFailed"]
    assert stages_by_version(secretsmanager, case.secret_arn) == versions_before  # no AWSPENDING left behind
    assert case.target_state() == state_before


def test_the_emulated_service_runs_test_secret_alone_on_a_temporary_copy_of_awscurrent(
    rotation_service: RotationService, secretsmanager: Any, create_secret: SecretFactory
) -> None:
    arn = create_secret("app/test/hmac/config-test-spy", {"key": "0d" * 32})
    current = secretsmanager.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")
    seen: list[tuple[str, list[str], str]] = []

    def spy(event: dict[str, Any], context: Any) -> None:
        token = event["ClientRequestToken"]
        pending = secretsmanager.get_secret_value(SecretId=arn, VersionStage="AWSPENDING")
        seen.append((event["Step"], stages_by_version(secretsmanager, arn)[token], pending["SecretString"]))
        assert pending["VersionId"] == token

    register_rotation_function(SERVICE_FUNCTION, spy)
    secretsmanager.rotate_secret(
        SecretId=arn,
        RotationLambdaARN=SERVICE_FUNCTION,
        RotationRules={"AutomaticallyAfterDays": 30},
        RotateImmediately=False,
    )
    assert wait_for_rotations(60)

    assert seen == [("testSecret", ["AWSPENDING"], current["SecretString"])]
    assert stages_by_version(secretsmanager, arn) == {current["VersionId"]: ["AWSCURRENT"]}
    assert [event["eventName"] for event in service_events(arn)] == ["TestRotationStarted", "TestRotationSucceeded"]
