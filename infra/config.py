"""The environment config (``config/<env>.yaml``), parsed into a typed, validated model.

Every error names the file, the field path and why, and fails ``cdk synth`` before anything
is built. The AWS rules behind the checks are listed in docs/aws-rules.md ("CloudFormation,
CDK and the deployed resources"); schedules and windows live in ``infra/schedules.py``.
"""

from __future__ import annotations

import re
import ssl
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from infra.regions import check_region, partition_of_known_region
from infra.schedules import MAX_ROTATION_DAYS, check_window, parse_schedule
from lambdas.rotation import ConfigurationError as FunctionConfigurationError
from lambdas.rotation_monitor.monitor import replica_regions_tag
from lambdas.targets.elasticache import AUTH_TOKEN_RULE, RBAC_PASSWORD_RULE
from lambdas.targets.passwords import DEFAULT_EXCLUDED, DEFAULT_LENGTH, PRINTABLE_ASCII, PasswordRule, usable_characters
from lambdas.targets.postgres import MAX_IDENTIFIER_BYTES
from lambdas.targets.postgres_roles import alternating_name_problem
from lambdas.targets.valkey import managed_endpoint, parse_node_address

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
PASSWORD_KINDS = NETWORKED_KINDS
ELASTICACHE_KINDS = frozenset({"elasticache_user", "elasticache_auth_token"})
# The functions' own rules for what ElastiCache accepts (lambdas/targets/elasticache.py): the
# first value CloudFormation generates and every rotated one draw from the same characters.
TARGET_PASSWORD_RULES: dict[str, PasswordRule] = {
    "elasticache_user": RBAC_PASSWORD_RULE,
    "elasticache_auth_token": AUTH_TOKEN_RULE,
}
# ElastiCache passwords and AUTH tokens are at most 128 characters (CreateUser, ModifyReplicationGroup).
ELASTICACHE_MAX_PASSWORD = 128
# CloudFormation GenerateSecretString: PasswordLength 1-4096 (the first value of every secret).
GENERATED_MAX_LENGTH = 4096
# Lambda's maximum timeout is 900 s; the ElastiCache wait keeps this much of it for the other calls.
LAMBDA_MAX_TIMEOUT_S = 900
ELASTICACHE_TIMEOUT_MARGIN_S = 60
# CloudWatch Logs retention values (PutRetentionPolicy): the longest finite one is 3653 days.
MAX_LOG_RETENTION_DAYS = 3653

_SECURITY_GROUP = r"^sg-[0-9a-f]{8,17}$"
_ROLE_ARN = re.compile(r"^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):role/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}$")
_KMS_KEY_ARN = re.compile(
    r"^arn:(aws|aws-cn|aws-us-gov):kms:([a-z0-9-]+):(\d{12}):key/"
    r"(?:mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$"
)
_SECRET_ARN = re.compile(r"^arn:(aws|aws-cn|aws-us-gov):secretsmanager:([a-z0-9-]+):(\d{12}):secret:(.+)$")
_USER_ARN = re.compile(r"^arn:(aws|aws-cn|aws-us-gov):elasticache:([a-z0-9-]+):(\d{12}):user:([a-zA-Z][a-zA-Z0-9-]*)$")
_SECRET_NAME_CHARS = re.compile(r"^[A-Za-z0-9/_+=.@-]+$")
# Secrets Manager: "Do not end your secret name with a hyphen followed by six characters."
_ENDS_LIKE_ARN_SUFFIX = re.compile(r"-[A-Za-z0-9/_+=.@]{6}$")
MAX_SECRET_NAME = 512
MAX_TAG_VALUE = 255  # TagResource: "Maximum value length: 255" (the Tag type says 256: the stricter)


