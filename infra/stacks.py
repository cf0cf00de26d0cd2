"""Stacks only compose constructs. Per environment: a base stack (key, alert topic, log groups,
environment-wide alarms, consumers, dashboard), one replica stack per replica Region (that
Region's key), and the rotation stacks ``infra/plan.py`` places every secret in, each checked
against CloudFormation's resource limit. Rotation stacks are deployed after the replica stacks
their secrets replicate to (a replica's key must exist when Secrets Manager creates it)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from aws_cdk import CfnResource, Environment, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.config import ELASTICACHE_KINDS, KINDS, NETWORKED_KINDS, ConfigError, EnvironmentConfig, SecretConfig
from infra.constructs.access_alarms import AccessAlarms, AccessAlarmsProps
from infra.constructs.alert_topic import AlertTopic, AlertTopicProps
from infra.constructs.api_endpoints import ApiEndpoints, ApiEndpointsProps
from infra.constructs.bundling import function_code, staged_source
from infra.constructs.consumer_policy import ConsumerAccess, ConsumerAccessProps, role_account
from infra.constructs.dashboard import RotationDashboard, RotationDashboardProps
from infra.constructs.environment_alarms import EnvironmentAlarms, EnvironmentAlarmsProps
from infra.constructs.first_value_guard import FirstValueGuard, FirstValueGuardProps
from infra.constructs.function_logs import FunctionLogs, FunctionLogsProps
from infra.constructs.replica_key import ReplicaKey, ReplicaKeyProps
from infra.constructs.rotated_secret import RotatedSecret, RotatedSecretProps, first_value_fingerprint
from infra.constructs.rotation_alarms import RotationAlarms, RotationAlarmsProps
from infra.constructs.rotation_function import DEFAULT_TIMEOUT_S, RotationFunction, RotationFunctionProps
from infra.constructs.rotation_monitor import RotationMonitor, RotationMonitorProps
from infra.plan import (
    EnvironmentPlan,
    FunctionGroup,
    StackPlan,
    function_name_prefix,
    key_alias,
    log_group_name,
    pascal,
    plan_environment,
    replica_key_policy_name,
    replica_stack_id,
    secret_construct_id,
)
from infra.settings import ca_bundles

MONITOR = "rotation_monitor"
# CloudFormation: at most 500 resources per stack (CloudFormation quotas). A stack is full at 450,
# so a deployed stack keeps room for the resources a later version of this app may add.
STACK_RESOURCE_LIMIT = 500
STACK_FULL_AT = 450


def environment_tag(config: EnvironmentConfig) -> str:
    """The value of every secret's ``rotation-kit:environment`` tag (how the age check finds them)."""
    return config.environment_id


def _secret_arn_prefix(config: EnvironmentConfig, region: str) -> str:
    """``arn:…:secret:<app>/<env>/`` in ``region``: every secret ARN of the environment starts with it."""
    return f"arn:{config.partition}:secretsmanager:{region}:{config.account}:secret:{config.secret_name_prefix()}"


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
    return secret.kind in NETWORKED_KINDS and bool(secret.security_group_id)


def _retention(days: int) -> logs.RetentionDays:
    """The shortest CloudWatch Logs retention that keeps logs at least ``days`` days."""
    chosen = next((name for limit, name in sorted(_RETENTION.items()) if limit >= days), None)
    if chosen is None:
        raise ConfigError(f"log_retention_days {days} is over CloudWatch Logs' longest retention (3653 days)")
    return getattr(logs.RetentionDays, chosen)  # type: ignore[no-any-return]


_RETENTION = {
    1: "ONE_DAY", 3: "THREE_DAYS", 5: "FIVE_DAYS", 7: "ONE_WEEK", 14: "TWO_WEEKS", 30: "ONE_MONTH",
    60: "TWO_MONTHS", 90: "THREE_MONTHS", 120: "FOUR_MONTHS", 150: "FIVE_MONTHS", 180: "SIX_MONTHS",
    365: "ONE_YEAR", 400: "THIRTEEN_MONTHS", 545: "EIGHTEEN_MONTHS", 731: "TWO_YEARS", 1096: "THREE_YEARS",
    1827: "FIVE_YEARS", 2192: "SIX_YEARS", 2557: "SEVEN_YEARS", 2922: "EIGHT_YEARS", 3288: "NINE_YEARS",
    3653: "TEN_YEARS",
}  # fmt: skip


