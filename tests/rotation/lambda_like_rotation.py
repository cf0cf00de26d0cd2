"""Rotations in a fresh process set up as Lambda runs the function, for test_tls_ca_resolution.py.

Run as ``python -m tests.rotation.lambda_like_rotation`` with a JSON request on stdin:
``{"output": path, "scenarios": [{"name", "kind", "secret", "admin", "env", "runtime_bundles", "check_ca"}]}``.
The parent starts it without SSL_CERT_FILE / SSL_CERT_DIR / PG* variables and with an empty
HOME (no ``~/.postgresql/root.crt``), so psycopg2-binary's own OpenSSL sees only what the
function passes it. Per scenario: the environment gets ``env``, the runtime bundle seam
(``lambdas.targets.tls.RUNTIME_CA_BUNDLES``) gets ``runtime_bundles``, the secret is created in
moto and rotated once. Writes one JSON object to ``output``: per scenario whether the rotation succeeded,
the error (messages carry no secret values), whether the secret's versions stayed as they
were, and whether AWSCURRENT logs in afterwards; plus whether libssl was the wheel's own.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

CONFIG_ENV = ("CA_BUNDLE_PATH", "SSL_MODE")


def _logs_in(secret: dict[str, Any], ca_path: str) -> bool:
    import psycopg2

    try:
        psycopg2.connect(
            host=secret["host"], port=secret["port"], dbname=secret.get("dbname", "postgres"),
            user=secret["username"], password=secret["password"], sslmode="verify-ca", sslrootcert=ca_path,
            connect_timeout=5,
        ).close()  # fmt: skip
    except psycopg2.Error:
        return False
    return True


def _openssl_is_the_wheels() -> bool:
    """Whether psycopg2-binary's bundled libssl is mapped into this process: its libpq links that
    copy by a hashed name (``libssl-<hash>.so.3``), whatever other libssl Python's ``ssl`` loads."""
    with open("/proc/self/maps") as maps:
        return any("psycopg2_binary.libs/libssl-" in line for line in maps)


def run(request: dict[str, Any]) -> dict[str, Any]:
    import boto3
    from moto import mock_aws

    from lambdas.postgres_alternating.handler import lambda_handler as alternating
    from lambdas.postgres_single.handler import lambda_handler as single
    from lambdas.targets import tls
    from local_rotation import RotationDriver

    handlers = {"postgres_alternating": alternating, "postgres_single": single}
    results: dict[str, Any] = {}
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        for scenario in request["scenarios"]:
            for name in CONFIG_ENV:
                os.environ.pop(name, None)
            os.environ.update(scenario.get("env", {}))
            tls.RUNTIME_CA_BUNDLES = tuple(scenario["runtime_bundles"])
            admin_arn = client.create_secret(
                Name=f"{scenario['name']}/admin", SecretString=json.dumps(scenario["admin"])
            )["ARN"]
            secret = {**scenario["secret"], "masterarn": admin_arn}
            arn = client.create_secret(Name=scenario["name"], SecretString=json.dumps(secret))["ARN"]
            report = RotationDriver(handlers[scenario["kind"]], attempts_per_step=1).rotate(arn, raise_on_failure=False)
            current = json.loads(client.get_secret_value(SecretId=arn)["SecretString"])
            results[scenario["name"]] = {
                "succeeded": report.succeeded,
                "error": report.error,
                "failed_step": None if report.succeeded else report.steps[-1].step,
                "current_unchanged": current == secret,
                "pending_value_written": _has_value(client, arn, report.token),
                "current_logs_in": _logs_in(current, scenario["check_ca"]),
            }
    results["openssl_is_the_wheels"] = _openssl_is_the_wheels()
    results["ssl_cert_environment"] = sorted(name for name in ("SSL_CERT_FILE", "SSL_CERT_DIR") if name in os.environ)
    return results


def _has_value(client: Any, arn: str, version: str) -> bool:
    try:
        client.get_secret_value(SecretId=arn, VersionId=version)
    except client.exceptions.ResourceNotFoundException:
        return False
    return True


if __name__ == "__main__":
    request = json.load(sys.stdin)
    with open(request["output"], "w") as output:  # stdout carries the function's own JSON logs
        json.dump(run(request), output)
