"""PostgreSQL: alternating users and single user against a real PostgreSQL (TLS) on loopback."""

from __future__ import annotations

import json
import secrets
from typing import Any

import boto3

from demo.console import heading, step_durations, table, verdict
from lambdas.postgres_alternating.handler import lambda_handler as alternating_handler
from lambdas.postgres_single.handler import lambda_handler as single_handler
from local_rotation import RotationDriver
from local_rotation.driver import Handler
from local_servers.postgres import PostgresServer


def _logs_in(server: PostgresServer, value: dict[str, Any]) -> bool:
    try:
        server.connect(value["username"], value["password"]).close()
    except Exception:
        return False
    return True


def _stage(client: Any, arn: str, stage: str) -> dict[str, Any]:
    return dict(json.loads(client.get_secret_value(SecretId=arn, VersionStage=stage)["SecretString"]))


def _rotate_and_show(
    client: Any, server: PostgresServer, arn: str, handler: Handler, rotations: int, previous_must_work: bool
) -> bool:
    driver = RotationDriver(handler)
    ok = True
    for rotation in range(1, rotations + 1):
        report = driver.rotate(arn)
        rows = []
        for stage in ("AWSCURRENT", "AWSPREVIOUS"):
            value = _stage(client, arn, stage)
            works = _logs_in(server, value)
            rows.append((stage, value["username"], verdict(works)))
            expected = stage == "AWSCURRENT" or previous_must_work
            ok &= works == expected
        print(f"\nrotation {rotation}: {report.secretsmanager_calls} Secrets Manager calls | {step_durations(report)}")
        print(table(("stage", "role", "login"), rows))
    return ok


def run() -> bool:
    heading("PostgreSQL (lambdas.postgres_alternating, lambdas.postgres_single) — real server, TLS verify-full")
    client = boto3.client("secretsmanager")
    with PostgresServer(tls_only=True) as server:
        admin_password, app_password, single_password = (secrets.token_urlsafe(24) for _ in range(3))
        server.create_role("demo_admin", admin_password, createrole=True)
        server.create_role("demo_app", app_password)
        server.create_role("demo_single", single_password)
        server.grant_rotation_rights("demo_admin", "demo_app")  # PostgreSQL 16+: ADMIN OPTION (docs/postgres.md)
        endpoint = {"engine": "postgres", "host": server.host, "port": server.port, "dbname": server.dbname,
                    "ssl_ca": str(server.ca_path)}  # fmt: skip
        admin_arn = client.create_secret(
            Name="demo/local/postgres/admin",
            SecretString=json.dumps({"username": "demo_admin", "password": admin_password}),
        )["ARN"]
        alternating = client.create_secret(
            Name="demo/local/postgres/app",
            SecretString=json.dumps(
                {**endpoint, "username": "demo_app", "password": app_password, "masterarn": admin_arn}
            ),
        )["ARN"]
        single = client.create_secret(
            Name="demo/local/postgres/single",
            SecretString=json.dumps({**endpoint, "username": "demo_single", "password": single_password}),
        )["ARN"]
        print(
            f"PostgreSQL {server.version} at {server.host}:{server.port}, TLS only; admin role demo_admin has "
            f"CREATEROLE{' and ADMIN OPTION on demo_app' if server.major >= 16 else ''}, not superuser"
        )
        print("\nalternating users: each rotation changes the twin that is not current; AWSPREVIOUS keeps working")
        ok = _rotate_and_show(client, server, alternating, alternating_handler, 3, previous_must_work=True)
        print("\nsingle user: the role changes its own password; AWSPREVIOUS stops working (documented)")
        ok &= _rotate_and_show(client, server, single, single_handler, 2, previous_must_work=False)
        log = server.log_path.read_text()
        leaked = any(
            _stage(client, arn, stage)["password"] in log
            for arn in (alternating, single)
            for stage in ("AWSCURRENT", "AWSPREVIOUS")
        )
        print(f"\nserver log (log_statement = 'all') contains a password: {'YES' if leaked else 'no'} "
              f"(it shows only SCRAM verifiers)")  # fmt: skip
        return ok and not leaked
