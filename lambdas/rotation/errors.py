"""Named errors of the rotation core.

Every message names the secret, field or resource and what was expected. No message ever
contains a secret value: callers pass names and types, never values.
"""

from __future__ import annotations


class RotationError(Exception):
    """Base class: a rotation step could not do its job; nothing unsafe was changed."""


class InvalidEventError(RotationError):
    """The Lambda event is not a Secrets Manager rotation event."""


class UnknownStepError(InvalidEventError):
    """`Step` is none of createSecret, setSecret, testSecret, finishSecret."""

    def __init__(self, step: object) -> None:
        super().__init__(f"unknown Step {step!r}: expected one of createSecret, setSecret, testSecret, finishSecret")
        self.step = step


class ConfigurationError(RotationError):
    """The function's own configuration (environment variables) is invalid."""


class VersionNotPendingError(RotationError):
    """The token names a version that is not staged AWSPENDING (nor AWSCURRENT)."""

    def __init__(self, secret_id: str, token: str, stages: list[str] | None) -> None:
        found = "no such version" if stages is None else f"stages {sorted(stages)}"
        super().__init__(
            f"secret {secret_id!r}: version {token} is not staged AWSPENDING ({found}); "
            "expected the version Secrets Manager created for this rotation"
        )
        self.secret_id = secret_id
        self.token = token


class PendingValueMissingError(RotationError):
    """A step after createSecret found no value for the pending version."""

    def __init__(self, secret_id: str, token: str) -> None:
        super().__init__(
            f"secret {secret_id!r}: version {token} is staged AWSPENDING but has no value; "
            "expected createSecret to have run first"
        )


class InvalidSecretError(RotationError):
    """A secret's JSON is malformed or a field is missing or of the wrong type."""

    def __init__(self, secret_id: str, stage: str, field: str | None, expected: str) -> None:
        where = f"field {field!r}" if field else "value"
        super().__init__(f"secret {secret_id!r} ({stage}): {where} {expected}")
        self.secret_id = secret_id
        self.stage = stage
        self.field = field


class SecretsManagerError(RotationError):
    """A Secrets Manager API call failed after the client's retries."""


class TargetError(RotationError):
    """The server or service whose credential is rotated refused or failed an operation."""


class TargetUnreachableError(TargetError):
    """The target did not answer in time; the message names host and port."""


class TargetAuthenticationError(TargetError):
    """The target rejected a credential."""


class PendingSecretTestFailedError(RotationError):
    """testSecret found that the pending value does not work."""
