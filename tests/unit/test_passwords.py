"""Generated passwords: length, excluded characters, character classes, settings from the environment."""

from __future__ import annotations

import string

import pytest

from lambdas.rotation import ConfigurationError
from lambdas.targets.elasticache import FORBIDDEN, PASSWORD_POLICY
from lambdas.targets.passwords import (
    DEFAULT_EXCLUDED,
    PasswordPolicy,
    generate_password,
    password_settings,
)


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

    policy = PasswordPolicy.from_env(max_length=128, forbidden=FORBIDDEN)

    assert policy == PasswordPolicy(length=128, exclude_characters="x" + FORBIDDEN)
    assert len(policy.generate()) == 128


def test_elasticache_policy_never_generates_a_forbidden_character() -> None:
    for _ in range(50):
        assert not set(PASSWORD_POLICY.generate()) & set(FORBIDDEN)
