"""Every alarm and every event rule can actually deliver to the alert topic: the topic policy
and the topic's key policy admit each publisher with the context the service sends, and
nothing else. Policies are evaluated with references resolved (tests/infra/aws_policy.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infra.aws_policy import Request, allows
from tests.infra.configs import ACCOUNT, OTHER_ACCOUNT, REGION
from tests.infra.conftest import Templates, resolver
from tests.infra.resolve import TemplateResolver

BASE = "ShopExampleBase"
PARTITION = "aws"


def _topic_policies(res: TemplateResolver) -> dict[str, dict[str, Any]]:
    """Topic ARN -> its resolved topic policy (topics are in the base stack)."""
    policies: dict[str, dict[str, Any]] = {}
    for stack, template in res.templates.items():
        for resource in template["Resources"].values():
            if resource["Type"] == "AWS::SNS::TopicPolicy":
                for topic in resource["Properties"]["Topics"]:
                    policies[res.resolve(topic, stack)] = res.resolve(resource["Properties"]["PolicyDocument"], stack)
    return policies


def _key_of(res: TemplateResolver, topic_arn: str) -> tuple[str, dict[str, Any]]:
    """The topic's KMS key ARN and resolved key policy."""
    for stack, template in res.templates.items():
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] == "AWS::SNS::Topic" and res.resolve({"Ref": logical_id}, stack) == topic_arn:
                key_id = resource["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
                key = template["Resources"][key_id]
                return res.resolve({"Fn::GetAtt": [key_id, "Arn"]}, stack), res.resolve(
                    key["Properties"]["KeyPolicy"], stack
                )
    raise AssertionError(f"no topic {topic_arn}")


def _alarm_actions(res: TemplateResolver) -> list[tuple[str, str]]:
    """(alarm ARN, topic ARN) for every alarm action of every stack."""
    found: list[tuple[str, str]] = []
    for stack, template in res.templates.items():
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] == "AWS::CloudWatch::Alarm":
                alarm_arn = res.resolve({"Fn::GetAtt": [logical_id, "Arn"]}, stack)
                found.extend(
                    (alarm_arn, res.resolve(action, stack)) for action in resource["Properties"]["AlarmActions"]
                )
    return found


def _rule_targets(res: TemplateResolver) -> list[tuple[str, str]]:
    """(rule ARN, topic ARN) for every SNS target of every event rule."""
    found: list[tuple[str, str]] = []
    for stack, template in res.templates.items():
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] == "AWS::Events::Rule":
                rule_arn = res.resolve({"Fn::GetAtt": [logical_id, "Arn"]}, stack)
                for target in resource["Properties"]["Targets"]:
                    arn = res.resolve(target["Arn"], stack)
                    if ":sns:" in arn:
                        found.append((rule_arn, arn))
    return found


def _cloudwatch(action: str, resource: str, alarm_arn: str, topic_arn: str, account: str = ACCOUNT) -> Request:
    return Request(
        action=action,
        resource=resource,
        service="cloudwatch.amazonaws.com",
        context={"aws:SourceAccount": account, "aws:SourceArn": alarm_arn, "aws:SecureTransport": "true",
                 "kms:EncryptionContext:aws:sns:topicArn": topic_arn},
    )  # fmt: skip


def _eventbridge(action: str, resource: str, topic_arn: str) -> Request:
    # EventBridge's SNS delivery carries no source condition keys (the EventBridge user guide:
    # no Condition blocks in topic policies for EventBridge); SNS adds its encryption context.
    return Request(
        action=action,
        resource=resource,
        service="events.amazonaws.com",
        context={"aws:SecureTransport": "true", "kms:EncryptionContext:aws:sns:topicArn": topic_arn},
    )


