"""The KMS key that encrypts an environment's replica secrets in one replica Region.

A per-Region key, not a multi-Region key replica: Secrets Manager decrypts each version with the
primary secret's key and re-encrypts it with the replica's key (user guide, "How Secrets Manager
authorizes cross-account replication"), so shared key material buys nothing here, and KMS
advises a multi-Region key "only when you need one" (KMS developer guide, "Security
considerations for multi-Region keys"). The environment key cannot become one either:
``MultiRegion`` cannot change after a key is created (``AWS::KMS::Key``). And an
``AWS::KMS::ReplicaKey`` takes its primary's ARN, which would be a cross-Region reference;
this key is found by its alias, the same name as the primary key's (aliases are Regional), so
nothing crosses Regions at deploy time.

- Readers: the consumer roles that read replicas in this Region may decrypt through Secrets
  Manager in this Region only (a key policy statement alone grants a principal of the account:
  KMS developer guide, "KMS key access and permissions"; another account must also allow it).
- Rotation functions: Secrets Manager re-encrypts each new version for the replica when the
  function writes it in the primary Region. Whose permissions that uses is documented only for
  cross-account replication (a replication role, or the caller's forward access session); the
  stricter reading grants the functions ``kms:Encrypt`` and ``kms:GenerateDataKey`` on this key
  through Secrets Manager, in a managed policy with a fixed name the rotation stacks attach.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

REPLICATION_ACTIONS = ("kms:Encrypt", "kms:GenerateDataKey")


@dataclass(frozen=True)
class ReplicaKeyProps:
    environment: str  # "<app>/<env>"
    region: str
    alias: str  # the environment key's alias, the same name in every Region
    readers: tuple[str, ...]  # role ARNs that read this Region's replicas
    rotation_policy_name: str  # managed policy the rotation functions attach by name


class ReplicaKey(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: ReplicaKeyProps) -> None:
        super().__init__(scope, construct_id)
        via_secrets_manager = {"StringEquals": {"kms:ViaService": f"secretsmanager.{props.region}.amazonaws.com"}}
        self.key = kms.Key(
            self,
            "Key",
            enable_key_rotation=True,
            alias=props.alias,
            description=f"encrypts the {props.environment} replica secrets in {props.region}",
            removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
        )
        if props.readers:
            self.key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="ConsumersDecryptViaSecretsManager",
                    principals=[iam.ArnPrincipal(arn) for arn in sorted(props.readers)],
                    actions=["kms:Decrypt"],
                    resources=["*"],  # a key policy's resource is always the key itself
                    conditions=via_secrets_manager,
                )
            )
        self.rotation_policy = iam.ManagedPolicy(
            self,
            "RotationFunctionsEncrypt",
            managed_policy_name=props.rotation_policy_name,
            description=f"rotation functions of {props.environment}: re-encryption of new versions for "
            f"the replicas in {props.region}",
            statements=[
                iam.PolicyStatement(
                    actions=list(REPLICATION_ACTIONS), resources=[self.key.key_arn], conditions=via_secrets_manager
                )
            ],
        )
