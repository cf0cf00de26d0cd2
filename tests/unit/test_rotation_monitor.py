"""The scheduled rotation check: finds the environment's secrets by tag and publishes their age.

Secrets Manager is moto; the metric documents are Powertools EMF printed to stdout, which is
what CloudWatch ingests from a Lambda's log stream.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lambdas.rotation.errors import ConfigurationError
from lambdas.rotation_monitor.handler import lambda_handler
from lambdas.rotation_monitor.monitor import ENVIRONMENT_TAG_KEY, MonitorSettings, age_of, environment_secrets

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _tagged(secretsmanager: Any, name: str, tags: dict[str, str]) -> None:
    secretsmanager.create_secret(
        Name=name, SecretString="{}", Tags=[{"Key": key, "Value": value} for key, value in tags.items()]
    )


def test_never_rotated_secret_counts_from_creation_and_is_overdue_without_rotation() -> None:
    age = age_of({"Name": "a", "CreatedDate": NOW - timedelta(days=3)}, now=NOW, max_rotation_days=90)
    assert (age.days_since_rotation, age.rotation_enabled, age.overdue) == (3.0, False, True)


def test_rotated_secret_is_overdue_only_past_the_policy() -> None:
    recent = {"Name": "a", "CreatedDate": NOW - timedelta(days=400), "RotationEnabled": True}
    fresh = age_of({**recent, "LastRotatedDate": NOW - timedelta(days=89)}, now=NOW, max_rotation_days=90)
    stale = age_of({**recent, "LastRotatedDate": NOW - timedelta(days=91)}, now=NOW, max_rotation_days=90)
    assert (fresh.overdue, stale.overdue) == (False, True)
    assert stale.days_since_rotation == 91.0


def test_only_secrets_tagged_with_the_environment_are_listed(secretsmanager: Any) -> None:
    _tagged(secretsmanager, "shop/prod/hmac_key/a", {ENVIRONMENT_TAG_KEY: "shop/prod"})
    _tagged(secretsmanager, "shop/prod/hmac_key/b", {ENVIRONMENT_TAG_KEY: "shop/prod", "team": "x"})
    _tagged(secretsmanager, "shop/dev/hmac_key/a", {ENVIRONMENT_TAG_KEY: "shop/dev"})
    # tag-key and tag-value filters match separately: this one has both, but not as a pair
    _tagged(secretsmanager, "other", {ENVIRONMENT_TAG_KEY: "shop/dev", "owner": "shop/prod"})
    _tagged(secretsmanager, "untagged", {})
    names = sorted(secret["Name"] for secret in environment_secrets("shop/prod"))
    assert names == ["shop/prod/hmac_key/a", "shop/prod/hmac_key/b"]


def test_handler_publishes_age_per_secret_and_the_overdue_count(
    secretsmanager: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ENVIRONMENT_TAG_VALUE", "shop/prod")
    monkeypatch.setenv("MAX_ROTATION_DAYS", "90")
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    _tagged(secretsmanager, "shop/prod/hmac_key/a", {ENVIRONMENT_TAG_KEY: "shop/prod"})
    result = lambda_handler({}, None)
    assert result == {"secrets": 1, "overdue": ["shop/prod/hmac_key/a"]}  # rotation never enabled
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    by_metric = {doc["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"]: doc for doc in documents}
    age = by_metric["DaysSinceLastRotation"]
    assert age["SecretName"] == "shop/prod/hmac_key/a"
    assert age["service"] == "secret-rotation"
    assert age["DaysSinceLastRotation"] == [0.0]  # created just now
    assert by_metric["OverdueSecrets"]["OverdueSecrets"] == [1.0]
    assert by_metric["OverdueSecrets"]["environment"] == "shop/prod"


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"MAX_ROTATION_DAYS": "90"}, "ENVIRONMENT_TAG_VALUE must name the environment"),
        ({"ENVIRONMENT_TAG_VALUE": "shop/prod", "MAX_ROTATION_DAYS": "ninety"}, "MAX_ROTATION_DAYS must be"),
        ({"ENVIRONMENT_TAG_VALUE": "shop/prod", "MAX_ROTATION_DAYS": "0"}, "MAX_ROTATION_DAYS must be"),
    ],
)
def test_bad_settings_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], message: str
) -> None:
    for name in ("ENVIRONMENT_TAG_VALUE", "MAX_ROTATION_DAYS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=message):
        MonitorSettings.from_env()
