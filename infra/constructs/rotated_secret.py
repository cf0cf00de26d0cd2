"""A KMS-encrypted secret, its rotation schedule, the invoke permission scoped to it, and the
rotation function's rights on exactly this secret.

The secret survives every stack operation but the one that created it: ``RetainExceptOnCreate``
keeps it when it leaves the template or its stack is deleted, and deletes it only if the
deploy that created it rolls back (so a retry can create it again); ``UpdateReplacePolicy:
Retain`` keeps the old one should a change ever need a replacement (CloudFormation
DeletionPolicy / UpdateReplacePolicy attributes).

Replicas (``ReplicaRegions``): Secrets Manager copies the secret's versions, staging labels,
tags and resource policy to each replica Region; rotation stays here, on the primary (a replica
"can't be updated independently from its primary secret, except for its encryption key"). Each
replica is encrypted with the environment's key of its Region, named by alias (``ReplicaRegions``
``KmsKeyId`` takes an ARN, a key id or an alias), and the secret carries the tag
``rotation-kit:replica-regions`` so the rotation-age check knows which replicas to expect."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from aws_cdk import Fn, RemovalPolicy, SecretValue, Stack, Tags
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct, IConstruct

from infra.config import TARGET_PASSWORD_RULES, SecretConfig, SecretReference
from infra.nag import acknowledge
from lambdas.rotation_monitor.monitor import ENVIRONMENT_TAG_KEY, REPLICA_REGIONS_TAG_KEY, replica_regions_tag
from lambdas.targets.passwords import PRINTABLE_ASCII, PasswordRule
from lambdas.targets.valkey import parse_node_address

SECRET_ACTIONS = (
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage",
)
READ_ACTIONS = ("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret")
HEX_ONLY = "ghijklmnopqrstuvwxyz"  # with upper case and punctuation excluded: lowercase hex


@dataclass(frozen=True)
class RotatedSecretProps:
    name: str
    config: SecretConfig
    environment_tag: str  # "<app>/<env>": how the rotation-age check finds the secret
    key: kms.IKey
    function: lambda_.IFunction
    role: iam.IRole
    rotate_immediately: bool  # RotateImmediatelyOnUpdate, decided by infra/first_deploy.py
    # Resources the deploy-time rotation or configuration test needs first (ingress rules).
    prerequisites: tuple[IConstruct, ...] = field(default_factory=tuple)
    cross_account_readers: tuple[str, ...] = ()  # role ARNs of other accounts that may read it
    replica_regions: tuple[str, ...] = ()  # Secrets Manager replicates the secret there
    replica_key_alias: str | None = None  # the alias of each replica Region's key (required with replicas)


def _endpoint(target: object) -> dict[str, object]:
    host = getattr(target, "host", None)
    return {"host": host, "port": getattr(target, "port", 6379)} if host else {}


def _shape(config: SecretConfig) -> tuple[dict[str, object], str]:
    """The kind's secret JSON without its secret field, and that field's name."""
    target = config.target
    if config.kind == "hmac_key":
        return {field: "" for field in target.fields[1:]}, target.fields[0]
    if config.kind.startswith("postgres"):
        template: dict[str, object] = {
            "engine": "postgres",
            "host": target.host,
            "port": target.port,
            "dbname": target.dbname,
            "username": target.username,
        }
        if target.admin_secret_arn:
            template["masterarn"] = target.admin_secret_arn
        return template, "password"
    if config.kind == "valkey_acl":
        # Without brackets: "[::1]" is no host name to a client that reads host and port.
        host, port = parse_node_address(target.nodes[0]) or ("", 0)  # the config checked every node
        return {
            "host": host,
            "port": port,
            "username": target.username,
            "nodes": list(target.nodes),
            "masterarn": target.admin_secret_arn,
        }, "password"
    if config.kind == "elasticache_user":
        return {"user_arn": target.user_arn, "username": target.username, **_endpoint(target)}, "password"
    return {"replication_group_id": target.replication_group_id, **_endpoint(target)}, "auth_token"


def _outside(rule: PasswordRule) -> str:
    """The printable characters ``rule`` does not allow, as GenerateSecretString's ExcludeCharacters."""
    return "".join(char for char in PRINTABLE_ASCII if char not in rule.allowed)


def _generation(config: SecretConfig) -> dict[str, object]:
    """``GenerateSecretString``: a first value in the kind's JSON shape, generated with the
    secret's own password settings (the keyword arguments of ``SecretStringGenerator``)."""
    template, key = _shape(config)
    if config.kind == "hmac_key":
        return {
            "secret_string_template": json.dumps(template),
            "generate_string_key": key,
            "password_length": 2 * config.target.key_bytes,
            "exclude_punctuation": True,
            "exclude_uppercase": True,
            "exclude_characters": HEX_ONLY,
        }
    settings = config.password_settings
    rule = TARGET_PASSWORD_RULES.get(config.kind)
    excluded = settings.exclude_characters + (_outside(rule) if rule else "")
    return {
        "secret_string_template": json.dumps(template),
        "generate_string_key": key,
        "password_length": settings.length,
        "exclude_characters": "".join(dict.fromkeys(excluded)),
        # An AUTH token allows only letters, digits and ! & # $ ^ < > -: letters and digits meet it.
        "exclude_punctuation": config.kind == "elasticache_auth_token",
    }


def _generated(config: SecretConfig) -> secretsmanager.SecretStringGenerator:
    return secretsmanager.SecretStringGenerator(**_generation(config))  # type: ignore[arg-type]


