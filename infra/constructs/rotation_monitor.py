"""The scheduled check that publishes each secret's days since last rotation
(``lambdas.rotation_monitor``), and the alarm on the check itself failing."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.constructs.rotation_function import RotationFunction, RotationFunctionProps
from infra.metrics import AGE_CHECK_EVERY
from infra.nag import acknowledge


@dataclass(frozen=True)
class RotationMonitorProps:
    environment_tag: str
    max_rotation_days: int
    function_name: str
    log_retention: logs.RetentionDays
    log_key: kms.IKey
    topic: sns.ITopic


class RotationMonitor(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: RotationMonitorProps) -> None:
        super().__init__(scope, construct_id)
        self.check = RotationFunction(
            self,
            "Check",
            props=RotationFunctionProps(
                kind="rotation_monitor",
                environment={
                    "ENVIRONMENT_TAG_VALUE": props.environment_tag,
                    "MAX_ROTATION_DAYS": str(props.max_rotation_days),
                },
                log_retention=props.log_retention,
                log_key=props.log_key,
                function_name=props.function_name,
                reserved_concurrency=1,
            ),
        )
        list_secrets = iam.PolicyStatement(actions=["secretsmanager:ListSecrets"], resources=["*"])
        self.check.role.add_to_principal_policy(list_secrets)
        acknowledge(
            self.check.role,
            "AwsSolutions-IAM5[Resource::*]",
            "secretsmanager:ListSecrets supports no resource-level permission (Service Authorization "
            "Reference); it returns metadata only, never a value",
        )
        self.schedule = events.Rule(
            self,
            "Schedule",
            description="measure days since each secret's last rotation",
            schedule=events.Schedule.rate(AGE_CHECK_EVERY),
            targets=[targets.LambdaFunction(self.check.function, retry_attempts=2)],
        )
        self.failing = self.check.function.metric_errors(period=AGE_CHECK_EVERY).create_alarm(
            self,
            "CheckFailing",
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description="The rotation-age check failed: overdue rotations would go unnoticed. "
            "Runbook: docs/deploy.md#monitorfailing",
        )
        self.failing.add_alarm_action(actions.SnsAction(props.topic))
