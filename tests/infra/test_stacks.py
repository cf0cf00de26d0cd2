"""What the example environment deploys, resource by resource and statement by statement."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from infra.config import EnvironmentConfig, SecretConfig, load_config
from tests.infra.conftest import Templates, rotation_stacks, stack_of, synth

BASE = "ShopExampleBase"
GROUP = "shop-sessions"
ONLY_THIS_ACCOUNT = {"StringNotEquals": {"aws:PrincipalAccount": "123456789012"}}
SECRET_ACTIONS = [
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage",
]
KINDS = ("hmac_key", "postgres_alternating", "valkey_acl", "elasticache_user", "elasticache_auth_token")


def _resources(template: Template, kind: str) -> dict[str, Any]:
    return dict(template.find_resources(kind))


def _all(templates: Templates, kind: str) -> list[dict[str, Any]]:
    """Every resource of ``kind`` in the rotation stacks."""
    return [r for template in rotation_stacks(templates).values() for r in _resources(template, kind).values()]


def _secret(templates: Templates, config: EnvironmentConfig, secret: SecretConfig) -> tuple[Template, str]:
    stack, logical_id = stack_of(templates, config.secret_name(secret))
    return templates[stack], logical_id


def _function_of(template: Template, secret_id: str) -> dict[str, Any]:
    """The function a secret's rotation schedule invokes."""
    resources = template.to_json()["Resources"]
    schedule = next(
        r for r in resources.values()
        if r["Type"] == "AWS::SecretsManager::RotationSchedule" and r["Properties"]["SecretId"] == {"Ref": secret_id}
    )  # fmt: skip
    return resources[schedule["Properties"]["RotationLambdaARN"]["Fn::GetAtt"][0]]  # type: ignore[no-any-return]


def _function_policy(template: Template, function: dict[str, Any]) -> list[dict[str, Any]]:
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    policies = [
        resource["Properties"]
        for resource in _resources(template, "AWS::IAM::Policy").values()
        if {"Ref": role} in resource["Properties"]["Roles"]
    ]
    assert len(policies) == 1
    return list(policies[0]["PolicyDocument"]["Statement"])


def test_environment_key_rotates_and_encrypts_every_secret(example_templates: Templates) -> None:
    example_templates[BASE].has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    secrets = _all(example_templates, "AWS::SecretsManager::Secret")
    assert len(secrets) == 5
    for secret in secrets:
        assert "Fn::ImportValue" in secret["Properties"]["KmsKeyId"]


def test_one_function_per_kind_arm64_python313_uncapped_and_logged_to_its_kind(
    example_templates: Templates, example_config: EnvironmentConfig
) -> None:
    functions = _all(example_templates, "AWS::Lambda::Function")
    assert sorted(f["Properties"]["Handler"] for f in functions) == sorted(
        f"lambdas.{kind}.handler.lambda_handler" for kind in KINDS
    )
    for function in functions:
        properties = function["Properties"]
        kind = properties["Handler"].split(".")[1]
        assert properties["Runtime"] == "python3.13"
        assert properties["Architectures"] == ["arm64"]
        assert "ReservedConcurrentExecutions" not in properties  # opt-in (reserved_concurrency)
        variables = properties["Environment"]["Variables"]
        assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "SecretRotation"
        assert variables["ROTATION_ENVIRONMENT"] == "shop/example"
        assert properties["LoggingConfig"]["LogGroup"] == f"/aws/lambda/shop-example-rotation/{kind}"
        assert properties["FunctionName"].startswith("shop-example-rotate-")
        if kind.startswith("elasticache"):
            # the ElastiCache wait (600 s by default, as AWS's own sample) fits with a margin
            assert variables["ELASTICACHE_WAIT_SECONDS"] == "600"
            assert properties["Timeout"] == 660
        else:
            assert properties["Timeout"] == 60
    base_groups = _resources(example_templates[BASE], "AWS::Logs::LogGroup")
    assert {g["Properties"]["LogGroupName"] for g in base_groups.values()} >= {
        f"/aws/lambda/shop-example-rotation/{kind}" for kind in KINDS
    }
    for group in base_groups.values():
        assert group["Properties"]["RetentionInDays"] == 365
        assert "KmsKeyId" in group["Properties"]


def test_schedules_come_from_config_with_window(
    example_templates: Templates, example_config: EnvironmentConfig
) -> None:
    for secret in example_config.secrets:
        template, secret_id = _secret(example_templates, example_config, secret)
        rules: dict[str, Any] = {"ScheduleExpression": secret.schedule}
        if secret.window:
            rules["Duration"] = secret.window
        template.has_resource_properties(
            "AWS::SecretsManager::RotationSchedule",
            {"SecretId": {"Ref": secret_id}, "RotationRules": rules, "RotateImmediatelyOnUpdate": Match.any_value()},
        )


