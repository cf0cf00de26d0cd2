"""secret-rotation-kit: read AWS Secrets Manager secrets that rotate, without downtime.

The client API is here at the top level: ``SecretCache`` (and ``default_cache()``,
``inject_secret``), the HMAC keyring and webhook helpers, and, imported on first use so an
application pays only for the driver it uses, ``PostgresConnectionFactory`` (psycopg2),
``RotatingCredentialProvider`` / ``AsyncRotatingCredentialProvider`` (redis-py). The Django
database backend is ``secret_rotation_kit.django.postgresql`` (an ``ENGINE`` path); the operator
CLI is ``secret_rotation_kit.cli`` (``secret-rotation``).
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .cache import CacheStats, SecretCache
from .exceptions import (
    AwsCredentialsError,
    CredentialsRejectedError,
    InvalidSignatureError,
    RotationClientError,
    SecretDeletedError,
    SecretFormatError,
    SecretNotFoundError,
    SecretUnavailableError,
    SignatureFormatError,
    SignatureMissingError,
    TargetConnectionError,
)
from .hmac_keyring import HmacKeyring, RotatingHmacKeyring, key_id
from .inject import default_cache, inject_secret
from .settings import CacheSettings
from .snapshot import ALL_STAGES, AWSCURRENT, AWSPENDING, AWSPREVIOUS, SecretFields, SecretSnapshot
from .webhook import SIGNATURE_HEADER, signature_headers, verify_webhook

if TYPE_CHECKING:
    from .postgres import PostgresConnectionFactory
    from .redis import AsyncRotatingCredentialProvider, RotatingCredentialProvider

__version__ = "0.1.0"

__all__ = [
    "ALL_STAGES",
    "AWSCURRENT",
    "AWSPENDING",
    "AWSPREVIOUS",
    "SIGNATURE_HEADER",
    "AsyncRotatingCredentialProvider",
    "AwsCredentialsError",
    "CacheSettings",
    "CacheStats",
    "CredentialsRejectedError",
    "HmacKeyring",
    "InvalidSignatureError",
    "PostgresConnectionFactory",
    "RotatingCredentialProvider",
    "RotatingHmacKeyring",
    "RotationClientError",
    "SecretCache",
    "SecretDeletedError",
    "SecretFields",
    "SecretFormatError",
    "SecretNotFoundError",
    "SecretSnapshot",
    "SecretUnavailableError",
    "SignatureFormatError",
    "SignatureMissingError",
    "TargetConnectionError",
    "default_cache",
    "inject_secret",
    "key_id",
    "signature_headers",
    "verify_webhook",
]

# name -> (module, the extra that installs its driver)
_LAZY = {
    "PostgresConnectionFactory": (".postgres", "postgres"),
    "RotatingCredentialProvider": (".redis", "redis"),
    "AsyncRotatingCredentialProvider": (".redis", "redis"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, extra = _LAZY[name]
        try:
            return getattr(import_module(module, __name__), name)
        except ModuleNotFoundError as exc:
            raise ModuleNotFoundError(
                f"{name} needs the {exc.name!r} package: pip install 'secret-rotation-kit[{extra}]'", name=exc.name
            ) from None
    raise AttributeError(f"module 'secret_rotation_kit' has no attribute {name!r}")
