"""The template checks of `make test`: cdk-nag packs, cfn-lint and checkov, on the example and on
a 96-secret environment spread over several stacks, and the pinned CDK CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk.assertions import Template

from tests.infra.conftest import LARGE, REPO_ROOT, rotation_stacks

CFN_LINT_ERROR = 2  # cfn-lint's exit code is a bitmask: 2 = errors, 4 = warnings, 8 = informational
CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"


@pytest.fixture(params=["example", "large"])
def checked(request: pytest.FixtureRequest) -> Path:
    """The cdk.out directory of the example or of the 96-secret environment, synthesized with nag."""
    request.getfixturevalue(f"{request.param}_templates")
    return request.getfixturevalue(f"{request.param}_outdir")  # type: ignore[no-any-return]


def test_large_environment_spreads_over_several_stacks(large_templates: dict[str, Template]) -> None:
    stacks = rotation_stacks(large_templates)
    secrets = {name: len(t.find_resources("AWS::SecretsManager::Secret")) for name, t in stacks.items()}

    assert len(stacks) == 4  # the default rotation_stacks
    assert sum(secrets.values()) == LARGE
    assert min(secrets.values()) > LARGE / 8  # a stable hash spreads them, none is starved or overfull
    assert max(len(t.to_json()["Resources"]) for t in large_templates.values()) < 450


def test_nag_packs_leave_no_unacknowledged_finding_and_each_acknowledgment_has_a_reason(checked: Path) -> None:
    report = json.loads((checked / "validation-report.json").read_text())

    plugins = {plugin["pluginName"]: plugin for plugin in report["pluginReports"]}
    assert set(plugins) == {"AwsSolutions", "HIPAA.Security"}
    for plugin in plugins.values():
        assert plugin["conclusion"] == "success"
        assert plugin["violations"] == []
        for suppressed in plugin.get("suppressedViolations", []):
            assert len(suppressed["reason"]) > 30, suppressed["ruleName"]  # a reason a reviewer can judge


def test_cfn_lint_finds_no_error(checked: Path) -> None:
    templates = sorted(str(path) for path in checked.glob("*.template.json"))
    result = subprocess.run(
        [sys.executable, "-m", "cfnlint", *templates], capture_output=True, text=True, timeout=300, check=False
    )

    assert templates
    assert not result.returncode & CFN_LINT_ERROR, result.stdout


def test_checkov_finds_no_failed_check_and_every_skip_has_a_reason(checked: Path) -> None:
    assert CHECKOV.exists(), f"{CHECKOV} is missing: `make deps` installs checkov (requirements-checkov.txt)"
    result = subprocess.run(
        [str(CHECKOV), "-d", str(checked), "--framework", "cloudformation", "--skip-download", "-o", "json"],
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
    assert len(assets) == 1, "every function of the environment shares one asset"
    bundle = assets[0]
    assert (bundle / "lambdas" / "hmac_key" / "handler.py").exists()
    assert (bundle / "psycopg2").is_dir()
    assert (bundle / "redis").is_dir()
    assert any("aarch64" in path.name for path in (bundle / "psycopg2").glob("_psycopg*.so"))
    assert not (bundle / "boto3").exists()  # provided by the Lambda runtime
