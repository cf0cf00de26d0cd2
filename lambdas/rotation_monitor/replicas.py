"""Health of each replica of the environment's secrets: in sync, and not lagging the primary.

Two readings, both metadata only (DescribeSecret never returns a value):

- **In sync**: the primary's DescribeSecret lists ``ReplicationStatus[]`` (``Region``,
  ``Status`` ``InSync``/``InProgress``/``Failed``, ``StatusMessage``, ``LastAccessedDate``);
  ListSecrets does not carry it. A Region the CDK app configured (the secret's
  ``rotation-kit:replica-regions`` tag) but missing from the list is reported as ``Missing``;
  a replica Region whose Secrets Manager cannot be asked is ``Unreachable``.
- **Lagging**: a replica keeps the primary's version ids (replicas are copies of the source
  secret, versions included), so the replica's own DescribeSecret in its Region shows which
  version it labels AWSCURRENT. A replica is lagging when that is not the primary's AWSCURRENT
  and the primary's last rotation (``LastRotatedDate``; the creation date if never rotated) is
  older than ``LAG_GRACE_S``: replication is asynchronous and eventually consistent, so a replica
  seconds behind a rotation is normal. The replica's ``LastChangedDate`` is reported beside it
  but not relied on: it moves for any change (tags, description), so it cannot tell which
  version the replica holds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lambdas.rotation.aws import aws_client
from lambdas.rotation_monitor.monitor import expected_replica_regions

IN_SYNC = "InSync"
MISSING = "Missing"
UNREACHABLE = "Unreachable"
LAG_GRACE_S = 900.0
WORKERS = 8  # DescribeSecret calls in parallel: a 6-hourly check of hundreds of secrets stays in seconds

Describe = Callable[[str | None, str], Mapping[str, Any]]  # (Region, None for the primary's; ARN) -> DescribeSecret


@dataclass(frozen=True)
class ReplicaHealth:
    secret: str
    region: str
    status: str  # ReplicationStatus[].Status, or Missing / Unreachable
    status_message: str
    last_accessed: datetime | None
    replica_last_changed: datetime | None
    in_sync: bool
    lagging: bool
    lag_seconds: float | None  # since the primary's last rotation, when lagging

    def log_fields(self) -> dict[str, Any]:
        return {
            "secret": self.secret,
            "region": self.region,
            "status": self.status,
            "status_message": self.status_message,
            "last_accessed": self.last_accessed.isoformat() if self.last_accessed else None,
            "replica_last_changed": self.replica_last_changed.isoformat() if self.replica_last_changed else None,
            "in_sync": self.in_sync,
            "lagging": self.lagging,
            "lag_seconds": self.lag_seconds,
        }


def current_version(described: Mapping[str, Any]) -> str | None:
    stages = described.get("VersionIdsToStages") or {}
    return next((version for version, labels in stages.items() if "AWSCURRENT" in labels), None)


def replica_arn(primary_arn: str, region: str) -> str:
    """A replica's ARN: the primary's with the replica Region (same name and random suffix)."""
    parts = primary_arn.split(":")
    return ":".join([*parts[:3], region, *parts[4:]])


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'Error')}: {error.get('Message', '')}".strip()
    return type(exc).__name__


def health_of(primary: Mapping[str, Any], describe: Describe, *, now: datetime) -> list[ReplicaHealth]:
    """The health of every replica ``primary`` (its DescribeSecret) has or should have."""
    name, arn = str(primary["Name"]), str(primary["ARN"])
    statuses = {str(entry["Region"]): entry for entry in primary.get("ReplicationStatus") or []}
    expected = sorted({*expected_replica_regions(primary), *statuses})
    current = current_version(primary)
    rotated = primary.get("LastRotatedDate") or primary.get("CreatedDate")
    since = (now - rotated).total_seconds() if isinstance(rotated, datetime) else None
    found: list[ReplicaHealth] = []
    for region in expected:
        entry = statuses.get(region)
        status = str(entry.get("Status", "")) if entry else MISSING
        message = str(entry.get("StatusMessage", "")) if entry else "no replica in this Region (ReplicationStatus)"
        last_accessed = entry.get("LastAccessedDate") if entry else None
        replica_changed = None
        lagging = False
        if entry is not None:
            try:
                replica = describe(region, replica_arn(arn, region))
            except (ClientError, BotoCoreError) as exc:
                status, message = UNREACHABLE, f"DescribeSecret in {region} failed: {_error_text(exc)}"
            else:
                replica_changed = replica.get("LastChangedDate")
                behind = current is not None and current_version(replica) != current
                lagging = behind and since is not None and since > LAG_GRACE_S
        found.append(
            ReplicaHealth(
                secret=name,
                region=region,
                status=status,
                status_message=message,
                last_accessed=last_accessed if isinstance(last_accessed, datetime) else None,
                replica_last_changed=replica_changed if isinstance(replica_changed, datetime) else None,
                in_sync=status == IN_SYNC,
                lagging=lagging,
                lag_seconds=round(since, 1) if lagging and since is not None else None,
            )
        )
    return found


def _describe(region: str | None, secret_arn: str) -> Mapping[str, Any]:
    described: Mapping[str, Any] = aws_client("secretsmanager", region).describe_secret(SecretId=secret_arn)
    return described


def replica_health(
    listed: list[Mapping[str, Any]], *, now: datetime, describe: Describe = _describe
) -> list[ReplicaHealth]:
    """Health of the replicas of every listed secret the CDK app replicates (its tag). The primary
    is described in its own Region (the default client), each replica in its Region."""
    replicated = [secret for secret in listed if expected_replica_regions(secret)]

    def one(secret: Mapping[str, Any]) -> list[ReplicaHealth]:
        try:
            primary = describe(None, str(secret["ARN"]))
        except (ClientError, BotoCoreError) as exc:
            return [
                ReplicaHealth(str(secret["Name"]), region, UNREACHABLE, f"DescribeSecret failed: {_error_text(exc)}",
                              None, None, False, False, None)
                for region in expected_replica_regions(secret)
            ]  # fmt: skip
        return health_of(primary, describe, now=now)

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        results = list(pool.map(one, replicated))
    return sorted((health for found in results for health in found), key=lambda h: (h.secret, h.region))
