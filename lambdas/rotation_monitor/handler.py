"""Lambda entry point of the scheduled rotation check (``lambdas.rotation_monitor.handler.lambda_handler``).

Invoked every 6 hours by EventBridge, once per deploy of the base stack as a CloudFormation
custom resource (``deploy_hook.py``), and as each rotation stack's first-value guard
(``first_value_guard.py``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from lambdas.rotation.telemetry import METRICS_NAMESPACE, SERVICE, logger
from lambdas.rotation_monitor.deploy_hook import handle_deployment, handle_guard, is_custom_resource_event
from lambdas.rotation_monitor.first_value_guard import RESOURCE_TYPE as FIRST_VALUE_GUARD
from lambdas.rotation_monitor.monitor import MonitorSettings, environment_secrets, measure
from lambdas.rotation_monitor.replicas import ReplicaHealth, replica_health


def _publish(name: str, value: float, dimensions: dict[str, str]) -> None:
    with single_metric(
        name=name, unit=MetricUnit.Count, value=value, namespace=METRICS_NAMESPACE, default_dimensions=dimensions
    ):
        pass


def check() -> dict[str, Any]:
    """Publish DaysSinceLastRotation per secret, OldestRotationDays, and OverdueSecrets and
    RotationOffSecrets for the environment (every run, even with no secret: the "check silent"
    alarm watches them); with replicated secrets, ReplicasNotInSync and ReplicasLagging too."""
    settings = MonitorSettings.from_env()
    now = datetime.now(UTC)
    listed = list(environment_secrets(settings.environment))
    ages = measure(listed, now=now, max_rotation_days=settings.max_rotation_days)
    dimensions = {"service": SERVICE, "environment": settings.environment}
    for age in ages:
        _publish("DaysSinceLastRotation", age.days_since_rotation, {**dimensions, "SecretName": age.name})
    if ages:  # the environment's oldest: a dashboard SEARCH shows at most 500 secrets, this all of them
        _publish("OldestRotationDays", max(age.days_since_rotation for age in ages), dimensions)
    overdue = [age.name for age in ages if age.overdue]
    rotation_off = [age.name for age in ages if not age.rotation_enabled]
    _publish("OverdueSecrets", len(overdue), dimensions)
    _publish("RotationOffSecrets", len(rotation_off), dimensions)
    if overdue:
        logger.warning(
            "secrets overdue for rotation", extra={"overdue": overdue, "policy_days": settings.max_rotation_days}
        )
    if rotation_off:
        logger.warning("secrets with rotation turned off", extra={"rotation_off": rotation_off})
    logger.info("rotation ages measured", extra={"secrets": len(ages), "overdue": len(overdue)})
    result: dict[str, Any] = {"secrets": len(ages), "overdue": overdue, "rotation_off": rotation_off}
    replicas = replica_health(listed, now=now)
    if replicas:
        result.update(_report_replicas(replicas, dimensions))
    return result


def _report_replicas(replicas: list[ReplicaHealth], dimensions: dict[str, str]) -> dict[str, Any]:
    """One log line per replica (the dashboard's table) and the environment's two counts."""
    for health in replicas:
        healthy = health.in_sync and not health.lagging
        (logger.info if healthy else logger.warning)("replica health", extra=health.log_fields())
    not_in_sync = [f"{h.secret} ({h.region})" for h in replicas if not h.in_sync]
    lagging = [f"{h.secret} ({h.region})" for h in replicas if h.lagging]
    _publish("ReplicasNotInSync", len(not_in_sync), dimensions)
    _publish("ReplicasLagging", len(lagging), dimensions)
    return {"replicas": len(replicas), "replicas_not_in_sync": not_in_sync, "replicas_lagging": lagging}


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    if is_custom_resource_event(event):
        if event.get("ResourceType") == FIRST_VALUE_GUARD:
            return handle_guard(event)
        return handle_deployment(event, check)
    return check()
