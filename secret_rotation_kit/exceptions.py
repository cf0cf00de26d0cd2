"""Named errors of the consumer library.

Every message names the secret, stage, field, or ``host:port`` involved and what was
expected; none carries a secret value, so they are safe to log and to show to operators.
"""

from __future__ import annotations


class RotationClientError(Exception):
    """Base of every error raised by ``secret_rotation_kit``."""


class SecretNotFoundError(RotationClientError, LookupError):
    """Secrets Manager has no secret (or no version at the stage) by that name."""


class SecretDeletedError(SecretNotFoundError):
    """The secret is scheduled for deletion (or deleted): it is never served, not even a cached value."""


class SecretFormatError(RotationClientError, ValueError):
    """The secret's value is not what the caller expects: not JSON, not an object, a field missing or mistyped."""


class AwsCredentialsError(RotationClientError):
    """The AWS credentials are missing, expired or not allowed to read the secret."""


class SecretUnavailableError(RotationClientError):
    """Secrets Manager could not be read and there is no last good value young enough to serve."""


class CredentialsRejectedError(RotationClientError):
    """The target rejected every staged credential (AWSCURRENT after a refresh, AWSPREVIOUS, AWSPENDING)."""


class TargetConnectionError(RotationClientError):
    """The target could not be reached or failed for a reason other than rejected credentials."""


class SignatureFormatError(RotationClientError, ValueError):
    """The signature is not hex of the SHA-256 length (optionally prefixed by a key id)."""


class InvalidSignatureError(RotationClientError, ValueError):
    """No accepted key produced this signature."""


class SignatureMissingError(InvalidSignatureError):
    """The request carries no signature header."""
