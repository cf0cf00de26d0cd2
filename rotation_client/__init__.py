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
from .hmac_keyring import HmacKeyring, RotatingHmacKeyring, key_id
from .snapshot import ALL_STAGES, AWSCURRENT, AWSPENDING, AWSPREVIOUS, SecretSnapshot
from .webhook import SIGNATURE_HEADER, signature_headers, verify_webhook

__all__ = [
    "ALL_STAGES",
    "AWSCURRENT",
    "AWSPENDING",
    "AWSPREVIOUS",
    "SIGNATURE_HEADER",
    "AwsCredentialsError",
    "CacheStats",
    "CredentialsRejectedError",
    "HmacKeyring",
    "InvalidSignatureError",
    "RotatingHmacKeyring",
    "RotationClientError",
    "SecretCache",
    "SecretFormatError",
    "SecretNotFoundError",
    "SecretSnapshot",
    "SecretUnavailableError",
    "SignatureFormatError",
    "SignatureMissingError",
    "TargetConnectionError",
    "key_id",
    "signature_headers",
    "verify_webhook",
]
