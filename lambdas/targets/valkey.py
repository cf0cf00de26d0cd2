"""Talking to Valkey/Redis for a rotation: TLS-first clients with hard timeouts, no hidden
retries, and ACL changes that send only what must be sent.

redis-py retries failed commands by default; here every client has ``Retry(NoBackoff(), 0)``
so a wrong password is reported once, at once, and a dead node fails within the socket
timeouts. Failures become ``TargetError`` subclasses naming ``host:port``; redis-py messages
carry no credentials.
"""

from __future__ import annotations

import enum
import hashlib
import re
from dataclasses import dataclass
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from lambdas.rotation import (
    InvalidSecretError,
    SecretFields,
    TargetAuthenticationError,
    TargetError,
    TargetUnreachableError,
    record_call,
)
from lambdas.targets.tls import TlsSettings, tls_settings

CONNECT_TIMEOUT_S = 2.0
SOCKET_TIMEOUT_S = 2.0


class ValkeyUserMissingError(TargetError):
    """The ACL user to rotate does not exist on a node."""


class ValkeyPermissionError(TargetError):
    """The admin user may not run the ACL commands the rotation needs."""


class ValkeyPersistenceError(TargetError):
    """A node would forget an ACL change at its next restart (no ACL file, no config file)."""


class AclPersistence(enum.Enum):
    """How a node keeps ACL users across restarts (https://valkey.io/topics/acl/): in an ACL
    file (``aclfile``; ``ACL SAVE`` writes it) or in its configuration file (``CONFIG
    REWRITE`` writes the ``user`` lines). A node started without either keeps them in memory."""

    ACL_FILE = "ACL SAVE"
    CONFIG_FILE = "CONFIG REWRITE"


# Managed services whose users are changed through their API, never with ACL SETUSER:
# ElastiCache restricts CONFIG and manages users with CreateUser/ModifyUser (RBAC); its
# endpoints end in .cache.amazonaws.com (.com.cn in China). MemoryDB manages users with
# UpdateUser; its endpoints are <name>.<id>.memorydb.<region>.amazonaws.com.
_MANAGED_ENDPOINTS = (
    (re.compile(r"\.cache\.amazonaws\.com(\.cn)?\.?$", re.IGNORECASE),
     "an ElastiCache endpoint: ElastiCache manages users through its API (ModifyUser), so rotate it with the "
     "elasticache_user kind (user_arn, username, password) or, for an AUTH token, elasticache_auth_token"),
    (re.compile(r"\.memorydb\.[a-z0-9-]+\.amazonaws\.com(\.cn)?\.?$", re.IGNORECASE),
     "a MemoryDB endpoint: MemoryDB manages users through its API (UpdateUser), which this kind does not call"),
)  # fmt: skip


def managed_endpoint(host: str) -> str | None:
    """What managed service ``host`` belongs to and what to use instead, or None for a
    self-managed node (also used by the CDK config, so synth refuses what createSecret would)."""
    return next((what for pattern, what in _MANAGED_ENDPOINTS if pattern.search(host)), None)


def refuse_managed_endpoint(fields: SecretFields, field: str, host: str) -> None:
    """A managed service's endpoint is a configuration error, before anything is changed."""
    what = managed_endpoint(host)
    if what is not None:
        raise InvalidSecretError(fields.secret_id, fields.stage, field, f"names {what}")


@dataclass(frozen=True)
class ValkeyNode:
    """One node: where, and whether TLS (with which CA, and whether its host name is checked)."""

    host: str
    port: int
    tls: bool
    ca_path: str | None
    check_hostname: bool = True

    @classmethod
    def at(cls, host: str, port: int, tls: TlsSettings | None) -> ValkeyNode:
        """A node reached with ``tls`` (None: plaintext), as ``lambdas.targets.tls`` resolved it."""
        if tls is None:
            return cls(host, port, False, None)
        return cls(host, port, True, tls.ca_path, tls.verify_hostname)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def parse_node_address(entry: object) -> tuple[str, int] | None:
    """``"host:port"`` (an IPv6 host in brackets, ``"[::1]:6379"``) as ``(host, port)`` with the
    brackets removed, or None when it is not one. The CDK config parses ``nodes`` with this too,
    and writes the first value's ``host`` from it, so synth accepts exactly what the function does."""
    if not isinstance(entry, str) or ":" not in entry:
        return None
    host, _, port_text = entry.rpartition(":")
    host = host.strip("[]")
    if not host or not port_text.isascii() or not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        return None
    return host, int(port_text)


