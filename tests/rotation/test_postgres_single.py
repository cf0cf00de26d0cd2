"""PostgreSQL single-user rotation against real servers (AWS APIs: moto; the database: real).

Tests taking ``pg_major`` run on every supported major (15 to 18); the others check what does
not depend on the server's version (secret validation, timeouts, TLS) on the default server.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from lambdas.postgres_single.handler import lambda_handler
from lambdas.rotation import InvalidSecretError, SecretFields, TargetError, TargetUnreachableError
from lambdas.targets.postgres import PostgresEndpoint
from lambdas.targets.scram import scram_sha256_verifier
from local_rotation import RotationDriver, stage_empty_pending_version
from local_servers.blackhole import BlackholeListener, dead_port
from local_servers.certs import write_loopback_tls
from tests.conftest import stage_value, stages_by_version
from tests.plugins.postgres_fixtures import PostgresTarget
from tests.rotation.scenarios import rotate_running_a_step_twice, rotate_with_failing_step

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


def _event(arn: str, token: str, step: str) -> dict[str, str]:
    return {"SecretId": arn, "ClientRequestToken": token, "Step": step}


def test_three_rotations_each_leave_only_the_new_password_working(pg_major: PostgresTarget) -> None:
    arn = pg_major.create_secret()
    driver = RotationDriver(lambda_handler)

    for _ in range(3):
        report = driver.rotate(arn)

        current = stage_value(pg_major.client, arn, "AWSCURRENT")
        previous = stage_value(pg_major.client, arn, "AWSPREVIOUS")
        assert report.succeeded
        assert current["username"] == pg_major.role
        assert pg_major.logs_in(current)
        assert not pg_major.logs_in(previous)  # documented: single-user mode does not keep AWSPREVIOUS


def test_generated_password_is_32_characters_without_connection_string_breakers(pg: PostgresTarget) -> None:
    arn = pg.create_secret()

    RotationDriver(lambda_handler).rotate(arn)

    password = stage_value(pg.client, arn, "AWSCURRENT")["password"]
    assert len(password) == 32
    assert not set(password) & set("\"'\\/@:%&#?; ")


def test_server_log_holds_the_scram_verifier_and_never_the_password(pg_major: PostgresTarget) -> None:
    arn = pg_major.create_secret()

    RotationDriver(lambda_handler).rotate(arn)

    log = pg_major.server.log_path.read_text()
    assert re.search(rf'ALTER ROLE "{pg_major.role}" PASSWORD \'SCRAM-SHA-256\$4096:', log)
    assert stage_value(pg_major.client, arn, "AWSCURRENT")["password"] not in log


@pytest.mark.parametrize("step", STEPS)
def test_every_step_can_be_retried(pg_major: PostgresTarget, step: str) -> None:
    arn = pg_major.create_secret()
    token = rotate_running_a_step_twice(lambda_handler, arn, step)

    assert "AWSCURRENT" in stages_by_version(pg_major.client, arn)[token]
    assert pg_major.logs_in(stage_value(pg_major.client, arn, "AWSCURRENT"))


@pytest.mark.parametrize("failing_step", ["testSecret", "finishSecret"])
def test_a_fault_after_set_secret_is_completed_by_the_service_retry(
    pg_major: PostgresTarget, failing_step: str
) -> None:
    arn = pg_major.create_secret()

    failed = rotate_with_failing_step(lambda_handler, arn, failing_step)
    pending = pg_major.client.get_secret_value(SecretId=arn, VersionId=failed.token)
    assert pg_major.logs_in(json.loads(pending["SecretString"]))  # between set and finish: AWSPENDING works

    retried = RotationDriver(lambda_handler).rotate(arn)

    assert retried.resumed
    assert pg_major.logs_in(stage_value(pg_major.client, arn, "AWSCURRENT"))


def test_set_secret_falls_back_to_awsprevious_after_a_half_finished_rotation(pg_major: PostgresTarget) -> None:
    arn = pg_major.create_secret()
    RotationDriver(lambda_handler).rotate(arn)
    previous = stage_value(pg_major.client, arn, "AWSPREVIOUS")
    # The server's password goes back to AWSPREVIOUS's, as a restore from backup would do.
    pg_major.server.execute_as_admin(
        f"ALTER ROLE \"{pg_major.role}\" PASSWORD '{scram_sha256_verifier(previous['password'])}'"
    )

    RotationDriver(lambda_handler).rotate(arn)

    assert pg_major.logs_in(stage_value(pg_major.client, arn, "AWSCURRENT"))


def test_tls_rotation_verifies_the_server_certificate(pg_tls: PostgresTarget) -> None:
    arn = pg_tls.create_secret()

    RotationDriver(lambda_handler).rotate(arn)

    assert pg_tls.logs_in(stage_value(pg_tls.client, arn, "AWSCURRENT"))


def test_plaintext_secret_against_a_tls_only_server_is_refused_and_nothing_changes(pg_tls: PostgresTarget) -> None:
    arn = pg_tls.create_secret(ssl=False, ssl_ca=None)
    before = stage_value(pg_tls.client, arn, "AWSCURRENT")

    report = RotationDriver(lambda_handler).rotate(arn, raise_on_failure=False)

    assert not report.succeeded
    assert "PostgreSQL at 127.0.0.1:" in (report.error or "")
    assert stage_value(pg_tls.client, arn, "AWSCURRENT") == before
    assert pg_tls.logs_in(before)


def test_tls_is_required_by_default_and_never_falls_back_to_plaintext(pg: PostgresTarget, tmp_path: Path) -> None:
    ca_path = write_loopback_tls(tmp_path).ca_path
    arn = pg.create_secret(ssl=None, ssl_ca=str(ca_path))  # no "ssl": false: TLS required; this server has none

    report = RotationDriver(lambda_handler).rotate(arn, raise_on_failure=False)

    assert report.steps[1].step == "setSecret"
    assert not report.succeeded
    assert "TLS connection failed" in (report.error or "") or "SSL" in (report.error or "")
    assert pg.logs_in(stage_value(pg.client, arn, "AWSCURRENT"))


def test_dead_host_fails_naming_host_and_port(pg: PostgresTarget) -> None:
    port = dead_port()
    arn = pg.create_secret(port=port)

    report = RotationDriver(lambda_handler, attempts_per_step=1).rotate(arn, raise_on_failure=False)

    assert report.steps[-1].step == "setSecret"
    assert f"PostgreSQL at 127.0.0.1:{port} refused the connection" in (report.error or "")


def test_blackholed_host_fails_by_timeout_naming_host_and_port(pg: PostgresTarget) -> None:
    with BlackholeListener() as blackhole:
        arn = pg.create_secret(port=blackhole.port)
        token = str(uuid.uuid4())
        stage_empty_pending_version(arn, token)
        lambda_handler(_event(arn, token, "createSecret"), None)

        with pytest.raises(TargetUnreachableError, match=f"127.0.0.1:{blackhole.port} did not answer within 3 s"):
            lambda_handler(_event(arn, token, "setSecret"), None)


@pytest.mark.parametrize(
    ("overrides", "field", "expected"),
    [
        ({"host": None}, "host", "must be a non-empty string, is missing"),
        ({"username": None}, "username", "must be a non-empty string, is missing"),
        ({"password": None}, "password", "must be a non-empty string, is missing"),
        ({"port": 70000}, "port", "must be a port number between 1 and 65535"),
        ({"port": "fifty"}, "port", "must be a port number (integer or numeric string), got str"),
        ({"engine": "mysql"}, "engine", "must be one of postgres, aurora-postgresql, got 'mysql'"),
        ({"username": "u" * 64}, "username", "must be at most 63 bytes"),
    ],
)
def test_bad_secret_fails_create_naming_the_field_and_changes_nothing(
    pg: PostgresTarget, overrides: dict[str, Any], field: str, expected: str
) -> None:
    arn = pg.create_secret(**overrides)
    token = str(uuid.uuid4())
    stage_empty_pending_version(arn, token)
    log_before = pg.server.log_path.read_text()

    with pytest.raises(InvalidSecretError, match=re.escape(f"(AWSCURRENT): field '{field}' {expected}")):
        lambda_handler(_event(arn, token, "createSecret"), None)

    assert stages_by_version(pg.client, arn)[token] == ["AWSPENDING"]
    with pytest.raises(pg.client.exceptions.ResourceNotFoundException):
        pg.client.get_secret_value(SecretId=arn, VersionId=token)
    assert "ALTER ROLE" not in pg.server.log_path.read_text()[len(log_before) :]


def test_port_as_a_numeric_string_is_accepted(pg: PostgresTarget) -> None:
    arn = pg.create_secret(port=str(pg.server.port))

    RotationDriver(lambda_handler).rotate(arn)

    assert pg.logs_in(stage_value(pg.client, arn, "AWSCURRENT"))


@pytest.mark.parametrize("hostile", ['o\'brien "app"', "app; DROP TABLE x", "appé ünïcode", "app with spaces"])
def test_hostile_role_names_are_quoted_and_rotate(pg_major: PostgresTarget, hostile: str) -> None:
    pg_major.server.create_role(hostile, pg_major.password)
    arn = pg_major.create_secret(name=f"app/test/postgres/hostile-{uuid.uuid4().hex[:8]}", username=hostile)

    RotationDriver(lambda_handler).rotate(arn)

    assert pg_major.logs_in(stage_value(pg_major.client, arn, "AWSCURRENT"))


def test_wrong_current_password_fails_set_secret_and_changes_nothing(pg: PostgresTarget) -> None:
    arn = pg.create_secret(password="not-the-role-password-at-all")

    report = RotationDriver(lambda_handler, attempts_per_step=1).rotate(arn, raise_on_failure=False)

    assert report.steps[-1].step == "setSecret"
    assert "none of AWSCURRENT, AWSPENDING, AWSPREVIOUS logs in as role" in (report.error or "")
    assert pg.logs_in({"username": pg.role, "password": pg.password})


def test_a_secret_without_port_connects_to_5432_as_awss_secret_format_says() -> None:
    fields = SecretFields({"host": "db.example.internal", "username": "app", "ssl": False}, "app/db", "AWSCURRENT")

    endpoint = PostgresEndpoint.from_secret(fields)

    assert endpoint.port == 5432
    assert endpoint.connection_options()["port"] == 5432


def test_the_configuration_test_passes_and_changes_nothing(pg_major: PostgresTarget) -> None:
    arn = pg_major.create_secret()
    state, versions = pg_major.role_state(), stages_by_version(pg_major.client, arn)
    log_before = len(pg_major.server.log_path.read_text())

    temporary = pg_major.run_configuration_test(lambda_handler, arn)

    assert pg_major.role_state() == state
    assert {v: s for v, s in stages_by_version(pg_major.client, arn).items() if v != temporary} == versions
    assert not re.search(r"\b(ALTER|CREATE|GRANT|REVOKE|DROP)\b", pg_major.server.log_path.read_text()[log_before:])
    assert pg_major.logs_in(stage_value(pg_major.client, arn, "AWSCURRENT"))


def test_target_errors_are_target_errors(pg: PostgresTarget) -> None:
    assert issubclass(TargetUnreachableError, TargetError)
