"""Pins every moto behaviour that differs from Secrets Manager and that the driver works around.

Each test states moto's behaviour today. If a moto upgrade changes one, the test fails and
docs/moto-differences.md (same numbering) and the driver must be revisited.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from local_rotation import stage_empty_pending_version
from tests.conftest import SecretFactory, stages_by_version


@pytest.fixture
def secret(create_secret: SecretFactory) -> str:
    return create_secret("app/dev/hmac/moto", {"key": "ef" * 32})


def test_1_rotate_secret_without_a_lambda_moves_awscurrent_to_a_version_without_value(
    secretsmanager: Any, secret: str
) -> None:
    secretsmanager.rotate_secret(SecretId=secret, RotationRules={"AutomaticallyAfterDays": 30})

    with pytest.raises(secretsmanager.exceptions.ResourceNotFoundException):
        secretsmanager.get_secret_value(SecretId=secret)


def test_2_rotate_secret_with_a_lambda_needs_moto_lambda_backend(secretsmanager: Any, secret: str) -> None:
    arn = "arn:aws:lambda:us-east-1:123456789012:function:rotate-hmac"

    with pytest.raises(secretsmanager.exceptions.ResourceNotFoundException, match="Resource not found for ARN"):
        secretsmanager.rotate_secret(SecretId=secret, RotationLambdaARN=arn)


def test_3_rotate_secret_while_a_rotation_is_incomplete_is_not_refused(secretsmanager: Any, secret: str) -> None:
    stranded = str(uuid.uuid4())
    stage_empty_pending_version(secret, stranded)

    secretsmanager.rotate_secret(SecretId=secret, RotationRules={"AutomaticallyAfterDays": 30})  # real service: error

    assert stranded in stages_by_version(secretsmanager, secret)


def test_4_put_secret_value_would_overwrite_a_pending_version_that_has_a_value(
    secretsmanager: Any, secret: str
) -> None:
    from moto.secretsmanager.models import secretsmanager_backends

    from local_rotation.moto_compat import ORIGINAL_CHECK_EXISTING_VERSIONS

    token = str(uuid.uuid4())
    stage_empty_pending_version(secret, token)
    secretsmanager.put_secret_value(
        SecretId=secret, ClientRequestToken=token, SecretString=json.dumps({"key": "01" * 32}),
        VersionStages=["AWSPENDING"],
    )  # fmt: skip
    backend = secretsmanager_backends["123456789012"]["us-east-1"]

    verdict = ORIGINAL_CHECK_EXISTING_VERSIONS(backend, secret, token, json.dumps({"key": "02" * 32}), None)

    assert verdict is None  # moto: "nothing to validate", the version is then rewritten; real: ResourceExists


def test_4_with_local_rotation_loaded_a_version_with_a_value_is_never_rewritten(
    secretsmanager: Any, secret: str
) -> None:
    token = str(uuid.uuid4())
    stage_empty_pending_version(secret, token)
    first = json.dumps({"key": "01" * 32})
    secretsmanager.put_secret_value(
        SecretId=secret, ClientRequestToken=token, SecretString=first, VersionStages=["AWSPENDING"]
    )
    stages = stages_by_version(secretsmanager, secret)

    secretsmanager.put_secret_value(  # the same value again: accepted, nothing changes
        SecretId=secret, ClientRequestToken=token, SecretString=first, VersionStages=["AWSPENDING"]
    )
    with pytest.raises(secretsmanager.exceptions.ResourceExistsException, match="already in use"):
        secretsmanager.put_secret_value(
            SecretId=secret, ClientRequestToken=token, SecretString=json.dumps({"key": "02" * 32}),
            VersionStages=["AWSPENDING"],
        )  # fmt: skip

    assert secretsmanager.get_secret_value(SecretId=secret, VersionId=token)["SecretString"] == first
    assert stages_by_version(secretsmanager, secret) == stages


def test_5_a_version_without_value_reads_as_resource_not_found_like_the_service(
    secretsmanager: Any, secret: str
) -> None:
    token = str(uuid.uuid4())
    stage_empty_pending_version(secret, token)

    with pytest.raises(secretsmanager.exceptions.ResourceNotFoundException):
        secretsmanager.get_secret_value(SecretId=secret, VersionId=token)


def test_6_moving_awscurrent_keeps_awspending_on_the_new_version_like_the_service(
    secretsmanager: Any, secret: str
) -> None:
    current = secretsmanager.get_secret_value(SecretId=secret)["VersionId"]
    token = str(uuid.uuid4())
    stage_empty_pending_version(secret, token)
    secretsmanager.put_secret_value(
        SecretId=secret,
        ClientRequestToken=token,
        SecretString=json.dumps({"key": "03" * 32}),
        VersionStages=["AWSPENDING"],
    )

    secretsmanager.update_secret_version_stage(
        SecretId=secret, VersionStage="AWSCURRENT", MoveToVersionId=token, RemoveFromVersionId=current
    )

    stages = stages_by_version(secretsmanager, secret)
    assert sorted(stages[token]) == ["AWSCURRENT", "AWSPENDING"]
    assert stages[current] == ["AWSPREVIOUS"]


def test_7_moving_awscurrent_does_not_move_what_get_secret_value_returns_by_default(
    secretsmanager: Any, secret: str
) -> None:
    from moto.secretsmanager.models import secretsmanager_backends

    from local_rotation.moto_compat import ORIGINAL_UPDATE_SECRET_VERSION_STAGE

    current = secretsmanager.get_secret_value(SecretId=secret)["VersionId"]
    token = str(uuid.uuid4())
    secretsmanager.put_secret_value(
        SecretId=secret,
        ClientRequestToken=token,
        SecretString=json.dumps({"key": "04" * 32}),
        VersionStages=["AWSPENDING"],
    )
    backend = secretsmanager_backends["123456789012"]["us-east-1"]

    ORIGINAL_UPDATE_SECRET_VERSION_STAGE(backend, secret, "AWSCURRENT", current, token)

    assert "AWSCURRENT" in stages_by_version(secretsmanager, secret)[token]
    assert backend.secrets[secret].default_version_id == current  # what an unstaged GetSecretValue returns


def test_7_with_local_rotation_loaded_get_secret_value_follows_awscurrent(secretsmanager: Any, secret: str) -> None:
    current = secretsmanager.get_secret_value(SecretId=secret)["VersionId"]
    token = str(uuid.uuid4())
    secretsmanager.put_secret_value(
        SecretId=secret,
        ClientRequestToken=token,
        SecretString=json.dumps({"key": "05" * 32}),
        VersionStages=["AWSPENDING"],
    )

    secretsmanager.update_secret_version_stage(
        SecretId=secret, VersionStage="AWSCURRENT", MoveToVersionId=token, RemoveFromVersionId=current
    )

    assert secretsmanager.get_secret_value(SecretId=secret)["VersionId"] == token


def test_11_rotate_secret_with_a_schedule_expression_keeps_only_automatically_after_days(
    secretsmanager: Any, secret: str
) -> None:
    secretsmanager.rotate_secret(SecretId=secret, RotationRules={"ScheduleExpression": "rate(4 hours)"})

    described = secretsmanager.describe_secret(SecretId=secret)

    assert described["RotationRules"] == {"AutomaticallyAfterDays": 0}  # real service: the rules as set
    assert described["RotationEnabled"] is False


def test_10_with_local_rotation_loaded_versions_are_dated_to_the_millisecond(secretsmanager: Any, secret: str) -> None:
    """The service dates versions to the millisecond (AWS's API examples: ``1523477145.713``);
    moto to the whole second, so two steps of one rotation would look simultaneous."""
    token = str(uuid.uuid4())
    stage_empty_pending_version(secret, token)
    secretsmanager.put_secret_value(
        SecretId=secret,
        ClientRequestToken=token,
        SecretString=json.dumps({"key": "06" * 32}),
        VersionStages=["AWSPENDING"],
    )
    current = secretsmanager.get_secret_value(SecretId=secret, VersionStage="AWSCURRENT")["CreatedDate"]
    pending = secretsmanager.get_secret_value(SecretId=secret, VersionId=token)["CreatedDate"]

    assert pending > current  # written in the same second, yet ordered
    assert {current.microsecond % 1000, pending.microsecond % 1000} == {0}  # milliseconds, not finer


def test_12_list_secret_version_ids_dates_every_version_now(secretsmanager: Any, secret: str) -> None:
    from moto.secretsmanager.models import secretsmanager_backends

    from local_rotation.moto_compat import ORIGINAL_LIST_SECRET_VERSION_IDS

    backend = secretsmanager_backends["123456789012"]["us-east-1"]
    (version,) = backend.secrets[secret].versions.values()
    version["createdate"] -= 3600  # created an hour ago

    listed = json.loads(ORIGINAL_LIST_SECRET_VERSION_IDS(backend, secret))["Versions"][0]["CreatedDate"]

    assert listed > version["createdate"] + 3000  # real service: when the version was created


def test_12_with_local_rotation_loaded_list_secret_version_ids_reports_each_versions_date(
    secretsmanager: Any, secret: str
) -> None:
    token = str(uuid.uuid4())
    secretsmanager.put_secret_value(
        SecretId=secret,
        ClientRequestToken=token,
        SecretString=json.dumps({"key": "07" * 32}),
        VersionStages=["AWSPENDING"],
    )
    dates = {
        entry["VersionId"]: entry["CreatedDate"]
        for entry in secretsmanager.list_secret_version_ids(SecretId=secret)["Versions"]
    }
    read = {
        version: secretsmanager.get_secret_value(SecretId=secret, VersionId=version)["CreatedDate"] for version in dates
    }

    assert dates == read


def test_14_list_secret_version_ids_lists_a_version_without_a_value(secretsmanager: Any, secret: str) -> None:
    from moto.secretsmanager.models import secretsmanager_backends

    from local_rotation.moto_compat import ORIGINAL_LIST_SECRET_VERSION_IDS, stage_empty_pending_version

    backend = secretsmanager_backends["123456789012"]["us-east-1"]
    arn = secretsmanager.describe_secret(SecretId=secret)["ARN"]
    token = str(uuid.uuid4())
    stage_empty_pending_version(arn, token)

    raw = [entry["VersionId"] for entry in json.loads(ORIGINAL_LIST_SECRET_VERSION_IDS(backend, secret))["Versions"]]
    served = [entry["VersionId"] for entry in secretsmanager.list_secret_version_ids(SecretId=secret)["Versions"]]

    assert token in raw  # moto lists it
    assert token not in served  # the service "only returns versions that contain a secret value"
    assert token in secretsmanager.describe_secret(SecretId=secret)["VersionIdsToStages"]  # still staged


def test_13_rotate_secret_not_immediately_stages_a_copy_of_awscurrent(secretsmanager: Any, secret: str) -> None:
    """Without a registered function moto's own RotateSecret runs; with RotateImmediately=false
    it stages the configuration test's version holding AWSCURRENT's value (and, without a
    Lambda, even promotes it: item 1). The hook's test removes its version instead."""
    value = secretsmanager.get_secret_value(SecretId=secret)["SecretString"]

    answer = secretsmanager.rotate_secret(SecretId=secret, RotateImmediately=False)

    assert secretsmanager.get_secret_value(SecretId=secret, VersionId=answer["VersionId"])["SecretString"] == value


# --- ElastiCache (items 8-9): moto on its own, without local_servers/elasticache.py ---------------


def _moto_elasticache() -> Any:
    import boto3

    return boto3.client("elasticache", region_name="us-east-1")


def test_8_moto_has_no_modify_user(aws: None) -> None:
    client = _moto_elasticache()
    client.create_user(UserId="moto-8", UserName="moto8", Engine="redis", Passwords=["a" * 16], AccessString="on")

    with pytest.raises(NotImplementedError):
        client.modify_user(UserId="moto-8", Passwords=["b" * 16])


def test_9_moto_modify_replication_group_ignores_the_token_and_is_never_modifying(aws: None) -> None:
    client = _moto_elasticache()
    client.create_replication_group(ReplicationGroupId="moto-9", ReplicationGroupDescription="moto", Engine="redis",
                                    TransitEncryptionEnabled=True, AuthToken="Token-A-0123456789")  # fmt: skip
    before = client.describe_replication_groups(ReplicationGroupId="moto-9")["ReplicationGroups"][0]

    client.modify_replication_group(ReplicationGroupId="moto-9", AuthToken="has.a.dot.the.service.refuses",
                                    AuthTokenUpdateStrategy="ROTATE", ApplyImmediately=True)  # fmt: skip
    after = client.describe_replication_groups(ReplicationGroupId="moto-9")["ReplicationGroups"][0]

    assert after["Status"] == "available"  # real service: modifying, then available minutes later
    assert after["AuthTokenLastModifiedDate"] == before["AuthTokenLastModifiedDate"]
