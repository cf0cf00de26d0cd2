"""One CA resolution for every kind that speaks TLS (PostgreSQL, Valkey ACL nodes, ElastiCache).

Why a module of its own: psycopg2-binary ships its own OpenSSL whose ``OPENSSLDIR`` is the
wheel's build directory (``/host/tmp/libpq.build``), so libpq's ``sslrootcert=system`` finds
no roots on Lambda, and an unverified connection is never an option. Every TLS connection
therefore gets an explicit CA file, chosen in this order:

1. the secret's ``ssl_ca`` (a path inside the function's filesystem);
2. the function's ``CA_BUNDLE_PATH`` environment variable (the CDK app points it at a bundle
   copied into the asset, e.g. RDS's ``global-bundle.pem``);
3. the Lambda runtime's CA bundle, the first of ``RUNTIME_CA_BUNDLES`` that exists
   (``/etc/pki/tls/cert.pem`` is what AWS's own rotation functions pass as ``sslrootcert``);
4. otherwise ``CaBundleNotFoundError`` at createSecret, naming ``ssl_ca`` and ``CA_BUNDLE_PATH``.

A path that is named explicitly (1 or 2) but is not a PEM certificate file is an error naming
it, never a silent fall-through to the next source.

Verification mode: the secret's ``ssl_mode``, else the ``SSL_MODE`` environment variable, else
``verify-full`` (chain and host name). ``verify-ca`` verifies the chain only, for endpoints
reached through a CNAME whose name is not in the certificate. Nothing weaker exists here.

Test seam: ``RUNTIME_CA_BUNDLES`` is a module attribute; tests point it at a temporary file to
stand in for the runtime's bundle (tests/rotation/test_tls_ca_resolution.py).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from lambdas.rotation import ConfigurationError, InvalidSecretError, SecretFields

CA_BUNDLE_ENV = "CA_BUNDLE_PATH"
SSL_MODE_ENV = "SSL_MODE"
VERIFY_FULL = "verify-full"
VERIFY_CA = "verify-ca"
SSL_MODES = (VERIFY_FULL, VERIFY_CA)
# The CA bundle of the Lambda runtime images (Amazon Linux 2 and 2023 ship it from the
# ca-certificates package; /etc/pki/tls/cert.pem is the path AWS's rotation samples use).
RUNTIME_CA_BUNDLES: tuple[str, ...] = ("/etc/pki/tls/cert.pem", "/etc/pki/tls/certs/ca-bundle.crt")
_PEM_CERTIFICATE = b"-----BEGIN CERTIFICATE-----"
_PEM_PROBE_BYTES = 1 << 20  # a bundle with no certificate in its first MiB is not a CA bundle


class CaBundleNotFoundError(ConfigurationError):
    """TLS is required and no CA bundle can be found: the message says what to set."""


@dataclass(frozen=True)
class TlsSettings:
    """How to verify a server: the CA file and whether its host name must match the certificate."""

    ca_path: str
    mode: str = VERIFY_FULL
    source: str = "ssl_ca"  # where ca_path came from: ssl_ca, CA_BUNDLE_PATH or runtime

    @property
    def verify_hostname(self) -> bool:
        return self.mode == VERIFY_FULL


def _is_pem_bundle(path: str) -> bool:
    try:
        with open(path, "rb") as bundle:
            return _PEM_CERTIFICATE in bundle.read(_PEM_PROBE_BYTES)
    except OSError:
        return False


def _default_mode(env: Mapping[str, str]) -> str:
    """``SSL_MODE``, validated whatever the secret says: a misconfigured function fails every time."""
    default = env.get(SSL_MODE_ENV, "").strip() or VERIFY_FULL
    if default not in SSL_MODES:
        raise ConfigurationError(f"{SSL_MODE_ENV} must be one of {', '.join(SSL_MODES)}, got {default!r}")
    return default


def _configured_bundle(env: Mapping[str, str]) -> str | None:
    """``CA_BUNDLE_PATH``, validated whatever the secret says."""
    configured = env.get(CA_BUNDLE_ENV, "").strip()
    if configured and not _is_pem_bundle(configured):
        raise ConfigurationError(
            f"{CA_BUNDLE_ENV} must be the path of a readable PEM CA bundle in the function, "
            f"but {configured!r} is not one"
        )
    return configured or None


def _ssl_mode(fields: SecretFields, default: str) -> str:
    mode = fields.optional_str("ssl_mode")
    if mode is not None and mode not in SSL_MODES:
        raise InvalidSecretError(
            fields.secret_id, fields.stage, "ssl_mode", f"must be one of {', '.join(SSL_MODES)}, got {mode!r}"
        )
    return mode or default


def _ca_bundle(fields: SecretFields, configured: str | None) -> tuple[str, str]:
    """The CA file and the name of the source it came from."""
    named = fields.optional_str("ssl_ca")
    if named is not None:
        if not _is_pem_bundle(named):
            raise InvalidSecretError(
                fields.secret_id,
                fields.stage,
                "ssl_ca",
                f"must be the path of a readable PEM CA bundle in the function, but {named!r} is not one",
            )
        return named, "ssl_ca"
    if configured is not None:
        return configured, CA_BUNDLE_ENV
    for candidate in RUNTIME_CA_BUNDLES:
        if _is_pem_bundle(candidate):
            return candidate, "runtime"
    raise CaBundleNotFoundError(
        f"secret {fields.secret_id!r} ({fields.stage}) requires TLS but no CA bundle was found: set the "
        f"secret field 'ssl_ca' or the function's {CA_BUNDLE_ENV} to a PEM CA bundle (for RDS: its "
        f'global-bundle.pem shipped with the function), or write "ssl": false for plaintext; '
        f"looked for the runtime bundle at {', '.join(RUNTIME_CA_BUNDLES)}"
    )


def tls_settings(fields: SecretFields, env: Mapping[str, str] | None = None) -> TlsSettings | None:
    """The secret's TLS settings, or None when it says ``"ssl": false`` (plaintext).

    Raises ``InvalidSecretError`` (bad ``ssl``, ``ssl_ca``, ``ssl_mode``), ``ConfigurationError``
    (bad ``CA_BUNDLE_PATH`` or ``SSL_MODE``, checked even for plaintext secrets) or
    ``CaBundleNotFoundError``; none of them changes anything.
    """
    source = os.environ if env is None else env
    default_mode, configured = _default_mode(source), _configured_bundle(source)
    if not fields.require_tls("ssl"):
        return None
    ca_path, origin = _ca_bundle(fields, configured)
    return TlsSettings(ca_path=ca_path, mode=_ssl_mode(fields, default_mode), source=origin)
