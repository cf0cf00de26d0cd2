"""The first deploy, end to end: what CloudFormation creates, then what Secrets Manager does.

For each kind, the secret's first value is built as the deployed template builds it (the
construct's ``GenerateSecretString`` settings, its value drawn by Secrets Manager's own
``GetRandomPassword`` as CloudFormation does, or the value in use for ``initial_value_from``),
and the rotation schedule is turned on as the template turns it on: ``RotateImmediately`` as
``infra/first_deploy.py`` decided. The emulated RotateSecret then rotates, or runs the
configuration test (``testSecret`` on a copy of AWSCURRENT), against real servers and the
ElastiCache emulation. Every case must end with an AWSCURRENT that authenticates.

Local deviations, said where they are made: the admin secret's ARN in the config is the one
moto gave it; local Valkey is built without TLS, so its first value gets ``"ssl": false``;
PostgreSQL runs with TLS, the CA reaching the function as ``CA_BUNDLE_PATH`` does on Lambda.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra.config import SecretConfig, load_config
from infra.constructs.rotated_secret import _generated
from infra.first_deploy import rotate_on_deploy
from infra.settings import function_settings
from lambdas.elasticache_auth_token.handler import lambda_handler as auth_token_handler
from lambdas.elasticache_user.handler import lambda_handler as elasticache_user_handler
from lambdas.hmac_key.handler import lambda_handler as hmac_handler
from lambdas.postgres_alternating.handler import lambda_handler as postgres_alternating_handler
from lambdas.postgres_single.handler import lambda_handler as postgres_single_handler
from lambdas.valkey_acl.handler import lambda_handler as valkey_acl_handler
from tests.plugins.elasticache_fixtures import AuthTokenGroup, RbacUser
from tests.plugins.postgres_fixtures import PostgresTarget
from tests.plugins.service_fixtures import RotationService
from tests.plugins.valkey_fixtures import ValkeyTarget

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "example.yaml"
SECURITY_GROUP = "sg-0a1b2c3d4e5f60733"
Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class Deploy:
    """One secret as the config describes it, and how to tell its AWSCURRENT works."""

    config: SecretConfig
    handler: Handler
    authenticates: Callable[[dict[str, Any]], bool]
    value_in_use: dict[str, Any] | None = None  # initial_value_from: the value the reference resolves to
    local_overrides: dict[str, Any] | None = None


def _config(kind: str, **fields: Any) -> SecretConfig:
    return SecretConfig.model_validate({"name": f"first-{kind.replace('_', '-')}", "kind": kind, **fields})


def _first_value(client: Any, deploy: Deploy) -> dict[str, Any]:
    """What the template's secret resource holds after CloudFormation created it."""
    if deploy.value_in_use is not None:
        return dict(deploy.value_in_use)
    generator = _generated(deploy.config)
    assert generator.password_length is not None
    assert generator.secret_string_template is not None
    drawn = client.get_random_password(
        PasswordLength=int(generator.password_length),
        ExcludeCharacters=generator.exclude_characters or "",
        ExcludePunctuation=bool(generator.exclude_punctuation),
        ExcludeUppercase=bool(generator.exclude_uppercase),
    )["RandomPassword"]
    value = json.loads(generator.secret_string_template)
    value[generator.generate_string_key] = drawn
    return {**value, **(deploy.local_overrides or {})}


def hmac_generated(request: pytest.FixtureRequest) -> Deploy:
    config = _config("hmac_key", hmac={"fields": ["key", "previous_signing_key"]})
    return Deploy(config, hmac_handler, lambda value: all(len(value[f]) == 64 for f in config.target.fields))


def hmac_generated_one_field(request: pytest.FixtureRequest) -> Deploy:
    return Deploy(_config("hmac_key"), hmac_handler, lambda value: len(value["key"]) == 64)


def _postgres_section(pg: PostgresTarget) -> dict[str, Any]:
    return {"host": pg.server.host, "port": pg.server.port, "dbname": pg.server.dbname, "username": pg.role,
            "admin_secret_arn": pg.admin_arn, "security_group_id": SECURITY_GROUP}  # fmt: skip


def postgres_alternating_generated(request: pytest.FixtureRequest) -> Deploy:
    pg: PostgresTarget = request.getfixturevalue("pg_tls")
    return Deploy(_config("postgres_alternating", postgres=_postgres_section(pg)), postgres_alternating_handler,
                  pg.logs_in)  # fmt: skip


