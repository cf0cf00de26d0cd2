"""Rotation-age check, overdue alarms, API endpoints and the opt-in access alarms."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from aws_cdk.assertions import Match, Template

from infra.config import EnvironmentConfig, load_config
from infra.constructs.access_alarms import CALLS_PATTERN, DENIED_PATTERN
from tests.infra.conftest import synth

BASE, ROTATION = "ShopExampleBase", "ShopExampleRotation0"
ConfigFile = Callable[[dict[str, Any]], Path]


def _statements_of_function(template: Template, handler: str) -> list[dict[str, Any]]:
    resources = template.to_json()["Resources"]
    function = next(r for r in resources.values() if r["Properties"].get("Handler") == handler)
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    policies = [
        r["Properties"]["PolicyDocument"]["Statement"]
        for r in resources.values()
        if r["Type"] == "AWS::IAM::Policy" and {"Ref": role} in r["Properties"]["Roles"]
    ]
    return [statement for policy in policies for statement in policy]


def test_every_secret_has_an_overdue_alarm_at_the_policy(
    example_templates: dict[str, Template], example_config: EnvironmentConfig
) -> None:
    template = example_templates[ROTATION]
    for secret in example_config.secrets:
        name = example_config.secret_name(secret)
        template.has_resource_properties(
            "AWS::CloudWatch::Alarm",
            {
                "MetricName": "DaysSinceLastRotation",
                "Namespace": "SecretRotation",
                "Dimensions": Match.array_with([{"Name": "SecretName", "Value": name}]),
                "Threshold": 90,
                "ComparisonOperator": "GreaterThanThreshold",
                "AlarmActions": Match.any_value(),
            },
        )
        template.has_resource_properties(
            "AWS::SecretsManager::Secret",
            {"Name": name, "Tags": Match.array_with([{"Key": "rotation-kit:environment", "Value": "shop/example"}])},
        )


def test_rotation_age_check_runs_every_six_hours_and_may_only_list_secrets(
    example_templates: dict[str, Template],
) -> None:
    base = example_templates[BASE]
    handler = "lambdas.rotation_monitor.handler.lambda_handler"
    base.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": handler,
            "ReservedConcurrentExecutions": 1,
            "Environment": {"Variables": Match.object_like({"ENVIRONMENT_TAG_VALUE": "shop/example",
                                                             "MAX_ROTATION_DAYS": "90"})},
        },
    )  # fmt: skip
    base.has_resource_properties("AWS::Events::Rule", {"ScheduleExpression": "rate(6 hours)"})
    statements = _statements_of_function(base, handler)
    assert statements == [{"Action": "secretsmanager:ListSecrets", "Effect": "Allow", "Resource": "*"}]
    base.has_resource_properties(
        "AWS::CloudWatch::Alarm", {"MetricName": "Errors", "AlarmActions": Match.any_value(), "Threshold": 1}
    )


def test_dashboard_shows_days_since_last_rotation(example_templates: dict[str, Template]) -> None:
    dashboards = example_templates[BASE].find_resources("AWS::CloudWatch::Dashboard")
    body = str(next(iter(dashboards.values()))["Properties"]["DashboardBody"])
    assert "DaysSinceLastRotation" in body
    assert "rotation policy" in body


def test_functions_in_the_vpc_get_a_secrets_manager_endpoint_by_default(
    example_templates: dict[str, Template],
) -> None:
    endpoints = example_templates[BASE].find_resources("AWS::EC2::VPCEndpoint")
    assert len(endpoints) == 1  # the example's ElastiCache kinds run outside the VPC
    (endpoint,) = endpoints.values()
    assert endpoint["Properties"]["PrivateDnsEnabled"] is True
    assert endpoint["Properties"]["VpcEndpointType"] == "Interface"
    assert "secretsmanager" in str(endpoint["Properties"]["ServiceName"])


def test_nat_access_creates_no_endpoint_and_opens_https_egress(config_file: ConfigFile, tmp_path: Path) -> None:
    templates = synth(load_config(config_file({"network.api_access": "nat"})), tmp_path)
    assert templates[BASE].find_resources("AWS::EC2::VPCEndpoint") == {}
    templates[ROTATION].has_resource_properties(
        "AWS::EC2::SecurityGroup",
        {"SecurityGroupEgress": Match.array_with([Match.object_like(
            {"CidrIp": "0.0.0.0/0", "FromPort": 443, "ToPort": 443, "IpProtocol": "tcp"})])},
    )  # fmt: skip


def test_existing_endpoints_are_reached_inside_the_vpc(config_file: ConfigFile, tmp_path: Path) -> None:
    templates = synth(load_config(config_file({"network.api_access": "existing"})), tmp_path, nag=False)
    assert templates[BASE].find_resources("AWS::EC2::VPCEndpoint") == {}
    templates[ROTATION].has_resource_properties(
        "AWS::EC2::SecurityGroup",
        {"SecurityGroupEgress": Match.array_with([Match.object_like({"CidrIp": "10.20.0.0/16", "FromPort": 443})])},
    )


def test_access_alarms_are_off_unless_a_trail_log_group_is_configured(
    example_templates: dict[str, Template], config_file: ConfigFile, tmp_path: Path
) -> None:
    assert example_templates[BASE].find_resources("AWS::Logs::MetricFilter") == {}
    path = config_file({"alerts.access_monitoring": {"cloudtrail_log_group": "org-trail/management-events"}})
    base = synth(load_config(path), tmp_path)[BASE]
    base.has_resource_properties(
        "AWS::Logs::MetricFilter",
        {"LogGroupName": "org-trail/management-events", "FilterPattern": DENIED_PATTERN,
         "MetricTransformations": [Match.object_like({"MetricName": "shop-example-GetSecretValueDenied"})]},
    )  # fmt: skip
    base.has_resource_properties("AWS::Logs::MetricFilter", {"FilterPattern": CALLS_PATTERN})
    base.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {"MetricName": "shop-example-GetSecretValueDenied", "Threshold": 1, "AlarmActions": Match.any_value()},
    )
    base.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {"ThresholdMetricId": Match.any_value(), "ComparisonOperator": "GreaterThanUpperThreshold",
         "AlarmActions": Match.any_value()},
    )  # fmt: skip
