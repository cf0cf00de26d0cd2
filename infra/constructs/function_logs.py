"""One log group per rotation kind for the whole environment, in the base stack.

Functions come and go with their (kind, settings) groups and stacks; their log groups must not:
an explicitly named log group that a stack retains blocks the next create of that name. Here
the names outlive every function (the base stack holds them for all kinds, used or not, and
they cost nothing empty), and ``RetainExceptOnCreate`` deletes them only if the deploy that
created them rolls back (CloudFormation DeletionPolicy attribute), so a failed first deploy
can simply be retried."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.plan import pascal


@dataclass(frozen=True)
class FunctionLogsProps:
    names: dict[str, str]  # kind -> log group name
    retention: logs.RetentionDays
    key: kms.IKey


class FunctionLogs(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: FunctionLogsProps) -> None:
        super().__init__(scope, construct_id)
        self.groups = {
            kind: logs.LogGroup(
                self,
                pascal(kind),
                log_group_name=name,
                retention=props.retention,
                encryption_key=props.key,
                removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
            )
            for kind, name in sorted(props.names.items())
        }
