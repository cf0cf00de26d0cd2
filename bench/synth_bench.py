"""CDK synthesis time by number of secrets of every kind (config validation and placement
included, nag packs on, asset bundling skipped), the zipped rotation asset, and the findings of
every template check on the example environment."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from bench.common import REPO_ROOT, Row, SuiteResult

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")


def _synth_seconds(count: int) -> tuple[float, int, int]:
    from aws_cdk import App, Validations
    from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks

    from infra.stacks import build_environment
    from tests.infra.configs import realistic_secrets, with_secrets

    # Every kind, names as long as real ones; about 50 secrets per stack (a stack is full at 450 resources).
    config = with_secrets(realistic_secrets(count), rotation_stacks=max(4, math.ceil(count / 50)))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as outdir:
        app = App(context={"aws:cdk:bundling-stacks": []}, outdir=outdir)
        stacks = build_environment(app, config)
        Validations.of(app).add_plugins(AwsSolutionsChecks(app), HIPAASecurityChecks(app))
        assembly = app.synth()
        largest = max(len(stack.template.get("Resources", {})) for stack in assembly.stacks)
    return time.perf_counter() - started, len(stacks), largest


def _asset_megabytes() -> tuple[float, float]:
    """Zipped and unzipped size of the one asset every rotation function shares, bundled the way
    ``cdk synth`` does without Docker."""
    from infra.constructs.bundling import LocalPipBundling, staged_source

    with tempfile.TemporaryDirectory() as work:
        asset = Path(work) / "asset"
        LocalPipBundling(staged_source()).try_bundle(str(asset), image=None)  # type: ignore[arg-type]
        files = [path for path in asset.rglob("*") if path.is_file()]
        archive = Path(work) / "asset.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
            for path in files:
                zipped.write(path, path.relative_to(asset))
        unzipped = sum(path.stat().st_size for path in files)
        return archive.stat().st_size / 1e6, unzipped / 1e6


def _example_findings() -> dict[str, Any]:
    """nag, cfn-lint and checkov on the example environment, as `make test` runs them."""
    from infra.config import load_config
    from tests.infra.conftest import EXAMPLE, synth

    with tempfile.TemporaryDirectory() as outdir:
        synth(load_config(EXAMPLE), Path(outdir))
        report = json.loads((Path(outdir) / "validation-report.json").read_text())
        nag = {
            plugin["pluginName"]: {
                "violations": len(plugin["violations"]),
                "acknowledged": len(plugin.get("suppressedViolations", [])),
            }
            for plugin in report["pluginReports"]
        }
        templates = sorted(str(path) for path in Path(outdir).glob("*.template.json"))
        lint = subprocess.run(
            [sys.executable, "-m", "cfnlint", "--format", "json", *templates],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        levels = [match["Level"] for match in json.loads(lint.stdout or "[]")]
        checkov = subprocess.run(
            [str(REPO_ROOT / ".venv-checkov" / "bin" / "checkov"), "-d", outdir, "--framework", "cloudformation",
             "--skip-download", "-o", "json"],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        summary = json.loads(checkov.stdout)["summary"]
    return {
        "nag": nag,
        "cfn_lint": {level: levels.count(level) for level in ("Error", "Warning", "Informational")},
        "checkov": {key: summary[key] for key in ("passed", "failed", "skipped")},
    }


def run(quick: bool) -> SuiteResult:
    result = SuiteResult(
        title="CDK synth time by number of secrets of every kind (cdk-nag AwsSolutions + HIPAA on, bundling skipped)"
    )
    _synth_seconds(1)  # warm-up: the first synth of a process also starts jsii and loads aws-cdk-lib
    for count in (10,) if quick else (10, 100, 1000):
        seconds, stacks, largest = _synth_seconds(count)
        result.rows.append(
            Row(
                f"synth {count} secrets",
                round(seconds, 1),
                "s",
                f"{stacks} stacks, largest {largest} resources (limit 500)",
            )
        )
        result.raw[str(count)] = {"seconds": seconds, "stacks": stacks, "largest": largest}
    if quick:
        return result
    zipped, unzipped = _asset_megabytes()
    result.rows.append(
        Row("rotation asset, zipped", round(zipped, 2), "MB", f"{unzipped:.1f} MB unzipped; one asset for every kind; "
            "Lambda limits 50 / 250 MB")
    )  # fmt: skip
    findings = _example_findings()
    for pack, counts in findings["nag"].items():
        result.rows.append(
            Row(f"cdk-nag {pack}: unacknowledged findings", counts["violations"], "findings",
                f"{counts['acknowledged']} acknowledged, each with its reason beside its resource")
        )  # fmt: skip
    lint = findings["cfn_lint"]
    result.rows.append(
        Row("cfn-lint errors", lint["Error"], "errors", f"{lint['Warning']} warnings, {lint['Informational']} info")
    )
    ckv = findings["checkov"]
    result.rows.append(
        Row("checkov failed checks", ckv["failed"], "checks", f"{ckv['passed']} passed, {ckv['skipped']} skipped "
            "with their reason in the resource's metadata")
    )  # fmt: skip
    result.raw.update(asset_mb={"zipped": zipped, "unzipped": unzipped}, findings=findings)
    return result
