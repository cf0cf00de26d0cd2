"""Do locally what Secrets Manager does on ``rotate-secret``, against moto, in process.

The service: stages a new, empty version AWSPENDING (or, if an earlier rotation left
AWSPENDING on a version that is not AWSCURRENT, reattempts that one with the same token);
invokes the rotation function's four steps with ``{"SecretId": <ARN>, "ClientRequestToken":
<version id>, "Step": ...}``; retries a failed step; stops at the first step that keeps
failing, leaving AWSPENDING where it is. After success the driver removes AWSPENDING.
The report counts the AWS API calls of every step, from the core's call ledger.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.exceptions import ClientError

from lambdas.rotation.calls import LEDGER

from .moto_compat import remove_version, stage_empty_pending_version, stage_pending_copy_of_current

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
AWSCURRENT = "AWSCURRENT"
AWSPENDING = "AWSPENDING"

Handler = Callable[[dict[str, Any], Any], Any]
log = logging.getLogger(__name__)


@dataclass
class StepReport:
    """One step: how many invocations it took, how long, which calls it made, which errors."""

    step: str
    attempts: int = 0
    succeeded: bool = False
    duration_s: float = 0.0
    api_calls: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    @property
    def secretsmanager_calls(self) -> int:
        """Secrets Manager API calls made by the function during this step (all attempts)."""
        return sum(count for point, count in self.api_calls.items() if point.startswith("secretsmanager."))


@dataclass
class RotationReport:
    """The outcome of one ``rotate`` call."""

    secret_arn: str
    token: str
    resumed: bool
    steps: list[StepReport] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return len(self.steps) == len(STEPS) and all(step.succeeded for step in self.steps)

    @property
    def secretsmanager_calls(self) -> int:
        return sum(step.secretsmanager_calls for step in self.steps)

    @property
    def duration_s(self) -> float:
        return sum(step.duration_s for step in self.steps)

    @property
    def error(self) -> str | None:
        failed = next((step for step in self.steps if not step.succeeded), None)
        return f"{failed.step}: {failed.errors[-1]}" if failed and failed.errors else None


class RotationFailedError(RuntimeError):
    """A step kept failing after the service's retries; AWSPENDING was left for a reattempt."""

    def __init__(self, report: RotationReport) -> None:
        super().__init__(f"rotation of {report.secret_arn!r} failed at {report.error}")
        self.report = report


class RotationDriver:
    """Rotate moto-held secrets with a rotation function's ``lambda_handler``."""

    def __init__(self, handler: Handler, *, attempts_per_step: int = 3, client: Any = None) -> None:
        if attempts_per_step < 1:
            raise ValueError("attempts_per_step must be at least 1")
        self._handler = handler
        self._attempts = attempts_per_step
        self._client = client

    @property
    def client(self) -> Any:
        # Created on first use, so that a driver built before mock_aws starts still talks to moto.
        if self._client is None:
            self._client = boto3.client("secretsmanager")
        return self._client

    def _pending_token(self, secret_arn: str) -> str | None:
        stages = self.client.describe_secret(SecretId=secret_arn).get("VersionIdsToStages", {})
        return next(
            (version for version, labels in stages.items() if AWSPENDING in labels and AWSCURRENT not in labels),
            None,
        )

    def _run_step(self, step: str, secret_arn: str, token: str) -> StepReport:
        report = StepReport(step=step)
        event = {"SecretId": secret_arn, "ClientRequestToken": token, "Step": step}
        before = LEDGER.snapshot()
        started = time.perf_counter()
        while report.attempts < self._attempts and not report.succeeded:
            report.attempts += 1
            try:
                self._handler(dict(event), None)
                report.succeeded = True
            except Exception as exc:  # the service treats any function error as a failed step
                report.errors.append(f"{type(exc).__name__}: {exc}")
                log.warning("%s attempt %d failed: %s", step, report.attempts, report.errors[-1])
        report.duration_s = time.perf_counter() - started
        report.api_calls = LEDGER.snapshot() - before
        return report

    def rotate(self, secret_id: str, *, token: str | None = None, raise_on_failure: bool = True) -> RotationReport:
        """Rotate ``secret_id`` once, like ``aws secretsmanager rotate-secret`` would."""
        secret_arn = self.client.describe_secret(SecretId=secret_id)["ARN"]
        in_progress = self._pending_token(secret_arn)
        if in_progress is not None:
            log.info("a previous rotation is not complete: reattempting version %s", in_progress)
            report = RotationReport(secret_arn=secret_arn, token=in_progress, resumed=True)
        else:
            report = RotationReport(secret_arn=secret_arn, token=token or str(uuid.uuid4()), resumed=False)
            stage_empty_pending_version(secret_arn, report.token)
        for step in STEPS:
            step_report = self._run_step(step, secret_arn, report.token)
            report.steps.append(step_report)
            if not step_report.succeeded:
                if raise_on_failure:
                    raise RotationFailedError(report)
                return report
        self._clear_pending(secret_arn, report.token)
        return report

    def test_configuration(self, secret_id: str, *, token: str | None = None) -> StepReport:
        """What the service does when rotation is turned on without rotating now
        (``RotateImmediately=false``, CloudFormation's ``RotateImmediatelyOnUpdate: false``):
        stage a temporary AWSPENDING version holding a copy of AWSCURRENT, invoke ``testSecret``
        alone, then remove the version, whatever the outcome.

        "Secrets Manager tests the rotation configuration by running the testSecret step of the
        Lambda rotation function. The test creates an AWSPENDING version of the secret and then
        removes it." (RotateSecret API reference, RotateImmediately.) The value of that version
        is not documented; moto's RotateSecret copies AWSCURRENT's, which is what we stage. How
        often the service retries a failed test is not documented either: one invocation here,
        the stricter reading.
        """
        secret_arn = self.client.describe_secret(SecretId=secret_id)["ARN"]
        token = token or str(uuid.uuid4())
        stage_pending_copy_of_current(secret_arn, token)
        try:
            return RotationDriver(self._handler, attempts_per_step=1, client=self.client)._run_step(
                "testSecret", secret_arn, token
            )
        finally:
            remove_version(secret_arn, token)

    def _clear_pending(self, secret_arn: str, token: str) -> None:
        """Remove AWSPENDING from the finished version, as the service does; another driver
        finishing the same rotation at once may have removed it first."""
        stages = self.client.describe_secret(SecretId=secret_arn).get("VersionIdsToStages", {})
        if AWSPENDING not in stages.get(token, []):
            return
        try:
            self.client.update_secret_version_stage(
                SecretId=secret_arn, VersionStage=AWSPENDING, RemoveFromVersionId=token
            )
        except ClientError:
            stages = self.client.describe_secret(SecretId=secret_arn).get("VersionIdsToStages", {})
            if AWSPENDING in stages.get(token, []):
                raise
