"""The consumer library reads a secret's connection fields as the rotation functions do: a
value the function accepts (and so rotates) is one every consumer can use, the same way, and a
value the function refuses is refused here too, or falls back to the same default."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lambdas.rotation import InvalidSecretError
from lambdas.rotation import SecretFields as FunctionFields
from lambdas.targets.postgres import DEFAULT_PORT
from lambdas.targets.tls import VERIFY_FULL
from lambdas.targets.tls import _ssl_mode as function_ssl_mode  # the function's own reading of the field
from secret_rotation_kit import SecretFormatError
from secret_rotation_kit.fields import port, ssl_mode, tls
from secret_rotation_kit.snapshot import AWSCURRENT, SecretSnapshot

REFUSED = "refused"
PORTS: list[Any] = [
    5433,
    "5433",
    " 5433 ",
    None,
    "absent",
    "",
    "5433x",
    True,
    0,
    65536,
    5433.0,
    "\uff15\uff14\uff13\uff13",
]
TLS_FLAGS: list[Any] = [True, False, None, "absent", "false", 0, 1]
MODES: list[Any] = ["verify-full", "verify-ca", None, "absent", "require", 5]


def _value(field: str, value: Any) -> dict[str, Any]:
    return {} if value == "absent" else {field: value}


def _snapshot(values: dict[str, Any]) -> SecretSnapshot:
    return SecretSnapshot("app/db", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:app/db-AbCdEf",
                          {AWSCURRENT: "v1"}, {AWSCURRENT: json.dumps(values)}, 0.0)  # fmt: skip


def _function(read: Any, values: dict[str, Any]) -> Any:
    try:
        return read(FunctionFields(values, "app/db", AWSCURRENT))
    except InvalidSecretError:
        return REFUSED


def _library(read: Any, values: dict[str, Any]) -> Any:
    try:
        return read(_snapshot(values))
    except SecretFormatError:
        return REFUSED


@pytest.mark.parametrize("value", PORTS, ids=repr)
def test_port_reads_as_the_postgres_function_reads_it(value: Any) -> None:
    values = _value("port", value)

    by_function = _function(lambda fields: fields.optional_port("port") or DEFAULT_PORT, values)
    by_library = _library(lambda snapshot: port(snapshot, AWSCURRENT, default=DEFAULT_PORT), values)

    assert by_library == by_function


@pytest.mark.parametrize("value", TLS_FLAGS, ids=repr)
def test_ssl_reads_as_the_functions_read_it(value: Any) -> None:
    values = _value("ssl", value)

    assert _library(lambda snapshot: tls(snapshot, AWSCURRENT), values) == _function(
        lambda fields: fields.require_tls("ssl"), values
    )


@pytest.mark.parametrize("value", MODES, ids=repr)
def test_ssl_mode_reads_as_the_functions_read_it(value: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_MODE", raising=False)
    values = _value("ssl_mode", value)

    assert _library(lambda snapshot: ssl_mode(snapshot, AWSCURRENT), values) == _function(
        lambda fields: function_ssl_mode(fields, VERIFY_FULL), values
    )
