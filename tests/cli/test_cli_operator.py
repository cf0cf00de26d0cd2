"""The operator CLI as operators meet it (issue 15): ``status`` reads no value, one unreadable
secret does not stop the table, ``rotate --wait`` reports only its own rotation's error, clear
exit codes and messages for a bad profile, an unreachable region, an unfinished rotation and a
bad --timeout; --json, plain lines when piped, --version, -h, keyed digests on request, and
``python -m local_rotation`` to try it all locally."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto.core.exceptions import JsonRESTError
from moto.logs.models import LogsBackend
from moto.secretsmanager.models import SecretsManagerBackend
from typer.testing import CliRunner, Result

from lambdas.hmac_key.handler import lambda_handler as hmac_handler
from local_rotation import set_replica_status, stage_empty_pending_version
from local_rotation.service_hook import register_rotation_function, unregister_rotation_function
from local_servers.blackhole import dead_port
from secret_rotation_kit import __version__
from secret_rotation_kit.cli.aws import Aws
from secret_rotation_kit.cli.main import app
from tests.cli.conftest import LocalAws

REPO = Path(__file__).resolve().parents[2]
HMAC_VALUE = {"key": "5a" * 32}


def cli(local: LocalAws, *args: str) -> Result:
    return CliRunner().invoke(app, ["--endpoint-url", local.endpoint, *args])


@pytest.fixture
def api_calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Every Secrets Manager API the emulated service answers, counted on the server side."""
    calls: Counter[str] = Counter()
    for operation, method in (("GetSecretValue", "get_secret_value"), ("DescribeSecret", "describe_secret"),
                              ("ListSecretVersionIds", "list_secret_version_ids")):  # fmt: skip
        original = getattr(SecretsManagerBackend, method)

        def counted(
            self: Any, *args: Any, _original: Any = original, _operation: str = operation, **kwargs: Any
        ) -> Any:
            calls[_operation] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(SecretsManagerBackend, method, counted)
    return calls


# --- status ----------------------------------------------------------------------------------------------


def test_status_calls_no_get_secret_value_at_all(local: LocalAws, api_calls: Counter[str]) -> None:
    for number in range(3):
        local.create(f"app/dev/hmac_key/s{number}", HMAC_VALUE, "rotate-hmac")
    api_calls.clear()

    result = cli(local, "status")

    assert result.exit_code == 0, result.output
    assert api_calls["GetSecretValue"] == 0
    assert api_calls["DescribeSecret"] == 3


