"""The SNS topic every alarm and rotation event goes to: KMS-encrypted, TLS-only, and open to
exactly the two services that publish to it.

A topic policy replaces SNS's default policy, so each publisher must be allowed explicitly:

- CloudWatch alarms: ``cloudwatch.amazonaws.com`` with ``aws:SourceAccount`` and
  ``aws:SourceArn`` (this account's alarms), as the SNS developer guide's access-control
  examples show; without it every alarm action fails ("not authorized to perform SNS:Publish").
- EventBridge: ``events.amazonaws.com``, without conditions: the EventBridge user guide says
  Condition blocks cannot be used in SNS topic policies for EventBridge.

Both also need the topic's KMS key (SNS "compatibility between event sources from AWS
services and encrypted topics"), scoped by SNS's encryption context ``aws:sns:topicArn``
and, for CloudWatch, the same source conditions.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

TOPIC_KEY_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey*"]


@dataclass(frozen=True)
class AlertTopicProps:
    key: kms.IKey
    emails: tuple[str, ...]
    # Named, so the key policy can scope to the topic's ARN without referencing the topic
    # (which references the key: a cycle).
    topic_name: str


class AlertTopic(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: AlertTopicProps) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.topic = sns.Topic(self, "Topic", topic_name=props.topic_name, master_key=props.key, enforce_ssl=True)
        topic_arn = f"arn:{stack.partition}:sns:{stack.region}:{stack.account}:{props.topic_name}"
        for email in props.emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
        alarms_of_this_account = {
            "StringEquals": {"aws:SourceAccount": stack.account},
            "ArnLike": {"aws:SourceArn": f"arn:{stack.partition}:cloudwatch:{stack.region}:{stack.account}:alarm:*"},
        }
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions=alarms_of_this_account,
            )
        )
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="EventBridgePublish",  # no Condition: EventBridge does not support one here
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
            )
        )
        this_topic = {"kms:EncryptionContext:aws:sns:topicArn": topic_arn}
        props.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsUseTopicKey",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=TOPIC_KEY_ACTIONS,
                resources=["*"],  # a key policy's resource is always the key itself
                conditions={
                    "StringEquals": {**alarms_of_this_account["StringEquals"], **this_topic},
                    "ArnLike": alarms_of_this_account["ArnLike"],
                },
            )
        )
        props.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="EventBridgeUsesTopicKey",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=TOPIC_KEY_ACTIONS,
                resources=["*"],
                conditions={"StringEquals": this_topic},
            )
        )
