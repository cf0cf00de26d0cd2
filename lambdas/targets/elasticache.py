"""ElastiCache control-plane calls for rotation: users (RBAC) and replication-group AUTH tokens.

The two credentials follow different documented rules (see docs/aws-rules.md, "ElastiCache"):

- AUTH tokens (``CreateReplicationGroup`` / ``ModifyReplicationGroup`` ``AuthToken``):
  16-128 printable characters, the only special characters ``! & # $ ^ < > -``
  (https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateReplicationGroup.html,
  https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/auth.html). ModifyReplicationGroup's
  own page lists only ``/ " @ %`` as forbidden; the stricter rule is applied to both.
- RBAC user passwords (``CreateUser`` / ``ModifyUser`` ``Passwords``): at most two, each
  16-128 characters (API reference; the service answers ``InvalidParameterValue: Passwords
  length must be between 16-128 characters``). The API reference names no character rule;
  the stricter reading keeps out whitespace and ``, " / @`` (the characters ElastiCache's
  original password rule forbade).

ElastiCache applies changes asynchronously: see ``elasticache_waits``.
"""

from __future__ import annotations

import re
import string
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from botocore import xform_name
from botocore.exceptions import BotoCoreError, ClientError

from lambdas.rotation import InvalidSecretError, SecretFields, TargetError
from lambdas.rotation.aws import aws_client
from lambdas.rotation.telemetry import logger
from lambdas.targets.elasticache_waits import WaitBudget, WaitTimedOut, wait_until
from lambdas.targets.passwords import DEFAULT_POLICY, PRINTABLE_ASCII, PasswordRule

AUTH_TOKEN_RULE = PasswordRule(
    min_length=16,
    max_length=128,
    allowed=string.ascii_letters + string.digits + "!&#$^<>-",
    description="must be 16 to 128 characters: letters, digits and ! & # $ ^ < > - only",
)
RBAC_PASSWORD_RULE = PasswordRule(
    min_length=16,
    max_length=128,
    allowed="".join(char for char in PRINTABLE_ASCII if char not in ',"/@'),
    description='must be 16 to 128 printable ASCII characters without spaces or , " / @',
)
AUTH_TOKEN_POLICY = DEFAULT_POLICY.within(AUTH_TOKEN_RULE)
RBAC_PASSWORD_POLICY = DEFAULT_POLICY.within(RBAC_PASSWORD_RULE)
# ModifyUser / DescribeUsers ``UserId`` pattern (API reference).
USER_ID_PATTERN = re.compile(r"[a-zA-Z][a-zA-Z0-9\-]*")
# What a wait is for: before a modify, after it, or for testSecret (named in the error).
WaitPhase = Literal["before_modify", "after_modify", "test"]
# The faults ElastiCache answers a modify with while the resource is ``modifying``.
USER_STATE_FAULT = "InvalidUserState"
GROUP_STATE_FAULT = "InvalidReplicationGroupState"


class ElastiCacheStateError(TargetError):
    """The user or replication group is missing, misconfigured, or did not settle in time."""


