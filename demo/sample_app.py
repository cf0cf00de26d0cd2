"""A sample application that keeps working while an operator rotates its secrets.

The app reads three secrets only through ``secret_rotation_kit``: a PostgreSQL password
(``PostgresConnectionFactory``, alternating users), a Valkey AUTH token (``RotatingCredentialProvider``,
ElastiCache AUTH token with its control plane emulated and a real node), and an HMAC webhook
key (``RotatingHmacKeyring`` + ``verify_webhook``). Three worker threads serve requests while the
operator CLI, run as a separate process (``python -m secret_rotation_kit.cli ... rotate --all --wait``), starts
rotations through the emulated RotateSecret API, which runs the real rotation functions in
the background as Secrets Manager would. Every request's outcome is counted: the section
passes when none failed.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
from moto.elasticache.models import elasticache_backends

from demo.console import heading
from lambdas.elasticache_auth_token.handler import lambda_handler as token_handler
from lambdas.hmac_key.handler import lambda_handler as hmac_handler
from lambdas.postgres_alternating.handler import lambda_handler as postgres_handler
from local_rotation.service_hook import register_rotation_function, unregister_rotation_function, wait_for_rotations
from local_servers.elasticache import elasticache_emulation, fast_polling
from local_servers.postgres import PostgresServer
from local_servers.valkey import ValkeyServer
from secret_rotation_kit import HmacKeyring, RotatingHmacKeyring, SecretCache, signature_headers, verify_webhook
from secret_rotation_kit.postgres import PostgresConnectionFactory
from secret_rotation_kit.redis import RotatingCredentialProvider

REPO = Path(__file__).resolve().parents[1]
ROUNDS = 3
ENV = "sample"
FUNCTIONS = {
    "sample-postgres": postgres_handler,
    "sample-valkey-token": token_handler,
    "sample-hmac": hmac_handler,
}
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:{}"
BODY = b'{"event":"order.shipped","id":"o_1"}'


class SampleApp:
    """Three kinds of request, each through the library, run in a loop by worker threads."""

    def __init__(self, client: Any, pg_arn: str, token_arn: str, hmac_arn: str) -> None:
        # Version checks every second: the app notices rotations on its own, and the
        # refresh-on-rejection path covers the moment in between.
        self.cache = SecretCache(client, ttl=300, version_check_interval=1.0)
        self.client = client
        self.hmac_arn = hmac_arn
        self.orders = PostgresConnectionFactory(self.cache, pg_arn)
        self.sessions = RotatingCredentialProvider(
            self.cache,
            token_arn,
            username_field=None,
            password_field="auth_token",  # noqa: S106 - a field name
        )
        self.webhooks = RotatingHmacKeyring(self.cache, hmac_arn, refresh_interval=0.5)
        self.served: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._loop, args=(name,), daemon=True) for name in self.requests]

    @property
    def requests(self) -> dict[str, Any]:
        return {"orders (PostgreSQL)": self.order, "sessions (Valkey)": self.session, "webhooks (HMAC)": self.webhook}

    def order(self) -> None:
        connection = self.orders.connect()
        try:
            with connection.cursor() as cursor:
                cursor.execute("INSERT INTO orders (note) VALUES ('demo') RETURNING id")
        finally:
            connection.close()

    def session(self) -> None:
        client = self.sessions.client()
        try:
            client.incr("sessions:served")
        finally:
            client.close()

    def webhook(self) -> None:
        # The sender is another service: it reads AWSCURRENT itself at the moment it signs.
        sender = HmacKeyring.from_secrets_manager(self.client, self.hmac_arn)
        verify_webhook(self.webhooks, BODY, signature_headers(sender, BODY, with_key_id=True))

    def _loop(self, name: str) -> None:
        request = self.requests[name]
        while not self._stop.is_set():
            try:
                request()
            except Exception as exc:  # a failed request is what this demo counts
                with self._lock:
                    self.failed[name] += 1
                    self.errors.append(f"{name}: {type(exc).__name__}: {exc}")
            else:
                with self._lock:
                    self.served[name] += 1

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)


def _secretsmanager_setup(
    client: Any, pg: PostgresServer, node: ValkeyServer, first_token: str
) -> tuple[str, str, str]:
    admin_password, password = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    pg.create_role("sample_admin", admin_password, createrole=True)
    pg.create_role("sample_app", password)
    pg.grant_rotation_rights("sample_admin", "sample_app")  # PostgreSQL 16+: ADMIN OPTION (docs/postgres.md)
    pg.execute_as_admin('GRANT CREATE ON SCHEMA public TO "sample_app"')
    admin = client.create_secret(
        Name=f"app/{ENV}/admin/orders-db",
        SecretString=json.dumps({"username": "sample_admin", "password": admin_password}),
    )
    pg_arn = client.create_secret(Name=f"app/{ENV}/postgres_alternating/orders", SecretString=json.dumps(
        {"engine": "postgres", "host": pg.host, "port": pg.port, "dbname": pg.dbname, "username": "sample_app",
         "password": password, "masterarn": admin["ARN"], "ssl": False}))["ARN"]  # fmt: skip
    token_arn = client.create_secret(Name=f"app/{ENV}/elasticache_auth_token/sessions", SecretString=json.dumps(
        {"auth_token": first_token, "replication_group_id": "sample-cache", "host": node.host, "port": node.port,
         "ssl": False}))["ARN"]  # fmt: skip
    hmac_arn = client.create_secret(Name=f"app/{ENV}/hmac_key/webhooks",
                                    SecretString=json.dumps({"key": secrets.token_hex(32)}))["ARN"]  # fmt: skip
    connection = pg.connect("sample_app", password)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE orders (id serial PRIMARY KEY, note text)")
    connection.close()
    for arn, function in ((pg_arn, "sample-postgres"), (token_arn, "sample-valkey-token"), (hmac_arn, "sample-hmac")):
        client.rotate_secret(
            SecretId=arn,
            RotationLambdaARN=FUNCTION_ARN.format(function),
            RotationRules={"ScheduleExpression": "rate(4 hours)"},
            RotateImmediately=False,
        )
    wait_for_rotations(60)  # the service's configuration tests run in the background
    return pg_arn, token_arn, hmac_arn


def _cli(*args: str) -> tuple[int, str]:
    """The operator CLI as operators run it: another process, talking HTTP to the endpoint."""
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    completed = subprocess.run(
        [sys.executable, "-m", "secret_rotation_kit.cli", "--endpoint-url", endpoint, *args],
        capture_output=True, text=True, timeout=300, env=env, cwd=REPO, check=False,
    )  # fmt: skip
    return completed.returncode, completed.stdout + completed.stderr


def run() -> bool:
    heading("Sample app: PostgreSQL, a Valkey AUTH token and an HMAC key through secret_rotation_kit, during rotations")
    client = boto3.client("secretsmanager")
    first_token = secrets.token_hex(16)
    elasticache = boto3.client("elasticache")
    for function, handler in FUNCTIONS.items():
        register_rotation_function(function, handler)
    try:
        with (
            fast_polling(),  # ElastiCache's minutes per change are a few describes here
            elasticache_emulation() as emulation,
            PostgresServer() as pg,
            ValkeyServer(default_password=first_token) as node,
        ):
            elasticache.create_replication_group(
                ReplicationGroupId="sample-cache", ReplicationGroupDescription="sample app", Engine="redis",
                TransitEncryptionEnabled=True, AuthToken=first_token,
            )  # fmt: skip
            backend = elasticache_backends["123456789012"][elasticache.meta.region_name]
            emulation.bind_group("sample-cache", [node], first_token, backend=backend)
            app = SampleApp(client, *_secretsmanager_setup(client, pg, node, first_token))
            return _serve_through_rounds(app)
    finally:
        wait_for_rotations()
        for function in FUNCTIONS:
            unregister_rotation_function(function)


def _serve_through_rounds(app: SampleApp) -> bool:
    app.start()
    ok = True
    try:
        for round_number in range(1, ROUNDS + 1):
            before = Counter(app.served)
            code, output = _cli("rotate", "--all", "--env", ENV, "--wait")
            print(f"\nround {round_number}: $ secret-rotation rotate --all --env {ENV} --wait  (exit {code})")
            print("\n".join(f"  {line}" for line in output.splitlines() if "rotation of" in line))
            during = {name: app.served[name] - before[name] for name in app.requests}
            print("  requests served while it ran: " + ", ".join(f"{name} {count}" for name, count in during.items()))
            ok &= code == 0 and all(count > 0 for count in during.values())
    finally:
        app.stop()
    print(f"\n$ secret-rotation status --env {ENV}")
    print(_cli("status", "--env", ENV)[1].rstrip())
    print(
        "\nrequests: " + ", ".join(f"{name} {app.served[name]} ok / {app.failed[name]} failed" for name in app.requests)
    )
    print(
        f"library: {app.cache.stats.version_checks} version checks, {app.cache.stats.forced_refreshes} refreshes "
        f"after a rejection, {app.orders.stats.rejected_logins + app.sessions.rejected_logins} rejected logins "
        "recovered from"
    )
    for error in app.errors[:5]:
        print(f"  FAILED {error}")
    return ok and not app.errors
