"""Secrets Manager and CloudWatch Logs for the CLI: clients for the chosen endpoint/region,
and AWS failures turned into one-line operator errors (exit code 2)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import boto3
from botocore.config import Config

from secret_rotation_kit.exceptions import RotationClientError
from secret_rotation_kit.upstream import translate

T = TypeVar("T")
TIMEOUTS = Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 3, "mode": "standard"})


class CliError(Exception):
    """A failure the operator can fix; printed as ``error: <message>``, exit code 2."""

    exit_code = 2


@dataclass(frozen=True)
class Aws:
    """Where the CLI talks to: ``--endpoint-url`` (e.g. the local emulation) and ``--region``."""

    endpoint_url: str | None = None
    region: str | None = None

    def client(self, service: str) -> Any:
        # A fresh session: credentials are resolved now, not reused from an earlier session.
        session = boto3.session.Session(region_name=self.region)
        return session.client(service, endpoint_url=self.endpoint_url, config=TIMEOUTS)


@contextmanager
def operator_errors(secret_id: str, operation: str) -> Iterator[None]:
    """Turn boto/botocore and library failures into a ``CliError`` naming the secret and the API."""
    try:
        yield
    except CliError:
        raise
    except RotationClientError as exc:
        raise CliError(str(exc)) from None
    except Exception as exc:
        raise CliError(str(translate(exc, secret_id, operation))) from None


def call(secret_id: str, operation: str, function: Callable[..., T], **kwargs: Any) -> T:
    with operator_errors(secret_id, operation):
        return function(**kwargs)


def describe(client: Any, secret_id: str) -> dict[str, Any]:
    return dict(call(secret_id, "DescribeSecret", client.describe_secret, SecretId=secret_id))


def list_secrets(client: Any) -> list[dict[str, Any]]:
    secrets: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"MaxResults": 100, "IncludePlannedDeletion": False}
        if token:
            kwargs["NextToken"] = token
        page = call("*", "ListSecrets", client.list_secrets, **kwargs)
        secrets.extend(page.get("SecretList", []))
        token = page.get("NextToken")
        if not token:
            return secrets


def require_rotation(described: dict[str, Any]) -> str:
    """The secret's rotation function ARN; a clear error when none is configured."""
    function = described.get("RotationLambdaARN")
    if not function:
        raise CliError(
            f"secret {described.get('Name')!r} has no rotation configured (no rotation function): "
            "deploy it with the CDK app, or run `aws secretsmanager rotate-secret --rotation-lambda-arn ...` once"
        )
    return str(function)
