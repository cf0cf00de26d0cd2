"""``python -m local_rotation``: the local Secrets Manager emulation, to try the operator CLI.

Starts moto's server on 127.0.0.1 with every rotation function registered, so that
``RotateSecret`` (from the CLI, boto3 or ``aws secretsmanager rotate-secret --endpoint-url``)
runs the real function in the background, as the service does. ``--seed`` creates an HMAC
secret with rotation configured; ``--with-servers`` also starts a real PostgreSQL and a real
Valkey on loopback and creates an alternating-users PostgreSQL secret and a Valkey ACL secret.
Runs until Ctrl-C; everything lives in memory and temporary directories and is gone after.
"""

from __future__ import annotations

import argparse
import json
import secrets
import signal
import sys
import threading
from contextlib import ExitStack
from typing import Any

FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:{}"


def _functions() -> dict[str, Any]:
    from lambdas.elasticache_auth_token.handler import lambda_handler as token_handler
    from lambdas.elasticache_user.handler import lambda_handler as user_handler
    from lambdas.hmac_key.handler import lambda_handler as hmac_handler
    from lambdas.postgres_alternating.handler import lambda_handler as alternating_handler
    from lambdas.postgres_single.handler import lambda_handler as single_handler
    from lambdas.valkey_acl.handler import lambda_handler as valkey_handler

    return {
        "rotate-hmac-key": hmac_handler,
        "rotate-postgres-alternating": alternating_handler,
        "rotate-postgres-single": single_handler,
        "rotate-valkey-acl": valkey_handler,
        "rotate-elasticache-user": user_handler,
        "rotate-elasticache-auth-token": token_handler,
    }


def _configure(client: Any, name: str, value: dict[str, Any], function: str) -> str:
    arn = str(client.create_secret(Name=name, SecretString=json.dumps(value))["ARN"])
    client.rotate_secret(
        SecretId=arn,
        RotationLambdaARN=FUNCTION_ARN.format(function),
        RotationRules={"ScheduleExpression": "rate(4 hours)"},
        RotateImmediately=False,
    )
    return name


def _seed_servers(client: Any, stack: ExitStack) -> list[str]:
    from local_servers.postgres import PostgresServer
    from local_servers.valkey import ValkeyServer

    pg = stack.enter_context(PostgresServer())
    admin_password, password = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    pg.create_role("demo_admin", admin_password, createrole=True)
    pg.create_role("demo_app", password)
    admin = client.create_secret(
        Name="demo/local/admin/orders-db",
        SecretString=json.dumps({"username": "demo_admin", "password": admin_password}),
    )["ARN"]
    names = [
        _configure(client, "demo/local/postgres_alternating/orders", {
            "engine": "postgres", "host": pg.host, "port": pg.port, "dbname": pg.dbname, "username": "demo_app",
            "password": password, "masterarn": admin, "ssl": False}, "rotate-postgres-alternating"),
    ]  # fmt: skip
    node = stack.enter_context(ValkeyServer(admin_password=secrets.token_urlsafe(24)))
    node.create_user("demo_app", password)
    vk_admin = client.create_secret(
        Name="demo/local/admin/sessions",
        SecretString=json.dumps({"username": node.admin_username, "password": node.admin_password}),
    )["ARN"]
    names.append(
        _configure(client, "demo/local/valkey_acl/sessions", {
            "host": node.host, "port": node.port, "username": "demo_app", "password": password,
            "masterarn": vk_admin, "ssl": False}, "rotate-valkey-acl")
    )  # fmt: skip
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_rotation", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0, help="loopback port (default: a free one)")
    parser.add_argument("--seed", action="store_true", help="create an HMAC secret with rotation configured")
    parser.add_argument("--with-servers", action="store_true", help="also start PostgreSQL and Valkey, seed secrets")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be between 0 and 65535, got {args.port}")

    import boto3

    from lambdas.rotation.telemetry import quiet_function_telemetry
    from local_rotation.server import local_aws

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with ExitStack() as stack:
        stack.enter_context(quiet_function_telemetry())
        endpoint = stack.enter_context(local_aws(args.port or None, rotation_functions=_functions()))
        client = boto3.client("secretsmanager")
        seeded: list[str] = []
        if args.seed or args.with_servers:
            seeded.append(_configure(client, "demo/local/hmac_key/webhooks", {"key": secrets.token_hex(32)},
                                     "rotate-hmac-key"))  # fmt: skip
        if args.with_servers:
            seeded += _seed_servers(client, stack)
        print("local Secrets Manager emulation (moto) with every rotation function registered:", flush=True)
        for function in _functions():
            print(f"  {FUNCTION_ARN.format(function)}")
        for name in seeded:
            print(f"  seeded secret {name}")
        print("in another shell:")
        print(f"export AWS_ENDPOINT_URL={endpoint}", flush=True)
        print("export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION=us-east-1")
        print("secret-rotation status   # or: python -m secret_rotation_kit.cli status")
        if seeded:
            print(f"secret-rotation rotate {seeded[0]} --wait")
        print("Ctrl-C stops it (everything is in memory and gone after).", flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
