"""Secrets Manager and CloudWatch Logs for the CLI: clients for the chosen profile, endpoint and
region, and AWS failures turned into one-line operator errors that say what to fix."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoRegionError,
    ProfileNotFound,
    ReadTimeoutError,
)

from secret_rotation_kit.exceptions import RotationClientError
from secret_rotation_kit.upstream import translate

T = TypeVar("T")
# 3 attempts in all: botocore's ``total_max_attempts`` "includes the initial request"; its
# ``max_attempts`` counts retries only (3 would be 4 attempts, 40 s on a hung endpoint). botocore's
# Config reference: https://botocore.amazonaws.com/v1/documentation/api/latest/reference/config.html
TIMEOUTS = Config(connect_timeout=5, read_timeout=10, retries={"total_max_attempts": 3, "mode": "standard"})


class CliError(Exception):
    """A failure the operator can fix; printed as ``error: <message>``, exit code 2."""

    exit_code = 2


class RotationIncompleteError(CliError):
    """Secrets Manager refuses to start a rotation while an earlier one is unfinished (exit code 1)."""

    exit_code = 1


@dataclass(frozen=True)
class Aws:
    """Where the CLI talks to: ``--profile``, ``--endpoint-url`` (e.g. the local emulation), ``--region``."""

    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None

    def client(self, service: str) -> Any:
        # A fresh session: credentials are resolved now, not reused from an earlier session.
        try:
            session = boto3.session.Session(region_name=self.region, profile_name=self.profile)
            return session.client(service, endpoint_url=self.endpoint_url, config=TIMEOUTS)
        except ProfileNotFound:
            raise CliError(
                f"AWS profile {self.profile!r} not found in the AWS config/credentials files "
                "(~/.aws/config, AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE): check --profile or AWS_PROFILE"
            ) from None
        except NoRegionError:
            raise CliError(
                "no AWS region: pass --region or set AWS_DEFAULT_REGION (or a region in the profile)"
            ) from None


def _endpoint_of(exc: Exception) -> str:
    return str(getattr(exc, "kwargs", {}).get("endpoint_url") or "")


@contextmanager
def operator_errors(secret_id: str, operation: str, region: str | None = None) -> Iterator[None]:
    """Turn boto/botocore and library failures into a ``CliError`` naming the secret and the API,
    with AWS's own reason (not only its error code)."""
    try:
        yield
    except CliError:
        raise
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = str(error.get("Code", "Unknown")), str(error.get("Message", "")).strip()
        if operation == "RotateSecret" and code == "InvalidRequestException" and "previous rotation" in message.lower():
            raise RotationIncompleteError(
                f"RotateSecret on secret {secret_id!r} refused: {message} "
                f"(see `secret-rotation history {secret_id}` and the rotation function's logs)"
            ) from None
        text = str(translate(exc, secret_id, operation))
        if message and message not in text:
            text = f"{text}: {message}"
        raise CliError(text) from None
    except (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError) as exc:
        where = f" in region {region!r}" if region else ""
        raise CliError(
            f"{operation} on secret {secret_id!r}: cannot reach Secrets Manager{where} at {_endpoint_of(exc)} "
            "(check --region, --endpoint-url and the network)"
        ) from None
    except RotationClientError as exc:
        raise CliError(str(exc)) from None
    except Exception as exc:
        raise CliError(str(translate(exc, secret_id, operation))) from None


def call(secret_id: str, operation: str, function: Callable[..., T], region: str | None = None, **kwargs: Any) -> T:
    with operator_errors(secret_id, operation, region):
        return function(**kwargs)


def region_of(client: Any) -> str | None:
    return getattr(getattr(client, "meta", None), "region_name", None)


def describe(client: Any, secret_id: str) -> dict[str, Any]:
    return dict(call(secret_id, "DescribeSecret", client.describe_secret, region_of(client), SecretId=secret_id))


def list_secrets(client: Any) -> list[dict[str, Any]]:
    secrets: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"MaxResults": 100, "IncludePlannedDeletion": False}
        if token:
            kwargs["NextToken"] = token
        page = call("*", "ListSecrets", client.list_secrets, region_of(client), **kwargs)
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
