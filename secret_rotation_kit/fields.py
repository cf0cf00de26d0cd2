"""Typed fields of a secret's JSON for the database and cache clients; errors name the
secret, stage and field and the type found, never a value."""

from __future__ import annotations

import os
import ssl

from .exceptions import SecretFormatError
from .snapshot import SecretSnapshot

VERIFY_FULL = "verify-full"
VERIFY_CA = "verify-ca"
# Where distributions keep the system's CA bundle (Debian/Ubuntu, Amazon Linux/RHEL, Alpine),
# tried after Python's own OpenSSL default: psycopg2-binary's bundled OpenSSL looks for roots
# under its build directory, so libpq's ``sslrootcert=system`` trusts nothing on most hosts.
SYSTEM_CA_BUNDLES: tuple[str, ...] = (
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/pki/tls/cert.pem",
    "/etc/ssl/cert.pem",
)


def _invalid(snapshot: SecretSnapshot, stage: str, field: str, expected: str) -> SecretFormatError:
    found = snapshot.json(stage).get(field)
    got = "it is missing" if field not in snapshot.json(stage) else f"got {type(found).__name__}"
    return SecretFormatError(f"secret {snapshot.secret_id!r} at {stage}: field {field!r} {expected}, {got}")


def port(snapshot: SecretSnapshot, stage: str, field: str = "port", default: int | None = None) -> int:
    """A TCP port, as an integer or a numeric string; absent or null: ``default`` (as the
    rotation functions read it)."""
    value = snapshot.json(stage).get(field)
    if value is None:
        value = default
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise _invalid(snapshot, stage, field, "must be a port number between 1 and 65535")
    return value


def tls(snapshot: SecretSnapshot, stage: str, field: str = "ssl") -> bool:
    """TLS unless ``false`` is written (absent or null: TLS, as the rotation functions read
    it): there is never a silent fallback to plaintext."""
    value = snapshot.json(stage).get(field)
    if value is None:
        return True
    if not isinstance(value, bool):
        raise _invalid(snapshot, stage, field, "must be true or false")
    return value


def ca_bundle(snapshot: SecretSnapshot, stage: str) -> str:
    """The CA file to verify the server with: ``ssl_ca`` (a path) if present, else
    ``CA_BUNDLE_PATH``, else the system's bundle as a file (Python's OpenSSL default, then the
    distributions' usual paths). Always a file, never libpq's ``system``: see above. RDS and
    self-signed servers need their own bundle in ``ssl_ca`` or ``CA_BUNDLE_PATH``."""
    value = snapshot.json(stage).get("ssl_ca")
    if value is not None and not isinstance(value, str):
        raise _invalid(snapshot, stage, "ssl_ca", "must be a path string")
    named = value or os.environ.get("CA_BUNDLE_PATH")
    if named:
        return named
    default = ssl.get_default_verify_paths().cafile
    for candidate in (default, *SYSTEM_CA_BUNDLES):
        if candidate and os.path.isfile(candidate):
            return candidate
    raise SecretFormatError(
        f"secret {snapshot.secret_id!r} at {stage} requires TLS but no CA bundle was found: set the secret's "
        f"'ssl_ca' or the CA_BUNDLE_PATH environment variable to a PEM CA bundle (for RDS: its global-bundle.pem); "
        f"looked at {', '.join(path for path in (default, *SYSTEM_CA_BUNDLES) if path)}"
    )


def ssl_mode(snapshot: SecretSnapshot, stage: str) -> str:
    """``ssl_mode`` (``verify-full``, the default, or ``verify-ca`` for a CNAME endpoint), as
    the rotation functions read it; nothing weaker."""
    value = snapshot.json(stage).get("ssl_mode") or os.environ.get("SSL_MODE") or VERIFY_FULL
    if value not in (VERIFY_FULL, VERIFY_CA):
        raise _invalid(snapshot, stage, "ssl_mode", f"must be {VERIFY_FULL} or {VERIFY_CA}")
    return str(value)
