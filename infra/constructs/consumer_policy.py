"""Read-only access for application roles, once per environment.

- A role of this account gets one managed policy for the whole environment (IAM attaches at
  most 10 managed policies to a role by default, so one per stack would run out):
  GetSecretValue/DescribeSecret on exactly its secrets, named ``<name>-??????`` (the six random
  characters Secrets Manager appends to every secret ARN), in each Region it reads them in (a
  replica's ARN is the primary's with another Region: user guide, "Replicate secrets across
  Regions"), and the primary key through Secrets Manager only. A replica Region's key lets its
  readers decrypt through its own key policy (``replica_key.py``). A policy is at most 6,144
  characters (IAM quotas); a consumer of very many secrets gets as few policies as fit.
- A role of another account cannot be given a policy from here: its secrets' resource
  policies allow it to read (``rotated_secret.py``), and the key policy allows it to decrypt
  through Secrets Manager. Its own account must also allow it (both sides are needed).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

MANAGED_POLICY_LIMIT = 6144  # characters, whitespace excluded (IAM and AWS STS quotas)
_KEY_STATEMENT_ALLOWANCE = 400  # the kms statement, whose key ARN is a token at synth time
READ_ACTIONS = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]


@dataclass(frozen=True)
class ConsumerAccessProps:
    # role ARN -> (secret name, the Regions the role reads it in), the primary Region included if it reads there
    secrets_by_role: dict[str, tuple[tuple[str, tuple[str, ...]], ...]]
    account: str
    partition: str
    region: str
    key: kms.IKey


def role_account(role_arn: str) -> str:
    return role_arn.split(":")[4]


def _secrets_in(arns: list[str]) -> int:
    """Secrets named by ``arns`` (a primary and its replicas differ only in the Region)."""
    return len({arn.rsplit(":", 1)[1] for arn in arns})


def _chunks(arns: list[str]) -> list[list[str]]:
    """Split ``arns`` into as few lists as fit one managed policy each."""
    chunks: list[list[str]] = [[]]
    for arn in arns:
        candidate = [*chunks[-1], arn]
        size = len(json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": READ_ACTIONS,
                                                                        "Resource": candidate}]},
                              separators=(",", ":")))  # fmt: skip
        if chunks[-1] and size + _KEY_STATEMENT_ALLOWANCE > MANAGED_POLICY_LIMIT:
            chunks.append([arn])
        else:
            chunks[-1] = candidate
    return chunks


class ConsumerAccess(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: ConsumerAccessProps) -> None:
        super().__init__(scope, construct_id)
        via_secrets_manager = {"StringEquals": {"kms:ViaService": f"secretsmanager.{props.region}.amazonaws.com"}}
        self.policies: list[iam.ManagedPolicy] = []
        outside = sorted(
            arn
            for arn, names in props.secrets_by_role.items()
            if role_account(arn) != props.account and any(props.region in regions for _, regions in names)
        )
        for role_arn, names in sorted(props.secrets_by_role.items()):
            if role_account(role_arn) != props.account:
                continue
            role_id = f"Consumer{hashlib.sha256(role_arn.encode()).hexdigest()[:8]}"
            role = iam.Role.from_role_arn(self, f"{role_id}Role", role_arn, mutable=True)
            arns = [
                f"arn:{props.partition}:secretsmanager:{region}:{props.account}:secret:{name}-??????"
                for name, regions in sorted(names)
                for region in sorted(regions)
            ]
            reads_primary = any(props.region in regions for _, regions in names)
            key_statements = (
                [iam.PolicyStatement(actions=["kms:Decrypt"], resources=[props.key.key_arn],
                                     conditions=via_secrets_manager)]
                if reads_primary else []
            )  # fmt: skip
            for number, chunk in enumerate(_chunks(arns)):
                self.policies.append(
                    iam.ManagedPolicy(
                        self,
                        f"{role_id}Read{number}" if number else f"{role_id}Read",
                        roles=[role],
                        description=f"read-only access to {_secrets_in(chunk)} rotated secret(s) of this environment",
                        statements=[iam.PolicyStatement(actions=READ_ACTIONS, resources=chunk), *key_statements],
                    )
                )
        if outside:
            props.key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="CrossAccountConsumersDecryptViaSecretsManager",
                    principals=[iam.ArnPrincipal(arn) for arn in outside],
                    actions=["kms:Decrypt"],
                    resources=["*"],  # a key policy's resource is always the key itself
                    conditions=via_secrets_manager,
                )
            )
