"""Configs for the infra tests, built from the example the way a user edits theirs, and always
validated the way ``cdk synth`` validates them (model, then plan)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from infra.config import EnvironmentConfig, parse_config

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = REPO_ROOT / "config" / "example.yaml"
ACCOUNT, REGION = "123456789012", "eu-west-1"
OTHER_ACCOUNT = "210987654321"


def example_raw() -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())
    return raw


def config_from(raw: dict[str, Any], config_dir: Path = EXAMPLE.parent) -> EnvironmentConfig:
    return parse_config(copy.deepcopy(raw), source="test config", config_dir=config_dir)


def with_secrets(secrets: list[dict[str, Any]], **changes: Any) -> EnvironmentConfig:
    """The example environment with ``secrets`` (and top-level ``changes``) instead of its own."""
    return config_from({**example_raw(), "secrets": secrets, **changes})


def example_secret(kind: str) -> dict[str, Any]:
    """The example's secret of ``kind`` (a postgres_single is derived from the alternating one)."""
    secrets: list[dict[str, Any]] = example_raw()["secrets"]
    if kind == "postgres_single":
        secret: dict[str, Any] = copy.deepcopy(next(s for s in secrets if s["kind"] == "postgres_alternating"))
        secret["kind"] = "postgres_single"
        secret["postgres"].pop("admin_secret_arn")
        secret["initial_value_from"] = {
            "secret_arn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:shop/legacy/app-AbCdEf",
            "json_field": "password",
        }
        return secret
    found: dict[str, Any] = copy.deepcopy(next(s for s in secrets if s["kind"] == kind))
    return found


_WORDS = ("orders", "billing", "search", "catalog", "payments", "identity", "inventory", "shipping")


def realistic_secrets(count: int) -> list[dict[str, Any]]:
    """``count`` secrets of every kind with names as long as real ones (``orders-primary-017``)."""
    kinds = ("hmac_key", "postgres_alternating", "valkey_acl", "elasticache_user", "elasticache_auth_token",
             "postgres_single")  # fmt: skip
    secrets = []
    for number in range(count):
        kind = kinds[number % len(kinds)]
        secret = example_secret(kind)
        secret["name"] = f"{_WORDS[number % len(_WORDS)]}-primary-{number:03d}"
        secret.pop("consumers", None)
        if kind == "hmac_key" and number % 4 == 0:
            secret["hmac"] = {"fields": ["key", "previous_key"], "key_bytes": 48}
        secrets.append(secret)
    return secrets
