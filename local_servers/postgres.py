"""A real PostgreSQL server on 127.0.0.1, in a temporary directory, for tests, demo and bench.

``PostgresServer(tls=False, tls_only=False, major=None, cert_names=None)`` is a context manager.
It runs the server of ``major`` (15 to 18, as RDS does; None: Debian's, see
``local_servers/postgres_installs.py``), creates a cluster with scram-sha-256 authentication and
``log_statement = 'all'`` logging to ``log_path``, listens on a free loopback port, and removes
everything on exit. ``initdb`` and ``postgres`` refuse to run as root: as root the server runs
as the unprivileged ``postgres`` user (created by Debian's package;
``scripts/ensure-system-deps.sh`` installs it on a fresh machine). ``cert_names`` replaces the
names in the TLS certificate (default ``localhost`` and ``127.0.0.1``), to test host name checks.

Attributes: ``host``, ``port``, ``major``, ``version``, ``admin_user``/``admin_password`` (a
superuser for setup), ``dbname``, ``log_path``, ``ca_path`` (with ``tls=True``). Helpers:
``connect(user, password)``, ``execute_as_admin(sql, params)``, ``create_role(name, password, ...)``,
``grant_rotation_rights(admin, role)`` (what docs/postgres.md tells users to grant, per major).
"""

from __future__ import annotations

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
from local_servers.certs import LOOPBACK_NAMES, write_loopback_tls
from local_servers.postgres_installs import (
    PostgresInstall,
    PostgresUnavailableError,
    find_install,
    run_as,
    runnable_by,
    temp_root,
)

START_TIMEOUT_S = 30.0
ADMIN_OPTION_SINCE = 16  # PostgreSQL 16: CREATEROLE alone no longer alters or grants others' roles

__all__ = ["ADMIN_OPTION_SINCE", "PostgresServer", "PostgresUnavailableError"]


class PostgresServer:
    """One throwaway PostgreSQL cluster; see the module docstring."""

    def __init__(
        self,
        *,
        tls: bool = False,
        tls_only: bool = False,
        major: int | None = None,
        cert_names: tuple[str, ...] | None = None,
    ) -> None:
        self.tls = tls or tls_only or cert_names is not None
        self.tls_only = tls_only
        self.cert_names = cert_names or LOOPBACK_NAMES
        self.host = LOOPBACK
        self.port = 0
        self.admin_user = "rotation_test_admin"
        self.admin_password = secrets.token_urlsafe(24)
        self.dbname = "postgres"
        self.ca_path: Path | None = None
        self._account = run_as()
        self._install: PostgresInstall = runnable_by(find_install(major), self._account)
        self.major = self._install.major
        self.version = self._install.version
        if self.tls and not self._install.supports_tls:
            raise PostgresUnavailableError(
                f"PostgreSQL {self.version} ({self._install.origin}) was built without SSL: use another major for TLS"
            )
        self._dir = Path(tempfile.mkdtemp(prefix="pg-rotation-", dir=temp_root(self._account)))
        self.log_path = self._dir / "server.log"
        self._process: subprocess.Popen[bytes] | None = None

    # --- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _popen_user(self) -> dict[str, Any]:
        account = self._account
        return {} if account is None else {"user": account.pw_uid, "group": account.pw_gid}

    def start(self) -> PostgresServer:
        binaries = self._install.bin_dir
        account = self._account
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
            tls = write_loopback_tls(self._dir, names=self.cert_names)
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
        """A psycopg2 connection (autocommit) as ``user``; TLS verified when the server has TLS (the
        chain only, when ``cert_names`` leave out the loopback address)."""
        mode = "verify-full" if LOOPBACK in self.cert_names else "verify-ca"
        tls = {"sslmode": mode, "sslrootcert": str(self.ca_path)} if self.tls else {"sslmode": "disable"}
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

    def grant_rotation_rights(self, admin: str, role: str) -> None:
        """What docs/postgres.md tells users to grant the rotation admin over ``role``, on this major:
        nothing beyond CREATEROLE up to 15; from 16, ADMIN OPTION on the role (without inheriting
        its privileges or being able to SET ROLE to it)."""
        if self.major >= ADMIN_OPTION_SINCE:
            self.execute_as_admin(
                sql.SQL("GRANT {} TO {} WITH ADMIN OPTION, INHERIT FALSE, SET FALSE").format(
                    sql.Identifier(role), sql.Identifier(admin)
                )
            )

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