def test_secrets_manager_may_invoke_each_function_only_for_its_own_secret(
    example_templates: Templates, example_config: EnvironmentConfig
) -> None:
    for secret in example_config.secrets:
        template, secret_id = _secret(example_templates, example_config, secret)
        template.has_resource_properties(
            "AWS::Lambda::Permission",
            {"Principal": "secretsmanager.amazonaws.com", "SourceAccount": "123456789012",
             "SourceArn": {"Ref": secret_id}},
        )  # fmt: skip


@pytest.mark.parametrize("kind", KINDS)
def test_each_function_may_touch_only_its_own_secrets_key_and_target(
    example_templates: Templates, example_config: EnvironmentConfig, kind: str
) -> None:
    secret = next(s for s in example_config.secrets if s.kind == kind)
    template, secret_id = _secret(example_templates, example_config, secret)
    statements = _function_policy(template, _function_of(template, secret_id))
    secret_statement = next(s for s in statements if "secretsmanager:PutSecretValue" in s["Action"])
    assert sorted(secret_statement["Action"]) == SECRET_ACTIONS
    assert secret_statement["Resource"] == {"Ref": secret_id}
    kms = next(s for s in statements if s["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"])
    assert kms["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}}
    other = [s for s in statements if s is not secret_statement and s is not kms]
    target = secret.target
    if kind == "elasticache_user":
        assert other == [{"Action": ["elasticache:ModifyUser", "elasticache:DescribeUsers"], "Effect": "Allow",
                          "Resource": target.user_arn}]  # fmt: skip
    elif kind == "elasticache_auth_token":
        group_arn = f"arn:aws:elasticache:eu-west-1:123456789012:replicationgroup:{GROUP}"
        assert other == [
            {
                "Action": ["elasticache:ModifyReplicationGroup", "elasticache:DescribeReplicationGroups"],
                "Effect": "Allow",
                "Resource": group_arn,
            }
        ]
    elif kind in ("postgres_alternating", "valkey_acl"):
        assert other == [
            {"Action": "secretsmanager:GetSecretValue", "Effect": "Allow", "Resource": target.admin_secret_arn}
        ]
    else:
        assert other == []
    for statement in statements:
        assert "*" not in str(statement["Resource"]), f"wildcard resource in {statement}"


def test_networked_functions_reach_exactly_their_targets_ports(example_templates: Templates) -> None:
    groups = _all(example_templates, "AWS::EC2::SecurityGroup")
    egress = {
        group["Properties"]["GroupDescription"].split(" ")[0]: sorted(
            (rule.get("DestinationSecurityGroupId", rule.get("CidrIp")), rule["FromPort"])
            for rule in group["Properties"]["SecurityGroupEgress"]
        )
        for group in groups
    }
    assert egress == {
        "postgres_alternating": [("10.20.0.0/16", 443), ("sg-0a1b2c3d4e5f60733", 5432)],
        "valkey_acl": [("10.20.0.0/16", 443), ("sg-0a1b2c3d4e5f60744", 6379)],
    }


def test_target_security_groups_admit_their_rotation_function_before_its_schedule(
    example_templates: Templates, example_config: EnvironmentConfig
) -> None:
    secret = next(s for s in example_config.secrets if s.kind == "postgres_alternating")
    template, secret_id = _secret(example_templates, example_config, secret)
    resources = template.to_json()["Resources"]
    (ingress_id,) = template.find_resources("AWS::EC2::SecurityGroupIngress")
    ingress = resources[ingress_id]["Properties"]
    assert (ingress["GroupId"], ingress["FromPort"], ingress["ToPort"], ingress["IpProtocol"]) == (
        "sg-0a1b2c3d4e5f60733", 5432, 5432, "tcp")  # fmt: skip
    function_group = _function_of(template, secret_id)["Properties"]["VpcConfig"]["SecurityGroupIds"][0]
    assert ingress["SourceSecurityGroupId"] == function_group
    schedule = next(r for r in resources.values() if r["Type"] == "AWS::SecretsManager::RotationSchedule"
                    and r["Properties"]["SecretId"] == {"Ref": secret_id})  # fmt: skip
    assert ingress_id in schedule["DependsOn"]  # the deploy-time rotation connects through it


SECURITY_GROUP_TEXT = re.compile(r"^[a-zA-Z0-9 ._\-:/()#,@\[\]+=&;{}!$*]{0,255}$")


def test_security_group_descriptions_use_only_the_characters_ec2_allows(example_templates: Templates) -> None:
    """EC2 (AuthorizeSecurityGroupIngress, CreateSecurityGroup): descriptions are up to 255 of
    a-z, A-Z, 0-9, spaces and ._-:/()#,@[]+=&;{}!$* -- anything else fails the deploy."""
    texts = [
        text
        for template in example_templates.values()
        for resource in template.to_json()["Resources"].values()
        if resource["Type"].startswith("AWS::EC2::SecurityGroup")
        for text in [resource["Properties"].get("GroupDescription", ""), resource["Properties"].get("Description", "")]
        + [rule.get("Description", "") for rule in resource["Properties"].get("SecurityGroupEgress", [])]
        + [rule.get("Description", "") for rule in resource["Properties"].get("SecurityGroupIngress", [])]
    ]
    assert len(texts) > 5
    assert [text for text in texts if not SECURITY_GROUP_TEXT.match(text)] == []


def test_secret_resource_policy_denies_every_other_account(example_templates: Templates) -> None:
    for template in rotation_stacks(example_templates).values():
        for policy in _resources(template, "AWS::SecretsManager::ResourcePolicy").values():
            assert policy["Properties"]["ResourcePolicy"]["Statement"] == [
                {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "secretsmanager:*", "Resource": "*",
                 "Condition": ONLY_THIS_ACCOUNT}
            ]  # fmt: skip


def test_alert_topic_is_encrypted_tls_only_and_subscribed(example_templates: Templates) -> None:
    base = example_templates[BASE]
    base.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    base.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "platform-oncall@example.com"}
    )
    base.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {"PolicyDocument": {"Statement": Match.array_with([Match.object_like(
            {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})])}},
    )  # fmt: skip