def _parse_node(entry: object, index: int, fields: SecretFields, tls: TlsSettings | None) -> ValkeyNode:
    address = parse_node_address(entry)
    if address is None:
        expected = 'must be "host:port" strings with a port between 1 and 65535'
        raise InvalidSecretError(fields.secret_id, fields.stage, f"nodes[{index}]", expected)
    refuse_managed_endpoint(fields, f"nodes[{index}]", address[0])
    return ValkeyNode.at(*address, tls)


def nodes_from_secret(fields: SecretFields) -> list[ValkeyNode]:
    """``nodes`` if present (every node must learn the password: ACLs are not replicated),
    else ``host:port``."""
    tls = tls_settings(fields)
    raw = fields.values.get("nodes")
    if raw is None:
        host = fields.require_str("host")
        refuse_managed_endpoint(fields, "host", host)
        return [ValkeyNode.at(host, fields.require_port("port"), tls)]
    if not isinstance(raw, list) or not raw:
        raise InvalidSecretError(fields.secret_id, fields.stage, "nodes", 'must be a non-empty list of "host:port"')
    return [_parse_node(entry, index, fields, tls) for index, entry in enumerate(raw)]


def client(node: ValkeyNode, username: str | None, password: str | None) -> Any:
    """A redis-py client without retries; TLS verified unless the secret says ``"ssl": false``."""
    options: dict[str, Any] = {
        "host": node.host,
        "port": node.port,
        "username": username,
        "password": password,
        "socket_connect_timeout": CONNECT_TIMEOUT_S,
        "socket_timeout": SOCKET_TIMEOUT_S,
        "retry": Retry(NoBackoff(), 0),
        "protocol": 2,
    }
    if node.tls:
        options.update(
            ssl=True, ssl_cert_reqs="required", ssl_ca_certs=node.ca_path, ssl_check_hostname=node.check_hostname
        )
    return redis.Redis(**options)


def classify(exc: Exception, node: ValkeyNode, username: str | None) -> TargetError:
    """A redis-py exception as a ``TargetError`` naming the node."""
    where = f"Valkey at {node.address}"
    if isinstance(exc, redis.exceptions.AuthenticationError):
        return TargetAuthenticationError(f"{where} rejected the credentials of user {username or 'default'!r}")
    if isinstance(exc, redis.exceptions.TimeoutError):
        return TargetUnreachableError(f"{where} did not answer within {SOCKET_TIMEOUT_S:g} s")
    if isinstance(exc, redis.exceptions.ConnectionError):
        return TargetUnreachableError(f"{where} is unreachable ({type(exc).__name__}: {exc})")
    if isinstance(exc, redis.exceptions.NoPermissionError):
        return ValkeyPermissionError(f"{where}: user {username or 'default'!r} may not run this ACL command ({exc})")
    return TargetError(f"{where}: {type(exc).__name__}: {exc}")


def command(connection: Any, node: ValkeyNode, username: str | None, point: str, *args: str) -> Any:
    """Run one command, recorded as call point ``valkey.<point>``; errors name the node."""
    try:
        record_call(f"valkey.{point}")
        return connection.execute_command(*args)
    except redis.exceptions.RedisError as exc:
        raise classify(exc, node, username) from None


def password_hash(password: str) -> str:
    """What ``ACL GETUSER`` lists for a password: SHA-256, lowercase hex."""
    return hashlib.sha256(password.encode()).hexdigest()


def user_password_hashes(connection: Any, node: ValkeyNode, admin: str, user: str) -> list[str]:
    """The user's password hashes; ``ValkeyUserMissingError`` if the user does not exist."""
    info = command(connection, node, admin, "acl_getuser", "ACL", "GETUSER", user)
    if info is None:
        raise ValkeyUserMissingError(f"Valkey at {node.address}: ACL user {user!r} does not exist")
    fields = dict(zip(info[::2], info[1::2], strict=False)) if isinstance(info, list) else dict(info)
    hashes: list[Any] = fields.get(b"passwords") or fields.get("passwords") or []
    return [value.decode() if isinstance(value, bytes) else str(value) for value in hashes]


