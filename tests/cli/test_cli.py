"""The operator CLI through typer's CliRunner (and once as a subprocess) against the local
emulation over HTTP: moto's server with the RotateSecret hook, real PostgreSQL and Valkey.
CliRunner's stdout is not a terminal, so tables come out as tab-separated lines."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from local_servers.blackhole import dead_port
from local_servers.postgres import PostgresServer
from local_servers.valkey import ValkeyServer
from secret_rotation_kit.cli.main import app
from tests.cli.conftest import BROKEN_MESSAGE, LocalAws
from tests.plugins.leak_guard import LeakGuard
from tests.plugins.postgres_fixtures import make_target
from tests.plugins.valkey_fixtures import make_valkey_target

REPO = Path(__file__).resolve().parents[2]
HMAC_VALUE = {"key": "5a" * 32, "issuer": "billing"}


def cli(local: LocalAws, *args: str) -> Result:
    return CliRunner().invoke(app, ["--endpoint-url", local.endpoint, *args])


def current_key(local: LocalAws, arn: str) -> str:
    return str(json.loads(local.client.get_secret_value(SecretId=arn)["SecretString"])["key"])


# --- rotate -------------------------------------------------------------------------------------------


def test_rotate_wait_follows_the_rotation_to_the_end_and_exits_0(local: LocalAws) -> None:
    arn = local.create("app/dev/hmac_key/webhook", HMAC_VALUE, "rotate-hmac")

    result = cli(local, "rotate", "app/dev/hmac_key/webhook", "--wait")

    assert result.exit_code == 0, result.output
    assert "started rotation of app/dev/hmac_key/webhook: new version" in result.output
    assert "rotation of app/dev/hmac_key/webhook succeeded" in result.output
    assert current_key(local, arn) != HMAC_VALUE["key"]
    assert sorted(label for labels in local.stages(arn).values() for label in labels) == ["AWSCURRENT", "AWSPREVIOUS"]


def test_rotate_wait_of_a_failing_rotation_shows_the_functions_logged_reason_and_exits_1(local: LocalAws) -> None:
    arn = local.create("app/dev/hmac_key/broken", HMAC_VALUE, "rotate-broken")

    result = cli(local, "rotate", arn, "--wait")

    assert result.exit_code == 1
    assert f"rotation of app/dev/hmac_key/broken FAILED: setSecret failed: RuntimeError: {BROKEN_MESSAGE}" in (
        result.output
    )
    assert current_key(local, arn) == HMAC_VALUE["key"]
    assert any("AWSPENDING" in labels and "AWSCURRENT" not in labels for labels in local.stages(arn).values())


def test_rotate_dry_run_names_the_function_and_changes_nothing(local: LocalAws) -> None:
    arn = local.create("app/dev/hmac_key/dry", HMAC_VALUE, "rotate-hmac")
    before = local.stages(arn)

    result = cli(local, "rotate", arn, "--dry-run")

    assert result.exit_code == 0
    assert "would rotate app/dev/hmac_key/dry with arn:aws:lambda:us-east-1:123456789012:function:rotate-hmac" in (
        result.output
    )
    assert local.stages(arn) == before


def test_rotate_all_rotates_every_secret_with_rotation_configured_in_the_environment(local: LocalAws) -> None:
    first = local.create("app/dev/hmac_key/one", HMAC_VALUE, "rotate-hmac")
    second = local.create("app/dev/hmac_key/two", {"key": "6b" * 32}, "rotate-hmac")
    other_env = local.create("app/prod/hmac_key/three", {"key": "7c" * 32}, "rotate-hmac")
    unconfigured = local.create("app/dev/hmac_key/manual", {"key": "8d" * 32})

    result = cli(local, "rotate", "--all", "--env", "dev", "--wait")

    assert result.exit_code == 0, result.output
    assert current_key(local, first) != HMAC_VALUE["key"]
    assert current_key(local, second) != "6b" * 32
    assert current_key(local, other_env) == "7c" * 32
    assert current_key(local, unconfigured) == "8d" * 32


def test_rotate_an_unknown_secret_exits_2_naming_it(local: LocalAws) -> None:
    result = cli(local, "rotate", "app/dev/hmac_key/nope")

    assert result.exit_code == 2
    assert "error: secret 'app/dev/hmac_key/nope' was not found in Secrets Manager (DescribeSecret)" in result.output


def test_rotate_a_secret_without_rotation_exits_2_and_changes_nothing(local: LocalAws) -> None:
    arn = local.create("app/dev/hmac_key/plain", HMAC_VALUE)
    before = local.stages(arn)

    result = cli(local, "rotate", arn)

    assert result.exit_code == 2
    assert "error: secret 'app/dev/hmac_key/plain' has no rotation configured" in result.output
    assert local.stages(arn) == before


def test_rotate_without_secret_or_all_exits_2(local: LocalAws) -> None:
    result = cli(local, "rotate")

    assert result.exit_code == 2
    assert "error: give one SECRET or --all" in result.output


def test_missing_aws_credentials_exit_2_saying_how_to_provide_them(tmp_path: Path) -> None:
    absent = str(tmp_path / "absent")
    env = {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None, "AWS_SESSION_TOKEN": None,
           "AWS_SHARED_CREDENTIALS_FILE": absent, "AWS_CONFIG_FILE": absent,
           "AWS_EC2_METADATA_DISABLED": "true"}  # fmt: skip

    result = CliRunner().invoke(app, ["--endpoint-url", f"http://127.0.0.1:{dead_port()}", "status"], env=env)

    assert result.exit_code == 2
    assert "error: no AWS credentials" in result.output
    assert "set AWS_PROFILE or AWS_ACCESS_KEY_ID" in result.output


# --- status and history -------------------------------------------------------------------------------


def test_status_shows_kind_schedule_dates_and_staged_version_ids_but_never_a_value(local: LocalAws) -> None:
    arn = local.create("app/dev/hmac_key/status", HMAC_VALUE, "rotate-hmac")
    local.create("app/prod/hmac_key/hidden", {"key": "9e" * 32})
    assert cli(local, "rotate", arn, "--wait").exit_code == 0
    current = local.client.get_secret_value(SecretId=arn)
    previous = local.client.get_secret_value(SecretId=arn, VersionStage="AWSPREVIOUS")

    result = cli(local, "status", "--env", "dev")

    assert result.exit_code == 0
    row = next(line for line in result.output.splitlines() if "app/dev/hmac_key/status" in line).split("\t")
    assert row[1:5] == ["hmac_key", "on", "rate(4 hours)", row[4]]
    assert row[4].endswith("UTC")
    assert f"AWSCURRENT {current['VersionId']}" in row[7]
    assert f"AWSPREVIOUS {previous['VersionId']}" in row[7]
    assert "app/prod/hmac_key/hidden" not in result.output
    assert json.loads(current["SecretString"])["key"] not in result.output
    assert json.loads(previous["SecretString"])["key"] not in result.output


def test_status_flags_a_secret_whose_next_rotation_date_has_passed_as_overdue(local: LocalAws) -> None:
    from moto.secretsmanager.models import secretsmanager_backends

    arn = local.create("app/dev/hmac_key/late", HMAC_VALUE, "rotate-hmac")
    stored: Any = secretsmanager_backends["123456789012"]["us-east-1"].secrets[arn]
    stored.next_rotation_date = 1_000_000_000  # 2001

    result = cli(local, "status")

    row = next(line for line in result.output.splitlines() if "app/dev/hmac_key/late" in line)
    assert "OVERDUE" in row


def test_history_lists_every_version_with_stages_and_dates_and_no_digest_unless_asked(local: LocalAws) -> None:
    arn = local.create("app/dev/hmac_key/history", HMAC_VALUE, "rotate-hmac")
    for _ in range(3):
        assert cli(local, "rotate", arn, "--wait").exit_code == 0

    result = cli(local, "history", arn)

    assert result.exit_code == 0
    versions = local.client.list_secret_version_ids(SecretId=arn, IncludeDeprecated=True)["Versions"]
    assert len(versions) == 4
    assert result.output.splitlines()[1] == "version\tstages\tcreated"
    for version in versions:
        text = local.client.get_secret_value(SecretId=arn, VersionId=version["VersionId"])["SecretString"]
        assert any(line.startswith(version["VersionId"] + "\t") for line in result.output.splitlines())
        assert json.loads(text)["key"] not in result.output
        assert hashlib.sha256(text.encode()).hexdigest()[:12] not in result.output
    assert result.output.count("AWSCURRENT") == 1
    assert result.output.count("AWSPREVIOUS") == 1


def test_history_of_an_unknown_secret_exits_2(local: LocalAws) -> None:
    result = cli(local, "history", "app/dev/none")

    assert result.exit_code == 2
    assert "error: secret 'app/dev/none' was not found" in result.output


# --- verify against real servers -----------------------------------------------------------------------


def test_verify_alternating_postgres_after_a_rotation_reports_current_and_previous_working(
    local: LocalAws, postgres_server: PostgresServer, leak_guard: LeakGuard
) -> None:
    target = make_target(postgres_server, local.client, leak_guard)
    arn = target.create_secret("app/dev/postgres_alternating/orders")
    local.configure(arn, "rotate-postgres-alternating")
    assert cli(local, "rotate", arn, "--wait").exit_code == 0

    result = cli(local, "verify", arn)

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "postgres_alternating" in result.output
    assert next(line for line in lines if line.startswith("AWSCURRENT\t")).split("\t")[2] == "works"
    assert next(line for line in lines if line.startswith("AWSPREVIOUS\t")).split("\t")[2] == "works"
    assert f"role '{target.role}_clone' logs in" in result.output


def test_verify_single_user_postgres_reports_the_previous_password_rejected_as_expected(
    local: LocalAws, postgres_server: PostgresServer, leak_guard: LeakGuard
) -> None:
    target = make_target(postgres_server, local.client, leak_guard)
    arn = target.create_secret("app/dev/postgres_single/reports", masterarn=None)
    local.configure(arn, "rotate-postgres-single")
    assert cli(local, "rotate", arn, "--wait").exit_code == 0

    result = cli(local, "verify", arn)

    assert result.exit_code == 0
    previous = next(line for line in result.output.splitlines() if line.startswith("AWSPREVIOUS\t"))
    assert "REJECTED (expected: single user)" in previous


def test_verify_valkey_checks_every_node_and_exits_1_when_awscurrent_is_rejected(
    local: LocalAws, valkey_nodes: tuple[ValkeyServer, ValkeyServer], leak_guard: LeakGuard
) -> None:
    target = make_valkey_target(valkey_nodes, local.client, leak_guard)
    arn = target.create_secret("app/dev/valkey_acl/sessions")
    local.configure(arn, "rotate-valkey")
    assert cli(local, "rotate", arn, "--wait").exit_code == 0
    ok = cli(local, "verify", arn)
    for node in valkey_nodes:  # someone resets the user's passwords behind the rotation's back
        node.create_user(target.user, "a-password-nobody-has")

    broken = cli(local, "verify", arn)

    assert ok.exit_code == 0
    assert all(f"{node.host}:{node.port} accepts" in ok.output for node in valkey_nodes)
    assert broken.exit_code == 1
    assert "REJECTED" in next(line for line in broken.output.splitlines() if line.startswith("AWSCURRENT\t"))


def test_verify_of_an_unknown_secret_exits_2(local: LocalAws) -> None:
    result = cli(local, "verify", "app/dev/none")

    assert result.exit_code == 2
    assert "error: secret 'app/dev/none' was not found" in result.output


# --- as a subprocess ------------------------------------------------------------------------------------


def test_python_m_secret_rotation_kit_cli_rotates_and_waits_against_the_local_emulation(local: LocalAws) -> None:
    arn = local.create("app/dev/hmac_key/subprocess", HMAC_VALUE, "rotate-hmac")
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    completed = subprocess.run(
        [sys.executable, "-m", "secret_rotation_kit.cli", "--endpoint-url", local.endpoint, "rotate", arn, "--wait"],
        capture_output=True, text=True, timeout=120, env=env, cwd=REPO, check=False,
    )  # fmt: skip

    assert completed.returncode == 0, completed.stderr
    assert "rotation of app/dev/hmac_key/subprocess succeeded" in completed.stdout
    assert current_key(local, arn) != HMAC_VALUE["key"]
    assert HMAC_VALUE["key"] not in completed.stdout + completed.stderr
