"""CDK synthesis time by number of secrets (nag packs on, asset bundling skipped)."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from bench.common import Row, SuiteResult

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")


def _synth_seconds(count: int) -> tuple[float, int, int]:
    from aws_cdk import App, Validations
    from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks

    from infra.config import SecretConfig, load_config
    from infra.stacks import build_environment

    config = load_config(Path(__file__).resolve().parents[1] / "config" / "example.yaml")
    template = config.secrets[0].model_dump(exclude_none=True)
    secrets = tuple(SecretConfig.model_validate({**template, "name": f"hook-{n}"}) for n in range(count))
    config = config.model_copy(update={"secrets": secrets})
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as outdir:
        app = App(context={"aws:cdk:bundling-stacks": []}, outdir=outdir)
        stacks = build_environment(app, config)
        Validations.of(app).add_plugins(AwsSolutionsChecks(app), HIPAASecurityChecks(app))
        assembly = app.synth()
        largest = max(len(stack.template.get("Resources", {})) for stack in assembly.stacks)
    return time.perf_counter() - started, len(stacks), largest


def run(quick: bool) -> SuiteResult:
    result = SuiteResult(
        title="CDK synth time by number of secrets (cdk-nag AwsSolutions + HIPAA on, bundling skipped)"
    )
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
    return result
