"""``verify``: log in with each staged value against the real target and say which work.

PostgreSQL: a real login (libpq, verify-full TLS unless ``"ssl": false``). Valkey/ElastiCache:
AUTH + PING on every node the secret lists. HMAC keys have no server: the check is that
the key decodes and that a signature made with it is accepted by the secret's keyring.
"""

from __future__ import annotations

from dataclasses import dataclass

from secret_rotation_kit.exceptions import RotationClientError
from secret_rotation_kit.fields import port
from secret_rotation_kit.hmac_keyring import HmacKeyring
from secret_rotation_kit.snapshot import SecretSnapshot

PROBE = b"secret-rotation verify"


@dataclass(frozen=True)
class Outcome:
    """``works`` is None when the check could not run (unreachable, nothing to log in to)."""

    works: bool | None
    detail: str


def check_stage(kind: str, snapshot: SecretSnapshot, stage: str) -> Outcome:
    try:
        if kind.startswith("postgres"):
            return _postgres(snapshot, stage)
        if kind in ("valkey_acl", "elasticache_user", "elasticache_auth_token"):
            return _valkey(kind, snapshot, stage)
        if kind == "hmac_key":
            return _hmac(snapshot, stage)
    except RotationClientError as exc:
        return Outcome(None, str(exc))
    return Outcome(None, f"kind {kind!r}: nothing to verify against")


def _postgres(snapshot: SecretSnapshot, stage: str) -> Outcome:
    import psycopg2

    from secret_rotation_kit.postgres import libpq_params, rejected

    params = libpq_params(snapshot, stage)
    where = f"{params['host']}:{params['port']}"
    try:
        psycopg2.connect(**params, connect_timeout=5).close()
    except psycopg2.Error as exc:
        if rejected(exc):
            return Outcome(False, f"PostgreSQL at {where} rejected role {params['user']!r}")
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return Outcome(None, f"PostgreSQL at {where}: {first_line}")
    return Outcome(True, f"role {params['user']!r} logs in at {where}")


def _nodes(snapshot: SecretSnapshot, stage: str) -> list[tuple[str, int]]:
    raw = snapshot.json(stage).get("nodes")
    if isinstance(raw, list) and raw and all(isinstance(entry, str) and ":" in entry for entry in raw):
        return [(entry.rpartition(":")[0].strip("[]"), int(entry.rpartition(":")[2])) for entry in raw]
    return [(snapshot.field("host", stage), port(snapshot, stage, default=6379))]


def _valkey(kind: str, snapshot: SecretSnapshot, stage: str) -> Outcome:
    import redis

    from secret_rotation_kit.redis import connection_options

    if "host" not in snapshot.json(stage):
        return Outcome(
            None, "the secret has no host: nothing to log in to (the ElastiCache API is the source of truth)"
        )
    if kind == "elasticache_auth_token":
        username, password = "default", snapshot.field("auth_token", stage)
    else:
        username, password = snapshot.field("username", stage), snapshot.field("password", stage)
    results: list[str] = []
    accepted = unreachable = 0
    for host, node_port in _nodes(snapshot, stage):
        client = redis.Redis(
            host=host, port=node_port, username=username, password=password, **connection_options(snapshot, stage)
        )
        try:
            client.ping()
            accepted += 1
            results.append(f"{host}:{node_port} accepts")
        except redis.exceptions.AuthenticationError:
            results.append(f"{host}:{node_port} REJECTS")
        except redis.exceptions.RedisError as exc:
            unreachable += 1
            results.append(f"{host}:{node_port} unreachable ({type(exc).__name__})")
        finally:
            client.close()
    # works on every node; rejected somewhere (and every node answered); or unknown
    works = True if accepted == len(results) else (None if unreachable else False)
    return Outcome(works, f"user {username!r}: " + "; ".join(results))


def _hmac(snapshot: SecretSnapshot, stage: str) -> Outcome:
    key = HmacKeyring.from_hex([snapshot.field("key", stage)])
    keyring = HmacKeyring.from_snapshot(snapshot)
    keyring.verify(PROBE, key.sign(PROBE))
    return Outcome(True, f"{len(key.keys[0])}-byte key; signatures made with it are accepted (key id {key.key_ids[0]})")
