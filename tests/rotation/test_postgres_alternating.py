"""PostgreSQL alternating-users rotation against real servers (AWS APIs: moto; the database: real).

The admin in these tests has CREATEROLE and is not a superuser, as on RDS; on 16+ it also holds
ADMIN OPTION on the role (docs/postgres.md), except where a test takes it away. Tests taking
``pg_major`` run on every supported major (15 to 18).
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
from lambdas.targets.postgres_roles import PostgresAdminOptionError
from local_rotation import RotationDriver, stage_empty_pending_version
from local_servers.postgres import ADMIN_OPTION_SINCE, PostgresServer
from local_servers.postgres_installs import SUPPORTED_MAJORS
from tests.conftest import stage_value, stages_by_version
from tests.plugins.leak_guard import LeakGuard
from tests.plugins.postgres_fixtures import PostgresFleet, PostgresTarget, make_target
from tests.rotation.scenarios import outcomes_during_rotations, rotate_running_a_step_twice, rotate_with_failing_step

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
ADMIN_OPTION_MAJORS = [major for major in SUPPORTED_MAJORS if major >= ADMIN_OPTION_SINCE]


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


def test_four_rotations_alternate_roles_and_keep_current_and_previous_working(pg_major: PostgresTarget) -> None:
    arn = pg_major.create_secret()
    driver = RotationDriver(lambda_handler)
    usernames = []

    for _ in range(4):
        driver.rotate(arn)

        current = stage_value(pg_major.client, arn, "AWSCURRENT")
        previous = stage_value(pg_major.client, arn, "AWSPREVIOUS")
        usernames.append(current["username"])
        assert pg_major.logs_in(current)
        assert pg_major.logs_in(previous)
        assert {current["username"], previous["username"]} == {pg_major.role, f"{pg_major.role}_clone"}

    assert usernames == [f"{pg_major.role}_clone", pg_major.role, f"{pg_major.role}_clone", pg_major.role]


def test_both_twins_use_objects_owned_by_the_original_and_created_by_either(pg_major: PostgresTarget) -> None:
    original = {"username": pg_major.role, "password": pg_major.password}
    _query(pg_major, original, "CREATE TABLE before_rotation (id serial PRIMARY KEY, note text)")
    arn = pg_major.create_secret()
    driver = RotationDriver(lambda_handler)
    driver.rotate(arn)  # AWSCURRENT is now the clone
    clone = stage_value(pg_major.client, arn, "AWSCURRENT")
    _query(pg_major, clone, "CREATE TABLE made_by_clone (id serial PRIMARY KEY, note text)")
    driver.rotate(arn)  # AWSCURRENT is the original again, with a new password
    base = stage_value(pg_major.client, arn, "AWSCURRENT")
    _query(pg_major, base, "CREATE TABLE made_by_original_later (id serial PRIMARY KEY, note text)")

    for table in ("before_rotation", "made_by_clone", "made_by_original_later"):
        for who in (clone, base):
            _query(pg_major, who, f"INSERT INTO {table} (note) VALUES ('x')")  # uses the sequence too
            _query(pg_major, who, f"UPDATE {table} SET note = 'y'")
            assert _query(pg_major, who, f"SELECT count(*) FROM {table}")[0][0] >= 1
            _query(pg_major, who, f"DELETE FROM {table} WHERE id < 0")
    owners = _query(
        pg_major, base, "SELECT DISTINCT tableowner FROM pg_tables WHERE tablename IN "
        "('before_rotation', 'made_by_clone', 'made_by_original_later')",
    )  # fmt: skip
    assert owners == [(pg_major.role,)]
    assert _query(pg_major, clone, "SELECT session_user, current_user") == [(f"{pg_major.role}_clone", pg_major.role)]


@pytest.mark.parametrize("step", STEPS)
def test_every_step_can_be_retried(pg_major: PostgresTarget, step: str) -> None:
    arn = pg_major.create_secret()
    token = rotate_running_a_step_twice(lambda_handler, arn, step)

    assert "AWSCURRENT" in stages_by_version(pg_major.client, arn)[token]
    assert pg_major.logs_in(stage_value(pg_major.client, arn, "AWSCURRENT"))
    assert pg_major.logs_in(stage_value(pg_major.client, arn, "AWSPREVIOUS"))


@pytest.mark.parametrize("failing_step", ["testSecret", "finishSecret"])
def test_a_fault_after_set_or_test_keeps_awscurrent_working_and_the_retry_completes(
    pg_major: PostgresTarget, failing_step: str
) -> None:
    arn = pg_major.create_secret()

    rotate_with_failing_step(lambda_handler, arn, failing_step)
    assert pg_major.logs_in(stage_value(pg_major.client, arn, "AWSCURRENT"))

    retried = RotationDriver(lambda_handler).rotate(arn)

    assert retried.resumed
    assert pg_major.logs_in(stage_value(pg_major.client, arn, "AWSCURRENT"))
    assert pg_major.logs_in(stage_value(pg_major.client, arn, "AWSPREVIOUS"))


def test_a_client_that_keeps_connecting_with_awscurrent_never_fails_during_rotations(pg_major: PostgresTarget) -> None:
    arn = pg_major.create_secret()

    attempts = outcomes_during_rotations(lambda_handler, pg_major.client, arn, pg_major.logs_in)

    assert attempts
    assert all(attempts), f"{attempts.count(False)} of {len(attempts)} connections failed"


def test_missing_masterarn_fails_create_naming_it(pg: PostgresTarget) -> None:
    arn = pg.create_secret(masterarn=None)
    token = str(uuid.uuid4())
    stage_empty_pending_version(arn, token)

    with pytest.raises(InvalidSecretError, match=re.escape("(AWSCURRENT): field 'masterarn' must be a non-empty")):
        lambda_handler(_event(arn, token, "createSecret"), None)


@pytest.mark.parametrize(
    ("username", "expected"),
    [
        ("a" * 58, "base name must be at most 57 bytes"),
        ("_clone", "must have a base name before '_clone': its twin would be the empty role name"),
    ],
    ids=["too_long_for_the_clone_suffix", "no_base_name"],
)
def test_a_username_without_a_usable_twin_is_rejected_at_create(
    pg: PostgresTarget, username: str, expected: str
) -> None:
    arn = pg.create_secret(username=username)
    token = str(uuid.uuid4())
    stage_empty_pending_version(arn, token)

    with pytest.raises(InvalidSecretError, match=re.escape(f"field 'username' {expected}")):
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
    postgres_major_server: PostgresServer, secretsmanager: Any, leak_guard: LeakGuard
) -> None:
    pg = make_target(postgres_major_server, secretsmanager, leak_guard, createrole=False)
    arn = pg.create_secret()
    before = pg.role_state()

    error, message = _set_secret_error(pg, arn)

    assert error is PostgresPrivilegeError
    assert f"admin role '{pg.admin_user}' lacks CREATEROLE" in message
    assert pg.role_state() == before


def test_on_postgres_15_createrole_alone_is_enough(
    postgres_fleet: PostgresFleet, secretsmanager: Any, leak_guard: LeakGuard
) -> None:
    pg = make_target(postgres_fleet.server(15), secretsmanager, leak_guard, admin_option=False)
    arn = pg.create_secret()
    driver = RotationDriver(lambda_handler)

    driver.rotate(arn)  # changes the clone, made by the admin
    driver.rotate(arn)  # changes the original, made by someone else

    assert pg.logs_in(stage_value(pg.client, arn, "AWSCURRENT"))
    assert pg.logs_in(stage_value(pg.client, arn, "AWSPREVIOUS"))


def _grant(role: str, admin: str) -> str:
    return f'GRANT "{role}" TO "{admin}" WITH ADMIN OPTION, INHERIT FALSE, SET FALSE'


@pytest.mark.parametrize("major", ADMIN_OPTION_MAJORS, ids=[f"pg{major}" for major in ADMIN_OPTION_MAJORS])
def test_from_16_an_admin_without_admin_option_on_the_role_fails_naming_the_grant_and_nothing_changes(
    postgres_fleet: PostgresFleet, secretsmanager: Any, leak_guard: LeakGuard, major: int
) -> None:
    pg = make_target(postgres_fleet.server(major), secretsmanager, leak_guard, admin_option=False)
    arn = pg.create_secret()
    before = pg.role_state()

    error, message = _set_secret_error(pg, arn)

    assert error is PostgresAdminOptionError
    assert f"admin role '{pg.admin_user}' may not change role '{pg.role}'" in message
    assert "ADMIN OPTION" in message
    assert f"{_grant(pg.role, pg.admin_user)};" in message
    assert "Nothing was changed" in message
    assert pg.role_state() == before  # no half-made clone, no membership, no password
    assert pg.logs_in(stage_value(pg.client, arn, "AWSCURRENT"))


@pytest.mark.parametrize("major", ADMIN_OPTION_MAJORS, ids=[f"pg{major}" for major in ADMIN_OPTION_MAJORS])
def test_from_16_the_grant_named_by_the_error_is_what_makes_the_rotation_work(
    postgres_fleet: PostgresFleet, secretsmanager: Any, leak_guard: LeakGuard, major: int
) -> None:
    pg = make_target(postgres_fleet.server(major), secretsmanager, leak_guard, admin_option=False)
    arn = pg.create_secret()
    _, message = _set_secret_error(pg, arn)
    for statement in re.findall(r"(GRANT [^;]+);", message):
        pg.server.execute_as_admin(statement)  # exactly what the error says to run

    report = RotationDriver(lambda_handler).rotate(arn)  # the failed rotation resumes
    RotationDriver(lambda_handler).rotate(arn)  # and the next one changes the original role

    assert report.succeeded
    assert stage_value(pg.client, arn, "AWSCURRENT")["username"] == pg.role
    assert pg.logs_in(stage_value(pg.client, arn, "AWSCURRENT"))
    assert pg.logs_in(stage_value(pg.client, arn, "AWSPREVIOUS"))


@pytest.mark.parametrize("major", ADMIN_OPTION_MAJORS, ids=[f"pg{major}" for major in ADMIN_OPTION_MAJORS])
def test_from_16_a_clone_made_by_someone_else_is_named_with_its_grant_and_nothing_changes(
    postgres_fleet: PostgresFleet, secretsmanager: Any, leak_guard: LeakGuard, major: int
) -> None:
    pg = make_target(postgres_fleet.server(major), secretsmanager, leak_guard)  # ADMIN OPTION on the role only
    pg.server.create_role(f"{pg.role}_clone", pg.password)  # e.g. made by AWS's function as another user
    arn = pg.create_secret()
    before = pg.role_state()

    error, message = _set_secret_error(pg, arn)

    assert error is PostgresAdminOptionError
    assert f"may not change role '{pg.role}_clone'" in message
    assert f"{_grant(pg.role + '_clone', pg.admin_user)};" in message
    assert _grant(pg.role, pg.admin_user) not in message  # that one is in place
    assert pg.role_state() == before


def test_a_refusal_that_is_not_about_admin_option_reports_the_server_reason(
    postgres_major_server: PostgresServer, secretsmanager: Any, leak_guard: LeakGuard
) -> None:
    pg = make_target(postgres_major_server, secretsmanager, leak_guard)
    pg.server.execute_as_admin(f'ALTER ROLE "{pg.role}" SUPERUSER')  # only superusers may alter superusers
    arn = pg.create_secret()
    before = pg.role_state()

    error, message = _set_secret_error(pg, arn)

    assert error is PostgresPrivilegeError
    assert f"admin role '{pg.admin_user}' may not change role '{pg.role}'" in message
    assert "superuser" in message.lower()  # the server's own reason
    assert "ADMIN OPTION" not in message
    assert "nothing was changed" in message
    assert pg.role_state() == before


@pytest.mark.parametrize("secret_was_rotated", [False, True], ids=["before-first-rotation", "after-a-rotation"])
def test_the_configuration_test_passes_and_changes_nothing(pg_major: PostgresTarget, secret_was_rotated: bool) -> None:
    arn = pg_major.create_secret()
    if secret_was_rotated:
        RotationDriver(lambda_handler).rotate(arn)  # AWSCURRENT is the clone now
    state, versions = pg_major.role_state(), stages_by_version(pg_major.client, arn)
    log_before = len(pg_major.server.log_path.read_text())

    temporary = pg_major.run_configuration_test(lambda_handler, arn)

    assert pg_major.role_state() == state
    assert {v: s for v, s in stages_by_version(pg_major.client, arn).items() if v != temporary} == versions
    statements = pg_major.server.log_path.read_text()[log_before:]
    assert not re.search(r"\b(ALTER|CREATE|GRANT|REVOKE|DROP)\b", statements)


@pytest.mark.parametrize("hostile", ['q"uote', "semi;colon", "ünï"])
def test_hostile_role_names_alternate_correctly(pg_major: PostgresTarget, hostile: str) -> None:
    pg_major.server.create_role(hostile, pg_major.password)
    pg_major.server.grant_rotation_rights(pg_major.admin_user, hostile)
    arn = pg_major.create_secret(name=f"app/test/postgres/alt-{uuid.uuid4().hex[:8]}", username=hostile)
    driver = RotationDriver(lambda_handler)

    driver.rotate(arn)
    driver.rotate(arn)

    assert stage_value(pg_major.client, arn, "AWSCURRENT")["username"] == hostile
    assert stage_value(pg_major.client, arn, "AWSPREVIOUS")["username"] == f"{hostile}_clone"
    assert pg_major.logs_in(stage_value(pg_major.client, arn, "AWSCURRENT"))
    assert pg_major.logs_in(stage_value(pg_major.client, arn, "AWSPREVIOUS"))