def keep_only(connection: Any, node: ValkeyNode, admin: str, user: str, keep: list[str], add: str) -> None:
    """Give ``user`` the password ``add`` (by hash) and drop every password not in ``keep``.

    The new password is added first and the others removed after, so the ones kept never stop
    working; only hashes are sent, never a password.
    """
    existing = user_password_hashes(connection, node, admin, user)
    wanted = {password_hash(password) for password in keep}
    if password_hash(add) not in existing:
        command(connection, node, admin, "acl_setuser_add", "ACL", "SETUSER", user, "#" + password_hash(add))
    stale = [digest for digest in existing if digest not in wanted]
    if stale:
        command(connection, node, admin, "acl_setuser_remove", "ACL", "SETUSER", user, *("!" + d for d in stale))


def acl_persistence(connection: Any, node: ValkeyNode, admin: str) -> AclPersistence:
    """How ``node`` keeps ACL changes across a restart; ``ValkeyPersistenceError`` if it cannot.

    ``CONFIG GET aclfile`` names the ACL file (empty without one); ``INFO server``'s
    ``config_file`` names the configuration file ``CONFIG REWRITE`` rewrites ("if the server
    was started without a configuration file at all, the CONFIG REWRITE will just return an
    error": https://valkey.io/commands/config-rewrite/).
    """
    try:
        acl_file = command(connection, node, admin, "config_get", "CONFIG", "GET", "aclfile")
        server = command(connection, node, admin, "info_server", "INFO", "server")
    except ValkeyPermissionError:
        raise ValkeyPermissionError(
            f"Valkey at {node.address}: user {admin!r} may not read the node's configuration; the rotation "
            "admin needs +config|get, +config|rewrite and +info besides +acl, to keep ACL changes across restarts"
        ) from None
    except TargetError as exc:
        if "unknown command" in str(exc).lower():
            raise ValkeyPersistenceError(
                f"Valkey at {node.address} refuses CONFIG (a managed service such as ElastiCache restricts it): "
                "whether an ACL change survives a restart cannot be checked; for ElastiCache use the "
                "elasticache_user kind"
            ) from None
        raise
    path = _value(acl_file, "aclfile")
    if path:
        return AclPersistence.ACL_FILE
    if isinstance(server, dict) and server.get("config_file"):
        return AclPersistence.CONFIG_FILE
    raise ValkeyPersistenceError(
        f"Valkey at {node.address} has neither an ACL file (aclfile) nor a configuration file: a password set "
        "with ACL SETUSER would be lost at its next restart, when the user's password would be neither "
        "AWSCURRENT nor AWSPREVIOUS. Start the node with an aclfile (the rotation then runs ACL SAVE) or "
        "from a configuration file (CONFIG REWRITE); nothing was changed"
    )


def _value(reply: Any, name: str) -> str:
    """One value of a ``CONFIG GET`` reply (a dict from redis-py, or a flat list)."""
    if isinstance(reply, dict):
        found = reply.get(name, reply.get(name.encode(), ""))
    elif isinstance(reply, list) and len(reply) >= 2:
        found = reply[1]
    else:
        found = ""
    return found.decode() if isinstance(found, bytes) else str(found or "")


def persist_acl(connection: Any, node: ValkeyNode, admin: str, how: AclPersistence) -> None:
    """Write the node's ACL users where it reads them at start: ``ACL SAVE`` or ``CONFIG REWRITE``."""
    if how is AclPersistence.ACL_FILE:
        command(connection, node, admin, "acl_save", "ACL", "SAVE")
    else:
        command(connection, node, admin, "config_rewrite", "CONFIG", "REWRITE")


def check_login(node: ValkeyNode, username: str | None, password: str) -> None:
    """Authenticate on a fresh connection (no retries) and PING."""
    connection = client(node, username, password)
    try:
        command(connection, node, username, "auth_ping", "PING")
    finally:
        connection.close()
