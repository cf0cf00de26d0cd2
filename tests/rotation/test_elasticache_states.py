"""ElastiCache's state machine as the functions meet it: a user or group already ``modifying``,
one that stays ``modifying``, a modify whose response is lost and retried by botocore, a
step that runs out of time after ElastiCache accepted its change.

Emulated: the ElastiCache API (local_servers/elasticache.py refuses a modify while the
resource is ``modifying`` with the real fault codes and lands a change after several
describes). Real: the Valkey nodes, against which every check authenticates.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from lambdas.elasticache_auth_token.handler import lambda_handler as token_handler
from lambdas.elasticache_user.handler import lambda_handler as user_handler
from lambdas.rotation import ConfigurationError
from lambdas.targets.elasticache import ElastiCacheStateError
from local_rotation import RotationDriver, stage_empty_pending_version
from local_servers.elasticache import ElastiCacheEmulation
from tests.conftest import stage_value, stages_by_version
from tests.plugins.elasticache_fixtures import AuthTokenGroup, ElastiCacheTarget, RbacUser

Handler = Any


def _event(arn: str, token: str, step: str) -> dict[str, str]:
    return {"SecretId": arn, "ClientRequestToken": token, "Step": step}


def _created(handler: Handler, arn: str) -> str:
    """A rotation staged and past createSecret; returns its token."""
    token = str(uuid.uuid4())
    stage_empty_pending_version(arn, token)
    handler(_event(arn, token, "createSecret"), None)
    return token


def _pending(client: Any, arn: str) -> dict[str, Any]:
    return stage_value(client, arn, "AWSPENDING")


@dataclass
class FakeLambdaContext:
    """What the Lambda runtime passes: the part a function may read."""

    remaining_ms: int
    aws_request_id: str = "test-request"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


HANDLERS = {"user": user_handler, "group": token_handler}


# --- waiting before modifying -------------------------------------------------------------------


def test_set_secret_waits_until_a_resource_being_modified_settles_then_modifies_once(
    elasticache_target: ElastiCacheTarget, emulation: ElastiCacheEmulation
) -> None:
    target, handler = elasticache_target, HANDLERS[elasticache_target.kind]
    arn = target.create_secret()
    token = _created(handler, arn)
    emulation.begin_other_change(target.kind, target.resource_id, describes=3)

    handler(_event(arn, token, "setSecret"), None)

    assert emulation.refusals == []
    assert emulation.accepted(target.kind, target.resource_id) == 1
    assert target.works(_pending(target.client, arn)[target.field])
    assert target.works(target.current)


# --- a resource that stays modifying ------------------------------------------------------------


def test_a_resource_that_stays_modifying_fails_set_secret_naming_it_and_nothing_changes(
    elasticache_target: ElastiCacheTarget, emulation: ElastiCacheEmulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    target, handler = elasticache_target, HANDLERS[elasticache_target.kind]
    monkeypatch.setenv("ELASTICACHE_WAIT_SECONDS", "0.2")
    arn = target.create_secret()
    token = _created(handler, arn)
    stages = stages_by_version(target.client, arn)
    emulation.begin_other_change(target.kind, target.resource_id, describes=None)

    expected = (
        f"ElastiCache {target.noun} {target.resource_id!r} is still 'modifying' after 0.2 s "
        "(ELASTICACHE_WAIT_SECONDS); "
        f"expected {target.settled!r} before {target.modify} (another change is under way). Nothing was changed"
    )
    with pytest.raises(ElastiCacheStateError, match=re.escape(expected)):
        handler(_event(arn, token, "setSecret"), None)

    assert emulation.accepted(target.kind, target.resource_id) == 0
    assert stages_by_version(target.client, arn) == stages
    assert len(target.node.passwords_of(target.acl_user)) == 1
    assert target.works(target.current)


def test_the_wait_is_capped_by_the_lambdas_remaining_time(rbac_user: RbacUser, emulation: ElastiCacheEmulation) -> None:
    arn = rbac_user.create_secret()
    token = _created(user_handler, arn)
    emulation.begin_other_change("user", rbac_user.user_id, describes=None)

    expected = "still 'modifying' after 0.25 s (the Lambda's remaining time minus 10 s)"
    with pytest.raises(ElastiCacheStateError, match=re.escape(expected)):
        user_handler(_event(arn, token, "setSecret"), FakeLambdaContext(remaining_ms=10_250))

    assert emulation.accepted("user", rbac_user.user_id) == 0


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("ELASTICACHE_WAIT_SECONDS", "ten", "ELASTICACHE_WAIT_SECONDS must be a number of seconds, got 'ten'"),
        ("ELASTICACHE_WAIT_SECONDS", "0", "ELASTICACHE_WAIT_SECONDS must be a positive number of seconds, got '0'"),
        ("ELASTICACHE_POLL_SECONDS", "-1", "ELASTICACHE_POLL_SECONDS must be a positive number of seconds, got '-1'"),
    ],
)
def test_a_bad_wait_setting_fails_every_step_naming_it(
    rbac_user: RbacUser, monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    arn = rbac_user.create_secret()
    token = str(uuid.uuid4())
    stage_empty_pending_version(arn, token)
    monkeypatch.setenv(name, value)

    for handler in (user_handler, token_handler):
        with pytest.raises(ConfigurationError, match=re.escape(message)):
            handler(_event(arn, token, "createSecret"), None)


# --- a lost response, retried by botocore --------------------------------------------------------


@pytest.mark.parametrize("host", [True, False], ids=["with-host", "without-host"])
def test_a_modify_whose_response_was_lost_is_waited_out_and_both_values_work(
    elasticache_target: ElastiCacheTarget, emulation: ElastiCacheEmulation, host: bool
) -> None:
    target, handler = elasticache_target, HANDLERS[elasticache_target.kind]
    arn = target.create_secret() if host else target.create_secret(host=None, port=None)
    token = _created(handler, arn)
    emulation.lose_next_response(target.modify)

    handler(_event(arn, token, "setSecret"), None)

    # Never a second ROTATE. Without an endpoint to try the password on, the user function
    # sends the same ModifyUser again once the user is active: it sets the same two passwords.
    modifies = 2 if target.kind == "user" and not host else 1
    assert emulation.refusals == [(target.modify, target.state_fault)]
    assert emulation.accepted(target.kind, target.resource_id) == modifies
    assert target.works(target.current)
    assert target.works(_pending(target.client, arn)[target.field])


# --- out of time after ElastiCache accepted the change --------------------------------------------


@pytest.mark.parametrize("host", [True, False], ids=["with-host", "without-host"])
def test_a_set_secret_that_ran_out_of_time_after_rotate_is_retried_without_a_second_rotate(
    auth_group: AuthTokenGroup, emulation: ElastiCacheEmulation, monkeypatch: pytest.MonkeyPatch, host: bool
) -> None:
    arn = auth_group.create_secret() if host else auth_group.create_secret(host=None, port=None)
    token = _created(token_handler, arn)
    monkeypatch.setenv("ELASTICACHE_WAIT_SECONDS", "0.2")
    emulation.modifying_describes = 10**6  # ElastiCache takes longer than this step may wait

    with pytest.raises(ElastiCacheStateError, match="accepted ModifyReplicationGroup and is still applying it"):
        token_handler(_event(arn, token, "setSecret"), None)
    current_still_works = auth_group.node.authenticates("default", auth_group.token)
    emulation.in_flight[f"group:{auth_group.group_id}"].describes_left = 2  # it lands while the service waits
    report = RotationDriver(token_handler).rotate(arn)

    assert current_still_works
    assert report.resumed
    assert report.succeeded
    assert emulation.accepted("group", auth_group.group_id) == 1
    assert auth_group.node.authenticates("default", stage_value(auth_group.client, arn, "AWSCURRENT")["auth_token"])
    assert auth_group.node.authenticates("default", stage_value(auth_group.client, arn, "AWSPREVIOUS")["auth_token"])
