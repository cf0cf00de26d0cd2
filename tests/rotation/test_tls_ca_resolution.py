"""CA resolution as it happens on Lambda, against real TLS PostgreSQL.

The rotations run in a fresh process (tests/rotation/lambda_like_rotation.py) without
SSL_CERT_FILE, SSL_CERT_DIR or any PG* variable, with an empty HOME, so psycopg2-binary's own
OpenSSL (whose default store is its build directory, as on Lambda) trusts only the file the
function hands it. The Lambda runtime's bundle is stood in for by a temporary file through the
documented seam ``lambdas.targets.tls.RUNTIME_CA_BUNDLES``. The servers are Debian's
PostgreSQL 15 (the 16 and 18 wheels are built without SSL); certificates from
local_servers/certs.py.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from local_servers.postgres import PostgresServer
from tests.plugins.postgres_fixtures import PostgresTarget

REPO = Path(__file__).resolve().parents[2]
MISMATCHED_NAME = "db.example.invalid"  # the certificate's only name: not the 127.0.0.1 we connect to
LAMBDA_HOSTILE_ENV = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CA_BUNDLE_PATH", "SSL_MODE")


@pytest.fixture(scope="module")
def mismatched_tls_server() -> Iterator[PostgresServer]:
    """TLS-only PostgreSQL whose certificate names only db.example.invalid."""
    with PostgresServer(tls_only=True, cert_names=(MISMATCHED_NAME,)) as server:
        yield server


@dataclass
class TlsTarget:
    """A role and its rotation admin on a server; the secrets live in the subprocess's moto."""

    target: PostgresTarget
    admin_password: str


def _target(server: PostgresServer, label: str) -> TlsTarget:
    role, admin = f"tls_{label}", f"tls_{label}_admin"
    password, admin_password = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    server.create_role(role, password)
    server.create_role(admin, admin_password, createrole=True)
    server.grant_rotation_rights(admin, role)
    return TlsTarget(PostgresTarget(server, None, role, password, "", admin), admin_password)


def _scenario(
    tls_target: TlsTarget, name: str, runtime_bundles: list[str], env: dict[str, str] | None = None, **fields: Any
) -> dict[str, Any]:
    target = tls_target.target
    server = target.server
    secret = {"engine": "postgres", "host": server.host, "port": server.port, "dbname": server.dbname,
              "username": target.role, "password": target.password, **fields}  # fmt: skip
    return {
        "name": name,
        "kind": "postgres_alternating",
        "secret": secret,
        "admin": {"username": target.admin_user, "password": tls_target.admin_password},
        "env": env or {},
        "runtime_bundles": runtime_bundles,
        "check_ca": str(target.server.ca_path),
    }


