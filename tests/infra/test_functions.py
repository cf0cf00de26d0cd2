"""Each secret rotates with its own settings, in a function whose identity depends on those
settings: HMAC fields and sizes, password rules, TLS, ElastiCache waits and endpoints, admin
keys. Checked on the synthesized templates by following each secret's rotation schedule to
the function it invokes."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from infra.config import ConfigError, EnvironmentConfig
from infra.constructs.bundling import DOCKER_PLATFORM, bundling_options, staged_source
from tests.infra.configs import ACCOUNT, REGION, config_from, example_raw, example_secret, with_secrets
from tests.infra.conftest import Templates, stack_of, synth

PEM_DIR = Path(__file__).parent
ADMIN_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0e2a1b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b"


def _rotation(templates: Templates, name: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(secret, rotation schedule, function) of the secret called ``name``."""
    stack, secret_id = stack_of(templates, name)
    resources = templates[stack].to_json()["Resources"]
    schedule = next(r for r in resources.values() if r["Type"] == "AWS::SecretsManager::RotationSchedule"
                    and r["Properties"]["SecretId"] == {"Ref": secret_id})  # fmt: skip
    function = resources[schedule["Properties"]["RotationLambdaARN"]["Fn::GetAtt"][0]]
    return resources[secret_id], schedule, function


def _variables(templates: Templates, name: str) -> dict[str, str]:
    return _rotation(templates, name)[2]["Properties"]["Environment"]["Variables"]  # type: ignore[no-any-return]


def _hmac(name: str, fields: list[str], key_bytes: int = 32) -> dict[str, Any]:
    return {**example_secret("hmac_key"), "name": name, "hmac": {"fields": fields, "key_bytes": key_bytes}}


@pytest.fixture(scope="module")
def two_hmacs(tmp_path_factory: pytest.TempPathFactory) -> tuple[EnvironmentConfig, Templates]:
    secrets = [_hmac("first-hook", ["key"]), _hmac("second-hook", ["signing", "verify"], 48)]
    for secret in secrets:
        secret["stack"] = "hooks"  # the same stack, where one function per kind used the first secret's settings
    config = with_secrets(secrets)
    return config, synth(config, tmp_path_factory.mktemp("hmacs"), nag=False)


def test_each_hmac_secret_rotates_with_its_own_fields_and_size(two_hmacs: tuple[EnvironmentConfig, Templates]) -> None:
    _, templates = two_hmacs

    first = _variables(templates, "shop/example/hmac_key/first-hook")
    second = _variables(templates, "shop/example/hmac_key/second-hook")

    assert (first["HMAC_FIELDS"], first["HMAC_KEY_BYTES"]) == ("key", "32")
    assert (second["HMAC_FIELDS"], second["HMAC_KEY_BYTES"]) == ("signing,verify", "48")


def test_a_function_group_keeps_its_logical_id_whatever_else_the_stack_holds(
    two_hmacs: tuple[EnvironmentConfig, Templates], tmp_path: Path
) -> None:
    _, templates = two_hmacs
    secret = {**_hmac("second-hook", ["signing", "verify"], 48), "stack": "hooks"}

    alone = synth(with_secrets([secret]), tmp_path, nag=False)

    def function_id(found: Templates) -> str:
        stack, secret_id = stack_of(found, "shop/example/hmac_key/second-hook")
        resources = found[stack].to_json()["Resources"]
        schedule = next(r for r in resources.values() if r["Type"] == "AWS::SecretsManager::RotationSchedule"
                        and r["Properties"]["SecretId"] == {"Ref": secret_id})  # fmt: skip
        return str(schedule["Properties"]["RotationLambdaARN"]["Fn::GetAtt"][0])

    assert function_id(alone) == function_id(templates)


def test_password_settings_reach_both_the_function_and_the_first_value(tmp_path: Path) -> None:
    secret = {**example_secret("postgres_alternating"), "password": {"length": 40, "exclude_characters": "xyz\"'\\/@"}}
    templates = synth(with_secrets([secret]), tmp_path, nag=False)
    name = "shop/example/postgres_alternating/main"
    secret_resource, _, function = _rotation(templates, name)

    variables = function["Properties"]["Environment"]["Variables"]
    assert (variables["PASSWORD_LENGTH"], variables["EXCLUDE_CHARACTERS"]) == ("40", "xyz\"'\\/@")
    generated = secret_resource["Properties"]["GenerateSecretString"]
    assert (generated["PasswordLength"], generated["ExcludeCharacters"]) == (40, "xyz\"'\\/@")


