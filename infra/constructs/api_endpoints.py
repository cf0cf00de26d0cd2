"""Interface endpoints so rotation functions in private subnets reach AWS APIs without a NAT."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_ec2 as ec2
from constructs import Construct

_SERVICES = {
    "secretsmanager": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    "elasticache": ec2.InterfaceVpcEndpointAwsService.ELASTICACHE,
}


@dataclass(frozen=True)
class ApiEndpointsProps:
    vpc: ec2.IVpc
    subnets: tuple[ec2.ISubnet, ...]
    services: tuple[str, ...]  # keys of _SERVICES


class ApiEndpoints(Construct):
    """One endpoint per service with private DNS, so the SDK's default hostnames resolve to it
    and the functions need no endpoint configuration; its security group admits HTTPS from the
    VPC only."""

    def __init__(self, scope: Construct, construct_id: str, *, props: ApiEndpointsProps) -> None:
        super().__init__(scope, construct_id)
        unknown = sorted(set(props.services) - set(_SERVICES))
        if unknown:
            raise ValueError(f"no interface endpoint known for service(s) {unknown}; expected {sorted(_SERVICES)}")
        self.endpoints = {
            service: ec2.InterfaceVpcEndpoint(
                self,
                service.capitalize(),
                vpc=props.vpc,
                service=_SERVICES[service],
                subnets=ec2.SubnetSelection(subnets=list(props.subnets)),
                private_dns_enabled=True,
                open=True,  # ingress 443 from the VPC's CIDR only
            )
            for service in props.services
        }
