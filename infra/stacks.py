"""Stacks only compose constructs. Per environment: a base stack (key, alert topic, dashboard)
and as many rotation stacks as needed to stay far below CloudFormation's 500-resource limit."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from aws_cdk import Environment, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.config import NETWORKED_KINDS, EnvironmentConfig, SecretConfig
from infra.constructs.access_alarms import AccessAlarms, AccessAlarmsProps
from infra.constructs.alert_topic import AlertTopic, AlertTopicProps
from infra.constructs.api_endpoints import ApiEndpoints, ApiEndpointsProps
from infra.constructs.consumer_policy import ConsumerPolicy, ConsumerPolicyProps
from infra.constructs.dashboard import RotationDashboard, RotationDashboardProps
from infra.constructs.rotated_secret import RotatedSecret, RotatedSecretProps
from infra.constructs.rotation_alarms import RotationAlarms, RotationAlarmsProps
from infra.constructs.rotation_function import RotationFunction, RotationFunctionProps
from infra.constructs.rotation_monitor import RotationMonitor, RotationMonitorProps


def _pascal(text: str) -> str:
    return "".join(part.capitalize() for part in text.replace("/", "-").replace("_", "-").split("-"))


def environment_tag(config: EnvironmentConfig) -> str:
    """The value of every secret's ``rotation-kit:environment`` tag (how the age check finds them)."""
    return f"{config.app}/{config.env}"


def function_name_prefix(config: EnvironmentConfig) -> str:
    return f"{config.app}-{config.env}-rotate-"


def function_name(config: EnvironmentConfig, kind: str, stack_index: int) -> str:
    """The rotation function of ``kind`` in rotation stack ``stack_index``: the base stack's
    dashboard names its log group by this, since a reference would make the stacks depend on
    each other both ways."""
    return f"{function_name_prefix(config)}{kind.replace('_', '-')}-{stack_index}"


def _import_network(scope: Construct, config: EnvironmentConfig) -> tuple[ec2.IVpc | None, tuple[ec2.ISubnet, ...]]:
    """The configured VPC and subnets by explicit ID: no lookup, so synth needs no AWS account."""
    if config.network is None:
        return None, ()
    net = config.network
    vpc = ec2.Vpc.from_vpc_attributes(
        scope,
        "Vpc",
        vpc_id=net.vpc_id,
        availability_zones=list(net.availability_zones),
        private_subnet_ids=list(net.private_subnet_ids),
        vpc_cidr_block=net.vpc_cidr,
    )
    subnets = tuple(
        ec2.Subnet.from_subnet_id(scope, f"Subnet{i}", subnet_id) for i, subnet_id in enumerate(net.private_subnet_ids)
    )
    return vpc, subnets


def _in_vpc(secret: SecretConfig) -> bool:
    return secret.kind in NETWORKED_KINDS and bool(getattr(secret.target, "security_group_id", None))


class BaseStack(Stack):
    """The environment's KMS key (rotation on), alert topic, rotation-age check, the API
    endpoints functions in the VPC use, and the opt-in access alarms."""

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, env: Environment) -> None:
        super().__init__(
            scope, construct_id, env=env, description=f"{config.app} {config.env}: rotation key and alerts"
        )
        self.key = kms.Key(
            self,
            "SecretsKey",
            enable_key_rotation=True,
            alias=f"alias/{config.app}-{config.env}-secrets",
            description=f"encrypts {config.app}/{config.env} secrets, alerts and rotation logs",
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal(f"logs.{self.region}.amazonaws.com")],
                actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                resources=["*"],  # a key policy's resource is always the key itself
                conditions={
                    "ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{self.region}:{self.account}:*"}
                },
            )
        )
        self.alerts = AlertTopic(self, "Alerts", props=AlertTopicProps(key=self.key, emails=config.alerts.emails))
        self.monitor = RotationMonitor(
            self,
            "RotationAge",
            props=RotationMonitorProps(
                environment_tag=environment_tag(config),
                max_rotation_days=config.max_rotation_days,
                function_name=f"{config.app}-{config.env}-rotation-age",
                log_retention=_retention(config.log_retention_days),
                log_key=self.key,
                topic=self.alerts.topic,
            ),
        )
        vpc, subnets = _import_network(self, config)
        in_vpc = [secret for secret in config.secrets if _in_vpc(secret)]
        if vpc is not None and in_vpc and config.network and config.network.api_access == "create":
            services = ("secretsmanager",) + (
                ("elasticache",) if any(s.kind.startswith("elasticache") for s in in_vpc) else ()
            )
            ApiEndpoints(self, "ApiEndpoints", props=ApiEndpointsProps(vpc=vpc, subnets=subnets, services=services))
        monitoring = config.alerts.access_monitoring
        if monitoring is not None:
            AccessAlarms(
                self,
                "AccessAlarms",
                props=AccessAlarmsProps(
                    log_group_name=monitoring.cloudtrail_log_group,
                    metric_prefix=f"{config.app}-{config.env}",
                    anomaly_band=monitoring.anomaly_band,
                    topic=self.alerts.topic,
                ),
            )


