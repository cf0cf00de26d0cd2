"""Generated passwords: length, excluded characters, character classes, settings from the
environment, and each ElastiCache credential within its own documented rule."""

from __future__ import annotations

import re
import string
from typing import Any

import pytest

from lambdas.rotation import ConfigurationError
from lambdas.targets.elasticache import AUTH_TOKEN_POLICY, AUTH_TOKEN_RULE, RBAC_PASSWORD_POLICY, RBAC_PASSWORD_RULE
from lambdas.targets.passwords import (
    DEFAULT_EXCLUDED,
    PasswordPolicy,
    generate_password,
    password_settings,
)

# The rules as AWS words them, written out again here (not taken from the code under test):
# AUTH token: "16 to 128 ... The only permitted printable special characters are !, &, #, $,
# ^, <, >, and -" (CreateReplicationGroup AuthToken). RBAC password: 16-128 printable ASCII;
# no whitespace nor , " / @ (the stricter reading, docs/aws-rules.md).
AWS_AUTH_TOKEN = re.compile(r"[A-Za-z0-9!&#$^<>-]{16,128}")
AWS_RBAC_PASSWORD = re.compile(r"[!-~]{16,128}")


def test_password_has_the_length_no_excluded_character_and_every_class() -> None:
    for _ in range(50):
        password = generate_password(32)
        assert len(password) == 32
        assert not set(password) & set(DEFAULT_EXCLUDED)
        for group in (string.ascii_lowercase, string.ascii_uppercase, string.digits):
            assert set(password) & set(group)


@pytest.mark.parametrize(
    ("length", "excluded", "message"),
    [
        (15, DEFAULT_EXCLUDED, "password length must be at least 16, got 15"),
        (32, string.digits, "EXCLUDE_CHARACTERS leaves no lower-case letter, upper-case letter or digit"),
    ],
)
def test_impossible_settings_are_named(length: int, excluded: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        generate_password(length, excluded)


@pytest.mark.parametrize(
    ("raw", "message"),
    [("long", "PASSWORD_LENGTH must be an integer >= 16, got 'long'"), ("8", "got 8")],
)
def test_bad_password_length_setting_is_named(raw: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        password_settings({"PASSWORD_LENGTH": raw})


def test_policy_from_env_applies_the_targets_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSWORD_LENGTH", "200")
    monkeypatch.setenv("EXCLUDE_CHARACTERS", "x")

    policy = PasswordPolicy.from_env(rule=AUTH_TOKEN_RULE)

    assert policy == PasswordPolicy(length=128, exclude_characters="x", alphabet=AUTH_TOKEN_RULE.allowed)
    assert len(policy.generate()) == 128


def _obeys_aws_auth_token_rule(token: str) -> bool:
    return bool(AWS_AUTH_TOKEN.fullmatch(token))


def _obeys_aws_rbac_password_rule(password: str) -> bool:
    return bool(AWS_RBAC_PASSWORD.fullmatch(password)) and not set(password) & set(',"/@')


@pytest.mark.parametrize("excluded", [DEFAULT_EXCLUDED, "", "!&#"], ids=["default-excludes", "no-excludes", "some"])
@pytest.mark.parametrize(
    ("rule", "built_in", "obeys_aws"),
    [
        (AUTH_TOKEN_RULE, AUTH_TOKEN_POLICY, _obeys_aws_auth_token_rule),
        (RBAC_PASSWORD_RULE, RBAC_PASSWORD_POLICY, _obeys_aws_rbac_password_rule),
    ],
    ids=["auth-token", "rbac-password"],
)
def test_every_generated_elasticache_credential_obeys_its_kinds_aws_rule(
    monkeypatch: pytest.MonkeyPatch, excluded: str, rule: Any, built_in: PasswordPolicy, obeys_aws: Any
) -> None:
    monkeypatch.setenv("EXCLUDE_CHARACTERS", excluded)
    from_env = PasswordPolicy.from_env(rule=rule)

    values = [from_env.generate() for _ in range(500)] + [built_in.generate() for _ in range(500)]

    assert [value for value in values if not obeys_aws(value)] == []


def test_each_elasticache_rule_accepts_what_the_other_refuses() -> None:
    dotted = "a.password_with-punctuation"

    assert RBAC_PASSWORD_RULE.accepts(dotted)
    assert not AUTH_TOKEN_RULE.accepts(dotted)
    assert AUTH_TOKEN_RULE.accepts("token!&#$^<>-0123")
    assert not RBAC_PASSWORD_RULE.accepts("user@example.com-long-enough")
