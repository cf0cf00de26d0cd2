#!/usr/bin/env python3
"""CDK entry point: ``npx cdk synth|deploy -c env=<name>`` builds config/<name>.yaml's stacks."""

from __future__ import annotations

import sys
from pathlib import Path

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks

from infra.config import ConfigError, EnvironmentConfig, load_config
from infra.stacks import build_environment

CONFIG_DIR = Path(__file__).resolve().parent / "config"


def _creates_endpoints(config: EnvironmentConfig) -> bool:
    network = config.network
    return bool(
        network
        and network.api_access == "create"
        and any(secret.security_group_id for secret in config.secrets if secret.kind != "hmac_key")
    )


def check_neighbours(config: EnvironmentConfig, path: Path) -> None:
    """What one config cannot know: another environment of the same account (config/*.yaml)
    that would claim the same names, or the same VPC's private DNS for interface endpoints
    (a VPC holds one private-DNS endpoint per service: only one environment may create it)."""
    for other_path in sorted(path.parent.glob("*.yaml")):
        if other_path.resolve() == path.resolve():
            continue
        try:
            other = load_config(other_path)
        except ConfigError:
            continue  # not this deploy's problem; it fails when it is deployed
        if (other.account, other.region) != (config.account, config.region):
            continue
        if (other.app, other.env) == (config.app, config.env):
            raise ConfigError(f"{path} and {other_path} are both {config.app}/{config.env} in {config.account}")
        same_vpc = config.network and other.network and config.network.vpc_id == other.network.vpc_id
        if same_vpc and _creates_endpoints(config) and _creates_endpoints(other):
            raise ConfigError(
                f"{path}: network.api_access is 'create', and so is {other_path}'s, in the same VPC "
                f"{config.network.vpc_id}: interface endpoints with private DNS exist once per VPC. Let one "  # type: ignore[union-attr]
                "environment create them and set api_access: existing (and endpoint_security_group_id) in the other"
            )


def build_app(app: App, config_dir: Path = CONFIG_DIR) -> App:
    env_name = app.node.try_get_context("env") or "example"
    path = config_dir / f"{env_name}.yaml"
    config = load_config(path)
    check_neighbours(config, path)
    build_environment(app, config)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app), HIPAASecurityChecks(app))
    return app


if __name__ == "__main__":
    try:
        build_app(App()).synth()
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        sys.exit(1)
