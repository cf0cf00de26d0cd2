"""Resolve CloudFormation references in synthesized templates to values of real length, so a
test can measure what the service will see (a pattern's size, a name's length, an ARN a
condition must match) instead of the ``{"Ref": ...}`` placeholders CDK writes.

Physical values follow AWS's formats: a secret ARN ends with ``-`` and six random characters
(CreateSecret), a generated name is ``<stack>-<logical id>-<12 characters>`` (CloudFormation's
naming for unnamed resources), and the partition is the longest one, ``aws-us-gov``, unless
the caller says otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

LONGEST_PARTITION = "aws-us-gov"
_SUFFIX = "AbCdEf"  # the six random characters Secrets Manager appends to a secret's ARN
_GENERATED = "A1B2C3D4E5F6"
_KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"


class TemplateResolver:
    def __init__(
        self,
        templates: Mapping[str, Mapping[str, Any]],
        *,
        account: str,
        region: str,
        partition: str = LONGEST_PARTITION,
    ) -> None:
        self.templates = templates
        self.account, self.region, self.partition = account, region, partition
        self.exports = {
            output["Export"]["Name"]: (stack, output["Value"])
            for stack, template in templates.items()
            for output in template.get("Outputs", {}).values()
            if isinstance(output.get("Export", {}).get("Name"), str)
        }

    def resolve(self, value: Any, stack: str) -> Any:
        """``value`` with every intrinsic function of ``stack``'s template replaced by a string."""
        if isinstance(value, list):
            return [self.resolve(item, stack) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((name, argument),) = value.items()
            if name == "Ref":
                return self._ref(argument, stack)
            if name == "Fn::GetAtt":
                return self._get_att(argument[0], argument[1], stack)
            if name == "Fn::Join":
                separator, parts = argument
                return separator.join(str(self.resolve(part, stack)) for part in parts)
            if name == "Fn::ImportValue":
                exporter, exported = self.exports[self.resolve(argument, stack)]
                return self.resolve(exported, exporter)
            if name == "Fn::Select":
                index, items = argument
                return self.resolve(items, stack)[int(index)]
            if name == "Fn::Split":
                separator, text = argument
                return str(self.resolve(text, stack)).split(separator)
        return {key: self.resolve(item, stack) for key, item in value.items()}

    def _resource(self, logical_id: str, stack: str) -> Mapping[str, Any]:
        return self.templates[stack]["Resources"][logical_id]  # type: ignore[no-any-return]

    def _arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        region = self.region if regional else ""
        return f"arn:{self.partition}:{service}:{region}:{self.account}:{resource}"

    def _ref(self, name: str, stack: str) -> str:
        pseudo = {
            "AWS::Partition": self.partition,
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": stack,
        }
        if name in pseudo:
            return pseudo[name]
        resource = self._resource(name, stack)
        kind, properties = resource["Type"], resource.get("Properties", {})
        if kind == "AWS::SecretsManager::Secret":
            return self._arn("secretsmanager", f"secret:{self.resolve(properties['Name'], stack)}-{_SUFFIX}")
        if kind == "AWS::SNS::Topic":
            topic = properties.get("TopicName") or f"{stack}-{name}-{_GENERATED}"
            return self._arn("sns", self.resolve(topic, stack))
        if kind == "AWS::Lambda::Function":
            return str(self.resolve(properties.get("FunctionName") or f"{stack}-{name}-{_GENERATED}", stack))
        if kind == "AWS::KMS::Key":
            return _KEY_ID
        if kind == "AWS::Events::Rule":
            return f"{stack}-{name}-{_GENERATED}"
        if kind == "AWS::CloudWatch::Alarm":
            return str(properties.get("AlarmName") or f"{stack}-{name}-{_GENERATED}")
        return f"{stack}-{name}-{_GENERATED}"

    def _get_att(self, logical_id: str, attribute: str, stack: str) -> str:
        kind = self._resource(logical_id, stack)["Type"]
        physical = self._ref(logical_id, stack)
        if attribute != "Arn":
            return f"{physical}.{attribute}"
        return {
            "AWS::Lambda::Function": lambda: self._arn("lambda", f"function:{physical}"),
            "AWS::KMS::Key": lambda: self._arn("kms", f"key/{physical}"),
            "AWS::IAM::Role": lambda: self._arn("iam", f"role/{physical}", regional=False),
            "AWS::Events::Rule": lambda: self._arn("events", f"rule/{physical}"),
            "AWS::CloudWatch::Alarm": lambda: self._arn("cloudwatch", f"alarm:{physical}"),
            "AWS::SQS::Queue": lambda: self._arn("sqs", physical),
        }.get(kind, lambda: physical)()
