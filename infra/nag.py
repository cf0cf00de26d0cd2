"""cdk-nag acknowledgments, always beside the resource they excuse and with their reason."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge ``rule_id`` (``AwsSolutions-IAM4[Policy::…]``, ``HIPAA.Security-…``) on ``scope``
    and its children; cdk-nag 3 matches ``<pack>::<rule>[finding]``."""
    pack = rule_id.split("-", 1)[0]
    Validations.of(scope).acknowledge(Acknowledgment(id=f"{pack}::{rule_id}", reason=reason))
