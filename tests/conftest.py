"""Fixtures shared by every test: fake AWS credentials, moto, secrets."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

if TYPE_CHECKING:
    from tests.plugins.leak_guard import LeakGuard

pytest_plugins = [
    "tests.plugins.leak_guard",
    "tests.plugins.postgres_fixtures",
    "tests.plugins.valkey_fixtures",
    "tests.plugins.elasticache_fixtures",
    "tests.plugins.service_fixtures",
]

REGION = "us-east-1"


@pytest.fixture(autouse=True)
def fake_aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach a real AWS account: fixed fake credentials, a fixed region, no endpoint."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ENDPOINT_URL_ELASTICACHE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("POWERTOOLS_DEV", "false")


@pytest.fixture
def aws() -> Iterator[None]:
    """moto's in-process emulation of every AWS API, fresh per test."""
    with mock_aws():
        yield


@pytest.fixture
def secretsmanager(aws: None) -> Any:
    """A Secrets Manager client talking to moto."""
    return boto3.client("secretsmanager", region_name=REGION)


SecretFactory = Callable[[str, dict[str, Any]], str]


@pytest.fixture
def create_secret(secretsmanager: Any, leak_guard: LeakGuard) -> SecretFactory:
    """Create a JSON secret in moto and return its ARN."""

    def create(name: str, value: dict[str, Any]) -> str:
        return str(secretsmanager.create_secret(Name=name, SecretString=json.dumps(value))["ARN"])

    return create


def stage_value(secretsmanager: Any, secret_id: str, stage: str) -> dict[str, Any]:
    """The parsed JSON at ``stage``."""
    return dict(json.loads(secretsmanager.get_secret_value(SecretId=secret_id, VersionStage=stage)["SecretString"]))


def stages_by_version(secretsmanager: Any, secret_id: str) -> dict[str, list[str]]:
    """DescribeSecret's VersionIdsToStages, for asserting what changed (or did not)."""
    return dict(secretsmanager.describe_secret(SecretId=secret_id)["VersionIdsToStages"])