class BaseStack(Stack):
    """The environment's KMS key (rotation on), alert topic, log groups, rotation-age check,
    environment-wide alarms, API endpoints, consumer access, access alarms and dashboard."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        plan: EnvironmentPlan,
        source: Path,
        env: Environment,
    ) -> None:
        super().__init__(
            scope, construct_id, env=env, description=f"{config.app} {config.env}: rotation key and alerts"
        )
        self.key = kms.Key(
            self,
            "SecretsKey",
            enable_key_rotation=True,
            alias=key_alias(config),
            description=f"encrypts {config.app}/{config.env} secrets, alerts and rotation logs",
            removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchLogsOfThisAccount",
                principals=[iam.ServicePrincipal(f"logs.{config.region}.amazonaws.com")],
                actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                resources=["*"],  # a key policy's resource is always the key itself
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": (
                            f"arn:{config.partition}:logs:{config.region}:{config.account}:*"
                        )
                    }
                },
            )
        )
        retention = _retention(config.log_retention_days)
        names = {kind: log_group_name(config, kind) for kind in KINDS}
        names[MONITOR] = f"/aws/lambda/{config.app}-{config.env}-rotation-age"
        self.logs = FunctionLogs(self, "Logs", props=FunctionLogsProps(names=names, retention=retention, key=self.key))
        self.alerts = AlertTopic(
            self,
            "Alerts",
            props=AlertTopicProps(
                key=self.key, emails=config.alerts.emails, topic_name=f"{config.app}-{config.env}-rotation-alerts"
            ),
        )
        self.monitor = RotationMonitor(
            self,
            "RotationAge",
            props=RotationMonitorProps(
                environment_tag=environment_tag(config),
                max_rotation_days=config.max_rotation_days,
                function_name=f"{config.app}-{config.env}-rotation-age",
                code=function_code(source),
                log_group=self.logs.groups[MONITOR],
                topic=self.alerts.topic,
                replica_regions=plan.replica_regions,
                described_secrets=tuple(
                    f"{_secret_arn_prefix(config, region)}*" for region in (config.region, *plan.replica_regions)
                )
                if plan.replica_regions
                else (),
            ),
        )
        EnvironmentAlarms(
            self,
            "EnvironmentAlarms",
            props=EnvironmentAlarmsProps(
                topic=self.alerts.topic,
                environment=config.environment_id,
                kinds=plan.kinds,
                secret_arn_prefix=_secret_arn_prefix(config, config.region),
            ),
        )
        self._endpoints(config)
        self._consumers(config)
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
        RotationDashboard(
            self,
            "Dashboard",
            props=RotationDashboardProps(
                name=f"{config.app}-{config.env}-secret-rotation",
                kinds=plan.kinds,
                function_prefix=function_name_prefix(config),
                log_group_names=tuple(names[kind] for kind in plan.kinds),
                max_rotation_days=config.max_rotation_days,
                environment=config.environment_id,
                monitor_log_group_name=names[MONITOR] if plan.replica_regions else None,
            ),
        )

    def _endpoints(self, config: EnvironmentConfig) -> None:
        vpc, subnets = _import_network(self, config)
        in_vpc = [secret for secret in config.secrets if _in_vpc(secret)]
        if vpc is not None and in_vpc and config.network and config.network.api_access == "create":
            services = ("secretsmanager",) + (
                ("elasticache",) if any(s.kind in ELASTICACHE_KINDS for s in in_vpc) else ()
            )
            ApiEndpoints(self, "ApiEndpoints", props=ApiEndpointsProps(vpc=vpc, subnets=subnets, services=services))

    def _consumers(self, config: EnvironmentConfig) -> None:
        readers: dict[str, list[tuple[str, tuple[str, ...]]]] = defaultdict(list)
        for secret in config.secrets:
            for consumer in secret.consumers:
                readers[consumer.role].append((config.secret_name(secret), config.reader_regions(secret, consumer)))
        if readers:
            ConsumerAccess(
                self,
                "Consumers",
                props=ConsumerAccessProps(
                    secrets_by_role={role: tuple(names) for role, names in readers.items()},
                    account=config.account,
                    partition=config.partition,
                    region=config.region,
                    key=self.key,
                ),
            )


class ReplicaStack(Stack):
    """One replica Region of the environment: the key its replica secrets are encrypted with.
    Named by the Region (``<App><Env>Replica<Region>``), it holds nothing about any one secret,
    so secrets come and go without touching it."""

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, region: str) -> None:
        super().__init__(
            scope,
            construct_id,
            env=Environment(account=config.account, region=region),
            description=f"{config.app} {config.env}: replica key in {region}",
        )
        readers = sorted(
            {
                consumer.role
                for secret in config.secrets
                for consumer in secret.consumers
                if region in config.reader_regions(secret, consumer)
            }
        )
        self.replica = ReplicaKey(
            self,
            "SecretsKey",
            props=ReplicaKeyProps(
                environment=config.environment_id,
                region=region,
                alias=key_alias(config),
                readers=tuple(readers),
                rotation_policy_name=replica_key_policy_name(config, region),
            ),
        )


class RotationStack(Stack):
    """The secrets a stable hash placed here, with one function per (kind, settings) group."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        stack_plan: StackPlan,
        rotate_on_deploy: dict[str, bool],
        base: BaseStack,
        source: Path,
        env: Environment,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env=env,
            description=f"{config.app} {config.env}: secret rotation (stack {stack_plan.label})",
        )
        self.config = config
        vpc, subnets = _import_network(self, config)
        code = function_code(source)
        functions: dict[str, tuple[Any, str]] = {}
        names: dict[str, str] = {}
        secrets: list[tuple[SecretConfig, str, RotatedSecret]] = []
        for group in stack_plan.groups:
            function = self._function(group, base, code, vpc, subnets)
            functions[group.construct_id] = (function.function, group.function_name)
            for secret in group.secrets:
                name = config.secret_name(secret)
                rotated = RotatedSecret(
                    self,
                    secret_construct_id(secret),
                    props=RotatedSecretProps(
                        name=name,
                        config=secret,
                        environment_tag=environment_tag(config),
                        key=base.key,
                        function=function.function,
                        role=function.role,
                        rotate_immediately=rotate_on_deploy[name],
                        prerequisites=tuple(function.ingress),
                        cross_account_readers=tuple(
                            c.role for c in secret.consumers if role_account(c.role) != config.account
                        ),
                        replica_regions=config.replica_regions_of(secret),
                        replica_key_alias=key_alias(config),
                    ),
                )
                names[secret_construct_id(secret)] = name
                secrets.append((secret, name, rotated))
        self._guard_first_values(base, secrets)
        RotationAlarms(
            self,
            "Alarms",
            props=RotationAlarmsProps(
                topic=base.alerts.topic,
                environment=config.environment_id,
                functions=functions,
                secret_names=names,
                max_rotation_days=config.max_rotation_days,
            ),
        )

    def _guard_first_values(self, base: BaseStack, secrets: list[tuple[SecretConfig, str, RotatedSecret]]) -> None:
        """Every secret waits for the guard, so an edit that would overwrite a live value fails first."""
        guard = FirstValueGuard(
            self,
            "FirstValueGuard",
            props=FirstValueGuardProps(
                service_token=base.monitor.check.function.function_arn,
                fingerprints={name: first_value_fingerprint(secret) for secret, name, _ in secrets},
                replace_value_on_edit=tuple(name for secret, name, _ in secrets if secret.replace_value_on_edit),
            ),
        )
        for _, _, rotated in secrets:
            rotated.secret.node.add_dependency(guard.resource)

    def _function(
        self,
        group: FunctionGroup,
        base: BaseStack,
        code: Any,
        vpc: ec2.IVpc | None,
        subnets: tuple[ec2.ISubnet, ...],
    ) -> RotationFunction:
        config = self.config
        log_group = logs.LogGroup.from_log_group_name(
            self, f"{group.construct_id}Logs", log_group_name(config, group.kind)
        )
        timeout = config.elasticache_wait_seconds + 60 if group.kind in ELASTICACHE_KINDS else DEFAULT_TIMEOUT_S
        function = RotationFunction(
            self,
            group.construct_id,
            props=RotationFunctionProps(
                kind=group.kind,
                function_name=group.function_name,
                code=code,
                environment=dict(group.settings),
                environment_id=config.environment_id,
                log_group=log_group,
                timeout_s=timeout,
                reserved_concurrency=config.reserved_concurrency,
                **self._network(group, vpc, subnets),
            ),
        )
        function.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[base.key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"secretsmanager.{config.region}.amazonaws.com"}},
            )
        )
        self._target_permissions(group, function)
        for region in sorted({region for secret in group.secrets for region in config.replica_regions_of(secret)}):
            function.role.add_managed_policy(
                iam.ManagedPolicy.from_managed_policy_name(
                    self, f"{group.construct_id}ReplicaKey{pascal(region)}", replica_key_policy_name(config, region)
                )
            )
        return function

    def _network(self, group: FunctionGroup, vpc: ec2.IVpc | None, subnets: tuple[ec2.ISubnet, ...]) -> dict[str, Any]:
        network = self.config.network
        members = [secret for secret in group.secrets if _in_vpc(secret)]
        if not members or vpc is None or network is None:
            return {}
        egress = tuple(sorted({(secret.security_group_id, port) for secret in members for port in _ports(secret)}))
        if network.api_access == "nat":
            # Through a NAT the API endpoints are public addresses that no narrower rule can name.
            api_peer: ec2.IPeer | None = ec2.Peer.any_ipv4()
        elif network.endpoint_security_group_id:
            api_peer = ec2.Peer.security_group_id(network.endpoint_security_group_id)
        else:
            api_peer = None
        return {
            "vpc": vpc,
            "subnets": subnets,
            "egress": egress,
            "api_peer": api_peer,
            "target_ingress": network.target_ingress,
        }

    def _target_permissions(self, group: FunctionGroup, function: RotationFunction) -> None:
        config = self.config
        if group.kind == "elasticache_user":
            function.role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["elasticache:ModifyUser", "elasticache:DescribeUsers"],
                    resources=sorted({secret.target.user_arn for secret in group.secrets}),
                )
            )
        elif group.kind == "elasticache_auth_token":
            function.role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["elasticache:ModifyReplicationGroup", "elasticache:DescribeReplicationGroups"],
                    resources=sorted(
                        f"arn:{config.partition}:elasticache:{config.region}:{config.account}:replicationgroup:"
                        f"{secret.target.replication_group_id}"
                        for secret in group.secrets
                    ),
                )
            )


