"""What the CLI shows about a secret without reading a value: kind, schedule, dates, stages and
version ids. A plain hash of a value would let anyone holding the output confirm a guessed
password, so there is none; ``--digest`` shows a keyed digest (HMAC-SHA256 under a key that is
random per run unless ``SECRET_ROTATION_DIGEST_KEY`` is set), which tells versions apart
within one output and reveals nothing without the key."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

KINDS = (
    "postgres_alternating",
    "postgres_single",
    "elasticache_auth_token",
    "elasticache_user",
    "valkey_acl",
    "hmac_key",
)
STAGE_ORDER = ("AWSPENDING", "AWSCURRENT", "AWSPREVIOUS")
ENVIRONMENT_TAG = "rotation-kit:environment"
_DESCRIPTION = re.compile(r"^(\w+) secret rotated by secret-rotation-kit")


DIGEST_KEY_ENV = "SECRET_ROTATION_DIGEST_KEY"


def digest_key() -> bytes:
    """``SECRET_ROTATION_DIGEST_KEY`` (to compare digests across runs), else random for this run."""
    configured = os.environ.get(DIGEST_KEY_ENV, "")
    return configured.encode() if configured else secrets.token_bytes(32)


def keyed_digest(key: bytes, value: str | bytes) -> str:
    """The first 12 hex characters of HMAC-SHA256(key, value)."""
    return hmac.new(key, value.encode() if isinstance(value, str) else value, hashlib.sha256).hexdigest()[:12]


def kind_of(described: dict[str, Any], current: str | None = None) -> str:
    """The rotation kind: from the CDK app's description, the function or secret name, else the JSON's shape."""
    match = _DESCRIPTION.match(str(described.get("Description", "")))
    if match and match.group(1) in KINDS:
        return match.group(1)
    for text in (str(described.get("RotationLambdaARN", "")), str(described.get("Name", ""))):
        normalized = text.replace("-", "_")
        for kind in KINDS:
            if kind in normalized:
                return kind
    if str(described.get("Name", "")).startswith("rds!") or described.get("OwningService") == "rds":
        return "rds_managed"  # RDS rotates it itself (single user), username and password only
    return _kind_from_fields(current) if current is not None else "-"


def _kind_from_fields(current: str | None) -> str:
    try:
        fields = json.loads(current) if current else None
    except json.JSONDecodeError:
        return "not JSON"
    if not isinstance(fields, dict):
        return "unknown"
    if "engine" in fields or "dbname" in fields:
        return "postgres_alternating" if "masterarn" in fields else "postgres_single"
    if "auth_token" in fields:
        return "elasticache_auth_token"
    if "user_arn" in fields:
        return "elasticache_user"
    if "username" in fields and "password" in fields:
        return "valkey_acl" if "host" in fields else "credentials"
    if "key" in fields:
        return "hmac_key"
    return "unknown"


def environment_of(described: dict[str, Any]) -> str | None:
    for tag in described.get("Tags") or []:
        if tag.get("Key") == ENVIRONMENT_TAG:
            return str(tag.get("Value"))
    return None


def in_environment(described: dict[str, Any], env: str) -> bool:
    """``--env``: the CDK app's environment tag (``<app>/<env>``) or the name's second segment."""
    tag = environment_of(described)
    if tag is not None and (tag == env or tag.endswith(f"/{env}")):
        return True
    parts = str(described.get("Name", "")).split("/")
    return len(parts) > 1 and parts[1] == env


def schedule_of(described: dict[str, Any]) -> str:
    rules = described.get("RotationRules") or {}
    if rules.get("ScheduleExpression"):
        return str(rules["ScheduleExpression"])
    if rules.get("AutomaticallyAfterDays"):
        return f"every {rules['AutomaticallyAfterDays']} days"
    return "-"


def as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float) and value > 0:
        return datetime.fromtimestamp(value, UTC)
    return None


def when(value: Any) -> str:
    moment = as_datetime(value)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "-"


def overdue(described: dict[str, Any], now: datetime) -> bool:
    """Rotation is on and the next rotation date has passed."""
    moment = as_datetime(described.get("NextRotationDate"))
    return bool(described.get("RotationEnabled")) and moment is not None and moment < now


@dataclass(frozen=True)
class Version:
    version_id: str
    stages: tuple[str, ...]
    created: datetime | None
    digest: str | None = None  # keyed, and only with --digest

    def to_json(self) -> dict[str, Any]:
        return {
            "version_id": self.version_id,
            "stages": list(self.stages),
            "created": self.created.isoformat() if self.created else None,
            **({"digest": self.digest} if self.digest is not None else {}),
        }


def stage_sort_key(stages: tuple[str, ...]) -> int:
    return min((STAGE_ORDER.index(stage) for stage in stages if stage in STAGE_ORDER), default=len(STAGE_ORDER))


def staged_versions(described: dict[str, Any]) -> list[Version]:
    """The staged versions as DescribeSecret/ListSecrets show them (no value read)."""
    stages = described.get("VersionIdsToStages") or described.get("SecretVersionsToStages") or {}
    rows = [Version(version_id, tuple(labels), None) for version_id, labels in stages.items() if labels]
    rows.sort(key=lambda row: stage_sort_key(row.stages))
    return rows


@dataclass(frozen=True)
class Replica:
    """One replica of a secret, as the primary's DescribeSecret lists it (``ReplicationStatus``)."""

    region: str
    status: str  # InSync, InProgress, Failed (Secrets Manager's words)
    status_message: str
    kms_key_id: str | None
    last_accessed: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "status": self.status,
            "status_message": self.status_message,
            "kms_key_id": self.kms_key_id,
            "last_accessed": self.last_accessed.isoformat() if self.last_accessed else None,
        }

    def line(self) -> str:
        flag = "" if self.status == "InSync" else f" ({self.status_message})" if self.status_message else ""
        return f"{self.region} {self.status}{flag}"