def test_every_alarm_action_topic_admits_cloudwatch_and_its_key_lets_it_encrypt(example_templates: Templates) -> None:
    res = resolver(example_templates, partition=PARTITION)
    policies = _topic_policies(res)
    actions = _alarm_actions(res)

    assert len(actions) >= 20
    for alarm_arn, topic_arn in actions:
        assert allows(policies[topic_arn], _cloudwatch("sns:Publish", topic_arn, alarm_arn, topic_arn)), alarm_arn
        key_arn, key_policy = _key_of(res, topic_arn)
        for action in ("kms:GenerateDataKey", "kms:Decrypt"):
            assert allows(key_policy, _cloudwatch(action, key_arn, alarm_arn, topic_arn)), (alarm_arn, action)


def test_every_rule_target_topic_admits_eventbridge_and_its_key(example_templates: Templates) -> None:
    res = resolver(example_templates, partition=PARTITION)
    policies = _topic_policies(res)
    targets = _rule_targets(res)

    assert targets  # the rotation-events rule
    for rule_arn, topic_arn in targets:
        assert allows(policies[topic_arn], _eventbridge("sns:Publish", topic_arn, topic_arn)), rule_arn
        key_arn, key_policy = _key_of(res, topic_arn)
        for action in ("kms:GenerateDataKey", "kms:Decrypt"):
            assert allows(key_policy, _eventbridge(action, key_arn, topic_arn)), (rule_arn, action)


@pytest.mark.parametrize(
    "change",
    [
        {"aws:SourceAccount": OTHER_ACCOUNT},  # another account's alarm: the confused deputy
        {"aws:SourceArn": f"arn:aws:cloudwatch:{REGION}:{OTHER_ACCOUNT}:alarm:theirs"},
        {"aws:SecureTransport": "false"},
    ],
)
def test_topic_refuses_publishers_outside_this_account_and_plaintext(
    example_templates: Templates, change: dict[str, str]
) -> None:
    res = resolver(example_templates, partition=PARTITION)
    ((topic_arn, policy),) = _topic_policies(res).items()
    request = _cloudwatch("sns:Publish", topic_arn, f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:x", topic_arn)

    assert not allows(policy, Request(**{**request.__dict__, "context": {**request.context, **change}}))


def test_topic_key_serves_service_principals_only_for_this_topic(example_templates: Templates) -> None:
    res = resolver(example_templates, partition=PARTITION)
    ((topic_arn, _),) = _topic_policies(res).items()
    key_arn, key_policy = _key_of(res, topic_arn)
    elsewhere = f"arn:aws:sns:{REGION}:{ACCOUNT}:another-topic"

    assert not allows(key_policy, _eventbridge("kms:Decrypt", key_arn, elsewhere))
    alarm = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:x"
    assert not allows(key_policy, _cloudwatch("kms:Decrypt", key_arn, alarm, elsewhere))
    assert not allows(key_policy, _cloudwatch("kms:Decrypt", key_arn, alarm, topic_arn, account=OTHER_ACCOUNT))


def test_policy_evaluator_refuses_what_iam_refuses() -> None:
    """The evaluator itself: a topic policy that only admits EventBridge (today's main) refuses
    CloudWatch; explicit Deny wins; negated operators match a missing key."""
    topic = "arn:aws:sns:eu-west-1:123456789012:t"
    events_only = {"Statement": [{"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                                  "Action": "sns:Publish", "Resource": topic}]}  # fmt: skip
    alarm = "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:a"
    assert not allows(events_only, _cloudwatch("sns:Publish", topic, alarm, topic))
    assert allows(events_only, _eventbridge("sns:Publish", topic, topic))
    deny_other_accounts = {"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:*", "Resource": "*"},
        {"Effect": "Deny", "Principal": "*", "Action": "secretsmanager:*", "Resource": "*",
         "Condition": {"StringNotEquals": {"aws:PrincipalAccount": ACCOUNT}}}]}  # fmt: skip
    read = "secretsmanager:GetSecretValue"
    assert not allows(deny_other_accounts, Request(read, "s", principal_arn="r", context={}))
    assert allows(deny_other_accounts, Request(read, "s", principal_arn="r", context={"aws:PrincipalAccount": ACCOUNT}))