def test_tls_defaults_to_the_runtime_bundle_and_verify_full(example_templates: Templates) -> None:
    variables = _variables(example_templates, "shop/example/postgres_alternating/main")

    assert variables["SSL_MODE"] == "verify-full"
    assert "CA_BUNDLE_PATH" not in variables  # the functions resolve the Lambda runtime's bundle


def _pem(tmp_path: Path) -> Path:
    """A PEM bundle made from certifi's, which is a real one."""
    import certifi

    path = tmp_path / "certs" / "rds-global-bundle.pem"
    path.parent.mkdir()
    path.write_text(Path(certifi.where()).read_text()[:200_000].rsplit("-----END CERTIFICATE-----", 1)[0]
                    + "-----END CERTIFICATE-----\n")  # fmt: skip
    return path


def test_a_shipped_ca_bundle_is_copied_into_the_asset_and_pointed_to(tmp_path: Path) -> None:
    bundle = _pem(tmp_path)
    raw = example_raw()
    raw["tls"] = {"ca_bundle": "certs/rds-global-bundle.pem", "mode": "verify-ca"}
    config = config_from(raw, config_dir=tmp_path)
    templates = synth(config, tmp_path / "out", nag=False)

    variables = _variables(templates, "shop/example/postgres_alternating/main")
    assert variables["SSL_MODE"] == "verify-ca"
    path = variables["CA_BUNDLE_PATH"]
    assert path.startswith("/var/task/ca/")
    assert path.endswith(".pem")
    staged = staged_source((bundle.resolve(),))
    assert (staged / path.removeprefix("/var/task/")).read_bytes() == bundle.read_bytes()
    assert "CA_BUNDLE_PATH" not in _variables(templates, "shop/example/hmac_key/webhook-signing")


def test_a_secrets_tls_override_gives_it_its_own_function(tmp_path: Path) -> None:
    plain = example_secret("postgres_alternating")
    behind_cname = {**copy.deepcopy(plain), "name": "reports", "tls": {"mode": "verify-ca"}, "stack": "db"}
    plain["stack"] = "db"
    templates = synth(with_secrets([plain, behind_cname]), tmp_path, nag=False)

    modes = {
        name: _variables(templates, f"shop/example/postgres_alternating/{name}")["SSL_MODE"]
        for name in ("main", "reports")
    }

    assert modes == {"main": "verify-full", "reports": "verify-ca"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("not a certificate\n", "is not PEM: no '-----BEGIN CERTIFICATE-----' block"),
        ("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n", "is not a valid PEM bundle"),
    ],
)
def test_a_ca_bundle_that_is_missing_or_not_pem_fails_synth(tmp_path: Path, content: str | None, message: str) -> None:
    if content is not None:
        (tmp_path / "bundle.pem").write_text(content)
    raw = {**example_raw(), "tls": {"ca_bundle": "bundle.pem"}}

    with pytest.raises(ConfigError, match=r"tls\.ca_bundle: CA bundle 'bundle\.pem' " + message):
        config_from(raw, config_dir=tmp_path)


def test_elasticache_secrets_carry_the_user_name_and_endpoint_into_the_first_value(tmp_path: Path) -> None:
    user = example_secret("elasticache_user")
    user["elasticache_user"].update(host="sessions.abc.euw1.cache.amazonaws.com", port=6380,
                                    security_group_id="sg-0a1b2c3d4e5f60755")  # fmt: skip
    token = example_secret("elasticache_auth_token")
    token["elasticache_auth_token"].update(host="tokens.abc.euw1.cache.amazonaws.com",
                                           security_group_id="sg-0a1b2c3d4e5f60766")  # fmt: skip
    templates = synth(with_secrets([user, token]), tmp_path, nag=False)

    user_secret, _, user_function = _rotation(templates, "shop/example/elasticache_user/sessions-user")
    template = json.loads(user_secret["Properties"]["GenerateSecretString"]["SecretStringTemplate"])
    assert template == {"user_arn": user["elasticache_user"]["user_arn"], "username": "sessions-app",
                        "host": "sessions.abc.euw1.cache.amazonaws.com", "port": 6380}  # fmt: skip
    egress = user_function["Properties"]["VpcConfig"]["SecurityGroupIds"]
    assert egress  # in the VPC, to reach the endpoint for testSecret
    token_secret, _, _ = _rotation(templates, "shop/example/elasticache_auth_token/sessions-token")
    generated = token_secret["Properties"]["GenerateSecretString"]
    assert json.loads(generated["SecretStringTemplate"]) == {
        "replication_group_id": "shop-sessions",
        "host": "tokens.abc.euw1.cache.amazonaws.com",
        "port": 6379,
    }
    # an AUTH token allows only letters, digits and ! & # $ ^ < > -: the first one is letters and digits
    assert generated["ExcludePunctuation"] is True
    stack, _ = stack_of(templates, "shop/example/elasticache_user/sessions-user")
    rules = [(r.get("DestinationSecurityGroupId"), r["FromPort"])
             for g in templates[stack].find_resources("AWS::EC2::SecurityGroup").values()
             for r in g["Properties"]["SecurityGroupEgress"]]  # fmt: skip
    assert ("sg-0a1b2c3d4e5f60755", 6380) in rules


