"""HMAC signing key: three rotations, and proof of the dual-secret window after each."""

from __future__ import annotations

import json

import boto3

from demo.console import heading, step_durations, verdict
from lambdas.hmac_key.handler import lambda_handler
from local_rotation import RotationDriver, format_version_table, version_rows
from secret_rotation_kit import HmacKeyring, InvalidSignatureError

SECRET_NAME = "demo/local/hmac/webhook"  # noqa: S105 - a name, not a value
ROTATIONS = 3
BODY = b'{"event":"invoice.paid","id":"in_42"}'


def _accepts(keyring: HmacKeyring, signature: str) -> bool:
    try:
        keyring.verify(BODY, signature)
    except InvalidSignatureError:
        return False
    return True


def run() -> bool:
    """Rotate an HMAC secret three times; True when every expectation held."""
    heading("HMAC signing key (lambdas.hmac_key)")
    client = boto3.client("secretsmanager")
    arn = client.create_secret(
        Name=SECRET_NAME, SecretString=json.dumps({"key": "00" * 32, "issuer": "billing-webhooks"})
    )["ARN"]
    driver = RotationDriver(lambda_handler)
    signatures = [HmacKeyring.from_secrets_manager(client, arn).sign(BODY)]  # index i: signed with version i
    ok = True
    for rotation in range(1, ROTATIONS + 1):
        report = driver.rotate(arn)
        print(f"\nrotation {rotation}: {report.secretsmanager_calls} Secrets Manager calls | {step_durations(report)}")
        print(format_version_table(version_rows(client, arn)))
        keyring = HmacKeyring.from_secrets_manager(client, arn)
        signatures.append(keyring.sign(BODY))
        current_ok = _accepts(keyring, signatures[-1])
        previous_ok = _accepts(keyring, signatures[-2])
        print(f"  signed with AWSCURRENT:  {verdict(current_ok)}")
        print(f"  signed with AWSPREVIOUS: {verdict(previous_ok)}")
        ok &= current_ok and previous_ok
        if len(signatures) >= 3:
            older_ok = _accepts(keyring, signatures[-3])
            print(f"  signed two rotations back: {verdict(older_ok)} (expected: rejected)")
            ok &= not older_ok
    return ok
