"""The local emulation over HTTP for CLI tests: moto's server on loopback with the
RotateSecret hook running registered rotation functions, as Secrets Manager would."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto.logs.models import logs_backends
from moto.secretsmanager.models import secretsmanager_backends

from lambdas.hmac_key.handler import lambda_handler as hmac_handler
from lambdas.postgres_alternating.handler import lambda_handler as alternating_handler
from lambdas.postgres_single.handler import lambda_handler as single_handler
from lambdas.rotation.telemetry import quiet_function_telemetry
from lambdas.valkey_acl.handler import lambda_handler as valkey_handler
from local_rotation.server import local_aws
from local_rotation.service_hook import wait_for_rotations

FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:{}"
BROKEN_MESSAGE = "injected failure: the target refused the new password"


def broken_handler(event: dict[str, Any], context: Any) -> Any:
    """An HMAC function whose setSecret always fails, with a message the CLI must show."""
    if event["Step"] == "setSecret":
        raise RuntimeError(BROKEN_MESSAGE)
    return hmac_handler(event, context)


FUNCTIONS = {
    "rotate-hmac": hmac_handler,
    "rotate-postgres-alternating": alternating_handler,
    "rotate-postgres-single": single_handler,
    "rotate-valkey": valkey_handler,
    "rotate-broken": broken_handler,
}


@dataclass
class LocalAws:
    endpoint: str
    client: Any

    def create(self, name: str, value: dict[str, Any], function: str | None = None, **rules: Any) -> str:
        """A secret; with ``function``, rotation configured (not started), as the CDK app leaves it."""
        arn = str(self.client.create_secret(Name=name, SecretString=json.dumps(value))["ARN"])
        if function is not None:
            self.configure(arn, function, **rules)
        return arn

    def configure(self, arn: str, function: str, **rules: Any) -> None:
        """Turn rotation on without rotating, then wait for the service's configuration test
        (its temporary AWSPENDING would make a RotateSecret issued meanwhile fail)."""
        self.client.rotate_secret(
            SecretId=arn,
            RotationLambdaARN=FUNCTION_ARN.format(function),
            RotationRules=rules or {"ScheduleExpression": "rate(4 hours)"},
            RotateImmediately=False,
        )
        assert wait_for_rotations(60)

    def stages(self, arn: str) -> dict[str, list[str]]:
        return dict(self.client.describe_secret(SecretId=arn)["VersionIdsToStages"])


def _reset_backends() -> None:
    secretsmanager_backends.reset()
    logs_backends.reset()


@pytest.fixture
def local(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalAws]:
    """A fresh emulated account behind a loopback endpoint, with every test function registered."""
    _reset_backends()
    with quiet_function_telemetry(), local_aws(rotation_functions=FUNCTIONS) as endpoint:
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
        yield LocalAws(endpoint, boto3.client("secretsmanager", endpoint_url=endpoint))
    _reset_backends()