def test_alarms_page_the_topic(example_templates: Templates) -> None:
    alarms = {
        logical_id: alarm
        for template in example_templates.values()
        for logical_id, alarm in _resources(template, "AWS::CloudWatch::Alarm").items()
    }
    by_metric = Counter(alarm["Properties"].get("MetricName") for alarm in alarms.values())
    assert by_metric["DaysSinceLastRotation"] == 5  # one overdue alarm per secret
    assert by_metric["StepFailed"] == 5  # one per kind in use, for the environment
    assert by_metric["Throttles"] == by_metric["Duration"] == 5  # per function
    assert all(alarm["Properties"]["AlarmActions"] for alarm in alarms.values())
    step_failed = [a["Properties"] for a in alarms.values() if a["Properties"].get("MetricName") == "StepFailed"]
    dimensions = [{d["Name"]: d["Value"] for d in alarm["Dimensions"]} for alarm in step_failed]
    assert {"service": "secret-rotation", "environment": "shop/example", "kind": "valkey_acl"} in dimensions


def test_consumer_gets_one_read_only_policy_for_the_environment(
    example_templates: Templates, example_config: EnvironmentConfig
) -> None:
    policies = [p for t in example_templates.values() for p in _resources(t, "AWS::IAM::ManagedPolicy").values()
                if "Roles" in p["Properties"]]  # fmt: skip
    assert len(policies) == 1  # in the base stack, whatever stacks its secrets are in
    statements = policies[0]["Properties"]["PolicyDocument"]["Statement"]
    read = statements[0]
    assert read["Action"] == ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    expected = sorted(
        f"arn:aws:secretsmanager:{region}:123456789012:secret:{example_config.secret_name(s)}-??????"
        for s in example_config.secrets
        if s.consumers
        for region in ("eu-west-1", *example_config.replica_regions_of(s))
    )
    assert any(":eu-central-1:" in arn for arn in expected)  # the example's consumer reads the replicas too
    assert sorted(read["Resource"]) == expected
    assert statements[1]["Action"] == "kms:Decrypt"
    assert statements[1]["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}}


def test_dashboard_exists_for_the_environment(example_templates: Templates) -> None:
    example_templates[BASE].has_resource_properties(
        "AWS::CloudWatch::Dashboard", {"DashboardName": "shop-example-secret-rotation"}
    )


def test_initial_value_by_reference_never_puts_the_value_in_the_template(
    config_file: Callable[[dict[str, Any]], Path], tmp_path: Path
) -> None:
    source = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/legacy/db-AbCdEf"
    path = config_file({"secrets.1.initial_value_from": {"secret_arn": source, "json_field": "password"}})
    templates = synth(load_config(path), tmp_path, nag=False)
    stack, secret_id = stack_of(templates, "shop/example/postgres_alternating/main")
    secret = templates[stack].to_json()["Resources"][secret_id]

    assert "GenerateSecretString" not in secret["Properties"]
    text = secret["Properties"]["SecretString"]  # CloudFormation resolves the reference at deploy
    reference = f"{{{{resolve:secretsmanager:{source}:SecretString:password::}}}}"
    assert text.count(reference) == 1
    shape = json.loads(text.replace(reference, "PLACEHOLDER"))
    assert shape["password"] == "PLACEHOLDER"
    assert shape["username"] == "app"
    assert shape["masterarn"].endswith("shop/example/postgres/admin-AbCdEf")
