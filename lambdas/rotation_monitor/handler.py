"""Lambda entry point of the scheduled rotation check (``lambdas.rotation_monitor.handler.lambda_handler``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from lambdas.rotation.telemetry import METRICS_NAMESPACE, SERVICE, logger
from lambdas.rotation_monitor.monitor import MonitorSettings, environment_secrets, measure


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    """Publish DaysSinceLastRotation per secret and OverdueSecrets for the environment."""
    settings = MonitorSettings.from_env()
    ages = measure(
        environment_secrets(settings.environment),
        now=datetime.now(UTC),
        max_rotation_days=settings.max_rotation_days,
    )
    dimensions = {"service": SERVICE}
    for age in ages:
        with single_metric(
            name="DaysSinceLastRotation",
            unit=MetricUnit.Count,
            value=age.days_since_rotation,
            namespace=METRICS_NAMESPACE,
            default_dimensions=dimensions,
        ) as metric:
            metric.add_dimension(name="SecretName", value=age.name)
    overdue = [age.name for age in ages if age.overdue]
    with single_metric(
        name="OverdueSecrets",
        unit=MetricUnit.Count,
        value=len(overdue),
        namespace=METRICS_NAMESPACE,
        default_dimensions={**dimensions, "environment": settings.environment},
    ):
        pass
    if overdue:
        logger.warning(
            "secrets overdue for rotation", extra={"overdue": overdue, "policy_days": settings.max_rotation_days}
        )
    logger.info("rotation ages measured", extra={"secrets": len(ages), "overdue": len(overdue)})
    return {"secrets": len(ages), "overdue": overdue}
