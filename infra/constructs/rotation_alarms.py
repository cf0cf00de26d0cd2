"""Alarms and event rules that page through the alert topic: failed steps, failed or
abandoned rotations (Secrets Manager's CloudTrail events), Lambda errors, throttles and
duration near the timeout. Messages name the secret and the event, never a value."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.metrics import AGE_CHECK_EVERY, rotation_metric

ROTATION_EVENTS = ("RotationFailed", "TestRotationFailed", "RotationAbandoned")


@dataclass(frozen=True)
class RotationAlarmsProps:
    topic: sns.ITopic
    functions: dict[str, lambda_.Function]
    secret_arns: tuple[str, ...]
    secret_names: dict[str, str]  # stable construct id -> secret name
    max_rotation_days: int


class RotationAlarms(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: RotationAlarmsProps) -> None:
        super().__init__(scope, construct_id)
        action = actions.SnsAction(props.topic)
        self.alarms: list[cloudwatch.Alarm] = []
        for kind, function in props.functions.items():
            timeout_ms = function.timeout.to_milliseconds() if function.timeout else 60000
            checks = {
                "StepFailed": (
                    rotation_metric("StepFailed", statistic="Sum", period=Duration.minutes(5), kind=kind),
                    1,
                ),
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
                    f"{kind}{name}",
                    threshold=threshold,
                    evaluation_periods=1,
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                    treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                    alarm_description=f"{kind} rotation: {name}. Runbook: docs/deploy.md#{name.lower()}",
                )
                alarm.add_alarm_action(action)
                self.alarms.append(alarm)
        for construct_id, name in sorted(props.secret_names.items()):
            alarm = rotation_metric(
                "DaysSinceLastRotation", statistic="Maximum", period=AGE_CHECK_EVERY, SecretName=name
            ).create_alarm(
                self,
                f"{construct_id}Overdue",
                threshold=props.max_rotation_days,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=f"{name} was last rotated more than {props.max_rotation_days} days ago. "
                "Runbook: docs/deploy.md#overdue",
            )
            alarm.add_alarm_action(action)
            self.alarms.append(alarm)
        self.rule = events.Rule(
            self,
            "RotationEvents",
            description="Secrets Manager rotation failed, test failed or abandoned",
            event_pattern=events.EventPattern(
                source=["aws.secretsmanager"],
                detail={
                    "eventName": list(ROTATION_EVENTS),
                    "additionalEventData": {"SecretId": list(props.secret_arns)},
                },
            ),
            targets=[
                targets.SnsTopic(
                    props.topic,
                    message=events.RuleTargetInput.from_text(
                        f"Secrets Manager {events.EventField.from_path('$.detail.eventName')} for secret "
                        f"{events.EventField.from_path('$.detail.additionalEventData.SecretId')}: "
                        "see docs/deploy.md#rotation-events"
                    ),
                )
            ],
        )
