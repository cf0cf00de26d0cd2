"""The CA resolution shared by every kind that speaks TLS (lambdas/targets/tls.py): its order,
its errors, and how PostgreSQL, Valkey and ElastiCache endpoints use what it resolves.

Real connections through it are in tests/rotation/test_tls_ca_resolution.py (Lambda-like
process, real TLS PostgreSQL); here the resolution itself, in process.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from lambdas.elasticache_user.strategy import endpoint_node
from lambdas.rotation import ConfigurationError, InvalidSecretError, SecretFields
from lambdas.targets import tls, valkey
from lambdas.targets.postgres import PostgresEndpoint
from lambdas.targets.tls import CaBundleNotFoundError, tls_settings
from local_servers.certs import write_loopback_tls


@pytest.fixture
def bundles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Three distinct PEM bundles, the runtime seam pointed at one, no CA environment."""
    paths = {}
    for name in ("secret", "env", "runtime"):
        (tmp_path / name).mkdir()
        paths[name] = str(write_loopback_tls(tmp_path / name).ca_path)
    monkeypatch.setattr(tls, "RUNTIME_CA_BUNDLES", (str(tmp_path / "absent.pem"), paths["runtime"]))
    monkeypatch.delenv("CA_BUNDLE_PATH", raising=False)
    monkeypatch.delenv("SSL_MODE", raising=False)
    return paths


def _fields(**values: Any) -> SecretFields:
    return SecretFields({"host": "db.example.internal", "port": 5432, **values}, "app/prod/db", "AWSCURRENT")