def _ports(secret: SecretConfig) -> list[int]:
    """The target ports a secret's function connects to (none when it only calls an AWS API)."""
    target = secret.target
    if secret.kind.startswith("postgres"):
        return [target.port]
    if secret.kind == "valkey_acl":
        return sorted({int(node.rpartition(":")[2]) for node in target.nodes})
    return [target.port] if getattr(target, "host", None) else []


def _resource_count(stack: Stack) -> int:
    """The resources the stack's template will hold (its constructs, plus CDK's metadata)."""
    return 1 + sum(1 for child in stack.node.find_all() if CfnResource.is_cfn_resource(child))


def build_environment(scope: Construct, config: EnvironmentConfig) -> list[Stack]:
    """The environment's stacks: base, then one rotation stack per label the plan uses."""
    plan = plan_environment(config)
    env = Environment(account=config.account, region=config.region)
    source = staged_source(ca_bundles(config))
    prefix = f"{pascal(config.app)}{pascal(config.env)}"
    base = BaseStack(scope, f"{prefix}Base", config=config, plan=plan, source=source, env=env)
    stacks: list[Stack] = [base]
    replicas = {
        region: ReplicaStack(scope, replica_stack_id(config, region), config=config, region=region)
        for region in plan.replica_regions
    }
    stacks += replicas.values()
    for stack_plan in plan.stacks:
        stack = RotationStack(
            scope,
            stack_plan.construct_id,
            config=config,
            stack_plan=stack_plan,
            rotate_on_deploy=plan.rotate_on_deploy,
            base=base,
            source=source,
            env=env,
        )
        for region in sorted({r for secret in stack_plan.secrets for r in config.replica_regions_of(secret)}):
            stack.add_dependency(replicas[region], f"the replica key in {region} encrypts its secrets' replicas")
        count = _resource_count(stack)
        if count > STACK_FULL_AT:
            raise ConfigError(
                f"rotation stack {stack_plan.label!r} ({stack_plan.construct_id}) would hold {count} resources for "
                f"{len(stack_plan.secrets)} secrets; it is full at {STACK_FULL_AT} (CloudFormation's limit is "
                f"{STACK_RESOURCE_LIMIT}). Give new secrets another stack with `stack: <label>`; secrets already "
                "deployed stay where they are (moving one is a migration: docs/deploy.md#stacks). Before the first "
                "deploy you may instead raise rotation_stacks"
            )
        stacks.append(stack)
    return stacks
