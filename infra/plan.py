"""Where every secret and function goes, decided from each secret alone.

A secret's stack is a stable hash of its Secrets Manager name into ``rotation_stacks`` buckets
(or the ``stack`` it names), and its construct id comes from its kind and name: inserting,
removing or reordering config entries moves nothing. Functions are grouped by (kind,
settings) and named by the group's digest, so a secret never rotates with another's settings
and a group keeps its id whatever else changes. Name limits are checked here, so a name AWS
would refuse is a config error, not a deploy failure.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass

from infra.config import ConfigError, EnvironmentConfig, SecretConfig
from infra.first_deploy import FirstDeployError, rotate_on_deploy
from infra.settings import function_settings, settings_digest

# Lambda CreateFunction: FunctionName (the name alone) is 1-64 characters of [a-zA-Z0-9-_].
MAX_FUNCTION_NAME = 64
_FUNCTION_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")
KIND_SHORT = {
    "hmac_key": "hmac",
    "postgres_single": "pg-single",
    "postgres_alternating": "pg-alt",
    "valkey_acl": "valkey-acl",
    "elasticache_user": "ec-user",
    "elasticache_auth_token": "ec-token",
}


def pascal(text: str) -> str:
    return "".join(part.capitalize() for part in text.replace("/", "-").replace("_", "-").split("-"))


def secret_construct_id(secret: SecretConfig) -> str:
    """The secret's construct id: its kind and name, nothing about its neighbours."""
    return pascal(f"{secret.kind}-{secret.name}")


def stack_label(config: EnvironmentConfig, secret: SecretConfig) -> str:
    """The secret's rotation stack: its ``stack``, else sha256(name) mod ``rotation_stacks``."""
    if secret.stack is not None:
        return secret.stack
    digest = hashlib.sha256(config.secret_name(secret).encode()).digest()
    return str(int.from_bytes(digest[:8], "big") % config.rotation_stacks)


def stack_id(config: EnvironmentConfig, label: str) -> str:
    return f"{pascal(config.app)}{pascal(config.env)}Rotation{label.capitalize()}"


def replica_stack_id(config: EnvironmentConfig, region: str) -> str:
    """The stack of a replica Region's key, named by the Region alone (``ShopProdReplicaUsWest2``):
    adding or removing other Regions or secrets never renames it."""
    return f"{pascal(config.app)}{pascal(config.env)}Replica{pascal(region)}"


def key_alias(config: EnvironmentConfig) -> str:
    """The alias of the environment's key, the same name in the primary and every replica Region
    (aliases are Regional): secrets name their replica keys by it, so no ARN crosses Regions."""
    return f"alias/{config.app}-{config.env}-secrets"


def replica_key_policy_name(config: EnvironmentConfig, region: str) -> str:
    """The managed policy that lets the rotation functions encrypt with a replica Region's key.
    IAM is global, so the replica stack creates it and the rotation stacks attach it by name."""
    return f"{config.app}-{config.env}-replica-key-{region}"


def function_name_prefix(config: EnvironmentConfig) -> str:
    return f"{config.app}-{config.env}-rotate-"


def log_group_name(config: EnvironmentConfig, kind: str) -> str:
    """One log group per kind per environment, in the base stack: it exists as long as the
    environment does, so functions coming and going never leave one behind that blocks a later
    create (docs/deploy.md, "Logs")."""
    return f"/aws/lambda/{config.app}-{config.env}-rotation/{kind}"


@dataclass(frozen=True)
class FunctionGroup:
    """Secrets of one kind with identical settings, rotated by one function."""

    kind: str
    settings: tuple[tuple[str, str], ...]
    digest: str
    construct_id: str
    function_name: str
    secrets: tuple[SecretConfig, ...]


@dataclass(frozen=True)
class StackPlan:
    label: str
    construct_id: str
    secrets: tuple[SecretConfig, ...]
    groups: tuple[FunctionGroup, ...]


@dataclass(frozen=True)
class EnvironmentPlan:
    stacks: tuple[StackPlan, ...]
    kinds: tuple[str, ...]
    rotate_on_deploy: dict[str, bool]  # Secrets Manager name -> RotateImmediatelyOnUpdate
    replica_regions: tuple[str, ...] = ()  # every Region with a replica key, in name order


def _groups(config: EnvironmentConfig, label: str, secrets: list[SecretConfig]) -> tuple[FunctionGroup, ...]:
    members: dict[tuple[str, tuple[tuple[str, str], ...]], list[SecretConfig]] = defaultdict(list)
    for secret in secrets:
        members[(secret.kind, tuple(sorted(function_settings(config, secret).items())))].append(secret)
    groups = []
    for (kind, settings), grouped in sorted(members.items()):
        digest = settings_digest(kind, dict(settings))
        name = f"{function_name_prefix(config)}{KIND_SHORT[kind]}-{label}-{digest[:6]}"
        if len(name) > MAX_FUNCTION_NAME or not _FUNCTION_NAME.match(name):
            raise ConfigError(
                f"function name {name!r} ({len(name)} characters) for {kind} secrets of stack {label!r} is over "
                f"Lambda's {MAX_FUNCTION_NAME}: shorten app ({config.app!r}), env ({config.env!r}) or the stack label"
            )
        groups.append(FunctionGroup(kind, settings, digest, f"{pascal(kind)}Rotation{digest}", name, tuple(grouped)))
    return tuple(groups)


def plan_environment(config: EnvironmentConfig) -> EnvironmentPlan:
    """The placement of every secret and function; a ``ConfigError`` names what cannot be built."""
    by_label: dict[str, list[SecretConfig]] = defaultdict(list)
    ids: dict[str, str] = {}
    decisions: dict[str, bool] = {}
    for index, secret in enumerate(config.secrets):
        where = f"secrets[{index}] ({secret.name})"
        construct_id = secret_construct_id(secret)
        if construct_id in ids:
            raise ConfigError(f"{where}: {secret.kind} name {secret.name!r} reads as {ids[construct_id]!r} in ids")
        ids[construct_id] = secret.name
        try:
            decisions[config.secret_name(secret)] = rotate_on_deploy(secret)
        except FirstDeployError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        by_label[stack_label(config, secret)].append(secret)
    stacks = tuple(
        StackPlan(label, stack_id(config, label), tuple(secrets), _groups(config, label, secrets))
        for label, secrets in sorted(by_label.items(), key=lambda item: (not item[0].isdigit(), item[0].zfill(4)))
    )
    kinds = tuple(sorted({secret.kind for secret in config.secrets}))
    replicas = tuple(sorted(config.replication.regions)) if config.replication else ()
    return EnvironmentPlan(stacks=stacks, kinds=kinds, rotate_on_deploy=decisions, replica_regions=replicas)
