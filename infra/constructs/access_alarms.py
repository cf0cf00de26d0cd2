"""Opt-in alarms on who reads secrets, from the account's CloudTrail log group: any denied
GetSecretValue, and GetSecretValue volume outside its learned band (anomaly detection).

Opt-in because they need a trail delivering management events to CloudWatch Logs, which
this app does not own (one trail per organisation is the usual setup)."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct

NAMESPACE = "SecretRotation/Access"
_READ_EVENTS = '($.eventSource = "secretsmanager.amazonaws.com") && ($.eventName = "GetSecretValue")'
DENIED_PATTERN = f'{{ {_READ_EVENTS} && (($.errorCode = "AccessDenied*") || ($.errorCode = "*Unauthorized*")) }}'
CALLS_PATTERN = f"{{ {_READ_EVENTS} }}"


@dataclass(frozen=True)
class AccessAlarmsProps:
    log_group_name: str
    metric_prefix: str  # e.g. "shop-prod": metrics of two environments in one account stay apart
    anomaly_band: float
    topic: sns.ITopic


class AccessAlarms(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: AccessAlarmsProps) -> None:
        super().__init__(scope, construct_id)
        trail = logs.LogGroup.from_log_group_name(self, "Trail", props.log_group_name)
        action = actions.SnsAction(props.topic)
        denied, calls = (
            logs.MetricFilter(
                self,
                f"{name}Filter",
                log_group=trail,
                filter_pattern=logs.FilterPattern.literal(pattern),
                metric_namespace=NAMESPACE,
                metric_name=f"{props.metric_prefix}-GetSecretValue{name}",
                metric_value="1",
                default_value=0,
            )
            for name, pattern in (("Denied", DENIED_PATTERN), ("Calls", CALLS_PATTERN))
        )
        self.denied = denied.metric(statistic="Sum", period=Duration.minutes(5)).create_alarm(
            self,
            "Denied",
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description="GetSecretValue was denied to some principal. Runbook: docs/deploy.md#accessdenied",
        )
        self.unusual = cloudwatch.AnomalyDetectionAlarm(
            self,
            "UnusualVolume",
            metric=calls.metric(statistic="Sum", period=Duration.minutes(15)),
            std_devs=props.anomaly_band,
            evaluation_periods=2,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_UPPER_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description="GetSecretValue volume is above its usual band. Runbook: docs/deploy.md#unusualvolume",
        )
        for alarm in (self.denied, self.unusual):
            alarm.add_alarm_action(action)
