"""Reading Secrets Manager for the cache: one consistent snapshot per refresh, a cheap
version check, and AWS errors translated into the library's named errors.

Consistency: with AWSCURRENT only, one GetSecretValue returns value and version together.
With more stages, DescribeSecret gives every label at one instant, and each value is then
read by version id; versions never change, so the values match the labels even if a
rotation moves a label in between.

Identity: every answer's ARN/Name must be the secret asked for; an answer about another
secret (a connection shared across a fork, a proxy mixing responses) is refused, never cached.

Deletion: a secret scheduled for deletion shows ``DeletedDate`` in DescribeSecret and
GetSecretValue refuses it with InvalidRequestException; both are ``SecretDeletedError`` at once
(docs/aws-rules.md, "Secrets Manager: reading").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
)

from .exceptions import (
    AwsCredentialsError,
    RotationClientError,
    SecretDeletedError,
    SecretFormatError,
    SecretNotFoundError,
    SecretUnavailableError,
)
from .snapshot import ALL_STAGES, AWSCURRENT, SecretSnapshot

if TYPE_CHECKING:
    from .settings import CacheSettings

CREDENTIAL_ERRORS = frozenset(
    {
        "ExpiredTokenException",
        "ExpiredToken",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "AccessDeniedException",
        "RequestExpired",
    }
)


def default_client(
    settings: CacheSettings, region: str | None = None, endpoint_url: str | None = None, max_attempts: int | None = None
) -> Any:
    """A boto3 Secrets Manager client built the default way (``AWS_ENDPOINT_URL``, region,
    credentials chain) with bounded timeouts: botocore's own are 60 s per read. ``region`` and
    ``endpoint_url`` pin one Region's client (failover between Regions)."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import NoRegionError

    config = Config(
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        # total_max_attempts counts the first attempt too; botocore's max_attempts counts retries only
        retries={"total_max_attempts": max_attempts or settings.max_attempts, "mode": "standard"},
    )
    try:
        return boto3.session.Session().client(
            "secretsmanager", region_name=region, endpoint_url=endpoint_url, config=config
        )
    except NoRegionError:
        raise SecretUnavailableError(
            "no AWS region for Secrets Manager: set AWS_REGION or AWS_DEFAULT_REGION, or pass a client"
        ) from None


def translate(exc: Exception, secret_id: str, operation: str) -> RotationClientError:
    """A named error for ``exc`` that names the secret and the API, never a value."""
    if isinstance(exc, RotationClientError):
        return exc
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", "Unknown"))
        message = str(exc.response.get("Error", {}).get("Message", ""))
        if code == "ResourceNotFoundException":
            return SecretNotFoundError(f"secret {secret_id!r} was not found in Secrets Manager ({operation})")
        if code == "InvalidRequestException" and ("deletion" in message.lower() or "deleted" in message.lower()):
            return SecretDeletedError(
                f"secret {secret_id!r} is scheduled for deletion ({operation}: InvalidRequestException); "
                "restore it with RestoreSecret to read it again"
            )
        if code in CREDENTIAL_ERRORS:
            return AwsCredentialsError(
                f"AWS rejected the credentials for {operation} on secret {secret_id!r} ({code}): "
                "refresh or fix the credentials, or grant " + _permission_hint(operation, message)
            )
        return SecretUnavailableError(f"{operation} on secret {secret_id!r} failed with {code}")
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return AwsCredentialsError(
            f"no AWS credentials to read secret {secret_id!r}: set AWS_PROFILE or AWS_ACCESS_KEY_ID/"
            "AWS_SECRET_ACCESS_KEY, or run where a role is attached"
        )
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError | ReadTimeoutError):
        return SecretUnavailableError(f"{operation} on secret {secret_id!r}: Secrets Manager unreachable ({exc})")
    return SecretUnavailableError(f"{operation} on secret {secret_id!r} failed: {type(exc).__name__}")


def _permission_hint(operation: str, message: str) -> str:
    """What to grant. GetSecretValue of a secret under a customer managed key also needs
    kms:Decrypt on it, and a missing one is AccessDeniedException "Access to KMS is not allowed"
    (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html,
    "Required permissions"; https://repost.aws/knowledge-center/secrets-manager-cross-account-key)."""
    if "kms" in message.lower():
        return "kms:Decrypt on the secret's KMS key (AWS: " + message.strip() + "); a replica has its own Region's key"
    if operation == "GetSecretValue":
        return "secretsmanager:GetSecretValue (and kms:Decrypt on the secret's key if it is customer managed)"
    return "secretsmanager:" + operation


def is_same_secret(secret_id: str, response: Mapping[str, Any]) -> bool:
    """Whether an answer is about ``secret_id``: its name, its ARN, or its ARN without the
    six random characters Secrets Manager appends (a partial ARN)."""
    arn, name = str(response.get("ARN") or ""), str(response.get("Name") or "")
    if secret_id.startswith("arn:"):
        return arn == secret_id or (arn.startswith(secret_id + "-") and len(arn) == len(secret_id) + 7)
    return name == secret_id


def check_identity(secret_id: str, response: Mapping[str, Any], operation: str) -> None:
    if not is_same_secret(secret_id, response):
        raise SecretUnavailableError(
            f"{operation} for secret {secret_id!r} answered about another secret "
            f"({response.get('Name')!r}); refused (a connection shared across a fork, or a proxy mixing answers?)"
        )


