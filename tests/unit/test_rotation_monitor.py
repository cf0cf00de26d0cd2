"""The scheduled rotation check: finds the environment's secrets by tag and publishes their age.

Secrets Manager is moto; the metric documents are Powertools EMF printed to stdout, which is
what CloudWatch ingests from a Lambda's log stream.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import pytest

from lambdas.rotation.errors import ConfigurationError
from lambdas.rotation_monitor.handler import lambda_handler
from lambdas.rotation_monitor.monitor import ENVIRONMENT_TAG_KEY, MonitorSettings, age_of, environment_secrets

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _tagged(secretsmanager: Any, name: str, tags: dict[str, str]) -> None:
    secretsmanager.create_secret(
        Name=name, SecretString="{}", Tags=[{"Key": key, "Value": value} for key, value in tags.items()]
    )


def test_never_rotated_secret_counts_from_creation_and_reports_rotation_off() -> None:
    age = age_of({"Name": "a", "CreatedDate": NOW - timedelta(days=3)}, now=NOW, max_rotation_days=90)
    assert (age.days_since_rotation, age.rotation_enabled, age.overdue) == (3.0, False, False)
    old = age_of({"Name": "a", "CreatedDate": NOW - timedelta(days=91)}, now=NOW, max_rotation_days=90)
    assert old.overdue


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
    assert result == {"secrets": 1, "overdue": [], "rotation_off": ["shop/prod/hmac_key/a"]}  # never enabled
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    by_metric = {doc["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"]: doc for doc in documents}
    age = by_metric["DaysSinceLastRotation"]
    assert age["SecretName"] == "shop/prod/hmac_key/a"
    assert (age["service"], age["environment"]) == ("secret-rotation", "shop/prod")
    assert age["DaysSinceLastRotation"] == [0.0]  # created just now
    assert by_metric["OldestRotationDays"]["OldestRotationDays"] == [0.0]
    assert by_metric["OverdueSecrets"]["OverdueSecrets"] == [0.0]
    assert by_metric["RotationOffSecrets"]["RotationOffSecrets"] == [1.0]
    for name in ("OldestRotationDays", "OverdueSecrets", "RotationOffSecrets"):
        assert by_metric[name]["environment"] == "shop/prod"
        assert by_metric[name]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service", "environment"]]


def test_handler_publishes_the_environment_counts_even_without_secrets(
    secretsmanager: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The "check silent" alarm treats missing data as breaching: every run must publish."""
    monkeypatch.setenv("ENVIRONMENT_TAG_VALUE", "shop/prod")
    monkeypatch.setenv("MAX_ROTATION_DAYS", "90")
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    assert lambda_handler({}, None) == {"secrets": 0, "overdue": [], "rotation_off": []}
    names = {json.loads(line)["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"]
             for line in capsys.readouterr().out.splitlines() if '"_aws"' in line}  # fmt: skip
    assert names == {"OverdueSecrets", "RotationOffSecrets"}


