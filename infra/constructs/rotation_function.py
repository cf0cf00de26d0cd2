"""One rotation Lambda per kind (per stack): arm64, bundled without Docker, logs retained,
concurrency capped, in the VPC with egress to exactly its targets' ports when it needs one."""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import CfnResource, Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.constructs.bundling import LAMBDAS, bundling_options
from infra.nag import acknowledge, skip_checkov
from lambdas.rotation.telemetry import METRICS_NAMESPACE, SERVICE

# The longest step: ElastiCache waits up to ELASTICACHE_WAIT_SECONDS (60) for the change to apply.
TIMEOUTS = {"elasticache_user": 120, "elasticache_auth_token": 120}
DEFAULT_TIMEOUT = 60


@dataclass(frozen=True)
class RotationFunctionProps:
    kind: str
    environment: dict[str, str]
    log_retention: logs.RetentionDays
    log_key: kms.IKey
    function_name: str
    vpc: ec2.IVpc | None = None
    subnets: tuple[ec2.ISubnet, ...] = ()
    egress: tuple[tuple[ec2.IPeer, int], ...] = field(default_factory=tuple)
    # Where AWS API calls go: the VPC's interface endpoints (its CIDR) unless the config says NAT.
    api_peer: ec2.IPeer | None = None
    reserved_concurrency: int = 5  # a bug cannot fan out; rotations of one kind are rare


class RotationFunction(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: RotationFunctionProps) -> None:
        super().__init__(scope, construct_id)
        if props.vpc is not None and not props.subnets:
            raise ValueError(f"rotation function for {props.kind!r}: in a VPC but no subnets given")
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=props.log_retention,
            encryption_key=props.log_key,
            log_group_name=f"/aws/lambda/{props.function_name}",
        )
        self.security_group: ec2.SecurityGroup | None = None
        if props.vpc is not None:
            self.security_group = ec2.SecurityGroup(
                self,
                "SecurityGroup",
                vpc=props.vpc,
                allow_all_outbound=False,
                description=f"{props.kind} rotation: egress to its targets and HTTPS to AWS APIs only",
            )
            self.security_group.add_egress_rule(
                props.api_peer or ec2.Peer.ipv4(props.vpc.vpc_cidr_block), ec2.Port.tcp(443), "AWS API endpoints"
            )
            for peer, port in props.egress:
                self.security_group.add_egress_rule(peer, ec2.Port.tcp(port), f"{props.kind} target")
        timeout = TIMEOUTS.get(props.kind, DEFAULT_TIMEOUT)
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=props.function_name,
            runtime=lambda_.Runtime.PYTHON_3_13,
            architecture=lambda_.Architecture.ARM_64,
            handler=f"lambdas.{props.kind}.handler.lambda_handler",
            code=lambda_.Code.from_asset(str(LAMBDAS), bundling=bundling_options()),
            timeout=Duration.seconds(timeout),
            memory_size=256,
            reserved_concurrent_executions=props.reserved_concurrency,
            log_group=self.log_group,
            environment={
                "POWERTOOLS_SERVICE_NAME": SERVICE,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "LOG_LEVEL": "INFO",
                **props.environment,
            },
            vpc=props.vpc,
            vpc_subnets=ec2.SubnetSelection(subnets=list(props.subnets)) if props.vpc else None,
            security_groups=[self.security_group] if self.security_group else None,
            description=f"Secrets Manager rotation: {props.kind}",
        )
        self.role: iam.IRole = self.function.role  # type: ignore[assignment]
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
        if props.vpc is None:
            outside_vpc = "this function talks only to AWS APIs (Secrets Manager, ElastiCache control plane) over TLS"
            acknowledge(self.function, "HIPAA.Security-LambdaInsideVPC", outside_vpc)
            skip_checkov(cfn_function, "CKV_AWS_117", outside_vpc)
