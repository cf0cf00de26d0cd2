"""ElastiCache control-plane calls for rotation: users (RBAC) and replication-group AUTH tokens.

ElastiCache applies changes asynchronously, so every change is followed by a bounded wait
(exponential backoff, ``ELASTICACHE_WAIT_SECONDS``, default 60 s: keep the Lambda timeout
above it) until the user is ``active`` or the group ``available``.
"""

from __future__ import annotations

import os
import string
import time
from datetime import datetime
from typing import Any

from botocore import xform_name
from botocore.exceptions import BotoCoreError, ClientError

from lambdas.rotation import ConfigurationError, InvalidSecretError, SecretFields, TargetError
from lambdas.rotation.aws import aws_client
from lambdas.targets.passwords import DEFAULT_POLICY

# ElastiCache passwords and AUTH tokens: 16-128 printable ASCII characters, none of these.
FORBIDDEN = ',"/@ '
MAX_PASSWORD_LENGTH = 128
PASSWORD_POLICY = DEFAULT_POLICY.excluding(FORBIDDEN)
PASSWORD_RULE = 'must be 16 to 128 printable ASCII characters without , " / @ or spaces'  # noqa: S105 - a rule
_PRINTABLE = set(string.printable) - set(string.whitespace)


class ElastiCacheStateError(TargetError):
    """The user or replication group is missing, misconfigured, or did not settle in time."""


def require_elasticache_password(fields: SecretFields, field: str) -> str:
    """A password or token ElastiCache accepts; the error never shows the value."""
    value = fields.require_str(field)
    if not 16 <= len(value) <= MAX_PASSWORD_LENGTH or not set(value) <= _PRINTABLE or set(value) & set(FORBIDDEN):
        raise InvalidSecretError(fields.secret_id, fields.stage, field, PASSWORD_RULE)
    return value


def user_id_from_arn(fields: SecretFields) -> str:
    """``arn:aws:elasticache:<region>:<account>:user:<id>`` -> ``<id>``."""
    arn = fields.require_str("user_arn")
    parts = arn.split(":")
    if len(parts) != 7 or parts[0] != "arn" or parts[2] != "elasticache" or parts[5] != "user" or not parts[6]:
        raise InvalidSecretError(
            fields.secret_id,
            fields.stage,
            "user_arn",
            "must be an ElastiCache user ARN (arn:aws:elasticache:…:user:<id>)",
        )
    return parts[6]


def wait_budget_s() -> float:
    raw = os.environ.get("ELASTICACHE_WAIT_SECONDS", "60").strip()
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"ELASTICACHE_WAIT_SECONDS must be a number of seconds, got {raw!r}") from None
    if value <= 0:
        raise ConfigurationError(f"ELASTICACHE_WAIT_SECONDS must be positive, got {value:g}")
    return value


def _call(operation: str, resource: str, **params: Any) -> Any:
    client = aws_client("elasticache")
    method = getattr(client, xform_name(operation))
    try:
        return method(**params)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise ElastiCacheStateError(
            f"ElastiCache {operation} on {resource} failed ({error.get('Code', 'error')}: {error.get('Message', '')})"
        ) from None
    except BotoCoreError as exc:
        raise TargetError(f"ElastiCache {operation} on {resource} failed ({type(exc).__name__}: {exc})") from None


def describe_user(user_id: str) -> dict[str, Any]:
    users = _call("DescribeUsers", f"user {user_id!r}", UserId=user_id).get("Users", [])
    if not users:
        raise ElastiCacheStateError(f"ElastiCache user {user_id!r} was not found")
    return dict(users[0])


def set_user_passwords(user_id: str, passwords: list[str]) -> None:
    """``ModifyUser`` with exactly these passwords (current and pending): both authenticate."""
    _call("ModifyUser", f"user {user_id!r}", UserId=user_id, Passwords=passwords)


def describe_group(group_id: str) -> dict[str, Any]:
    groups = _call("DescribeReplicationGroups", f"replication group {group_id!r}", ReplicationGroupId=group_id)
    found = groups.get("ReplicationGroups", [])
    if not found:
        raise ElastiCacheStateError(f"ElastiCache replication group {group_id!r} was not found")
    return dict(found[0])


def rotate_auth_token(group_id: str, token: str) -> None:
    """``ModifyReplicationGroup`` with strategy ROTATE: the new token is added, the current one stays."""
    _call(
        "ModifyReplicationGroup",
        f"replication group {group_id!r}",
        ReplicationGroupId=group_id,
        AuthToken=token,
        AuthTokenUpdateStrategy="ROTATE",
        ApplyImmediately=True,
    )


def wait_for(describe: Any, key: str, done: str, resource: str) -> dict[str, Any]:
    """Poll ``describe()`` until ``result[key] == done``, backing off 0.2 s -> 5 s, within the budget."""
    budget = wait_budget_s()
    deadline = time.monotonic() + budget
    delay = 0.2
    while True:
        state = describe()
        if state.get(key) == done:
            return dict(state)
        if time.monotonic() + delay > deadline:
            raise ElastiCacheStateError(
                f"ElastiCache {resource} is still {state.get(key)!r} after {budget:g} s (expected {done!r})"
            )
        time.sleep(delay)  # the poll interval of a bounded wait on a condition
        delay = min(delay * 2, 5.0)


def token_changed_since(group: dict[str, Any], moment: datetime | None) -> bool:
    """Whether the group's AUTH token was modified after ``moment`` (the pending version's
    creation): then this rotation's ROTATE already happened."""
    modified = group.get("AuthTokenLastModifiedDate")
    return bool(moment is not None and isinstance(modified, datetime) and modified > moment)
