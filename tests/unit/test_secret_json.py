"""Typed secret fields: errors name the field and the expectation, never the value."""

from __future__ import annotations

import pytest

from lambdas.rotation import InvalidSecretError, SecretFields


def fields(**values: object) -> SecretFields:
    return SecretFields(values, "app/dev/postgres/main", "AWSCURRENT")


@pytest.mark.parametrize("raw", [5432, "5432", " 5432 "])
def test_port_accepts_integer_and_numeric_string(raw: object) -> None:
    assert fields(port=raw).require_port() == 5432


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (0, "between 1 and 65535"),
        (65536, "between 1 and 65535"),
        ("54x2", "got str"),
        (True, "got bool"),
        (None, "is missing"),
        ("٥٤٣٢", "got str"),
    ],
)
def test_bad_port_is_named(raw: object, expected: str) -> None:
    values = {} if raw is None else {"port": raw}
    with pytest.raises(InvalidSecretError, match=rf"'app/dev/postgres/main' \(AWSCURRENT\): field 'port' .*{expected}"):
        SecretFields(values, "app/dev/postgres/main", "AWSCURRENT").require_port()


def test_missing_string_field_is_named() -> None:
    with pytest.raises(InvalidSecretError, match="field 'username' must be a non-empty string, is missing"):
        fields().require_str("username")


def test_wrong_typed_string_field_names_type_not_value() -> None:
    with pytest.raises(InvalidSecretError, match="field 'password' must be a non-empty string, got int") as caught:
        fields(password=123456789).require_str("password")
    assert "123456789" not in str(caught.value)


@pytest.mark.parametrize(("raw", "expected"), [({}, True), ({"ssl": True}, True), ({"ssl": False}, False)])
def test_tls_is_required_unless_false_is_written(raw: dict[str, object], expected: bool) -> None:
    assert SecretFields(raw, "s", "AWSCURRENT").require_tls() is expected


@pytest.mark.parametrize("raw", ["false", 0, "no"])
def test_tls_flag_must_be_a_boolean(raw: object) -> None:
    with pytest.raises(InvalidSecretError, match="field 'ssl' must be true or false"):
        fields(ssl=raw).require_tls()
