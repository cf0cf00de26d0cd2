"""A real PostgreSQL server on 127.0.0.1, in a temporary directory, for tests, demo and bench.

``PostgresServer(tls=False, tls_only=False)`` is a context manager. It finds the server
binaries (``initdb`` on PATH or ``/usr/lib/postgresql/*/bin``), creates a cluster with
scram-sha-256 authentication and ``log_statement = 'all'`` logging to ``log_path``, listens
on a free loopback port, and removes everything on exit. ``initdb`` and ``postgres`` refuse
to run as root: as root the server runs as the unprivileged ``postgres`` user (created by
Debian's package; ``scripts/ensure-system-deps.sh`` installs it on a fresh machine).

Attributes: ``host``, ``port``, ``admin_user``/``admin_password`` (a superuser for setup),
``dbname``, ``log_path``, ``ca_path`` (with ``tls=True``). Helpers: ``connect(user,
password)``, ``execute_as_admin(sql, params)``, ``create_role(name, password, ...)``.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg2
from psycopg2 import sql

from lambdas.targets.scram import scram_sha256_verifier
from local_rotation.server import LOOPBACK, free_loopback_port
from local_servers.certs import write_loopback_tls

SERVER_USER = "postgres"
START_TIMEOUT_S = 30.0


class PostgresUnavailableError(RuntimeError):
    """The server binaries or an unprivileged user to run them are missing."""


def find_binaries() -> Path:
    """The directory holding ``initdb`` and ``postgres``."""
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    raise PostgresUnavailableError(
        "PostgreSQL server binaries not found (initdb on PATH or /usr/lib/postgresql/*/bin): "
        "run `make deps` (scripts/ensure-system-deps.sh) or install Debian's postgresql package"
    )


def _run_as() -> pwd.struct_passwd | None:
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise PostgresUnavailableError(
            f"running as root, and there is no unprivileged {SERVER_USER!r} user to run PostgreSQL as: "
            "install Debian's postgresql package (it creates the user) or run the tests as a normal user"
        ) from None


class PostgresServer:
    """One throwaway PostgreSQL cluster; see the module docstring."""

    def __init__(self, *, tls: bool = False, tls_only: bool = False) -> None:
        self.tls = tls or tls_only
        self.tls_only = tls_only
        self.host = LOOPBACK
        self.port = 0
        self.admin_user = "rotation_test_admin"
        self.admin_password = secrets.token_urlsafe(24)
        self.dbname = "postgres"
        self.ca_path: Path | None = None
        self._dir = Path(tempfile.mkdtemp(prefix="pg-rotation-"))
        self.log_path = self._dir / "server.log"
        self._process: subprocess.Popen[bytes] | None = None

    # --- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _popen_user(self) -> dict[str, Any]:
        account = _run_as()
        return {} if account is None else {"user": account.pw_uid, "group": account.pw_gid}

    def start(self) -> PostgresServer:
        binaries = find_binaries()
        account = _run_as()
        if account is not None:
            os.chown(self._dir, account.pw_uid, account.pw_gid)
        data = self._dir / "data"
        password_file = self._dir / "admin.pw"
        password_file.write_text(self.admin_password)
        if account is not None:
            os.chown(password_file, account.pw_uid, account.pw_gid)
        subprocess.run(
            [str(binaries / "initdb"), "-D", str(data), "-U", self.admin_user, "--auth=scram-sha-256",
             f"--pwfile={password_file}", "--no-sync", "-E", "UTF8", "--locale=C"],
            check=True, capture_output=True, timeout=120, **self._popen_user(),
        )  # fmt: skip
        password_file.unlink()
        self._write_hba(data)
        options = self._server_options(account)
        self.port = free_loopback_port()
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child process
        if account is not None:
            os.chown(self.log_path, account.pw_uid, account.pw_gid)
        self._process = subprocess.Popen(
            [str(binaries / "postgres"), "-D", str(data), "-p", str(self.port), *options],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True, **self._popen_user(),
        )  # fmt: skip
        log.close()
        self._wait_ready()
        return self

    def _server_options(self, account: pwd.struct_passwd | None) -> list[str]:
        settings = {
            "listen_addresses": LOOPBACK,
            "unix_socket_directories": str(self._dir),
            "log_statement": "all",
            "log_connections": "on",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "password_encryption": "scram-sha-256",
        }
        if self.tls:
            tls = write_loopback_tls(self._dir)
            if account is not None:
                for path in (tls.cert_path, tls.key_path, tls.ca_path):
                    os.chown(path, account.pw_uid, account.pw_gid)
            self.ca_path = tls.ca_path
            settings.update(ssl="on", ssl_cert_file=str(tls.cert_path), ssl_key_file=str(tls.key_path))
        return [arg for name, value in settings.items() for arg in ("-c", f"{name}={value}")]

    def _write_hba(self, data: Path) -> None:
        lines = ["local all all scram-sha-256"]
        if self.tls_only:
            lines += [f"hostssl all all {LOOPBACK}/32 scram-sha-256", f"hostnossl all all {LOOPBACK}/32 reject"]
        else:
            lines += [f"host all all {LOOPBACK}/32 scram-sha-256"]
        (data / "pg_hba.conf").write_text("\n".join(lines) + "\n")

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"PostgreSQL exited with {self._process.returncode}; see {self.log_path}")
            try:
                self.connect(self.admin_user, self.admin_password).close()
                return
            except psycopg2.OperationalError as exc:
                last_error = exc
                time.sleep(0.05)  # polling interval while waiting for the ready condition
        raise RuntimeError(f"PostgreSQL did not accept connections within {START_TIMEOUT_S} s: {last_error}")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
        self._process = None
        shutil.rmtree(self._dir, ignore_errors=True)

    # --- helpers ---------------------------------------------------------------------------
    def connect(self, user: str, password: str, **options: Any) -> Any:
        """A psycopg2 connection (autocommit) as ``user``; TLS verified when the server has TLS."""
        tls = {"sslmode": "verify-full", "sslrootcert": str(self.ca_path)} if self.tls else {"sslmode": "disable"}
        connection = psycopg2.connect(
            host=self.host, port=self.port, dbname=self.dbname, user=user, password=password,
            connect_timeout=5, **{**tls, **options},
        )  # fmt: skip
        connection.autocommit = True
        return connection

    def execute_as_admin(self, statement: str | sql.Composable, params: Any = None) -> list[tuple[Any, ...]]:
        """Run one statement as the setup superuser; returns the rows (empty when none)."""
        connection = self.connect(self.admin_user, self.admin_password)
        try:
            with connection.cursor() as cursor:
                cursor.execute(statement, params)
                return list(cursor.fetchall()) if cursor.description else []
        finally:
            connection.close()

    def create_role(self, name: str, password: str, *, createrole: bool = False, login: bool = True) -> None:
        """CREATE ROLE with a password, sent as a SCRAM verifier so the server log never shows it."""
        attributes = sql.SQL(" ").join(
            [sql.SQL("LOGIN" if login else "NOLOGIN"), sql.SQL("CREATEROLE" if createrole else "NOCREATEROLE")]
        )
        self.execute_as_admin(
            sql.SQL("CREATE ROLE {} {} PASSWORD {}").format(
                sql.Identifier(name), attributes, sql.Literal(scram_sha256_verifier(password))
            )
        )
