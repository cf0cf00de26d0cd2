"""Random passwords that survive connection strings, URLs and shells.

Characters that break a libpq key/value string, a URL or a shell line are left out by
default (like AWS's ``EXCLUDE_CHARACTERS``); every password mixes classes so server-side
complexity rules accept it.
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
_ALPHABET = string.ascii_letters + string.digits + string.punctuation


def generate_password(length: int = DEFAULT_LENGTH, exclude_characters: str = DEFAULT_EXCLUDED) -> str:
    """A random password of ``length`` characters from printable ASCII minus ``exclude_characters``.

    It always contains a lower-case letter, an upper-case letter and a digit.
    """
    alphabet = "".join(char for char in _ALPHABET if char not in exclude_characters)
    if length < 16:
        raise ConfigurationError(f"password length must be at least 16, got {length}")
    required = [string.ascii_lowercase, string.ascii_uppercase, string.digits]
    if any(not set(group) & set(alphabet) for group in required):
        raise ConfigurationError("EXCLUDE_CHARACTERS leaves no lower-case letter, upper-case letter or digit")
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(length))
        if all(set(group) & set(password) for group in required):
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
    limits (ElastiCache: at most 128 characters and no ``, " / @`` or spaces)."""

    length: int = DEFAULT_LENGTH
    exclude_characters: str = DEFAULT_EXCLUDED

    @classmethod
    def from_env(cls, *, max_length: int | None = None, forbidden: str = "") -> PasswordPolicy:
        length, excluded = password_settings()
        return cls(length=min(length, max_length) if max_length else length, exclude_characters=excluded + forbidden)

    def excluding(self, forbidden: str) -> PasswordPolicy:
        """The same policy with ``forbidden`` characters left out as well."""
        return PasswordPolicy(self.length, self.exclude_characters + forbidden)

    def generate(self) -> str:
        return generate_password(self.length, self.exclude_characters)


DEFAULT_POLICY = PasswordPolicy()