def replicas_of(described: dict[str, Any]) -> list[Replica]:
    """The secret's replicas by Region name; none for a secret that is not replicated."""
    return sorted(
        (
            Replica(
                region=str(entry.get("Region")),
                status=str(entry.get("Status", "-")),
                status_message=str(entry.get("StatusMessage", "")),
                kms_key_id=entry.get("KmsKeyId"),
                last_accessed=as_datetime(entry.get("LastAccessedDate")),
            )
            for entry in described.get("ReplicationStatus") or []
        ),
        key=lambda replica: replica.region,
    )


def value_of(client: Any, secret_id: str, version_id: str) -> str | bytes | None:
    """A version's SecretString or SecretBinary (GetSecretValue returns "whichever contains
    content"), or None when it has none (an empty AWSPENDING: ResourceNotFoundException) or is gone."""
    try:
        response = client.get_secret_value(SecretId=secret_id, VersionId=version_id)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None
        raise
    text = response.get("SecretString")
    if isinstance(text, str):
        return text
    binary = response.get("SecretBinary")
    return binary if isinstance(binary, bytes) else None


def versions(
    client: Any,
    secret_id: str,
    *,
    include_unstaged: bool,
    key: bytes | None = None,
    described: dict[str, Any] | None = None,
) -> list[Version]:
    """Versions from ListSecretVersionIds (staged first: pending, current, previous); with
    ``key``, each version's value is read and shown as a keyed digest.

    ListSecretVersionIds "only returns versions that contain a secret value"; a staged version
    without one (the empty AWSPENDING of a rotation that is running or stuck) is only in
    DescribeSecret's ``VersionIdsToStages`` (https://docs.aws.amazon.com/cli/latest/reference/
    secretsmanager/list-secret-version-ids.html, note), so the ``described`` labels are added."""
    listed: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"SecretId": secret_id, "IncludeDeprecated": include_unstaged}
        if token:
            kwargs["NextToken"] = token
        page = client.list_secret_version_ids(**kwargs)
        listed.extend(page.get("Versions", []))
        token = page.get("NextToken")
        if not token:
            break
    rows = []
    for entry in listed:
        stages = tuple(entry.get("VersionStages") or ())
        if not stages and not include_unstaged:
            continue
        digest = None
        if key is not None:
            text = value_of(client, secret_id, entry["VersionId"])
            digest = keyed_digest(key, text) if text is not None else "(no value)"
        rows.append(Version(entry["VersionId"], stages, as_datetime(entry.get("CreatedDate")), digest))
    listed_ids = {row.version_id for row in rows}
    for version_id, labels in ((described or {}).get("VersionIdsToStages") or {}).items():
        if version_id not in listed_ids and labels:
            rows.append(Version(version_id, tuple(labels), None, "(no value)" if key is not None else None))
    rows.sort(key=lambda row: (stage_sort_key(row.stages), -(row.created.timestamp() if row.created else 0)))
    return rows
