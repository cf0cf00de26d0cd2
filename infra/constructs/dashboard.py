"""One dashboard per environment: steps and rotations per kind, step durations, Lambda errors,
and step outcomes per secret from the functions' structured logs; with replica Regions, the
replicas not in sync or lagging and, from the rotation-age check's log, which ones and why.
Every metric is filtered by
the environment's dimension, and the log query names only the environment's per-kind log
groups (base stack), which exist for as long as the dashboard does: at most six, well inside
Logs Insights' 50 log groups per query (StartQuery API reference)."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from infra.metrics import AGE_CHECK_EVERY, rotation_metric
from lambdas.rotation.telemetry import METRICS_NAMESPACE


@dataclass(frozen=True)
class RotationDashboardProps:
    name: str
    kinds: tuple[str, ...]
    function_prefix: str
    log_group_names: tuple[str, ...]
    max_rotation_days: int
    environment: str  # "<app>/<env>"
    monitor_log_group_name: str | None = None  # the age check's log group: replica health (with replicas)


MAX_LOG_GROUPS_PER_QUERY = 50


class RotationDashboard(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: RotationDashboardProps) -> None:
        super().__init__(scope, construct_id)
        if not 1 <= len(props.log_group_names) <= MAX_LOG_GROUPS_PER_QUERY:
            raise ValueError(
                f"the dashboard's log query names {len(props.log_group_names)} log groups; "
                f"Logs Insights takes 1-{MAX_LOG_GROUPS_PER_QUERY}"
            )

        def metric(kind: str, name: str, statistic: str) -> cloudwatch.Metric:
            return rotation_metric(
                name,
                environment=props.environment,
                statistic=statistic,
                period=Duration.hours(1),
                label=f"{kind} {name}",
                kind=kind,
            )

        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=props.name)
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Rotations completed / steps failed",
                width=12,
                left=[metric(kind, "RotationCompleted", "Sum") for kind in props.kinds],
                right=[metric(kind, "StepFailed", "Sum") for kind in props.kinds],
            ),
            cloudwatch.GraphWidget(
                title="Step duration (p99, ms)",
                width=12,
                left=[metric(kind, "StepDuration", "p99") for kind in props.kinds],
            ),
            cloudwatch.GraphWidget(
                title="Rotation Lambda errors",
                width=12,
                left=[
                    cloudwatch.MathExpression(
                        expression=(
                            'SEARCH(\'{AWS/Lambda,FunctionName} MetricName="Errors" '
                            f"{props.function_prefix}', 'Sum', 3600)"
                        ),
                        label="errors",
                        period=Duration.hours(1),
                    )
                ],
            ),
            cloudwatch.GraphWidget(
                # SEARCH returns at most 500 time series (CDK SearchExpression / CloudWatch search
                # syntax docs): past 500 secrets some are not drawn, the "oldest" line still covers all
                title="Days since last rotation, per secret (up to 500) and oldest of all",
                width=12,
                left=[
                    rotation_metric(
                        "OldestRotationDays",
                        environment=props.environment,
                        statistic="Maximum",
                        period=AGE_CHECK_EVERY,
                        label="oldest (all secrets)",
                    ),
                    cloudwatch.MathExpression(
                        expression=(
                            f"SEARCH('{{{METRICS_NAMESPACE},SecretName,environment,service}} "
                            f'MetricName="DaysSinceLastRotation" environment="{props.environment}"\', '
                            f"'Maximum', {AGE_CHECK_EVERY.to_seconds():.0f})"
                        ),
                        label="days",
                        period=AGE_CHECK_EVERY,
                    ),
                ],
                left_annotations=[
                    cloudwatch.HorizontalAnnotation(value=props.max_rotation_days, label="rotation policy")
                ],
            ),
            cloudwatch.LogQueryWidget(
                title="Step outcomes per secret (last rotation first)",
                width=12,
                log_group_names=list(props.log_group_names),
                query_lines=[
                    "fields @timestamp, secret_arn, step, message",
                    'filter message in ["step succeeded", "step failed"]',
                    "stats latest(@timestamp) as last, count(*) as steps by secret_arn, message",
                    "sort last desc",
                ],
            ),
        )
        if props.monitor_log_group_name is not None:
            self._replicas(props, props.monitor_log_group_name)

    def _replicas(self, props: RotationDashboardProps, log_group_name: str) -> None:
        def count(name: str) -> cloudwatch.Metric:
            return rotation_metric(
                name, environment=props.environment, statistic="Maximum", period=AGE_CHECK_EVERY, label=name
            )

        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Replicas not in sync / lagging the primary",
                width=12,
                left=[count("ReplicasNotInSync"), count("ReplicasLagging")],
            ),
            cloudwatch.LogQueryWidget(
                title="Replica health per secret and Region (latest check)",
                width=12,
                log_group_names=[log_group_name],
                query_lines=[
                    "fields @timestamp, secret, region, status, status_message, lag_seconds",
                    'filter message = "replica health"',
                    "stats latest(status) as state, latest(status_message) as why, latest(lag_seconds) as lag "
                    "by secret, region",
                    "sort state asc",
                ],
            ),
        )