def test_a_valkey_first_value_names_an_ipv6_node_without_brackets(tmp_path: Path) -> None:
    """The function reads ``nodes`` ("[::1]:6380" is valid there); consumers read ``host`` and
    ``port`` and hand the host to the socket library, which knows no "[::1]"."""
    secret = example_secret("valkey_acl")
    secret["valkey"]["nodes"] = ["[::1]:6380", "127.0.0.1:6381"]
    templates = synth(with_secrets([secret]), tmp_path, nag=False)
    secret_resource, _, _ = _rotation(templates, "shop/example/valkey_acl/" + secret["name"])

    template = json.loads(secret_resource["Properties"]["GenerateSecretString"]["SecretStringTemplate"])
    assert (template["host"], template["port"]) == ("::1", 6380)
    assert template["nodes"] == ["[::1]:6380", "127.0.0.1:6381"]


def test_security_group_egress_is_exactly_each_targets_own_port(tmp_path: Path) -> None:
    first = {**example_secret("postgres_alternating"), "stack": "db"}
    second = copy.deepcopy(first)
    second.update(name="reports")
    second["postgres"].update(port=5433, security_group_id="sg-0a1b2c3d4e5f60799")
    templates = synth(with_secrets([first, second]), tmp_path, nag=False)

    rules = sorted((r.get("DestinationSecurityGroupId") or r.get("CidrIp"), r["FromPort"])
                   for g in templates["ShopExampleRotationDb"].find_resources("AWS::EC2::SecurityGroup").values()
                   for r in g["Properties"]["SecurityGroupEgress"])  # fmt: skip

    # not the cross product of groups and ports
    assert rules == [("10.20.0.0/16", 443), ("sg-0a1b2c3d4e5f60733", 5432), ("sg-0a1b2c3d4e5f60799", 5433)]


def test_reserved_concurrency_is_opt_in(tmp_path: Path, example_templates: Templates) -> None:
    name = "shop/example/hmac_key/webhook-signing"
    assert "ReservedConcurrentExecutions" not in _rotation(example_templates, name)[2]["Properties"]

    templates = synth(config_from({**example_raw(), "reserved_concurrency": 20}), tmp_path, nag=False)

    assert _rotation(templates, name)[2]["Properties"]["ReservedConcurrentExecutions"] == 20


def test_admin_secret_under_its_own_key_may_be_decrypted_through_secrets_manager_only(tmp_path: Path) -> None:
    secret = example_secret("postgres_alternating")
    secret["postgres"]["admin_secret_kms_key_arn"] = ADMIN_KEY
    templates = synth(with_secrets([secret]), tmp_path, nag=False)
    stack, _ = stack_of(templates, "shop/example/postgres_alternating/main")
    _, _, function = _rotation(templates, "shop/example/postgres_alternating/main")
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]

    statements = [s for p in templates[stack].find_resources("AWS::IAM::Policy").values()
                  if {"Ref": role} in p["Properties"]["Roles"]
                  for s in p["Properties"]["PolicyDocument"]["Statement"]]  # fmt: skip

    assert {
        "Action": "kms:Decrypt",
        "Effect": "Allow",
        "Resource": ADMIN_KEY,
        "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"}},
    } in statements


def test_docker_fallback_builds_for_the_functions_arm64_platform() -> None:
    options = bundling_options(Path("."))

    assert options.platform == DOCKER_PLATFORM == "linux/arm64"
    assert "arm64" in options.image.image
