"""The ElastiCache emulation refuses what ElastiCache refuses, delays what it delays, and lands
changes on a real Valkey node: one test per rule of docs/aws-rules.md ("ElastiCache").

In process (moto's ``mock_aws``) unless a test says it goes through moto's server on
loopback (``local_aws``), where no client-side validation runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local_rotation.server import local_aws
from local_servers.elasticache import ElastiCacheEmulation, elasticache_emulation
from local_servers.valkey import ValkeyServer
from tests.plugins.elasticache_fixtures import AuthTokenGroup, token, until_settled

# The common errors (MissingParameter, InvalidQueryParameter) are not error shapes of the model.
pytestmark = pytest.mark.filterwarnings("ignore:Exception.*does not match an error shape:UserWarning")

TOKEN_A, TOKEN_B, TOKEN_C = "Token-A-0123456789", "Token-B-0123456789", "Token-C-0123456789"


def _error(call: Callable[[], Any]) -> tuple[str, int]:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"], raised.value.response["ResponseMetadata"]["HTTPStatusCode"]


def _user(client: Any, user_id: str, passwords: list[str], name: str | None = None) -> None:
    client.create_user(UserId=user_id, UserName=name or user_id, Engine="redis", Passwords=passwords,
                       AccessString="on ~* +@all")  # fmt: skip


def _group(client: Any, group_id: str, *, tls: bool = True, auth_token: str | None = TOKEN_A) -> None:
    extra = {"AuthToken": auth_token} if auth_token else {}
    client.create_replication_group(ReplicationGroupId=group_id, ReplicationGroupDescription="emulation",
                                    Engine="redis", TransitEncryptionEnabled=tls, **extra)  # fmt: skip


def _describe_user(client: Any, user_id: str) -> dict[str, Any]:
    return dict(client.describe_users(UserId=user_id)["Users"][0])


def _describe_group(client: Any, group_id: str) -> dict[str, Any]:
    return dict(client.describe_replication_groups(ReplicationGroupId=group_id)["ReplicationGroups"][0])


def _rotate(client: Any, group_id: str, auth_token: str, **overrides: Any) -> None:
    params = {"AuthTokenUpdateStrategy": "ROTATE", "ApplyImmediately": True, **overrides}
    client.modify_replication_group(ReplicationGroupId=group_id, AuthToken=auth_token, **params)


# --- the modifying state ----------------------------------------------------------------------


def test_modify_user_is_refused_while_the_user_is_modifying(emulation: ElastiCacheEmulation, elasticache: Any) -> None:
    _user(elasticache, "u-busy", [token()])
    elasticache.modify_user(UserId="u-busy", Passwords=[token(), token()])

    assert _error(lambda: elasticache.modify_user(UserId="u-busy", Passwords=[token()])) == ("InvalidUserState", 400)
    assert emulation.accepted("user", "u-busy") == 1
    assert emulation.refusals == [("ModifyUser", "InvalidUserState")]


def test_modify_replication_group_is_refused_while_the_group_is_modifying(
    emulation: ElastiCacheEmulation, elasticache: Any
) -> None:
    _group(elasticache, "g-busy")
    _rotate(elasticache, "g-busy", TOKEN_B)

    assert _error(lambda: _rotate(elasticache, "g-busy", TOKEN_C)) == ("InvalidReplicationGroupState", 400)
    assert emulation.accepted("group", "g-busy") == 1


def test_a_modified_user_stays_modifying_for_several_describes_then_its_passwords_land_on_the_node(
    emulation: ElastiCacheEmulation, elasticache: Any, elasticache_node: ValkeyServer
) -> None:
    old, new = token(), token()
    _user(elasticache, "u-slow", [old], name="slow_user")
    emulation.bind_user("u-slow", [elasticache_node])

    elasticache.modify_user(UserId="u-slow", Passwords=[old, new])
    seen = [_describe_user(elasticache, "u-slow")["Status"] for _ in range(emulation.modifying_describes)]
    still_old = elasticache_node.authenticates("slow_user", old) and not elasticache_node.authenticates(
        "slow_user", new
    )
    landed = _describe_user(elasticache, "u-slow")

    assert seen == ["modifying"] * emulation.modifying_describes
    assert emulation.modifying_describes >= 3
    assert still_old
    assert landed["Status"] == "active"
    assert landed["Authentication"] == {"Type": "password", "PasswordCount": 2}
    assert elasticache_node.authenticates("slow_user", old)
    assert elasticache_node.authenticates("slow_user", new)


def test_rotate_lands_after_several_describes_and_keeps_at_most_two_tokens(
    emulation: ElastiCacheEmulation, elasticache: Any, auth_group: AuthTokenGroup
) -> None:
    group, node, first = auth_group.group_id, auth_group.node, auth_group.token

    _rotate(elasticache, group, TOKEN_B)
    during = [_describe_group(elasticache, group)["Status"] for _ in range(emulation.modifying_describes)]
    new_token_early = node.authenticates("default", TOKEN_B)
    until_settled(lambda: _describe_group(elasticache, group), "available")
    after_first = [node.authenticates("default", t) for t in (first, TOKEN_B)]
    _rotate(elasticache, group, TOKEN_C)
    until_settled(lambda: _describe_group(elasticache, group), "available")
    after_second = [node.authenticates("default", t) for t in (first, TOKEN_B, TOKEN_C)]

    assert during == ["modifying"] * emulation.modifying_describes
    assert not new_token_early  # stricter reading: nothing new is effective while modifying
    assert after_first == [True, True]
    assert after_second == [False, True, True]


def test_without_apply_immediately_a_token_change_never_lands(
    emulation: ElastiCacheEmulation, elasticache: Any, auth_group: AuthTokenGroup
) -> None:
    elasticache.modify_replication_group(ReplicationGroupId=auth_group.group_id, AuthToken=TOKEN_B,
                                         AuthTokenUpdateStrategy="ROTATE")  # fmt: skip

    statuses = [_describe_group(elasticache, auth_group.group_id)["Status"] for _ in range(10)]

    assert statuses == ["available"] * 10
    assert not auth_group.node.authenticates("default", TOKEN_B)


def test_a_lost_response_lands_and_botocores_retry_is_refused(
    emulation: ElastiCacheEmulation, elasticache: Any
) -> None:
    _group(elasticache, "g-lost")
    emulation.lose_next_response("ModifyReplicationGroup")

    code = _error(lambda: _rotate(elasticache, "g-lost", TOKEN_B))

    assert code == ("InvalidReplicationGroupState", 400)  # what the client sees: its retry's answer
    assert emulation.accepted("group", "g-lost") == 1
    assert _describe_group(elasticache, "g-lost")["Status"] == "modifying"


# --- user name and id ---------------------------------------------------------------------------


def test_a_user_name_differs_from_its_id_and_the_nodes_acl_user_is_the_name(
    emulation: ElastiCacheEmulation, elasticache: Any, elasticache_node: ValkeyServer
) -> None:
    password = token()
    _user(elasticache, "app-id-7", [password], name="app_name_7")

    emulation.bind_user("app-id-7", [elasticache_node])

    assert _describe_user(elasticache, "app-id-7")["UserName"] == "app_name_7"
    assert elasticache_node.authenticates("app_name_7", password)
    assert not elasticache_node.authenticates("app-id-7", password)


# --- character and length rules -----------------------------------------------------------------

BAD_TOKENS = {
    "dot": "has.a.dot-0123456789",
    "underscore": "has_underscore_0123",
    "slash": "has/slash-0123456789",
    "at": "has@at-0123456789",
    "percent": "has%percent-0123456",
    "quote": 'has"quote-0123456789',
    "space": "has space-0123456789",
    "comma": "has,comma-0123456789",
    "short": "Short-token-012",  # 15 characters
    "long": "x" * 129,
}


@pytest.mark.parametrize("bad", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
def test_an_auth_token_breaking_the_rule_is_refused_on_create_and_modify(
    emulation: ElastiCacheEmulation, elasticache: Any, bad: str
) -> None:
    _group(elasticache, "g-rule")

    assert _error(lambda: _group(elasticache, "g-bad", auth_token=bad)) == ("InvalidParameterValue", 400)
    assert _error(lambda: _rotate(elasticache, "g-rule", bad)) == ("InvalidParameterValue", 400)
    assert emulation.accepted("group", "g-rule") == 0


def test_an_auth_token_with_every_allowed_special_character_is_accepted(
    emulation: ElastiCacheEmulation, elasticache: Any
) -> None:
    _group(elasticache, "g-special", auth_token="Aa1!&#$^<>-Aa1!&#$^<>-")

    _rotate(elasticache, "g-special", "x" * 128)

    assert emulation.accepted("group", "g-special") == 1


BAD_PASSWORDS = {
    "short": ["fifteen-chars-1"],
    "long": ["y" * 129],
    "three": [token(), token(), token()],
    "at": ["user@example-long-enough"],
    "slash": ["has/slash-long-enough"],
    "quote": ['has"quote-long-enough'],
    "comma": ["has,comma-long-enough"],
    "space": ["has space-long-enough"],
}


@pytest.mark.parametrize("bad", BAD_PASSWORDS.values(), ids=BAD_PASSWORDS.keys())
def test_rbac_passwords_breaking_the_rule_are_refused_on_create_and_modify(
    emulation: ElastiCacheEmulation, elasticache: Any, bad: list[str]
) -> None:
    _user(elasticache, "u-rule", [token()])

    assert _error(lambda: _user(elasticache, "u-bad", bad)) == ("InvalidParameterValue", 400)
    assert _error(lambda: elasticache.modify_user(UserId="u-rule", Passwords=bad)) == ("InvalidParameterValue", 400)
    assert emulation.accepted("user", "u-rule") == 0


def test_rbac_passwords_may_hold_punctuation_an_auth_token_may_not(
    emulation: ElastiCacheEmulation, elasticache: Any
) -> None:
    _user(elasticache, "u-punct", ["dots.and_underscores~ok"])

    assert emulation.accepted("user", "u-punct") == 0
    assert _describe_user(elasticache, "u-punct")["Authentication"]["PasswordCount"] == 1


def test_an_auth_token_needs_transit_encryption(emulation: ElastiCacheEmulation, elasticache: Any) -> None:
    _group(elasticache, "g-plain", tls=False, auth_token=None)

    assert _error(lambda: _group(elasticache, "g-bad", tls=False)) == ("InvalidParameterCombination", 400)
    assert _error(lambda: _rotate(elasticache, "g-plain", TOKEN_B)) == ("InvalidParameterCombination", 400)


def test_set_is_allowed_only_after_rotate(emulation: ElastiCacheEmulation, elasticache: Any) -> None:
    _group(elasticache, "g-set")

    def set_token() -> None:
        elasticache.modify_replication_group(ReplicationGroupId="g-set", AuthToken=TOKEN_C,
                                             AuthTokenUpdateStrategy="SET", ApplyImmediately=True)  # fmt: skip

    refused = _error(set_token)
    _rotate(elasticache, "g-set", TOKEN_B)
    until_settled(lambda: _describe_group(elasticache, "g-set"), "available")
    set_token()

    assert refused == ("InvalidParameterValue", 400)
    assert emulation.accepted("group", "g-set") == 2


# --- parameters against the service model, through moto's server ------------------------------


@pytest.fixture
def raw_server() -> Iterator[tuple[Any, ElastiCacheEmulation]]:
    """moto's server on loopback with the emulation, and a client that validates nothing."""
    with local_aws(), elasticache_emulation() as installed:
        yield boto3.client("elasticache", config=Config(parameter_validation=False)), installed


