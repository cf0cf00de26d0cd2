"""Read-only access for an application role: GetSecretValue/DescribeSecret on exactly its
secrets, and the key only through Secrets Manager."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct


@dataclass(frozen=True)
class ConsumerPolicyProps:
    role_arn: str
    secret_arns: tuple[str, ...]
    key: kms.IKey


class ConsumerPolicy(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: ConsumerPolicyProps) -> None:
        super().__init__(scope, construct_id)
        region = Stack.of(self).region
        role = iam.Role.from_role_arn(self, "Role", props.role_arn, mutable=True)
        self.policy = iam.ManagedPolicy(
            self,
            "ReadPolicy",
            roles=[role],
            description=f"read-only access to {len(props.secret_arns)} rotated secret(s)",
            statements=[
                iam.PolicyStatement(
                    actions=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                    resources=list(props.secret_arns),
                ),
                iam.PolicyStatement(
                    actions=["kms:Decrypt"],
                    resources=[props.key.key_arn],
                    conditions={"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}},
                ),
            ],
        )
