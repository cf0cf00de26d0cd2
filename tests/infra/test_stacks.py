"""What the example environment deploys, resource by resource and statement by statement."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from infra.config import EnvironmentConfig, load_config
from tests.infra.conftest import synth

BASE, ROTATION = "ShopExampleBase", "ShopExampleRotation0"
GROUP = "shop-sessions"
ONLY_THIS_ACCOUNT = {"StringNotEquals": {"aws:PrincipalAccount": "123456789012"}}
SECRET_ACTIONS = [
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage",
]


def _resources(template: Template, kind: str) -> dict[str, Any]:
    return dict(template.find_resources(kind))


def _logical_id(template: Template, kind: str, **props: Any) -> str:
    found = template.find_resources(kind, {"Properties": props})
    assert len(found) == 1, f"expected one {kind} with {props}, found {len(found)}"
    return str(next(iter(found)))


def _function_policy(template: Template, kind: str) -> list[dict[str, Any]]:
    function = _logical_id(template, "AWS::Lambda::Function", Handler=f"lambdas.{kind}.handler.lambda_handler")
    role = template.to_json()["Resources"][function]["Properties"]["Role"]["Fn::GetAtt"][0]
    policies = [
        resource["Properties"]
        for resource in _resources(template, "AWS::IAM::Policy").values()
        if {"Ref": role} in resource["Properties"]["Roles"]
    ]
    assert len(policies) == 1
    return list(policies[0]["PolicyDocument"]["Statement"])


def _secret_id(template: Template, name: str) -> str:
    return _logical_id(template, "AWS::SecretsManager::Secret", Name=name)


def test_environment_key_rotates_and_encrypts_every_secret(example_templates: dict[str, Template]) -> None:
    example_templates[BASE].has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    secrets = _resources(example_templates[ROTATION], "AWS::SecretsManager::Secret")
    assert len(secrets) == 5
    for secret in secrets.values():
        assert "Fn::ImportValue" in secret["Properties"]["KmsKeyId"]


def test_one_function_per_kind_arm64_python313_capped_and_logged(example_templates: dict[str, Template]) -> None:
    template = example_templates[ROTATION]
    functions = _resources(template, "AWS::Lambda::Function")
    assert sorted(f["Properties"]["Handler"] for f in functions.values()) == sorted(
        f"lambdas.{kind}.handler.lambda_handler"
        for kind in ("hmac_key", "postgres_alternating", "valkey_acl", "elasticache_user", "elasticache_auth_token")
    )
    for function in functions.values():
        properties = function["Properties"]
        assert properties["Runtime"] == "python3.13"
        assert properties["Architectures"] == ["arm64"]
        assert properties["ReservedConcurrentExecutions"] == 5
        assert properties["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"] == "SecretRotation"
    template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 365, "KmsKeyId": Match.any_value()})
    template.has_resource_properties(
        "AWS::Lambda::Function", {"Handler": "lambdas.elasticache_user.handler.lambda_handler", "Timeout": 120}
    )


def test_schedules_come_from_config_with_window_and_rotate_immediately(
    example_templates: dict[str, Template], example_config: EnvironmentConfig
) -> None:
    template = example_templates[ROTATION]
    for secret in example_config.secrets:
        rules: dict[str, Any] = {"ScheduleExpression": secret.schedule}
        if secret.window:
            rules["Duration"] = secret.window
        template.has_resource_properties(
            "AWS::SecretsManager::RotationSchedule",
            {
                "SecretId": {"Ref": _secret_id(template, example_config.secret_name(secret))},
                "RotationRules": rules,
                "RotateImmediatelyOnUpdate": secret.rotate_immediately_on_update,
            },
        )


def test_secrets_manager_may_invoke_each_function_only_for_its_own_secret(
    example_templates: dict[str, Template], example_config: EnvironmentConfig
) -> None:
    template = example_templates[ROTATION]
    permissions = [
        p["Properties"]
        for p in _resources(template, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "secretsmanager.amazonaws.com"
    ]
    assert len(permissions) == len(example_config.secrets)
    secret_refs = {
        _secret_id(template, example_config.secret_name(secret)): secret.kind for secret in example_config.secrets
    }
    for permission in permissions:
        assert permission["SourceAccount"] == "123456789012"
        assert permission["SourceArn"]["Ref"] in secret_refs


@pytest.mark.parametrize(
    "kind", ["hmac_key", "postgres_alternating", "valkey_acl", "elasticache_user", "elasticache_auth_token"]
)
def test_each_function_may_touch_only_its_own_secrets_key_and_target(
    example_templates: dict[str, Template], example_config: EnvironmentConfig, kind: str
) -> None:
    template = example_templates[ROTATION]
    statements = _function_policy(template, kind)
    own = [s for s in example_config.secrets if s.kind == kind]
    secret_statement = next(s for s in statements if "secretsmanager:PutSecretValue" in s["Action"])
    assert sorted(secret_statement["Action"]) == SECRET_ACTIONS
    resources = (
        secret_statement["Resource"]
        if isinstance(secret_statement["Resource"], list)
        else [secret_statement["Resource"]]
    )
    assert sorted(r["Ref"] for r in resources) == sorted(
        _secret_id(template, example_config.secret_name(s)) for s in own
    )
    kms = next(s for s in statements if s["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"])
    assert kms["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}}
    other = [s for s in statements if s is not secret_statement and s is not kms]
    target = own[0].target
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


def test_networked_functions_reach_exactly_their_targets_ports(example_templates: dict[str, Template]) -> None:
    template = example_templates[ROTATION]
    groups = _resources(template, "AWS::EC2::SecurityGroup")
    egress = {
        group["Properties"]["GroupDescription"].split(" ")[0]: sorted(
            (rule.get("DestinationSecurityGroupId", rule.get("CidrIp")), rule["FromPort"])
            for rule in group["Properties"]["SecurityGroupEgress"]
        )
        for group in groups.values()
    }
    assert egress == {
        "postgres_alternating": [("10.20.0.0/16", 443), ("sg-0a1b2c3d4e5f60733", 5432)],
        "valkey_acl": [("10.20.0.0/16", 443), ("sg-0a1b2c3d4e5f60744", 6379)],
    }


def test_secret_resource_policy_denies_every_other_account(example_templates: dict[str, Template]) -> None:
    example_templates[ROTATION].has_resource_properties(
        "AWS::SecretsManager::ResourcePolicy",
        {"ResourcePolicy": {"Statement": [{"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "secretsmanager:*",
                                           "Resource": "*",
                                           "Condition": ONLY_THIS_ACCOUNT}]}},
    )  # fmt: skip


def test_alert_topic_is_encrypted_tls_only_and_subscribed(example_templates: dict[str, Template]) -> None:
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


def test_alarms_and_rotation_event_rule_page_the_topic(example_templates: dict[str, Template]) -> None:
    template = example_templates[ROTATION]
    alarms = _resources(template, "AWS::CloudWatch::Alarm")
    per_function = [a for a in alarms.values() if a["Properties"].get("MetricName") != "DaysSinceLastRotation"]
    assert len(per_function) == 5 * 4  # StepFailed, Errors, Throttles, DurationNearTimeout per function
    assert len(alarms) - len(per_function) == 5  # one overdue alarm per secret
    assert all(alarm["Properties"]["AlarmActions"] for alarm in alarms.values())
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {"MetricName": "StepFailed", "Namespace": "SecretRotation",
         "Dimensions": Match.array_with([{"Name": "kind", "Value": "valkey_acl"}])},
    )  # fmt: skip
    template.has_resource_properties(
        "AWS::Events::Rule",
        {"EventPattern": {"source": ["aws.secretsmanager"],
                          "detail": {"eventName": ["RotationFailed", "TestRotationFailed", "RotationAbandoned"]}}},
    )  # fmt: skip


def test_consumers_get_read_only_access_to_exactly_their_secrets(
    example_templates: dict[str, Template], example_config: EnvironmentConfig
) -> None:
    template = example_templates[ROTATION]
    policies = _resources(template, "AWS::IAM::ManagedPolicy")
    assert len(policies) == 1
    statements = next(iter(policies.values()))["Properties"]["PolicyDocument"]["Statement"]
    read = statements[0]
    assert read["Action"] == ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    expected = sorted(
        _secret_id(template, example_config.secret_name(s)) for s in example_config.secrets if s.consumers
    )
    assert sorted(r["Ref"] for r in read["Resource"]) == expected
    assert statements[1]["Action"] == "kms:Decrypt"
    assert statements[1]["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}}


def test_dashboard_exists_for_the_environment(example_templates: dict[str, Template]) -> None:
    example_templates[BASE].has_resource_properties(
        "AWS::CloudWatch::Dashboard", {"DashboardName": "shop-example-secret-rotation"}
    )


def test_initial_value_by_reference_never_puts_the_value_in_the_template(
    config_file: Callable[[dict[str, Any]], Path], tmp_path: Path
) -> None:
    source = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/legacy/db-AbCdEf"
    path = config_file({"secrets.1.initial_value_from": {"secret_arn": source, "json_field": "password"}})
    template = synth(load_config(path), tmp_path, nag=False)[ROTATION]
    secret = template.to_json()["Resources"][_secret_id(template, "shop/example/postgres_alternating/main")]

    assert "GenerateSecretString" not in secret["Properties"]
    text = secret["Properties"]["SecretString"]  # CloudFormation resolves the reference at deploy
    reference = f"{{{{resolve:secretsmanager:{source}:SecretString:password::}}}}"
    assert text.count(reference) == 1
    shape = json.loads(text.replace(reference, "PLACEHOLDER"))
    assert shape["password"] == "PLACEHOLDER"
    assert shape["username"] == "app"
    assert shape["masterarn"].endswith("shop/example/postgres/admin-AbCdEf")
