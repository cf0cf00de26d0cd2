"""Two environments in one account, region and VPC: their alarms watch only their own metrics,
their names never collide, and only one of them creates the VPC's interface endpoints."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from aws_cdk import App

from app import build_app
from infra.config import ConfigError
from lambdas.rotation import telemetry
from tests.infra.configs import config_from, example_raw
from tests.infra.conftest import Templates, resolver, synth

NAMED = ("FunctionName", "LogGroupName", "DashboardName", "AliasName", "TopicName", "Name")


def _raw(env: str, api_access: str) -> dict[str, Any]:
    raw = example_raw()
    raw["env"] = env
    raw["network"]["api_access"] = api_access
    if api_access == "existing":
        raw["network"]["endpoint_security_group_id"] = "sg-0a1b2c3d4e5f6079a"
    return raw


@pytest.fixture(scope="module")
def environments(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Templates]:
    return {
        env: synth(config_from(_raw(env, access)), tmp_path_factory.mktemp(env), nag=False)
        for env, access in (("prod", "create"), ("staging", "existing"))
    }


def _alarms(templates: Templates) -> list[dict[str, Any]]:
    return [a["Properties"] for t in templates.values() for a in t.find_resources("AWS::CloudWatch::Alarm").values()]


def _dimensions(alarm: dict[str, Any]) -> dict[str, str]:
    return {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}


def test_every_rotation_alarm_watches_only_its_own_environment(environments: dict[str, Templates]) -> None:
    for env, templates in environments.items():
        ours = [a for a in _alarms(templates) if a.get("Namespace") == "SecretRotation"]
        assert ours
        for alarm in ours:
            assert _dimensions(alarm)["environment"] == f"shop/{env}", alarm["AlarmDescription"]
        res = resolver(templates)
        for stack, template in templates.items():
            for lambda_alarm in template.find_resources("AWS::CloudWatch::Alarm").values():
                if lambda_alarm["Properties"].get("Namespace") == "AWS/Lambda":
                    name = res.resolve(_dimensions(lambda_alarm["Properties"])["FunctionName"], stack)
                    assert name.startswith(f"shop-{env}-"), name


def test_functions_publish_the_dimensions_their_alarms_watch(
    environments: dict[str, Templates], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    templates = environments["staging"]
    functions = [
        f["Properties"] for t in templates.values() for f in t.find_resources("AWS::Lambda::Function").values()
    ]
    function = next(f for f in functions if f["Handler"] == "lambdas.valkey_acl.handler.lambda_handler")
    for name, value in function["Environment"]["Variables"].items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)

    telemetry.record_step_outcome(kind="valkey_acl", step="setSecret", succeeded=False, duration_ms=3.0)

    document = next(json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line)
    (emitted,) = document["_aws"]["CloudWatchMetrics"]
    published = {name: document[name] for name in emitted["Dimensions"][0]}
    watched = next(_dimensions(a) for a in _alarms(templates)
                   if a.get("MetricName") == "StepFailed" and _dimensions(a).get("kind") == "valkey_acl")  # fmt: skip
    assert published == watched == {"service": "secret-rotation", "kind": "valkey_acl", "environment": "shop/staging"}
    assert emitted["Namespace"] == "SecretRotation"


def _names(templates: Templates) -> set[str]:
    return {
        value
        for template in templates.values()
        for resource in template.to_json()["Resources"].values()
        for key, value in resource.get("Properties", {}).items()
        if key in NAMED and isinstance(value, str)
    }


def test_no_explicit_name_of_one_environment_is_used_by_the_other(environments: dict[str, Templates]) -> None:
    prod, staging = (_names(environments[env]) for env in ("prod", "staging"))

    assert prod
    assert staging
    assert not prod & staging
    for env, names in (("prod", prod), ("staging", staging)):
        assert all(env in name for name in names), [name for name in names if env not in name]


def test_rotation_events_of_one_environment_never_match_the_others_secrets(environments: dict[str, Templates]) -> None:
    prefixes = {}
    for env, templates in environments.items():
        (rule,) = [r for t in templates.values() for r in t.find_resources("AWS::Events::Rule").values()
                   if "EventPattern" in r["Properties"]]  # fmt: skip
        (prefixes[env],) = rule["Properties"]["EventPattern"]["detail"]["additionalEventData"]["SecretId"]
    for env, templates in environments.items():
        for other, prefix in prefixes.items():
            secrets = [s["Properties"]["Name"] for t in templates.values()
                       for s in t.find_resources("AWS::SecretsManager::Secret").values()]  # fmt: skip
            arns = [f"arn:aws:secretsmanager:eu-west-1:123456789012:secret:{name}-AbCdEf" for name in secrets]
            assert all(arn.startswith(prefix["prefix"]) == (env == other) for arn in arns)


def test_only_one_environment_of_a_vpc_creates_its_interface_endpoints(environments: dict[str, Templates]) -> None:
    assert environments["prod"]["ShopProdBase"].find_resources("AWS::EC2::VPCEndpoint")
    assert environments["staging"]["ShopStagingBase"].find_resources("AWS::EC2::VPCEndpoint") == {}


def _write(directory: Path, env: str, raw: dict[str, Any]) -> None:
    (directory / f"{env}.yaml").write_text(yaml.safe_dump(raw))


def test_two_environments_of_one_vpc_that_both_create_endpoints_fail_synth(tmp_path: Path) -> None:
    _write(tmp_path, "prod", _raw("prod", "create"))
    _write(tmp_path, "staging", _raw("staging", "create"))

    app = App(context={"env": "staging", "aws:cdk:bundling-stacks": []}, outdir=str(tmp_path / "out"))
    with pytest.raises(
        ConfigError,
        match=re.escape(
            f"{tmp_path}/staging.yaml: network.api_access is 'create', "
            f"and so is {tmp_path}/prod.yaml's, in the same VPC"
        ),
    ):
        build_app(app, config_dir=tmp_path)  # fmt: skip


def test_two_configs_for_the_same_environment_fail_synth(tmp_path: Path) -> None:
    _write(tmp_path, "prod", _raw("prod", "create"))
    _write(tmp_path, "prod-copy", _raw("prod", "existing"))

    app = App(context={"env": "prod-copy", "aws:cdk:bundling-stacks": []}, outdir=str(tmp_path / "out"))
    with pytest.raises(ConfigError, match="are both shop/prod in 123456789012"):
        build_app(app, config_dir=tmp_path)
