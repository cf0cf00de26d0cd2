"""Rotation-age check, overdue alarms, silence and rotation-off alarms, API endpoints and the
opt-in access alarms."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aws_cdk.assertions import Match, Template

from infra.config import EnvironmentConfig, load_config
from infra.constructs.access_alarms import CALLS_PATTERN, DENIED_PATTERN
from tests.infra.conftest import Templates, resolver, rotation_stacks, stack_of, synth

BASE = "ShopExampleBase"
ConfigFile = Callable[[dict[str, Any]], Path]
MONITOR = "lambdas.rotation_monitor.handler.lambda_handler"


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


def _alarm(template: Template, logical_prefix: str) -> dict[str, Any]:
    found = [a for i, a in template.find_resources("AWS::CloudWatch::Alarm").items() if i.startswith(logical_prefix)]
    assert len(found) == 1, logical_prefix
    return found[0]["Properties"]  # type: ignore[no-any-return]


def _dimensions(alarm: dict[str, Any]) -> dict[str, str]:
    return {d["Name"]: d["Value"] for d in alarm["Dimensions"]}


def test_every_secret_has_an_overdue_alarm_at_the_policy(
    example_templates: Templates, example_config: EnvironmentConfig
) -> None:
    for secret in example_config.secrets:
        name = example_config.secret_name(secret)
        stack, _ = stack_of(example_templates, name)
        template = example_templates[stack]
        alarms = [a["Properties"] for a in template.find_resources("AWS::CloudWatch::Alarm").values()
                  if a["Properties"].get("MetricName") == "DaysSinceLastRotation"
                  and _dimensions(a["Properties"]).get("SecretName") == name]  # fmt: skip
        assert len(alarms) == 1
        (alarm,) = alarms
        assert _dimensions(alarm) == {"service": "secret-rotation", "environment": "shop/example", "SecretName": name}
        assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (90, "GreaterThanThreshold")
        assert alarm["AlarmActions"]
        template.has_resource_properties(
            "AWS::SecretsManager::Secret",
            {"Name": name, "Tags": Match.array_with([{"Key": "rotation-kit:environment", "Value": "shop/example"}])},
        )


def test_rotation_age_check_runs_every_six_hours_unreserved_and_may_only_list_and_describe(
    example_templates: Templates,
) -> None:
    base = example_templates[BASE]
    (function,) = [f for f in base.find_resources("AWS::Lambda::Function").values()
                   if f["Properties"]["Handler"] == MONITOR]  # fmt: skip
    properties = function["Properties"]
    # A reserved concurrency of even 1 fails the deploy on accounts with a low concurrency quota.
    assert "ReservedConcurrentExecutions" not in properties
    assert {"ENVIRONMENT_TAG_VALUE": "shop/example", "MAX_ROTATION_DAYS": "90"}.items() <= properties[
        "Environment"]["Variables"].items()  # fmt: skip
    base.has_resource_properties("AWS::Events::Rule", {"ScheduleExpression": "rate(6 hours)"})
    statements = _statements_of_function(base, MONITOR)
    prefix = "arn:aws:secretsmanager:{}:123456789012:secret:shop/example/*"
    assert statements == [
        {"Action": "secretsmanager:ListSecrets", "Effect": "Allow", "Resource": "*"},
        # ReplicationStatus is in DescribeSecret only; the replica's own state in its Region
        {"Action": "secretsmanager:DescribeSecret", "Effect": "Allow",
         "Resource": [prefix.format("eu-west-1"), prefix.format("eu-central-1")]},
    ]  # fmt: skip
    failing = _alarm(base, "RotationAgeCheckFailing")
    assert (failing["MetricName"], failing["Threshold"]) == ("Errors", 1)


def test_silence_of_the_age_check_is_an_alarm_and_its_first_run_comes_first(example_templates: Templates) -> None:
    base = example_templates[BASE]
    silent = _alarm(base, "RotationAgeCheckSilent")

    assert silent["TreatMissingData"] == "breaching"  # no data is not health
    assert (silent["MetricName"], silent["Statistic"], silent["ComparisonOperator"], silent["Threshold"]) == (
        "OverdueSecrets", "SampleCount", "LessThanThreshold", 1)  # fmt: skip
    assert _dimensions(silent) == {"service": "secret-rotation", "environment": "shop/example"}
    assert (silent["EvaluationPeriods"], silent["DatapointsToAlarm"], silent["Period"]) == (2, 2, 6 * 3600)
    assert silent["AlarmActions"]
    resources = base.to_json()["Resources"]
    (first_run,) = base.find_resources("Custom::RotationAgeCheck")
    silent_id = next(i for i in resources if i.startswith("RotationAgeCheckSilent"))
    assert first_run in resources[silent_id]["DependsOn"]  # the check has published before the alarm exists
    service_token = resources[first_run]["Properties"]["ServiceToken"]["Fn::GetAtt"][0]
    assert resources[service_token]["Properties"]["Handler"] == MONITOR


def test_a_secret_with_rotation_turned_off_raises_an_alarm(example_templates: Templates) -> None:
    off = _alarm(example_templates[BASE], "RotationAgeRotationOff")

    assert (off["MetricName"], off["ComparisonOperator"], off["Threshold"]) == (
        "RotationOffSecrets", "GreaterThanOrEqualToThreshold", 1)  # fmt: skip
    assert _dimensions(off) == {"service": "secret-rotation", "environment": "shop/example"}
    assert off["AlarmActions"]


def _dashboard(templates: Templates) -> dict[str, Any]:
    """The dashboard body as CloudWatch will read it (references resolved)."""
    base = templates[BASE].to_json()["Resources"]
    (logical_id,) = [i for i, r in base.items() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    body = resolver(templates).resolve(base[logical_id]["Properties"]["DashboardBody"], BASE)
    return json.loads(body)  # type: ignore[no-any-return]


def test_dashboard_shows_days_since_last_rotation_of_this_environment(example_templates: Templates) -> None:
    widgets = _dashboard(example_templates)["widgets"]
    expressions = [
        m[0]["expression"] for w in widgets for m in w["properties"].get("metrics", []) if "expression" in m[0]
    ]

    age = next(e for e in expressions if "DaysSinceLastRotation" in e)
    assert 'environment="shop/example"' in age
    # SEARCH draws at most 500 series: the environment's oldest age is graphed as one metric beside it
    (age_widget,) = [w for w in widgets if "DaysSinceLastRotation" in str(w["properties"].get("metrics"))]
    (oldest,) = [m for m in age_widget["properties"]["metrics"] if "OldestRotationDays" in m]
    assert oldest[:2] == ["SecretRotation", "OldestRotationDays"]
    assert "shop/example" in oldest
    assert any(
        a.get("label") == "rotation policy"
        for w in widgets
        for a in w["properties"].get("annotations", {}).get("horizontal", [])
    )


def test_dashboard_log_queries_name_only_log_groups_the_base_stack_creates(example_templates: Templates) -> None:
    base = example_templates[BASE].to_json()["Resources"]
    created = {r["Properties"]["LogGroupName"] for r in base.values() if r["Type"] == "AWS::Logs::LogGroup"}
    queries = {w["properties"]["title"]: set(re.findall(r"SOURCE '([^']+)'", w["properties"]["query"]))
               for w in _dashboard(example_templates)["widgets"] if w["type"] == "log"}  # fmt: skip
    kinds = ("hmac_key", "postgres_alternating", "valkey_acl", "elasticache_user", "elasticache_auth_token")
    in_use = {f"/aws/lambda/shop-example-rotation/{kind}" for kind in kinds}
    assert queries["Step outcomes per secret (last rotation first)"] == in_use
    assert queries["Replica health per secret and Region (latest check)"] == {"/aws/lambda/shop-example-rotation-age"}
    for queried in queries.values():
        assert queried <= created
        assert len(queried) <= 50  # Logs Insights: at most 50 log groups per query


def test_functions_in_the_vpc_get_a_secrets_manager_endpoint_by_default(example_templates: Templates) -> None:
    endpoints = example_templates[BASE].find_resources("AWS::EC2::VPCEndpoint")
    assert len(endpoints) == 1  # the example's ElastiCache kinds run outside the VPC
    (endpoint,) = endpoints.values()
    assert endpoint["Properties"]["PrivateDnsEnabled"] is True
    assert endpoint["Properties"]["VpcEndpointType"] == "Interface"
    assert "secretsmanager" in str(endpoint["Properties"]["ServiceName"])


def _egress(templates: Templates) -> list[dict[str, Any]]:
    return [
        rule
        for template in rotation_stacks(templates).values()
        for group in template.find_resources("AWS::EC2::SecurityGroup").values()
        for rule in group["Properties"]["SecurityGroupEgress"]
    ]


def test_nat_access_creates_no_endpoint_and_opens_https_egress(config_file: ConfigFile, tmp_path: Path) -> None:
    templates = synth(load_config(config_file({"network.api_access": "nat"})), tmp_path)
    assert templates[BASE].find_resources("AWS::EC2::VPCEndpoint") == {}
    assert any(
        r.get("CidrIp") == "0.0.0.0/0" and (r["FromPort"], r["ToPort"]) == (443, 443) for r in _egress(templates)
    )


def test_existing_endpoints_are_reached_inside_the_vpc(config_file: ConfigFile, tmp_path: Path) -> None:
    templates = synth(load_config(config_file({"network.api_access": "existing"})), tmp_path, nag=False)
    assert templates[BASE].find_resources("AWS::EC2::VPCEndpoint") == {}
    assert any(r.get("CidrIp") == "10.20.0.0/16" and r["FromPort"] == 443 for r in _egress(templates))


def test_shared_endpoints_are_reached_through_their_security_group(config_file: ConfigFile, tmp_path: Path) -> None:
    path = config_file({"network.api_access": "existing", "network.endpoint_security_group_id": "sg-0a1b2c3d4e5f6079a"})
    templates = synth(load_config(path), tmp_path, nag=False)
    https = [r for r in _egress(templates) if r["FromPort"] == 443]
    assert https
    assert all(r.get("DestinationSecurityGroupId") == "sg-0a1b2c3d4e5f6079a" for r in https)


def test_access_alarms_are_off_unless_a_trail_log_group_is_configured(
    example_templates: Templates, config_file: ConfigFile, tmp_path: Path
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
