"""boto3 clients: default construction, explicit timeouts, cached until the endpoint changes."""

from __future__ import annotations

import pytest

from lambdas.rotation import LEDGER
from lambdas.rotation.aws import aws_client


def test_client_has_explicit_timeouts_and_standard_retries(aws: None) -> None:
    config = aws_client("secretsmanager").meta.config

    assert (config.connect_timeout, config.read_timeout) == (2, 5)
    assert config.retries["mode"] == "standard"


def test_client_is_reused_while_nothing_changes(aws: None) -> None:
    assert aws_client("secretsmanager") is aws_client("secretsmanager")


def test_client_follows_aws_endpoint_url(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    first = aws_client("secretsmanager")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://127.0.0.1:4566")

    second = aws_client("secretsmanager")

    assert second is not first
    assert second.meta.endpoint_url == "http://127.0.0.1:4566"


def test_every_call_is_recorded_in_the_ledger_by_operation(aws: None) -> None:
    client = aws_client("secretsmanager")
    before = LEDGER.snapshot()

    client.list_secrets()

    assert (LEDGER.snapshot() - before) == {"secretsmanager.ListSecrets": 1}


def test_ledger_interceptor_can_fail_a_named_call_point(aws: None) -> None:
    def fail_list(point: str) -> None:
        if point == "secretsmanager.ListSecrets":
            raise ConnectionError("injected")

    with LEDGER.intercept(fail_list), pytest.raises(ConnectionError, match="injected"):
        aws_client("secretsmanager").list_secrets()
