"""Days since each secret's last rotation, as one metric per secret.

Secrets Manager emits no metric for "not rotated lately": a schedule that was switched off,
a rotation that keeps failing quietly or a function that was never wired leave nothing to
alarm on. This check lists the environment's secrets (found by tag, because ListSecrets
cannot be scoped by ARN), and publishes ``DaysSinceLastRotation`` per secret plus the
counts of overdue secrets and of secrets whose rotation is turned off, so a per-secret alarm
fires when the policy is exceeded and an environment alarm fires as soon as rotation is off.
It reads metadata only (ListSecrets returns no value).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lambdas.rotation.aws import aws_client
from lambdas.rotation.errors import ConfigurationError

ENVIRONMENT_TAG_KEY = "rotation-kit:environment"
# The replica Regions a secret should have, space-separated (tag values allow letters, digits,
# spaces and + - = . _ : / @, not commas). Tags are replicated with the secret.
REPLICA_REGIONS_TAG_KEY = "rotation-kit:replica-regions"
_SECONDS_PER_DAY = 86400


def replica_regions_tag(regions: Iterable[str]) -> str:
    return " ".join(sorted(regions))


def expected_replica_regions(secret: Mapping[str, Any]) -> tuple[str, ...]:
    """The replica Regions the CDK app configured for ``secret`` (from its tag)."""
    tags = {tag["Key"]: tag["Value"] for tag in secret.get("Tags", [])}
    return tuple(tags.get(REPLICA_REGIONS_TAG_KEY, "").split())


@dataclass(frozen=True)
class SecretAge:
    """How long ago one secret was last rotated, and whether that breaks the policy."""

    name: str
    days_since_rotation: float
    rotation_enabled: bool
    overdue: bool


@dataclass(frozen=True)
class MonitorSettings:
    environment: str
    max_rotation_days: int

    @classmethod
    def from_env(cls) -> MonitorSettings:
        environment = os.environ.get("ENVIRONMENT_TAG_VALUE", "")
        days = os.environ.get("MAX_ROTATION_DAYS", "")
        if not environment:
            raise ConfigurationError("ENVIRONMENT_TAG_VALUE must name the environment (e.g. shop/prod)")
        if not days.isdigit() or int(days) < 1:
            raise ConfigurationError(f"MAX_ROTATION_DAYS must be a positive whole number of days, got {days!r}")
        return cls(environment=environment, max_rotation_days=int(days))


def age_of(secret: Mapping[str, Any], *, now: datetime, max_rotation_days: int) -> SecretAge:
    """A never-rotated secret counts from its creation: it is as stale as its first value.
    Overdue means older than the policy; rotation being off is reported on its own."""
    last = secret.get("LastRotatedDate") or secret["CreatedDate"]
    days = (now - last).total_seconds() / _SECONDS_PER_DAY
    enabled = bool(secret.get("RotationEnabled"))
    return SecretAge(
        name=str(secret["Name"]),
        days_since_rotation=round(days, 2),
        rotation_enabled=enabled,
        overdue=days > max_rotation_days,
    )


def environment_secrets(environment: str) -> Iterator[Mapping[str, Any]]:
    """The environment's secrets. The tag filters match key and value separately, so the pair
    is checked again here: another tag with the same value must not pull a secret in."""
    paginator = aws_client("secretsmanager").get_paginator("list_secrets")
    filters = [{"Key": "tag-key", "Values": [ENVIRONMENT_TAG_KEY]}, {"Key": "tag-value", "Values": [environment]}]
    for page in paginator.paginate(Filters=filters):
        for secret in page.get("SecretList", []):
            tags = {tag["Key"]: tag["Value"] for tag in secret.get("Tags", [])}
            if tags.get(ENVIRONMENT_TAG_KEY) == environment:
                yield secret


def measure(secrets: Iterable[Mapping[str, Any]], *, now: datetime, max_rotation_days: int) -> list[SecretAge]:
    return sorted(
        (age_of(secret, now=now, max_rotation_days=max_rotation_days) for secret in secrets), key=lambda a: a.name
    )
