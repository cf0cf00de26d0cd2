"""The metrics the functions publish, as CloudWatch metric objects for alarms and the dashboard.

Namespace and service name come from the functions' own telemetry module, so an alarm can
never watch a metric nobody publishes."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch

from lambdas.rotation.telemetry import METRICS_NAMESPACE, SERVICE

# How often the rotation-age check (lambdas.rotation_monitor) publishes DaysSinceLastRotation.
AGE_CHECK_EVERY = Duration.hours(6)


def rotation_metric(
    name: str, *, statistic: str, period: Duration, label: str | None = None, **dimensions: str
) -> cloudwatch.Metric:
    """A metric of namespace ``SecretRotation`` with the ``service`` dimension and ``dimensions``."""
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        statistic=statistic,
        period=period,
        dimensions_map={"service": SERVICE, **dimensions},
        label=label,
    )
