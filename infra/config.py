"""The environment config (``config/<env>.yaml``), parsed into a typed, validated model.

Every error names the file, the field path and why, and fails ``cdk synth`` before anything
is built: a 30-minute schedule, a schedule longer than the rotation policy, a bad secret
name, an unknown kind, a networked kind without subnets all stop here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

Kind = Literal[
    "hmac_key",
    "postgres_single",
    "postgres_alternating",
    "valkey_acl",
    "elasticache_user",
    "elasticache_auth_token",
]
KINDS: tuple[str, ...] = get_args(Kind)
NETWORKED_KINDS = frozenset(
    {"postgres_single", "postgres_alternating", "valkey_acl", "elasticache_user", "elasticache_auth_token"}
)
MIN_ROTATION_HOURS = 4  # Secrets Manager rotates at most every four hours
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\(([^()]+)\)$")
_ARN_SECRET = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$")


class ConfigError(ValueError):
    """The config is invalid; the message names file, field and reason."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def schedule_hours(expression: str) -> float | None:
    """The interval of a ``rate(...)`` expression in hours; None for ``cron(...)``."""
    rate = _RATE.match(expression)
    if rate:
        amount, unit = int(rate.group(1)), rate.group(2)
        return amount * {"minute": 1 / 60, "hour": 1.0, "day": 24.0}[unit.rstrip("s")]
    if _CRON.match(expression) and len(_CRON.match(expression).group(1).split()) == 6:  # type: ignore[union-attr]
        return None
    raise ValueError(f"{expression!r} is not rate(N hours|days) or cron(<6 fields>)")


class HmacTarget(_Model):
    fields: tuple[str, ...] = ("key",)
    key_bytes: int = Field(32, ge=32)


class PostgresTarget(_Model):
    host: str
    port: int = Field(5432, ge=1, le=65535)
    dbname: str = "postgres"
    username: str = Field(min_length=1, max_length=63)
    admin_secret_arn: str | None = None
    security_group_id: str = Field(pattern=r"^sg-[0-9a-f]+$")

    @field_validator("admin_secret_arn")
    @classmethod
    def _arn(cls, value: str | None) -> str | None:
        if value is not None and not _ARN_SECRET.match(value):
            raise ValueError("must be a Secrets Manager secret ARN")
        return value


class ValkeyTarget(_Model):
    nodes: tuple[str, ...] = Field(min_length=1)
    username: str = "default"
    admin_secret_arn: str
    security_group_id: str = Field(pattern=r"^sg-[0-9a-f]+$")

    @field_validator("nodes")
    @classmethod
    def _nodes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for node in value:
            host, _, port = node.rpartition(":")
            if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
                raise ValueError(f'{node!r} is not "host:port"')
        return value


class ElastiCacheUserTarget(_Model):
    user_arn: str = Field(pattern=r"^arn:aws[a-z-]*:elasticache:[a-z0-9-]+:\d{12}:user:[A-Za-z0-9-]+$")
    security_group_id: str | None = Field(None, pattern=r"^sg-[0-9a-f]+$")


class ElastiCacheAuthTokenTarget(_Model):
    replication_group_id: str = Field(pattern=r"^[a-z][a-z0-9-]{0,39}$")
    security_group_id: str | None = Field(None, pattern=r"^sg-[0-9a-f]+$")


class SecretReference(_Model):
    """An existing secret whose value becomes the first value, through a CloudFormation dynamic
    reference: the value is never in the template or the CDK output."""

    secret_arn: str
    json_field: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]+$")

    @field_validator("secret_arn")
    @classmethod
    def _arn(cls, value: str) -> str:
        if not _ARN_SECRET.match(value):
            raise ValueError("must be a Secrets Manager secret ARN")
        return value


class SecretConfig(_Model):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    kind: Kind
    schedule: str = "rate(30 days)"
    window: str | None = Field(None, pattern=r"^\d+h$")
    rotate_immediately_on_update: bool = False
    initial_value_from: SecretReference | None = None
    hmac: HmacTarget | None = None
    postgres: PostgresTarget | None = None
    valkey: ValkeyTarget | None = None
    elasticache_user: ElastiCacheUserTarget | None = None
    elasticache_auth_token: ElastiCacheAuthTokenTarget | None = None
    consumers: tuple[str, ...] = ()

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        hours = schedule_hours(value)
        if hours is not None and hours < MIN_ROTATION_HOURS:
            raise ValueError(
                f"{value!r} rotates more often than every {MIN_ROTATION_HOURS} hours: "
                "Secrets Manager rotates at most every 4 hours"
            )
        return value

    @model_validator(mode="after")
    def _target(self) -> SecretConfig:
        section = {"hmac_key": "hmac", "postgres_single": "postgres", "postgres_alternating": "postgres"}.get(
            self.kind, self.kind if self.kind.startswith("elasticache") else "valkey"
        )
        if self.kind == "hmac_key" and self.hmac is None:
            object.__setattr__(self, "hmac", HmacTarget.model_validate({}))
        elif getattr(self, section) is None:
            raise ValueError(f"kind {self.kind!r} needs a '{section}' target section")
        if self.kind == "postgres_alternating" and self.postgres and not self.postgres.admin_secret_arn:
            raise ValueError("postgres_alternating needs postgres.admin_secret_arn (the masterarn admin secret)")
        return self

    @property
    def target(self) -> Any:
        for section in ("postgres", "valkey", "elasticache_user", "elasticache_auth_token", "hmac"):
            if getattr(self, section) is not None:
                return getattr(self, section)
        return None


