"""Bad config fails synth with a message naming the file, the field and why."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args

import pytest

from infra.config import ConfigError, TlsConfig, TlsOverride, load_config
from lambdas.targets.tls import SSL_MODES

Write = Callable[[dict[str, Any]], Path]
ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret"
# "6379" in full-width digits: str.isdigit() and int() take it, the function's port check does not.
WIDE_PORT = "\uff16\uff13\uff17\uff19"


def test_example_config_is_valid_and_names_follow_the_convention() -> None:
    config = load_config(Path("config/example.yaml"))

    assert config.secret_name(config.secrets[0]) == "shop/example/hmac_key/webhook-signing"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"secrets.0.name": "Webhook Signing!"}, "secrets.0.name: String should match pattern"),
        ({"secrets.0.kind": "mongodb"}, "secrets.0.kind: Input should be 'hmac_key', 'postgres_single'"),
        ({"secrets.1.postgres": None}, "kind 'postgres_alternating' needs a 'postgres' target section"),
        ({"secrets.1.postgres.admin_secret_arn": None}, "postgres_alternating needs postgres.admin_secret_arn"),
        ({"secrets.2.valkey.nodes": ["cache-without-port"]}, "secrets.2.valkey.nodes: 'cache-without-port' is not"),
        (
            {"secrets.2.valkey.nodes": ["shop-cache-001.abc.euw1.cache.amazonaws.com:6379"]},
            "is an ElastiCache endpoint: ElastiCache manages users through its API (ModifyUser), so rotate it with "
            "the elasticache_user kind",
        ),
        ({"network": None}, "kind 'postgres_alternating' reaches a server: 'network' is required"),
        ({"network.private_subnet_ids": ["subnet-0a1b2c3d4e5f60711"]}, "private_subnet_ids needs one subnet per entry"),
        ({"alerts.emails": []}, "emails is empty but alerts are required"),
        ({"secrets.0.unknown_field": 1}, "secrets.0.unknown_field: Extra inputs are not permitted"),
        ({"account": "12345"}, "account: String should match pattern"),
        ({"secrets.1.postgres.port": 70000}, "secrets.1.postgres.port: Input should be less than or equal to 65535"),
        (
            {"secrets.1.initial_value_from": {"secret_arn": "shop/legacy/db"}},
            "secrets.1.initial_value_from.secret_arn: must be a Secrets Manager secret ARN",
        ),
        ({"network.api_access": "vpn"}, "network.api_access: Input should be 'create', 'existing' or 'nat'"),
        (
            {"alerts.access_monitoring": {"cloudtrail_log_group": "trail logs!"}},
            "alerts.access_monitoring.cloudtrail_log_group: String should match pattern",
        ),
        (
            {"alerts.access_monitoring": {"cloudtrail_log_group": "trail", "anomaly_band": 0}},
            "alerts.access_monitoring.anomaly_band: Input should be greater than 0",
        ),
        # Secrets Manager names: a hyphen + six characters at the end reads as an ARN's random suffix.
        ({"secrets.0.name": "hook-signer"}, "ends with a hyphen and six characters"),
        ({"name_convention": "{kind}/{name}"}, "must start with a prefix that contains {env} and ends with '/'"),
        ({"name_convention": "{app}-{env}-{name}"}, "must start with a prefix that contains {env} and ends with '/'"),
        ({"name_convention": "{app}/{env}/{team}/{name}"}, "unknown placeholder(s) ['team']"),
        # ElastiCache replication group ids: no trailing or doubled hyphen.
        ({"secrets.4.elasticache_auth_token.replication_group_id": "shop-"}, "neither end with a hyphen"),
        ({"secrets.4.elasticache_auth_token.replication_group_id": "shop--a"}, "nor contain two in a row"),
        # CloudWatch Logs keeps logs at most 3653 days (10 years) short of "never expire".
        ({"log_retention_days": 4000}, "log_retention_days: Input should be less than or equal to 3653"),
        # GenerateSecretString PasswordLength is at most 4096: 2048 bytes as hex.
        ({"secrets.0.hmac.key_bytes": 4096}, "secrets.0.hmac.key_bytes: Input should be less than or equal to 2048"),
        # ARNs the functions use must be in the environment's partition and region.
        (
            {"secrets.1.postgres.admin_secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:a-AbCdEf"},
            "admin_secret_arn 'arn:aws:secretsmanager:us-east-1:",
        ),
        (
            {"secrets.3.elasticache_user.user_arn": "arn:aws:elasticache:eu-west-1:210987654321:user:shop-sessions"},
            "elasticache_user.user_arn is in another account than 123456789012",
        ),
        ({"secrets.3.elasticache_user.username": None}, "secrets.3.elasticache_user.username: Field required"),
        (
            {"secrets.3.elasticache_user.host": "sessions.abc.euw1.cache.amazonaws.com"},
            "host is set but security_group_id is not",
        ),
        ({"secrets.0.password": {"length": 40}}, "'password' settings apply to password kinds, not 'hmac_key'"),
        ({"secrets.3.password": {"length": 200}}, "password.length 200 is over ElastiCache's 128"),
        ({"secrets.1.stack": "Overflow"}, "secrets.1.stack: String should match pattern"),
        ({"reserved_concurrency": 5}, "reserved_concurrency: Input should be greater than or equal to 10"),
        ({"secrets.1.postgres.username": "a" * 58}, f"postgres.username '{'a' * 58}': base name must be at most 57"),
        (
            {"secrets.1.postgres.username": "_clone"},
            "postgres.username '_clone': must have a base name before '_clone'",
        ),
        ({"secrets.1.postgres.username": "é" * 32}, "secrets.1.postgres.username: must be at most 63 bytes"),
        # Settings the functions would refuse at their first rotation are refused at synth.
        ({"secrets.1.postgres.dbname": ""}, "secrets.1.postgres.dbname: String should have at least 1 character"),
        ({"secrets.1.postgres.dbname": "d" * 64}, "secrets.1.postgres.dbname: must be at most 63 bytes"),
        ({"secrets.2.valkey.username": ""}, "secrets.2.valkey.username: String should match pattern"),
        ({"secrets.2.valkey.username": "shop app"}, "secrets.2.valkey.username: String should match pattern"),
        ({"secrets.2.valkey.nodes": ["[]:6379"]}, "secrets.2.valkey.nodes: '[]:6379' is not \"host:port\""),
        ({"secrets.2.valkey.nodes": [f"cache:{WIDE_PORT}"]}, f"valkey.nodes: 'cache:{WIDE_PORT}' is not \"host:port\""),
        ({"secrets.0.hmac.fields": ["key", "key"]}, "secrets.0.hmac.fields: lists 'key' twice"),
        (
            {"secrets.1.password": {"exclude_characters": "0123456789"}},
            "password.exclude_characters leaves no lower-case letter, upper-case letter or digit",
        ),
        (
            {"secrets.4.password": {"exclude_characters": "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}},
            "leaves no lower-case letter, upper-case letter or digit of the characters elasticache_auth_token allows",
        ),
        ({"elasticache_wait_seconds": 900}, "elasticache_wait_seconds: Input should be less than or equal to 840"),
        ({"network.endpoint_security_group_id": "sg-0a1b2c3d4e5f60799"}, "it needs api_access: existing"),
        (
            {"secrets.0.postgres": {"host": "x", "username": "app", "security_group_id": "sg-0a1b2c3d4e5f60733"}},
            "kind 'hmac_key' takes a 'hmac' section, not 'postgres'",
        ),
        (
            {"app": "a-very-long-application-name-xy", "env": "production-euro1"},
            "is over Lambda's 64: shorten app ('a-very-long-application-name-xy')",
        ),
    ],
)
def test_bad_config_is_rejected_naming_file_and_field(
    config_file: Write, changes: dict[str, Any], message: str
) -> None:
    path = config_file(changes)

    with pytest.raises(ConfigError, match=re.escape(str(path)) + ".*" + re.escape(message)):
        load_config(path)


@pytest.mark.parametrize(
    ("consumer", "message"),
    [
        ("shop-example-django", "is not an IAM role ARN"),
        ("arn:aws:iam::123456789012:user/alice", "is not an IAM role ARN"),
        ("arn:aws:iam::12345:role/app", "is not an IAM role ARN"),
        ("arn:aws-cn:iam::123456789012:role/app", "is not in partition aws"),
    ],
)
def test_consumer_that_is_not_a_role_arn_of_this_partition_is_rejected(
    config_file: Write, consumer: str, message: str
) -> None:
    path = config_file({"secrets.0.consumers": [consumer]})

    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(path)


def test_two_secrets_whose_ids_collide_are_rejected(config_file: Write) -> None:
    path = config_file({"secrets.2.name": "a-1b", "secrets.2.kind": "hmac_key", "secrets.2.valkey": None,
                        "secrets.0.name": "a1b"})  # fmt: skip

    with pytest.raises(ConfigError, match=r"secrets\[2\] \(a-1b\): hmac_key name 'a-1b' reads as 'a1b' in ids"):
        load_config(path)


def test_missing_file_names_the_way_to_choose_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no such config file \(choose one with -c env=<name>"):
        load_config(tmp_path / "nope.yaml")


def test_invalid_yaml_is_named(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("app: [unclosed")

    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)


def test_tls_modes_are_exactly_the_ones_the_functions_accept() -> None:
    """``tls.mode`` becomes the functions' ``SSL_MODE``: a mode synth takes must be one they take."""
    environment_modes = get_args(TlsConfig.model_fields["mode"].annotation)
    secret_modes = get_args(get_args(TlsOverride.model_fields["mode"].annotation)[0])

    assert environment_modes == secret_modes == SSL_MODES
