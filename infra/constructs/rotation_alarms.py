"""Alarms of one rotation stack, paging through the alert topic: each function's errors,
throttles and duration near its timeout, and each secret's days since last rotation. Messages
name the function or secret, never a value. (Failed steps per kind and Secrets Manager's
rotation events are watched once per environment: ``environment_alarms.py``.)"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.metrics import AGE_CHECK_EVERY, rotation_metric


@dataclass(frozen=True)
class RotationAlarmsProps:
    topic: sns.ITopic
    environment: str  # "<app>/<env>"
    functions: dict[str, tuple[lambda_.Function, str]]  # function group construct id -> (function, its name)
    secret_names: dict[str, str]  # secret construct id -> secret name
    max_rotation_days: int


class RotationAlarms(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: RotationAlarmsProps) -> None:
        super().__init__(scope, construct_id)
        action = actions.SnsAction(props.topic)
        self.alarms: list[cloudwatch.Alarm] = []
        for group_id, (function, function_name) in sorted(props.functions.items()):
            timeout_ms = function.timeout.to_milliseconds() if function.timeout else 3000
            checks = {
                "Errors": (function.metric_errors(period=Duration.minutes(5)), 1),
                "Throttles": (function.metric_throttles(period=Duration.minutes(5)), 1),
                "DurationNearTimeout": (
                    function.metric_duration(period=Duration.minutes(5), statistic="Maximum"),
                    0.8 * timeout_ms,
                ),
            }
            for name, (metric, threshold) in checks.items():
                alarm = metric.create_alarm(
                    self,
                    f"{group_id}{name}",
                    threshold=threshold,
                    evaluation_periods=1,
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                    treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                    alarm_description=f"{function_name}: {name}. Runbook: docs/deploy.md#{name.lower()}",
                )
                alarm.add_alarm_action(action)
                self.alarms.append(alarm)
        for construct_id_, name in sorted(props.secret_names.items()):
            alarm = rotation_metric(
                "DaysSinceLastRotation",
                environment=props.environment,
                statistic="Maximum",
                period=AGE_CHECK_EVERY,
                SecretName=name,
            ).create_alarm(
                self,
                f"{construct_id_}Overdue",
                threshold=props.max_rotation_days,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=f"{name} was last rotated more than {props.max_rotation_days} days ago. "
                "Runbook: docs/deploy.md#overdue",
            )
            alarm.add_alarm_action(action)
            self.alarms.append(alarm)