class ConfigError(ValueError):
    """The config is invalid; the message names file, field and reason."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def partition_of(region: str) -> str:
    """The ARN partition a region belongs to: botocore's, else by the name's prefix."""
    known = partition_of_known_region(region)
    if known is not None:
        return known
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def _pem_bundle(value: str, info: ValidationInfo) -> str:
    """A PEM CA bundle that exists, resolved against the config file's directory."""
    if value == "runtime":
        return value
    base = Path((info.context or {}).get("config_dir", "."))
    path = (base / value).resolve()
    if not path.is_file():
        raise ValueError(f"CA bundle {value!r} does not exist (looked for {path}); use 'runtime' or a PEM file path")
    text = path.read_text(errors="replace")
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise ValueError(f"CA bundle {value!r} is not PEM: no '-----BEGIN CERTIFICATE-----' block")
    try:
        ssl.create_default_context().load_verify_locations(cafile=str(path))
    except ssl.SSLError as exc:
        raise ValueError(f"CA bundle {value!r} is not a valid PEM bundle ({exc.reason})") from None
    return str(path)


class TlsConfig(_Model):
    """How rotation functions verify their targets' TLS certificates (environment default)."""

    ca_bundle: str = "runtime"  # the Lambda runtime's CA bundle, or a PEM file shipped with the functions
    mode: Literal["verify-full", "verify-ca"] = "verify-full"

    @field_validator("ca_bundle")
    @classmethod
    def _bundle(cls, value: str, info: ValidationInfo) -> str:
        return _pem_bundle(value, info)


