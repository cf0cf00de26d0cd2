"""SCRAM-SHA-256 verifiers computed client-side (RFC 5802, RFC 7677), in PostgreSQL's format.

Why: ``ALTER ROLE ... PASSWORD 'SCRAM-SHA-256$...'`` stores the verifier as given, so the
password itself never travels to the server and never appears in its log, even with
``log_statement = 'all'``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

ITERATIONS = 4096  # PostgreSQL's default scram_iterations
SALT_BYTES = 16


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def scram_sha256_verifier(password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """``SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`` for ``password``.

    Only ASCII passwords are accepted: PostgreSQL normalizes others with SASLprep first, which
    this function does not implement (generated passwords are always ASCII).
    """
    if not password.isascii():
        raise ValueError("SCRAM verifiers are only computed for ASCII passwords (SASLprep is not implemented)")
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("ascii"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    return f"SCRAM-SHA-256${iterations}:{_b64(salt)}${_b64(stored_key)}:{_b64(server_key)}"
