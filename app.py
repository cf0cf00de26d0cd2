#!/usr/bin/env python3
"""CDK entry point: ``npx cdk synth|deploy -c env=<name>`` builds config/<name>.yaml's stacks."""

from __future__ import annotations

import sys
from pathlib import Path

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks

from infra.config import ConfigError, load_config
from infra.stacks import build_environment

CONFIG_DIR = Path(__file__).resolve().parent / "config"


def build_app(app: App) -> App:
    env_name = app.node.try_get_context("env") or "example"
    config = load_config(CONFIG_DIR / f"{env_name}.yaml")
    build_environment(app, config)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app), HIPAASecurityChecks(app))
    return app


if __name__ == "__main__":
    try:
        build_app(App()).synth()
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        sys.exit(1)
