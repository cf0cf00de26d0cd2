"""What the CLI shows about a secret without showing a value: kind, schedule, dates,
stages and versions with fingerprints (the first 12 hex characters of SHA-256)."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
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


def fingerprint(value: str) -> str:
    """Enough to tell versions apart; useless to an attacker for the high-entropy values rotated here."""
    return hashlib.sha256(value.encode()).hexdigest()[:12]


def kind_of(described: dict[str, Any], current: str | None) -> str:
    """The rotation kind: from the CDK app's description, the function or secret name, else the JSON's shape."""
    match = _DESCRIPTION.match(str(described.get("Description", "")))
    if match and match.group(1) in KINDS:
        return match.group(1)
    for text in (str(described.get("RotationLambdaARN", "")), str(described.get("Name", ""))):
        normalized = text.replace("-", "_")
        for kind in KINDS:
            if kind in normalized:
                return kind
    return _kind_from_fields(current)


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
    value: str | None = field(default=None, repr=False, compare=False)  # never printed: see fingerprint

    @property
    def fingerprint(self) -> str | None:
        return fingerprint(self.value) if self.value else None


def stage_sort_key(stages: tuple[str, ...]) -> int:
    return min((STAGE_ORDER.index(stage) for stage in stages if stage in STAGE_ORDER), default=len(STAGE_ORDER))


def value_of(client: Any, secret_id: str, version_id: str) -> str | None:
    """A version's SecretString, or None when it has none (an empty AWSPENDING) or is gone."""
    try:
        response = client.get_secret_value(SecretId=secret_id, VersionId=version_id)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None
        raise
    text = response.get("SecretString")
    return text if isinstance(text, str) else None


def versions(client: Any, secret_id: str, *, include_unstaged: bool) -> list[Version]:
    """Versions (staged first: pending, current, previous), each with its fingerprint."""
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
        text = value_of(client, secret_id, entry["VersionId"])
        rows.append(Version(entry["VersionId"], stages, as_datetime(entry.get("CreatedDate")), text))
    rows.sort(key=lambda row: (stage_sort_key(row.stages), -(row.created.timestamp() if row.created else 0)))
    return rows