class TlsOverride(_Model):
    """A secret's own TLS settings; unset fields fall back to the environment's ``tls``."""

    ca_bundle: str | None = None
    mode: Literal["verify-full", "verify-ca"] | None = None

    @field_validator("ca_bundle")
    @classmethod
    def _bundle(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else _pem_bundle(value, info)


class PasswordSettings(_Model):
    """How the function (and the first value) generates this secret's passwords."""

    length: int = Field(DEFAULT_LENGTH, ge=16, le=GENERATED_MAX_LENGTH)
    exclude_characters: str = DEFAULT_EXCLUDED


class HmacTarget(_Model):
    fields: tuple[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")], ...] = Field(("key",), min_length=1)
    # Bytes as hex: the first value is generated with 2 characters per byte, at most 4096.
    key_bytes: int = Field(32, ge=32, le=GENERATED_MAX_LENGTH // 2)

    @field_validator("fields")
    @classmethod
    def _no_repeats(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # The function regenerates a repeated name once (HMAC_FIELDS), the first deploy would count it twice.
        return _unique(value)


def _secret_arn(value: str | None) -> str | None:
    if value is not None and not _SECRET_ARN.match(value):
        raise ValueError("must be a Secrets Manager secret ARN (arn:<partition>:secretsmanager:<region>:<account>:…)")
    return value


def _kms_key_arn(value: str | None) -> str | None:
    if value is not None and not _KMS_KEY_ARN.match(value):
        raise ValueError(
            "must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<key id>); "
            "an alias cannot be named in an IAM policy"
        )
    return value


class _AdminSecret(_Model):
    """A target changed through an admin secret (``masterarn``)."""

    admin_secret_arn: str | None = None
    # The admin secret's own KMS key when it is not the environment key (an RDS-managed
    # ``rds!db-…`` master secret has its own): the function gets kms:Decrypt on it.
    admin_secret_kms_key_arn: str | None = None
    security_group_id: str = Field(pattern=_SECURITY_GROUP)

    @field_validator("admin_secret_arn")
    @classmethod
    def _arn(cls, value: str | None) -> str | None:
        return _secret_arn(value)

    @field_validator("admin_secret_kms_key_arn")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        return _kms_key_arn(value)


class PostgresTarget(_AdminSecret):
    host: str = Field(min_length=1)
    port: int = Field(5432, ge=1, le=65535)
    # The function refuses an empty dbname (a non-empty string when present).
    dbname: str = Field("postgres", min_length=1)
    username: str = Field(min_length=1)

    @field_validator("username", "dbname")
    @classmethod
    def _identifier(cls, value: str) -> str:
        # PostgreSQL truncates identifiers to NAMEDATALEN - 1 = 63 *bytes*, not characters
        if len(value.encode("utf-8")) > MAX_IDENTIFIER_BYTES:
            raise ValueError(f"must be at most {MAX_IDENTIFIER_BYTES} bytes (PostgreSQL's identifier limit)")
        return value


class ValkeyTarget(_AdminSecret):
    nodes: tuple[str, ...] = Field(min_length=1)
    # Valkey refuses user names with spaces or NUL ("Usernames can't contain spaces or null
    # characters", ACL SETUSER); the function needs a non-empty string.
    username: str = Field("default", pattern=r"^[^\s\x00]+$")
    admin_secret_arn: str  # required: ACL SETUSER needs the admin

    @field_validator("nodes")
    @classmethod
    def _nodes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for node in value:
            address = parse_node_address(node)  # the function's own parser
            if address is None:
                raise ValueError(f'{node!r} is not "host:port" (an IPv6 host in brackets: "[::1]:6379")')
            managed = managed_endpoint(address[0])
            if managed is not None:  # the function would refuse it at createSecret
                raise ValueError(f"{node!r} is {managed}")
        return value


class _ElastiCacheEndpoint(_Model):
    """An optional endpoint written into the first value so testSecret authenticates for real;
    reaching it needs the function in the VPC (``security_group_id``)."""

    host: str | None = Field(None, min_length=1)
    port: int = Field(6379, ge=1, le=65535)
    security_group_id: str | None = Field(None, pattern=_SECURITY_GROUP)

    @model_validator(mode="after")
    def _reachable(self) -> _ElastiCacheEndpoint:
        if self.host is not None and self.security_group_id is None:
            raise ValueError(
                "host is set but security_group_id is not: testSecret authenticates against the endpoint "
                "from the VPC, so the function needs the cache's security group"
            )
        return self


class ElastiCacheUserTarget(_ElastiCacheEndpoint):
    user_arn: str
    # AUTH uses the UserName, which may differ from the UserId at the end of user_arn.
    username: str = Field(min_length=1, pattern=r"^\S+$")

    @field_validator("user_arn")
    @classmethod
    def _arn(cls, value: str) -> str:
        if not _USER_ARN.match(value):
            raise ValueError(
                "must be an ElastiCache user ARN (arn:<partition>:elasticache:<region>:<account>:user:<id>)"
            )
        return value

    @property
    def user_id(self) -> str:
        return self.user_arn.rsplit(":", 1)[1]


class ElastiCacheAuthTokenTarget(_ElastiCacheEndpoint):
    replication_group_id: str

    @field_validator("replication_group_id")
    @classmethod
    def _group_id(cls, value: str) -> str:
        """ElastiCache (CreateReplicationGroup): 1-40 letters, digits or hyphens, starting with a
        letter, never ending with a hyphen or holding two in a row; stored in lower case."""
        if not re.fullmatch(r"[a-z][a-z0-9-]{0,39}", value) or value.endswith("-") or "--" in value:
            raise ValueError(
                f"{value!r} must be 1-40 lower-case letters, digits or hyphens, start with a letter, "
                "and neither end with a hyphen nor contain two in a row"
            )
        return value


# Secrets Manager's RegionType: "^([a-z]+-)+\\d+$", 1-128 characters (botocore's service model).
RegionName = Annotated[str, Field(pattern=r"^([a-z]+-)+\d+$", max_length=128)]


def _unique(value: tuple[str, ...]) -> tuple[str, ...]:
    repeated = sorted({item for item in value if value.count(item) > 1})
    if repeated:
        raise ValueError(f"lists {', '.join(repr(item) for item in repeated)} twice")
    return value


class ConsumerConfig(_Model):
    """An IAM role that reads the secret, and the Regions it reads it in (its failover order:
    what the consumer library's ``regions=`` names). Unset: the primary and every replica."""

    role: str
    regions: tuple[RegionName, ...] | None = Field(None, min_length=1)

    @field_validator("role")
    @classmethod
    def _role(cls, value: str) -> str:
        if not _ROLE_ARN.match(value):
            raise ValueError(f"{value!r} is not an IAM role ARN (arn:<partition>:iam::<account>:role/<name>)")
        return value

    @field_validator("regions")
    @classmethod
    def _regions(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return None if value is None else _unique(value)


class SecretReference(_Model):
    """An existing secret whose value becomes the first value, through a CloudFormation dynamic
    reference: the value is never in the template or the CDK output."""

    secret_arn: str
    json_field: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]+$")

    @field_validator("secret_arn")
    @classmethod
    def _arn(cls, value: str) -> str:
        return _secret_arn(value) or value


_TARGET_SECTION = {
    "hmac_key": "hmac",
    "postgres_single": "postgres",
    "postgres_alternating": "postgres",
    "valkey_acl": "valkey",
    "elasticache_user": "elasticache_user",
    "elasticache_auth_token": "elasticache_auth_token",
}


class SecretConfig(_Model):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    kind: Kind
    schedule: str = "rate(30 days)"
    window: str | None = None
    # None: decided per kind and first-value source so the first deploy ends with a working
    # AWSCURRENT (infra/first_deploy.py); true/false are checked against the same rules.
    rotate_immediately_on_update: bool | None = None
    # An explicit rotation stack label; by default a stable hash of the secret's name picks one.
    stack: str | None = Field(None, pattern=r"^[a-z][a-z0-9]{0,11}$")
    initial_value_from: SecretReference | None = None
    # An edit of the first-value settings (target fields, password settings, initial_value_from)
    # makes CloudFormation write a new AWSCURRENT; the first-value guard refuses that deploy
    # unless this is true (for a secret nothing uses yet).
    replace_value_on_edit: bool = False
    password: PasswordSettings | None = None
    tls: TlsOverride | None = None
    hmac: HmacTarget | None = None
    postgres: PostgresTarget | None = None
    valkey: ValkeyTarget | None = None
    elasticache_user: ElastiCacheUserTarget | None = None
    elasticache_auth_token: ElastiCacheAuthTokenTarget | None = None
    # Replica Regions of this secret: unset, the environment's replication.default_regions;
    # [] keeps it in the primary Region only. Each must have a replica key (replication.regions).
    replica_regions: tuple[RegionName, ...] | None = None
    # Role ARNs, or {role, regions} for a role that reads in some Regions only.
    consumers: tuple[ConsumerConfig, ...] = ()

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str, info: ValidationInfo) -> str:
        try:
            parse_schedule(value)
        except ValueError as exc:
            raise ValueError(f"secret {info.data.get('name', '?')!r}: {exc}") from None
        return value

    @field_validator("consumers", mode="before")
    @classmethod
    def _consumer_entries(cls, value: Any) -> Any:
        """A bare role ARN is a consumer that reads wherever the secret is."""
        if isinstance(value, list | tuple):
            return [{"role": item} if isinstance(item, str) else item for item in value]
        return value

    @field_validator("consumers")
    @classmethod
    def _consumers(cls, value: tuple[ConsumerConfig, ...]) -> tuple[ConsumerConfig, ...]:
        roles = [consumer.role for consumer in value]
        if len(set(roles)) != len(roles):
            raise ValueError("lists a role twice")
        return value

    @field_validator("replica_regions")
    @classmethod
    def _replica_regions(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return None if value is None else _unique(value)

    @model_validator(mode="after")
    def _target(self) -> SecretConfig:
        section = _TARGET_SECTION[self.kind]
        for other in set(_TARGET_SECTION.values()) - {section}:
            if getattr(self, other) is not None:
                raise ValueError(f"kind {self.kind!r} takes a '{section}' section, not '{other}'")
        if self.kind == "hmac_key" and self.hmac is None:
            object.__setattr__(self, "hmac", HmacTarget.model_validate({}))
        elif getattr(self, section) is None:
            raise ValueError(f"kind {self.kind!r} needs a '{section}' target section")
        if self.kind == "postgres_alternating" and self.postgres and not self.postgres.admin_secret_arn:
            raise ValueError("postgres_alternating needs postgres.admin_secret_arn (the masterarn admin secret)")
        if self.kind == "postgres_alternating" and self.postgres:
            problem = alternating_name_problem(self.postgres.username)  # the function's check at createSecret
            if problem is not None:
                raise ValueError(f"postgres.username {self.postgres.username!r}: {problem}")
        if self.password is not None and self.kind not in PASSWORD_KINDS:
            raise ValueError(f"'password' settings apply to password kinds, not {self.kind!r}")
        if self.tls is not None and self.kind not in NETWORKED_KINDS:
            raise ValueError(f"'tls' settings apply to kinds that reach a server, not {self.kind!r}")
        if self.kind in ELASTICACHE_KINDS and self.password_settings.length > ELASTICACHE_MAX_PASSWORD:
            raise ValueError(
                f"password.length {self.password_settings.length} is over ElastiCache's {ELASTICACHE_MAX_PASSWORD}"
            )
        if self.kind in PASSWORD_KINDS:
            rule = TARGET_PASSWORD_RULES.get(self.kind)
            try:  # the function's own check at createSecret
                usable_characters(rule.allowed if rule else PRINTABLE_ASCII, self.password_settings.exclude_characters)
            except FunctionConfigurationError:
                allowed = f" of the characters {self.kind} allows" if rule else ""
                raise ValueError(
                    f"password.exclude_characters leaves no lower-case letter, upper-case letter or digit{allowed}: "
                    "every password needs one of each"
                ) from None
        try:
            check_window(parse_schedule(self.schedule), self.window)
        except ValueError as exc:
            raise ValueError(f"secret {self.name!r}: {exc}") from None
        return self

    @property
    def target(self) -> Any:
        return getattr(self, _TARGET_SECTION[self.kind])

    @property
    def password_settings(self) -> PasswordSettings:
        return self.password or PasswordSettings.model_validate({})

    @property
    def admin_secret_arn(self) -> str | None:
        return getattr(self.target, "admin_secret_arn", None)

    @property
    def admin_secret_kms_key_arn(self) -> str | None:
        return getattr(self.target, "admin_secret_kms_key_arn", None)

    @property
    def security_group_id(self) -> str | None:
        return getattr(self.target, "security_group_id", None)


class NetworkConfig(_Model):
    vpc_id: str = Field(pattern=r"^vpc-[0-9a-f]+$")
    availability_zones: tuple[str, ...] = Field(min_length=1)
    private_subnet_ids: tuple[str, ...] = Field(min_length=1)
    vpc_cidr: str = "10.0.0.0/16"
    # How functions in the VPC reach the Secrets Manager (and ElastiCache) APIs: "create" makes
    # interface endpoints with private DNS; "existing" uses endpoints the VPC already has (one
    # environment per VPC may create them: private DNS names cannot be claimed twice); "nat"
    # goes out through the VPC's NAT gateway (egress 443 to anywhere).
    api_access: Literal["create", "existing", "nat"] = "create"
    # With "existing": the endpoints' security group, so egress 443 goes to it, not the VPC CIDR.
    endpoint_security_group_id: str | None = Field(None, pattern=_SECURITY_GROUP)
    # Add an ingress rule on each target's security group for the function's security group and
    # port, so the first deploy's rotation (or configuration test) can connect.
    target_ingress: bool = True

    @model_validator(mode="after")
    def _subnets(self) -> NetworkConfig:
        if len(self.private_subnet_ids) != len(self.availability_zones):
            raise ValueError("private_subnet_ids needs one subnet per entry of availability_zones")
        if self.endpoint_security_group_id and self.api_access != "existing":
            raise ValueError("endpoint_security_group_id names existing endpoints: it needs api_access: existing")
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


class ReplicationConfig(_Model):
    """Replica Regions (Secrets Manager replication). The app creates one KMS key per Region
    (a stack in that Region); secrets replicate to ``default_regions`` unless they say otherwise."""

    regions: tuple[RegionName, ...] = Field(min_length=1)
    default_regions: tuple[RegionName, ...] | None = None  # unset: every Region of ``regions``

    @field_validator("regions", "default_regions")
    @classmethod
    def _no_repeats(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return None if value is None else _unique(value)

    @model_validator(mode="after")
    def _defaults_have_keys(self) -> ReplicationConfig:
        for region in self.default_regions or ():
            if region not in self.regions:
                raise ValueError(
                    f"default_regions: {region!r} has no replica key: list it in replication.regions "
                    "(the app creates a key in each)"
                )
        return self

    @property
    def defaults(self) -> tuple[str, ...]:
        return self.regions if self.default_regions is None else self.default_regions


class EnvironmentConfig(_Model):
    app: str = Field(pattern=r"^[a-z][a-z0-9-]{0,30}$")
    env: str = Field(pattern=r"^[a-z][a-z0-9-]{0,15}$")
    account: str = Field(pattern=r"^\d{12}$")
    region: str = Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
    name_convention: str = "{app}/{env}/{kind}/{name}"
    max_rotation_days: int = Field(90, ge=1, le=MAX_ROTATION_DAYS)
    log_retention_days: int = Field(365, ge=1, le=MAX_LOG_RETENTION_DAYS)
    # Secrets are spread over this many rotation stacks by a stable hash of their names: fix it
    # before the first deploy (changing it moves secrets between stacks; docs/deploy.md).
    rotation_stacks: int = Field(4, ge=1, le=200)
    # Reserved concurrency of each rotation function: unset (the account's shared pool) by
    # default. Secrets Manager's troubleshooting guide: below 10, rotations can be throttled.
    reserved_concurrency: int | None = Field(None, ge=10)
    elasticache_wait_seconds: int = Field(600, ge=1, le=LAMBDA_MAX_TIMEOUT_S - ELASTICACHE_TIMEOUT_MARGIN_S)
    tls: TlsConfig = TlsConfig()
    replication: ReplicationConfig | None = None
    network: NetworkConfig | None = None
    alerts: AlertsConfig = AlertsConfig(required=False)
    secrets: tuple[SecretConfig, ...] = Field(min_length=1)

    @field_validator("name_convention")
    @classmethod
    def _convention(cls, value: str) -> str:
        if "{name}" not in value or not re.fullmatch(r"[A-Za-z0-9/_+=.@{}-]+", value):
            raise ValueError("must contain {name} and only characters Secrets Manager allows in names")
        unknown = set(re.findall(r"{([^}]*)}", value)) - {"app", "env", "kind", "name"}
        if unknown:
            raise ValueError(f"unknown placeholder(s) {sorted(unknown)}; use {{app}}, {{env}}, {{kind}}, {{name}}")
        prefix = value.split("{kind}")[0].split("{name}")[0]
        if "{env}" not in prefix or not prefix.endswith("/"):
            raise ValueError(
                "must start with a prefix that contains {env} and ends with '/' before {kind} and {name} "
                "(e.g. {app}/{env}/…): alarms and event rules tell environments apart by that prefix, and "
                "'/' keeps 'prod' from matching 'prod-eu'"
            )
        return value

    @model_validator(mode="after")
    def _regions(self) -> EnvironmentConfig:
        """The primary and every replica Region exist in the environment's partition; no replica
        is in the primary Region (Secrets Manager: "Invalid replica region")."""
        try:
            check_region(self.region, self.partition)
        except ValueError as exc:
            raise ValueError(f"region: {exc}") from None
        for index, region in enumerate(self.replication.regions if self.replication else ()):
            where = f"replication.regions[{index}]"
            if region == self.region:
                raise ValueError(f"{where}: {region!r} is the primary region (region): a replica is in another Region")
            try:
                check_region(region, self.partition)
            except ValueError as exc:
                raise ValueError(f"{where}: {exc}") from None
        return self

    @model_validator(mode="after")
    def _policy(self) -> EnvironmentConfig:
        names: dict[str, int] = {}
        for index, secret in enumerate(self.secrets):
            where = f"secrets[{index}] ({secret.name})"
            schedule = parse_schedule(secret.schedule)
            if schedule.longest_gap_days > self.max_rotation_days:
                raise ValueError(
                    f"{where}: schedule {secret.schedule!r} leaves {schedule.longest_gap_days:g} days between "
                    f"rotations, longer than the rotation policy of {self.max_rotation_days} days (max_rotation_days)"
                )
            if secret.kind in NETWORKED_KINDS and self.network is None:
                raise ValueError(f"{where}: kind {secret.kind!r} reaches a server: 'network' is required")
            full = self.secret_name(secret)
            _check_secret_name(where, full)
            if full in names:
                raise ValueError(f"{where}: secret name {full!r} is used twice (also secrets[{names[full]}])")
            names[full] = index
            self._check_arns(where, secret)
            self._check_replicas(where, secret)
        return self

    def _check_replicas(self, where: str, secret: SecretConfig) -> None:
        """Each replica Region has a key; each consumer reads where the secret is."""
        keys = self.replication.regions if self.replication else ()
        for region in secret.replica_regions or ():
            if region == self.region:
                raise ValueError(f"{where}: replica_regions: {region!r} is the primary region (region)")
            if region not in keys:
                raise ValueError(
                    f"{where}: replica_regions: {region!r} has no replica key: list it in replication.regions "
                    "(the app creates a key in each)"
                )
        replicas = self.replica_regions_of(secret)
        if len(replica_regions_tag(replicas)) > MAX_TAG_VALUE:
            raise ValueError(
                f"{where}: replica_regions: {len(replicas)} Regions do not fit the {MAX_TAG_VALUE}-character tag "
                "value that tells the rotation-age check which replicas to expect"
            )
        for number, consumer in enumerate(secret.consumers):
            for region in consumer.regions or ():
                if region != self.region and region not in replicas:
                    shown = "[]" if not replicas else "[" + ", ".join(replicas) + "]"
                    raise ValueError(
                        f"{where}: consumers[{number}].regions: {consumer.role} reads in {region!r}, but the secret "
                        f"is not replicated there (its replica regions: {shown}): add {region!r} to "
                        "replica_regions, or read it from the primary region"
                    )

    def replica_regions_of(self, secret: SecretConfig) -> tuple[str, ...]:
        """The Regions ``secret`` is replicated to (its own list, else the environment's default)."""
        if secret.replica_regions is not None:
            return secret.replica_regions
        return self.replication.defaults if self.replication else ()

    def reader_regions(self, secret: SecretConfig, consumer: ConsumerConfig) -> tuple[str, ...]:
        """Where ``consumer`` reads ``secret``: its own ``regions``, else the primary and every replica."""
        return consumer.regions or (self.region, *self.replica_regions_of(secret))

    def _check_arns(self, where: str, secret: SecretConfig) -> None:
        """ARNs the functions use must be where the functions can reach them: the function's
        Secrets Manager and ElastiCache clients are regional, and IAM grants are partitioned."""
        partition = partition_of(self.region)
        regional = [
            ("admin_secret_arn", secret.admin_secret_arn, _SECRET_ARN),
            ("admin_secret_kms_key_arn", secret.admin_secret_kms_key_arn, _KMS_KEY_ARN),
            ("initial_value_from.secret_arn", secret.initial_value_from and secret.initial_value_from.secret_arn,
             _SECRET_ARN),
            ("elasticache_user.user_arn", getattr(secret.elasticache_user, "user_arn", None), _USER_ARN),
        ]  # fmt: skip
        for field, arn, pattern in regional:
            match = pattern.match(arn) if arn else None
            if match and (match.group(1), match.group(2)) != (partition, self.region):
                raise ValueError(
                    f"{where}: {field} {arn!r} is not in {partition}/{self.region}: the rotation function's "
                    "clients are regional"
                )
        user = secret.elasticache_user
        if user is not None and _USER_ARN.match(user.user_arn).group(3) != self.account:  # type: ignore[union-attr]
            raise ValueError(f"{where}: elasticache_user.user_arn is in another account than {self.account}")
        for consumer in secret.consumers:
            if _ROLE_ARN.match(consumer.role).group(1) != partition:  # type: ignore[union-attr]
                raise ValueError(f"{where}: consumer {consumer.role!r} is not in partition {partition}")

    def secret_name(self, secret: SecretConfig) -> str:
        """The Secrets Manager name from ``name_convention`` (default ``<app>/<env>/<kind>/<name>``)."""
        return self.name_convention.format(app=self.app, env=self.env, kind=secret.kind, name=secret.name)

    def secret_name_prefix(self) -> str:
        """The part of every secret name of this environment before ``{kind}``/``{name}``."""
        prefix = self.name_convention.split("{kind}")[0].split("{name}")[0]
        return prefix.format(app=self.app, env=self.env)

    @property
    def partition(self) -> str:
        return partition_of(self.region)

    @property
    def environment_id(self) -> str:
        """``<app>/<env>``: the environment's tag value and metric dimension."""
        return f"{self.app}/{self.env}"


def _check_secret_name(where: str, name: str) -> None:
    """Secrets Manager's name rules (CreateSecret): up to 512 of ``A-Za-z0-9/_+=.@-``, and not
    ending in a hyphen plus six characters, which partial-ARN lookups take for the random suffix."""
    if len(name) > MAX_SECRET_NAME or not _SECRET_NAME_CHARS.match(name):
        raise ValueError(f"{where}: secret name {name!r} must be 1-512 of A-Za-z0-9/_+=.@-")
    if _ENDS_LIKE_ARN_SUFFIX.search(name):
        raise ValueError(
            f"{where}: secret name {name!r} ends with a hyphen and six characters, which Secrets Manager "
            "confuses with the random suffix of an ARN: choose a name whose last part is not 6 characters"
        )


def _location(error: Any) -> str:
    return ".".join(str(part) for part in error["loc"]) or "(top level)"


def parse_config(raw: Any, *, source: str, config_dir: Path) -> EnvironmentConfig:
    """Validate ``raw`` (the parsed YAML); a ``ConfigError`` names ``source``, every bad field and why."""
    try:
        config = EnvironmentConfig.model_validate(raw, context={"config_dir": str(config_dir)})
    except ValidationError as exc:
        problems = "; ".join(
            f"{_location(error)}: {error['msg'].removeprefix('Value error, ')}" for error in exc.errors()
        )
        raise ConfigError(f"{source}: {problems}") from None
    from infra.plan import plan_environment  # the plan checks what only the whole config decides

    try:
        plan_environment(config)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    return config


def load_config(path: Path) -> EnvironmentConfig:
    """Read and validate ``path``; a ``ConfigError`` names the file, every bad field and why."""
    if not path.exists():
        raise ConfigError(f"{path}: no such config file (choose one with -c env=<name> for config/<name>.yaml)")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    return parse_config(raw, source=str(path), config_dir=path.resolve().parent)
