"""Acknowledged findings of cdk-nag and checkov, always beside the resource they excuse and
with their reason, so a reviewer judges each one where it applies."""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnResource, Validations
from constructs import IConstruct


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge ``rule_id`` (``AwsSolutions-IAM4[Policy::…]``, ``HIPAA.Security-…``) on ``scope``
    and its children; cdk-nag 3 matches ``<pack>::<rule>[finding]``."""
    pack = rule_id.split("-", 1)[0]
    Validations.of(scope).acknowledge(Acknowledgment(id=f"{pack}::{rule_id}", reason=reason))


def skip_checkov(resource: CfnResource, check_id: str, reason: str) -> None:
    """Record a checkov skip in the resource's template metadata (``Metadata.checkov.skip``),
    the place checkov reads CloudFormation skips from."""
    current = resource.get_metadata("checkov") or {}
    skips = [*current.get("skip", []), {"id": check_id, "comment": reason}]
    resource.add_metadata("checkov", {"skip": skips})