@pytest.fixture(scope="module")
def lambda_like_runs(
    postgres_tls_server: PostgresServer, mismatched_tls_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """Every scenario, rotated once in one Lambda-like process; the results and the targets."""
    work = tmp_path_factory.mktemp("lambda-like")
    runtime_bundle = work / "runtime-ca-bundle.pem"  # stands in for /etc/pki/tls/cert.pem
    shutil.copy(postgres_tls_server.ca_path or "", runtime_bundle)
    mismatched_ca = str(mismatched_tls_server.ca_path)
    nowhere = [str(work / "no-such-bundle.pem")]
    targets = {
        name: _target(server, name.replace("-", "_"))
        for name, server in {
            "runtime-bundle": postgres_tls_server,
            "ca-bundle-path": postgres_tls_server,
            "no-ca": postgres_tls_server,
            "verify-full-mismatch": mismatched_tls_server,
            "verify-ca-mismatch": mismatched_tls_server,
            "ssl-mode-env-mismatch": mismatched_tls_server,
        }.items()
    }
    scenarios = [
        _scenario(targets["runtime-bundle"], "runtime-bundle", [str(runtime_bundle)]),
        _scenario(targets["ca-bundle-path"], "ca-bundle-path", nowhere,
                  env={"CA_BUNDLE_PATH": str(postgres_tls_server.ca_path)}),
        _scenario(targets["no-ca"], "no-ca", nowhere),
        _scenario(targets["verify-full-mismatch"], "verify-full-mismatch", nowhere, ssl_ca=mismatched_ca),
        _scenario(targets["verify-ca-mismatch"], "verify-ca-mismatch", nowhere, ssl_ca=mismatched_ca,
                  ssl_mode="verify-ca"),
        _scenario(targets["ssl-mode-env-mismatch"], "ssl-mode-env-mismatch", nowhere, ssl_ca=mismatched_ca,
                  env={"SSL_MODE": "verify-ca"}),
    ]  # fmt: skip
    states = {name: tls_target.target.role_state() for name, tls_target in targets.items()}
    home = work / "home"
    home.mkdir()
    env = {name: value for name, value in os.environ.items() if name not in LAMBDA_HOSTILE_ENV}
    env = {name: value for name, value in env.items() if not name.startswith(("PG", "AWS_ENDPOINT_URL"))}
    env.update(HOME=str(home), PYTHONPATH=str(REPO), AWS_DEFAULT_REGION="us-east-1",
               AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", POWERTOOLS_DEV="false")  # fmt: skip
    output = work / "results.json"
    completed = subprocess.run(
        [sys.executable, "-m", "tests.rotation.lambda_like_rotation"],
        input=json.dumps({"output": str(output), "scenarios": scenarios}),
        capture_output=True, text=True, cwd=REPO, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    roles = {name: tls_target.target for name, tls_target in targets.items()}
    return {"results": json.loads(output.read_text()), "targets": roles, "states": states}


def test_the_rotations_ran_with_the_wheels_openssl_and_no_certificate_environment(
    lambda_like_runs: dict[str, Any],
) -> None:
    results = lambda_like_runs["results"]

    assert results["openssl_is_the_wheels"]
    assert results["ssl_cert_environment"] == []


def test_without_ssl_ca_or_ca_bundle_path_the_runtime_bundle_verifies_the_server(
    lambda_like_runs: dict[str, Any],
) -> None:
    result = lambda_like_runs["results"]["runtime-bundle"]

    assert result["succeeded"], result["error"]
    assert result["current_logs_in"]


def test_ca_bundle_path_verifies_the_server_when_the_secret_names_no_ca(lambda_like_runs: dict[str, Any]) -> None:
    result = lambda_like_runs["results"]["ca-bundle-path"]

    assert result["succeeded"], result["error"]
    assert result["current_logs_in"]


def test_no_ca_found_fails_create_secret_naming_what_to_set_and_nothing_changes(
    lambda_like_runs: dict[str, Any],
) -> None:
    result = lambda_like_runs["results"]["no-ca"]
    target = lambda_like_runs["targets"]["no-ca"]

    assert not result["succeeded"]
    assert result["failed_step"] == "createSecret"
    assert "CaBundleNotFoundError" in result["error"]
    assert "'ssl_ca'" in result["error"]
    assert "CA_BUNDLE_PATH" in result["error"]
    assert not result["pending_value_written"]
    assert result["current_unchanged"]
    assert result["current_logs_in"]
    assert target.role_state() == lambda_like_runs["states"]["no-ca"]


def test_verify_full_refuses_a_certificate_whose_name_does_not_match_and_nothing_changes(
    lambda_like_runs: dict[str, Any],
) -> None:
    result = lambda_like_runs["results"]["verify-full-mismatch"]
    target = lambda_like_runs["targets"]["verify-full-mismatch"]

    assert not result["succeeded"]
    assert result["failed_step"] == "setSecret"
    assert "TLS connection failed" in result["error"]
    assert MISMATCHED_NAME in result["error"]
    assert "verify-full" in result["error"]
    assert result["current_unchanged"]
    assert result["current_logs_in"]
    assert target.role_state() == lambda_like_runs["states"]["verify-full-mismatch"]


def test_verify_ca_in_the_secret_accepts_a_certificate_whose_name_does_not_match(
    lambda_like_runs: dict[str, Any],
) -> None:
    result = lambda_like_runs["results"]["verify-ca-mismatch"]

    assert result["succeeded"], result["error"]
    assert result["current_logs_in"]


def test_ssl_mode_environment_is_the_default_for_secrets_without_ssl_mode(lambda_like_runs: dict[str, Any]) -> None:
    result = lambda_like_runs["results"]["ssl-mode-env-mismatch"]

    assert result["succeeded"], result["error"]