def describe(client: Any, secret_id: str) -> Mapping[str, Any]:
    """DescribeSecret, checked: the answer is about ``secret_id`` and it is not scheduled for deletion."""
    try:
        described: Mapping[str, Any] = client.describe_secret(SecretId=secret_id)
    except Exception as exc:
        raise translate(exc, secret_id, "DescribeSecret") from None
    check_identity(secret_id, described, "DescribeSecret")
    if described.get("DeletedDate"):
        raise SecretDeletedError(
            f"secret {secret_id!r} is scheduled for deletion (DescribeSecret shows DeletedDate); "
            "restore it with RestoreSecret to read it again"
        )
    return described


def describe_labels(client: Any, secret_id: str, stages: Sequence[str]) -> dict[str, str]:
    """{stage: version id} for the requested stages, from one DescribeSecret."""
    return stage_labels(client, secret_id, stages)[1]


@dataclass(frozen=True)
class Labels:
    """Every staged label of a secret at one instant, and whether the answer came from a replica."""

    arn: str
    stages: dict[str, str]  # AWSCURRENT / AWSPREVIOUS / AWSPENDING -> version id
    primary_region: str | None  # DescribeSecret's PrimaryRegion (absent for a secret never replicated)

    def is_from_primary(self, region: str) -> bool:
        return self.primary_region in (None, region)

    def watched(self, stages: Sequence[str]) -> dict[str, str]:
        return {stage: version for stage, version in self.stages.items() if stage in stages}


def describe_stages(client: Any, secret_id: str) -> Labels:
    """Every staged label from one DescribeSecret (no value is transferred)."""
    described = describe(client, secret_id)
    arn, labels = _labels_of(described, secret_id, ALL_STAGES)
    primary = described.get("PrimaryRegion")
    return Labels(arn, labels, str(primary) if primary else None)


def _labels_of(described: Mapping[str, Any], secret_id: str, stages: Sequence[str]) -> tuple[str, dict[str, str]]:
    labels: dict[str, str] = {}
    for version, version_stages in (described.get("VersionIdsToStages") or {}).items():
        for stage in version_stages:
            if stage in stages:
                labels[stage] = version
    return str(described.get("ARN", secret_id)), labels


def stage_labels(client: Any, secret_id: str, stages: Sequence[str]) -> tuple[str, dict[str, str]]:
    """(ARN, {stage: version id}) for the requested stages, from one DescribeSecret."""
    return _labels_of(describe(client, secret_id), secret_id, stages)


def _value_of(client: Any, secret_id: str, **selector: str) -> Mapping[str, Any] | None:
    """GetSecretValue, or None when that version has no value (yet, or any more)."""
    try:
        response = dict(client.get_secret_value(SecretId=secret_id, **selector))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException" and "VersionId" in selector:
            return None
        raise translate(exc, secret_id, "GetSecretValue") from None
    except Exception as exc:
        raise translate(exc, secret_id, "GetSecretValue") from None
    check_identity(secret_id, response, "GetSecretValue")
    if "VersionId" in selector and response.get("VersionId") != selector["VersionId"]:
        raise SecretUnavailableError(
            f"GetSecretValue for secret {secret_id!r} version {selector['VersionId']} answered another version; refused"
        )
    return response


def _string_of(secret_id: str, response: Mapping[str, Any]) -> str:
    """The version's SecretString. A version holds SecretString or SecretBinary, never both
    (PutSecretValue: "You must include SecretBinary or SecretString, but not both"), and a
    replica holds what its primary holds: a binary value is the secret's format, not an outage,
    so it is a ``SecretFormatError`` that no other Region is asked about."""
    text = response.get("SecretString")
    if not isinstance(text, str):
        raise SecretFormatError(
            f"secret {secret_id!r} version {response.get('VersionId')} holds a SecretBinary, not a SecretString; "
            "this library reads SecretString (store the value with PutSecretValue SecretString)"
        )
    return text


def fetch_snapshot(client: Any, secret_id: str, stages: Sequence[str], now: float) -> SecretSnapshot:
    """Read ``stages`` of ``secret_id`` as one consistent snapshot (see the module docstring)."""
    if tuple(stages) == (AWSCURRENT,):
        response = _value_of(client, secret_id, VersionStage=AWSCURRENT)
        assert response is not None  # a stage read raises instead of returning None
        return SecretSnapshot(
            secret_id=secret_id,
            arn=str(response.get("ARN", secret_id)),
            labels={AWSCURRENT: str(response["VersionId"])},
            strings={AWSCURRENT: _string_of(secret_id, response)},
            fetched_at=now,
        )
    return fetch_labelled(client, secret_id, stages, now)[0]


def fetch_labelled(
    client: Any, secret_id: str, stages: Sequence[str], now: float, *, known: Labels | None = None
) -> tuple[SecretSnapshot, Labels]:
    """``stages`` read by version id after one DescribeSecret (or the ``known`` labels of one
    just made), with every label that DescribeSecret showed: what failover judges answers by."""
    for _ in range(3):  # a version may be deleted between the two reads; look again
        every = known or describe_stages(client, secret_id)
        known = None
        labels = every.watched(stages)
        if AWSCURRENT not in labels:
            raise SecretNotFoundError(f"secret {secret_id!r} has no AWSCURRENT version")
        strings: dict[str, str] = {}
        by_version: dict[str, str | None] = {}
        for stage, version in labels.items():
            if version not in by_version:
                response = _value_of(client, secret_id, VersionId=version)
                by_version[version] = None if response is None else _string_of(secret_id, response)
            text = by_version[version]
            if text is not None:
                strings[stage] = text
        if AWSCURRENT in strings:
            snapshot = SecretSnapshot(
                secret_id=secret_id, arn=every.arn, labels=labels, strings=strings, fetched_at=now
            )
            return snapshot, every
    raise SecretUnavailableError(f"secret {secret_id!r}: AWSCURRENT kept moving while it was read")