class RotationStack(Stack):
    """A slice of the environment's secrets, with one function per kind they use."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        secrets: tuple[SecretConfig, ...],
        base: BaseStack,
        env: Environment,
        index: int,
    ) -> None:
        super().__init__(
            scope, construct_id, env=env, description=f"{config.app} {config.env}: secret rotation ({index})"
        )
        self.config = config
        vpc, subnets = _import_network(self, config)
        by_kind: dict[str, list[SecretConfig]] = defaultdict(list)
        for secret in secrets:
            by_kind[secret.kind].append(secret)
        self.functions: dict[str, RotationFunction] = {}
        for kind, members in sorted(by_kind.items()):
            self.functions[kind] = RotationFunction(
                self,
                f"{_pascal(kind)}Rotation",
                props=RotationFunctionProps(
                    kind=kind,
                    environment=self._environment(kind, members),
                    log_retention=_retention(config.log_retention_days),
                    log_key=base.key,
                    function_name=function_name(config, kind, index),
                    **self._network(kind, members, vpc, subnets),
                ),
            )
            self._target_permissions(kind, members)
        arns: list[str] = []
        names: dict[str, str] = {}
        consumers: dict[str, list[str]] = defaultdict(list)
        for secret in secrets:
            function = self.functions[secret.kind]
            rotated = RotatedSecret(
                self,
                _pascal(f"{secret.kind}-{secret.name}"),
                props=RotatedSecretProps(
                    name=config.secret_name(secret),
                    config=secret,
                    environment_tag=environment_tag(config),
                    key=base.key,
                    function=function.function,
                    role=function.role,
                ),
            )
            arns.append(rotated.secret.secret_arn)
            names[_pascal(f"{secret.kind}-{secret.name}")] = config.secret_name(secret)
            for role_arn in secret.consumers:
                consumers[role_arn].append(rotated.secret.secret_arn)
        for function in self.functions.values():
            function.role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=[base.key.key_arn],
                    conditions={"StringEquals": {"kms:ViaService": f"secretsmanager.{self.region}.amazonaws.com"}},
                )
            )
        for number, (role_arn, secret_arns) in enumerate(sorted(consumers.items())):
            ConsumerPolicy(self, f"Consumer{number}", props=ConsumerPolicyProps(role_arn, tuple(secret_arns), base.key))
        RotationAlarms(
            self,
            "Alarms",
            props=RotationAlarmsProps(
                topic=base.alerts.topic,
                functions={k: f.function for k, f in self.functions.items()},
                secret_arns=tuple(arns),
                secret_names=names,
                max_rotation_days=config.max_rotation_days,
            ),
        )

    def _environment(self, kind: str, members: list[SecretConfig]) -> dict[str, str]:
        if kind == "hmac_key":
            first = members[0].target
            return {"HMAC_FIELDS": ",".join(first.fields), "HMAC_KEY_BYTES": str(first.key_bytes)}
        return {"PASSWORD_LENGTH": "32"}

    def _network(
        self, kind: str, members: list[SecretConfig], vpc: ec2.IVpc | None, subnets: tuple[ec2.ISubnet, ...]
    ) -> dict[str, Any]:
        groups = {m.target.security_group_id for m in members if getattr(m.target, "security_group_id", None)}
        if kind == "hmac_key" or not groups or vpc is None:
            return {}
        ports = sorted({port for m in members for port in _ports(m)})
        egress = tuple((ec2.Peer.security_group_id(group), port) for group in sorted(groups) for port in ports)
        via_nat = self.config.network is not None and self.config.network.api_access == "nat"
        # Through a NAT the API endpoints are public addresses that no narrower rule can name.
        api_peer = ec2.Peer.any_ipv4() if via_nat else None
        return {"vpc": vpc, "subnets": subnets, "egress": egress, "api_peer": api_peer}

    def _target_permissions(self, kind: str, members: list[SecretConfig]) -> None:
        role = self.functions[kind].role
        if kind == "elasticache_user":
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["elasticache:ModifyUser", "elasticache:DescribeUsers"],
                    resources=sorted({m.target.user_arn for m in members}),
                )
            )
        elif kind == "elasticache_auth_token":
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["elasticache:ModifyReplicationGroup", "elasticache:DescribeReplicationGroups"],
                    resources=sorted(
                        f"arn:aws:elasticache:{self.region}:{self.account}:replicationgroup:{m.target.replication_group_id}"
                        for m in members
                    ),
                )
            )


def _ports(secret: SecretConfig) -> list[int]:
    target = secret.target
    if secret.kind.startswith("postgres"):
        return [target.port]
    if secret.kind == "valkey_acl":
        return sorted({int(node.rpartition(":")[2]) for node in target.nodes})
    return [6379]


_RETENTION = {
    1: "ONE_DAY", 3: "THREE_DAYS", 5: "FIVE_DAYS", 7: "ONE_WEEK", 14: "TWO_WEEKS", 30: "ONE_MONTH",
    60: "TWO_MONTHS", 90: "THREE_MONTHS", 120: "FOUR_MONTHS", 150: "FIVE_MONTHS", 180: "SIX_MONTHS",
    365: "ONE_YEAR", 400: "THIRTEEN_MONTHS", 545: "EIGHTEEN_MONTHS", 731: "TWO_YEARS", 1096: "THREE_YEARS",
    1827: "FIVE_YEARS", 2192: "SIX_YEARS", 2557: "SEVEN_YEARS", 2922: "EIGHT_YEARS", 3288: "NINE_YEARS",
    3653: "TEN_YEARS",
}  # fmt: skip


def _retention(days: int) -> logs.RetentionDays:
    """The shortest CloudWatch Logs retention that keeps logs at least ``days`` days."""
    chosen = next((name for limit, name in sorted(_RETENTION.items()) if limit >= days), "TEN_YEARS")
    return getattr(logs.RetentionDays, chosen)  # type: ignore[no-any-return]


def build_environment(scope: Construct, config: EnvironmentConfig) -> list[Stack]:
    """The environment's stacks: base, then rotation stacks of ``secrets_per_stack`` secrets each."""
    env = Environment(account=config.account, region=config.region)
    prefix = f"{_pascal(config.app)}{_pascal(config.env)}"
    base = BaseStack(scope, f"{prefix}Base", config=config, env=env)
    stacks: list[Stack] = [base]
    size = config.secrets_per_stack
    for index in range(0, len(config.secrets), size):
        chunk = config.secrets[index : index + size]
        stack = RotationStack(
            scope,
            f"{prefix}Rotation{index // size}",
            config=config,
            secrets=chunk,
            base=base,
            env=env,
            index=index // size,
        )
        stacks.append(stack)
    kinds = tuple(sorted({secret.kind for secret in config.secrets}))
    RotationDashboard(
        base,
        "Dashboard",
        props=RotationDashboardProps(
            name=f"{config.app}-{config.env}-secret-rotation",
            kinds=kinds,
            function_prefix=function_name_prefix(config),
            log_group_names=tuple(
                f"/aws/lambda/{function_name(config, kind, index)}"
                for index in range(len(stacks) - 1)
                for kind in kinds
            ),
            max_rotation_days=config.max_rotation_days,
        ),
    )
    return stacks
