"""Structured logs and EMF metrics for rotation steps; never a secret value.

Logs carry secret ARN, step, token and kind. Metrics (namespace ``SecretRotation``,
dimensions ``service``, ``kind`` and, when ``ROTATION_ENVIRONMENT`` is set, ``environment``)
count succeeded and failed steps, time each step and count completed rotations, so one alarm
per kind per environment catches any failing step, and two environments in one account never
fire each other's alarms.

This module may be imported many times in one process (test suites drop ``lambdas.*`` from
``sys.modules`` and import the handler again inside ``mock_aws``; ``importlib.reload``), with
several kinds loaded beside each other. Nothing here may therefore depend on being the first
import: the log handler is the one already attached to the service's standard logger, and
every step outcome gets its own metric set instead of sharing one across modules and threads.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

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


def _service() -> str:
    return os.environ.get("POWERTOOLS_SERVICE_NAME", SERVICE)


def _make_logger() -> Logger:
    """The Powertools logger for the service, reusing the handler of an earlier import.

    Powertools configures a standard logger once (the first ``Logger`` for a service adds the
    handler and its JSON formatter, then marks the logger preconfigured). A later ``Logger``
    given a new handler object keeps that handler, which never gets a formatter, and every
    ``append_keys``/``clear_state`` then fails on ``None``. So hand it the configured one.
    """
    configured = getattr(logging.getLogger(_service()), "powertools_handler", None)
    return Logger(service=_service(), logger_handler=configured or _CurrentStdoutHandler())


logger = _make_logger()


def _process_wide_lock() -> threading.Lock:
    """One lock per process, kept on the service's standard logger (which outlives any import
    of this module), so documents printed by different imports never interleave."""
    holder = logging.getLogger(_service())
    return holder.__dict__.setdefault("rotation_emf_lock", threading.Lock())  # type: ignore[no-any-return]


_print_lock = _process_wide_lock()


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


def environment_dimension() -> dict[str, str]:
    """``{"environment": "<app>/<env>"}`` when ``ROTATION_ENVIRONMENT`` is set, else nothing."""
    value = os.environ.get(ENVIRONMENT_VARIABLE, "").strip()
    return {"environment": value} if value else {}


def record_step_outcome(*, kind: str, step: str, succeeded: bool, duration_ms: float) -> None:
    """Emit one EMF document for a finished step (flushed immediately: one per invocation).

    Powertools' ``Metrics`` keeps its data points in class-level state shared by every
    instance in the process; the local driver and the emulated RotateSecret finish steps in
    parallel threads, and a re-imported module would bring its own state. An
    ``EphemeralMetrics`` per outcome shares nothing, so no thread or import can flush or
    clear another's data points; only the printing is serialized, so lines never interleave.
    """
    metrics = EphemeralMetrics(
        namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", METRICS_NAMESPACE), service=_service()
    )
    metrics.add_dimension(name="kind", value=kind)
    for name, value in environment_dimension().items():
        metrics.add_dimension(name=name, value=value)
    metrics.add_metadata(key="step", value=step)
    metrics.add_metric(name="StepSucceeded", unit=MetricUnit.Count, value=1 if succeeded else 0)
    metrics.add_metric(name="StepFailed", unit=MetricUnit.Count, value=0 if succeeded else 1)
    metrics.add_metric(name="StepDuration", unit=MetricUnit.Milliseconds, value=duration_ms)
    if succeeded and step == "finishSecret":
        metrics.add_metric(name="RotationCompleted", unit=MetricUnit.Count, value=1)
    with _print_lock:
        metrics.flush_metrics()