class _CloudFormation(BaseHTTPRequestHandler):
    """Plays the pre-signed S3 URL CloudFormation waits on for a custom resource's response."""

    received: ClassVar[list[tuple[str, dict[str, str], dict[str, Any]]]] = []

    def do_PUT(self) -> None:  # the http.server hook
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.received.append((self.path, dict(self.headers), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def response_url() -> Iterator[str]:
    _CloudFormation.received = []
    server = HTTPServer(("127.0.0.1", 0), _CloudFormation)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/signed?X-Amz-Signature=abc"
    server.shutdown()
    thread.join()


def _event(request_type: str, url: str) -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "ResponseURL": url,
        "StackId": "arn:aws:cloudformation:eu-west-1:1:stack/s/1",
        "RequestId": "req-1",
        "LogicalResourceId": "RotationAgeFirstRun",
        "ResourceType": "Custom::RotationAgeCheck",
    }


def test_deploy_time_run_measures_and_answers_cloudformation(
    secretsmanager: Any, monkeypatch: pytest.MonkeyPatch, response_url: str
) -> None:
    monkeypatch.setenv("ENVIRONMENT_TAG_VALUE", "shop/prod")
    monkeypatch.setenv("MAX_ROTATION_DAYS", "90")
    _tagged(secretsmanager, "shop/prod/hmac_key/a", {ENVIRONMENT_TAG_KEY: "shop/prod"})

    result = lambda_handler(_event("Create", response_url), None)

    assert result["secrets"] == 1
    (path, headers, body) = _CloudFormation.received[0]
    assert path == "/signed?X-Amz-Signature=abc"
    assert headers.get("Content-Type", "") == ""  # the pre-signed URL is signed without a content type
    assert body["Status"] == "SUCCESS"
    assert (body["RequestId"], body["LogicalResourceId"], body["PhysicalResourceId"]) == (
        "req-1", "RotationAgeFirstRun", "rotation-age-check")  # fmt: skip
    assert body["Data"] == {"Secrets": 1}


def test_deploy_time_run_that_cannot_check_fails_the_deploy_with_its_reason(
    monkeypatch: pytest.MonkeyPatch, response_url: str
) -> None:
    monkeypatch.delenv("ENVIRONMENT_TAG_VALUE", raising=False)
    monkeypatch.setenv("MAX_ROTATION_DAYS", "90")

    result = lambda_handler(_event("Update", response_url), None)  # answered, not raised: Lambda would retry

    (_, _, body) = _CloudFormation.received[0]
    assert body["Status"] == "FAILED"
    assert "ENVIRONMENT_TAG_VALUE must name the environment" in body["Reason"]
    assert "failed" in result


def test_deleting_the_deploy_time_run_changes_nothing(response_url: str) -> None:
    lambda_handler(_event("Delete", response_url), None)

    (_, _, body) = _CloudFormation.received[0]
    assert body["Status"] == "SUCCESS"


def _guard_event(request_type: str, url: str, old: dict[str, str], new: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {
        **_event(request_type, url),
        "ResourceType": "Custom::FirstValueGuard",
        "LogicalResourceId": "FirstValueGuard",
        "ResourceProperties": {"Fingerprints": new, "ReplaceValueOnEdit": extra.get("replace", [])},
        "OldResourceProperties": {"Fingerprints": old, "ReplaceValueOnEdit": []},
        **({"PhysicalResourceId": extra["physical_id"]} if "physical_id" in extra else {}),
    }


def test_first_value_guard_refuses_an_update_that_would_overwrite_a_live_value_and_accepts_the_rest(
    monkeypatch: pytest.MonkeyPatch, response_url: str
) -> None:
    """Answered by the age check's function without its settings: the guard reads nothing."""
    monkeypatch.delenv("ENVIRONMENT_TAG_VALUE", raising=False)
    first = {"shop/prod/postgres_alternating/orders": "aaa", "shop/prod/hmac_key/hooks": "bbb"}
    lambda_handler(_guard_event("Create", response_url, {}, first), None)
    (_, _, created) = _CloudFormation.received[-1]
    assert created["Status"] == "SUCCESS"
    accepted = created["PhysicalResourceId"]

    edited = {**first, "shop/prod/postgres_alternating/orders": "ccc"}
    lambda_handler(_guard_event("Update", response_url, first, edited, physical_id=accepted), None)
    (_, _, refused) = _CloudFormation.received[-1]
    assert refused["Status"] == "FAILED"
    assert "shop/prod/postgres_alternating/orders" in refused["Reason"]
    assert "shop/prod/hmac_key/hooks" not in refused["Reason"]
    assert refused["PhysicalResourceId"] == accepted  # nothing replaced

    # a rollback (back to the accepted properties), an added or removed secret, an opted-in edit
    lambda_handler(_guard_event("Update", response_url, edited, first, physical_id=accepted), None)
    grown = {**first, "shop/prod/hmac_key/new": "ddd"}
    lambda_handler(_guard_event("Update", response_url, first, grown, physical_id=accepted), None)
    opted_in = ["shop/prod/postgres_alternating/orders"]
    lambda_handler(_guard_event("Update", response_url, first, edited, physical_id=accepted, replace=opted_in), None)
    lambda_handler(_guard_event("Delete", response_url, first, first, physical_id=accepted), None)
    assert [body["Status"] for _, _, body in _CloudFormation.received[-4:]] == ["SUCCESS"] * 4


def test_first_value_guard_answers_a_malformed_request_instead_of_raising(response_url: str) -> None:
    event = {**_event("Update", response_url), "ResourceType": "Custom::FirstValueGuard", "ResourceProperties": 7}

    lambda_handler(event, None)

    (_, _, body) = _CloudFormation.received[-1]
    assert body["Status"] == "FAILED"
    assert "first-value guard failed" in body["Reason"]


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
