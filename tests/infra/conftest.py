"""Synthesize the example environment once per session (nag packs on, bundling skipped: the
CLI synth test bundles for real)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

from aws_cdk import App
from aws_cdk.assertions import Template

from infra.config import EnvironmentConfig, load_config
from infra.stacks import build_environment
from tests.infra.configs import ACCOUNT, EXAMPLE, REGION, REPO_ROOT, realistic_secrets, with_secrets
from tests.infra.resolve import TemplateResolver

__all__ = ["EXAMPLE", "REPO_ROOT", "Templates", "rotation_stacks", "stack_of", "synth", "template_json"]
Templates = dict[str, Template]


def synth(config: EnvironmentConfig, outdir: Path, *, nag: bool = True) -> dict[str, Template]:
    from aws_cdk import Validations
    from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks

    app = App(context={"aws:cdk:bundling-stacks": []}, outdir=str(outdir))
    stacks = build_environment(app, config)
    if nag:
        Validations.of(app).add_plugins(AwsSolutionsChecks(app), HIPAASecurityChecks(app))
    app.synth()
    return {stack.stack_name: Template.from_stack(stack) for stack in stacks}


def template_json(templates: Templates) -> dict[str, dict[str, Any]]:
    return {name: dict(template.to_json()) for name, template in templates.items()}


def resolver(templates: Templates, **overrides: str) -> TemplateResolver:
    """References resolved to real-length values (``tests/infra/resolve.py``)."""
    options = {"account": ACCOUNT, "region": REGION, **overrides}
    return TemplateResolver(template_json(templates), **options)


def rotation_stacks(templates: Templates) -> dict[str, Template]:
    return {name: template for name, template in templates.items() if "Rotation" in name}


def stack_of(templates: Templates, secret_name: str) -> tuple[str, str]:
    """(stack name, logical id) of the secret named ``secret_name``."""
    for stack, template in templates.items():
        found = template.find_resources("AWS::SecretsManager::Secret", {"Properties": {"Name": secret_name}})
        if found:
            (logical_id,) = found
            return stack, logical_id
    raise AssertionError(f"no stack holds secret {secret_name!r}")


@pytest.fixture(scope="session")
def example_config() -> EnvironmentConfig:
    return load_config(EXAMPLE)


@pytest.fixture(scope="session")
def example_outdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cdk-out")


@pytest.fixture(scope="session")
def example_templates(example_config: EnvironmentConfig, example_outdir: Path) -> dict[str, Template]:
    """Synthesized with both nag packs: synthesis itself fails on any unacknowledged finding."""
    return synth(example_config, example_outdir)


LARGE = 96


@pytest.fixture(scope="session")
def large_config() -> EnvironmentConfig:
    """96 secrets of every kind with names as long as real ones, over the default 4 stacks."""
    return with_secrets(realistic_secrets(LARGE))


@pytest.fixture(scope="session")
def large_outdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cdk-out-large")


@pytest.fixture(scope="session")
def large_templates(large_config: EnvironmentConfig, large_outdir: Path) -> dict[str, Template]:
    """Synthesized with both nag packs, like the example."""
    return synth(large_config, large_outdir)


@pytest.fixture
def config_file(tmp_path: Path) -> Callable[[dict[str, Any]], Path]:
    """Write the example config with ``changes`` applied (dotted paths; None deletes)."""

    def write(changes: dict[str, Any]) -> Path:
        raw = yaml.safe_load(EXAMPLE.read_text())
        for dotted, value in changes.items():
            node: Any = raw
            parts = dotted.split(".")
            for part in parts[:-1]:
                node = node[int(part)] if part.isdigit() else node[part]
            last = parts[-1]
            if value is None:
                del node[int(last) if last.isdigit() else last]
            elif last.isdigit():
                node[int(last)] = value
            else:
                node[last] = value
        path = tmp_path / "test.yaml"
        path.write_text(yaml.safe_dump(raw))
        return path

    return write