def test_status_shows_an_unreadable_secret_as_such_and_goes_on(
    local: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    local.create("app/dev/hmac_key/a-readable", HMAC_VALUE, "rotate-hmac")
    denied = local.create("app/dev/hmac_key/b-denied", HMAC_VALUE, "rotate-hmac")
    local.create("app/dev/hmac_key/c-readable", HMAC_VALUE, "rotate-hmac")
    original = SecretsManagerBackend.describe_secret

    def deny_one(self: Any, secret_id: str) -> Any:
        if secret_id == denied:
            raise JsonRESTError("AccessDeniedException", "User is not authorized to perform DescribeSecret")
        return original(self, secret_id)

    monkeypatch.setattr(SecretsManagerBackend, "describe_secret", deny_one)

    result = cli(local, "status")

    assert result.exit_code == 0
    rows = {line.split("\t")[0]: line.split("\t") for line in result.stdout.splitlines()[1:]}
    assert rows["app/dev/hmac_key/a-readable"][1] == "hmac_key"
    assert rows["app/dev/hmac_key/c-readable"][1] == "hmac_key"
    assert rows["app/dev/hmac_key/b-denied"][1] == "unreadable"
    assert "AccessDeniedException" in rows["app/dev/hmac_key/b-denied"][7]
    assert "1 secret(s) could not be described" in result.stderr


def test_status_json_is_a_document_of_every_secret_with_its_version_ids(local: LocalAws) -> None:
    arn = local.create("app/dev/hmac_key/json", HMAC_VALUE, "rotate-hmac")
    current = local.client.get_secret_value(SecretId=arn)["VersionId"]

    result = cli(local, "--json", "status")

    assert result.exit_code == 0
    (document,) = json.loads(result.stdout)
    assert document["name"] == "app/dev/hmac_key/json"
    assert document["versions"] == [{"version_id": current, "stages": ["AWSCURRENT"], "created": None}]
    assert (document["kind"], document["rotation"], document["overdue"]) == ("hmac_key", True, False)


def test_status_shows_each_replica_and_its_replication_status_without_reading_a_value(
    local: LocalAws, api_calls: Counter[str]
) -> None:
    arn = str(local.client.create_secret(
        Name="app/dev/hmac_key/replicated", SecretString=json.dumps(HMAC_VALUE),
        AddReplicaRegions=[{"Region": "us-west-2", "KmsKeyId": "alias/app-dev-secrets"},
                           {"Region": "eu-central-1", "KmsKeyId": "alias/app-dev-secrets"}],
    )["ARN"])  # fmt: skip
    local.create("app/dev/hmac_key/single", HMAC_VALUE)
    set_replica_status(arn, "us-west-2", "Failed", "Access to KMS is not allowed")
    api_calls.clear()

    table = cli(local, "status")
    document = cli(local, "--json", "status")

    assert table.exit_code == 0, table.output
    rows = {line.split("\t")[0]: line.split("\t") for line in table.stdout.splitlines()}
    assert rows["secret"][8] == "replicas"
    # one line per replica on a terminal; piped, the lines of a cell are joined by spaces
    assert (
        rows["app/dev/hmac_key/replicated"][8] == "eu-central-1 InSync us-west-2 Failed (Access to KMS is not allowed)"
    )
    assert rows["app/dev/hmac_key/single"][8] == "-"
    replicated = next(d for d in json.loads(document.stdout) if d["name"] == "app/dev/hmac_key/replicated")
    assert replicated["replicas"] == [
        {"region": "eu-central-1", "status": "InSync", "status_message": "Replication succeeded",
         "kms_key_id": "alias/app-dev-secrets", "last_accessed": None},
        {"region": "us-west-2", "status": "Failed", "status_message": "Access to KMS is not allowed",
         "kms_key_id": "alias/app-dev-secrets", "last_accessed": None},
    ]  # fmt: skip
    assert api_calls["GetSecretValue"] == 0


def test_piped_output_has_no_table_drawing_characters(local: LocalAws) -> None:
    local.create("app/dev/hmac_key/plain", HMAC_VALUE, "rotate-hmac")

    result = cli(local, "status")

    assert result.stdout.splitlines()[0].split("\t")[:3] == ["secret", "kind", "rotation"]
    assert not set(result.stdout) & set("│─┃━┏┓┗┛┡┩╇")


# --- rotate ---------------------------------------------------------------------------------------------


def test_rotate_wait_reports_only_the_error_of_its_own_rotation_when_a_function_serves_many_secrets(
    local: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One function, two secrets: A's rotation fails and logs its error in the shared log
    group; B's rotation is held until the CLI has looked at that log group once, then succeeds."""
    looked_at_logs = threading.Event()
    original = LogsBackend.filter_log_events

    def filter_and_tell(self: Any, *args: Any, **kwargs: Any) -> Any:
        looked_at_logs.set()
        return original(self, *args, **kwargs)

    monkeypatch.setattr(LogsBackend, "filter_log_events", filter_and_tell)

    def shared(event: dict[str, Any], context: Any) -> Any:
        if "a-fails" in event["SecretId"] and event["Step"] == "setSecret":
            raise RuntimeError("secret A's target refused the new password")
        if "b-works" in event["SecretId"] and event["Step"] == "finishSecret":
            assert looked_at_logs.wait(30)
        return hmac_handler(event, context)

    register_rotation_function("rotate-shared", shared)
    try:
        a = local.create("app/dev/hmac_key/a-fails", HMAC_VALUE, "rotate-shared")
        b = local.create("app/dev/hmac_key/b-works", {"key": "6b" * 32}, "rotate-shared")
        failed = cli(local, "rotate", a, "--wait")
        looked_at_logs.clear()

        result = cli(local, "rotate", b, "--wait")
    finally:
        unregister_rotation_function("rotate-shared")

    assert failed.exit_code == 1
    assert "secret A's target refused the new password" in failed.output
    assert result.exit_code == 0, result.output
    assert "rotation of app/dev/hmac_key/b-works succeeded" in result.output
    assert "refused" not in result.output


def test_rotate_of_a_secret_whose_last_rotation_did_not_finish_exits_1_with_aws_reason(local: LocalAws) -> None:
    arn = local.create("app/dev/hmac_key/stuck", HMAC_VALUE, "rotate-broken")
    assert cli(local, "rotate", arn, "--wait").exit_code == 1

    result = cli(local, "rotate", arn)

    assert result.exit_code == 1
    assert "error: RotateSecret on secret" in result.stderr
    assert "refused: A previous rotation isn't complete" in result.stderr
    assert "That rotation will be reattempted." in result.stderr


@pytest.mark.parametrize("timeout", ["0", "-5"])
def test_rotate_with_a_timeout_of_zero_or_less_exits_2_and_starts_nothing(local: LocalAws, timeout: str) -> None:
    arn = local.create("app/dev/hmac_key/timeout", HMAC_VALUE, "rotate-hmac")
    before = local.stages(arn)

    result = cli(local, "rotate", arn, "--wait", "--timeout", timeout)

    assert result.exit_code == 2
    assert f"error: --timeout must be more than 0 seconds, got {float(timeout):g}" in result.stderr
    assert local.stages(arn) == before


def test_rotate_json_reports_each_outcome(local: LocalAws) -> None:
    arn = local.create("app/dev/hmac_key/json-rotate", HMAC_VALUE, "rotate-hmac")

    result = cli(local, "--json", "rotate", arn, "--wait")

    assert result.exit_code == 0
    (outcome,) = json.loads(result.stdout)
    assert outcome["outcome"] == "succeeded"
    assert outcome["version_id"] == local.client.get_secret_value(SecretId=arn)["VersionId"]


# --- where and who --------------------------------------------------------------------------------------


def test_an_unknown_profile_exits_2_naming_it(tmp_path: Path) -> None:
    env = {"AWS_CONFIG_FILE": str(tmp_path / "config"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "creds")}

    result = CliRunner().invoke(app, ["--profile", "nope", "status"], env=env)

    assert result.exit_code == 2
    assert "error: AWS profile 'nope' not found" in result.stderr


def test_a_profile_from_the_config_file_is_used(local: LocalAws, tmp_path: Path) -> None:
    local.create("app/dev/hmac_key/profiled", HMAC_VALUE, "rotate-hmac")
    (tmp_path / "config").write_text("[profile ops]\nregion = us-east-1\n")
    (tmp_path / "creds").write_text("[ops]\naws_access_key_id = ops\naws_secret_access_key = ops\n")
    env = {"AWS_CONFIG_FILE": str(tmp_path / "config"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "creds"),
           "AWS_DEFAULT_REGION": None, "AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None}  # fmt: skip

    result = CliRunner().invoke(app, ["--profile", "ops", "--endpoint-url", local.endpoint, "status"], env=env)

    assert result.exit_code == 0, result.output
    assert "app/dev/hmac_key/profiled" in result.stdout


def test_an_unreachable_region_exits_2_naming_the_region_and_the_endpoint() -> None:
    endpoint = f"http://127.0.0.1:{dead_port()}"

    result = CliRunner().invoke(app, ["--region", "eu-west-3", "--endpoint-url", endpoint, "history", "app/x"])

    assert result.exit_code == 2
    assert f"cannot reach Secrets Manager in region 'eu-west-3' at {endpoint}" in result.stderr


def test_version_and_short_help() -> None:
    version = CliRunner().invoke(app, ["--version"])
    short_help = CliRunner().invoke(app, ["-h"])

    assert (version.exit_code, version.stdout.strip()) == (0, f"secret-rotation {__version__}")
    assert short_help.exit_code == 0
    for command in ("status", "rotate", "verify", "history"):
        assert command in short_help.stdout


# --- history --digest --------------------------------------------------------------------------------------


def test_history_digest_is_keyed_so_it_cannot_confirm_a_guessed_value(
    local: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = local.create("app/dev/hmac_key/digest", HMAC_VALUE, "rotate-hmac")
    text = local.client.get_secret_value(SecretId=arn)["SecretString"]
    version = local.client.get_secret_value(SecretId=arn)["VersionId"]
    monkeypatch.setenv("SECRET_ROTATION_DIGEST_KEY", "team-shared-digest-key")

    keyed = cli(local, "history", arn, "--digest")
    monkeypatch.delenv("SECRET_ROTATION_DIGEST_KEY")
    random_key = cli(local, "history", arn, "--digest")

    expected = hmac.new(b"team-shared-digest-key", text.encode(), hashlib.sha256).hexdigest()[:12]
    assert f"{version}\tAWSCURRENT\t" in keyed.stdout
    assert keyed.stdout.splitlines()[-1].endswith(f"\t{expected}")
    assert expected not in random_key.stdout
    assert hashlib.sha256(text.encode()).hexdigest()[:12] not in keyed.stdout + random_key.stdout


def test_history_shows_the_empty_awspending_version_that_list_secret_version_ids_leaves_out(local: LocalAws) -> None:
    """AWS: "ListSecretVersionIds only returns versions that contain a secret value" (AWS CLI
    reference, list-secret-version-ids; the emulation does so too: moto difference 14)."""
    arn = local.create("app/dev/hmac_key/stuck-history", HMAC_VALUE)
    token = "6f1b0c57-0000-4000-8000-00000000e3a1"
    stage_empty_pending_version(arn, token)  # what RotateSecret leaves when createSecret never ran
    listed = [v["VersionId"] for v in local.client.list_secret_version_ids(SecretId=arn)["Versions"]]
    assert token not in listed

    result = cli(local, "history", arn, "--digest")

    assert result.exit_code == 0, result.output
    assert f"{token}\tAWSPENDING\t-\t(no value)" in result.stdout.splitlines()


def test_history_digest_of_a_binary_version_is_a_digest_not_no_value(local: LocalAws) -> None:
    """GetSecretValue returns SecretString or SecretBinary, whichever holds content; moto keeps the bytes."""
    created = local.client.create_secret(Name="app/dev/binary", SecretBinary=b"\x00\x01binary")

    result = cli(local, "history", created["ARN"], "--digest")

    assert result.exit_code == 0, result.output
    row = next(line for line in result.stdout.splitlines() if line.startswith(created["VersionId"]))
    assert row.split("\t")[-1] != "(no value)"
    assert len(row.split("\t")[-1]) == 12


def test_every_cli_call_makes_three_attempts_in_all_not_botocores_retries_on_top() -> None:
    """botocore: ``total_max_attempts`` includes the initial request, ``max_attempts`` does not."""
    config = Aws(region="us-east-1").client("secretsmanager").meta.config

    assert (config.connect_timeout, config.read_timeout) == (5, 10)
    assert config.retries == {"total_max_attempts": 3, "mode": "standard"}


# --- python -m local_rotation ---------------------------------------------------------------------------------


@pytest.fixture
def local_emulation() -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``python -m local_rotation`` as a person starts it; stopped by its pid afterwards."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-m", "local_rotation", "--port", "0", "--seed"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=REPO,
    )  # fmt: skip
    assert process.stdout is not None
    endpoint = None
    for line in process.stdout:  # blocks until the emulation prints that it is ready (or exits)
        if line.startswith("export AWS_ENDPOINT_URL="):
            endpoint = line.strip().split("=", 1)[1]
            break
    try:
        assert endpoint, "python -m local_rotation exited before it was ready"
        yield endpoint, process
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)


def test_python_m_local_rotation_starts_an_emulation_the_cli_can_rotate_against(
    local_emulation: tuple[str, subprocess.Popen[str]],
) -> None:
    endpoint, _ = local_emulation
    env = {**os.environ, "PYTHONPATH": str(REPO), "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "secret_rotation_kit.cli", "--endpoint-url", endpoint, "--region", "us-east-1"]
        return subprocess.run(
            [*command, *args],
            capture_output=True, text=True, timeout=120, env=env, cwd=REPO, check=False,
        )  # fmt: skip

    rotated = run("rotate", "demo/local/hmac_key/webhooks", "--wait")
    status = run("status")

    assert rotated.returncode == 0, rotated.stderr
    assert "rotation of demo/local/hmac_key/webhooks succeeded" in rotated.stdout
    assert "demo/local/hmac_key/webhooks\thmac_key\ton" in status.stdout