def _with_raw_params(client: Any, operation: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Edit the form fields of the next ``operation`` request just before it is sent."""

    def edit(request: Any, **_: Any) -> None:
        change(request.data)

    client.meta.events.register_first(f"before-sign.elasticache.{operation}", edit)


def test_through_the_server_an_unknown_parameter_is_refused(raw_server: tuple[Any, ElastiCacheEmulation]) -> None:
    client, emulation = raw_server
    _user(client, "raw-unknown", [token()])
    _with_raw_params(client, "ModifyUser", lambda form: form.update({"PasswordsToKeep": "1"}))

    assert _error(lambda: client.modify_user(UserId="raw-unknown", Passwords=[token()])) == (
        "InvalidQueryParameter",
        400,
    )
    assert emulation.accepted("user", "raw-unknown") == 0


def test_through_the_server_an_ill_typed_boolean_is_refused(raw_server: tuple[Any, ElastiCacheEmulation]) -> None:
    client, emulation = raw_server
    _group(client, "raw-bool")
    _with_raw_params(client, "ModifyReplicationGroup", lambda form: form.update({"ApplyImmediately": "soon"}))

    assert _error(lambda: _rotate(client, "raw-bool", TOKEN_B)) == ("InvalidParameterValue", 400)
    assert emulation.accepted("group", "raw-bool") == 0


def test_through_the_server_a_missing_required_parameter_is_refused(
    raw_server: tuple[Any, ElastiCacheEmulation],
) -> None:
    client, _ = raw_server
    _with_raw_params(client, "ModifyUser", lambda form: form.pop("UserId"))

    assert _error(lambda: client.modify_user(UserId="raw-missing", Passwords=[token()])) == ("MissingParameter", 400)


def test_through_the_server_a_value_off_its_pattern_or_enum_is_refused(
    raw_server: tuple[Any, ElastiCacheEmulation],
) -> None:
    client, _ = raw_server
    _group(client, "raw-enum")

    off_pattern = _error(lambda: client.modify_user(UserId="9-starts-with-a-digit", Passwords=[token()]))
    off_enum = _error(lambda: _rotate(client, "raw-enum", TOKEN_B, AuthTokenUpdateStrategy="SPIN"))

    assert off_pattern == ("InvalidParameterValue", 400)
    assert off_enum == ("InvalidParameterValue", 400)


def test_through_the_server_a_third_password_is_refused(raw_server: tuple[Any, ElastiCacheEmulation]) -> None:
    client, emulation = raw_server
    _user(client, "raw-three", [token()])
    _with_raw_params(client, "ModifyUser", lambda form: form.update({"Passwords.member.3": token()}))

    assert _error(lambda: client.modify_user(UserId="raw-three", Passwords=[token(), token()])) == (
        "InvalidParameterValue", 400,
    )  # fmt: skip
    assert emulation.accepted("user", "raw-three") == 0