class ElastiCacheApiError(ElastiCacheStateError):
    """An ElastiCache API call was refused; ``code`` is the service's error code."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def require_password(fields: SecretFields, field: str, rule: PasswordRule) -> str:
    """A password or token ``rule`` accepts; the error never shows the value."""
    value = fields.require_str(field)
    if not rule.accepts(value):
        raise InvalidSecretError(fields.secret_id, fields.stage, field, rule.description)
    return value


def user_id_from_arn(fields: SecretFields) -> str:
    """``arn:<partition>:elasticache:<region>:<account>:user:<id>`` -> ``<id>``."""
    arn = fields.require_str("user_arn")
    parts = arn.split(":")
    if len(parts) != 7 or parts[0] != "arn" or parts[2] != "elasticache" or parts[5] != "user" or not parts[6]:
        raise InvalidSecretError(
            fields.secret_id,
            fields.stage,
            "user_arn",
            "must be an ElastiCache user ARN (arn:aws:elasticache:…:user:<id>)",
        )
    if not USER_ID_PATTERN.fullmatch(parts[6]):
        raise InvalidSecretError(
            fields.secret_id, fields.stage, "user_arn", "must end in a user id: a letter, then letters, digits or -"
        )
    return parts[6]


def check_user(fields: SecretFields, user: dict[str, Any]) -> None:
    """The secret's ``username`` is the user's UserName (what AUTH sends; the UserId in
    ``user_arn`` may differ), and the user authenticates with passwords."""
    user_id, name = user.get("UserId"), user.get("UserName")
    username = fields.require_str("username")
    if name != username:
        raise InvalidSecretError(
            fields.secret_id,
            fields.stage,
            "username",
            f"must be the UserName of the ElastiCache user in 'user_arn' (user {user_id!r} has UserName {name!r}), "
            f"got {username!r}: clients AUTH with the UserName, not the UserId",
        )
    kind = user.get("Authentication", {}).get("Type")
    if kind != "password":
        raise ElastiCacheStateError(
            f"ElastiCache user {user_id!r} authenticates with {kind!r}; expected 'password' "
            "(only a password user has passwords to rotate)"
        )


def _call(operation: str, resource: str, **params: Any) -> Any:
    client = aws_client("elasticache")
    method = getattr(client, xform_name(operation))
    try:
        return method(**params)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "error"))
        raise ElastiCacheApiError(
            f"ElastiCache {operation} on {resource} failed ({code}: {error.get('Message', '')})", code
        ) from None
    except BotoCoreError as exc:
        raise TargetError(f"ElastiCache {operation} on {resource} failed ({type(exc).__name__}: {exc})") from None


def describe_user(user_id: str) -> dict[str, Any]:
    users = _call("DescribeUsers", f"user {user_id!r}", UserId=user_id).get("Users", [])
    if not users:
        raise ElastiCacheStateError(f"ElastiCache user {user_id!r} was not found")
    return dict(users[0])


def set_user_passwords(user_id: str, passwords: list[str]) -> None:
    """``ModifyUser`` with exactly these passwords (current and pending): both authenticate
    once the user is ``active`` again. The same call twice leaves the same state."""
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


def _wait(
    resource: str,
    describe: Callable[[], dict[str, Any]],
    done: str,
    operation: str,
    budget: WaitBudget,
    phase: WaitPhase,
    first: dict[str, Any] | None,
) -> dict[str, Any]:
    """Describe ``resource`` until its Status is ``done``; say so in the log when it has to wait.
    ``phase`` says what the wait is for, in the error when it runs out."""
    started, checks = time.monotonic(), 0

    def settled(state: dict[str, Any]) -> bool:
        nonlocal checks
        checks += 1
        if state.get("Status") == done:
            return True
        if checks == 1:
            logger.info(
                f"ElastiCache {resource} is {state.get('Status')!r}; waiting up to {budget.describe()} for {done!r}"
            )
        return False

    try:
        state = wait_until(describe, settled, budget, first)
    except WaitTimedOut as timed_out:
        still = f"ElastiCache {resource} is still {timed_out.state.get('Status')!r} after {budget.describe()}"
        if phase == "before_modify":
            detail = (
                f"expected {done!r} before {operation} (another change is under way). Nothing was changed; "
                "a retried step waits again"
            )
        elif phase == "after_modify":
            detail = (
                f"expected {done!r}: ElastiCache accepted {operation} and is still applying it. AWSCURRENT keeps "
                "working; a retried step waits for it"
            )
        else:
            detail = f"expected {done!r} to test AWSPENDING against the API (another change is under way)"
        raise ElastiCacheStateError(f"{still}; {detail}") from None
    if checks > 1:
        logger.info(f"ElastiCache {resource} is {done!r} after {time.monotonic() - started:.1f} s ({checks} checks)")
    return state


def wait_for_user(
    user_id: str, budget: WaitBudget, phase: WaitPhase, first: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Describe the user until it is ``active`` (ModifyUser is refused while it is ``modifying``)."""
    describe = lambda: describe_user(user_id)  # noqa: E731 - a one-line poll
    return _wait(f"user {user_id!r}", describe, "active", "ModifyUser", budget, phase, first)


def wait_for_group(
    group_id: str, budget: WaitBudget, phase: WaitPhase, first: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Describe the group until it is ``available`` (a modify is refused while it is ``modifying``)."""
    describe = lambda: describe_group(group_id)  # noqa: E731 - a one-line poll
    resource = f"replication group {group_id!r}"
    return _wait(resource, describe, "available", "ModifyReplicationGroup", budget, phase, first)


def token_changed_since(group: dict[str, Any], moment: datetime | None) -> bool:
    """Whether the group's AUTH token was modified after ``moment`` (the pending version's
    creation): then this rotation's ROTATE already happened."""
    modified = group.get("AuthTokenLastModifiedDate")
    return bool(moment is not None and isinstance(modified, datetime) and modified > moment)