def postgres_single_in_use(request: pytest.FixtureRequest) -> Deploy:
    pg: PostgresTarget = request.getfixturevalue("pg_tls")
    reference = {"secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:legacy/app-AbCdEf",
                 "json_field": "password"}  # fmt: skip
    section = {key: value for key, value in _postgres_section(pg).items() if key != "admin_secret_arn"}
    in_use = {"engine": "postgres", "host": pg.server.host, "port": pg.server.port, "dbname": pg.server.dbname,
              "username": pg.role, "password": pg.password}  # fmt: skip
    config = _config("postgres_single", postgres=section, initial_value_from=reference)
    return Deploy(config, postgres_single_handler, pg.logs_in, value_in_use=in_use)


def valkey_acl_generated(request: pytest.FixtureRequest) -> Deploy:
    vk: ValkeyTarget = request.getfixturevalue("vk")
    nodes = [f"{node.host}:{node.port}" for node in vk.nodes]
    section = {
        "nodes": nodes,
        "username": vk.user,
        "admin_secret_arn": vk.admin_arn,
        "security_group_id": SECURITY_GROUP,
    }
    return Deploy(_config("valkey_acl", valkey=section), valkey_acl_handler, vk.authenticates_everywhere,
                  local_overrides={"ssl": False})  # fmt: skip


def elasticache_user_generated(request: pytest.FixtureRequest) -> Deploy:
    user: RbacUser = request.getfixturevalue("rbac_user")
    config = _config("elasticache_user", elasticache_user={"user_arn": user.user_arn, "username": user.username})
    return Deploy(config, elasticache_user_handler, lambda value: user.node.authenticates(value["username"],
                                                                                        value["password"]))  # fmt: skip


def elasticache_auth_token_generated(request: pytest.FixtureRequest) -> Deploy:
    group: AuthTokenGroup = request.getfixturevalue("auth_group")
    config = _config("elasticache_auth_token", elasticache_auth_token={"replication_group_id": group.group_id})
    return Deploy(config, auth_token_handler, lambda value: group.node.authenticates("default", value["auth_token"]))


CASES: dict[str, Callable[[pytest.FixtureRequest], Deploy]] = {
    "hmac_key_several_fields_generated": hmac_generated,
    "hmac_key_one_field_generated": hmac_generated_one_field,
    "postgres_alternating_generated": postgres_alternating_generated,
    "postgres_single_initial_value_from": postgres_single_in_use,
    "valkey_acl_generated": valkey_acl_generated,
    "elasticache_user_generated": elasticache_user_generated,
    "elasticache_auth_token_generated": elasticache_auth_token_generated,
}


@pytest.mark.integration
@pytest.mark.parametrize("case", list(CASES))
def test_the_first_deploy_ends_with_an_awscurrent_that_authenticates(
    case: str,
    request: pytest.FixtureRequest,
    rotation_service: RotationService,
    secretsmanager: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    deploy = CASES[case](request)
    for name, value in function_settings(load_config(EXAMPLE), deploy.config).items():  # the function's environment
        monkeypatch.setenv(name, value)
    if "pg_tls" in request.fixturenames:  # the CDK's tls.ca_bundle, pointing at the local servers' CA
        monkeypatch.setenv("CA_BUNDLE_PATH", str(request.getfixturevalue("pg_tls").server.ca_path))
    arn = secretsmanager.create_secret(
        Name=f"app/test/{deploy.config.name}", SecretString=json.dumps(_first_value(secretsmanager, deploy))
    )["ARN"]
    rotate_now = rotate_on_deploy(deploy.config)

    events = rotation_service.turn_on_rotation(arn, deploy.handler, rotate_immediately=rotate_now)

    expected = (
        ["RotationStarted", "RotationSucceeded"] if rotate_now else ["TestRotationStarted", "TestRotationSucceeded"]
    )
    assert events == expected
    current = json.loads(secretsmanager.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"])
    assert deploy.authenticates(current)
    generated = deploy.value_in_use is None and not (deploy.config.kind == "hmac_key" and not rotate_now)
    assert rotate_now == generated  # every generated first value a target cannot know is rotated at deploy