def test_the_secret_ssl_ca_comes_first(bundles: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CA_BUNDLE_PATH", bundles["env"])

    settings = tls_settings(_fields(ssl_ca=bundles["secret"]))

    assert settings is not None
    assert (settings.ca_path, settings.source) == (bundles["secret"], "ssl_ca")


def test_ca_bundle_path_comes_before_the_runtime_bundle(
    bundles: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CA_BUNDLE_PATH", bundles["env"])

    settings = tls_settings(_fields())

    assert settings is not None
    assert (settings.ca_path, settings.source) == (bundles["env"], "CA_BUNDLE_PATH")


def test_the_first_runtime_bundle_that_exists_is_the_last_resort(bundles: dict[str, str]) -> None:
    settings = tls_settings(_fields())

    assert settings is not None
    assert (settings.ca_path, settings.source) == (bundles["runtime"], "runtime")


def test_the_documented_runtime_bundles_are_the_amazon_linux_paths() -> None:
    assert tls.RUNTIME_CA_BUNDLES == ("/etc/pki/tls/cert.pem", "/etc/pki/tls/certs/ca-bundle.crt")


def test_no_ca_anywhere_names_ssl_ca_and_ca_bundle_path(
    bundles: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(tls, "RUNTIME_CA_BUNDLES", (str(tmp_path / "none.pem"),))

    with pytest.raises(CaBundleNotFoundError) as caught:
        tls_settings(_fields())

    message = str(caught.value)
    assert "secret 'app/prod/db' (AWSCURRENT) requires TLS but no CA bundle was found" in message
    assert "'ssl_ca'" in message
    assert "CA_BUNDLE_PATH" in message
    assert str(tmp_path / "none.pem") in message


def test_plaintext_needs_no_ca(bundles: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(tls, "RUNTIME_CA_BUNDLES", (str(tmp_path / "none.pem"),))

    assert tls_settings(_fields(ssl=False)) is None


@pytest.mark.parametrize("content", [None, "not a certificate\n"], ids=["missing", "not-pem"])
def test_an_ssl_ca_that_is_not_a_pem_bundle_is_named_not_skipped(
    bundles: dict[str, str], tmp_path: Path, content: str | None
) -> None:
    path = tmp_path / "bad.pem"
    if content is not None:
        path.write_text(content)

    with pytest.raises(InvalidSecretError, match=re.escape("field 'ssl_ca' must be the path of a readable PEM CA")):
        tls_settings(_fields(ssl_ca=str(path)))


def test_a_ca_bundle_path_that_is_not_a_pem_bundle_is_named_not_skipped(
    bundles: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CA_BUNDLE_PATH", str(tmp_path / "missing.pem"))

    with pytest.raises(ConfigurationError, match="CA_BUNDLE_PATH must be the path of a readable PEM CA bundle"):
        tls_settings(_fields())


def test_verify_full_is_the_default_mode(bundles: dict[str, str]) -> None:
    settings = tls_settings(_fields())

    assert settings is not None
    assert (settings.mode, settings.verify_hostname) == ("verify-full", True)


def test_ssl_mode_in_the_secret_overrides_the_environment(
    bundles: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_MODE", "verify-ca")

    from_env = tls_settings(_fields())
    from_secret = tls_settings(_fields(ssl_mode="verify-full"))

    assert from_env is not None
    assert (from_env.mode, from_env.verify_hostname) == ("verify-ca", False)
    assert from_secret is not None
    assert from_secret.mode == "verify-full"


@pytest.mark.parametrize("mode", ["require", "disable", "VERIFY-FULL", ""])
def test_an_unknown_ssl_mode_is_refused_naming_the_field(bundles: dict[str, str], mode: str) -> None:
    expected = "must be one of verify-full, verify-ca" if mode else "must be a non-empty string"
    with pytest.raises(InvalidSecretError, match=re.escape(f"field 'ssl_mode' {expected}")):
        tls_settings(_fields(ssl_mode=mode))


def test_an_unknown_ssl_mode_environment_is_refused_naming_it(
    bundles: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_MODE", "prefer")

    with pytest.raises(
        ConfigurationError, match=re.escape("SSL_MODE must be one of verify-full, verify-ca, got 'prefer'")
    ):
        tls_settings(_fields())


@pytest.mark.parametrize(("name", "value"), [("SSL_MODE", "require"), ("CA_BUNDLE_PATH", "/nowhere/bundle.pem")])
def test_a_bad_tls_environment_fails_even_for_a_plaintext_secret(
    bundles: dict[str, str], monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(ConfigurationError, match=f"^{name} must be"):
        tls_settings(_fields(ssl=False))


def test_postgres_gets_the_mode_and_the_file_never_sslrootcert_system(bundles: dict[str, str]) -> None:
    options = PostgresEndpoint.from_secret(_fields(username="app", ssl_mode="verify-ca")).connection_options()

    assert (options["sslmode"], options["sslrootcert"]) == ("verify-ca", bundles["runtime"])


def test_valkey_verify_ca_keeps_the_certificate_check_and_drops_only_the_host_name_check(
    bundles: dict[str, str],
) -> None:
    node = valkey.nodes_from_secret(_fields(ssl_mode="verify-ca"))[0]

    kwargs = valkey.client(node, "app", "password-not-used").connection_pool.connection_kwargs

    assert (kwargs["ssl_cert_reqs"], kwargs["ssl_ca_certs"], kwargs["ssl_check_hostname"]) == (
        "required", bundles["runtime"], False,
    )  # fmt: skip


def test_valkey_verify_full_checks_the_host_name(bundles: dict[str, str]) -> None:
    node = valkey.nodes_from_secret(_fields(nodes=["10.0.0.1:6379"], ssl_ca=bundles["secret"]))[0]

    kwargs = valkey.client(node, "app", "password-not-used").connection_pool.connection_kwargs

    assert (kwargs["ssl_ca_certs"], kwargs["ssl_check_hostname"]) == (bundles["secret"], True)


def test_an_elasticache_endpoint_resolves_its_ca_the_same_way(
    bundles: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CA_BUNDLE_PATH", bundles["env"])

    node = endpoint_node(_fields())

    assert node is not None
    assert (node.tls, node.ca_path, node.check_hostname) == (True, bundles["env"], True)


def test_an_elasticache_endpoint_without_a_ca_names_what_to_set(
    bundles: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(tls, "RUNTIME_CA_BUNDLES", (str(tmp_path / "none.pem"),))

    with pytest.raises(CaBundleNotFoundError, match="CA_BUNDLE_PATH"):
        endpoint_node(_fields())
