"""Random passwords that survive connection strings, URLs and shells, within a target's rule.

Characters that break a libpq key/value string, a URL or a shell line are left out by
default (like AWS's ``EXCLUDE_CHARACTERS``); every password mixes classes so server-side
complexity rules accept it. A target with its own documented rule (ElastiCache AUTH tokens,
RBAC passwords) passes a ``PasswordRule``: generation draws only from the characters the
rule allows, and the same rule checks values found in existing secrets.
"""

from __future__ import annotations

import os
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass

from lambdas.rotation import ConfigurationError

# Quotes, backslash, slash, at-sign, colon, percent, ampersand, hash, question mark, semicolon,
# backtick, dollar, brackets and whitespace all mean something in DSNs, URLs or shells.
DEFAULT_EXCLUDED = "\"'\\/@:%&#?;`$<>()[]{}|^~ ,=+*!"
DEFAULT_LENGTH = 32
PRINTABLE_ASCII = string.ascii_letters + string.digits + string.punctuation
_REQUIRED_CLASSES = (string.ascii_lowercase, string.ascii_uppercase, string.digits)


@dataclass(frozen=True)
class PasswordRule:
    """What a target accepts: a length range and the characters allowed (its documented rule)."""

    min_length: int
    max_length: int
    allowed: str
    description: str

    def accepts(self, value: str) -> bool:
        return self.min_length <= len(value) <= self.max_length and set(value) <= set(self.allowed)


def usable_characters(alphabet: str, exclude_characters: str) -> str:
    """``alphabet`` minus ``exclude_characters``; ``ConfigurationError`` unless a lower-case
    letter, an upper-case letter and a digit remain (every password holds one of each). The
    CDK config runs the same check at synth, so a setting the function would refuse never deploys."""
    usable = "".join(char for char in alphabet if char not in exclude_characters)
    if any(not set(group) & set(usable) for group in _REQUIRED_CLASSES):
        raise ConfigurationError("EXCLUDE_CHARACTERS leaves no lower-case letter, upper-case letter or digit")
    return usable


def generate_password(
    length: int = DEFAULT_LENGTH, exclude_characters: str = DEFAULT_EXCLUDED, alphabet: str = PRINTABLE_ASCII
) -> str:
    """A random password of ``length`` characters from ``alphabet`` minus ``exclude_characters``.

    It always contains a lower-case letter, an upper-case letter and a digit.
    """
    if length < 16:
        raise ConfigurationError(f"password length must be at least 16, got {length}")
    usable = usable_characters(alphabet, exclude_characters)
    while True:
        password = "".join(secrets.choice(usable) for _ in range(length))
        if all(set(group) & set(password) for group in _REQUIRED_CLASSES):
            return password


def password_settings(env: Mapping[str, str] | None = None) -> tuple[int, str]:
    """``PASSWORD_LENGTH`` (default 32) and ``EXCLUDE_CHARACTERS`` (default above) from the environment."""

    source = os.environ if env is None else env
    raw_length = source.get("PASSWORD_LENGTH", "").strip()
    try:
        length = int(raw_length) if raw_length else DEFAULT_LENGTH
    except ValueError:
        raise ConfigurationError(f"PASSWORD_LENGTH must be an integer >= 16, got {raw_length!r}") from None
    if length < 16:
        raise ConfigurationError(f"PASSWORD_LENGTH must be an integer >= 16, got {length}")
    return length, source.get("EXCLUDE_CHARACTERS", DEFAULT_EXCLUDED)


@dataclass(frozen=True)
class PasswordPolicy:
    """How a kind generates its passwords: the environment's settings within the target's own
    rule (a longer ``PASSWORD_LENGTH`` is capped at the rule's maximum)."""

    length: int = DEFAULT_LENGTH
    exclude_characters: str = DEFAULT_EXCLUDED
    alphabet: str = PRINTABLE_ASCII

    @classmethod
    def from_env(
        cls, *, rule: PasswordRule | None = None, max_length: int | None = None, forbidden: str = ""
    ) -> PasswordPolicy:
        length, excluded = password_settings()
        limit = rule.max_length if rule else max_length
        alphabet = rule.allowed if rule else PRINTABLE_ASCII
        return cls(length=min(length, limit) if limit else length, exclude_characters=excluded + forbidden,
                   alphabet=alphabet)  # fmt: skip

    def excluding(self, forbidden: str) -> PasswordPolicy:
        """The same policy with ``forbidden`` characters left out as well."""
        return PasswordPolicy(self.length, self.exclude_characters + forbidden, self.alphabet)

    def within(self, rule: PasswordRule) -> PasswordPolicy:
        """The same settings, drawing only characters ``rule`` allows and at most its length."""
        return PasswordPolicy(min(self.length, rule.max_length), self.exclude_characters, rule.allowed)

    def generate(self) -> str:
        return generate_password(self.length, self.exclude_characters, self.alphabet)


DEFAULT_POLICY = PasswordPolicy()
