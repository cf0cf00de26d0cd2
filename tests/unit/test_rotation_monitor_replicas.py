"""The rotation-age check also reports each replica: its ReplicationStatus (from the primary's
DescribeSecret), a configured replica that is missing, and a replica whose AWSCURRENT is not the
primary's well after a rotation. Secrets Manager and its replicas are moto; replication lag and
a failed status are the local emulation's (``local_rotation.replication``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from lambdas.hmac_key.handler import lambda_handler as hmac_handler
from lambdas.rotation_monitor.handler import lambda_handler
from lambdas.rotation_monitor.monitor import ENVIRONMENT_TAG_KEY, REPLICA_REGIONS_TAG_KEY, environment_secrets
from lambdas.rotation_monitor.replicas import LAG_GRACE_S, replica_health
from local_rotation import RotationDriver, hold_replication, set_replica_status

REPLICA = "us-west-2"
ENVIRONMENT = "shop/prod"


@pytest.fixture
def monitor_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT_TAG_VALUE", ENVIRONMENT)
    monkeypatch.setenv("MAX_ROTATION_DAYS", "90")
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)


def _replicated(secretsmanager: Any, name: str, *, regions: tuple[str, ...] = (REPLICA,), tag: str = REPLICA) -> str:
    created = secretsmanager.create_secret(
        Name=name,
        SecretString=json.dumps({"key": "0a" * 32}),
        Tags=[{"Key": ENVIRONMENT_TAG_KEY, "Value": ENVIRONMENT}, {"Key": REPLICA_REGIONS_TAG_KEY, "Value": tag}],
        AddReplicaRegions=[{"Region": region, "KmsKeyId": "alias/shop-prod-secrets"} for region in regions],
    )
    return str(created["ARN"])


def _metrics(output: str) -> dict[str, dict[str, Any]]:
    documents = [json.loads(line) for line in output.splitlines() if '"_aws"' in line]
    return {doc["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"]: doc for doc in documents}


def test_a_replica_that_is_not_in_sync_is_reported_counted_and_logged_with_its_status_message(
    secretsmanager: Any, monitor_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    arn = _replicated(secretsmanager, "shop/prod/hmac_key/a")
    _replicated(secretsmanager, "shop/prod/hmac_key/b")
    set_replica_status(arn, REPLICA, "Failed", "Access to KMS is not allowed")

    result = lambda_handler({}, None)

    assert result["replicas"] == 2
    assert result["replicas_not_in_sync"] == [f"shop/prod/hmac_key/a ({REPLICA})"]
    assert result["replicas_lagging"] == []
    output = capsys.readouterr().out
    metrics = _metrics(output)
    assert metrics["ReplicasNotInSync"]["ReplicasNotInSync"] == [1.0]
    assert metrics["ReplicasLagging"]["ReplicasLagging"] == [0.0]
    assert metrics["ReplicasNotInSync"]["environment"] == ENVIRONMENT
    logged = [json.loads(line) for line in output.splitlines() if '"replica health"' in line]
    failed = next(line for line in logged if line["secret"] == "shop/prod/hmac_key/a")
    assert (failed["level"], failed["region"], failed["status"]) == ("WARNING", REPLICA, "Failed")
    assert failed["status_message"] == "Access to KMS is not allowed"


def test_a_configured_replica_that_does_not_exist_is_missing_and_not_in_sync(
    secretsmanager: Any, monitor_env: None
) -> None:
    _replicated(secretsmanager, "shop/prod/hmac_key/a", regions=(REPLICA,), tag=f"eu-central-1 {REPLICA}")

    result = lambda_handler({}, None)

    assert result["replicas_not_in_sync"] == ["shop/prod/hmac_key/a (eu-central-1)"]


def test_a_replica_behind_the_primarys_rotation_lags_only_after_the_grace(secretsmanager: Any) -> None:
    arn = _replicated(secretsmanager, "shop/prod/hmac_key/a")
    with hold_replication(arn, REPLICA):
        assert RotationDriver(hmac_handler).rotate(arn).succeeded
        listed = list(environment_secrets(ENVIRONMENT))
        now = datetime.now(UTC)

        soon = replica_health(listed, now=now + timedelta(seconds=LAG_GRACE_S / 2))
        late = replica_health(listed, now=now + timedelta(seconds=LAG_GRACE_S + 60))

    (just_rotated,) = soon
    (behind,) = late
    assert (just_rotated.in_sync, just_rotated.lagging) == (True, False)  # replication is asynchronous
    assert (behind.in_sync, behind.lagging) == (True, True)  # InSync says nothing about the latest version
    assert behind.lag_seconds is not None
    assert behind.lag_seconds > LAG_GRACE_S
    caught_up = replica_health(list(environment_secrets(ENVIRONMENT)), now=now + timedelta(seconds=LAG_GRACE_S + 60))
    assert [(h.in_sync, h.lagging) for h in caught_up] == [(True, False)]


def test_a_replica_region_that_cannot_be_asked_is_unreachable_not_healthy(secretsmanager: Any) -> None:
    _replicated(secretsmanager, "shop/prod/hmac_key/a")

    def describe(region: str | None, secret_arn: str) -> Any:
        if region == REPLICA:
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}, "DescribeSecret")
        return boto3.client("secretsmanager").describe_secret(SecretId=secret_arn)

    (health,) = replica_health(list(environment_secrets(ENVIRONMENT)), now=datetime.now(UTC), describe=describe)

    assert (health.status, health.in_sync) == ("Unreachable", False)
    assert "AccessDeniedException" in health.status_message


def test_without_replicated_secrets_nothing_about_replicas_is_published(
    secretsmanager: Any, monitor_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    secretsmanager.create_secret(
        Name="shop/prod/hmac_key/solo", SecretString="{}", Tags=[{"Key": ENVIRONMENT_TAG_KEY, "Value": ENVIRONMENT}]
    )

    result = lambda_handler({}, None)

    assert "replicas" not in result
    assert not {"ReplicasNotInSync", "ReplicasLagging"} & set(_metrics(capsys.readouterr().out))
