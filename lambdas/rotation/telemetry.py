"""Structured logs and EMF metrics for rotation steps; never a secret value.

Logs carry secret ARN, step, token and kind. Metrics (namespace ``SecretRotation``,
dimensions ``service``, ``kind`` and, when ``ROTATION_ENVIRONMENT`` is set, ``environment``)
count succeeded and failed steps, time each step and count completed rotations, so one alarm
per kind per environment catches any failing step, and two environments in one account never
fire each other's alarms.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = "secret-rotation"
_METRICS_DISABLED = "POWERTOOLS_METRICS_DISABLED"
METRICS_NAMESPACE = "SecretRotation"
# Set by the CDK app to "<app>/<env>"; becomes the ``environment`` metric dimension.
ENVIRONMENT_VARIABLE = "ROTATION_ENVIRONMENT"

# botocore at DEBUG prints request and response bodies, SecretString included. Pin the AWS
# SDK's loggers at WARNING whatever LOG_LEVEL says.
_NOISY_LOGGERS = ("boto3", "botocore", "urllib3", "s3transfer")


def quiet_sdk_loggers() -> None:
    """Keep SDK loggers above DEBUG so no request or response body is ever logged."""
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


quiet_sdk_loggers()


class _CurrentStdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stdout`` is now, not what it was at import: tests and the
    demo swap stdout after this module is imported."""

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stdout

    @stream.setter
    def stream(self, _: TextIO) -> None:
        pass


logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", SERVICE), logger_handler=_CurrentStdoutHandler())
metrics = Metrics(
    namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", METRICS_NAMESPACE),
    service=os.environ.get("POWERTOOLS_SERVICE_NAME", SERVICE),
)


@contextmanager
def quiet_function_telemetry() -> Iterator[None]:
    """For local tools (demo, bench): keep the functions' INFO logs and EMF documents off the
    terminal while the block runs; warnings and errors still print. Restores both after."""
    previous_level = logger.log_level
    previous_disabled = os.environ.get(_METRICS_DISABLED)
    logger.setLevel(logging.WARNING)
    os.environ[_METRICS_DISABLED] = "true"
    try:
        yield
    finally:
        logger.setLevel(previous_level)
        if previous_disabled is None:
            os.environ.pop(_METRICS_DISABLED, None)
        else:
            os.environ[_METRICS_DISABLED] = previous_disabled


# The Metrics object is shared by the process. A Lambda runs one invocation at a time, but
# the local driver and the emulated RotateSecret run rotations in threads: one thread must
# not clear the metrics another is about to flush.
_metrics_lock = threading.Lock()


def environment_dimension() -> dict[str, str]:
    """``{"environment": "<app>/<env>"}`` when ``ROTATION_ENVIRONMENT`` is set, else nothing."""
    value = os.environ.get(ENVIRONMENT_VARIABLE, "").strip()
    return {"environment": value} if value else {}


def record_step_outcome(*, kind: str, step: str, succeeded: bool, duration_ms: float) -> None:
    """Emit one EMF document for a finished step (flushed immediately: one per invocation)."""
    with _metrics_lock:
        _emit_step_outcome(kind=kind, step=step, succeeded=succeeded, duration_ms=duration_ms)


def _emit_step_outcome(*, kind: str, step: str, succeeded: bool, duration_ms: float) -> None:
    metrics.add_dimension(name="kind", value=kind)
    for name, value in environment_dimension().items():
        metrics.add_dimension(name=name, value=value)
    metrics.add_metadata(key="step", value=step)
    metrics.add_metric(name="StepSucceeded", unit=MetricUnit.Count, value=1 if succeeded else 0)
    metrics.add_metric(name="StepFailed", unit=MetricUnit.Count, value=0 if succeeded else 1)
    metrics.add_metric(name="StepDuration", unit=MetricUnit.Milliseconds, value=duration_ms)
    if succeeded and step == "finishSecret":
        metrics.add_metric(name="RotationCompleted", unit=MetricUnit.Count, value=1)
    metrics.flush_metrics()
    # With POWERTOOLS_METRICS_DISABLED, flush_metrics neither prints nor clears; without this
    # the data points pile up and are printed anyway once 100 accumulate.
    metrics.clear_metrics()