def first_value_fingerprint(config: SecretConfig) -> str:
    """A digest of what CloudFormation is given for the first value (``GenerateSecretString``,
    or the shape and the reference of ``SecretString``): when it changes, CloudFormation writes a
    new AWSCURRENT, which the first-value guard refuses for a live secret. Holds no value."""
    reference = config.initial_value_from
    if reference is None:
        described: dict[str, object] = {"generated": _generation(config)}
    else:
        template, key = _shape(config)
        source = [reference.secret_arn, reference.json_field]
        described = {"referenced": {"template": template, "key": key, "from": source}}
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:32]


def _referenced(config: SecretConfig, reference: SecretReference) -> SecretValue:
    """The kind's JSON with its secret field taken from an existing secret by dynamic reference.
    The referenced value is placed inside a JSON string as is, so it must not contain ``"`` or
    ``\\`` (generated passwords and hex keys do not; check any other). A secretsmanager dynamic
    reference may be used in any resource property (Secrets Manager user guide,
    "Get an AWS Secrets Manager secret in an AWS CloudFormation resource")."""
    template, key = _shape(config)
    placeholder = "__rotation_kit_reference__"
    before, after = json.dumps({**template, key: placeholder}).split(placeholder)
    resolved = SecretValue.secrets_manager(reference.secret_arn, json_field=reference.json_field)
    return SecretValue.unsafe_plain_text(Fn.join("", [before, resolved.unsafe_unwrap(), after]))


class RotatedSecret(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: RotatedSecretProps) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        config = props.config
        reference = config.initial_value_from
        self.secret = secretsmanager.Secret(
            self,
            "Secret",
            secret_name=props.name,
            encryption_key=props.key,
            generate_secret_string=None if reference else _generated(config),
            secret_string_value=_referenced(config, reference) if reference else None,
            description=f"{config.kind} secret rotated by secret-rotation-kit",
            removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
        )
        Tags.of(self.secret).add(ENVIRONMENT_TAG_KEY, props.environment_tag)
        self._replicas(props)
        self._resource_policy(stack, props.cross_account_readers)
        self.schedule = secretsmanager.CfnRotationSchedule(
            self,
            "Schedule",
            secret_id=self.secret.secret_arn,
            rotation_lambda_arn=props.function.function_arn,
            rotation_rules=secretsmanager.CfnRotationSchedule.RotationRulesProperty(
                schedule_expression=config.schedule,
                duration=config.window,
            ),
            rotate_immediately_on_update=props.rotate_immediately,
        )
        # Secrets Manager may invoke the function only for this secret, from this account.
        self.permission = lambda_.CfnPermission(
            self,
            "InvokeFromSecretsManager",
            action="lambda:InvokeFunction",
            function_name=props.function.function_arn,
            principal="secretsmanager.amazonaws.com",
            source_arn=self.secret.secret_arn,
            source_account=stack.account,
        )
        # The schedule's deploy-time rotation or configuration test runs the function at once.
        for prerequisite in (self.permission, *props.prerequisites):
            self.schedule.node.add_dependency(prerequisite)
        self._function_rights(stack, props)
        acknowledge(
            self.secret, "AwsSolutions-SMG4", "rotation is configured by CfnRotationSchedule with a schedule expression"
        )

    def _replicas(self, props: RotatedSecretProps) -> None:
        if not props.replica_regions:
            return
        if props.replica_key_alias is None:
            raise ValueError(f"secret {props.name!r}: replica_regions need replica_key_alias (each replica's key)")
        cfn: secretsmanager.CfnSecret = self.secret.node.default_child  # type: ignore[assignment]
        cfn.replica_regions = [
            secretsmanager.CfnSecret.ReplicaRegionProperty(region=region, kms_key_id=props.replica_key_alias)
            for region in sorted(props.replica_regions)
        ]
        Tags.of(self.secret).add(REPLICA_REGIONS_TAG_KEY, replica_regions_tag(props.replica_regions))

    def _resource_policy(self, stack: Stack, readers: tuple[str, ...]) -> None:
        """Nobody outside this account may use the secret, except the configured readers, who
        may only read it (their own account must also allow them: cross-account access needs both)."""
        outside: dict[str, dict[str, object]] = {"StringNotEquals": {"aws:PrincipalAccount": stack.account}}
        if readers:
            outside["ArnNotEquals"] = {"aws:PrincipalArn": list(readers)}
        self.secret.add_to_resource_policy(
            iam.PolicyStatement(
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["secretsmanager:*"],
                resources=["*"],  # a resource policy's resource is always this secret
                conditions=outside,
            )
        )
        if readers:
            self.secret.add_to_resource_policy(
                iam.PolicyStatement(
                    principals=[iam.ArnPrincipal(arn) for arn in readers],
                    actions=list(READ_ACTIONS),
                    resources=["*"],
                )
            )
        # A secret that leaves the template stays (RetainExceptOnCreate), and so must its policy.
        policy = self.secret.node.find_child("Policy")
        policy.apply_removal_policy(RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE)  # type: ignore[attr-defined]

    def _function_rights(self, stack: Stack, props: RotatedSecretProps) -> None:
        config = props.config
        props.role.add_to_principal_policy(
            iam.PolicyStatement(actions=list(SECRET_ACTIONS), resources=[self.secret.secret_arn])
        )
        if config.admin_secret_arn:
            props.role.add_to_principal_policy(
                iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=[config.admin_secret_arn])
            )
        if config.admin_secret_kms_key_arn:
            # The admin secret's own key (an RDS-managed master secret has one): decrypt through
            # Secrets Manager only, as for the environment key.
            props.role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["kms:Decrypt"],
                    resources=[config.admin_secret_kms_key_arn],
                    conditions={"StringEquals": {"kms:ViaService": f"secretsmanager.{stack.region}.amazonaws.com"}},
                )
            )
