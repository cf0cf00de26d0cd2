"""Bad config fails synth with a message naming the file, the field and why."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from infra.config import ConfigError, load_config

Write = Callable[[dict[str, Any]], Path]


def test_example_config_is_valid_and_names_follow_the_convention() -> None:
    config = load_config(Path("config/example.yaml"))

    assert config.secret_name(config.secrets[0]) == "shop/example/hmac_key/webhook-signing"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"secrets.0.schedule": "rate(30 minutes)"},
            "secrets.0.schedule: 'rate(30 minutes)' rotates more often than every 4 hours: "
            "Secrets Manager rotates at most every 4 hours",
        ),
        ({"secrets.0.schedule": "rate(2 hours)"}, "Secrets Manager rotates at most every 4 hours"),
        ({"secrets.0.schedule": "rate(120 days)"}, "longer than the rotation policy of 90 days (max_rotation_days)"),
        ({"secrets.0.schedule": "every tuesday"}, "is not rate(N hours|days) or cron(<6 fields>)"),
        ({"secrets.0.name": "Webhook Signing!"}, "secrets.0.name: String should match pattern"),
        ({"secrets.0.kind": "mongodb"}, "secrets.0.kind: Input should be 'hmac_key', 'postgres_single'"),
        ({"secrets.1.postgres": None}, "kind 'postgres_alternating' needs a 'postgres' target section"),
        ({"secrets.1.postgres.admin_secret_arn": None}, "postgres_alternating needs postgres.admin_secret_arn"),
        ({"secrets.2.valkey.nodes": ["cache-without-port"]}, "secrets.2.valkey.nodes: 'cache-without-port' is not"),
        ({"network": None}, "kind 'postgres_alternating' reaches a server: 'network' is required"),
        ({"network.private_subnet_ids": ["subnet-0a1b2c3d4e5f60711"]}, "private_subnet_ids needs one subnet per entry"),
        ({"alerts.emails": []}, "emails is empty but alerts are required"),
        ({"secrets.0.unknown_field": 1}, "secrets.0.unknown_field: Extra inputs are not permitted"),
        ({"account": "12345"}, "account: String should match pattern"),
        ({"secrets.1.postgres.port": 70000}, "secrets.1.postgres.port: Input should be less than or equal to 65535"),
        (
            {"secrets.1.initial_value_from": {"secret_arn": "shop/legacy/db"}},
            "secrets.1.initial_value_from.secret_arn: must be a Secrets Manager secret ARN",
        ),
        ({"network.api_access": "vpn"}, "network.api_access: Input should be 'create', 'existing' or 'nat'"),
        (
            {"alerts.access_monitoring": {"cloudtrail_log_group": "trail logs!"}},
            "alerts.access_monitoring.cloudtrail_log_group: String should match pattern",
        ),
        (
            {"alerts.access_monitoring": {"cloudtrail_log_group": "trail", "anomaly_band": 0}},
            "alerts.access_monitoring.anomaly_band: Input should be greater than 0",
        ),
    ],
)
def test_bad_config_is_rejected_naming_file_and_field(
    write_config: Write, changes: dict[str, Any], message: str
) -> None:
    path = write_config(changes)

    with pytest.raises(ConfigError, match=re.escape(str(path)) + ".*" + re.escape(message)):
        load_config(path)


def test_missing_file_names_the_way_to_choose_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no such config file \(choose one with -c env=<name>"):
        load_config(tmp_path / "nope.yaml")


def test_invalid_yaml_is_named(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("app: [unclosed")

    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)


@pytest.fixture
def write_config(config_file: Write) -> Write:
    return config_file
