"""The template checks of `make test`: cdk-nag packs, cfn-lint, the pinned CDK CLI, scale."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk.assertions import Template

from infra.config import EnvironmentConfig, SecretConfig
from tests.infra.conftest import REPO_ROOT, synth

CFN_LINT_ERROR = 2  # cfn-lint's exit code is a bitmask: 2 = errors, 4 = warnings, 8 = informational


def test_nag_packs_leave_no_unacknowledged_finding_and_each_acknowledgment_has_a_reason(
    example_templates: dict[str, Template], example_outdir: Path
) -> None:
    report = json.loads((example_outdir / "validation-report.json").read_text())

    plugins = {plugin["pluginName"]: plugin for plugin in report["pluginReports"]}
    assert set(plugins) == {"AwsSolutions", "HIPAA.Security"}
    for plugin in plugins.values():
        assert plugin["conclusion"] == "success"
        assert plugin["violations"] == []
        for suppressed in plugin.get("suppressedViolations", []):
            assert len(suppressed["reason"]) > 30, suppressed["ruleName"]  # a reason a reviewer can judge


def test_cfn_lint_finds_no_error(example_templates: dict[str, Template], example_outdir: Path) -> None:
    templates = sorted(str(path) for path in example_outdir.glob("*.template.json"))
    result = subprocess.run(
        [sys.executable, "-m", "cfnlint", *templates], capture_output=True, text=True, timeout=300, check=False
    )

    assert templates
    assert not result.returncode & CFN_LINT_ERROR, result.stdout


CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"


def test_checkov_finds_no_failed_check_and_every_skip_has_a_reason(
    example_templates: dict[str, Template], example_outdir: Path
) -> None:
    assert CHECKOV.exists(), f"{CHECKOV} is missing: `make deps` installs checkov (requirements-checkov.txt)"
    result = subprocess.run(
        [str(CHECKOV), "-d", str(example_outdir), "--framework", "cloudformation", "--skip-download", "-o", "json"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    report = json.loads(result.stdout)
    summary = report["summary"]

    assert summary["failed"] == 0, [check["check_id"] for check in report["results"]["failed_checks"]]
    assert summary["passed"] > 100
    assert summary["parsing_errors"] == 0
    skipped_checks = report["results"]["skipped_checks"]
    assert len(skipped_checks) == summary["skipped"]
    for skipped in skipped_checks:
        assert len(skipped["check_result"].get("suppress_comment", "")) > 30, skipped["check_id"]


def test_hundreds_of_secrets_split_into_stacks_below_the_resource_limit(
    example_config: EnvironmentConfig, tmp_path: Path
) -> None:
    hmac = example_config.secrets[0]
    many = tuple(
        SecretConfig.model_validate({**hmac.model_dump(exclude_none=True), "name": f"hook-{n}"}) for n in range(120)
    )
    config = example_config.model_copy(update={"secrets": many})

    templates = synth(config, tmp_path, nag=False)

    counts = {name: len(template.to_json()["Resources"]) for name, template in templates.items()}
    assert len(counts) == 1 + 3  # base + 120 secrets / 40 per stack
    assert max(counts.values()) < 500
    rotation = [t for name, t in templates.items() if "Rotation" in name]
    assert all(len(t.find_resources("AWS::Lambda::Function")) == 1 for t in rotation)  # one per kind per stack


@pytest.mark.skipif(shutil.which("node") is None, reason="Node is required by aws-cdk-lib itself")
def test_pinned_cdk_cli_synthesizes_the_example_offline_with_local_bundling(tmp_path: Path) -> None:
    cli = REPO_ROOT / "node_modules" / ".bin" / "cdk"
    assert cli.exists(), "run `make deps` (npm ci) to install the pinned CDK CLI"
    env = {**os.environ, "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1", "CDK_DISABLE_VERSION_CHECK": "1"}
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        env.pop(name, None)

    result = subprocess.run(
        [str(cli), "synth", "--all", "-c", "env=example", "-o", str(tmp_path), "--quiet", "--no-notices"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr[-3000:]
    assets = [path for path in tmp_path.glob("asset.*") if path.is_dir()]
    assert assets, "no bundled asset"
    bundle = assets[0]
    assert (bundle / "lambdas" / "hmac_key" / "handler.py").exists()
    assert (bundle / "psycopg2").is_dir()
    assert (bundle / "redis").is_dir()
    assert any("aarch64" in path.name for path in (bundle / "psycopg2").glob("_psycopg*.so"))
    assert not (bundle / "boto3").exists()  # provided by the Lambda runtime
