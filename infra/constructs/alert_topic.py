"""The SNS topic every alarm and rotation event goes to: KMS-encrypted, TLS-only."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct


@dataclass(frozen=True)
class AlertTopicProps:
    key: kms.IKey
    emails: tuple[str, ...]


class AlertTopic(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: AlertTopicProps) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(self, "Topic", master_key=props.key, enforce_ssl=True)
        for email in props.emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
        # EventBridge and CloudWatch publish encrypted messages: they need the key via SNS only.
        props.key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[
                    iam.ServicePrincipal("events.amazonaws.com"),
                    iam.ServicePrincipal("cloudwatch.amazonaws.com"),
                ],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # a key policy's resource is always the key itself
            )
        )
