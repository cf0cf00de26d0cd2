"""What is watched once per environment: a failed rotation step of any kind (metric
``StepFailed`` with the environment's dimension), and Secrets Manager's own rotation events
for the environment's secrets.

The event rule matches the secrets by ARN *prefix* (``arn:…:secret:<app>/<env>/``), so its
pattern has the same size for 5 secrets or 5,000: EventBridge caps an event pattern at 2,048
characters by default (EventBridge quotas), which a list of ARNs passes at about 19 secrets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jsii
from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.metrics import rotation_metric
from infra.plan import pascal

ROTATION_EVENTS = ("RotationFailed", "TestRotationFailed", "RotationAbandoned")
EVENT_PATTERN_LIMIT = 2048  # characters, EventBridge's default "Event pattern size" quota


@jsii.implements(events.IRuleTarget)
class _TopicTarget:
    """The alert topic as a rule target, without the grants ``targets.SnsTopic`` adds: the topic
    policy and key policy (``alert_topic.py``) already admit EventBridge, scoped to this topic."""

    def __init__(self, topic: sns.ITopic, message: events.RuleTargetInput) -> None:
        self.topic = topic
        self.message = message

    def bind(self, _rule: Any, _id: str | None = None) -> events.RuleTargetConfig:
        return events.RuleTargetConfig(arn=self.topic.topic_arn, input=self.message, target_resource=self.topic)


@dataclass(frozen=True)
class EnvironmentAlarmsProps:
    topic: sns.ITopic
    environment: str  # "<app>/<env>"
    kinds: tuple[str, ...]
    secret_arn_prefix: str  # arn:<partition>:secretsmanager:<region>:<account>:secret:<app>/<env>/


class EnvironmentAlarms(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: EnvironmentAlarmsProps) -> None:
        super().__init__(scope, construct_id)
        action = actions.SnsAction(props.topic)
        self.step_failed: dict[str, cloudwatch.Alarm] = {}
        for kind in props.kinds:
            alarm = rotation_metric(
                "StepFailed", environment=props.environment, statistic="Sum", period=Duration.minutes(5), kind=kind
            ).create_alarm(
                self,
                f"{pascal(kind)}StepFailed",
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=(
                    f"{props.environment} {kind} rotation: a step failed. Runbook: docs/deploy.md#stepfailed"
                ),
            )
            alarm.add_alarm_action(action)
            self.step_failed[kind] = alarm
        self.rule = events.Rule(
            self,
            "RotationEvents",
            description=f"Secrets Manager rotation failed, test failed or abandoned ({props.environment})",
            event_pattern=events.EventPattern(
                source=["aws.secretsmanager"],
                detail={
                    "eventName": list(ROTATION_EVENTS),
                    "additionalEventData": {"SecretId": events.Match.prefix(props.secret_arn_prefix)},
                },
            ),
            targets=[
                _TopicTarget(
                    props.topic,
                    message=events.RuleTargetInput.from_text(
                        f"Secrets Manager {events.EventField.from_path('$.detail.eventName')} for secret "
                        f"{events.EventField.from_path('$.detail.additionalEventData.SecretId')}: "
                        "see docs/deploy.md#rotation-events"
                    ),
                )
            ],
        )