class NetworkConfig(_Model):
    vpc_id: str = Field(pattern=r"^vpc-[0-9a-f]+$")
    availability_zones: tuple[str, ...] = Field(min_length=1)
    private_subnet_ids: tuple[str, ...] = Field(min_length=1)
    vpc_cidr: str = "10.0.0.0/16"
    # How functions in the VPC reach the Secrets Manager (and ElastiCache) APIs: "create" makes
    # interface endpoints with private DNS; "existing" uses endpoints the VPC already has; "nat"
    # goes out through the VPC's NAT gateway (egress 443 to anywhere).
    api_access: Literal["create", "existing", "nat"] = "create"

    @model_validator(mode="after")
    def _subnets(self) -> NetworkConfig:
        if len(self.private_subnet_ids) != len(self.availability_zones):
            raise ValueError("private_subnet_ids needs one subnet per entry of availability_zones")
        return self


class AccessMonitoringConfig(_Model):
    """Opt-in: needs a CloudTrail trail that delivers management events to this log group."""

    cloudtrail_log_group: str = Field(pattern=r"^[A-Za-z0-9_/#.-]+$", max_length=512)
    anomaly_band: float = Field(3.0, gt=0, le=10)


class AlertsConfig(_Model):
    emails: tuple[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")], ...] = ()
    required: bool = True
    access_monitoring: AccessMonitoringConfig | None = None

    @model_validator(mode="after")
    def _subscribers(self) -> AlertsConfig:
        if self.required and not self.emails:
            raise ValueError(
                "emails is empty but alerts are required (set required: false to deploy without subscribers)"
            )
        return self


class EnvironmentConfig(_Model):
    app: str = Field(pattern=r"^[a-z][a-z0-9-]{0,30}$")
    env: str = Field(pattern=r"^[a-z][a-z0-9-]{0,15}$")
    account: str = Field(pattern=r"^\d{12}$")
    region: str = Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
    name_convention: str = "{app}/{env}/{kind}/{name}"
    max_rotation_days: int = Field(90, ge=1, le=1000)
    log_retention_days: int = 365
    secrets_per_stack: int = Field(40, ge=1, le=100)
    network: NetworkConfig | None = None
    alerts: AlertsConfig = AlertsConfig(required=False)
    secrets: tuple[SecretConfig, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _policy(self) -> EnvironmentConfig:
        names = set()
        for index, secret in enumerate(self.secrets):
            hours = schedule_hours(secret.schedule)
            if hours is not None and hours > self.max_rotation_days * 24:
                raise ValueError(
                    f"secrets[{index}] ({secret.name}): schedule {secret.schedule!r} is longer than the "
                    f"rotation policy of {self.max_rotation_days} days (max_rotation_days)"
                )
            if secret.kind in NETWORKED_KINDS and self.network is None:
                raise ValueError(
                    f"secrets[{index}] ({secret.name}): kind {secret.kind!r} reaches a server: 'network' is required"
                )
            full = self.secret_name(secret)
            if full in names:
                raise ValueError(f"secrets[{index}]: secret name {full!r} is used twice")
            names.add(full)
        return self

    def secret_name(self, secret: SecretConfig) -> str:
        """The Secrets Manager name from ``name_convention`` (default ``<app>/<env>/<kind>/<name>``)."""
        return self.name_convention.format(app=self.app, env=self.env, kind=secret.kind, name=secret.name)

    @field_validator("name_convention")
    @classmethod
    def _convention(cls, value: str) -> str:
        if "{name}" not in value or not re.fullmatch(r"[A-Za-z0-9/_+=.@{}-]+", value):
            raise ValueError("must contain {name} and only characters Secrets Manager allows in names")
        return value


def _location(error: Any) -> str:
    return ".".join(str(part) for part in error["loc"]) or "(top level)"


def load_config(path: Path) -> EnvironmentConfig:
    """Read and validate ``path``; a ``ConfigError`` names the file, every bad field and why."""
    if not path.exists():
        raise ConfigError(f"{path}: no such config file (choose one with -c env=<name> for config/<name>.yaml)")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    try:
        return EnvironmentConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{_location(error)}: {error['msg'].removeprefix('Value error, ')}" for error in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from None
