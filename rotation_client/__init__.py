"""Consumer library: read rotated secrets and accept AWSCURRENT and AWSPREVIOUS while clients refresh.

``PostgresConnectionFactory`` (psycopg2) and ``RotatingCredentialProvider`` (redis-py) are
imported on first use, so an application that only verifies signatures needs neither driver.
"""

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from .postgres import PostgresConnectionFactory
    from .redis import RotatingCredentialProvider

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
    "PostgresConnectionFactory",
    "RotatingCredentialProvider",
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


def __getattr__(name: str) -> Any:
    if name == "PostgresConnectionFactory":
        from .postgres import PostgresConnectionFactory

        return PostgresConnectionFactory
    if name == "RotatingCredentialProvider":
        from .redis import RotatingCredentialProvider

        return RotatingCredentialProvider
    raise AttributeError(f"module 'rotation_client' has no attribute {name!r}")
