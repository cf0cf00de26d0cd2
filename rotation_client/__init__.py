"""Consumer library: read rotated secrets and accept AWSCURRENT and AWSPREVIOUS while clients refresh."""

from .cache import CacheStats, SecretCache
from .exceptions import (
    AwsCredentialsError,
    CredentialsRejectedError,
    InvalidSignatureError,
    RotationClientError,
    SecretFormatError,
    SecretNotFoundError,
    SecretUnavailableError,
    SignatureFormatError,
    SignatureMissingError,
    TargetConnectionError,
)
from .hmac_keyring import HmacKeyring
from .snapshot import ALL_STAGES, AWSCURRENT, AWSPENDING, AWSPREVIOUS, SecretSnapshot

__all__ = [
    "ALL_STAGES",
    "AWSCURRENT",
    "AWSPENDING",
    "AWSPREVIOUS",
    "AwsCredentialsError",
    "CacheStats",
    "CredentialsRejectedError",
    "HmacKeyring",
    "InvalidSignatureError",
    "RotationClientError",
    "SecretCache",
    "SecretFormatError",
    "SecretNotFoundError",
    "SecretSnapshot",
    "SecretUnavailableError",
    "SignatureFormatError",
    "SignatureMissingError",
    "TargetConnectionError",
]
