"""One rotation Lambda per (kind, settings) group: arm64, bundled without Docker, logging to
its kind's environment-wide log group, in the VPC with egress to exactly its targets' ports
when it needs one (and, by config, the matching ingress on each target's security group)."""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import CfnResource, Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.nag import acknowledge, skip_checkov
from lambdas.rotation.telemetry import ENVIRONMENT_VARIABLE, METRICS_NAMESPACE, SERVICE

DEFAULT_TIMEOUT_S = 60


@dataclass(frozen=True)
class RotationFunctionProps:
    kind: str
    function_name: str
    code: lambda_.Code
    environment: dict[str, str]
    environment_id: str  # "<app>/<env>": the metric dimension that keeps environments apart
    log_group: logs.ILogGroup
    timeout_s: int = DEFAULT_TIMEOUT_S
    reserved_concurrency: int | None = None  # unset: the account's unreserved pool
    vpc: ec2.IVpc | None = None
    subnets: tuple[ec2.ISubnet, ...] = ()
    egress: tuple[tuple[str, int], ...] = field(default_factory=tuple)  # (target security group, port)
    # Where AWS API calls go: the VPC's interface endpoints (its CIDR or their security group), or anywhere via NAT.
    api_peer: ec2.IPeer | None = None
    target_ingress: bool = False  # also add the matching ingress rule on each target security group


class RotationFunction(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: RotationFunctionProps) -> None:
        super().__init__(scope, construct_id)
        if props.vpc is not None and not props.subnets:
            raise ValueError(f"rotation function for {props.kind!r}: in a VPC but no subnets given")
        self.security_group: ec2.SecurityGroup | None = None
        self.ingress: list[ec2.CfnSecurityGroupIngress] = []
        if props.vpc is not None:
            self._network(props, props.vpc)
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=props.function_name,
            runtime=lambda_.Runtime.PYTHON_3_13,
            architecture=lambda_.Architecture.ARM_64,
            handler=f"lambdas.{props.kind}.handler.lambda_handler",
            code=props.code,
            timeout=Duration.seconds(props.timeout_s),
            memory_size=256,
            reserved_concurrent_executions=props.reserved_concurrency,
            log_group=props.log_group,
            environment={
                "POWERTOOLS_SERVICE_NAME": SERVICE,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                ENVIRONMENT_VARIABLE: props.environment_id,
                "LOG_LEVEL": "INFO",
                **props.environment,
            },
            vpc=props.vpc,
            vpc_subnets=ec2.SubnetSelection(subnets=list(props.subnets)) if props.vpc else None,
            security_groups=[self.security_group] if self.security_group else None,
            description=f"Secrets Manager rotation: {props.kind}",
        )
        self.role: iam.IRole = self.function.role  # type: ignore[assignment]
        self._acknowledge(props)

    def _network(self, props: RotationFunctionProps, vpc: ec2.IVpc) -> None:
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            allow_all_outbound=False,
            description=f"{props.kind} rotation: egress to its targets and HTTPS to AWS APIs only",
        )
        self.security_group.add_egress_rule(
            props.api_peer or ec2.Peer.ipv4(vpc.vpc_cidr_block), ec2.Port.tcp(443), "AWS API endpoints"
        )
        for group, port in sorted(set(props.egress)):
            self.security_group.add_egress_rule(
                ec2.Peer.security_group_id(group), ec2.Port.tcp(port), f"{props.kind} target"
            )
            if props.target_ingress:
                self.ingress.append(
                    ec2.CfnSecurityGroupIngress(
                        self,
                        f"TargetIngress{group.removeprefix('sg-')}{port}",
                        group_id=group,
                        ip_protocol="tcp",
                        from_port=port,
                        to_port=port,
                        source_security_group_id=self.security_group.security_group_id,
                        # EC2 rule descriptions allow only a-zA-Z0-9, spaces and ._-:/()#,@[]+=&;{}!$*
                        description=f"{props.function_name}: rotates the secrets of this target",
                    )
                )

    def _acknowledge(self, props: RotationFunctionProps) -> None:
        managed = ["AWSLambdaBasicExecutionRole"] + (["AWSLambdaVPCAccessExecutionRole"] if props.vpc else [])
        for policy in managed:
            acknowledge(
                self.function,
                f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/{policy}]",
                f"{policy} is AWS's documented minimum for Lambda logs / VPC network interfaces",
            )
        acknowledge(
            self.function,
            "AwsSolutions-L1",
            "Python 3.13 is the newest runtime with psycopg2-binary wheels for arm64 (none for 3.14 yet)",
        )
        acknowledge(
            self.function,
            "HIPAA.Security-IAMNoInlinePolicy",
            "the role's own inline policy holds only statements scoped to this function's secrets and targets",
        )
        if props.reserved_concurrency is None:
            acknowledge(
                self.function,
                "HIPAA.Security-LambdaConcurrency",
                "reserved concurrency is opt-in (reserved_concurrency): reserving fails the deploy on accounts "
                "with a low concurrency quota, and below 10 Secrets Manager warns rotations can be throttled",
            )
        no_dlq = (
            "failures surface as Errors alarms on the alert topic; a DLQ would hold only the triggering "
            "event, which carries no state worth replaying"
        )
        acknowledge(self.function, "HIPAA.Security-LambdaDLQ", no_dlq)
        cfn_function: CfnResource = self.function.node.default_child  # type: ignore[assignment]
        skip_checkov(cfn_function, "CKV_AWS_116", no_dlq)
        skip_checkov(
            cfn_function,
            "CKV_AWS_173",
            "the environment holds no secret (field names, lengths, service name), only settings; Lambda "
            "encrypts it at rest with its service key, and a customer key here would need kms:Decrypt "
            "outside the kms:ViaService=secretsmanager condition",
        )
        if props.reserved_concurrency is None:
            skip_checkov(
                cfn_function,
                "CKV_AWS_115",
                "reserved concurrency is opt-in (reserved_concurrency in the config): reserving it fails the "
                "deploy on accounts with a low concurrency quota",
            )
        if props.vpc is None:
            outside_vpc = "this function talks only to AWS APIs (Secrets Manager, ElastiCache control plane) over TLS"
            acknowledge(self.function, "HIPAA.Security-LambdaInsideVPC", outside_vpc)
            skip_checkov(cfn_function, "CKV_AWS_117", outside_vpc)
