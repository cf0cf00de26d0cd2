"""The scheduled check that publishes each secret's days since last rotation
(``lambdas.rotation_monitor``), and the alarms that keep silence from passing for health:

- ``CheckFailing``: the check raised (Lambda Errors).
- ``CheckSilent``: no check result for two periods, whatever the reason (the function, its
  schedule or its permissions gone): missing data is breaching.
- ``RotationOff``: some secret of the environment has rotation turned off.
- With replica Regions, ``ReplicaNotInSync``: a replica's ``ReplicationStatus`` is not
  ``InSync`` (or the replica is missing), and ``ReplicaLagging``: a replica's AWSCURRENT is not
  the primary's AWSCURRENT well after the primary's last rotation (``lambdas.rotation_monitor.replicas``).

The check also runs once when the base stack is deployed (a custom resource backed by the
same function), so ``CheckSilent``, created after it, starts from a real data point."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from aws_cdk import CustomResource
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.constructs.rotation_function import RotationFunction, RotationFunctionProps
from infra.metrics import AGE_CHECK_EVERY, rotation_metric
from infra.nag import acknowledge

SILENT_PERIODS = 2  # one schedule may slip past a period boundary; two missing periods is silence


@dataclass(frozen=True)
class RotationMonitorProps:
    environment_tag: str  # "<app>/<env>": tag value and metric dimension
    max_rotation_days: int
    function_name: str
    code: lambda_.Code
    log_group: logs.ILogGroup
    topic: sns.ITopic
    replica_regions: tuple[str, ...] = ()
    # ARN patterns (the environment's name prefix in the primary and each replica Region) the check
    # may DescribeSecret: ReplicationStatus is in DescribeSecret only, not in ListSecrets.
    described_secrets: tuple[str, ...] = ()


class RotationMonitor(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: RotationMonitorProps) -> None:
        super().__init__(scope, construct_id)
        settings = {"ENVIRONMENT_TAG_VALUE": props.environment_tag, "MAX_ROTATION_DAYS": str(props.max_rotation_days)}
        self.check = RotationFunction(
            self,
            "Check",
            props=RotationFunctionProps(
                kind="rotation_monitor",
                function_name=props.function_name,
                code=props.code,
                environment=settings,
                environment_id=props.environment_tag,
                log_group=props.log_group,
            ),
        )
        list_secrets = iam.PolicyStatement(actions=["secretsmanager:ListSecrets"], resources=["*"])
        self.check.role.add_to_principal_policy(list_secrets)
        if props.described_secrets:
            self.check.role.add_to_principal_policy(
                iam.PolicyStatement(actions=["secretsmanager:DescribeSecret"], resources=list(props.described_secrets))
            )
            for pattern in props.described_secrets:
                acknowledge(
                    self.check.role,
                    f"AwsSolutions-IAM5[Resource::{pattern}]",
                    "the check describes every secret of the environment (its name prefix) in the primary and each "
                    "replica Region; DescribeSecret returns metadata only, never a value",
                )
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
        self.first_run = CustomResource(
            self,
            "FirstRun",
            service_token=self.check.function.function_arn,
            resource_type="Custom::RotationAgeCheck",
            # Changing what the check measures runs it again at deploy.
            properties={"Settings": hashlib.sha256(repr(sorted(settings.items())).encode()).hexdigest()[:16]},
        )
        action = actions.SnsAction(props.topic)
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

        def environment_metric(name: str, statistic: str) -> cloudwatch.Metric:
            return rotation_metric(name, environment=props.environment_tag, statistic=statistic, period=AGE_CHECK_EVERY)

        self.silent = environment_metric("OverdueSecrets", "SampleCount").create_alarm(
            self,
            "CheckSilent",
            threshold=1,
            evaluation_periods=SILENT_PERIODS,
            datapoints_to_alarm=SILENT_PERIODS,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
            alarm_description=f"The rotation-age check of {props.environment_tag} published nothing for "
            f"{SILENT_PERIODS * AGE_CHECK_EVERY.to_hours():.0f} hours: overdue rotations would go unnoticed. "
            "Runbook: docs/deploy.md#monitorsilent",
        )
        self.silent.node.add_dependency(self.first_run)

        def any_counted(metric: str, construct_id: str, description: str) -> cloudwatch.Alarm:
            """An alarm when the check counted at least one secret (or replica) in ``metric``."""
            return environment_metric(metric, "Maximum").create_alarm(
                self,
                construct_id,
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=description,
            )

        self.rotation_off = any_counted(
            "RotationOffSecrets",
            "RotationOff",
            f"Rotation is turned off for a secret of {props.environment_tag}: the check's log names it. "
            "Runbook: docs/deploy.md#rotationoff",
        )
        self.replica_alarms: list[cloudwatch.Alarm] = []
        if props.replica_regions:
            regions = ", ".join(props.replica_regions)
            self.replica_alarms = [
                any_counted(
                    "ReplicasNotInSync",
                    "ReplicaNotInSync",
                    f"A replica of a {props.environment_tag} secret ({regions}) is not InSync or is missing: the "
                    "check's log names it and its status message. Runbook: docs/deploy.md#replicanotinsync",
                ),
                any_counted(
                    "ReplicasLagging",
                    "ReplicaLagging",
                    f"A replica of a {props.environment_tag} secret ({regions}) still serves an older AWSCURRENT "
                    "than the primary after its last rotation. Runbook: docs/deploy.md#replicalagging",
                ),
            ]
        for alarm in (self.failing, self.silent, self.rotation_off, *self.replica_alarms):
            alarm.add_alarm_action(action)
