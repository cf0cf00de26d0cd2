"""The metrics the functions publish, as CloudWatch metric objects for alarms and the dashboard.

Namespace, service name and the environment dimension come from the functions' own telemetry
module, so an alarm can never watch a metric nobody publishes, and an alarm of one environment
never watches another's (two environments may share an account)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch

from lambdas.rotation.telemetry import METRICS_NAMESPACE, SERVICE

# How often the rotation-age check (lambdas.rotation_monitor) publishes DaysSinceLastRotation.
AGE_CHECK_EVERY = Duration.hours(6)


def rotation_metric(
    name: str, *, environment: str, statistic: str, period: Duration, label: str | None = None, **dimensions: str
) -> cloudwatch.Metric:
    """A ``SecretRotation`` metric of ``environment`` ("<app>/<env>") with ``dimensions``."""
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        statistic=statistic,
        period=period,
        dimensions_map={"service": SERVICE, "environment": environment, **dimensions},
        label=label,
    )
