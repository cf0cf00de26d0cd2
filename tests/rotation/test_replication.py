"""Secrets Manager replication, as moto models it and as the local emulation completes it: a
rotation driven in the primary Region through the emulated RotateSecret is what the replica
serves, with the same version ids; a replica refuses rotation; a held replica lags until
replication catches up; ReplicationStatus names the replica's own key."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from lambdas.hmac_key.handler import lambda_handler as hmac_handler
from local_rotation import hold_replication, set_replica_status
from local_rotation.service_hook import register_rotation_function, unregister_rotation_function, wait_for_rotations
from tests.conftest import REGION

REPLICA = "us-west-2"
FUNCTION = f"arn:aws:lambda:{REGION}:123456789012:function:replicated-hmac"
KEY = "alias/app-dev-secrets"


@pytest.fixture
def replicated(aws: None, secretsmanager: Any) -> Iterator[tuple[str, Any]]:
    """A secret in us-east-1 replicated to us-west-2, and a client of the replica's Region."""
    register_rotation_function(FUNCTION, hmac_handler)
    created = secretsmanager.create_secret(
        Name="app/dev/hmac_key/replicated",
        SecretString=json.dumps({"key": "0a" * 32}),
        AddReplicaRegions=[{"Region": REPLICA, "KmsKeyId": KEY}],
    )
    yield created["ARN"], boto3.client("secretsmanager", region_name=REPLICA)
    assert wait_for_rotations(30)
    unregister_rotation_function(FUNCTION)


def _labels(client: Any, arn: str) -> dict[str, list[str]]:
    return {v: s for v, s in client.describe_secret(SecretId=arn)["VersionIdsToStages"].items() if s}


def _digest(client: Any, arn: str, stage: str) -> tuple[str, str]:
    answer = client.get_secret_value(SecretId=arn, VersionStage=stage)
    return answer["VersionId"], hashlib.sha256(answer["SecretString"].encode()).hexdigest()


def test_a_rotation_in_the_primary_is_what_the_replica_serves_with_the_same_version_ids(
    secretsmanager: Any, replicated: tuple[str, Any]
) -> None:
    arn, replica = replicated
    replica_arn = arn.replace(f":{REGION}:", f":{REPLICA}:")
    before = _digest(secretsmanager, arn, "AWSCURRENT")

    rotation = secretsmanager.rotate_secret(SecretId=arn, RotationLambdaARN=FUNCTION)
    assert wait_for_rotations(30)

    assert _labels(replica, replica_arn) == _labels(secretsmanager, arn)
    assert _labels(replica, replica_arn)[rotation["VersionId"]] == ["AWSCURRENT"]
    assert _digest(replica, replica_arn, "AWSCURRENT") == _digest(secretsmanager, arn, "AWSCURRENT")
    assert _digest(replica, replica_arn, "AWSPREVIOUS") == before
    # the replica is found by name in its Region too, under its own ARN (same name and suffix)
    assert replica.describe_secret(SecretId="app/dev/hmac_key/replicated")["ARN"] == replica_arn


def test_rotate_secret_on_a_replica_is_refused_and_changes_nothing(
    secretsmanager: Any, replicated: tuple[str, Any]
) -> None:
    arn, replica = replicated
    replica_arn = arn.replace(f":{REGION}:", f":{REPLICA}:")
    before = _labels(secretsmanager, arn)

    with pytest.raises(ClientError, match="Operation not permitted on a replica secret"):
        replica.rotate_secret(SecretId=replica_arn, RotationLambdaARN=FUNCTION)
    assert wait_for_rotations(30)

    assert _labels(secretsmanager, arn) == before
    assert not replica.describe_secret(SecretId=replica_arn).get("RotationEnabled")


def test_a_held_replica_keeps_its_versions_until_replication_catches_up(
    secretsmanager: Any, replicated: tuple[str, Any]
) -> None:
    arn, replica = replicated
    replica_arn = arn.replace(f":{REGION}:", f":{REPLICA}:")
    before = _labels(replica, replica_arn)

    with hold_replication(arn, REPLICA):
        secretsmanager.rotate_secret(SecretId=arn, RotationLambdaARN=FUNCTION)
        assert wait_for_rotations(30)
        assert _labels(replica, replica_arn) == before
        assert _labels(secretsmanager, arn) != before

    assert _labels(replica, replica_arn) == _labels(secretsmanager, arn)


def test_replication_status_names_the_replicas_own_key_and_the_status_set(
    secretsmanager: Any, replicated: tuple[str, Any]
) -> None:
    arn, _ = replicated

    (status,) = secretsmanager.describe_secret(SecretId=arn)["ReplicationStatus"]
    assert (status["Region"], status["KmsKeyId"], status["Status"]) == (REPLICA, KEY, "InSync")

    set_replica_status(arn, REPLICA, "Failed", "Access denied to the KMS key")
    (status,) = secretsmanager.describe_secret(SecretId=arn)["ReplicationStatus"]
    assert (status["Status"], status["StatusMessage"]) == ("Failed", "Access denied to the KMS key")
