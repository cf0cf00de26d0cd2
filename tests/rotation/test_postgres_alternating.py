"""PostgreSQL alternating-users rotation against a real server (AWS APIs: moto; the database: real).

The admin in these tests has CREATEROLE and is not a superuser, as on RDS.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest

from lambdas.postgres_alternating.handler import lambda_handler
from lambdas.rotation import InvalidSecretError, TargetAuthenticationError
from lambdas.targets.postgres import PostgresPrivilegeError, PostgresRoleMissingError
from local_rotation import RotationDriver, stage_empty_pending_version
from local_servers.postgres import PostgresServer
from tests.conftest import stage_value, stages_by_version
from tests.plugins.leak_guard import LeakGuard
from tests.plugins.postgres_fixtures import PostgresTarget, make_target
from tests.rotation.scenarios import outcomes_during_rotations, rotate_running_a_step_twice, rotate_with_failing_step

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


def _event(arn: str, token: str, step: str) -> dict[str, str]:
    return {"SecretId": arn, "ClientRequestToken": token, "Step": step}


def _query(pg: PostgresTarget, value: dict[str, Any], statement: str) -> list[tuple[Any, ...]]:
    connection = pg.server.connect(value["username"], value["password"])
    try:
        with connection.cursor() as cursor:
            cursor.execute(statement)
            return list(cursor.fetchall()) if cursor.description else []
    finally:
        connection.close()


def test_four_rotations_alternate_roles_and_keep_current_and_previous_working(pg: PostgresTarget) -> None:
    arn = pg.create_secret()
    driver = RotationDriver(lambda_handler)
    usernames = []

    for _ in range(4):
        driver.rotate(arn)

        current = stage_value(pg.client, arn, "AWSCURRENT")
        previous = stage_value(pg.client, arn, "AWSPREVIOUS")
        usernames.append(current["username"])
        assert pg.logs_in(current)
        assert pg.logs_in(previous)
        assert {current["username"], previous["username"]} == {pg.role, f"{pg.role}_clone"}

    assert usernames == [f"{pg.role}_clone", pg.role, f"{pg.role}_clone", pg.role]


def test_both_twins_use_objects_owned_by_the_original_and_created_by_either(pg: PostgresTarget) -> None:
    original = {"username": pg.role, "password": pg.password}
    _query(pg, original, "CREATE TABLE before_rotation (id serial PRIMARY KEY, note text)")
    arn = pg.create_secret()
    driver = RotationDriver(lambda_handler)
    driver.rotate(arn)  # AWSCURRENT is now the clone
    clone = stage_value(pg.client, arn, "AWSCURRENT")
    _query(pg, clone, "CREATE TABLE made_by_clone (id serial PRIMARY KEY, note text)")
    driver.rotate(arn)  # AWSCURRENT is the original again, with a new password
    base = stage_value(pg.client, arn, "AWSCURRENT")
    _query(pg, base, "CREATE TABLE made_by_original_later (id serial PRIMARY KEY, note text)")

    for table in ("before_rotation", "made_by_clone", "made_by_original_later"):
        for who in (clone, base):
            _query(pg, who, f"INSERT INTO {table} (note) VALUES ('x')")  # uses the sequence too
            _query(pg, who, f"UPDATE {table} SET note = 'y'")
            assert _query(pg, who, f"SELECT count(*) FROM {table}")[0][0] >= 1
            _query(pg, who, f"DELETE FROM {table} WHERE id < 0")
    owners = _query(
        pg, base, "SELECT DISTINCT tableowner FROM pg_tables WHERE tablename IN "
        "('before_rotation', 'made_by_clone', 'made_by_original_later')",
    )  # fmt: skip
    assert owners == [(pg.role,)]
    assert _query(pg, clone, "SELECT session_user, current_user") == [(f"{pg.role}_clone", pg.role)]


@pytest.mark.parametrize("step", STEPS)
def test_every_step_can_be_retried(pg: PostgresTarget, step: str) -> None:
    arn = pg.create_secret()
    token = rotate_running_a_step_twice(lambda_handler, arn, step)

    assert "AWSCURRENT" in stages_by_version(pg.client, arn)[token]
    assert pg.logs_in(stage_value(pg.client, arn, "AWSCURRENT"))
    assert pg.logs_in(stage_value(pg.client, arn, "AWSPREVIOUS"))


@pytest.mark.parametrize("failing_step", ["testSecret", "finishSecret"])
def test_a_fault_after_set_or_test_keeps_awscurrent_working_and_the_retry_completes(
    pg: PostgresTarget, failing_step: str
) -> None:
    arn = pg.create_secret()

    rotate_with_failing_step(lambda_handler, arn, failing_step)
    assert pg.logs_in(stage_value(pg.client, arn, "AWSCURRENT"))

    retried = RotationDriver(lambda_handler).rotate(arn)

    assert retried.resumed
    assert pg.logs_in(stage_value(pg.client, arn, "AWSCURRENT"))
    assert pg.logs_in(stage_value(pg.client, arn, "AWSPREVIOUS"))


def test_a_client_that_keeps_connecting_with_awscurrent_never_fails_during_rotations(pg: PostgresTarget) -> None:
    arn = pg.create_secret()

    attempts = outcomes_during_rotations(lambda_handler, pg.client, arn, pg.logs_in)

    assert attempts
    assert all(attempts), f"{attempts.count(False)} of {len(attempts)} connections failed"


def test_missing_masterarn_fails_create_naming_it(pg: PostgresTarget) -> None:
    arn = pg.create_secret(masterarn=None)
    token = str(uuid.uuid4())
    stage_empty_pending_version(arn, token)

    with pytest.raises(InvalidSecretError, match=re.escape("(AWSCURRENT): field 'masterarn' must be a non-empty")):
        lambda_handler(_event(arn, token, "createSecret"), None)


def test_base_name_too_long_for_the_clone_suffix_is_rejected_at_create(pg: PostgresTarget) -> None:
    arn = pg.create_secret(username="a" * 58)
    token = str(uuid.uuid4())
    stage_empty_pending_version(arn, token)

    with pytest.raises(InvalidSecretError, match="base name must be at most 57 bytes"):
        lambda_handler(_event(arn, token, "createSecret"), None)


def _set_secret_error(pg: PostgresTarget, arn: str) -> tuple[type[Exception], str]:
    token = str(uuid.uuid4())
    stage_empty_pending_version(arn, token)
    lambda_handler(_event(arn, token, "createSecret"), None)
    with pytest.raises(Exception) as caught:  # noqa: PT011 - each caller checks the type
        lambda_handler(_event(arn, token, "setSecret"), None)
    return type(caught.value), str(caught.value)


def test_wrong_admin_password_is_named_and_nothing_changes(pg: PostgresTarget) -> None:
    pg.client.put_secret_value(
        SecretId=pg.admin_arn, SecretString=json.dumps({"username": pg.admin_user, "password": "wrong-admin-password"})
    )
    arn = pg.create_secret()

    error, message = _set_secret_error(pg, arn)

    assert error is TargetAuthenticationError
    assert f"rejected the credentials of role '{pg.admin_user}'" in message
    assert not pg.server.execute_as_admin("SELECT 1 FROM pg_roles WHERE rolname = %s", (f"{pg.role}_clone",))
    assert pg.logs_in(stage_value(pg.client, arn, "AWSCURRENT"))


def test_missing_role_is_named(pg: PostgresTarget) -> None:
    arn = pg.create_secret(username="nobody_here")

    error, message = _set_secret_error(pg, arn)

    assert error is PostgresRoleMissingError
    assert "role 'nobody_here' does not exist" in message


def test_admin_without_createrole_is_named_and_nothing_changes(
    postgres_server: PostgresServer, secretsmanager: Any, leak_guard: LeakGuard
) -> None:
    pg = make_target(postgres_server, secretsmanager, leak_guard, createrole=False)
    arn = pg.create_secret()

    error, message = _set_secret_error(pg, arn)

    assert error is PostgresPrivilegeError
    assert f"admin role '{pg.admin_user}' lacks CREATEROLE" in message
    assert not pg.server.execute_as_admin("SELECT 1 FROM pg_roles WHERE rolname = %s", (f"{pg.role}_clone",))


@pytest.mark.parametrize("hostile", ['q"uote', "semi;colon", "ünï"])
def test_hostile_role_names_alternate_correctly(pg: PostgresTarget, hostile: str) -> None:
    pg.server.create_role(hostile, pg.password)
    arn = pg.create_secret(name=f"app/test/postgres/alt-{uuid.uuid4().hex[:8]}", username=hostile)
    driver = RotationDriver(lambda_handler)

    driver.rotate(arn)
    driver.rotate(arn)

    assert stage_value(pg.client, arn, "AWSCURRENT")["username"] == hostile
    assert stage_value(pg.client, arn, "AWSPREVIOUS")["username"] == f"{hostile}_clone"
    assert pg.logs_in(stage_value(pg.client, arn, "AWSCURRENT"))
    assert pg.logs_in(stage_value(pg.client, arn, "AWSPREVIOUS"))
