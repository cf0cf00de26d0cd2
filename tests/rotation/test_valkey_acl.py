"""Valkey ACL user rotation against two real Valkey nodes (AWS APIs: moto; Valkey: real)."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from lambdas.rotation import InvalidSecretError, TargetAuthenticationError, TargetUnreachableError
from lambdas.targets.valkey import (
    ValkeyPermissionError,
    ValkeyPersistenceError,
    ValkeyUserMissingError,
    password_hash,
)
from lambdas.valkey_acl.handler import lambda_handler
from local_rotation import RotationDriver, stage_empty_pending_version
from local_servers.blackhole import BlackholeListener, dead_port
from local_servers.certs import write_loopback_tls
from local_servers.valkey import ValkeyServer
from tests.conftest import stage_value, stages_by_version
from tests.plugins.leak_guard import LeakGuard
from tests.plugins.valkey_fixtures import ValkeyTarget, make_valkey_target
from tests.rotation.scenarios import outcomes_during_rotations, rotate_running_a_step_twice, rotate_with_failing_step

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


def _event(arn: str, token: str, step: str) -> dict[str, str]:
    return {"SecretId": arn, "ClientRequestToken": token, "Step": step}


def test_three_rotations_keep_current_and_previous_on_every_node_and_reject_older(vk: ValkeyTarget) -> None:
    arn = vk.create_secret()
    driver = RotationDriver(lambda_handler)
    seen = [stage_value(vk.client, arn, "AWSCURRENT")]

    for _ in range(3):
        driver.rotate(arn)
        seen.append(stage_value(vk.client, arn, "AWSCURRENT"))

        assert vk.authenticates_everywhere(seen[-1])
        assert vk.authenticates_everywhere(seen[-2])
        if len(seen) >= 4:  # two rotations back: removed at the last setSecret
            assert vk.rejected_everywhere(seen[-4])
    for node in vk.nodes:
        assert len(node.passwords_of(vk.user)) == 2


def test_open_connections_keep_working_through_a_rotation(vk: ValkeyTarget) -> None:
    arn = vk.create_secret()
    connection = vk.nodes[0].client(vk.user, vk.password)
    connection.ping()

    RotationDriver(lambda_handler).rotate(arn)
    RotationDriver(lambda_handler).rotate(arn)

    assert connection.set("still", "works")
    connection.close()


def test_acl_file_is_saved_with_both_password_hashes(vk: ValkeyTarget) -> None:
    arn = vk.create_secret()

    RotationDriver(lambda_handler).rotate(arn)

    acl_file = vk.nodes[0].acl_path
    assert acl_file is not None
    saved = acl_file.read_text()
    for stage in ("AWSCURRENT", "AWSPREVIOUS"):
        assert "#" + password_hash(stage_value(vk.client, arn, stage)["password"]) in saved


@pytest.mark.parametrize("step", STEPS)
def test_every_step_can_be_retried(vk: ValkeyTarget, step: str) -> None:
    arn = vk.create_secret()
    token = rotate_running_a_step_twice(lambda_handler, arn, step)

    assert "AWSCURRENT" in stages_by_version(vk.client, arn)[token]
    assert vk.authenticates_everywhere(stage_value(vk.client, arn, "AWSCURRENT"))
    assert vk.authenticates_everywhere(stage_value(vk.client, arn, "AWSPREVIOUS"))


def test_a_fault_after_set_secret_keeps_awscurrent_working_and_the_retry_completes(vk: ValkeyTarget) -> None:
    arn = vk.create_secret()

    rotate_with_failing_step(lambda_handler, arn, "testSecret")
    assert vk.authenticates_everywhere(stage_value(vk.client, arn, "AWSCURRENT"))

    retried = RotationDriver(lambda_handler).rotate(arn)

    assert retried.resumed
    assert vk.authenticates_everywhere(stage_value(vk.client, arn, "AWSCURRENT"))
    assert vk.authenticates_everywhere(stage_value(vk.client, arn, "AWSPREVIOUS"))


def test_a_client_that_keeps_authenticating_with_awscurrent_never_fails_during_rotations(vk: ValkeyTarget) -> None:
    arn = vk.create_secret()

    results = outcomes_during_rotations(lambda_handler, vk.client, arn, vk.authenticates_everywhere)

    assert results
    assert all(results), f"{results.count(False)} of {len(results)} authentications failed"


def test_a_down_node_fails_set_secret_naming_it_and_current_still_works_on_the_others(vk: ValkeyTarget) -> None:
    port = dead_port()
    nodes = [f"{node.host}:{node.port}" for node in vk.nodes] + [f"127.0.0.1:{port}"]
    arn = vk.create_secret(nodes=nodes)

    report = RotationDriver(lambda_handler, attempts_per_step=1).rotate(arn, raise_on_failure=False)

    assert report.steps[-1].step == "setSecret"
    assert f"Valkey at 127.0.0.1:{port} is unreachable" in (report.error or "")
    assert vk.authenticates_everywhere(stage_value(vk.client, arn, "AWSCURRENT"))


def test_a_blackholed_node_fails_by_timeout_naming_it(vk: ValkeyTarget) -> None:
    with BlackholeListener() as blackhole:
        arn = vk.create_secret(nodes=[f"127.0.0.1:{blackhole.port}"])
        token = str(uuid.uuid4())
        stage_empty_pending_version(arn, token)
        lambda_handler(_event(arn, token, "createSecret"), None)

        with pytest.raises(TargetUnreachableError, match=f"Valkey at 127.0.0.1:{blackhole.port}"):
            lambda_handler(_event(arn, token, "setSecret"), None)


def test_rotates_the_default_user_of_a_requirepass_server(secretsmanager: Any, leak_guard: LeakGuard) -> None:
    password = "initial-default-password-123"
    with ValkeyServer(default_password=password) as node:
        leak_guard.watch_file(node.log_path)
        admin_arn = secretsmanager.create_secret(
            Name="app/test/valkey/default-admin",
            SecretString=json.dumps({"username": node.admin_username, "password": node.admin_password}),
        )["ARN"]
        arn = secretsmanager.create_secret(
            Name="app/test/valkey/default",
            SecretString=json.dumps({"host": node.host, "port": node.port, "username": "default",
                                     "password": password, "masterarn": admin_arn, "ssl": False}),
        )["ARN"]  # fmt: skip

        RotationDriver(lambda_handler).rotate(arn)
        RotationDriver(lambda_handler).rotate(arn)

        current = stage_value(secretsmanager, arn, "AWSCURRENT")["password"]
        previous = stage_value(secretsmanager, arn, "AWSPREVIOUS")["password"]
        assert node.authenticates("default", current)
        assert node.authenticates("default", previous)
        assert not node.authenticates("default", password)


def test_tls_is_required_by_default_and_never_falls_back_to_plaintext(vk: ValkeyTarget, tmp_path: Path) -> None:
    ca_path = write_loopback_tls(tmp_path).ca_path  # a CA to verify with (lambdas/targets/tls.py needs one)
    arn = vk.create_secret(ssl=None, ssl_ca=str(ca_path))  # no "ssl": false: TLS required; these nodes have none

    report = RotationDriver(lambda_handler, attempts_per_step=1).rotate(arn, raise_on_failure=False)

    assert report.steps[-1].step == "setSecret"
    assert "Valkey at 127.0.0.1:" in (report.error or "")
    assert len(vk.nodes[0].passwords_of(vk.user)) == 1


@pytest.mark.parametrize(
    ("overrides", "field", "expected"),
    [
        ({"username": None}, "username", "must be a non-empty string, is missing"),
        ({"password": None}, "password", "must be a non-empty string, is missing"),
        ({"masterarn": None}, "masterarn", "must be a non-empty string, is missing"),
        ({"nodes": None, "port": 99999}, "port", "must be a port number between 1 and 65535"),
        # with nodes the function reaches every node without host, but consumers connect to host
        ({"host": None}, "host", "must be a non-empty string, is missing"),
        ({"nodes": ["127.0.0.1"]}, "nodes[0]", 'must be "host:port" strings'),
        ({"nodes": ["127.0.0.1:0"]}, "nodes[0]", 'must be "host:port" strings'),
        ({"nodes": [":6379"]}, "nodes[0]", 'must be "host:port" strings'),
        ({"nodes": [6379]}, "nodes[0]", 'must be "host:port" strings'),
        ({"nodes": []}, "nodes", 'must be a non-empty list of "host:port"'),
        (
            {"nodes": None, "host": "sessions.x1y2z3.ng.0001.use1.cache.amazonaws.com"},
            "host",
            "names an ElastiCache endpoint: ElastiCache manages users through its API (ModifyUser), so rotate it "
            "with the elasticache_user kind",
        ),
        (
            {"nodes": ["master.sessions.x1y2z3.cnn1.cache.amazonaws.com.cn:6379"]},
            "nodes[0]",
            "names an ElastiCache endpoint",
        ),
        (
            {"nodes": None, "host": "clustercfg.app.x1y2z3.memorydb.eu-west-1.amazonaws.com"},
            "host",
            "names a MemoryDB endpoint: MemoryDB manages users through its API (UpdateUser)",
        ),
    ],
)
def test_bad_secret_fails_create_naming_the_field_and_changes_nothing(
    vk: ValkeyTarget, overrides: dict[str, Any], field: str, expected: str
) -> None:
    arn = vk.create_secret(**overrides)
    token = str(uuid.uuid4())
    stage_empty_pending_version(arn, token)

    with pytest.raises(InvalidSecretError, match=re.escape(f"(AWSCURRENT): field '{field}' {expected}")):
        lambda_handler(_event(arn, token, "createSecret"), None)

    with pytest.raises(vk.client.exceptions.ResourceNotFoundException):
        vk.client.get_secret_value(SecretId=arn, VersionId=token)
    assert vk.nodes[0].passwords_of(vk.user) == [password_hash(vk.password)]


def _set_secret_fails(vk: ValkeyTarget, arn: str) -> Exception:
    token = str(uuid.uuid4())
    stage_empty_pending_version(arn, token)
    lambda_handler(_event(arn, token, "createSecret"), None)
    with pytest.raises(Exception) as caught:  # noqa: PT011 - callers check the type
        lambda_handler(_event(arn, token, "setSecret"), None)
    return caught.value


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        (("~*", "+@read"), "user 'weak_admin' may not run this ACL command"),
        (("~*", "+acl"), "user 'weak_admin' may not read the node's configuration; the rotation admin needs "
                         "+config|get, +config|rewrite and +info besides +acl"),
    ],
    ids=["without_acl_rights", "without_config_rights"],
)  # fmt: skip
def test_an_admin_without_the_rights_a_rotation_needs_is_named_with_what_it_needs_and_nothing_changes(
    vk: ValkeyTarget, rules: tuple[str, ...], expected: str
) -> None:
    weak = "weak-admin-password-1234"
    for node in vk.nodes:
        node.create_user("weak_admin", weak, rules=rules)
    vk.client.put_secret_value(
        SecretId=vk.admin_arn, SecretString=json.dumps({"username": "weak_admin", "password": weak})
    )
    arn = vk.create_secret()

    error = _set_secret_fails(vk, arn)

    assert isinstance(error, ValkeyPermissionError)
    assert expected in str(error)
    for node in vk.nodes:
        assert node.passwords_of(vk.user) == [password_hash(vk.password)]


def test_wrong_admin_password_is_named(vk: ValkeyTarget) -> None:
    vk.client.put_secret_value(
        SecretId=vk.admin_arn, SecretString=json.dumps({"username": "rotation_admin", "password": "wrong-password-123"})
    )
    arn = vk.create_secret()

    error = _set_secret_fails(vk, arn)

    assert isinstance(error, TargetAuthenticationError)
    assert "rejected the credentials of user 'rotation_admin'" in str(error)


def test_missing_user_is_named(vk: ValkeyTarget) -> None:
    arn = vk.create_secret(username="nobody")

    error = _set_secret_fails(vk, arn)

    assert isinstance(error, ValkeyUserMissingError)
    assert "ACL user 'nobody' does not exist" in str(error)


@pytest.mark.parametrize("persistence", ["acl_file", "config_file"])
def test_rotated_passwords_survive_a_restart_of_every_node(
    persistence: str, secretsmanager: Any, leak_guard: LeakGuard
) -> None:
    """ACL SETUSER changes memory only: each node's change is written where that node reads its
    users at start (ACL SAVE into its aclfile, or CONFIG REWRITE into its configuration file)."""
    admin_password = "restart-admin-password-123"
    with (
        ValkeyServer(acl_file=persistence == "acl_file", admin_password=admin_password) as first,
        ValkeyServer(acl_file=persistence == "acl_file", admin_password=admin_password) as second,
    ):
        vk = make_valkey_target((first, second), secretsmanager, leak_guard)
        arn = vk.create_secret()
        RotationDriver(lambda_handler).rotate(arn)
        RotationDriver(lambda_handler).rotate(arn)

        for node in vk.nodes:
            node.restart()

        assert vk.authenticates_everywhere(stage_value(secretsmanager, arn, "AWSCURRENT"))
        assert vk.authenticates_everywhere(stage_value(secretsmanager, arn, "AWSPREVIOUS"))
        assert vk.rejected_everywhere(vk.secret_value())  # the original password went at the second rotation


def test_a_node_that_would_forget_the_change_fails_set_secret_naming_it_and_no_node_changes(
    secretsmanager: Any, leak_guard: LeakGuard
) -> None:
    admin_password = "memory-admin-password-123"
    with (
        ValkeyServer(acl_file=True, admin_password=admin_password) as persistent,
        ValkeyServer(config_file=False, admin_password=admin_password) as in_memory,
    ):
        vk = make_valkey_target((persistent, in_memory), secretsmanager, leak_guard)
        arn = vk.create_secret()

        error = _set_secret_fails(vk, arn)

        assert isinstance(error, ValkeyPersistenceError)
        assert f"Valkey at {in_memory.host}:{in_memory.port} has neither an ACL file (aclfile) nor a configuration" in (
            str(error)
        )
        assert "nothing was changed" in str(error)
        for node in vk.nodes:
            assert node.passwords_of(vk.user) == [password_hash(vk.password)]
